"""The pre-request flow and evaluate_response, stepped by hand (standards.md Appendix A vectors)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout import Policy
from scrapy_optout._core.engine import check_request, evaluate_response, origin_of
from scrapy_optout._core.models import Doc, Fetched, Need, RegistryAnswer, RegistryEntry

from .site import run

URL = "https://example.org/x"


@pytest.fixture
def policy(make_policy):
    return make_policy()


def test_flow_yields_needs_in_order_and_returns_a_decision(policy):
    """The flow asks for robots.txt, tdmrep.json then ai.txt of the URL's origin."""
    asked: list[Need] = []
    decision = run(URL, policy, {}, asked=asked)
    assert [n.doc for n in asked] == [Doc.ROBOTS, Doc.TDMREP, Doc.AI_TXT]
    assert [n.url for n in asked] == [
        "https://example.org/robots.txt",
        "https://example.org/.well-known/tdmrep.json",
        "https://example.org/ai.txt",
    ]
    assert {n.origin for n in asked} == {"https://example.org:443"}
    assert decision.allowed
    assert decision.action == "allow"
    assert decision.stage == "request"


def test_registry_is_asked_first_when_configured(make_policy):
    """A configured registry is consulted before any origin document."""
    asked: list[Need] = []
    run(URL, make_policy(registry="reg.sqlite"), {Doc.REGISTRY: RegistryAnswer()}, asked=asked)
    assert asked[0] == Need(Doc.REGISTRY, URL, "https://example.org:443")


def test_origin_keeps_port_and_scheme_apart():
    """The cache key is scheme + host + port; the document base keeps the authority as written."""
    assert origin_of("http://Example.org:8080/a?b")[:2] == (
        "http://example.org:8080",
        "http://example.org:8080",
    )
    origin = origin_of("https://example.org/a")
    assert origin[:2] == ("https://example.org", "https://example.org:443")
    assert origin.robots == Need(Doc.ROBOTS, "https://example.org/robots.txt", origin.key)
    assert origin.tdmrep.url == "https://example.org/.well-known/tdmrep.json"
    assert origin.ai_txt.url == "https://example.org/ai.txt"
    assert origin_of("ftp://example.org/a") is None
    assert origin_of("https:///nohost") is None


ROBOTS_ALLOW = b"User-agent: *\nAllow: /\n"
TDM_ALL = b'[{"location":"/","tdm-reservation":1}]'


@pytest.mark.parametrize(
    ("site", "code"),
    [
        pytest.param({Doc.ROBOTS: ROBOTS_ALLOW, Doc.TDMREP: TDM_ALL}, "tdmrep_file", id="M1"),
        pytest.param(
            {
                Doc.ROBOTS: b"User-agent: *\nContent-Signal: ai-train=no\nAllow: /\n",
                Doc.TDMREP: b'[{"location":"/","tdm-reservation":0}]',
            },
            "content_signal",
            id="M3",
        ),
        pytest.param({Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"}, "robots_disallow", id="M4"),
        pytest.param({Doc.ROBOTS: 503}, "robots_unreachable", id="M5"),
        pytest.param(
            {Doc.ROBOTS: b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"},
            "robots_ai_agents",
            id="M11",
        ),
        pytest.param(
            {Doc.ROBOTS: b"User-agent: *\nContent-Usage: train-ai=n\n"},
            "content_usage",
            id="A1-content-usage",
        ),
        pytest.param({Doc.AI_TXT: b"User-agent: *\nDisallow: /\n"}, "ai_txt", id="S3-ai-txt"),
    ],
)
def test_request_stage_skips(policy, site, code):
    """Origin documents that reserve or forbid the URL skip it before anything is sent."""
    decision = run(URL, policy, site)
    assert not decision.allowed
    assert decision.action == "skip"
    assert decision.stage == "request"
    assert decision.reasons[0].code == code


def test_m2_file_reservation_is_not_lifted_by_a_header(policy):
    """M2 under DESIGN §5.1: a tdmrep.json reservation skips before the request is sent."""
    decision = run(URL, policy, {Doc.ROBOTS: ROBOTS_ALLOW, Doc.TDMREP: TDM_ALL})
    assert not decision.allowed
    assert decision.reasons[0].source == "https://example.org/.well-known/tdmrep.json"
    assert decision.reasons[0].evidence is not None
    assert decision.reasons[0].evidence in {e.digest for e in decision.evidence}


def test_m6_nothing_said_means_allow(policy):
    """M6: robots.txt, tdmrep.json and ai.txt all 404 and no headers: allowed."""
    pre = run(URL, policy, {})
    final = evaluate_response(URL, 200, {}, b"", policy, pre=pre)
    assert final.allowed
    assert final.stage == "response"
    assert final.reasons == ()


def test_m12_inference_off_allows(make_policy):
    """M12: with inference off, only our own group counts."""
    site = {Doc.ROBOTS: b"User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"}
    assert run(URL, make_policy(infer_from_ai_agents=False), site).allowed
    assert run(URL, make_policy(signals={"robots", "tdmrep"}), site).allowed


def test_inference_ignores_the_star_group(policy):
    """DESIGN §5.1: the * group is our access rule, never an inference."""
    decision = run(URL, policy, {Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"})
    assert decision.reasons[0].code == "robots_disallow"


def test_robots_unreachable_skips_even_with_on_unavailable_allow(make_policy):
    """RFC 9309: an unreachable robots.txt means complete disallow whatever on_unavailable says."""
    for status in (500, 503, 429):
        decision = run(URL, make_policy(on_unavailable="allow"), {Doc.ROBOTS: status})
        assert decision.reasons[0].code == "robots_unreachable"
    timeout = Fetched(url="https://example.org/robots.txt", status=0, error="timeout")
    assert run(URL, make_policy(), {Doc.ROBOTS: timeout}).reasons[0].code == "robots_unreachable"


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_4xx_means_no_restrictions(policy, status):
    """RFC 9309 §2.3.1.3: 4xx (401/403 included, 429 excluded) is no restrictions."""
    assert run(URL, policy, {Doc.ROBOTS: status}).allowed


def test_too_many_robots_redirects_mean_no_restrictions(policy):
    """RFC 9309 §2.3.1.2: more than 5 redirects may be treated as unavailable (allow)."""
    fetched = Fetched(url="https://example.org/robots.txt", status=301, error="redirects")
    assert run(URL, policy, {Doc.ROBOTS: fetched}).allowed


def test_robots_redirect_to_other_scheme_is_unreachable(policy):
    """DESIGN §5.2: a redirect to a non-http(s) scheme leaves robots.txt unreachable."""
    fetched = Fetched(url="https://example.org/robots.txt", status=302, error="scheme")
    assert run(URL, policy, {Doc.ROBOTS: fetched}).reasons[0].code == "robots_unreachable"


@pytest.mark.parametrize(("on_unavailable", "allowed"), [("skip", False), ("allow", True)])
def test_tdmrep_unavailable_follows_on_unavailable(make_policy, on_unavailable, allowed):
    """Rule 7: a 5xx tdmrep.json is signal_unavailable, governed by on_unavailable."""
    decision = run(URL, make_policy(on_unavailable=on_unavailable), {Doc.TDMREP: 503})
    assert decision.allowed is allowed
    if allowed:
        assert any(e.startswith("signal_unavailable: tdmrep") for e in decision.errors)
    else:
        assert decision.reasons[0].code == "signal_unavailable"
        assert decision.reasons[0].signal == "tdmrep"


def test_on_unavailable_allow_still_reads_the_other_signals(make_policy):
    """Under on_unavailable=allow an unreadable tdmrep.json does not stop the ai.txt check."""
    site = {Doc.TDMREP: 503, Doc.AI_TXT: b"User-agent: *\nDisallow: /\n"}
    asked: list[Need] = []
    decision = run(URL, make_policy(on_unavailable="allow"), site, asked=asked)
    assert [n.doc for n in asked] == [Doc.ROBOTS, Doc.TDMREP, Doc.AI_TXT]
    assert decision.reasons[0].code == "ai_txt"
    assert any(e.startswith("signal_unavailable: tdmrep") for e in decision.errors)


def test_oversized_tdmrep_is_unavailable(policy):
    """DESIGN §5.2: a tdmrep.json cut by its cap is unavailable, never parsed as complete."""
    cut = Fetched(url="u", status=200, body=TDM_ALL[:10], error="too_large")
    decision = run(URL, policy, {Doc.TDMREP: cut})
    assert decision.reasons[0].code == "signal_unavailable"


def test_invalid_tdmrep_is_unset_with_error(policy):
    """T11: an invalid file is unset, and the error is recorded in the decision."""
    decision = run(URL, policy, {Doc.TDMREP: b'{"location":"/","tdm-reservation":1}'})
    assert decision.allowed
    assert any(e.startswith("tdmrep.invalid_file") for e in decision.errors)


def test_search_purpose_fetches_no_ai_documents(make_policy):
    """tdmrep.json and ai.txt say nothing about search: they are not fetched for it."""
    asked: list[Need] = []
    run(URL, make_policy(purpose="search"), {}, asked=asked)
    assert [n.doc for n in asked] == [Doc.ROBOTS]


def test_access_gate_stops_the_flow(policy):
    """After a robots.txt disallow nothing more is fetched for that URL."""
    asked: list[Need] = []
    run(URL, policy, {Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"}, asked=asked)
    assert [n.doc for n in asked] == [Doc.ROBOTS]


def test_m15_registry_reservation(make_policy):
    """M15: a registry entry covering the URL skips it, with its policy kept as a lead."""
    entry = RegistryEntry(
        scope="domain",
        value="example.org",
        purposes=frozenset({"train-ai"}),
        policy="https://example.org/licensing",
        source="rights-holder",
    )
    decision = run(
        URL, make_policy(registry="reg.sqlite"), {Doc.REGISTRY: RegistryAnswer(entries=(entry,))}
    )
    assert decision.reasons[0].code == "registry"
    assert decision.reasons[0].source == "registry.sqlite"
    assert decision.licensing == ("https://example.org/licensing",)


def test_registry_entry_for_other_purpose_does_not_skip(make_policy):
    """A registry entry reserving only search leaves train-ai free."""
    entry = RegistryEntry(scope="domain", value="example.org", purposes=frozenset({"search"}))
    decision = run(URL, make_policy(registry="r"), {Doc.REGISTRY: RegistryAnswer(entries=(entry,))})
    assert decision.allowed


def test_registry_unavailable_follows_on_unavailable(make_policy):
    """An unreachable registry is signal_unavailable with signal registry."""
    decision = run(URL, make_policy(registry="r"), {Doc.REGISTRY: None})
    assert (decision.reasons[0].code, decision.reasons[0].signal) == (
        "signal_unavailable",
        "registry",
    )


def test_non_http_url_is_skipped(policy):
    """A URL whose signals cannot be read is never silently allowed."""
    decision = run("data:text/plain,hi", policy, {})
    assert not decision.allowed


def test_m4_header_never_seen_after_access_gate(policy):
    """M4: a disallowed URL is skipped at the request stage; evaluate_response keeps the skip."""
    pre = run(URL, policy, {Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"})
    final = evaluate_response(URL, 200, {"Content-Usage": "train-ai=y"}, b"", policy, pre=pre)
    assert final is pre


def test_flow_is_a_generator_of_needs(policy):
    """check_request yields Needs and can be stepped by hand (h11 style)."""
    flow = check_request(URL, policy)
    need = next(flow)
    assert need.doc is Doc.ROBOTS


DOC_ANSWERS = st.one_of(
    st.binary(max_size=500),
    st.sampled_from([200, 301, 401, 403, 404, 429, 500, 503]),
    st.just(b"User-agent: *\nDisallow: /x\nContent-Usage: train-ai=n\n"),
    st.just(b'[{"location":"/","tdm-reservation":1}]'),
)


@settings(max_examples=200)
@given(DOC_ANSWERS, DOC_ANSWERS, DOC_ANSWERS, st.from_regex(r"/[a-z/]{0,10}", fullmatch=True))
def test_arbitrary_origin_documents_give_a_valid_decision(robots, tdmrep, ai_txt, path):
    """Hostile robots.txt, tdmrep.json and ai.txt never raise; a skip always has a reason."""
    site = {Doc.ROBOTS: robots, Doc.TDMREP: tdmrep, Doc.AI_TXT: ai_txt}
    decision = run("https://example.org" + path, Policy(user_agent="MyAIBot"), site)
    assert decision.stage == "request"
    assert decision.allowed is (decision.action == "allow")
    assert decision.allowed or decision.reasons
    if robots in (429, 500, 503):
        assert decision.reasons[0].code == "robots_unreachable"
