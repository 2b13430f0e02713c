"""The async httpx shell (issue 3): AsyncOptOutClient and AsyncOptOutTransport on local servers.

The same table of cases as the sync client (``tests/httpsite.py``), plus concurrency: many
coroutines waiting on one origin share one robots.txt fetch, and none of them sends a page the
fetch forbids. Runs on anyio's pytest plugin with the asyncio backend.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapy_optout import (
    AsyncOptOutClient,
    AsyncOptOutTransport,
    Decision,
    OptedOutError,
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
    Case,
    Site,
    big_page,
    check_outcome,
    client_options,
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

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio (what httpx's AsyncHTTPTransport uses by default)."""
    return "asyncio"


def policy(**overrides: Any) -> Policy:
    """Our test policy: token MyAIBot, everything else as given."""
    return Policy(user_agent=AGENT, **overrides)


class CountingTransport(httpx.AsyncBaseTransport):
    """A user's own async transport: records every URL it is asked to send, then sends it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record the URL and pass the request on."""
        self.urls.append(str(request.url))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


async def outcome_of(client: httpx.AsyncClient, url: str) -> httpx.Response | OptedOutError:
    """The response to GET *url*, or the OptedOutError it raised."""
    try:
        return await client.get(url)
    except OptedOutError as error:
        return error


# --- the shared table ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
async def test_table_case(case: Case, site: Site, other: Site) -> None:
    """Each table case gives its expected action, stage, reason and server log (async client)."""
    install(case, site, other)
    outcome: httpx.Response | OptedOutError
    async with AsyncOptOutClient(policy=policy(**case.policy), **client_options(case)) as client:
        for path in case.before:
            assert (await client.get(site.url(path))).status_code == 200
        try:
            outcome = await client.get(
                site.url(case.path), extensions=request_extensions(case, site)
            )
        except OptedOutError as error:
            outcome = error
    check_outcome(case, outcome, site, other)


async def test_opted_out_error_is_a_request_error_and_a_request_skipped(site: Site) -> None:
    """The async OptedOutError is both httpx.RequestError and RequestSkipped, with the decision."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        with pytest.raises(httpx.RequestError) as info:
            await client.get(site.url("/private/x"))
    assert isinstance(info.value, OptedOutError)
    assert isinstance(info.value, RequestSkipped)
    assert isinstance(info.value.decision, Decision)
    assert info.value.decision.reasons[0].code == "robots_disallow"
    assert site.count("/private/x") == 0


async def test_httpx_client_arguments_are_honoured(site: Site) -> None:
    """AsyncOptOutClient takes httpx.AsyncClient arguments: base_url and headers work."""
    site.serve("/page", page())
    async with AsyncOptOutClient(policy=policy(), base_url=site.origin,
                                 headers={"X-Test": "yes"}, timeout=5.0) as client:
        response = await client.get("/page")
    assert response.extensions["optout"].url == site.url("/page")
    (request,) = [r for r, _ in site.log if r.path == "/page"]
    assert request.headers.get("X-Test") == "yes"


# --- concurrency: one fetch per origin, every waiter gets its result ----------------------------


async def test_fifty_concurrent_requests_to_a_disallowed_path_send_nothing(site: Site) -> None:
    """50 concurrent requests to a disallowed path of a new origin: no page sent, one robots."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.3))
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        outcomes = await asyncio.gather(
            *(outcome_of(client, site.url(f"/private/{i}")) for i in range(50))
        )
    assert all(isinstance(o, OptedOutError) for o in outcomes), outcomes
    codes = {o.decision.reasons[0].code for o in outcomes if isinstance(o, OptedOutError)}
    assert codes == {"robots_disallow"}
    assert site.count_under("/private/") == 0
    assert site.count("/robots.txt") == 1


async def test_fifty_concurrent_waiters_on_an_unreachable_robots_all_skip(site: Site) -> None:
    """50 coroutines waiting on one slow robots.txt 503 all get robots_unreachable; nothing sent."""
    site.serve("/robots.txt", status(503, delay=0.3))
    site.serve(re.compile(r"/p/\d+"), page())
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        outcomes = await asyncio.gather(
            *(outcome_of(client, site.url(f"/p/{i}")) for i in range(50))
        )
    codes = {o.decision.reasons[0].code for o in outcomes if isinstance(o, OptedOutError)}
    assert all(isinstance(o, OptedOutError) for o in outcomes), outcomes
    assert codes == {"robots_unreachable"}
    assert site.count_under("/p/") == 0
    assert site.count("/robots.txt") == 1


async def test_fifty_concurrent_allowed_pages_share_one_robots_fetch(site: Site) -> None:
    """50 concurrent allowed pages of a fresh origin: robots.txt, tdmrep.json, ai.txt once each."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.3))
    site.serve(re.compile(r"/p/\d+"), page())
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        outcomes = await asyncio.gather(
            *(outcome_of(client, site.url(f"/p/{i}")) for i in range(50))
        )
    assert all(isinstance(o, httpx.Response) and o.status_code == 200 for o in outcomes), outcomes
    assert site.count_under("/p/") == 50
    for doc in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"):
        assert site.count(doc) == 1, (doc, site.hits)


async def test_each_request_bounds_its_side_fetches_by_its_own_timeout(
    site: Site, other: Site
) -> None:
    """A short timeout on one request never shortens the side fetches of another under way."""
    site.serve("/robots.txt", text("User-agent: *\nAllow: /\n", delay=0.3))
    site.serve("/.well-known/tdmrep.json", json_doc("[]", delay=0.6))  # slower than 0.2 s
    site.serve("/a", page())
    other.serve("/b", page())
    async with AsyncOptOutClient(policy=policy()) as client:
        patient = asyncio.create_task(client.get(site.url("/a"), timeout=5.0))
        await asyncio.sleep(0.05)  # the patient request is waiting for its robots.txt
        hasty = await client.get(other.url("/b"), timeout=0.2)  # another origin, answers fast
        response = await patient
    assert hasty.status_code == 200
    assert response.status_code == 200
    assert response.extensions["optout"].allowed


async def test_redirect_to_another_scheme_is_unsupported(site: Site) -> None:
    """A redirect to ftp: raises httpx's UnsupportedProtocol, which is also an OptedOutError."""
    site.serve("/old", redirect("ftp://example.org/file"))
    client = AsyncOptOutClient(policy=policy(), follow_redirects=True)
    async with client:
        with pytest.raises(httpx.UnsupportedProtocol) as raised:
            await client.get(site.url("/old"))
    assert isinstance(raised.value, OptedOutError)


async def test_hundred_sequential_pages_fetch_robots_once(site: Site) -> None:
    """100 sequential pages cause one robots.txt request and give every connection back."""
    site.serve(re.compile(r"/p/\d+"), page())
    limits = httpx.Limits(max_connections=2)  # a leaked connection would time the pool out
    async with AsyncOptOutClient(policy=policy(), timeout=5.0, limits=limits) as client:
        for i in range(100):
            assert (await client.get(site.url(f"/p/{i}"))).extensions["optout"].allowed
    assert site.count("/robots.txt") == 1
    assert site.count_under("/p/") == 100


# --- wrapping -----------------------------------------------------------------------------------


async def test_user_supplied_transport_is_wrapped_not_replaced(site: Site) -> None:
    """A user's async transport sees robots.txt and the page; the opt-out check still applies."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page())
    counting = CountingTransport(httpx.AsyncHTTPTransport())
    async with AsyncOptOutClient(policy=policy(), transport=counting, timeout=5.0) as client:
        assert (await client.get(site.url("/page"))).extensions["optout"].allowed
        with pytest.raises(OptedOutError):
            await client.get(site.url("/private/x"))
    assert counting.urls.count(site.url("/robots.txt")) == 1
    assert site.url("/page") in counting.urls
    assert site.url("/private/x") not in counting.urls
    assert site.count("/private/x") == 0


async def test_async_transport_in_a_plain_async_client(site: Site) -> None:
    """httpx.AsyncClient(transport=AsyncOptOutTransport(next_transport=..., policy=...)) checks."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page())
    site.serve("/tdm", page(("tdm-reservation", "1")))
    counting = CountingTransport(httpx.AsyncHTTPTransport())
    transport = AsyncOptOutTransport(next_transport=counting, policy=policy())
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
        assert (await client.get(site.url("/page"))).extensions["optout"].allowed
        with pytest.raises(OptedOutError) as info:
            await client.get(site.url("/private/x"))
        assert info.value.decision.reasons[0].code == "robots_disallow"
        with pytest.raises(OptedOutError) as info:
            await client.get(site.url("/tdm"))
        assert info.value.decision.reasons[0].code == "tdmrep_header"
        assert info.value.decision.stage == "response"
    assert site.url("/robots.txt") in counting.urls
    assert site.count("/private/x") == 0


# --- streaming and the response stage -----------------------------------------------------------


async def test_streamed_large_allowed_page_arrives_whole(site: Site) -> None:
    """client.stream() of an allowed 3 MB page yields the whole body (async)."""
    body = big_page()
    site.serve("/big", page(body=body))
    async with (
        AsyncOptOutClient(policy=policy(), timeout=5.0) as client,
        client.stream("GET", site.url("/big")) as response,
    ):
        data = b"".join([chunk async for chunk in response.aiter_bytes()])
        decision = response.extensions["optout"]
    assert data == body
    assert decision.allowed


async def test_streamed_reserved_page_raises(site: Site) -> None:
    """client.stream() of a page with a tdm-reservation meta raises at the response stage."""
    site.serve("/reserved", page(body=html('<meta name="tdm-reservation" content="1">')))
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        with pytest.raises(OptedOutError) as info:
            async with client.stream("GET", site.url("/reserved")) as response:
                await response.aread()
    assert info.value.decision.stage == "response"
    assert info.value.decision.reasons[0].code == "tdmrep_meta"


async def test_response_stage_skip_does_not_read_the_rest_of_the_body(site: Site) -> None:
    """A reserved response is closed without reading its (4 s long) body (async)."""
    site.serve_stream("/slow", slow_body, content_type=HTML, headers={"X-Robots-Tag": "noai"})
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        start = time.monotonic()
        with pytest.raises(OptedOutError) as info:
            await client.get(site.url("/slow"))
        elapsed = time.monotonic() - start
    assert info.value.decision.reasons[0].code == "noai_header"
    assert elapsed < 3.0, f"took {elapsed:.2f} s: the body was read"


# --- hostile origins ----------------------------------------------------------------------------


async def test_50mb_tdmrep_is_unavailable_and_not_read_to_its_end(site: Site) -> None:
    """A 50 MB tdmrep.json is cut at the async client's cap: signal_unavailable, fast."""
    site.serve_stream("/.well-known/tdmrep.json", huge_tdmrep, content_type=JSON)
    site.serve("/page", page())
    start = time.monotonic()
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        with pytest.raises(OptedOutError) as info:
            await client.get(site.url("/page"))
    elapsed = time.monotonic() - start
    assert info.value.decision.reasons[0].code == "signal_unavailable"
    assert site.count("/page") == 0
    assert elapsed < 4.0, f"took {elapsed:.2f} s: the client did not stop at its cap"


async def test_page_whose_head_never_ends_is_allowed_whole(site: Site) -> None:
    """A 3 MB page without </head> is allowed and its body returned whole (async)."""
    body = endless_head_page()
    site.serve("/endless", page(body=body))
    async with AsyncOptOutClient(policy=policy(), timeout=5.0) as client:
        response = await client.get(site.url("/endless"))
    assert response.content == body
    assert response.extensions["optout"].allowed


@pytest.mark.parametrize(
    "chunks",
    [pytest.param(stalled_robots, id="stall"), pytest.param(trickled_robots, id="trickle")],
)
async def test_robots_that_stalls_after_its_headers_is_unreachable_in_time(
    site: Site, tmp_path: Path, chunks: Callable[[], Iterator[bytes]]
) -> None:
    """robots.txt that stalls or trickles after its headers is unreachable within the timeout."""
    site.serve_stream("/robots.txt", chunks)
    site.serve("/page", page())
    log = tmp_path / "audit.jsonl"
    start = time.monotonic()
    async with AsyncOptOutClient(policy=policy(audit_log=str(log)), timeout=1.0) as client:
        with pytest.raises(OptedOutError) as info:
            await client.get(site.url("/page"))
    elapsed = time.monotonic() - start
    assert info.value.decision.reasons[0].code == "robots_unreachable"
    assert site.count("/page") == 0
    assert elapsed < 3.0, f"took {elapsed:.2f} s with a 1 s timeout"
    assert [r["reasons"][0]["code"] for r in read(log)] == ["robots_unreachable"]


# --- the compliance log -------------------------------------------------------------------------


async def test_compliance_log_records_every_decision_with_evidence(
    site: Site, tmp_path: Path
) -> None:
    """Every async decision is one chained log line; the deciding tdmrep.json is kept."""
    tdmrep = b'[{"location":"/research/","tdm-reservation":1}]'
    site.serve("/.well-known/tdmrep.json", json_doc(tdmrep))
    site.serve("/ok", page())
    site.serve("/meta", page(body=html('<meta name="robots" content="noai">')))
    log = tmp_path / "audit.jsonl"
    async with AsyncOptOutClient(policy=policy(audit_log=str(log)), timeout=5.0) as client:
        await client.get(site.url("/ok"))
        with pytest.raises(OptedOutError):
            await client.get(site.url("/research/paper"))
        with pytest.raises(OptedOutError):
            await client.get(site.url("/meta"))
    records = list(read(log))
    assert [(r["action"], r["stage"], r["url"]) for r in records] == [
        ("allow", "response", site.url("/ok")),
        ("skip", "request", site.url("/research/paper")),
        ("skip", "response", site.url("/meta")),
    ]
    codes = [r["reasons"][0]["code"] if r["reasons"] else None for r in records]
    assert codes == [None, "tdmrep_file", "noai_meta"]
    assert verify(log).ok
    evidence = records[1]["reasons"][0]["evidence"]
    assert isinstance(evidence, str)
    stored = Path(str(log) + ".evidence") / evidence.removeprefix("sha256:")
    assert stored.read_bytes() == tdmrep
