"""rules.py: licences, opt-in mode, TDMRep layering, purpose tables (DESIGN §5)."""

from __future__ import annotations

from datetime import date

import pytest

from scrapy_optout import Licence
from scrapy_optout._core import rules
from scrapy_optout._core.engine import evaluate_response
from scrapy_optout._core.models import Doc, Reason

from .site import run

URL = "https://news.example.org/a"
TDM_ALL = b'[{"location":"/","tdm-reservation":1}]'


def licence(**kw):
    kw.setdefault("licensor", "Example News")
    kw.setdefault("scope", "domain")
    kw.setdefault("value", "example.org")
    kw.setdefault("reference", "C-42")
    return Licence(**kw)


def test_licence_lifts_a_reservation(make_policy):
    """Rule 5: a covering licence lifts the reservation and is logged as licence."""
    policy = make_policy(licences=[licence()])
    decision = run(URL, policy, {Doc.TDMREP: TDM_ALL}, today=date(2026, 11, 29))
    assert decision.allowed
    assert [r.code for r in decision.reasons] == ["licence", "tdmrep_file"]
    assert "C-42" in decision.reasons[0].detail


def test_licence_never_lifts_access(make_policy):
    """Rule 1: a licence does not make a robots.txt disallow fetchable."""
    policy = make_policy(licences=[licence()])
    decision = run(URL, policy, {Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"})
    assert decision.reasons[0].code == "robots_disallow"


@pytest.mark.parametrize(
    ("entry", "covers"),
    [
        ({"scope": "domain", "value": "example.org"}, True),
        ({"scope": "domain", "value": "other.org"}, False),
        ({"scope": "host", "value": "news.example.org"}, True),
        ({"scope": "host", "value": "example.org"}, False),
        ({"scope": "prefix", "value": "https://news.example.org/"}, True),
        ({"scope": "prefix", "value": "https://news.example.org/b"}, False),
        ({"scope": "url", "value": URL}, True),
        ({"purposes": frozenset({"search"})}, False),
        ({"purposes": frozenset({"tdm"})}, True),
        ({"valid_from": date(2026, 1, 1), "valid_until": date(2026, 11, 29)}, True),
        ({"valid_until": date(2026, 11, 28)}, False),
        ({"valid_from": date(2026, 11, 30)}, False),
    ],
)
def test_licence_scope_purpose_and_dates(make_policy, entry, covers):
    """A licence covers the URL only within its scope, purposes and validity dates (UTC days)."""
    policy = make_policy(licences=[licence(**entry)])
    decision = run(URL, policy, {Doc.TDMREP: TDM_ALL}, today=date(2026, 11, 29))
    assert decision.allowed is covers


def test_dated_licence_without_a_date_is_not_assumed_valid(make_policy):
    """The core reads no clock: a dated licence checked without today does not lift, and says so."""
    policy = make_policy(licences=[licence(valid_until=date(2030, 1, 1))])
    decision = run(URL, policy, {Doc.TDMREP: TDM_ALL})
    assert not decision.allowed
    assert any(e.startswith("licence.undated_check") for e in decision.errors)


def test_opt_in_skips_without_permission(make_policy):
    """Rule 6: in opt-in mode silence is no_permission at the response stage."""
    policy = make_policy(mode="opt-in")
    pre = run(URL, policy, {})
    assert pre.allowed  # permission may still come with the response
    final = evaluate_response(URL, 200, {}, b"", policy, pre=pre)
    assert final.reasons[0].code == "no_permission"
    assert final.reasons[0].signal == "policy"


@pytest.mark.parametrize(
    ("site", "headers"),
    [
        pytest.param({Doc.TDMREP: b'[{"location":"/","tdm-reservation":0}]'}, {}, id="tdmrep-0"),
        pytest.param({}, {"tdm-reservation": "0"}, id="header-0"),
        pytest.param({}, {"Content-Usage": "train-ai=y"}, id="train-ai=y"),
        pytest.param({Doc.ROBOTS: b"User-agent: *\nContent-Signal: ai-train=yes\n"}, {},
                     id="ai-train=yes"),
        pytest.param({Doc.AI_TXT: b"User-agent: *\nAllow: /\n"}, {}, id="ai.txt-allow"),
    ],
)
def test_opt_in_allows_with_explicit_permission(make_policy, site, headers):
    """Rule 6: an explicit permission from any signal satisfies opt-in mode."""
    policy = make_policy(mode="opt-in")
    pre = run(URL, policy, site)
    assert evaluate_response(URL, 200, headers, b"", policy, pre=pre).allowed


def test_opt_in_allows_with_licence(make_policy):
    """Rule 6: a licence satisfies opt-in mode."""
    policy = make_policy(mode="opt-in", licences=[licence()])
    final = evaluate_response(URL, 200, {}, b"", policy, today=date(2026, 1, 1))
    assert final.allowed
    assert final.reasons[0].code == "licence"


def test_opt_in_permission_then_reservation_skips(make_policy):
    """A reservation wins over a permission seen elsewhere (most restrictive across protocols)."""
    policy = make_policy(mode="opt-in")
    pre = run(URL, policy, {Doc.TDMREP: b'[{"location":"/","tdm-reservation":0}]'})
    final = evaluate_response(URL, 200, {"X-Robots-Tag": "noai"}, b"", policy, pre=pre)
    assert final.reasons[0].code == "noai_header"


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        pytest.param([("tdmrep_file", 1, None, "f"), ("tdmrep_header", 0, None, "h")],
                     (0, None, "tdmrep_header", "h"), id="T15"),
        pytest.param([("tdmrep_file", 0, None, "f"), ("tdmrep_meta", 1, None, "m")],
                     (1, None, "tdmrep_meta", "m"), id="T16"),
        pytest.param([("tdmrep_file", 1, None, "f"), ("tdmrep_header", None, None, ""),
                      ("tdmrep_meta", None, None, "")], (1, None, "tdmrep_file", "f"), id="T17"),
        pytest.param([("tdmrep_header", 1, None, "h"), ("tdmrep_meta", 0, None, "m")],
                     (0, None, "tdmrep_meta", "m"), id="T21"),
        pytest.param([("tdmrep_file", 1, "https://p/a", "f"), ("tdmrep_header", None, "https://p/b", "")],
                     (1, "https://p/b", "tdmrep_file", "f"), id="T23"),
        pytest.param([], (None, None, "", ""), id="none"),
    ],
)
def test_tdm_layers(layers, expected):
    """TDMRep §1.7: later layers supersede, absence never resets, properties tracked apart."""
    assert rules.tdm_layers(layers) == expected


@pytest.mark.parametrize(
    ("purposes", "purpose", "covered"),
    [
        (frozenset(), "search", True),
        (frozenset({"train-ai"}), "train-ai", True),
        (frozenset({"tdm"}), "train-ai", True),
        (frozenset({"tdm"}), "search", False),
        (frozenset({"train-ai"}), "ai-input", False),
    ],
)
def test_registry_covers(purposes, purpose, covered):
    """An empty purpose list reserves everything; tdm covers train-ai."""
    assert rules.registry_covers(purposes, purpose) is covered


def test_on_unavailable_allow_records_errors_not_reasons(make_policy):
    """Rule 7 with allow: the unavailable source is recorded as an error and the URL allowed."""
    found = rules.Findings()
    found.unavailable.append(Reason("signal_unavailable", "ai-txt", "u", "HTTP 500"))
    decision = rules.decide(URL, "request", make_policy(on_unavailable="allow"), found, None)
    assert decision.allowed
    assert decision.errors == ("signal_unavailable: ai-txt u (HTTP 500)",)


def test_bypass_decision_shape():
    """DESIGN §5.2: a bypass is allowed, action bypass, a bypass reason, stage request."""
    decision = rules.bypass(URL)
    assert (decision.allowed, decision.action, decision.stage) == (True, "bypass", "request")
    assert decision.reasons[0].code == decision.reasons[0].signal == "bypass"
