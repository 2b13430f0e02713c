"""The bundled example web: a dozen origins that together show every signal scrapy_optout reads.

Each origin is one port on 127.0.0.1 (an origin is scheme, host and port, so robots.txt and
tdmrep.json are per port). :func:`build` describes every origin once its URLs are known: its side
documents (robots.txt, tdmrep.json, ai.txt, an RSL licence), its pages and images, and for each
page what a crawler honouring the signals must decide (``expect``). The demo and the tests compare
the compliance log against those expectations, so this file is the single statement of what the
example web was built to produce. ``serve.py`` serves it.

The crawler's token throughout is ``MyAIBot`` (the example Scrapy project's ``OPTOUT_USER_AGENT``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
HTML = "text/html; charset=utf-8"
JPEG = "image/jpeg"
AGENT = "MyAIBot"

# What each origin is for, in port order (the portal comes first: it links everything).
ORIGINS = (
    "portal", "blocks-us", "blocks-ai", "tdmrep", "headers", "meta", "aipref", "ai-txt",
    "registry", "licensed", "rsl", "down", "files",
)  # fmt: skip


@dataclass(frozen=True)
class Resource:
    """One URL path of an origin and what it answers.

    Attributes:
        path: the URL path.
        body: the bytes served.
        content_type: the ``Content-Type`` header.
        status: the HTTP status.
        headers: further response headers, as (name, value) pairs (a name may repeat).
        expect: for a page or image the crawler visits, the reason code its decision must carry:
            a skip code (``robots_disallow``…), ``licence`` (allowed by a licence), or None
            (allowed, nothing reserved). Side documents are not visited: their value is None.
        visited: whether the crawler requests it as a page or image (False for side documents).
    """

    path: str
    body: bytes
    content_type: str = HTML
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    expect: str | None = None
    visited: bool = True


@dataclass(frozen=True)
class Origin:
    """One origin of the example web: what it shows and what it serves."""

    name: str
    about: str
    resources: tuple[Resource, ...] = field(default=())

    def find(self, path: str) -> Resource | None:
        """The resource served at *path*, or None (the server answers 404)."""
        return next((r for r in self.resources if r.path == path), None)


def page(path: str, title: str, *, head: str = "", images: Iterable[str] = (),
         links: Iterable[str] = (), headers: tuple[tuple[str, str], ...] = (),
         expect: str | None = None) -> Resource:  # fmt: skip
    """An HTML page with a title, extra ``<head>`` markup, images and links."""
    imgs = "".join(f'<img src="{escape(src)}" alt="">' for src in images)
    anchors = "".join(f'<li><a href="{escape(href)}">{escape(href)}</a></li>' for href in links)
    body = (
        f"<!doctype html><html><head><title>{escape(title)}</title>{head}</head>"
        f"<body><h1>{escape(title)}</h1><p>Example text of {escape(title)}.</p>{imgs}"
        f"<ul>{anchors}</ul></body></html>"
    )
    return Resource(path, body.encode(), headers=headers, expect=expect)


def image(path: str, *, name: str = "photo.jpg", headers: tuple[tuple[str, str], ...] = (),
          expect: str | None = None) -> Resource:  # fmt: skip
    """A JPEG image from ``files/``."""
    return Resource(path, (FILES / name).read_bytes(), JPEG, headers=headers, expect=expect)


def text(path: str, content: str, content_type: str = "text/plain", status: int = 200) -> Resource:
    """A side document (robots.txt, tdmrep.json, ai.txt, a licence): served, never visited."""
    return Resource(path, content.encode(), content_type, status, visited=False)


def _with_home(name: str, about: str, resources: list[Resource],
               home_expect: str | None = None) -> Origin:  # fmt: skip
    """An origin whose home page links to every page of it (images are linked by their pages)."""
    pages = [r.path for r in resources if r.visited and r.content_type == HTML]
    home = page("/", f"{name} home", links=pages, expect=home_expect)
    return Origin(name, about, (home, *resources))


def build(url: Callable[[str], str]) -> list[Origin]:
    """Every origin of the example web; ``url(name)`` is an origin's ``http://127.0.0.1:PORT``."""
    allow_all = "User-agent: *\nAllow: /\n"
    articles = [page(f"/articles/{n}", f"Article {n}", images=[f"/images/photo-{n}.jpg"])
                for n in range(1, 13)]  # fmt: skip
    photos = [image(f"/images/photo-{n}.jpg") for n in range(1, 13)]
    origins = [
        _with_home("blocks-us", "robots.txt disallows our token, MyAIBot, everywhere", [
            text("/robots.txt", f"User-agent: {AGENT}\nDisallow: /\n\nUser-agent: *\nAllow: /\n"),
            page("/news/1", "News 1", expect="robots_disallow"),
            page("/news/2", "News 2", expect="robots_disallow"),
        ], home_expect="robots_disallow"),
        _with_home("blocks-ai", "robots.txt disallows only GPTBot and CCBot: an AI-training "
                   "reservation inferred for us", [
            text("/robots.txt", "User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n\n"
                 "User-agent: *\nAllow: /\n"),
            page("/stories/1", "Story 1", expect="robots_ai_agents"),
        ], home_expect="robots_ai_agents"),
        _with_home("tdmrep", "tdmrep.json reserves /research/ (with a tdm-policy) and opens /open/", [
            text("/.well-known/tdmrep.json",
                 f'[{{"location": "/research/", "tdm-reservation": 1, '
                 f'"tdm-policy": "{url("tdmrep")}/policy.json"}}, '
                 '{"location": "/open/", "tdm-reservation": 0}]', "application/json"),
            text("/policy.json", '{"@context": ["http://www.w3.org/ns/odrl.jsonld"], '
                 '"@type": "Offer", "profile": "http://www.w3.org/ns/tdmrep"}', "application/json"),
            page("/research/paper-1", "Paper 1", expect="tdmrep_file"),
            page("/research/paper-2", "Paper 2", expect="tdmrep_file"),
            page("/open/notes", "Open notes"),
        ]),
        _with_home("headers", "reservations in response headers: tdm-reservation, X-Robots-Tag "
                   "(plain and bot-scoped), Content-Usage", [
            page("/tdm-header", "TDM header", headers=(("tdm-reservation", "1"),),
                 expect="tdmrep_header"),
            page("/noai-header", "noai header", headers=(("X-Robots-Tag", "noai"),),
                 expect="noai_header"),
            page("/bot-scoped", "Bot-scoped noai", headers=(("X-Robots-Tag", f"{AGENT}: noai"),),
                 expect="noai_header"),
            page("/other-bot", "Another bot's noai",
                 headers=(("X-Robots-Tag", "otherbot: noindex, noai"),)),  # not addressed to us
            page("/content-usage", "Content-Usage header", headers=(("Content-Usage", "train-ai=n"),),
                 expect="content_usage"),
            page("/photo", "A photo page", images=["/images/reserved.jpg"]),
            image("/images/reserved.jpg", headers=(("X-Robots-Tag", "noimageai"),),
                  expect="noimageai"),
        ]),
        _with_home("meta", "reservations in the HTML head: robots and bot-named meta, "
                   "tdm-reservation meta, noimageai on a gallery", [
            page("/noai-meta", "noai meta", head='<meta name="robots" content="noai">',
                 expect="noai_meta"),
            page("/bot-meta", "Bot-named meta", head=f'<meta name="{AGENT}" content="noai">',
                 expect="noai_meta"),
            page("/tdm-meta", "tdm-reservation meta", head='<meta name="tdm-reservation" content="1">',
                 expect="tdmrep_meta"),
            page("/tdm-meta-lifts", "Meta supersedes header", headers=(("tdm-reservation", "1"),),
                 head='<meta name="tdm-reservation" content="0">'),  # TDMRep: meta wins
            page("/gallery", "Gallery", head='<meta name="robots" content="noimageai">',
                 images=["/images/g1.jpg", "/images/g2.jpg"]),  # the page itself is not reserved
            image("/images/g1.jpg", expect="noimageai"),
            image("/images/g2.jpg", expect="noimageai"),
        ]),
        _with_home("aipref", "robots.txt extension lines: Content-Usage and Content-Signal by path", [
            text("/robots.txt", "User-agent: *\nAllow: /\nContent-Usage: /drafts/ train-ai=n\n"
                 "Content-Signal: /blog/ search=yes, ai-train=no\n"),
            page("/drafts/1", "Draft 1", expect="content_usage"),
            page("/blog/1", "Blog 1", expect="content_signal"),
            page("/blog/2", "Blog 2", expect="content_signal"),
        ]),
        _with_home("ai-txt", "Spawning ai.txt: only .html pages may be used for training", [
            text("/ai.txt", "User-agent: *\nAllow: *.html\nDisallow: /\n"),
            page("/about.html", "About"),
            page("/photos/1", "Photos", expect="ai_txt"),
        ], home_expect="ai_txt"),
        _with_home("registry", "its /portfolio/ is reserved in the central opt-out registry", [
            page("/portfolio/1", "Portfolio 1", expect="registry"),
            page("/portfolio/2", "Portfolio 2", expect="registry"),
        ]),
        _with_home("licensed", "tdmrep.json reserves everything, but the operator holds a licence", [
            text("/.well-known/tdmrep.json", '[{"location": "/", "tdm-reservation": 1}]',
                 "application/json"),
            page("/archive/1", "Archive 1", expect="licence"),
        ], home_expect="licence"),
        _with_home("rsl", "robots.txt names an RSL licence that prohibits AI training", [
            text("/robots.txt", f"User-agent: *\nAllow: /\nLicense: {url('rsl')}/license.xml\n"),
            text("/license.xml", '<rsl xmlns="https://rslstandard.org/rsl"><content url="/">'
                 '<license><prohibits type="usage">ai-train</prohibits></license></content></rsl>',
                 "application/rsl+xml"),
            page("/library/1", "Library 1", expect="rsl_licence"),
        ], home_expect="rsl_licence"),
        _with_home("down", "robots.txt answers 503: nothing may be fetched (RFC 9309)", [
            text("/robots.txt", "Service Unavailable", status=503),
            page("/news", "News", expect="robots_unreachable"),
        ], home_expect="robots_unreachable"),
        _with_home("files", "signals inside files: IPTC data mining in a JPEG, TDMRep in a PDF", [
            page("/downloads", "Downloads", images=["/images/iptc.jpg", "/images/free.jpg"],
                 links=["/files/report.pdf"]),
            image("/images/iptc.jpg", name="iptc-prohibited.jpg", expect="iptc"),
            image("/images/free.jpg"),
            Resource("/files/report.pdf", (FILES / "tdmrep-reserved.pdf").read_bytes(),
                     "application/pdf", expect="tdmrep_pdf"),
        ]),
    ]
    everything = [f"{url(o.name)}{r.path}" for o in origins for r in o.resources
                  if r.visited and r.content_type == HTML]  # fmt: skip
    everything += [f"/articles/{n}" for n in range(1, 13)]
    portal = Origin("portal", "an ordinary site: every page and image may be collected", (
        page("/", "The example web", links=everything),
        text("/robots.txt", allow_all), *articles, *photos,
    ))  # fmt: skip
    return [portal, *origins]


def registry_csv(url: Callable[[str], str]) -> str:
    """The central registry of the example web (CSV, as ``scrapy-optout registry build`` reads)."""
    return (
        "scope,value,purposes,policy,registered,source\n"
        f"prefix,{url('registry')}/portfolio/,train-ai,{url('registry')}/licensing,2026-03-01,"
        "A. Photographer\n"
    )


def licences_toml(url: Callable[[str], str]) -> str:
    """The crawl operator's licence register: a licence for the ``licensed`` origin."""
    return (
        "[[licence]]\n"
        'licensor = "Licensed Example Ltd"\n'
        'scope = "prefix"\n'
        f'value = "{url("licensed")}/"\n'
        'purposes = ["train-ai"]\n'
        'reference = "LIC-2026-001"\n'
    )


# URLs the demo also fetches with the httpx client (origin name, path): one of each outcome kind.
HTTPX_SAMPLE = (
    ("portal", "/articles/1"), ("tdmrep", "/research/paper-1"), ("headers", "/noai-header"),
    ("registry", "/portfolio/1"), ("licensed", "/archive/1"),
)  # fmt: skip


def expected(origins: list[Origin], sample: Iterable[tuple[str, str]] = ()) -> Counter[str]:
    """How many decisions should carry each reason code (``allow``: allowed, nothing reserved).

    One decision per visited page, image and file of the crawl, plus one per *sample* URL fetched
    again.
    """
    by_name = {o.name: o for o in origins}
    counts: Counter[str] = Counter()
    for origin in origins:
        counts.update(r.expect or "allow" for r in origin.resources if r.visited)
    for name, path in sample:
        found = by_name[name].find(path)
        if found is None:
            raise ValueError(f"HTTPX_SAMPLE: {name}{path} is not a page of the example web")
        counts[found.expect or "allow"] += 1
    return counts
