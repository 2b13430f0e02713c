"""The sync httpx shell (issue 3): OptOutClient and OptOutTransport against real local servers.

Every site is a real threaded HTTP server on 127.0.0.1 (``tests/httpsite.py``); assertions about
what was never requested are made on the servers' own request logs.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapy_optout import (
    Decision,
    OptedOutError,
    OptOutClient,
    OptOutTransport,
    Policy,
    RequestSkipped,
)
from scrapy_optout.audit import read, verify
from tests.httpsite import (
    AGENT,
    CASE_PARAMS,
    DISALLOW_PRIVATE,
    HTML,
    JSON,
    MIB,
    Case,
    Site,
    big_page,
    big_robots,
    check_outcome,
    client_options,
    closed_origin,
    endless_head_page,
    html,
    huge_tdmrep,
    install,
    json_doc,
    page,
    redirect,
    request_extensions,
    slow_body,
    stalled_robots,
    status,
    text,
    trickled_robots,
)


def policy(**overrides: Any) -> Policy:
    """Our test policy: token MyAIBot, everything else as given."""
    return Policy(user_agent=AGENT, **overrides)


class CountingTransport(httpx.BaseTransport):
    """A user's own transport: records every URL it is asked to send, then sends it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Record the URL and pass the request on."""
        self.urls.append(str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


# --- the shared table ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_table_case(case: Case, site: Site, other: Site) -> None:
    """Each table case gives its expected action, stage, reason and server log (sync client)."""
    install(case, site, other)
    outcome: httpx.Response | OptedOutError
    with OptOutClient(policy=policy(**case.policy), **client_options(case)) as client:
        for path in case.before:
            assert client.get(site.url(path)).status_code == 200
        try:
            outcome = client.get(site.url(case.path), extensions=request_extensions(case, site))
        except OptedOutError as error:
            outcome = error
    check_outcome(case, outcome, site, other)


# --- the error and the decision -----------------------------------------------------------------


def test_opted_out_error_is_a_request_error_and_a_request_skipped(site: Site) -> None:
    """OptedOutError is both httpx.RequestError and RequestSkipped, and carries the decision."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    with (
        OptOutClient(policy=policy(), timeout=5.0) as client,
        pytest.raises(httpx.RequestError) as info,
    ):
        client.get(site.url("/private/x"))
    error = info.value
    assert isinstance(error, OptedOutError)
    assert isinstance(error, RequestSkipped)
    assert isinstance(error.decision, Decision)
    assert error.decision.action == "skip"
    assert error.decision.reasons[0].code == "robots_disallow"
    assert site.count("/private/x") == 0


def test_allowed_response_carries_the_decision_and_the_body(site: Site) -> None:
    """An allowed response is the server's response, with the decision in extensions["optout"]."""
    body = html(body="<p>the article</p>")
    site.serve("/article", page(("X-Extra", "1"), body=body))
    with OptOutClient(policy=policy(), timeout=5.0) as client:
        response = client.get(site.url("/article"))
    assert response.content == body
    assert response.headers["X-Extra"] == "1"
    decision = response.extensions["optout"]
    assert decision.allowed
    assert decision.action == "allow"
    assert decision.stage == "response"
    assert decision.url == site.url("/article")


def test_httpx_client_arguments_are_honoured(site: Site) -> None:
    """OptOutClient takes httpx.Client arguments: base_url and default headers work as in httpx."""
    site.serve("/page", page())
    with OptOutClient(policy=policy(), base_url=site.origin, headers={"X-Test": "yes"},
                      timeout=5.0) as client:
        response = client.get("/page")
    assert response.extensions["optout"].url == site.url("/page")
    (request,) = [r for r, _ in site.log if r.path == "/page"]
    assert request.headers.get("X-Test") == "yes"


def test_network_error_on_robots_is_unreachable() -> None:
    """robots.txt that cannot be connected to skips the page with robots_unreachable."""
    origin = closed_origin()
    with (
        OptOutClient(policy=policy(), timeout=2.0) as client,
        pytest.raises(OptedOutError) as info,
    ):
        client.get(origin + "/page")
    assert info.value.decision.reasons[0].code == "robots_unreachable"
    assert info.value.decision.stage == "request"


# --- side documents: one fetch per origin, through the wrapped transport ------------------------


def test_side_documents_are_fetched_once_with_our_user_agent(site: Site) -> None:
    """robots.txt, tdmrep.json and ai.txt are fetched once each, with our token in User-Agent."""
    site.serve(re.compile(r"/p/\d+"), page())
    with OptOutClient(policy=policy(), timeout=5.0) as client:
        for i in range(3):
            assert client.get(site.url(f"/p/{i}")).status_code == 200
    for doc in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"):
        agents = site.agents(doc)
        assert len(agents) == 1, (doc, site.hits)
        assert AGENT in agents[0]


def test_hundred_pages_of_one_origin_fetch_robots_once(site: Site) -> None:
    """100 sequential pages cause one robots.txt request and give every connection back."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve(re.compile(r"/p/\d+"), page())
    limits = httpx.Limits(max_connections=2)  # a leaked connection would time the pool out
    with OptOutClient(policy=policy(), timeout=5.0, limits=limits) as client:
        for i in range(100):
            assert client.get(site.url(f"/p/{i}")).extensions["optout"].allowed
    assert site.count("/robots.txt") == 1
    assert site.count("/.well-known/tdmrep.json") == 1
    assert site.count("/ai.txt") == 1
    assert site.count_under("/p/") == 100


def test_each_origin_has_its_own_robots(site: Site, other: Site) -> None:
    """Two origins each fetch their own robots.txt once, and each one's rules apply to it alone."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    for server in (site, other):
        server.serve(re.compile(r"/(p|private)/\d+"), page())
    with OptOutClient(policy=policy(), timeout=5.0) as client:
        for i in range(10):
            for server in (site, other):
                assert client.get(server.url(f"/p/{i}")).status_code == 200
        with pytest.raises(OptedOutError):
            client.get(site.url("/private/1"))
        assert client.get(other.url("/private/1")).status_code == 200
    assert site.count("/robots.txt") == 1
    assert other.count("/robots.txt") == 1
    assert site.count_under("/private/") == 0


def test_twenty_threads_share_one_robots_fetch(site: Site) -> None:
    """20 threads using one sync client cause one robots.txt request, and all get their page."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.3))
    site.serve(re.compile(r"/p/\d+"), page())
    with OptOutClient(policy=policy(), timeout=5.0) as client, ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(lambda i: client.get(site.url(f"/p/{i}")), range(20)))
    assert all(r.status_code == 200 and r.extensions["optout"].allowed for r in responses)
    assert site.count("/robots.txt") == 1
    assert site.count_under("/p/") == 20


def test_twenty_threads_on_a_disallowed_path_send_nothing(site: Site) -> None:
    """20 threads waiting on one slow robots.txt all get its disallow: no page request is sent."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.3))

    def get(i: int) -> BaseException | None:
        try:
            client.get(site.url(f"/private/{i}"))
        except OptedOutError as error:
            return error
        return None

    with OptOutClient(policy=policy(), timeout=5.0) as client, ThreadPoolExecutor(20) as pool:
        errors = list(pool.map(get, range(20)))
    assert all(isinstance(e, OptedOutError) for e in errors)
    assert {e.decision.reasons[0].code for e in errors if isinstance(e, OptedOutError)} == {
        "robots_disallow"
    }
    assert site.count_under("/private/") == 0
    assert site.count("/robots.txt") == 1


# --- wrapping: the user's transport, and the transport on its own -------------------------------


def test_each_request_bounds_its_side_fetches_by_its_own_timeout(site: Site, other: Site) -> None:
    """A short timeout in one thread never shortens the side fetches of another under way."""
    site.serve("/robots.txt", text("User-agent: *\nAllow: /\n", delay=0.3))
    site.serve("/.well-known/tdmrep.json", json_doc("[]", delay=0.6))  # slower than 0.2 s
    site.serve("/a", page())
    other.serve("/b", page())
    with OptOutClient(policy=policy()) as client, ThreadPoolExecutor(1) as pool:
        patient = pool.submit(client.get, site.url("/a"), timeout=5.0)
        time.sleep(0.05)  # the patient request is waiting for its robots.txt
        hasty = client.get(other.url("/b"), timeout=0.2)  # another origin, answers fast
        response = patient.result()
    assert hasty.status_code == 200
    assert response.status_code == 200
    assert response.extensions["optout"].allowed


def test_redirect_to_another_scheme_is_unsupported_and_recorded(site: Site, tmp_path: Path) -> None:
    """A redirect to ftp: raises httpx's UnsupportedProtocol, which is also a logged skip."""
    site.serve("/old", redirect("ftp://example.org/file"))
    log = tmp_path / "audit.jsonl"
    client = OptOutClient(policy=policy(audit_log=str(log)), follow_redirects=True)
    with client, pytest.raises(httpx.UnsupportedProtocol) as raised:
        client.get(site.url("/old"))
    assert isinstance(raised.value, OptedOutError)
    assert raised.value.decision.reasons[0].code == "signal_unavailable"
    assert [r["url"] for r in read(log)][-1] == "ftp://example.org/file"


def test_user_supplied_transport_is_wrapped_not_replaced(site: Site) -> None:
    """A user's transport sees robots.txt and the page, and the opt-out check still applies."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page())
    counting = CountingTransport(httpx.HTTPTransport())
    with OptOutClient(policy=policy(), transport=counting, timeout=5.0) as client:
        assert client.get(site.url("/page")).extensions["optout"].allowed
        with pytest.raises(OptedOutError):
            client.get(site.url("/private/x"))
    assert counting.urls.count(site.url("/robots.txt")) == 1
    assert site.url("/page") in counting.urls
    assert site.url("/private/x") not in counting.urls
    assert site.count("/private/x") == 0


def test_transport_with_default_next_transport_in_a_plain_client(site: Site) -> None:
    """httpx.Client(transport=OptOutTransport(policy=...)) checks requests and responses."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page())
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    with httpx.Client(transport=OptOutTransport(policy=policy()), timeout=5.0) as client:
        response = client.get(site.url("/page"))
        assert response.extensions["optout"].allowed
        with pytest.raises(OptedOutError) as info:
            client.get(site.url("/private/x"))
        assert info.value.decision.reasons[0].code == "robots_disallow"
        with pytest.raises(OptedOutError) as info:
            client.get(site.url("/noai"))
        assert info.value.decision.stage == "response"
    assert site.count("/private/x") == 0
    assert site.count("/robots.txt") == 1


def test_transport_wraps_the_given_next_transport(site: Site) -> None:
    """OptOutTransport(next_transport=...) sends the side documents and pages through it."""
    site.serve("/page", page())
    counting = CountingTransport(httpx.HTTPTransport())
    transport = OptOutTransport(next_transport=counting, policy=policy())
    with httpx.Client(transport=transport, timeout=5.0) as client:
        assert client.get(site.url("/page")).status_code == 200
    assert site.url("/robots.txt") in counting.urls
    assert site.url("/page") in counting.urls


# --- streaming and the response stage -----------------------------------------------------------


def test_streamed_large_allowed_page_arrives_whole(site: Site) -> None:
    """client.stream() of an allowed 3 MB page yields the whole body, decision attached."""
    body = big_page()
    site.serve("/big", page(body=body))
    with (
        OptOutClient(policy=policy(), timeout=5.0) as client,
        client.stream("GET", site.url("/big")) as response,
    ):
        data = b"".join(response.iter_bytes())
        decision = response.extensions["optout"]
    assert len(data) == len(body)
    assert data == body
    assert decision.allowed


def test_streamed_reserved_page_raises(site: Site) -> None:
    """client.stream() of a page whose head says noai raises OptedOutError at the response stage."""
    site.serve("/reserved", page(body=html('<meta name="robots" content="noai">')))
    with (
        OptOutClient(policy=policy(), timeout=5.0) as client,
        pytest.raises(OptedOutError) as info,
        client.stream("GET", site.url("/reserved")) as response,
    ):
        response.read()
    assert info.value.decision.stage == "response"
    assert info.value.decision.reasons[0].code == "noai_meta"


def test_response_stage_skip_does_not_read_the_rest_of_the_body(site: Site) -> None:
    """A reserved response is closed without reading its (4 s long) body."""
    site.serve_stream("/slow", slow_body, content_type=HTML, headers={"X-Robots-Tag": "noai"})
    with OptOutClient(policy=policy(), timeout=5.0) as client:
        start = time.monotonic()
        with pytest.raises(OptedOutError) as info:
            client.get(site.url("/slow"))
        elapsed = time.monotonic() - start
    assert info.value.decision.reasons[0].code == "noai_header"
    assert elapsed < 3.0, f"took {elapsed:.2f} s: the body was read"


# --- hostile origins ----------------------------------------------------------------------------


def test_5mb_robots_is_parsed_on_its_first_500_kib(site: Site, tmp_path: Path) -> None:
    """A 5 MB robots.txt: an early Disallow applies, one beyond 500 KiB does not; one fetch."""
    site.serve("/robots.txt", text(big_robots()))
    site.serve("/late/a", page())
    log = tmp_path / "audit.jsonl"
    start = time.monotonic()
    with OptOutClient(policy=policy(audit_log=str(log)), timeout=5.0) as client:
        with pytest.raises(OptedOutError) as info:
            client.get(site.url("/private/a"))
        assert client.get(site.url("/late/a")).extensions["optout"].allowed
    assert time.monotonic() - start < 5.0
    assert info.value.decision.reasons[0].code == "robots_disallow"
    assert site.count("/private/a") == 0
    assert site.count("/robots.txt") == 1
    assert [r["action"] for r in read(log)] == ["skip", "allow"]


def test_50mb_tdmrep_is_unavailable_and_not_read_to_its_end(site: Site, tmp_path: Path) -> None:
    """A 50 MB tdmrep.json is cut at the client's cap: signal_unavailable, fast, bounded memory."""
    site.serve_stream("/.well-known/tdmrep.json", huge_tdmrep, content_type=JSON)
    site.serve("/page", page())
    log = tmp_path / "audit.jsonl"
    tracemalloc.start()
    try:
        start = time.monotonic()
        with (
            OptOutClient(policy=policy(audit_log=str(log)), timeout=5.0) as client,
            pytest.raises(OptedOutError) as info,
        ):
            client.get(site.url("/page"))
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    reason = info.value.decision.reasons[0]
    assert reason.code == "signal_unavailable"
    assert reason.source == site.url("/.well-known/tdmrep.json")
    assert site.count("/page") == 0
    assert elapsed < 4.0, f"took {elapsed:.2f} s: the client did not stop at its cap"
    assert peak < 40 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert [r["reasons"][0]["code"] for r in read(log)] == ["signal_unavailable"]


def test_page_whose_head_never_ends_is_allowed_whole(site: Site) -> None:
    """A 3 MB page without </head> is allowed and its body returned whole."""
    body = endless_head_page()
    site.serve("/endless", page(body=body))
    with OptOutClient(policy=policy(), timeout=5.0) as client:
        response = client.get(site.url("/endless"))
    assert response.content == body
    assert response.extensions["optout"].allowed


@pytest.mark.parametrize(
    "chunks",
    [pytest.param(stalled_robots, id="stall"), pytest.param(trickled_robots, id="trickle")],
)
def test_robots_that_stalls_after_its_headers_is_unreachable_in_time(
    site: Site, tmp_path: Path, chunks: Callable[[], Iterator[bytes]]
) -> None:
    """robots.txt that stalls or trickles after its headers is unreachable within the timeout."""
    site.serve_stream("/robots.txt", chunks)
    site.serve("/page", page())
    log = tmp_path / "audit.jsonl"
    start = time.monotonic()
    with (
        OptOutClient(policy=policy(audit_log=str(log)), timeout=1.0) as client,
        pytest.raises(OptedOutError) as info,
    ):
        client.get(site.url("/page"))
    elapsed = time.monotonic() - start
    assert info.value.decision.reasons[0].code == "robots_unreachable"
    assert site.count("/page") == 0
    assert elapsed < 3.0, f"took {elapsed:.2f} s with a 1 s timeout"
    assert [r["reasons"][0]["code"] for r in read(log)] == ["robots_unreachable"]


# --- the compliance log -------------------------------------------------------------------------


def test_compliance_log_records_every_decision_with_evidence(site: Site, tmp_path: Path) -> None:
    """Every decision is one chained log line; the deciding robots.txt is kept as evidence."""
    robots = DISALLOW_PRIVATE.encode()
    site.serve("/robots.txt", text(robots))
    site.serve("/ok", page())
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    site.serve("/private/y", page())
    log = tmp_path / "audit.jsonl"
    the_policy = policy(audit_log=str(log))
    with OptOutClient(policy=the_policy, timeout=5.0) as client:
        client.get(site.url("/ok"))
        with pytest.raises(OptedOutError):
            client.get(site.url("/private/x"))
        with pytest.raises(OptedOutError):
            client.get(site.url("/noai"))
        client.get(site.url("/private/y"), extensions={"optout": {"bypass": True}})
    records = list(read(log))
    assert [(r["action"], r["stage"], r["url"]) for r in records] == [
        ("allow", "response", site.url("/ok")),
        ("skip", "request", site.url("/private/x")),
        ("skip", "response", site.url("/noai")),
        ("bypass", "request", site.url("/private/y")),
    ]
    codes = [r["reasons"][0]["code"] if r["reasons"] else None for r in records]
    assert codes == [None, "robots_disallow", "noai_header", "bypass"]
    assert all(r["agent"] == AGENT and r["purpose"] == "train-ai" for r in records)
    assert all(r["policy"] == the_policy.digest for r in records)
    assert verify(log).ok
    evidence = records[1]["reasons"][0]["evidence"]
    assert isinstance(evidence, str)
    assert evidence.startswith("sha256:")
    stored = Path(str(log) + ".evidence") / evidence.removeprefix("sha256:")
    assert stored.read_bytes() == robots


def test_compliance_log_without_allows_keeps_only_skips(site: Site, tmp_path: Path) -> None:
    """With audit_allowed=False only skips are logged, and the log verifies."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/ok", page())
    log = tmp_path / "audit.jsonl"
    with OptOutClient(policy=policy(audit_log=str(log), audit_allowed=False), timeout=5.0) as c:
        for _ in range(3):
            assert c.get(site.url("/ok")).status_code == 200
        with pytest.raises(OptedOutError):
            c.get(site.url("/private/x"))
    records = list(read(log))
    assert [(r["action"], r["url"]) for r in records] == [("skip", site.url("/private/x"))]
    assert verify(log).ok


def test_unavailable_source_is_logged_with_its_reason(site: Site, tmp_path: Path) -> None:
    """A tdmrep.json answering 503 gives a logged signal_unavailable skip with its source."""
    site.serve("/.well-known/tdmrep.json", status(503))
    log = tmp_path / "audit.jsonl"
    with (
        OptOutClient(policy=policy(audit_log=str(log)), timeout=5.0) as client,
        pytest.raises(OptedOutError),
    ):
        client.get(site.url("/page"))
    (record,) = read(log)
    reason = record["reasons"][0]
    assert reason["code"] == "signal_unavailable"
    assert reason["source"] == site.url("/.well-known/tdmrep.json")
    assert verify(log).ok
