"""_resolve.py: cache lifetimes, stale robots.txt, one fetch per key across threads and tasks."""

from __future__ import annotations

import asyncio
import threading
import time

from scrapy_optout._core.documents import State
from scrapy_optout._core.models import Doc, Fetched, Need
from scrapy_optout._resolve import RETRY_AFTER, AsyncResolver, DocumentCache, Resolver

ROBOTS = Need(Doc.ROBOTS, "https://e.org/robots.txt", "https://e.org:443")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(body: bytes = b"User-agent: *\nDisallow: /x\n") -> Fetched:
    return Fetched(url=ROBOTS.url, status=200, body=body)


def test_documents_live_for_cache_ttl(make_policy):
    """A parsed document is served from the cache for cache_ttl seconds, then fetched again."""
    clock = Clock()
    cache = DocumentCache(make_policy(cache_ttl=100), clock=clock)
    cache.settle(ROBOTS, ok())
    clock.now += 99
    assert cache.cached(ROBOTS) is not None
    clock.now += 1
    assert cache.cached(ROBOTS) is None


def test_unavailable_is_retried_after_a_short_delay(make_policy):
    """An unreachable robots.txt is cached only RETRY_AFTER seconds."""
    clock = Clock()
    cache = DocumentCache(make_policy(), clock=clock)
    document = cache.settle(ROBOTS, Fetched(url=ROBOTS.url, status=503))
    assert document.state is State.UNAVAILABLE
    clock.now += RETRY_AFTER
    assert cache.cached(ROBOTS) is None


def test_stale_copy_serves_while_unreachable(make_policy):
    """A copy under 30 days old serves while robots.txt is unreachable, and says so."""
    clock = Clock()
    cache = DocumentCache(make_policy(cache_ttl=3600), clock=clock)
    cache.settle(ROBOTS, ok())
    clock.now += 5 * 86400
    document = cache.settle(ROBOTS, Fetched(url=ROBOTS.url, status=500))
    assert document.state is State.OK
    assert document.detail.startswith("robots.stale: unreachable (HTTP 500)")
    clock.now += 26 * 86400
    assert cache.settle(ROBOTS, Fetched(url=ROBOTS.url, status=500)).state is State.UNAVAILABLE


def test_threads_share_one_fetch(make_policy):
    """Sixteen threads asking at once cause one fetch, and all get its document."""
    calls = []

    def fetch(need: Need, context: object) -> Fetched:
        calls.append(need)
        time.sleep(0.2)
        return ok()

    resolver = Resolver(DocumentCache(make_policy()), fetch)
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolver(ROBOTS))) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 16
    assert all(r is results[0] for r in results)


def test_tasks_share_one_fetch(make_policy):
    """Fifty tasks asking at once cause one fetch, and all get its document."""
    calls = []

    async def fetch(need: Need, context: object) -> Fetched:
        calls.append(need)
        await asyncio.sleep(0.1)
        return ok()

    async def main():
        resolver = AsyncResolver(DocumentCache(make_policy()), fetch)
        return await asyncio.gather(*(resolver(ROBOTS) for _ in range(50)))

    results = asyncio.run(main())
    assert len(calls) == 1
    assert all(r is results[0] for r in results)


def test_failed_leader_lets_a_waiter_fetch(make_policy):
    """If the fetching task is cancelled, a waiting task fetches instead of hanging."""
    calls = []

    async def fetch(need: Need, context: object) -> Fetched:
        calls.append(need)
        await asyncio.sleep(0.2 if len(calls) == 1 else 0)
        return ok()

    async def main():
        resolver = AsyncResolver(DocumentCache(make_policy()), fetch)
        leader = asyncio.create_task(resolver(ROBOTS))
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(resolver(ROBOTS))
        await asyncio.sleep(0.05)
        leader.cancel()
        return await waiter

    assert asyncio.run(main()).state is State.OK
    assert len(calls) == 2
