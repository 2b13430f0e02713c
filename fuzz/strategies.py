"""Hypothesis strategies for the fuzz targets: raw noise, near-valid documents, and mutations.

Each format has a builder of near-valid inputs (robots.txt lines with random directives, JSON of
random shapes, HTML heads of random tags, JPEG/PNG/WebP/TIFF/PDF/ZIP skeletons), and
:func:`mutated` flips, inserts, deletes and cuts bytes of any of them, so that the parsers meet
both what a sloppy site writes and what a hostile one sends.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from typing import Any

from hypothesis import strategies as st

TOKEN = "MyAIBot"
"""Our crawler's token in every target."""

# -- mutation ---------------------------------------------------------------------------------------

_EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "insert", "delete", "cut", "repeat"]),
        st.integers(0, 1 << 20),
        st.integers(0, 255),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for edit, where, value in edits:
        at = where % (len(out) + 1)
        if edit == "flip" and at < len(out):
            out[at] ^= value or 1
        elif edit == "insert":
            out[at:at] = bytes([value])
        elif edit == "delete":
            del out[at : at + 1 + value % 8]
        elif edit == "cut":
            del out[at:]
        elif edit == "repeat":
            out[at:at] = out[at : at + 1 + value % 16] * (1 + value % 4)
    return bytes(out)


def mutated(base: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """*base*'s values as they are, or with a few bytes flipped, inserted, deleted or cut."""
    return base | st.builds(_mutate, base, _EDITS)


# -- text and URLs ----------------------------------------------------------------------------------

_NASTY = [
    "", " ", "\t", "\r\n", "\x00", "\ufeff", "é", "ä/ö", "\u2028", "%", "%2A", "%7e", "%zz", "*", "$",
    "?", "#", "<", ">", '"', "'", "&amp;", "&#x61;", "\\", ",", ";", "=", ":", "/", "//", "[", "]",
]
NASTY = st.sampled_from(_NASTY)
TEXT = st.text(max_size=60) | NASTY | st.lists(NASTY, max_size=6).map("".join)
SHORT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=30
) | NASTY

PATH = st.one_of(
    st.sampled_from(["/", "*", "/a", "/a/", "/a*", "/*.pdf$", "/$", "/%2A", "/%7Ea", "/ä", "a", ""]),
    st.lists(st.sampled_from(["/", "a", "b", "*", "$", "%2f", "%41", "é", "?", "=", ".", "~"]))
    .map("".join),
    SHORT.map(lambda s: "/" + s),
)
HOST = st.sampled_from(
    ["e.org", "E.ORG", "a.e.org", "xn--bcher-kva.example", "bücher.example", "127.0.0.1", "[::1]",
     "e.org:8443", "e.org:0", "e.org:99999", "[::1", "e.org.", "", "user:pw@e.org", "%65.org"]
)  # fmt: skip
SCHEME = st.sampled_from(
    ["https://", "http://", "HTTPS://", "ftp://", "file://", "data:", "javascript:", "", "//"]
)
URL = st.builds(lambda s, h, p: s + h + p, SCHEME, HOST, PATH) | TEXT
HTTP_URL = st.builds(
    lambda s, h, p: s + h + (p if p.startswith("/") else "/" + p),
    st.sampled_from(["https://", "http://"]),
    st.sampled_from(["e.org", "a.e.org", "e.org:8443", "127.0.0.1"]),
    PATH,
)
"""An http(s) URL with a host: one the flows accept."""


def _encode(text: str, codec: str) -> bytes:
    return text.encode(codec, "replace") if codec != "utf-8" else text.encode("utf-8", "replace")


CODECS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])

# -- robots.txt and ai.txt --------------------------------------------------------------------------

_DIRECTIVES = [
    "User-agent", "user-agent", "USER-AGENT", "useragent", "User agent", "Allow", "allow",
    "Disallow", "disalow", "Sitemap", "Crawl-delay", "Content-Usage", "Content-Signal", "License",
    "Host", "noindex", "", "x-other",
]  # fmt: skip
_AGENTS = ["*", TOKEN, "myaibot/1.0", "GPTBot", "CCBot", "*/", "Other", "", "My AI Bot", "* /"]
_EXTENSION_VALUES = [
    "train-ai=n", "train-ai=y", "search=y, train-ai=n", "/a train-ai=n", "ai-train=no",
    "search=yes, ai-train=no", "https://e.org/licence.xml", "/licence.xml", "http://[::1",
]  # fmt: skip
ROBOTS_VALUE = st.one_of(PATH, st.sampled_from(_AGENTS), st.sampled_from(_EXTENSION_VALUES), SHORT)
ROBOTS_LINE = st.one_of(
    st.builds(
        lambda k, sep, v, comment: f"{k}{sep}{v}{comment}",
        st.sampled_from(_DIRECTIVES),
        st.sampled_from([":", ": ", " :", " ", "\t:", ""]),
        ROBOTS_VALUE,
        st.sampled_from(["", " # c", "#x", " #"]),
    ),
    SHORT,
)
_INERT = [
    "Sitemap: https://e.org/sitemap.xml", "Crawl-delay: 10", "# Disallow: /", "", "   ",
    "Content-Usage: train-ai=y", "Content-Signal: search=yes", "Host: e.org", "x-other: value",
    "License: https://e.org/l.xml", "Disallow:", "noise without colon",
]  # fmt: skip
INERT_LINE = st.sampled_from(_INERT) | SHORT.map(lambda s: "# " + s)
"""Lines that open no group and add no access rule (comments, sitemaps, extensions...)."""
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def robots_bodies(draw: st.DrawFn) -> bytes:
    """A robots.txt of random lines, in a random encoding, sometimes with a BOM."""
    lines = draw(st.lists(ROBOTS_LINE, max_size=30))
    text = draw(NEWLINE).join(lines)
    return _encode(text, draw(CODECS))


@st.composite
def reserving_robots(draw: st.DrawFn, agent: str) -> bytes:
    """robots.txt whose group for *agent* holds ``Disallow: /`` and no Allow line.

    Groups for other agents come first (each with a rule, so that ours starts a group of its own);
    our group has only Disallow lines and lines that change nothing.
    """
    newline = draw(NEWLINE)
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        lines.append("User-agent: " + draw(st.sampled_from(["Other", "GPTBot", "Googlebot"])))
        lines += draw(st.lists(st.sampled_from(["Allow: /", "Disallow: /x", "Allow: /a"]), min_size=1, max_size=3))
        lines += draw(st.lists(INERT_LINE, max_size=3))
    lines.append("User-agent: " + agent)
    ours = [*draw(st.lists(INERT_LINE, max_size=4)), "Disallow: /"]
    ours += draw(st.lists(st.builds("Disallow: {}".format, PATH) | INERT_LINE, max_size=4))
    lines += draw(st.permutations(ours))
    lines.append("")  # the rule never sits on a last line a cut could drop
    return _encode(newline.join(lines), draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"])))


# -- JSON -------------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
_RESERVATIONS = st.sampled_from([0, 1, "1", "0", True, False, 2, -1, None, 1.0, "yes", [1]])
TDM_RULE = st.fixed_dictionaries(
    {},
    optional={
        "location": PATH | URL | JSON,
        "tdm-reservation": _RESERVATIONS,
        "tdm-policy": URL | JSON,
    },
)
_JSON_TRAPS = [
    b'[{"location":"/\\ud800","tdm-reservation":1}]', b"[" * 5000 + b"]" * 5000,
    b'[{"location":"/","tdm-reservation":' + b"9" * 5000 + b"}]", b'[{"location":"/"}', b"\xff\xfe[",
    b'[{"location":"/","tdm-reservation":1e400}]', b'{"location":"/","tdm-reservation":1}',
]  # fmt: skip


@st.composite
def tdmrep_bodies(draw: st.DrawFn) -> bytes:
    """A tdmrep.json: a list of near-valid rules, any JSON, or a known trap."""
    value: Any = draw(st.lists(TDM_RULE | JSON, max_size=8) | JSON)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    return draw(st.sampled_from(_JSON_TRAPS) | st.just(_encode(text, draw(CODECS))))


# -- header field lines -----------------------------------------------------------------------------

_ROBOTS_TAG_ELEMENTS = [
    "noindex", "nofollow", "noai", "noimageai", "NOAI", "NoImageAI", "googlebot: noai",
    f"{TOKEN}: noimageai", f"{TOKEN.lower()}: noindex", "otherbot: noai, noimageai",
    "unavailable_after: Sunday, 06-Nov-94 08:49:37 GMT", "max-snippet: 50", "none", "all", "",
    "noai:", ":noai", "no ai",
]  # fmt: skip
ROBOTS_TAG_LINE = st.lists(st.sampled_from(_ROBOTS_TAG_ELEMENTS) | SHORT, max_size=6).map(
    ", ".join
) | TEXT
_SF_KEYS = ["train-ai", "search", "use", "bots", "TRAIN-AI", "x", "a*b", "1x", ""]
_SF_VALUES = ["y", "n", "?1", "?0", '"n"', "(y n)", "y;p=1", "1.5", "@123", "no", ":AA==:", "%\"x\""]
SF_MEMBER = st.builds(
    lambda k, eq, v: k + eq + v,
    st.sampled_from(_SF_KEYS),
    st.sampled_from(["=", " = ", "", "=="]),
    st.sampled_from(_SF_VALUES) | SHORT,
)
CONTENT_USAGE = st.lists(SF_MEMBER, max_size=6).map(", ".join) | TEXT
_SIGNAL_KEYS = ["search", "ai-input", "ai-train", "AI-Train", "use", ""]
SIGNAL_MEMBER = st.builds(
    lambda k, v: f"{k}={v}",
    st.sampled_from(_SIGNAL_KEYS) | SHORT,
    st.sampled_from(["yes", "no", "YES", "No", "maybe", ""]) | SHORT,
) | SHORT
CONTENT_SIGNAL = st.lists(SIGNAL_MEMBER, max_size=6).map(",".join)
TDM_MEMBER = st.sampled_from(["1", "0", " 1 ", "2", "yes", "", "1;q=1", "true"]) | SHORT
TDM_HEADER_LINE = st.lists(TDM_MEMBER, max_size=4).map(",".join)
POLICY_LINE = st.lists(URL, max_size=3).map(", ".join) | URL
LINK_VALUE = st.one_of(
    st.builds(
        '<{}>; rel="{}"; type="{}"'.format,
        URL,
        st.sampled_from(["license", "License", "licence", "alternate license", ""]) | SHORT,
        st.sampled_from(["application/rsl+xml", "text/html", ""]) | SHORT,
    ),
    TEXT,
)
_SIGNAL_FIELDS = [
    "tdm-reservation", "TDM-Reservation", "tdm-policy", "x-robots-tag", "X-Robots-Tag",
    "content-usage", "content-signal", "content-type", "content-encoding", "link", "Link",
    "set-cookie", " x-robots-tag ",
]  # fmt: skip
HEADER_VALUE = st.one_of(
    ROBOTS_TAG_LINE, CONTENT_USAGE, TDM_HEADER_LINE, POLICY_LINE, LINK_VALUE,
    st.sampled_from(["text/html", "image/jpeg", "application/pdf", "application/epub+zip", "gzip"]),
)  # fmt: skip
HEADER_PAIR = st.tuples(st.sampled_from(_SIGNAL_FIELDS) | SHORT, HEADER_VALUE)


def _as_bytes(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for n, v in pairs]


def _as_multidict(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


HEADER_PAIRS = st.lists(HEADER_PAIR, max_size=10)
ODD_VALUE: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.integers(), st.binary(max_size=20), st.lists(st.binary(max_size=10), max_size=3),
    st.lists(st.integers(), max_size=3), TEXT, st.just(b"x" * 70_000), st.just("y" * 300_000),
)  # fmt: skip
HEADER_CONTAINERS: st.SearchStrategy[Any] = st.one_of(
    HEADER_PAIRS,
    HEADER_PAIRS.map(dict),
    HEADER_PAIRS.map(tuple),
    HEADER_PAIRS.map(_as_bytes),
    HEADER_PAIRS.map(_as_multidict),
    st.lists(st.tuples(st.sampled_from(_SIGNAL_FIELDS) | ODD_VALUE, ODD_VALUE), max_size=5),
    st.dictionaries(st.sampled_from(_SIGNAL_FIELDS), ODD_VALUE, max_size=4),
    st.none(),
    st.just(42),
)

# -- HTML -------------------------------------------------------------------------------------------

_ATTR = st.text(alphabet="abcXYZ 019-_./:;,=é\u00a0", max_size=20)
_TEXT = st.text(alphabet="abc XYZ 019-_./:;,=é\u00a0\n", max_size=30)
BALANCED = st.one_of(
    st.builds("<title>{}</title>".format, _TEXT),
    st.builds("<script>{}</script>".format, _TEXT),
    st.builds("<style>{}</style>".format, _TEXT),
    st.builds("<!--{}-->".format, _TEXT),
    st.builds('<link rel="{}" href="{}">'.format, _ATTR, _ATTR),
    st.builds('<meta name="description" content="{}">'.format, _ATTR),
    st.builds('<meta property="{}" content="{}"/>'.format, _ATTR, _ATTR),
    st.builds("<base href='{}'>".format, _ATTR),
    st.sampled_from(["<meta>", "<link>", "<x-y a=b>", "</x-y>", "\n", "text", "&amp;", "<?pi?>"]),
)
"""Head markup that never hides a later tag (closed raw text, quoted attributes, no ``<`` text)."""
HOSTILE_HTML = st.sampled_from(
    [
        "<!--", "<script>", "<title>", "<textarea>", "<plaintext>", '<a href="', "<a href='",
        "</head>", "<body>", "<BODY", "</HEAD", "<![CDATA[", "<!DOCTYPE html>", "<meta ", "<",
        '<meta name="robots" content="noai', "<svg><meta name=robots content=noai></svg>",
    ]
)  # fmt: skip
NOAI_META = st.builds(
    '<meta name="{}" content="{}">'.format,
    st.sampled_from(["robots", "ROBOTS", " robots ", TOKEN, TOKEN.lower()]),
    st.sampled_from(["noai", "NoAI", "noindex, noai", "noai, noimageai", " noai "]),
)
TDM_META = st.builds(
    "<meta {}>".format,
    st.sampled_from(
        ['name="tdm-reservation" content="1"', "content=1 name=TDM-Reservation",
         "name='tdm-reservation' content=' 1 '"]
    ),
)  # fmt: skip


@st.composite
def html_heads(draw: st.DrawFn) -> bytes:
    """A head of random markup (balanced or hostile), in a random encoding."""
    parts = draw(st.lists(BALANCED | HOSTILE_HTML | NOAI_META | TDM_META | TEXT, max_size=12))
    prefix = draw(st.sampled_from(["<html><head>", "<!DOCTYPE html><head>", "", "<head >"]))
    return _encode(prefix + "".join(parts), draw(CODECS))


@st.composite
def reserving_heads(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A head with a noai robots meta and a ``tdm-reservation: 1`` meta among balanced markup.

    Returns the body and the Content-Type charset to pass (None, or the codec used).
    """
    before = draw(st.lists(BALANCED, max_size=8))
    after = draw(st.lists(BALANCED, max_size=4))
    signals = draw(st.permutations([draw(NOAI_META), draw(TDM_META)]))
    end = draw(st.sampled_from(["</head><body>", "</HEAD>", "<body>", "</head"]))
    codec = draw(st.sampled_from(["utf-8", "utf-16", "cp1252"]))
    text = "<html><head>" + "".join([*before, signals[0], *after, signals[1]]) + end + "<p>x"
    hint = draw(st.sampled_from([None, codec]))
    return _encode(text, codec), hint


# -- XML: XMP, RSL, OPF -----------------------------------------------------------------------------

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
TDM_IRIS = ["http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#"]
DMI = st.sampled_from(
    ["DMI-PROHIBITED-AIMLTRAINING", "DMI-ALLOWED", "DMI-PROHIBITED", "DMI-UNSPECIFIED",
     "DMI-PROHIBITED-GENAIMLTRAINING", "dmi-allowed", "DMI-X"]
)  # fmt: skip
_XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd"><!ENTITY f "&e;&e;">]>'
_LAUGHS = (
    '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
    '<!ENTITY g "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
)
DOCTYPE = st.sampled_from(["", _XXE, _LAUGHS, "<!DOCTYPE x SYSTEM 'http://127.0.0.1:9/x.dtd'>"])
ENTITY_REF = st.sampled_from(["", "&e;", "&f;", "&h;", "&amp;", "&#65;", "&nope;"])


def _xmp_property(prefix: str, name: str, value: str, form: str) -> tuple[str, str]:
    """(attribute text, child element text) writing one property in *form*."""
    if form == "attribute":
        return f' {prefix}:{name}="{value}"', ""
    if form == "resource":
        return "", f'<{prefix}:{name} rdf:resource="{value}"/>'
    if form == "alt":
        return "", f"<{prefix}:{name}><rdf:Bag><rdf:li>{value}</rdf:li></rdf:Bag></{prefix}:{name}>"
    return "", f"<{prefix}:{name}>{value}</{prefix}:{name}>"


FORM = st.sampled_from(["attribute", "resource", "alt", "element"])
CHILD_FORM = st.sampled_from(["resource", "alt", "element"])


@st.composite
def xmp_packets(draw: st.DrawFn, reserve: bool = False) -> bytes:
    """An XMP packet with IPTC DataMining and TDMRep properties (a reserving one if *reserve*)."""
    prefix = draw(st.sampled_from(["plus", "p", "Iptc4xmpExt"]))
    tdm = draw(st.sampled_from(["tdm", "t"]))
    attrs, children = [], []
    terms = draw(st.lists(DMI, max_size=3))
    if reserve:
        terms.insert(draw(st.integers(0, len(terms))), "DMI-PROHIBITED-AIMLTRAINING")
    # An attribute can be given once per element: a packet that must parse has child forms only.
    forms = CHILD_FORM if reserve else FORM
    for term in terms:
        value = draw(st.sampled_from(["", "http://ns.useplus.org/ldf/vocab/"])) + term
        a, c = _xmp_property(prefix, "DataMining", value, draw(forms))
        attrs.append(a)
        children.append(c)
    for _ in range(draw(st.integers(0, 2))):
        reservation = draw(st.sampled_from(["1", "0", "2", ""]))
        a, c = _xmp_property(tdm, "reservation", reservation, draw(forms))
        attrs.append(a)
        children.append(c)
    noise = draw(st.lists(st.sampled_from(["<x:y/>", "<dc:title>t</dc:title>", "junk"]), max_size=2))
    entity = "" if reserve else draw(ENTITY_REF)
    body = (
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description xmlns:{prefix}="{PLUS}" xmlns:{tdm}="{draw(st.sampled_from(TDM_IRIS))}"'
        f' xmlns:dc="http://purl.org/dc/elements/1.1/"{"".join(dict.fromkeys(attrs))}>'
        f"{''.join(children)}{''.join(noise)}{entity}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    doctype = "" if reserve else draw(DOCTYPE)
    wrapped = f'{doctype}<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{body}'
    return (wrapped + '<?xpacket end="w"?>' + " " * draw(st.integers(0, 40))).encode()


RSL_TOKENS = st.lists(
    st.sampled_from(["all", "ai-all", "ai-train", "ai-input", "ai-index", "search", "x", "ALL"]),
    max_size=3,
).map(" ".join)


@st.composite
def rsl_licence(draw: st.DrawFn, reserving: bool) -> str:
    """A ``<license>`` of random terms and payments (first prohibiting ``all`` if *reserving*)."""
    children = []
    for _ in range(draw(st.integers(0, 3))):
        tag = draw(st.sampled_from(["permits", "prohibits"]))
        kind = draw(st.sampled_from(["usage", "user", "geo", "", "other"]))
        children.append(f'<{tag} type="{kind}">{draw(RSL_TOKENS)}</{tag}>')
    for _ in range(draw(st.integers(0, 2))):
        pay = draw(st.sampled_from(["free", "purchase", "attribution", "", "x"]))
        amount = draw(st.sampled_from(["", '<amount currency="USD">10</amount>']))
        children.append(f'<payment type="{pay}">{amount}</payment>')
    if reserving:
        children.insert(0, '<prohibits type="usage">all</prohibits>')
    return f"<license>{''.join(children)}</license>"


@st.composite
def rsl_documents(draw: st.DrawFn, reserving: bool = False) -> bytes:
    """An RSL document; with *reserving*, a content ``/`` and every licence prohibiting ``all``."""
    contents = []
    urls = st.sampled_from(["/", "*", "/a", "/a/*", "https://e.org/", "ftp://e.org/", "", "a"])
    for _ in range(draw(st.integers(0, 3))):
        url = draw(urls | PATH)
        licences = draw(st.lists(rsl_licence(reserving), max_size=2))
        server = draw(st.sampled_from(["", ' server="https://l.e.org/"']))
        contents.append(f'<content url="{_xml_attr(url)}"{server}>{"".join(licences)}</content>')
    if reserving:
        licences = draw(st.lists(rsl_licence(reserving), max_size=2))
        at = draw(st.integers(0, len(contents)))
        contents.insert(at, f'<content url="/">{"".join(licences)}</content>')
    namespace = "https://rslstandard.org/rsl"
    if not reserving:
        namespace = draw(st.sampled_from([namespace, namespace + "/", ""]))
    age = draw(st.sampled_from(["", ' max-age="7"', ' max-age="-1"', ' max-age="' + "9" * 30 + '"']))
    doctype = "" if reserving else draw(DOCTYPE)
    entity = "" if reserving else draw(ENTITY_REF)
    text = f'{doctype}<rsl xmlns="{namespace}"{age}>{"".join(contents)}{entity}</rsl>'
    return text.encode()


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_attr(text: str) -> str:
    """*text* as a quoted XML attribute value (characters XML 1.0 forbids are dropped)."""
    text = _NOT_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def opf_documents(draw: st.DrawFn, reserve: bool = False) -> bytes:
    """An OPF package document with TDMRep metas in the EPUB 2 or EPUB 3 form."""
    metas = []
    form = draw(st.sampled_from(["epub2", "epub3", "undeclared"]))
    values = draw(st.lists(st.sampled_from(["1", "0", "2", ""]), max_size=2))
    if reserve:
        values.append("1")
        values = [v for v in values if v != "0"]
    for value in values:
        if form == "epub2":
            metas.append(f'<meta name="tdm:reservation" content="{value}"/>')
        else:
            metas.append(f'<meta property="tdm:reservation">{value}</meta>')
    prefix = ' prefix="tdm: http://www.w3.org/ns/tdmrep#"' if form == "epub3" else ""
    return (
        f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf"{prefix}>'
        f'<metadata>{"".join(metas)}</metadata></package>'
    ).encode()


CONTAINER_XML = (
    b'<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    b'<rootfiles><rootfile full-path="OEBPS/content.opf"/></rootfiles></container>'
)


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek: it then writes data descriptors (flag bit 3)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += bytes(b)
        return len(b)


@st.composite
def epub_files(draw: st.DrawFn, reserve: bool = False) -> bytes:
    """A zip with mimetype, container.xml and an OPF (stored, deflated, with data descriptors)."""
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    descriptors = draw(st.booleans())
    stream: Any = _Unseekable() if descriptors else io.BytesIO()
    entries = [("META-INF/container.xml", CONTAINER_XML), ("OEBPS/content.opf", draw(opf_documents(reserve)))]
    entries = draw(st.permutations(entries))
    extra = draw(st.lists(st.sampled_from([("a.html", b"<p>x</p>" * 50), ("b.css", b"")]), max_size=2, unique=True))
    with zipfile.ZipFile(stream, "w") as zf:
        zf.writestr("mimetype", b"application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for name, data in [*extra, *entries]:
            zf.writestr(name, data, compress_type=method)
    return bytes(stream.data) if descriptors else stream.getvalue()


# -- images and PDF ---------------------------------------------------------------------------------

XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", min(len(payload) + 2, 0xFFFF)) + payload


def _jumbf(instance: int, sequence: int, box: bytes) -> bytes:
    return b"JP" + struct.pack(">HI", instance, sequence) + box


C2PA_BOX = struct.pack(">I", 40) + b"jumb" + struct.pack(">I", 32) + b"jumd" + b"c2pa" + b"\x00" * 20


def jpeg(packet: bytes, extra: list[bytes]) -> bytes:
    """A JPEG: SOI, random APPn/COM segments, APP1 XMP, APP11 C2PA parts, SOS, data, EOI."""
    segments = [_segment(0xE0, b"JFIF\x00\x01\x01"), *(_segment(0xFE, e) for e in extra)]
    segments.append(_segment(0xE1, XMP_APP1 + packet))
    segments.append(_segment(0xEB, _jumbf(1, 1, C2PA_BOX)))
    segments.append(_segment(0xEB, _jumbf(1, 2, C2PA_BOX[:16] + b"more")))
    return b"\xff\xd8" + b"".join(segments) + b"\xff\xda\x00\x02" + b"\x00" * 64 + b"\xff\xd9"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(packet: bytes, extra: list[bytes], compressed: bool) -> bytes:
    """A PNG: IHDR, tEXt chunks, iTXt XMP (zlib when *compressed*), caBX, IDAT, IEND."""
    text = zlib.compress(packet) if compressed else packet
    itxt = b"XML:com.adobe.xmp\x00" + bytes([int(compressed), 0]) + b"\x00\x00" + text
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))]
    chunks += [_chunk(b"tEXt", b"k\x00" + e) for e in extra]
    chunks += [_chunk(b"iTXt", itxt), _chunk(b"caBX", C2PA_BOX), _chunk(b"IDAT", b"\x00" * 16)]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + _chunk(b"IEND", b"")


def _riff(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


def webp(packet: bytes, extra: list[bytes]) -> bytes:
    """A WebP: VP8X, VP8 data, XMP and C2PA chunks."""
    body = _riff(b"VP8X", b"\x00" * 10) + _riff(b"VP8 ", b"\x00" * 20)
    body += b"".join(_riff(b"EXIF", e) for e in extra) + _riff(b"XMP ", packet)
    body += _riff(b"C2PA", C2PA_BOX)
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


def tiff(packet: bytes, big_endian: bool) -> bytes:
    """A TIFF: IFD0 with an ImageWidth tag, tag 700 (XMP) and tag 0xCD41 (C2PA)."""
    order = ">" if big_endian else "<"
    head = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(order + "I", 8)
    entries = 3
    data_at = 8 + 2 + 12 * entries + 4
    ifd = struct.pack(order + "H", entries)
    ifd += struct.pack(order + "HHII", 256, 4, 1, 1)
    ifd += struct.pack(order + "HHII", 700, 1, len(packet), data_at)
    ifd += struct.pack(order + "HHII", 0xCD41, 7, len(C2PA_BOX), data_at + len(packet))
    return head + ifd + b"\x00\x00\x00\x00" + packet + C2PA_BOX


@st.composite
def images(draw: st.DrawFn, packet: bytes | None = None) -> tuple[str, bytes, bytes]:
    """(kind, file, the XMP packet it holds) for a JPEG, PNG, WebP or TIFF skeleton."""
    if packet is None:
        packet = draw(xmp_packets() | st.binary(max_size=64))
    extra = draw(st.lists(st.binary(max_size=40), max_size=3))
    kind = draw(st.sampled_from(["jpeg", "png", "webp", "tiff"]))
    if kind == "jpeg":
        data = jpeg(packet, extra)
    elif kind == "png":
        data = png(packet, extra, draw(st.booleans()))
    elif kind == "webp":
        data = webp(packet, extra)
    else:
        data = tiff(packet, draw(st.booleans()))
    return kind, data, packet


TDM_PACKET = (
    f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description xmlns:tdm="http://www.w3.org/ns/tdmrep/">'
    "<tdm:reservation>1</tdm:reservation></rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
).encode()
"""An XMP packet reserving TDM (the PDF section's namespace spelling)."""


@st.composite
def pdfs(draw: st.DrawFn, packet: bytes | None = None) -> bytes:
    """A PDF with a catalog, a page and an XMP metadata stream (maybe FlateDecode, wrong /Length)."""
    if packet is None:
        packet = draw(xmp_packets() | st.binary(max_size=64))
    flate = draw(st.booleans())
    data = zlib.compress(packet) if flate else packet
    length = draw(st.sampled_from(["exact", "indirect", "wrong", "missing"]))
    length_text = {
        "exact": f"/Length {len(data)}",
        "indirect": "/Length 9 0 R",
        "wrong": f"/Length {len(data) + 1000}",
        "missing": "",
    }[length]
    filters = draw(st.sampled_from(["/Filter /FlateDecode", "/Filter [/FlateDecode]", "/Filter /Fl"]))
    head = f"<< /Type /Metadata /Subtype /XML {length_text} {filters if flate else ''} >>"
    objects = [
        b"1 0 obj\n<< /Type /Catalog /Pages 3 0 R /Metadata 2 0 R >>\nendobj\n",
        b"2 0 obj\n" + head.encode() + b"\nstream\n" + data + b"\nendstream\nendobj\n",
        b"3 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n",
    ]
    objects = draw(st.permutations(objects))
    junk = draw(st.sampled_from([b"", b"\xe2\xe3\xcf\xd3\n", b"%%junk\n" * 3]))
    trailer = draw(st.sampled_from([b"trailer\n<< /Root 1 0 R >>\n%%EOF\n", b"", b"/Encrypt 5 0 R\n"]))
    return b"%PDF-1.7\n" + junk + b"".join(objects) + trailer


# -- C2PA assertions --------------------------------------------------------------------------------

C2PA_LABELS = st.sampled_from(
    ["cawg.training-mining", "c2pa.training-mining", "cawg.training-mining.v2",
     "c2pa.training-mining__1", "c2pa.actions", "cawg.training-miningX", ""]
)  # fmt: skip
C2PA_KEYS = st.sampled_from(
    ["cawg.ai_training", "c2pa.ai_training", "cawg.data_mining", "cawg.ai_inference",
     "cawg.ai_generative_training", "metadata", "custom.key", "ai_training"]
)  # fmt: skip
C2PA_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "use": st.sampled_from(["allowed", "notAllowed", "constrained", "maybe", ""]) | JSON,
        "constraint_info": JSON,
        "constraints_info": TEXT,
    },
) | JSON
C2PA_TABLE = st.dictionaries(C2PA_KEYS | JSON.filter(lambda v: isinstance(v, str)), C2PA_ENTRY, max_size=5)
C2PA_DATA = st.one_of(C2PA_TABLE, st.builds(lambda t: {"entries": t}, C2PA_TABLE), JSON)
C2PA_ASSERTIONS = st.lists(st.tuples(C2PA_LABELS | TEXT, C2PA_DATA), max_size=5)
