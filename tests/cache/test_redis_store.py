"""cache/redis_store.py against a real redis-server: shared fetches, TTLs, the fetch lock, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from scrapy_optout._core.models import Fetched, RegistryAnswer, RegistryEntry
from scrapy_optout.cache.redis_store import (
    RedisCache,
    SharedUnavailable,
    decode_answer,
    decode_fetch,
    encode_fetch,
)
from tests.redis_server import RedisServer, free_port, running_redis

FETCHES = [
    Fetched("https://o.org/robots.txt", 200, b"User-agent: *\nDisallow: /x\n"),
    Fetched("https://o.org/robots.txt", 200, b"\x00\xff binary \n\n", None, "https://cdn.o.org/r",
            "text/plain; charset=latin-1", 3600.0),
    Fetched("https://o.org/.well-known/tdmrep.json", 404),
    Fetched("https://o.org/ai.txt", 0, b"", "timeout"),
    Fetched("https://o.org/robots.txt", 200, b"Disallow: /", "too_large"),
]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    """One real redis-server for this module."""
    with running_redis() as running:
        yield running


def run(coroutine: object) -> object:
    """Run *coroutine* on a fresh event loop (each test its own, as each process has one)."""
    return asyncio.run(coroutine)  # type: ignore[arg-type]


@pytest.mark.parametrize("fetched", FETCHES)
def test_a_fetch_survives_its_encoding(fetched: Fetched) -> None:
    """Every kind of fetch (binary body, redirect, error, cut) decodes to itself."""
    assert decode_fetch(encode_fetch(fetched)) == fetched


@pytest.mark.parametrize(
    "value",
    [b"", b"hello", b"optout-fetch-1\n", b"optout-fetch-1\n{not json}\n", b'optout-fetch-1\n{"url": 1}\n',
     (b'optout-fetch-1\n{"url":"u","status":"x","error":null,"final_url":null,"content_type":null,'
      b'"max_age":null}\n'), b"optout-fetch-1\n[1, 2]\n"],
)  # fmt: skip
def test_a_value_that_is_not_ours_is_an_outage_not_a_document(value: bytes) -> None:
    """Garbage under our key is reported as the cache being unusable, never parsed as a document."""
    with pytest.raises(SharedUnavailable):
        decode_fetch(value)


def test_a_shared_fetch_is_read_back_with_its_remaining_lifetime(server: RedisServer) -> None:
    """What one process puts, another reads, with the TTL left."""

    async def scenario() -> None:
        writer, reader = RedisCache(server.url), RedisCache(server.url)
        await writer.put("robots", "http://a:80", FETCHES[1], 60.0)
        found = await reader.get("robots", "http://a:80")
        assert found is not None
        assert found.fetched == FETCHES[1]
        assert 59.0 < found.ttl <= 60.0
        assert await reader.get("tdmrep", "http://a:80") is None
        assert await reader.get("robots", "http://b:80") is None
        await writer.aclose()
        await reader.aclose()

    run(scenario())


def test_a_shared_fetch_expires_with_its_ttl(server: RedisServer) -> None:
    """Past its lifetime the document is gone for every process at once."""

    async def scenario() -> None:
        store = RedisCache(server.url)
        await store.put("robots", "http://exp:80", FETCHES[0], 0.2)
        assert await store.get("robots", "http://exp:80") is not None
        await asyncio.sleep(0.3)
        assert await store.get("robots", "http://exp:80") is None
        await store.aclose()

    run(scenario())


def test_one_lock_holder_and_only_its_token_releases(server: RedisServer) -> None:
    """The fetch lock goes to one process; a wrong token cannot release it."""

    async def scenario() -> None:
        first, second = RedisCache(server.url), RedisCache(server.url)
        token = await first.lock("robots", "http://lock:80")
        assert token is not None
        assert await second.lock("robots", "http://lock:80") is None
        await second.unlock("robots", "http://lock:80", "not-the-token")
        assert await second.lock("robots", "http://lock:80") is None
        await first.unlock("robots", "http://lock:80", token)
        assert await second.lock("robots", "http://lock:80") is not None
        await first.aclose()
        await second.aclose()

    run(scenario())


def test_a_waiter_gets_what_the_lock_holder_shares(server: RedisServer) -> None:
    """A process waiting on the lock receives the holder's fetch once it is put."""

    async def scenario() -> None:
        holder, waiter = RedisCache(server.url), RedisCache(server.url)
        token = await holder.lock("robots", "http://wait:80")
        assert token is not None

        async def fetch_then_share() -> None:
            await asyncio.sleep(0.1)
            await holder.put("robots", "http://wait:80", FETCHES[0], 60.0)
            await holder.unlock("robots", "http://wait:80", token)

        sharing = asyncio.create_task(fetch_then_share())
        found = await waiter.wait("robots", "http://wait:80", poll=0.01)
        await sharing
        assert found is not None
        assert found.fetched == FETCHES[0]
        await holder.aclose()
        await waiter.aclose()

    run(scenario())


def test_a_waiter_gives_up_when_the_holder_dies(server: RedisServer) -> None:
    """A lock whose holder never shares expires; the waiter gets None and fetches for itself."""

    async def scenario() -> None:
        holder = RedisCache(server.url, lock_seconds=0.2)
        waiter = RedisCache(server.url, lock_seconds=5.0)
        assert await holder.lock("robots", "http://dead:80") is not None
        assert await waiter.wait("robots", "http://dead:80", poll=0.01) is None
        await holder.aclose()
        await waiter.aclose()

    run(scenario())


RESERVED = RegistryAnswer((RegistryEntry("domain", "o.org", frozenset({"train-ai"}), "https://o.org/p"),))


def test_a_shared_answer_is_read_back_per_registry_and_url_with_its_lifetime(
    server: RedisServer,
) -> None:
    """One process's registry answer reaches another, for that registry and URL only, with its TTL."""

    async def scenario() -> None:
        writer, reader = RedisCache(server.url), RedisCache(server.url)
        await writer.put_answer("http://reg/v1/lookup", "https://o.org/a", RESERVED, 60.0)
        await writer.put_answer("http://reg/v1/lookup", "https://o.org/free", RegistryAnswer(), 60.0)
        found = await reader.get_answer("http://reg/v1/lookup", "https://o.org/a")
        assert found is not None
        assert found.answer == RESERVED
        assert 59.0 < found.ttl <= 60.0
        free = await reader.get_answer("http://reg/v1/lookup", "https://o.org/free")
        assert free is not None
        assert free.answer == RegistryAnswer()  # "nothing" is an answer too
        assert await reader.get_answer("http://other/v1/lookup", "https://o.org/a") is None
        assert await reader.get_answer("http://reg/v1/lookup", "https://o.org/b") is None
        await writer.put_answer("http://reg/v1/lookup", "https://o.org/brief", RESERVED, 0.2)
        await asyncio.sleep(0.3)
        assert await reader.get_answer("http://reg/v1/lookup", "https://o.org/brief") is None
        await writer.aclose()
        await reader.aclose()

    run(scenario())


@pytest.mark.parametrize(
    "value", [b"", b'{"entries": []}', b"optout-answer-1\n", b"optout-answer-1\n{\"entries\": [7]}",
              b"optout-fetch-1\n{}\n"],
)  # fmt: skip
def test_an_answer_value_that_is_not_ours_is_an_outage(value: bytes) -> None:
    """Garbage under an answer's key is the cache being unusable, never a registry answer."""
    with pytest.raises(SharedUnavailable):
        decode_answer(value)


def test_prefixes_keep_fleets_apart(server: RedisServer) -> None:
    """Two key prefixes on one server share nothing."""

    async def scenario() -> None:
        one = RedisCache(server.url, prefix="fleet-a")
        two = RedisCache(server.url, prefix="fleet-b")
        await one.put("robots", "http://p:80", FETCHES[0], 60.0)
        assert await two.get("robots", "http://p:80") is None
        await one.aclose()
        await two.aclose()

    run(scenario())


@pytest.mark.parametrize("call", ["get", "put", "lock", "unlock", "wait", "get_answer", "put_answer"])
def test_an_unreachable_server_is_reported_not_hidden(call: str) -> None:
    """Every call to a server that is not there raises SharedUnavailable (never a silent miss)."""

    async def scenario() -> None:
        store = RedisCache(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
        arguments = {"put": (FETCHES[0], 60.0), "unlock": ("token",),
                     "put_answer": (RESERVED, 60.0)}.get(call, ())  # fmt: skip
        with pytest.raises(SharedUnavailable, match=r"ConnectionError|Connection refused"):
            await getattr(store, call)("robots", "http://down:80", *arguments)
        await store.aclose()

    run(scenario())


def test_a_server_stopped_mid_way_is_reported() -> None:
    """A server that goes away after working is an outage on the next call."""
    own = RedisServer()
    own.start()

    async def scenario() -> None:
        store = RedisCache(own.url, timeout=0.5)
        await store.put("robots", "http://gone:80", FETCHES[0], 60.0)
        own.stop()
        with pytest.raises(SharedUnavailable):
            await store.get("robots", "http://gone:80")
        await store.aclose()

    try:
        run(scenario())
    finally:
        own.stop()
