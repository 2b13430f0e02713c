"""The response stage: headers and the HTML head (standards.md Appendix A, §1.9, §3.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout import Policy
from scrapy_optout._core import response
from scrapy_optout._core.models import ALL_CODES
from scrapy_optout._core.response import evaluate_response

from .html_strategies import html_heads
from .site import run

URL = "https://example.org/x"


@pytest.fixture
def policy(make_policy):
    return make_policy()


def test_nothing_said_is_allowed_without_reasons(policy):
    """A response with no signal headers and a plain head is allowed, stage response."""
    decision = evaluate_response(URL, 200, {"Server": "x"}, b"<html><head></head>", policy)
    assert (decision.allowed, decision.action, decision.stage) == (True, "allow", "response")
    assert decision.reasons == ()


def test_signals_count_whatever_the_status(policy):
    """Headers of a 404 or 500 response still carry signals."""
    for status in (404, 500):
        assert not evaluate_response(URL, status, {"X-Robots-Tag": "noai"}, b"", policy).allowed


def test_disabled_signal_is_not_read(make_policy):
    """A signal left out of Policy.signals is ignored."""
    policy = make_policy(signals={"robots", "tdmrep"})
    assert evaluate_response(URL, 200, {"X-Robots-Tag": "noai"}, b"", policy).allowed
    assert not evaluate_response(URL, 200, {"tdm-reservation": "1"}, b"", policy).allowed


def test_head_scan_is_bounded_by_policy(make_policy):
    """Meta tags beyond head_scan_bytes are not seen (DESIGN §5.2)."""
    policy = make_policy(head_scan_bytes=65_536)
    late = b"<html><head>" + b"<!-- pad -->" * 7000 + b'<meta name="robots" content="noai">'
    assert len(late) > 65_536
    assert evaluate_response(URL, 200, {"Content-Type": "text/html"}, late, policy).allowed
    early = b'<html><head><meta name="robots" content="noai">' + b"x" * 70_000
    assert not evaluate_response(URL, 200, {"Content-Type": "text/html"}, early, policy).allowed


def test_html_sniffed_without_content_type(policy):
    """A body that starts like HTML is scanned even without a Content-Type."""
    body = b'<!DOCTYPE html><html><head><meta name="robots" content="noai"></head>'
    assert evaluate_response(URL, 200, {}, body, policy).reasons[0].code == "noai_meta"


def test_non_html_body_is_not_scanned(policy):
    """Meta-like text in a JSON or text body is no meta tag."""
    body = b'<meta name="robots" content="noai">'
    assert evaluate_response(URL, 200, {"Content-Type": "application/json"}, body, policy).allowed


@pytest.mark.parametrize(
    ("headers", "body", "code"),
    [
        pytest.param({"X-Robots-Tag": "noai"}, b"", "noai_header", id="X1"),
        pytest.param(
            {"Content-Usage": "train-ai=y"},
            b'<html><head><meta name="robots" content="noai"></head>',
            "noai_meta",
            id="M8",
        ),
        pytest.param({"tdm-reservation": "1"}, b"", "tdmrep_header", id="T19-header"),
        pytest.param({"Content-Usage": "train-ai=n"}, b"", "content_usage", id="A12"),
        pytest.param({"Content-Signal": "ai-train=no"}, b"", "content_signal", id="header-signal"),
        pytest.param(
            {"tdm-reservation": "0"},
            b'<head><meta name="tdm-reservation" content="1"></head>',
            "tdmrep_meta",
            id="T16",
        ),
    ],
)
def test_response_stage_skips(policy, headers, body, code):
    """Response headers and head meta tags reserve the response."""
    decision = evaluate_response(URL, 200, headers, body, policy)
    assert decision.reasons[0].code == code
    assert decision.reasons[0].source == URL
    assert decision.stage == "response"


def test_m7_non_ai_directives_allow(policy):
    """M7: noindex and search=n do not address train-ai."""
    headers = [("X-Robots-Tag", "noindex"), ("Content-Usage", "search=n")]
    assert evaluate_response(URL, 200, headers, b"", policy).allowed


def test_t21_meta_supersedes_header(policy):
    """T21: header 1, meta 0 -> 0 (TDMRep §1.7)."""
    body = b'<head><meta name="tdm-reservation" content="0"></head><body>x</body>'
    assert evaluate_response(URL, 200, {"tdm-reservation": "1"}, body, policy).allowed


def test_t22_header_policy_is_a_licensing_lead(policy):
    """T22: tdm-reservation 1 with a policy skips, and the policy URL is a lead."""
    headers = {"tdm-reservation": "1", "tdm-policy": "https://p/pol.json"}
    decision = evaluate_response(URL, 200, headers, b"", policy)
    assert decision.reasons[0].policy_url == "https://p/pol.json"
    assert decision.licensing == ("https://p/pol.json",)


def test_noimageai_reserves_image_responses_only(policy):
    """X2/X3: noimageai reserves an image response, not the HTML page itself."""
    image = evaluate_response(
        URL + ".png", 200, {"X-Robots-Tag": "noimageai", "Content-Type": "image/png"}, b"", policy
    )
    assert image.reasons[0].code == "noimageai"
    page = evaluate_response(
        URL, 200, {"X-Robots-Tag": "noimageai", "Content-Type": "text/html"}, b"", policy
    )
    assert page.allowed
    assert page.image_reasons


def test_m10_page_noimageai_reserves_its_images(policy):
    """M10/X12: an image requested from a page with meta noimageai is skipped."""
    html = b'<html><head><meta name="robots" content="noimageai"></head><body><img src="/a.jpg">'
    page = evaluate_response(URL, 200, {"Content-Type": "text/html"}, html, policy)
    assert page.allowed
    image = evaluate_response(
        "https://example.org/a.jpg",
        200,
        {"Content-Type": "image/jpeg"},
        b"\xff\xd8",
        policy,
        page=page,
    )
    assert image.reasons[0].code == "noimageai"
    assert image.reasons[0].source == URL
    pre = run("https://example.org/a.jpg", policy, {}, page=page)
    assert pre.reasons[0].code == "noimageai"


def test_noai_does_not_reserve_search(make_policy):
    """DESIGN §5.1: noai reserves train-ai, ai-input and tdm, not search."""
    for purpose, allowed in (("search", True), ("ai-input", False), ("tdm", False)):
        decision = evaluate_response(
            URL, 200, {"X-Robots-Tag": "noai"}, b"", make_policy(purpose=purpose)
        )
        assert decision.allowed is allowed, purpose


def test_bot_scoped_directive_for_other_bot_is_ignored(policy):
    """DESIGN §5.1: X-Robots-Tag: otherbot: noindex, noai applies only to otherbot."""
    headers = {"X-Robots-Tag": "otherbot: noindex, noai"}
    assert evaluate_response(URL, 200, headers, b"", policy).allowed
    headers = {"X-Robots-Tag": "MyAIBot: noai"}
    assert not evaluate_response(URL, 200, headers, b"", policy).allowed


def test_header_errors_are_recorded_not_raised(policy):
    """Oversized header values become an error in the decision, never an exception."""
    decision = evaluate_response(URL, 200, {"X-Robots-Tag": "a" * 70_000 + ", noai"}, b"", policy)
    assert any(e.startswith("headers.value_too_long") for e in decision.errors)


HEADER_NAMES = st.sampled_from(
    [
        "X-Robots-Tag",
        "tdm-reservation",
        "TDM-Policy",
        "Content-Usage",
        "content-signal",
        "Content-Type",
        "Link",
        "Server",
    ]
)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(HEADER_NAMES, st.one_of(st.text(max_size=80), st.binary(max_size=80)))),
    st.binary(max_size=2000) | st.just(b'<html><head><meta name="robots" content="noai">'),
)
def test_arbitrary_responses_give_a_valid_decision(headers, body):
    """Hostile headers and bodies never raise and always give a well-formed response decision."""
    decision = evaluate_response(URL, 200, headers, body, Policy(user_agent="MyAIBot"))
    assert decision.stage == "response"
    assert decision.action in ("allow", "skip")
    assert decision.allowed is (decision.action == "allow")
    assert decision.allowed or decision.reasons
    assert all(r.code in ALL_CODES for r in decision.reasons)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'<head><meta name="robots" content="&#110;oai">', "noai_meta"),
        (b'<head><meta name="robots" content="n&#x6F;imageai, noindex">', None),
        (b'<head><meta name="t&#100;m-reservation" content="1">', "tdmrep_meta"),
        ('<head><meta name="robots" content="noai">'.encode("utf-16-le"), "noai_meta"),
        (b'<head><meta name="robots" content="NoAI">', "noai_meta"),
    ],
)
def test_signals_spelled_in_other_bytes_are_still_read(policy, body, code):
    """Character references and UTF-16 spell a head signal in other bytes: the head is read."""
    decision = evaluate_response(URL, 200, {"Content-Type": "text/html"}, body, policy)
    assert [r.code for r in decision.reasons][:1] == ([code] if code else [])


def test_head_without_signal_bytes_reports_an_unterminated_head(policy):
    """A head without signal bytes is not tokenized, but a head that never ends is noted."""
    open_head = b"<html><head><title>x</title>" + b"<!-- pad -->" * 10
    decision = evaluate_response(URL, 200, {"Content-Type": "text/html"}, open_head, policy)
    assert decision.allowed
    assert "html.head_unterminated" in decision.errors
    closed = open_head + b"</head><body>"
    decision = evaluate_response(URL, 200, {"Content-Type": "text/html"}, closed, policy)
    assert decision.allowed
    assert decision.errors == ()


@settings(max_examples=400)
@given(html_heads())
def test_skipping_the_scan_never_changes_a_decision(body):
    """Deciding without tokenizing a head without signal bytes gives the full scan's decision."""
    policy = Policy(user_agent="MyAIBot")
    headers = {"Content-Type": "text/html"}
    fast = evaluate_response(URL, 200, headers, body, policy)
    needles = response._HEAD_SIGNAL_BYTES
    try:
        response._HEAD_SIGNAL_BYTES = (b"",)  # found in every head: always tokenize
        full = evaluate_response(URL, 200, headers, body, policy)
    finally:
        response._HEAD_SIGNAL_BYTES = needles
    assert (fast.allowed, fast.reasons, fast.image_reasons) == (
        full.allowed,
        full.reasons,
        full.image_reasons,
    )
