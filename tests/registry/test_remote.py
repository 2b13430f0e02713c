"""``RemoteRegistry`` (``registry/remote.py``) against a real local ``/v1/lookup`` endpoint.

The endpoint is a :class:`~tests.httpsite.Site` (a threaded pytest-httpserver on 127.0.0.1) whose
handler records every batch of URLs it is asked, and answers from a script (a status, a raw body,
or a stall) before answering normally: each URL with a ``url`` entry of its own, none under
``/free``. The registry's own clock injection makes the cache and the "down" state testable without
waiting; the deadline and backoff tests use real time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from werkzeug import Request, Response

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout.registry import remote
from scrapy_optout.registry.http import LookupCodec
from scrapy_optout.registry.protocol import lookup_response, read_lookup_request
from scrapy_optout.registry.remote import BACKOFF, DOWN_FOR, IN_FLIGHT, RETRIES, RemoteRegistry
from tests.httpsite import AGENT, Site, closed_origin

STALL = "stall"
"""A script step: hold the answer until the test ends (at most :data:`STALL_FOR` s)."""
STALL_FOR = 5.0
Step = int | bytes | str
"""A status answered with an empty body, a raw 200 body, or :data:`STALL`."""


def answer_for(url: str) -> RegistryAnswer:
    """What the endpoint answers for a canonical *url*: a url entry of its own, none under /free."""
    if "/free" in url:
        return RegistryAnswer(())
    return RegistryAnswer((RegistryEntry("url", url, frozenset({"train-ai"})),))


class Lookups:
    """``POST /v1/lookup`` on a site: records the batches asked, plays its script, then answers."""

    def __init__(self, site: Site) -> None:
        self.batches: list[list[str]] = []
        self.script: list[Step] = []
        self.delay = 0.0
        self.stall_for = STALL_FOR
        self.release = threading.Event()
        self._lock = threading.Lock()
        site.expect_request("/v1/lookup", method="POST").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        urls = read_lookup_request(request.get_data())
        with self._lock:
            self.batches.append(urls)
            step = self.script.pop(0) if self.script else None
        if isinstance(step, int):
            return Response(b"", status=step)
        if isinstance(step, bytes):
            return Response(step, content_type="application/json")
        if step == STALL:
            self.release.wait(self.stall_for)
        elif self.delay:
            time.sleep(self.delay)
        body = lookup_response([(url, answer_for(url)) for url in urls])
        return Response(body, content_type="application/json")

    @property
    def asked(self) -> list[str]:
        """Every URL asked, batch after batch."""
        return [url for batch in self.batches for url in batch]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock *seconds* ahead."""
        self.now += seconds


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio."""
    return "asyncio"


@pytest.fixture
def lookups(site: Site) -> Iterator[Lookups]:
    """The endpoint on a fresh site; a stalled answer is released when the test ends."""
    endpoint = Lookups(site)
    yield endpoint
    endpoint.release.set()


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock."""
    return Clock()


@pytest.fixture
def make(site: Site) -> Iterator[Callable[..., RemoteRegistry]]:
    """Build RemoteRegistry clients of the site's endpoint (closed at the end of the test)."""
    made: list[RemoteRegistry] = []

    def build(
        *, max_batch: int | None = None, root: str | None = None, **options: Any
    ) -> RemoteRegistry:
        codec = LookupCodec(root or site.origin)
        if max_batch is not None:
            codec.max_batch = max_batch
        registry = RemoteRegistry(codec, user_agent=AGENT, **options)
        made.append(registry)
        return registry

    yield build
    for registry in made:
        registry.close()


# --- one lookup ------------------------------------------------------------------------------


def test_a_lookup_posts_the_canonical_url_with_our_user_agent(make, lookups, site):
    """One lookup is one POST of the canonical URL, with our user agent; its answer is returned."""
    statuses: list[int] = []
    registry = make(on_status=statuses.append)
    answer = registry.lookup("HTTPS://Pages.TEST:443/a.html#top", timeout=5.0)
    assert answer == answer_for("https://pages.test/a.html")
    assert lookups.batches == [["https://pages.test/a.html"]]
    assert site.agents("/v1/lookup") == [AGENT]
    assert statuses == [200]


# --- cache -----------------------------------------------------------------------------------


def test_an_answer_is_served_from_the_cache_within_its_ttl(make, lookups, clock):
    """Within cache_ttl the same URL (in any spelling) is answered without a new request."""
    registry = make(cache_ttl=60.0, clock=clock)
    first = registry.lookup("https://pages.test/a.html", timeout=5.0)
    clock.advance(59.5)
    again = registry.lookup("https://pages.test/a.html", timeout=5.0)
    respelled = registry.lookup("HTTPS://PAGES.test/a.html#x", timeout=5.0)
    assert first == again == respelled == answer_for("https://pages.test/a.html")
    assert len(lookups.batches) == 1


def test_an_empty_answer_is_cached_too(make, lookups, clock):
    """A URL the registry has nothing about is not asked again within the TTL."""
    registry = make(cache_ttl=60.0, clock=clock)
    assert registry.lookup("https://pages.test/free.html", timeout=5.0) == RegistryAnswer(())
    clock.advance(30.0)
    assert registry.lookup("https://pages.test/free.html", timeout=5.0) == RegistryAnswer(())
    assert len(lookups.batches) == 1


def test_an_answer_expires_after_its_ttl_and_is_asked_again(make, lookups, clock):
    """Once cache_ttl has passed, the next lookup of the URL asks the service again."""
    registry = make(cache_ttl=60.0, clock=clock)
    registry.lookup("https://pages.test/a.html", timeout=5.0)
    clock.advance(60.0)
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) == answer_for(
        "https://pages.test/a.html"
    )
    assert lookups.batches == [["https://pages.test/a.html"], ["https://pages.test/a.html"]]


def test_cached_never_asks_and_remember_serves_an_answer_for_its_ttl(make, lookups, clock):
    """cached() reads the client's cache alone; an answer remembered is served until its TTL ends."""
    registry = make(cache_ttl=600.0, clock=clock)
    given = RegistryAnswer((RegistryEntry("domain", "pages.test", frozenset()),))
    assert registry.cached("https://pages.test/r.html") is None
    registry.remember("HTTPS://PAGES.test/r.html", given, 10.0)
    assert registry.cached("https://pages.test/r.html") == given
    assert registry.lookup("https://pages.test/r.html", timeout=5.0) == given
    clock.advance(10.0)  # the remembered TTL, not cache_ttl, bounds it
    assert registry.cached("https://pages.test/r.html") is None
    assert registry.lookup("https://pages.test/r.html", timeout=5.0) == answer_for(
        "https://pages.test/r.html"
    )
    assert lookups.batches == [["https://pages.test/r.html"]]


def test_the_cache_drops_its_oldest_answers_beyond_cache_size(make, lookups, monkeypatch):
    """With CACHE_SIZE answers kept, a third URL pushes the first out; the second stays."""
    monkeypatch.setattr(remote, "CACHE_SIZE", 2)
    registry = make()
    urls = [f"https://pages.test/{n}.html" for n in range(3)]
    for url in urls:
        registry.lookup(url, timeout=5.0)
    registry.lookup(urls[1], timeout=5.0)
    registry.lookup(urls[0], timeout=5.0)
    assert lookups.asked == [*urls, urls[0]]


# --- failures and retries --------------------------------------------------------------------


@pytest.mark.parametrize("failures", [[503], [503, 502], [429, 500], [504, 408]])
def test_transient_statuses_are_retried_with_backoff_then_answered(make, lookups, failures):
    """429/5xx/408 are retried after BACKOFF, doubling, and the answer that follows is returned."""
    lookups.script = list(failures)
    statuses: list[int] = []
    registry = make(on_status=statuses.append)
    started = time.monotonic()
    answer = registry.lookup("https://pages.test/a.html", timeout=5.0)
    elapsed = time.monotonic() - started
    assert answer == answer_for("https://pages.test/a.html")
    assert len(lookups.batches) == len(failures) + 1
    assert statuses == [*failures, 200]
    assert elapsed >= sum(BACKOFF * 2**n for n in range(len(failures)))


def test_a_timed_out_try_is_retried_while_the_deadline_allows(make, lookups, clock):
    """A try that times out (status 0) is retried, here with time left on the registry's clock."""
    lookups.script = [STALL]
    statuses: list[int] = []
    registry = make(clock=clock, on_status=statuses.append)  # its clock stands still
    started = time.monotonic()
    answer = registry.lookup("https://pages.test/a.html", timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert answer == answer_for("https://pages.test/a.html")
    assert statuses == [0, 200]
    assert len(lookups.batches) == 2


def test_failing_every_try_is_none_after_retries_then_the_registry_is_down(make, lookups, clock):
    """RETRIES + 1 tries of 503 give None; until DOWN_FOR passes nothing is asked, then it is."""
    lookups.script = [503] * (RETRIES + 1)
    statuses: list[int] = []
    registry = make(clock=clock, on_status=statuses.append)
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert len(lookups.batches) == RETRIES + 1
    clock.advance(DOWN_FOR - 0.1)
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) is None
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert len(lookups.batches) == RETRIES + 1  # not contacted while down
    assert statuses == [503] * (RETRIES + 1)
    clock.advance(0.2)
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) == answer_for(
        "https://pages.test/b.html"
    )
    assert len(lookups.batches) == RETRIES + 2


def test_cached_answers_are_still_served_while_down(make, lookups, clock):
    """Being down only stops new questions: an answer in the cache is still given."""
    registry = make(clock=clock)
    known = registry.lookup("https://pages.test/a.html", timeout=5.0)
    lookups.script = [503] * (RETRIES + 1)
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) is None
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) == known
    assert len(lookups.batches) == 1 + RETRIES + 1


def test_the_down_state_lasts_the_modules_down_for(make, lookups, monkeypatch):
    """With the real clock and DOWN_FOR patched short, the service is asked again once it passes."""
    monkeypatch.setattr(remote, "DOWN_FOR", 0.3)
    lookups.script = [503] * (RETRIES + 1)
    registry = make()
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert len(lookups.batches) == RETRIES + 1
    time.sleep(0.35)
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) == answer_for(
        "https://pages.test/a.html"
    )


@pytest.mark.parametrize("code", [400, 404, 403])
def test_client_errors_are_not_retried_and_give_none(make, lookups, code):
    """A 4xx other than 408/425/429 is tried once: None, and the registry counts as down."""
    lookups.script = [code]
    statuses: list[int] = []
    registry = make(on_status=statuses.append)
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert statuses == [code]
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) is None
    assert len(lookups.batches) == 1


def test_an_unreachable_service_reports_status_0_for_each_try(make):
    """Nothing listening: RETRIES + 1 tries reported as status 0, then None, not an exception."""
    statuses: list[int] = []
    registry = make(root=closed_origin(), on_status=statuses.append)
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert statuses == [0] * (RETRIES + 1)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b'{"results": 7}',
        b'{"results": [{"url": 1, "entries": []}]}',
        b'{"results": [{"url": "https://pages.test/a.html"}]}',
        b'{"results": [{"url": "https://pages.test/a.html", "entries": [{"scope": "planet"}]}]}',
    ],
)
def test_a_malformed_answer_is_none_not_an_exception(make, lookups, caplog, body):
    """A 200 whose body breaks the protocol gives None, logs why, and marks the registry down."""
    lookups.script = [body]
    registry = make()
    with caplog.at_level(logging.WARNING, logger="scrapy_optout"):
        assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert any("malformed answer" in record.getMessage() for record in caplog.records)
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) is None
    assert len(lookups.batches) == 1


def test_an_answer_over_the_size_cap_is_none_and_not_fetched_again(make, lookups):
    """An answer larger than the registry cap (8 MiB) is not read whole: None, without a retry."""
    huge = b'{"results": [' + b" " * (9 * 1024 * 1024) + b"]}"
    lookups.script = [huge] * (RETRIES + 1)
    registry = make()
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert len(lookups.batches) == 1


def test_a_url_left_out_of_the_answer_is_none_but_not_cached_nor_down(make, lookups):
    """A well-formed answer without the URL gives it None; the next lookup asks again."""
    lookups.script = [b'{"results": []}']
    registry = make()
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) is None
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) == answer_for(
        "https://pages.test/a.html"
    )
    assert len(lookups.batches) == 2


# --- deadlines -------------------------------------------------------------------------------


def test_the_timeout_bounds_a_lookup_of_a_stalled_service(make, lookups):
    """A service that does not answer: the lookup is None within its timeout, then down."""
    lookups.script = [STALL]
    registry = make()
    started = time.monotonic()
    assert registry.lookup("https://pages.test/a.html", timeout=0.5) is None
    assert time.monotonic() - started < 0.5 + 0.5
    assert registry.lookup("https://pages.test/b.html", timeout=0.5) is None
    assert len(lookups.batches) == 1


def test_a_lookup_waits_at_most_its_own_timeout_whatever_its_batch_does(make, lookups, monkeypatch):
    """The only slot held by a stalled request: a lookup in the waiting batch gives up in time."""
    monkeypatch.setattr(remote, "IN_FLIGHT", 1)
    lookups.script = [STALL]
    registry = make()
    elapsed: dict[str, float] = {}

    def ask(name: str, timeout: float) -> None:
        started = time.monotonic()
        registry.lookup(f"https://pages.test/{name}.html", timeout=timeout)
        elapsed[name] = time.monotonic() - started

    threads = [
        threading.Thread(target=ask, args=("stalled", 1.5)),  # holds the slot
        threading.Thread(target=ask, args=("waiting", 1.0)),  # leads the next batch
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    ask("quick", 0.3)  # joins the waiting batch
    for thread in threads:
        thread.join(5.0)
    assert elapsed["quick"] < 0.3 + 0.4
    assert 0.9 < elapsed["waiting"] < 1.0 + 0.4
    assert 1.4 < elapsed["stalled"] < 1.5 + 0.5
    assert lookups.asked == ["https://pages.test/stalled.html"]  # the waiting batch never went


def test_a_lookup_given_up_for_want_of_a_slot_does_not_mark_the_registry_down(
    make, lookups, monkeypatch
):
    """No sending slot free within the timeout: None, the service unasked, and not counted down."""
    monkeypatch.setattr(remote, "IN_FLIGHT", 1)
    lookups.script = [STALL]
    lookups.stall_for = 0.5  # then the held request is answered
    registry = make()
    holder = threading.Thread(
        target=registry.lookup, args=("https://pages.test/held.html",), kwargs={"timeout": 5.0}
    )
    holder.start()
    time.sleep(0.05)
    assert registry.lookup("https://pages.test/waiting.html", timeout=0.2) is None
    holder.join(5.0)
    assert registry.lookup("https://pages.test/after.html", timeout=5.0) == answer_for(
        "https://pages.test/after.html"
    )
    assert lookups.asked == ["https://pages.test/held.html", "https://pages.test/after.html"]


@pytest.mark.anyio
async def test_an_alookup_waiting_for_a_slot_returns_by_its_own_timeout(make, lookups, monkeypatch):
    """The only slot held by a stalled request: the next batch's alookups give up in time, unsent."""
    monkeypatch.setattr(remote, "IN_FLIGHT", 1)
    lookups.script = [STALL]
    registry = make()

    async def timed(name: str, timeout: float) -> float:
        started = time.monotonic()
        await registry.alookup(f"https://pages.test/{name}.html", timeout=timeout)
        return time.monotonic() - started

    try:
        stalled = asyncio.create_task(timed("stalled", 1.0))
        await asyncio.sleep(0.05)
        waiting, quick = await asyncio.gather(timed("waiting", 0.3), timed("quick", 0.2))
        held = await stalled
    finally:
        await registry.aclose()
    assert waiting < 0.3 + 0.4
    assert quick < 0.2 + 0.4
    assert 0.9 < held < 1.0 + 0.5
    assert lookups.asked == ["https://pages.test/stalled.html"]


@pytest.mark.anyio
async def test_an_alookup_given_up_for_want_of_a_slot_does_not_mark_the_registry_down(
    make, lookups, monkeypatch
):
    """No free slot within the timeout: None, unasked, and the next alookup is sent and answered."""
    monkeypatch.setattr(remote, "IN_FLIGHT", 1)
    lookups.script = [STALL]
    lookups.stall_for = 0.5  # then the held request is answered
    registry = make()
    try:
        held = asyncio.create_task(registry.alookup("https://pages.test/held.html", timeout=5.0))
        await asyncio.sleep(0.05)
        assert await registry.alookup("https://pages.test/waiting.html", timeout=0.2) is None
        await held
        after = await registry.alookup("https://pages.test/after.html", timeout=5.0)
    finally:
        await registry.aclose()
    assert after == answer_for("https://pages.test/after.html")
    assert lookups.asked == ["https://pages.test/held.html", "https://pages.test/after.html"]


@pytest.mark.anyio
async def test_the_timeout_bounds_an_alookup_of_a_stalled_service(make, lookups):
    """The async lookup of a stalled service is None within its timeout, then down."""
    lookups.script = [STALL]
    registry = make()
    try:
        started = time.monotonic()
        assert await registry.alookup("https://pages.test/a.html", timeout=0.5) is None
        assert time.monotonic() - started < 0.5 + 0.5
        assert await registry.alookup("https://pages.test/b.html", timeout=0.5) is None
        assert len(lookups.batches) == 1
    finally:
        await registry.aclose()


# --- batching --------------------------------------------------------------------------------


def test_fifty_threads_share_few_posts_each_url_asked_once(make, lookups):
    """50 lookups at once: at most ceil(50/max_batch) + IN_FLIGHT POSTs, each URL in exactly one."""
    lookups.delay = 0.2  # every slot stays busy while the others gather
    batch = 8
    registry = make(max_batch=batch)
    urls = [f"https://many.test/{n}.html" for n in range(50)]
    barrier = threading.Barrier(len(urls), timeout=10.0)

    def ask(url: str) -> RegistryAnswer | None:
        barrier.wait()
        return registry.lookup(url, timeout=10.0)

    with ThreadPoolExecutor(len(urls)) as pool:
        answers = list(pool.map(ask, urls))
    assert answers == [answer_for(url) for url in urls]
    assert sorted(lookups.asked) == sorted(urls)
    assert max(len(b) for b in lookups.batches) <= batch
    assert len(lookups.batches) <= math.ceil(len(urls) / batch) + IN_FLIGHT


@pytest.mark.anyio
async def test_two_hundred_alookups_share_few_posts_each_url_asked_once(make, lookups):
    """200 alookups gathered: few POSTs of at most max_batch URLs, each URL once, then cached."""
    lookups.delay = 0.1
    batch = 16
    registry = make(max_batch=batch)
    urls = [f"https://many.test/{n}.html" for n in range(200)]
    try:
        answers = await asyncio.gather(*(registry.alookup(url, timeout=10.0) for url in urls))
        posts = len(lookups.batches)
        again = await asyncio.gather(*(registry.alookup(url, timeout=10.0) for url in urls))
    finally:
        await registry.aclose()
    assert answers == again == [answer_for(url) for url in urls]
    assert sorted(lookups.asked) == sorted(urls)
    assert max(len(b) for b in lookups.batches) <= batch
    assert math.ceil(len(urls) / batch) <= posts <= math.ceil(len(urls) / batch) + IN_FLIGHT
    assert len(lookups.batches) == posts  # the second round came from the cache


@pytest.mark.anyio
async def test_async_failures_retry_and_mark_the_registry_down_for_both_sides(make, lookups, clock):
    """The async side retries 503s too; once it gives up, both sides answer None unasked."""
    lookups.script = [503] * (RETRIES + 1)
    statuses: list[int] = []
    registry = make(clock=clock, on_status=statuses.append)
    try:
        assert await registry.alookup("https://pages.test/a.html", timeout=5.0) is None
        assert statuses == [503] * (RETRIES + 1)
        assert await registry.alookup("https://pages.test/b.html", timeout=5.0) is None
        assert registry.lookup("https://pages.test/c.html", timeout=5.0) is None
        assert len(lookups.batches) == RETRIES + 1
        clock.advance(DOWN_FOR)
        assert await registry.alookup("https://pages.test/b.html", timeout=5.0) == answer_for(
            "https://pages.test/b.html"
        )
    finally:
        await registry.aclose()


# --- lifetime --------------------------------------------------------------------------------


def test_close_is_idempotent_and_a_closed_registry_asks_nothing(make, lookups):
    """After close() (twice) the cache still answers; a new URL is unavailable, never sent."""
    registry = make()
    first = registry.lookup("https://pages.test/a.html", timeout=5.0)
    registry.close()
    registry.close()
    assert registry.lookup("https://pages.test/a.html", timeout=5.0) == first
    assert registry.lookup("https://pages.test/b.html", timeout=5.0) is None
    assert len(lookups.batches) == 1


@pytest.mark.anyio
async def test_aclose_is_idempotent_and_a_closed_registry_asks_nothing(make, lookups):
    """After aclose() (twice) the cache still answers; new URLs are unavailable, sync or async."""
    registry = make()
    try:
        first = await registry.alookup("https://pages.test/a.html", timeout=5.0)
        registry.lookup("https://pages.test/s.html", timeout=5.0)
        await registry.aclose()
        await registry.aclose()
        assert await registry.alookup("https://pages.test/a.html", timeout=5.0) == first
        assert await registry.alookup("https://pages.test/b.html", timeout=5.0) is None
        assert registry.lookup("https://pages.test/c.html", timeout=5.0) is None
    finally:
        await registry.aclose()
    assert len(lookups.batches) == 2
