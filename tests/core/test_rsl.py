"""rsl.py: RSL documents and their per-URL, per-purpose outcome (standards.md §6, vectors §6.5)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.rsl import (
    DEFAULT_MAX_AGE_DAYS,
    MAX_BODY_BYTES,
    MAX_CONTENTS,
    MAX_ERRORS,
    MAX_LICENCES,
    RSL_MEDIA_TYPE,
    RSL_NS,
    RslContent,
    RslDocument,
    RslLicence,
    RslOutcome,
    parse_rsl,
    rsl_outcome,
)

SITE = "https://e.com"
URL = f"{SITE}/a"
VERDICTS = {"allow", "reserved", "licence_required", "unknown"}


def rsl(*contents: str, attrs: str = "") -> bytes:
    """An RSL document in the default namespace."""
    return f'<rsl xmlns="{RSL_NS}"{attrs}>{"".join(contents)}</rsl>'.encode()


def content(url: str, *licences: str, attrs: str = "") -> str:
    """A ``<content>`` element with its licences."""
    return f'<content url="{url}"{attrs}>{"".join(licences)}</content>'


def lic(*parts: str) -> str:
    """A ``<license>`` element."""
    return f"<license>{''.join(parts)}</license>"


def permits(kind: str, tokens: str) -> str:
    """A ``<permits>`` element."""
    return f'<permits type="{kind}">{tokens}</permits>'


def prohibits(kind: str, tokens: str) -> str:
    """A ``<prohibits>`` element."""
    return f'<prohibits type="{kind}">{tokens}</prohibits>'


def site(*parts: str, attrs: str = "") -> bytes:
    """A document with one ``<content url="/">`` holding one licence made of *parts*."""
    return rsl(content("/", lic(*parts), attrs=attrs))


def outcome(body: bytes, url: str = URL, purpose: str = "train-ai") -> RslOutcome:
    """Parse *body* and ask about *url* for *purpose*."""
    return rsl_outcome(parse_rsl(body), url, purpose)


def check(doc: RslDocument) -> None:
    """The invariants every parsed document keeps, whatever the input."""
    assert isinstance(doc, RslDocument)
    assert doc.max_age_days > 0
    assert len(doc.contents) <= MAX_CONTENTS
    assert len(doc.errors) <= MAX_ERRORS + 1
    assert all(e.startswith("rsl.") for e in doc.errors)
    assert doc.valid == bool(doc.contents)
    hash(doc)


# §6.5 vectors that belong to the document side (L7, L8: fetch side; L9: robots.txt side).
PAID = '<payment type="use"><amount currency="USD">0.01</amount></payment>'
PREMIUM = rsl(
    content("/", lic(permits("usage", "all"))),
    content("/premium/*", lic(prohibits("usage", "ai-train"))),
)
VECTORS = [
    ("L1", site(permits("usage", "search")), URL, "train-ai", "reserved"),
    ("L1-search", site(permits("usage", "search")), URL, "search", "allow"),
    ("L2", site(prohibits("usage", "ai-train")), URL, "train-ai", "reserved"),
    ("L2-ai-input", site(prohibits("usage", "ai-train")), URL, "ai-input", "allow"),
    ("L3", site(permits("usage", "all")), URL, "train-ai", "allow"),
    ("L4", site(permits("usage", "ai-all"), PAID), URL, "train-ai", "licence_required"),
    (
        "L5",
        site('<payment type="free"/>', attrs=' server="https://api.e.com"'),
        URL,
        "train-ai",
        "licence_required",
    ),
    # L6 expects RESERVED for a geo mismatch; we hold no operator geo, hence licence_required.
    (
        "L6",
        site(permits("usage", "ai-train"), permits("geo", "US")),
        URL,
        "train-ai",
        "licence_required",
    ),
    ("L10-premium", PREMIUM, f"{SITE}/premium/x", "train-ai", "reserved"),
    ("L10-free", PREMIUM, f"{SITE}/free/x", "train-ai", "allow"),
    (
        "L11",
        f'<rsl xmlns="{RSL_NS}/">{content("/", lic())}</rsl>'.encode(),
        URL,
        "train-ai",
        "licence_required",
    ),
]


@pytest.mark.parametrize(
    ("body", "url", "purpose", "verdict"), [pytest.param(*v[1:], id=v[0]) for v in VECTORS]
)
def test_vectors(body: bytes, url: str, purpose: str, verdict: str) -> None:
    """Each §6.5 vector gives its expected verdict."""
    assert outcome(body, url, purpose).verdict == verdict


def test_l11_wrong_namespace_is_invalid() -> None:
    """L11: a namespace with a trailing slash is not RSL; the asset is unlicensed."""
    doc = parse_rsl(f'<rsl xmlns="{RSL_NS}/">{content("/", lic())}</rsl>'.encode())
    assert not doc.valid
    assert doc.errors[0].startswith("rsl.not_rsl")
    assert rsl_outcome(doc, URL, "train-ai").errors == ("rsl.unlicensed",)


def test_l5_reports_the_server() -> None:
    """L5: the licence server is returned and named in the detail."""
    result = outcome(site('<payment type="free"/>', attrs=' server="https://api.e.com"'))
    assert result.server == "https://api.e.com"
    assert result.detail == 'content "/" requires a licence: licence server https://api.e.com'


@pytest.mark.parametrize(
    ("part", "purpose", "verdict"),
    [
        (prohibits("usage", "ai-train"), "train-ai", "reserved"),
        (prohibits("usage", "ai-train"), "ai-input", "allow"),
        (prohibits("usage", "ai-train"), "search", "allow"),
        (prohibits("usage", "ai-train"), "tdm", "allow"),
        (prohibits("usage", "ai-all"), "train-ai", "reserved"),
        (prohibits("usage", "ai-all"), "ai-input", "reserved"),
        (prohibits("usage", "ai-all"), "search", "allow"),
        (prohibits("usage", "ai-all"), "tdm", "allow"),
        (prohibits("usage", "all"), "train-ai", "reserved"),
        (prohibits("usage", "all"), "ai-input", "reserved"),
        (prohibits("usage", "all"), "search", "reserved"),
        (prohibits("usage", "all"), "tdm", "reserved"),
        (prohibits("usage", "ai-input"), "ai-input", "reserved"),
        (prohibits("usage", "ai-index"), "ai-input", "reserved"),
        (prohibits("usage", "ai-index"), "train-ai", "allow"),
        (prohibits("usage", "search"), "search", "reserved"),
        (prohibits("usage", "search"), "train-ai", "allow"),
        (permits("usage", "ai-train"), "train-ai", "allow"),
        (permits("usage", "ai-train"), "ai-input", "reserved"),
        (permits("usage", "ai-train"), "search", "reserved"),
        (permits("usage", "ai-train"), "tdm", "reserved"),
        (permits("usage", "ai-all"), "ai-input", "allow"),
        (permits("usage", "ai-all"), "tdm", "reserved"),
        (permits("usage", "ai-index"), "ai-input", "allow"),
        (permits("usage", "all"), "tdm", "allow"),
        (permits("usage", "search ai-input"), "search", "allow"),
        (permits("usage", "search ai-input"), "train-ai", "reserved"),
        (permits("usage", ""), "search", "reserved"),
        (permits("usage", "AI-Train"), "train-ai", "allow"),
        (prohibits("usage", " AI-TRAIN\n"), "train-ai", "reserved"),
        ("", "train-ai", "allow"),
        ("", "tdm", "allow"),
    ],
)
def test_usage_tokens_cover_purposes(part: str, purpose: str, verdict: str) -> None:
    """Usage tokens map onto the internal purposes of standards.md §0.1; permits is closed."""
    assert outcome(site(part), purpose=purpose).verdict == verdict


def test_prohibits_beats_permits() -> None:
    """A token both permitted and prohibited is prohibited (§6.3)."""
    body = site(permits("usage", "ai-train"), prohibits("usage", "ai-train"))
    assert outcome(body).verdict == "reserved"


@pytest.mark.parametrize(
    "payment",
    ["purchase", "subscription", "training", "crawl", "use", "contribution", "attribution"],
)
def test_every_paid_type_requires_a_licence(payment: str) -> None:
    """Any payment type but free needs a licence (§6.4 step 5, L4)."""
    assert outcome(site(f'<payment type="{payment}"/>')).verdict == "licence_required"


@pytest.mark.parametrize(
    ("parts", "verdict"),
    [
        (('<payment type="free"/>',), "allow"),
        (('<payment type="FREE"/>',), "allow"),
        (('<payment type="free"/>', '<payment type="free"/>'), "allow"),
        (('<payment type="free"/>', '<payment type="crawl"/>'), "licence_required"),
        (('<payment type="inference"/>',), "licence_required"),
        (("<payment/>",), "licence_required"),
        (('<reporting type="telemetry" profile="https://e.com/p"/>',), "licence_required"),
        ((permits("user", "commercial"),), "licence_required"),
        ((prohibits("user", "commercial"),), "licence_required"),
        ((prohibits("geo", "cn"),), "licence_required"),
        (('<permits type="colour">red</permits>',), "licence_required"),
        (("<prohibits>ai-train</prohibits>",), "licence_required"),
    ],
)
def test_conditions_we_cannot_meet(parts: tuple[str, ...], verdict: str) -> None:
    """Payments, reporting, user/geo and unknown conditions need a licence; free alone allows."""
    assert outcome(site(*parts)).verdict == verdict


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (site(prohibits("usage", "ai-train")), 'content "/" prohibits usage ai-train'),
        (
            site('<payment type="crawl"><amount currency="USD">0.015</amount></payment>'),
            'content "/" requires a licence: payment crawl (0.015 USD)',
        ),
        (site(permits("usage", "search")), 'content "/" permits only usage search'),
        (
            site(permits("usage", "all ai-train")),
            'content "/" allows train-ai: permits usage ai-train all, free',
        ),
        (site(), 'content "/" allows train-ai: free'),
        (site(permits("geo", "us eu")), 'content "/" requires a licence: permits geo EU US'),
        (
            site(permits("user", "education"), '<reporting type="audit"/>'),
            'content "/" requires a licence: permits user education, reporting audit',
        ),
        (rsl(content("/")), 'content "/" offers no licence (unlicensed)'),
        (b"", "no valid RSL document (rsl.not_xml: empty body)"),
    ],
)
def test_detail_words(body: bytes, detail: str) -> None:
    """The detail says which content decided and why, in words."""
    assert outcome(body).detail == detail


@pytest.mark.parametrize(
    ("licences", "verdict", "detail"),
    [
        (
            (lic(prohibits("usage", "ai-train")), lic('<payment type="free"/>')),
            "allow",
            'content "/" allows train-ai: licence 2: free',
        ),
        (
            (lic(prohibits("usage", "all")), lic('<payment type="crawl"/>')),
            "licence_required",
            'content "/" requires a licence: licence 2: payment crawl',
        ),
        (
            (lic(prohibits("usage", "all")), lic(permits("usage", "search"))),
            "reserved",
            'content "/" licence 1: prohibits usage all; licence 2: permits only usage search',
        ),
        (
            (lic('<payment type="use"/>'), lic('<payment type="free"/>'), lic()),
            "allow",
            'content "/" allows train-ai: licence 2: free; licence 3: free',
        ),
    ],
)
def test_licences_are_alternatives(licences: tuple[str, ...], verdict: str, detail: str) -> None:
    """Several licences: allow if any allows, else a licence if any offers one, else reserved."""
    result = outcome(rsl(content("/", *licences)))
    assert result.verdict == verdict
    assert result.detail == detail


def test_content_without_licence_is_unlicensed() -> None:
    """A content with no ``<license>`` needs a licence and records an error."""
    doc = parse_rsl(rsl(content("/")))
    assert "rsl.no_license: content 0" in doc.errors
    assert rsl_outcome(doc, URL, "train-ai").verdict == "licence_required"


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("/", f"{SITE}/", True),
        ("/", SITE, True),
        ("/a", f"{SITE}/abc", True),
        ("/b", f"{SITE}/abc", False),
        ("/a$", f"{SITE}/a", True),
        ("/a$", f"{SITE}/ab", False),
        ("/*.pdf$", f"{SITE}/x/y.pdf", True),
        ("/*.pdf$", f"{SITE}/x/y.pdf?z", False),
        ("*/private/", f"{SITE}/x/private/y", True),
        ("/caf%C3%A9", f"{SITE}/café", True),
        ("/q?x=1", f"{SITE}/q?x=1&y", True),
        (f"{SITE}/a", f"{SITE}/a/b", True),
        (f"{SITE}", f"{SITE}/anything", True),
        (f"{SITE}:443/a", f"{SITE}/a", True),
        ("https://E.COM/a", f"{SITE}/a", True),
        (f"{SITE}/premium/*", f"{SITE}/premium/x", True),
        (f"{SITE}/a", "http://e.com/a", False),
        (f"{SITE}/a", "https://e.com:8443/a", False),
        (f"{SITE}/a", "https://other.com/a", False),
        ("ftp://e.com/a", "ftp://e.com/a", False),
        ("a", f"{SITE}/a", False),
    ],
)
def test_content_url_matching(pattern: str, url: str, matches: bool) -> None:
    """``<content url>`` follows RFC 9309 matching; a full URL must match the origin too."""
    verdict = outcome(rsl(content(pattern, lic(prohibits("usage", "all")))), url).verdict
    assert (verdict == "reserved") is matches


def test_no_matching_content_is_unknown() -> None:
    """A URL no content covers gets ``unknown``: the document says nothing about it."""
    result = outcome(rsl(content("/b", lic())), f"{SITE}/a")
    assert result == RslOutcome("unknown", "no <content> matches", None, ())


def test_longest_match_wins_regardless_of_order() -> None:
    """L10 with the specific content first: the longest pattern still decides."""
    body = rsl(
        content("/premium/*", lic(prohibits("usage", "ai-train"))),
        content("/", lic(permits("usage", "all"))),
    )
    assert outcome(body, f"{SITE}/premium/x").verdict == "reserved"


def test_tie_takes_the_most_restrictive() -> None:
    """Equally long matching patterns: the most restrictive content applies, and it is logged."""
    body = rsl(content("/a", lic()), content("/a", lic(prohibits("usage", "ai-train"))))
    result = outcome(body)
    assert result.verdict == "reserved"
    assert result.errors[0].startswith("rsl.tie: 2 contents")


def test_unknown_purpose() -> None:
    """A purpose outside the internal vocabulary is ``unknown`` with an error."""
    result = outcome(site(), purpose="painting")
    assert result.verdict == "unknown"
    assert result.errors == ("rsl.unknown_purpose: 'painting'",)


def test_parsed_model() -> None:
    """Every part of the §6.3 example lands in the model."""
    body = f"""<rsl xmlns="{RSL_NS}" max-age="7">
      <content url="/" server="https://api.example.com" lastmod="2026-01-01T00:00:00Z">
        <license>
          <permits type="usage">search ai-input</permits>
          <prohibits type="usage">ai-train</prohibits>
          <permits type="user">non-commercial education</permits>
          <permits type="geo">us eu</permits>
          <payment type="crawl"><amount currency="USD">0.015</amount>
            <standard>https://example.com/licenses/pay-per-crawl</standard></payment>
          <reporting type="telemetry" profile="https://example.com/p"/>
          <legal type="warranty">ownership authority</legal>
        </license>
        <copyright type="organization" contactEmail="legal@example.com"/>
        <terms>https://example.com/terms</terms>
      </content>
    </rsl>""".encode()
    doc = parse_rsl(body)
    licence = RslLicence(
        permits={
            "usage": frozenset({"search", "ai-input"}),
            "user": frozenset({"non-commercial", "education"}),
            "geo": frozenset({"US", "EU"}),
        },
        prohibits={"usage": frozenset({"ai-train"})},
        payments=("crawl",),
        amounts=("0.015 USD",),
        standards=("https://example.com/licenses/pay-per-crawl",),
        reporting=("telemetry",),
    )
    expected = RslContent("/", "https://api.example.com", (licence,), "https://example.com/terms")
    assert doc == RslDocument(True, (expected,), 7, ())
    assert doc.max_age_seconds == 7 * 86_400


def test_licence_is_hashable_and_read_only() -> None:
    """Licences compare by value, hash, and their mappings cannot be changed."""
    one = RslLicence(permits={"usage": {"all"}})  # type: ignore[dict-item]
    two = RslLicence(permits={"usage": frozenset({"all"})})
    assert one == two
    assert hash(one) == hash(two)
    assert one != RslLicence(prohibits={"usage": frozenset({"all"})})
    with pytest.raises(TypeError):
        one.permits["usage"] = frozenset()  # type: ignore[index]


def test_constants() -> None:
    """The namespace, media type and default lifetime of §6.3."""
    assert (RSL_NS, RSL_MEDIA_TYPE, DEFAULT_MAX_AGE_DAYS) == (
        "https://rslstandard.org/rsl",
        "application/rsl+xml",
        30,
    )


def test_prefixed_root_and_foreign_elements() -> None:
    """``rsl:rsl`` in the RSL namespace is accepted; foreign elements are ignored silently."""
    body = (
        f'<rsl:rsl xmlns:rsl="{RSL_NS}" xmlns:x="urn:x"><x:note/>'
        '<rsl:content url="/"><rsl:license><x:extra>ai-train</x:extra>'
        '<rsl:prohibits type="usage">ai-train</rsl:prohibits></rsl:license></rsl:content></rsl:rsl>'
    ).encode()
    doc = parse_rsl(body)
    assert doc.errors == ()
    assert rsl_outcome(doc, URL, "train-ai").verdict == "reserved"


def test_unknown_rsl_element_is_recorded_but_read_on() -> None:
    """An unknown element in the RSL namespace is non-conformant; the rest still counts."""
    doc = parse_rsl(site("<bogus/>", prohibits("usage", "ai-train")))
    assert doc.errors == ("rsl.unknown_element: 'bogus'",)
    assert rsl_outcome(doc, URL, "train-ai").verdict == "reserved"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (site(permits("usage", "train-ai")), "rsl.unknown_usage: content 0 licence 0: 'train-ai'"),
        (
            site(permits("usage", "all"), permits("usage", "search")),
            "rsl.duplicate: content 0 licence 0: <permits type='usage'>",
        ),
        (
            site('<payment type="inference"/>'),
            "rsl.unknown_payment: content 0 licence 0: 'inference'",
        ),
        (
            site('<permits type="colour">red</permits>'),
            "rsl.unknown_type: content 0 licence 0: <permits type='colour'>",
        ),
        (
            rsl(content("a", lic())),
            "rsl.invalid_url: content 0: 'a' is neither a full URL nor a path starting with / or *",
        ),
        (
            rsl(content("ftp://e.com/", lic())),
            "rsl.invalid_url: content 0: 'ftp://e.com/' is not an http(s) URL with a host",
        ),
    ],
)
def test_recorded_problems(body: bytes, error: str) -> None:
    """Non-conformant parts are recorded with where they are."""
    assert error in parse_rsl(body).errors


def test_duplicate_types_combine_restrictively() -> None:
    """Two permits of one type intersect; two prohibits unite (the most restrictive reading)."""
    body = site(
        permits("usage", "all ai-train"),
        permits("usage", "all search"),
        prohibits("usage", "search"),
        prohibits("usage", "ai-input"),
    )
    licence = parse_rsl(body).contents[0].licences[0]
    assert licence.permits == {"usage": frozenset({"all"})}
    assert licence.prohibits == {"usage": frozenset({"search", "ai-input"})}


@pytest.mark.parametrize(
    ("attrs", "days", "errors"),
    [
        ("", 30, ()),
        (' max-age="7"', 7, ()),
        (' max-age=" 365 "', 365, ()),
        (' max-age="abc"', 30, ("rsl.invalid_max_age: 'abc', using 30 days",)),
        (' max-age="-3"', 30, ("rsl.invalid_max_age: '-3', using 30 days",)),
        (' max-age="0"', 30, ("rsl.invalid_max_age: '0', using 30 days",)),
        (' max-age=""', 30, ("rsl.invalid_max_age: '', using 30 days",)),
        (' max-age="1.5"', 30, ("rsl.invalid_max_age: '1.5', using 30 days",)),
        (' max-age="+7"', 30, ("rsl.invalid_max_age: '+7', using 30 days",)),
        (' max-age="٣"', 30, ("rsl.invalid_max_age: '٣', using 30 days",)),
        (' max-age="9999999999"', 30, ("rsl.invalid_max_age: '9999999999', using 30 days",)),
    ],
)
def test_max_age(attrs: str, days: int, errors: tuple[str, ...]) -> None:
    """``max-age`` is a positive integer of days; anything else falls back to 30 with an error."""
    doc = parse_rsl(rsl(content("/", lic()), attrs=attrs))
    assert (doc.max_age_days, doc.errors) == (days, errors)
    assert doc.max_age_seconds == days * 86_400.0


def test_missing_url_is_skipped() -> None:
    """A content without url is skipped with an error; the others are kept."""
    body = rsl("<content><license/></content>", '<content url=" "/>', content("/", lic()))
    doc = parse_rsl(body)
    assert [c.url for c in doc.contents] == ["/"]
    assert doc.errors[:2] == ("rsl.missing_url: content 0", "rsl.missing_url: content 1")


def test_only_url_less_contents_is_invalid() -> None:
    """No usable ``<content>`` at all: not a valid document."""
    doc = parse_rsl(rsl("<content><license/></content>"))
    check(doc)
    assert doc.errors[-1] == "rsl.no_content: no <content> with a url"


def test_too_many_contents_are_bounded() -> None:
    """2,000 contents: the first 1,000 are kept, with an error."""
    doc = parse_rsl(rsl(*(content(f"/p{i}/", lic()) for i in range(2_000))))
    check(doc)
    assert len(doc.contents) == MAX_CONTENTS
    assert doc.contents[-1].url == f"/p{MAX_CONTENTS - 1}/"
    assert doc.errors == (f"rsl.too_many_contents: kept {MAX_CONTENTS} of 2000",)


def test_too_many_licences_are_bounded() -> None:
    """150 licences in one content: the first 100 are kept, with an error."""
    doc = parse_rsl(rsl(content("/", *([lic()] * 150))))
    assert len(doc.contents[0].licences) == MAX_LICENCES
    assert doc.errors == (f"rsl.too_many_licences: content 0: kept {MAX_LICENCES}",)


def test_errors_are_capped() -> None:
    """Thousands of problems keep at most ``MAX_ERRORS`` plus one marker."""
    doc = parse_rsl(rsl(*(["<content/>"] * 500), content("/", lic())))
    check(doc)
    assert doc.errors[-1] == "rsl.too_many_errors"


BOMB_LEVELS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 12)).replace(
    "&lol0;", "lol"
)
BOMB = (
    f'<?xml version="1.0"?><!DOCTYPE rsl [{BOMB_LEVELS}]>'
    f'<rsl xmlns="{RSL_NS}"><content url="/"><license>'
    '<prohibits type="usage">&lol11; ai-train</prohibits></license></content></rsl>'
).encode()
SMALL_BOMB = BOMB.replace(b"&lol11;", b"&lol2;")
XXE = (
    '<?xml version="1.0"?><!DOCTYPE rsl [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    f'<rsl xmlns="{RSL_NS}"><content url="/"><terms>&x;</terms><license>'
    '<permits type="usage">&x; all</permits></license></content></rsl>'
).encode()
REMOTE_DTD = (
    '<?xml version="1.0"?><!DOCTYPE rsl SYSTEM "http://127.0.0.1:9/rsl.dtd">'
    f'<rsl xmlns="{RSL_NS}"><content url="/"><license/></content></rsl>'
).encode()
MALFORMED = [
    ("empty", b"", "rsl.not_xml"),
    ("blank", b" \r\n\t", "rsl.not_xml"),
    ("not-xml", b"User-agent: *\nDisallow: /\n", "rsl.not_xml"),
    ("html", b"<html><body>404</body></html>", "rsl.not_rsl"),
    ("truncated", rsl(content("/", lic()))[:-5], "rsl.not_xml"),
    ("non-utf8", b'<rsl xmlns="' + RSL_NS.encode() + b'">\xff\xfe\x80</rsl>', "rsl.not_xml"),
    ("no-namespace", b'<rsl><content url="/"><license/></content></rsl>', "rsl.not_rsl"),
    ("other-root", f'<feed xmlns="{RSL_NS}"/>'.encode(), "rsl.not_rsl"),
    ("no-content", rsl(), "rsl.no_content"),
    ("too-large", b" " * (3 * 1024 * 1024), "rsl.too_large"),
    ("just-too-large", rsl(" " * MAX_BODY_BYTES), "rsl.too_large"),
    ("bomb", BOMB, "rsl.not_xml"),
    (
        "wrong-types",
        b'<rsl xmlns="' + RSL_NS.encode() + b'" max-age="abc"><content/></rsl>',
        "rsl.",
    ),
]


@pytest.mark.parametrize(("body", "error"), [pytest.param(*m[1:], id=m[0]) for m in MALFORMED])
def test_malformed_bodies_are_invalid(body: bytes, error: str) -> None:
    """Every malformed body gives an invalid document with an error, never an exception."""
    doc = parse_rsl(body)
    check(doc)
    assert not doc.valid
    assert doc.errors[0].startswith(error)
    assert rsl_outcome(doc, URL, "train-ai").verdict == "licence_required"


def test_bomb_is_not_expanded_and_is_fast() -> None:
    """Billion laughs: refused or left unexpanded, quickly (entities are never resolved)."""
    start = time.monotonic()
    check(parse_rsl(BOMB))
    small = parse_rsl(SMALL_BOMB)
    assert time.monotonic() - start < 5
    assert small.contents[0].licences[0].prohibits == {"usage": frozenset({"ai-train"})}
    assert small.errors == ("rsl.doctype_ignored: '<!DOCTYPE rsl>'",)


def test_external_entity_is_never_read() -> None:
    """An external entity is neither fetched nor read from disk."""
    doc = parse_rsl(XXE)
    check(doc)
    assert doc.contents[0].terms is None
    assert doc.contents[0].licences[0].permits == {"usage": frozenset({"all"})}
    assert doc.errors == ("rsl.doctype_ignored: '<!DOCTYPE rsl>'",)


def test_external_dtd_is_never_fetched() -> None:
    """A DOCTYPE pointing to a remote DTD is parsed without fetching it."""
    start = time.monotonic()
    doc = parse_rsl(REMOTE_DTD)
    assert time.monotonic() - start < 5
    assert doc.errors[0].startswith("rsl.doctype_ignored: '<!DOCTYPE rsl SYSTEM")


def test_declared_encoding_is_honoured() -> None:
    """A document declaring ISO-8859-1 decodes as such."""
    body = (
        f'<?xml version="1.0" encoding="ISO-8859-1"?><rsl xmlns="{RSL_NS}">'
        '<content url="/caf\xe9"><license/></content></rsl>'
    ).encode("latin-1")
    assert parse_rsl(body).contents[0].url == "/café"


def test_comments_are_ignored() -> None:
    """Comments inside token lists do not change the tokens."""
    body = site('<prohibits type="usage">ai-train<!-- all --> search</prohibits>')
    licence = parse_rsl(body).contents[0].licences[0]
    assert licence.prohibits == {"usage": frozenset({"ai-train", "search"})}


@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise(body: bytes) -> None:
    """Any bytes give a document and an outcome, never an exception."""
    doc = parse_rsl(body)
    check(doc)
    assert rsl_outcome(doc, URL, "train-ai").verdict in VERDICTS


TOKENS = st.sampled_from(["all", "ai-all", "ai-train", "ai-input", "ai-index", "search", "x"])
PARTS = st.one_of(
    st.builds(permits, st.sampled_from(["usage", "user", "geo"]), TOKENS),
    st.builds(prohibits, st.sampled_from(["usage", "user", "geo"]), TOKENS),
    st.sampled_from(['<payment type="free"/>', '<payment type="crawl"/>', '<reporting type="a"/>']),
)


@given(
    st.lists(st.lists(PARTS, max_size=4), min_size=1, max_size=3),
    st.sampled_from(["train-ai", "ai-input", "search", "tdm"]),
)
def test_generated_documents_give_a_verdict(licences: list[list[str]], purpose: str) -> None:
    """Random well-formed licences always yield one of the four verdicts, with a detail."""
    body = rsl(content("/", *(lic(*parts) for parts in licences)))
    result = outcome(body, purpose=purpose)
    assert result.verdict in VERDICTS
    assert result.detail.startswith('content "/"')
