"""RSL licences applied to a URL: discovery, documents, the request flow (standards.md §6)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.documents import Document, State, document_from_fetch
from scrapy_optout._core.engine import check_request, check_response, evaluate_response
from scrapy_optout._core.licensing import (
    MAX_LICENCES,
    licence_links,
    licence_need,
    licence_reason,
    licence_urls,
    link_licences,
)
from scrapy_optout._core.models import Code, Decision, Doc, Fetched, Need, Reason, Signal
from scrapy_optout._core.policy import Licence, Policy
from scrapy_optout._core.rsl import RSL_MEDIA_TYPE, RSL_NS

SITE = "https://example.org"
PAGE = f"{SITE}/docs/page.html"
ROBOTS = f"{SITE}/robots.txt"
LICENCE = f"{SITE}/licence.xml"
CC = "https://creativecommons.org/licenses/by/4.0/"
RSL_TYPE = 'type="application/rsl+xml"'
UNLICENSED = "unlicensed, as RSL requires"
BOT = Policy(user_agent="MyAIBot")


def rsl(*licences: str, url: str = "/") -> bytes:
    """An RSL document with one <content url=...> holding *licences*."""
    inner = "".join(f"<license>{body}</license>" for body in licences)
    return f'<rsl xmlns="{RSL_NS}"><content url="{url}">{inner}</content></rsl>'.encode()


PROHIBITS = rsl('<prohibits type="usage">ai-train</prohibits>')
PERMITS_ALL = rsl('<permits type="usage">all</permits>')
PAID = rsl(
    '<permits type="usage">ai-all</permits>'
    '<payment type="use"><amount currency="USD">0.01</amount></payment>'
)
ELSEWHERE = rsl('<prohibits type="usage">ai-train</prohibits>', url="/other/")
WRONG_NS = PROHIBITS.replace(RSL_NS.encode(), RSL_NS.encode() + b"/")


def licence(url: str, status: int = 200, body: bytes = b"", error: str | None = None) -> Document:
    """The licence Document a shell makes of one fetch."""
    return document_from_fetch(Doc.LICENCE, Fetched(url=url, status=status, body=body, error=error))


def drive(
    url: str, policy: Policy, site: Mapping[str, tuple[int, bytes]]
) -> tuple[Decision, list[Need]]:
    """Run check_request by hand, answering each Need from *site* (URL -> (status, body))."""
    asked: list[Need] = []
    flow = check_request(url, policy)
    need = next(flow)
    while True:
        asked.append(need)
        status, body = site.get(need.url, (404, b""))
        document = document_from_fetch(need.doc, Fetched(url=need.url, status=status, body=body))
        try:
            need = flow.send(document)
        except StopIteration as stop:
            return stop.value, asked


def robots(text: str) -> tuple[int, bytes]:
    """A robots.txt answer."""
    return 200, text.encode()


# --- Link headers (RFC 8288; vector L8) ----------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected_rsl", "expected_other"),
    [
        pytest.param((f'<{CC}>; rel="license"',), [], [CC], id="L8-creative-commons"),
        pytest.param((f'<{LICENCE}>; rel="license"; {RSL_TYPE}',), [LICENCE], [], id="rsl"),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; {RSL_TYPE}, </cc.html>; rel=license',),
            [LICENCE],
            [f"{SITE}/cc.html"],
            id="two-links-in-one-value",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; {RSL_TYPE}', f"<{CC}>; rel=license"),
            [LICENCE],
            [CC],
            id="two-field-lines",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="license nofollow"; {RSL_TYPE}',), [LICENCE], [], id="rel-list"
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="nofollow license"; {RSL_TYPE}',), [LICENCE], [], id="rel-last"
        ),
        pytest.param(
            (f'<{LICENCE}>; REL="License"; TYPE="Application/RSL+XML"',),
            [LICENCE],
            [],
            id="case",
        ),
        pytest.param(
            (f"<{LICENCE}>;rel=license;type=application/rsl+xml",), [LICENCE], [], id="unquoted"
        ),
        pytest.param(
            (f'<{LICENCE}> ; rel = "license" ; type = "application/rsl+xml"',),
            [LICENCE],
            [],
            id="spaces",
        ),
        pytest.param(
            ('<../licence.xml>; rel="license"; ' + RSL_TYPE,), [LICENCE], [], id="relative"
        ),
        pytest.param(
            ('<licence.xml>; rel="license"; ' + RSL_TYPE,),
            [f"{SITE}/docs/licence.xml"],
            [],
            id="relative-to-page",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; type="application/rsl+xml; charset=utf-8"',),
            [LICENCE],
            [],
            id="type-with-parameters",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; type="text/html"',), [], [LICENCE], id="other-type"
        ),
        pytest.param(
            (f'<{LICENCE}>; title="Terms, in full; v2"; rel="license"; {RSL_TYPE}',),
            [LICENCE],
            [],
            id="quoted-comma-and-semicolon",
        ),
        pytest.param(
            (f'<{LICENCE}>; title="a \\"quoted\\" word"; rel="license"; {RSL_TYPE}',),
            [LICENCE],
            [],
            id="quoted-escapes",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; rel="nofollow"; {RSL_TYPE}',),
            [LICENCE],
            [],
            id="first-rel-counts",
        ),
        pytest.param(
            (f'<{LICENCE}>; rel="nofollow"; rel="license"; {RSL_TYPE}',), [], [], id="later-rel"
        ),
        pytest.param((f'<{LICENCE}>; rel="next"; {RSL_TYPE}',), [], [], id="other-rel"),
        pytest.param((f'<{LICENCE}>; rel="licensed"',), [], [], id="rel-not-a-token-match"),
        pytest.param(
            (f'<{LICENCE}>; rel="license"; {RSL_TYPE}',) * 2, [LICENCE], [], id="duplicates"
        ),
        pytest.param(("no link here",), [], [], id="junk"),
    ],
)
def test_link_licences(
    values: tuple[str, ...], expected_rsl: list[str], expected_other: list[str]
) -> None:
    """RSL licence links are told from other rel=license links, resolved against the page."""
    assert link_licences(values, PAGE) == (expected_rsl, expected_other)


def test_link_licences_are_capped() -> None:
    """At most MAX_LICENCES RSL links are kept, in order."""
    values = tuple(f'<{SITE}/l{i}.xml>; rel="license"; {RSL_TYPE}' for i in range(7))
    rsl_links, other = link_licences(values, PAGE)
    assert rsl_links == [f"{SITE}/l{i}.xml" for i in range(MAX_LICENCES)]
    assert other == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("<" * 50_000, id="open-brackets"),
        pytest.param("<a>;" + " " * 100_000 + ",", id="blank-params"),
        pytest.param('<a>; t="' + "a" * 100_000, id="open-quote"),
        pytest.param("<a>" + "; x" * 50_000, id="many-params"),
    ],
)
def test_hostile_link_values_are_parsed_in_linear_time(value: str) -> None:
    """Link values built to make a regular expression backtrack are read quickly."""
    started = time.perf_counter()
    assert link_licences((value,), PAGE) == ([], [])
    assert time.perf_counter() - started < 1


@given(st.lists(st.text(max_size=80), max_size=4))
def test_any_link_values_never_raise(values: list[str]) -> None:
    """Arbitrary field values give lists of absolute URLs, RSL ones capped."""
    rsl_links, other = link_licences(tuple(values), PAGE)
    assert len(rsl_links) <= MAX_LICENCES
    assert all(isinstance(u, str) for u in [*rsl_links, *other])
    assert len(set(rsl_links)) == len(rsl_links)


# --- License: values of robots.txt ---------------------------------------------------------


def test_licence_urls_are_resolved_against_robots() -> None:
    """Relative values are resolved against robots.txt; absolute ones kept; duplicates once."""
    values = ("/a.xml", " b.xml ", "https://licences.example.net/c.xml", "/a.xml")
    urls, errors = licence_urls(values, ROBOTS)
    assert urls == [f"{SITE}/a.xml", f"{SITE}/b.xml", "https://licences.example.net/c.xml"]
    assert errors == []


def test_licence_urls_are_capped_with_an_error() -> None:
    """More than MAX_LICENCES distinct licences: the first ones are checked, an error says so."""
    values = (*(f"/l{i}.xml" for i in range(7)), "/l0.xml")
    urls, errors = licence_urls(values, ROBOTS)
    assert urls == [f"{SITE}/l{i}.xml" for i in range(MAX_LICENCES)]
    assert errors == [f"rsl.too_many_licences: checked the first {MAX_LICENCES} of 7"]


def test_licence_need_is_cached_per_document() -> None:
    """A licence need is keyed by the document's own URL."""
    assert licence_need(LICENCE) == Need(Doc.LICENCE, LICENCE, LICENCE)


# --- what a licence document says (vectors L7, L11) ----------------------------------------


@pytest.mark.parametrize(
    ("document", "why"),
    [
        pytest.param(licence(LICENCE, 404), "HTTP 404", id="L7-absent"),
        pytest.param(licence(LICENCE, 410), "HTTP 410", id="gone"),
        pytest.param(licence(LICENCE, 503), "HTTP 503", id="unavailable"),
        pytest.param(licence(LICENCE, 0, error="timeout"), "timeout", id="timeout"),
        pytest.param(
            licence(LICENCE, 302, error="redirects"), "more than 5 redirects", id="redirects"
        ),
        pytest.param(
            licence(LICENCE, 200, PROHIBITS, error="too_large"),
            "HTTP 200, body cut at its size cap",
            id="too-large",
        ),
    ],
)
def test_licence_not_obtained_is_unlicensed(document: Document, why: str) -> None:
    """L7: a licence document that cannot be obtained leaves the URL unlicensed."""
    assert document.state in (State.ABSENT, State.UNAVAILABLE)
    reason, permission, errors = licence_reason(document, f"{SITE}/a", "train-ai")
    detail = f"licence document not obtained ({why}): {UNLICENSED}"
    assert reason == Reason(Code.RSL_LICENCE, Signal.RSL, LICENCE, detail, LICENCE)
    assert permission is None
    assert errors == []


def test_non_http_licence_url_is_unlicensed() -> None:
    """A licence URL that is not http(s) is unlicensed, whatever its body."""
    url = "ftp://example.org/licence.xml"
    reason, permission, _ = licence_reason(licence(url, 200, PERMITS_ALL), f"{SITE}/a", "train-ai")
    assert reason is not None
    assert (reason.code, reason.source, reason.policy_url) == (Code.RSL_LICENCE, url, url)
    assert reason.detail == f"licence URL {url} is not http(s): {UNLICENSED}"
    assert permission is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>Licence</body></html>", id="html"),
        pytest.param(WRONG_NS, id="L11-wrong-namespace"),
        pytest.param(b"", id="empty"),
    ],
)
def test_document_that_is_not_rsl_is_unlicensed(body: bytes) -> None:
    """A 200 body that is not a valid RSL document reserves: unlicensed, recorded."""
    reason, permission, errors = licence_reason(
        licence(LICENCE, 200, body), f"{SITE}/a", "train-ai"
    )
    assert reason is not None
    assert reason.code == Code.RSL_LICENCE
    assert reason.detail.startswith("no valid RSL document")
    assert permission is None
    assert "rsl.unlicensed" in errors


def test_prohibiting_document_is_a_reservation_with_evidence() -> None:
    """A valid document prohibiting ai-train is an rsl_licence reservation, body kept."""
    document = licence(LICENCE, 200, PROHIBITS)
    reason, permission, errors = licence_reason(document, f"{SITE}/a", "train-ai")
    assert document.evidence is not None
    assert reason == Reason(
        Code.RSL_LICENCE,
        Signal.RSL,
        LICENCE,
        'content "/" prohibits usage ai-train',
        LICENCE,
        document.evidence.digest,
    )
    assert (permission, errors) == (None, [])


def test_paid_licence_is_a_reservation() -> None:
    """L4: a paid licence (licence required) reserves until the operator holds one."""
    reason, permission, _ = licence_reason(licence(LICENCE, 200, PAID), f"{SITE}/a", "train-ai")
    assert reason is not None
    assert reason.code == Code.RSL_LICENCE
    assert permission is None


def test_free_permissive_document_is_a_permission() -> None:
    """L3: permits all, no payment: a permission text, no reservation."""
    result = licence_reason(licence(LICENCE, 200, PERMITS_ALL), f"{SITE}/a", "train-ai")
    assert result == (None, 'rsl_licence: content "/" allows train-ai: permits usage all, free', [])


def test_prohibition_of_another_use_permits_this_one() -> None:
    """L2: prohibiting ai-train says nothing against ai-input, which is free."""
    reason, permission, _ = licence_reason(
        licence(LICENCE, 200, PROHIBITS), f"{SITE}/a", "ai-input"
    )
    assert reason is None
    assert permission is not None
    assert permission.startswith("rsl_licence: ")


def test_document_not_covering_the_url_says_nothing() -> None:
    """A valid document whose content elements do not match the URL gives nothing."""
    assert licence_reason(licence(LICENCE, 200, ELSEWHERE), f"{SITE}/a", "train-ai") == (
        None,
        None,
        [],
    )


# --- through the request flow (check_request) ----------------------------------------------


GLOBAL = f"User-agent: *\nAllow: /\n\nLicense: {LICENCE}\n"


def test_global_licence_prohibiting_ai_train_skips() -> None:
    """robots.txt License prohibiting ai-train: skip with rsl_licence from the licence URL."""
    decision, asked = drive(f"{SITE}/a", BOT, {ROBOTS: robots(GLOBAL), LICENCE: (200, PROHIBITS)})
    assert decision.allowed is False
    assert decision.stage == "request"
    assert [(r.code, r.source) for r in decision.reasons] == [(Code.RSL_LICENCE, LICENCE)]
    assert decision.licensing == (LICENCE,)
    assert [n.url for n in asked] == [ROBOTS, LICENCE]  # decided: nothing more fetched


def test_l7_licence_404_skips_unlicensed() -> None:
    """L7 through the flow: the licence URL answers 404, the URL is skipped as unlicensed."""
    decision, _ = drive(f"{SITE}/a", BOT, {ROBOTS: robots(GLOBAL)})
    assert decision.allowed is False
    assert decision.reasons[0].code == Code.RSL_LICENCE
    assert UNLICENSED in decision.reasons[0].detail


def test_relative_licence_value_is_fetched_resolved() -> None:
    """A relative License: value is fetched at its URL resolved against robots.txt."""
    site = {ROBOTS: robots("License: /licence.xml\n"), LICENCE: (200, PROHIBITS)}
    decision, asked = drive(f"{SITE}/a", BOT, site)
    assert Need(Doc.LICENCE, LICENCE, LICENCE) in asked
    assert decision.reasons[0].source == LICENCE


GROUPED = (
    f"License: {SITE}/g.xml\n\nUser-agent: MyAIBot\nLicense: {SITE}/m.xml\nAllow: /\n\n"
    "User-agent: *\nAllow: /\n"
)


def test_l9_group_licence_replaces_the_global_one() -> None:
    """L9: our group's License (prohibits) replaces the global one (permits): skip."""
    site = {ROBOTS: robots(GROUPED), f"{SITE}/g.xml": (200, PERMITS_ALL)}
    site[f"{SITE}/m.xml"] = (200, PROHIBITS)
    decision, asked = drive(f"{SITE}/a", BOT, site)
    assert decision.allowed is False
    assert [(r.code, r.source) for r in decision.reasons] == [(Code.RSL_LICENCE, f"{SITE}/m.xml")]
    assert f"{SITE}/g.xml" not in [n.url for n in asked]


def test_group_licence_permitting_overrides_a_prohibiting_global_one() -> None:
    """The reverse of L9: the group's permissive licence decides; the global one is not read."""
    site = {ROBOTS: robots(GROUPED), f"{SITE}/g.xml": (200, PROHIBITS)}
    site[f"{SITE}/m.xml"] = (200, PERMITS_ALL)
    decision, asked = drive(f"{SITE}/a", BOT, site)
    assert decision.allowed is True
    assert decision.licensing == (f"{SITE}/m.xml",)
    assert f"{SITE}/g.xml" not in [n.url for n in asked]


def test_other_agents_take_the_global_licence() -> None:
    """A crawler without its own group reads the global License line."""
    site = {ROBOTS: robots(GROUPED), f"{SITE}/g.xml": (200, PROHIBITS)}
    decision, _ = drive(f"{SITE}/a", Policy(user_agent="OtherBot"), site)
    assert [(r.code, r.source) for r in decision.reasons] == [(Code.RSL_LICENCE, f"{SITE}/g.xml")]


def test_licence_register_lifts_the_rsl_reservation() -> None:
    """An operator licence covering the host lifts it: allowed, the licence reason first."""
    policy = Policy(
        user_agent="MyAIBot",
        licences=(Licence(licensor="X", scope="host", value="example.org"),),
    )
    decision, _ = drive(f"{SITE}/a", policy, {ROBOTS: robots(GLOBAL), LICENCE: (200, PROHIBITS)})
    assert decision.allowed is True
    assert [r.code for r in decision.reasons] == [Code.LICENCE, Code.RSL_LICENCE]
    assert decision.reasons[0].signal == "licence"
    assert "X" in decision.reasons[0].detail


def test_licence_register_for_another_host_does_not_lift() -> None:
    """A licence for another host leaves the reservation standing."""
    policy = Policy(
        user_agent="MyAIBot",
        licences=(Licence(licensor="X", scope="host", value="example.net"),),
    )
    decision, _ = drive(f"{SITE}/a", policy, {ROBOTS: robots(GLOBAL), LICENCE: (200, PROHIBITS)})
    assert decision.allowed is False
    assert decision.reasons[0].code == Code.RSL_LICENCE


def test_rsl_off_does_not_fetch_the_licence_but_keeps_the_lead() -> None:
    """With rsl not among the signals: no Need for the licence, yet it stays a lead."""
    policy = Policy(user_agent="MyAIBot", signals=frozenset({"robots", "tdmrep"}))
    decision, asked = drive(
        f"{SITE}/a", policy, {ROBOTS: robots(GLOBAL), LICENCE: (200, PROHIBITS)}
    )
    assert decision.allowed is True
    assert all(n.doc != Doc.LICENCE for n in asked)
    assert LICENCE in decision.licensing


def test_robots_disallow_comes_before_the_licence() -> None:
    """A disallowed URL is decided by robots.txt; its licence is never fetched."""
    site = {ROBOTS: robots(f"User-agent: *\nDisallow: /\n\nLicense: {LICENCE}\n")}
    decision, asked = drive(f"{SITE}/a", BOT, site)
    assert decision.reasons[0].code == Code.ROBOTS_DISALLOW
    assert [n.doc for n in asked] == [Doc.ROBOTS]


def test_permissive_licence_lets_the_flow_go_on() -> None:
    """A free permissive licence allows, and the remaining origin documents are still read."""
    decision, asked = drive(f"{SITE}/a", BOT, {ROBOTS: robots(GLOBAL), LICENCE: (200, PERMITS_ALL)})
    assert decision.allowed is True
    assert decision.permissions == (
        'rsl_licence: content "/" allows train-ai: permits usage all, free',
    )
    assert [n.doc for n in asked] == [Doc.ROBOTS, Doc.LICENCE, Doc.TDMREP, Doc.AI_TXT]


@pytest.mark.parametrize(
    ("head_links", "expected"),
    [
        ((("license", "/l.xml", "application/rsl+xml"),), ((f"{SITE}/l.xml",), ())),
        (
            (("license nofollow", "l.xml", "application/rsl+xml; v=1"),),
            ((f"{SITE}/docs/l.xml",), ()),
        ),
        ((("license", CC, ""),), ((), (CC,))),  # not RSL: a lead only (vector L8)
        ((("stylesheet", "/s.css", "text/css"),), ((), ())),
        ((("license", "  ", "application/rsl+xml"),), ((), ())),  # no href: nothing to fetch
    ],
)
def test_licence_links_from_html_link_tags(head_links, expected) -> None:
    """HTML <link> tags name RSL licences like the Link header; other licence links are leads."""
    assert licence_links((), head_links, PAGE) == expected


def test_licence_links_merge_header_and_head_once() -> None:
    """The same licence named by the header and the head is one URL, fetched once."""
    header = (f'<{LICENCE}>; rel="license"; {RSL_TYPE}',)
    head = (("license", "/licence.xml", "application/rsl+xml"),)
    assert licence_links(header, head, PAGE) == ((LICENCE,), ())


def _page_with_link() -> tuple[dict[str, str], bytes]:
    headers = {"Content-Type": "text/html", "Link": f'</licence.xml>; rel="license"; {RSL_TYPE}'}
    return headers, b"<html><head><title>t</title></head><body>x</body></html>"


def test_evaluate_response_fetches_nothing_so_a_named_licence_is_unlicensed() -> None:
    """evaluate_response cannot fetch the licence a Link names: the page is unlicensed."""
    headers, body = _page_with_link()
    decision = evaluate_response(PAGE, 200, headers, body, BOT)
    assert (decision.action, decision.reasons[0].code) == ("skip", Code.RSL_LICENCE)
    assert "not fetched" in decision.reasons[0].detail
    assert LICENCE in decision.licensing


def test_check_response_asks_for_the_licence_and_applies_it() -> None:
    """check_response yields the licence need, then decides on the document sent back."""
    headers, body = _page_with_link()
    pre = Decision(PAGE, True, "allow", "request")
    flow = check_response(PAGE, 200, headers, body, BOT, pre=pre)
    need = next(flow)
    assert need == licence_need(LICENCE)
    permits = rsl('<permits type="usage">all</permits>')
    with pytest.raises(StopIteration) as done:
        flow.send(document_from_fetch(Doc.LICENCE, Fetched(url=LICENCE, status=200, body=permits)))
    decision = done.value.value
    assert (decision.action, decision.stage, decision.reasons) == ("allow", "response", ())
    assert LICENCE in decision.licensing


def test_licence_values_that_are_no_url_stay_unlicensed_and_never_raise():
    """Fuzz (fuzz/targets.py licence_links): ``http://[`` in License/Link/<link> is kept, unlicensed."""
    assert licence_urls(("http://[::1",), ROBOTS) == (["http://[::1"], [])
    assert link_licences(('<http://[>; rel="license"',), PAGE) == ([], ["http://["])
    rsl = f'<http://[>; rel="license"; type="{RSL_MEDIA_TYPE}"'
    assert licence_links((rsl,), (("license", "http://[x", RSL_MEDIA_TYPE),), PAGE) == (
        ("http://[", "http://[x"),
        (),
    )
    doc = Document(Doc.LICENCE, "http://[", State.UNAVAILABLE, detail="network")
    reservation, permission, _ = licence_reason(doc, PAGE, "train-ai")
    assert permission is None
    assert reservation is not None
    assert reservation.code == Code.RSL_LICENCE
    robots = b"User-agent: *\nAllow: /\nLicense: http://[::1\n"
    flow = check_request(PAGE, Policy(user_agent="MyAIBot"))
    need = next(flow)
    decision = None
    try:
        while True:
            if need.doc == Doc.ROBOTS:
                fetched = Fetched(url=need.url, status=200, body=robots)
            else:
                fetched = Fetched(url=need.url, status=0, error="network")
            need = flow.send(document_from_fetch(need.doc, fetched))
    except StopIteration as stop:
        decision = stop.value
    assert decision is not None
    assert not decision.allowed
    assert decision.reasons[0].code == Code.RSL_LICENCE
