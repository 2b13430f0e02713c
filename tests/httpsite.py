"""Local websites for the httpx shell's tests, and the table of cases sync and async both pass.

Every :class:`Site` is a real threaded pytest-httpserver on 127.0.0.1 with a port of its own, so
each test sees a fresh origin (robots.txt and friends are cached per scheme + host + port, DESIGN
§5.1). A path nobody serves answers 404, as on a real site. Requests are recorded when they
ARRIVE (the pytest-httpserver log is written only after the handler returns, too late for a
handler that stalls), with their ``User-Agent``, so tests can assert a page was never requested.

The table (:data:`CASES`) is declarative: routes to serve on the site (and on a second origin,
``other``), the URL to get, and the expected outcome (DESIGN §3-§6, issue 3 "Done when").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from scrapy_optout import Decision, OptedOutError, RequestSkipped

AGENT = "MyAIBot"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain"
JSON = "application/json"
SIDE_DOCUMENTS = ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt")


def html(head: str = "", body: str = "<p>hello</p>") -> bytes:
    """A small HTML page with *head* inside its ``<head>``."""
    return (
        f"<!doctype html><html><head><title>page</title>{head}</head>"
        f"<body>{body}</body></html>"
    ).encode()


PAGE = html()


@dataclass(frozen=True)
class Reply:
    """What a route answers: status, body, headers, and an optional delay before answering."""

    status: int = 200
    body: bytes = PAGE
    content_type: str | None = HTML
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


def text(body: bytes | str, *, delay: float = 0.0) -> Reply:
    """A 200 ``text/plain`` reply (robots.txt, ai.txt)."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(body=data, content_type=TEXT, delay=delay)


def json_doc(body: bytes | str, *, delay: float = 0.0) -> Reply:
    """A 200 ``application/json`` reply (tdmrep.json)."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(body=data, content_type=JSON, delay=delay)


def status(code: int, *, delay: float = 0.0) -> Reply:
    """A reply with that status and a short text body."""
    return Reply(status=code, body=f"status {code}\n".encode(), content_type=TEXT, delay=delay)


def redirect(location: str, code: int = 301) -> Reply:
    """A redirect to *location* (``{other}`` is replaced by the second origin)."""
    return Reply(status=code, body=b"", content_type=None, headers=(("Location", location),))


def page(*headers: tuple[str, str], body: bytes = PAGE, content_type: str = HTML) -> Reply:
    """A 200 page with extra response headers."""
    return Reply(body=body, content_type=content_type, headers=headers)


class Site(HTTPServer):
    """One origin: a threaded local server that answers 404 for any path it does not serve."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", port=0, threaded=True)
        self.no_handler_status_code = 404
        self.hits: list[tuple[str, str]] = []
        self.placeholders: dict[str, str] = {}

    def thread_target(self) -> None:
        """Serve with a short poll interval, so that stopping takes milliseconds, not 0.5 s."""
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)

    def dispatch(self, request: Request) -> Response:
        """Record the request as it arrives, then answer it."""
        self.hits.append((request.path, request.headers.get("User-Agent", "")))
        return super().dispatch(request)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of *path* on this origin."""
        return self.origin + path

    def serve(self, path: str | re.Pattern[str], reply: Reply) -> None:
        """Answer every request for *path* (a path, or a whole-path pattern) with *reply*."""
        headers = [(k, v.format_map(self.placeholders)) for k, v in reply.headers]

        def respond(_: Request) -> Response:
            if reply.delay:
                time.sleep(reply.delay)
            response = Response(reply.body, status=reply.status, headers=headers)
            if reply.content_type is None:
                del response.headers["Content-Type"]
            else:
                response.headers["Content-Type"] = reply.content_type
            return response

        self.expect_request(path).respond_with_handler(respond)

    def serve_stream(
        self, path: str, chunks: Callable[[], Iterable[bytes]], *, content_type: str = TEXT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer *path* with a streamed body (no Content-Length): headers first, then *chunks*."""

        def respond(_: Request) -> Response:
            return Response(chunks(), status=200, headers=dict(headers or {}),
                                content_type=content_type, direct_passthrough=True)

        self.expect_request(path).respond_with_handler(respond)

    def count(self, path: str) -> int:
        """How many requests for *path* arrived."""
        return sum(1 for hit, _ in self.hits if hit == path)

    def count_under(self, prefix: str) -> int:
        """How many requests for paths starting with *prefix* arrived."""
        return sum(1 for hit, _ in self.hits if hit.startswith(prefix))

    def agents(self, path: str) -> list[str]:
        """The ``User-Agent`` of every request for *path*."""
        return [agent for hit, agent in self.hits if hit == path]


def serve_site() -> Iterator[Site]:
    """Run a fresh :class:`Site` for the duration of a fixture."""
    site = Site()
    site.start()
    try:
        yield site
    finally:
        site.stop()


def closed_origin() -> str:
    """The origin of a server that was started and stopped: nothing listens there any more."""
    site = Site()
    site.start()
    origin = site.origin
    site.stop()
    return origin


# ---------------------------------------------------------------------------------------------
# The table of cases (DESIGN §3-§6, issue 3). Paths prefixed "other:" live on the second origin.

DISALLOW_PRIVATE = "User-agent: *\nDisallow: /private\n"


@dataclass(frozen=True)
class Case:
    """One row of the table: what the sites serve, what is requested, and what must happen.

    Attributes:
        id: the pytest id.
        routes: path -> reply on the site; paths starting with ``other:`` are on the second origin.
        path: what the client gets (on the site).
        action: the expected ``Decision.action``: ``allow``, ``skip`` or ``bypass``.
        code: the expected first reason code (None: any or no reasons, for allows).
        stage: the expected ``Decision.stage``.
        source: where the deciding reason must say its evidence came from (a path, or None).
        decided: the URL the decision is about when it is not *path* (a redirect hop).
        never: paths that must never be requested (besides the decided URL of a request-stage skip).
        once: paths that must be requested exactly once.
        policy: Policy overrides.
        timeout: the client's timeout.
        follow: follow redirects.
        bypass: pass ``extensions={"optout": {"bypass": True}}``.
        page: the page an image is requested from (``extensions={"optout": {"page": ...}}``).
        before: paths got (and allowed) before *path*, with the same client.
        error: a prefix one of ``Decision.errors`` must have (an unavailable source allowed).
    """

    id: str
    routes: Mapping[str, Reply]
    path: str
    action: str
    code: str | None
    stage: str
    source: str | None = None
    decided: str | None = None
    never: tuple[str, ...] = ()
    once: tuple[str, ...] = ()
    policy: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 5.0
    follow: bool = False
    bypass: bool = False
    page: str | None = None
    before: tuple[str, ...] = ()
    error: str | None = None


NOTHING_ELSE = ("/.well-known/tdmrep.json", "/ai.txt")  # RFC 9309 §2.3.1.4: nothing of that origin

CASES: tuple[Case, ...] = (
    # --- request stage: decided from origin documents, the page is never requested -------------
    Case("robots-disallow-token",
         {"/robots.txt": text(f"User-agent: {AGENT}\nDisallow: /private\n\n"
                              "User-agent: *\nAllow: /\n")},
         "/private/page", "skip", "robots_disallow", "request", "/robots.txt"),
    Case("robots-disallow-all", {"/robots.txt": text("User-agent: *\nDisallow: /\n")},
         "/page", "skip", "robots_disallow", "request", "/robots.txt", never=NOTHING_ELSE),
    Case("robots-503", {"/robots.txt": status(503)},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt", never=NOTHING_ELSE),
    Case("robots-500", {"/robots.txt": status(500)},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt", never=NOTHING_ELSE),
    Case("robots-429", {"/robots.txt": status(429)},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt", never=NOTHING_ELSE),
    Case("robots-timeout", {"/robots.txt": text("User-agent: *\nAllow: /\n", delay=2.0)},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt", never=NOTHING_ELSE,
         timeout=1.0),
    Case("robots-503-on-unavailable-allow", {"/robots.txt": status(503)},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt", never=NOTHING_ELSE,
         policy={"on_unavailable": "allow"}),
    Case("robots-redirect-to-other-scheme",
         {"/robots.txt": redirect("ftp://127.0.0.1/robots.txt")},
         "/page", "skip", "robots_unreachable", "request", "/robots.txt"),
    Case("robots-ai-agents",
         {"/robots.txt": text("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")},
         "/page", "skip", "robots_ai_agents", "request", "/robots.txt"),
    Case("robots-content-usage",
         {"/robots.txt": text("User-agent: *\nContent-Usage: train-ai=n\n")},
         "/page", "skip", "content_usage", "request", "/robots.txt"),
    Case("robots-content-signal",
         {"/robots.txt": text("User-agent: *\nContent-Signal: ai-train=no\nAllow: /\n")},
         "/page", "skip", "content_signal", "request", "/robots.txt"),
    Case("robots-5-redirects-followed",
         {"/robots.txt": redirect("/r1"), "/r1": redirect("/r2"), "/r2": redirect("/r3"),
          "/r3": redirect("/r4"), "/r4": redirect("/r5"), "/r5": text(DISALLOW_PRIVATE)},
         "/private/page", "skip", "robots_disallow", "request", "/robots.txt", once=("/r5",)),
    Case("robots-redirect-to-other-authority",
         {"/robots.txt": redirect("{other}/shared/robots.txt"),
          "other:/shared/robots.txt": text(DISALLOW_PRIVATE)},
         "/private/page", "skip", "robots_disallow", "request", "/robots.txt",
         once=("other:/shared/robots.txt",)),
    Case("tdmrep-file",
         {"/.well-known/tdmrep.json": json_doc('[{"location":"/research/","tdm-reservation":1}]')},
         "/research/paper", "skip", "tdmrep_file", "request", "/.well-known/tdmrep.json",
         never=("/ai.txt",)),
    Case("tdmrep-503", {"/.well-known/tdmrep.json": status(503)},
         "/page", "skip", "signal_unavailable", "request", "/.well-known/tdmrep.json"),
    Case("tdmrep-timeout",
         {"/.well-known/tdmrep.json": json_doc('[{"location":"/","tdm-reservation":0}]',
                                               delay=2.0)},
         "/page", "skip", "signal_unavailable", "request", "/.well-known/tdmrep.json", timeout=1.0),
    Case("ai-txt", {"/ai.txt": text("User-agent: *\nDisallow: /\n")},
         "/page", "skip", "ai_txt", "request", "/ai.txt"),
    Case("ai-txt-503", {"/ai.txt": status(503)},
         "/page", "skip", "signal_unavailable", "request", "/ai.txt"),
    Case("redirect-hop-to-disallowed-path",
         {"/robots.txt": text(DISALLOW_PRIVATE), "/start": redirect("/private/x", 302)},
         "/start", "skip", "robots_disallow", "request", "/robots.txt", decided="/private/x",
         once=("/start",), follow=True),
    Case("redirect-hop-to-other-origin",
         {"/start": redirect("{other}/private/x", 302),
          "other:/robots.txt": text(DISALLOW_PRIVATE)},
         "/start", "skip", "robots_disallow", "request", "other:/robots.txt",
         decided="other:/private/x", once=("/start", "other:/robots.txt"), follow=True),
    Case("image-of-noimageai-page",
         {"/art": page(body=html('<meta name="robots" content="noimageai">', '<img src="/a.jpg">')),
          "/a.jpg": page(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg")},
         "/a.jpg", "skip", "noimageai", "request", "/art", page="/art", before=("/art",)),
    # --- response stage: headers and the HTML head -----------------------------------------------
    Case("tdm-reservation-header", {"/page": page(("tdm-reservation", "1"))},
         "/page", "skip", "tdmrep_header", "response", "/page"),
    Case("x-robots-tag-noai", {"/page": page(("X-Robots-Tag", "noai"))},
         "/page", "skip", "noai_header", "response", "/page"),
    Case("x-robots-tag-noai-for-our-bot", {"/page": page(("X-Robots-Tag", f"{AGENT}: noai"))},
         "/page", "skip", "noai_header", "response", "/page"),
    Case("meta-robots-noai", {"/page": page(body=html('<meta name="robots" content="noai">'))},
         "/page", "skip", "noai_meta", "response", "/page"),
    Case("meta-tdm-reservation",
         {"/page": page(body=html('<meta name="tdm-reservation" content="1">'))},
         "/page", "skip", "tdmrep_meta", "response", "/page"),
    Case("content-usage-header", {"/page": page(("Content-Usage", "train-ai=n"))},
         "/page", "skip", "content_usage", "response", "/page"),
    Case("noimageai-header-on-image",
         {"/pic.png": page(("X-Robots-Tag", "noimageai"), body=b"\x89PNG\r\n\x1a\n",
                           content_type="image/png")},
         "/pic.png", "skip", "noimageai", "response", "/pic.png"),
    # --- allowed ---------------------------------------------------------------------------------
    Case("nothing-said", {}, "/page", "allow", None, "response"),
    Case("robots-404", {"/robots.txt": status(404)}, "/page", "allow", None, "response"),
    Case("robots-401", {"/robots.txt": status(401)}, "/page", "allow", None, "response"),
    Case("robots-403", {"/robots.txt": status(403)}, "/page", "allow", None, "response"),
    Case("robots-allowed-path", {"/robots.txt": text(DISALLOW_PRIVATE)},
         "/public/page", "allow", None, "response"),
    Case("robots-6-redirects-mean-no-restrictions",
         {"/robots.txt": redirect("/r1"), "/r1": redirect("/r2"), "/r2": redirect("/r3"),
          "/r3": redirect("/r4"), "/r4": redirect("/r5"), "/r5": redirect("/r6"),
          "/r6": text("User-agent: *\nDisallow: /\n")},
         "/page", "allow", None, "response", never=("/r6",)),
    Case("tdmrep-reservation-0",
         {"/.well-known/tdmrep.json": json_doc('[{"location":"/","tdm-reservation":0}]')},
         "/page", "allow", None, "response"),
    Case("tdmrep-503-on-unavailable-allow", {"/.well-known/tdmrep.json": status(503)},
         "/page", "allow", None, "response", policy={"on_unavailable": "allow"},
         error="signal_unavailable"),
    Case("noai-header-does-not-reserve-search", {"/page": page(("X-Robots-Tag", "noai"))},
         "/page", "allow", None, "response", policy={"purpose": "search"}),
    Case("noai-for-another-bot", {"/page": page(("X-Robots-Tag", "otherbot: noai"))},
         "/page", "allow", None, "response"),
    Case("redirect-to-allowed-path",
         {"/robots.txt": text(DISALLOW_PRIVATE), "/start": redirect("/public/next", 302)},
         "/start", "allow", None, "response", decided="/public/next", once=("/start",),
         follow=True),
    Case("bypass-request-stage", {"/robots.txt": text("User-agent: *\nDisallow: /\n")},
         "/page", "bypass", "bypass", "request", bypass=True),
    Case("bypass-response-stage", {"/page": page(("X-Robots-Tag", "noai"))},
         "/page", "bypass", "bypass", "request", bypass=True),
)


CASE_PARAMS = [pytest.param(case, id=case.id) for case in CASES]


def locate(spec: str, site: Site, other: Site) -> tuple[Site, str]:
    """Split ``other:/path`` or ``/path`` into the server and the path."""
    if spec.startswith("other:"):
        return other, spec[len("other:") :]
    return site, spec


def url_of(spec: str, site: Site, other: Site) -> str:
    """The absolute URL of a table path."""
    server, path = locate(spec, site, other)
    return server.url(path)


def install(case: Case, site: Site, other: Site) -> None:
    """Serve the case's routes; every other path the case names answers a plain page."""
    for server in (site, other):
        server.placeholders = {"other": other.origin, "site": site.origin}
    served: set[str] = set()
    for spec, reply in case.routes.items():
        server, path = locate(spec, site, other)
        server.serve(path, reply)
        served.add(spec)
    for spec in (case.path, case.decided, *case.never, *case.once, *case.before):
        if spec and spec not in served and spec not in SIDE_DOCUMENTS:
            server, path = locate(spec, site, other)
            server.serve(path, page())
            served.add(spec)


def client_options(case: Case) -> dict[str, Any]:
    """The httpx client keyword arguments of a case."""
    return {"timeout": case.timeout, "follow_redirects": case.follow}


def request_extensions(case: Case, site: Site) -> dict[str, Any]:
    """The per-request ``extensions`` of a case."""
    options: dict[str, Any] = {}
    if case.bypass:
        options["bypass"] = True
    if case.page:
        options["page"] = site.url(case.page)
    return {"optout": options} if options else {}


def check_outcome(case: Case, outcome: httpx.Response | BaseException, site: Site,
                  other: Site) -> None:
    """Assert the case's expected outcome on the response or exception, and on the servers' logs."""
    decided = url_of(case.decided or case.path, site, other)
    if case.action == "skip":
        assert isinstance(outcome, OptedOutError), f"expected OptedOutError, got {outcome!r}"
        assert isinstance(outcome, httpx.RequestError)
        assert isinstance(outcome, RequestSkipped)
        decision = outcome.decision
    else:
        assert isinstance(outcome, httpx.Response), f"expected a response, got {outcome!r}"
        assert outcome.status_code == 200
        assert str(outcome.url) == decided
        decision = outcome.extensions["optout"]
    check_decision(case, decision, site, other)


def check_decision(case: Case, decision: object, site: Site, other: Site, *,
                   side_fetches: int = 1) -> None:
    """Assert the case's expected decision, and what the servers were (not) asked for.

    *side_fetches* is how often robots.txt may be requested (Scrapy retries a 5xx or a timeout).
    """
    decided = url_of(case.decided or case.path, site, other)
    assert isinstance(decision, Decision), decision
    assert decision.allowed is (case.action != "skip")
    assert decision.action == case.action
    assert decision.stage == case.stage
    assert decision.url == decided
    if case.code is not None:
        assert decision.reasons, decision
        assert decision.reasons[0].code == case.code, decision.reasons
    elif case.action == "allow":
        assert decision.reasons == (), decision.reasons
    if case.error is not None:
        assert any(e.startswith(case.error) for e in decision.errors), decision.errors
    if case.source is not None:
        assert decision.reasons[0].source == url_of(case.source, site, other)

    server, path = locate(case.decided or case.path, site, other)
    if case.action == "skip" and case.stage == "request":
        assert server.count(path) == 0, f"{path} was requested: {server.hits}"
    else:
        assert server.count(path) == 1, server.hits
    for spec in case.never:
        server, path = locate(spec, site, other)
        assert server.count(path) == 0, f"{spec} was requested: {server.hits}"
    for spec in case.once:
        server, path = locate(spec, site, other)
        assert server.count(path) == 1, f"{spec}: {server.hits}"
    for server in (site, other):
        assert server.count("/robots.txt") <= side_fetches, server.hits
        for doc in SIDE_DOCUMENTS:
            for agent in server.agents(doc):
                assert AGENT in agent, f"{doc} fetched with User-Agent {agent!r}"


# ---------------------------------------------------------------------------------------------
# Hostile origins (issue 3 "Done when"): each must give a decision within the client's timeout.

MIB = 1024 * 1024
BLOCK = 64 * 1024


def stalled_robots() -> Iterator[bytes]:
    """robots.txt whose headers and first line arrive, then nothing for 4 s."""
    yield b"User-agent: *\n"
    time.sleep(4.0)
    yield b"Disallow:\n"


def trickled_robots() -> Iterator[bytes]:
    """robots.txt that sends a line every 0.2 s for 6 s: no single read ever times out."""
    for i in range(30):
        yield f"# line {i}\n".encode()
        time.sleep(0.2)
    yield b"User-agent: *\nAllow: /\n"


HUGE_TDMREP_FAST = 32 * MIB
"""The first 32 MiB of the 50 MB tdmrep.json come at once; the rest slowly (about 14 s), so that a
client that does not stop at its cap cannot finish before its timeout."""


def huge_tdmrep() -> Iterator[bytes]:
    """A 50 MB tdmrep.json that, read whole, would ALLOW everything (reservation 0)."""
    yield b'[{"location":"/","tdm-reservation":0}'
    block = b" " * BLOCK
    for i in range(50_000_000 // BLOCK):
        if i * BLOCK >= HUGE_TDMREP_FAST:
            time.sleep(0.05)
        yield block
    yield b"]"


def big_robots() -> bytes:
    """A 5 MB robots.txt: ``Disallow: /private`` in its first KiB, ``Disallow: /late`` last."""
    head = b"User-agent: *\nDisallow: /private\n"
    line = b"# " + b"x" * 77 + b"\n"
    return head + line * (5 * MIB // len(line)) + b"Disallow: /late\n"


def endless_head_page() -> bytes:
    """A 3 MB HTML page whose ``<head>`` never ends."""
    meta = b'<meta name="keywords" content="' + b"k" * 60 + b'">\n'
    return b"<!doctype html><html><head><title>endless</title>\n" + meta * (3 * MIB // len(meta))


def big_page() -> bytes:
    """A 3 MB allowed HTML page (a normal head, a long body)."""
    return html(body="<p>" + "lorem ipsum " * (3 * MIB // 12) + "</p>")


def slow_body() -> Iterator[bytes]:
    """An HTML page whose head comes at once and whose body takes 4 s to arrive."""
    yield b"<!doctype html><html><head><title>slow</title></head><body>"
    block = b"<p>" + b"x" * (BLOCK - 7) + b"</p>\n"
    for _ in range(40):
        time.sleep(0.1)
        yield block
    yield b"</body></html>"
