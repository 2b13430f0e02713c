"""Side documents and registry answers shared by crawler processes through Redis (issue 10).

What is shared is the fetch — the raw body and its metadata — never a parser object: each process
parses a shared fetch itself (``document_from_fetch``), so processes of different versions can
share one Redis, and the document every process decides on is the one fetched. Keys are scoped by
origin, not by spider, since an origin's opt-out belongs to the origin::

    {prefix}:doc:{document}:{origin}    the fetch, with a TTL of the document's lifetime
    {prefix}:lock:{document}:{origin}   SET NX PX: one process fetches, the others wait
    {prefix}:registry:{sha256}          a registry's answer about one URL (integration.md §3.2),
                                        keyed by the hash of the registry and the canonical URL

Lifetimes are the resolver's (RFC 9309 §2.4: 24 h; 60 s after an error; an RSL licence its
max-age), set as the key's TTL, so every process stops trusting a document at the same moment.

Registry answers take no lock: they are per URL, and a fleet's shared dupefilter already gives each
URL to one process, so a lock would cost more round trips than it saves; what sharing saves is the
retries, re-crawls and overlapping frontiers of a fleet.

Failures: every Redis error is raised as :class:`SharedUnavailable`. The resolver then fetches for
itself and records that the shared cache could not be used; a cache that is down never turns
into "allow" (hishel's storage contract, integration.md §3.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.exceptions import RedisError

from scrapy_optout._core.models import Fetched, RegistryAnswer
from scrapy_optout.registry.protocol import ProtocolError, answer_json, read_answer_json

_T = TypeVar("_T")
# What a Redis call raises when the server cannot be used: redis-py's own errors, a socket's,
# and a timeout of the event loop's.
_FAILURES = (RedisError, OSError, asyncio.TimeoutError)

PREFIX = "optout:v1"
"""Key prefix (versioned: a new value format gets a new prefix, never a misread value)."""
LOCK_SECONDS = 30.0
"""How long a fetching process holds an origin document's lock at most (then others fetch)."""
POLL_SECONDS = 0.05
"""How often a waiting process looks for the document another process is fetching."""

_MAGIC = b"optout-fetch-1\n"
_ANSWER = b"optout-answer-1\n"
# Delete the lock only if it is still ours (a lock that expired may have been taken by another).
_UNLOCK = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0
"""


class SharedUnavailable(Exception):
    """Redis could not be used (unreachable, timed out, refused, or a value that is not ours)."""


@dataclass(frozen=True, slots=True)
class SharedFetch:
    """A fetch read from the shared cache, and how long it stays fresh (seconds)."""

    fetched: Fetched
    ttl: float


def encode_fetch(fetched: Fetched) -> bytes:
    """*fetched* as the shared value: a magic line, a JSON line of metadata, then the body."""
    meta = {
        "url": fetched.url,
        "status": fetched.status,
        "error": fetched.error,
        "final_url": fetched.final_url,
        "content_type": fetched.content_type,
        "max_age": fetched.max_age,
    }
    return b"".join((_MAGIC, json.dumps(meta, ensure_ascii=True).encode("ascii"), b"\n",
                     bytes(fetched.body)))  # fmt: skip


def decode_fetch(value: bytes) -> Fetched:
    """The fetch :func:`encode_fetch` wrote; raises :class:`SharedUnavailable` on anything else."""
    if not value.startswith(_MAGIC):
        raise SharedUnavailable("shared value is not a scrapy_optout fetch")
    head, newline, body = value[len(_MAGIC) :].partition(b"\n")
    try:
        meta = json.loads(head) if newline else None
        if not isinstance(meta, dict):
            raise ValueError("no metadata object")
        fetched = Fetched(
            url=str(meta["url"]),
            status=int(meta["status"]),
            body=body,
            error=None if meta["error"] is None else str(meta["error"]),
            final_url=None if meta["final_url"] is None else str(meta["final_url"]),
            content_type=None if meta["content_type"] is None else str(meta["content_type"]),
            max_age=None if meta["max_age"] is None else float(meta["max_age"]),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise SharedUnavailable(f"shared value is malformed: {exc}") from None
    return fetched


@dataclass(frozen=True, slots=True)
class SharedAnswer:
    """A registry answer read from the shared cache, and how long it stays fresh (seconds)."""

    answer: RegistryAnswer
    ttl: float


def decode_answer(value: bytes) -> RegistryAnswer:
    """The answer :meth:`RedisCache.put_answer` wrote; :class:`SharedUnavailable` on anything else."""
    if not value.startswith(_ANSWER):
        raise SharedUnavailable("shared value is not a scrapy_optout registry answer")
    try:
        return read_answer_json(value[len(_ANSWER) :])
    except ProtocolError as exc:
        raise SharedUnavailable(f"shared answer is malformed: {exc}") from None


class RedisCache:
    """The shared cache of side documents and registry answers over ``redis.asyncio``.

    Args:
        url: ``redis://`` (or ``rediss://``, ``unix://``) URL of the server.
        prefix: key prefix; processes that share decisions use the same one.
        lock_seconds: the longest one process may hold a document's fetch for the others.
        timeout: seconds any one Redis call may take before the cache counts as unavailable.
        client: an existing ``redis.asyncio.Redis`` (for tests); otherwise made from *url*.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = PREFIX,
        lock_seconds: float = LOCK_SECONDS,
        timeout: float = 2.0,
        client: Any = None,
    ) -> None:
        if client is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        self._client = client
        self._prefix = prefix
        self._lock_ms = max(1, int(lock_seconds * 1000))

    def _key(self, kind: str, doc: str, origin: str) -> str:
        return f"{self._prefix}:{kind}:{doc}:{origin}"

    @staticmethod
    async def _do(call: Awaitable[_T]) -> _T:
        """Await one Redis call; any failure of the server becomes :class:`SharedUnavailable`."""
        try:
            return await call
        except _FAILURES as exc:
            raise SharedUnavailable(f"{type(exc).__name__}: {exc}") from None

    async def _get_with_ttl(self, key: str) -> tuple[bytes | None, int | None]:
        async with self._client.pipeline(transaction=True) as pipe:
            value, pttl = await pipe.get(key).pttl(key).execute()
        return value, pttl

    async def _fresh(self, key: str) -> tuple[bytes, float] | None:
        """The value under *key* and the seconds it has left; None if absent or expiring now."""
        value, pttl = await self._do(self._get_with_ttl(key))
        if value is None or pttl is None or pttl <= 0:
            return None
        return value, pttl / 1000

    async def _share(self, key: str, value: bytes, ttl: float) -> None:
        """Set *key* to *value* for *ttl* seconds (at least one millisecond)."""
        await self._do(self._client.set(key, value, px=max(1, int(ttl * 1000))))

    async def get(self, doc: str, origin: str) -> SharedFetch | None:
        """The shared fetch of *doc* for *origin*, with its remaining lifetime, if any."""
        found = await self._fresh(self._key("doc", doc, origin))
        return None if found is None else SharedFetch(decode_fetch(found[0]), found[1])

    async def put(self, doc: str, origin: str, fetched: Fetched, ttl: float) -> None:
        """Share *fetched* for *ttl* seconds."""
        await self._share(self._key("doc", doc, origin), encode_fetch(fetched), ttl)

    def _answer_key(self, registry: str, url: str) -> str:
        digest = hashlib.sha256(f"{registry}\n{url}".encode()).hexdigest()
        return f"{self._prefix}:registry:{digest}"

    async def get_answer(self, registry: str, url: str) -> SharedAnswer | None:
        """The shared answer of *registry* about *url* (canonical), with its remaining lifetime."""
        found = await self._fresh(self._answer_key(registry, url))
        return None if found is None else SharedAnswer(decode_answer(found[0]), found[1])

    async def put_answer(self, registry: str, url: str, answer: RegistryAnswer, ttl: float) -> None:
        """Share *registry*'s *answer* about *url* (canonical) for *ttl* seconds."""
        await self._share(self._answer_key(registry, url), _ANSWER + answer_json(answer), ttl)

    async def lock(self, doc: str, origin: str) -> str | None:
        """Take the right to fetch *doc* for *origin*; the token to release it, or None if taken."""
        token = secrets.token_hex(16)
        key = self._key("lock", doc, origin)
        taken = await self._do(self._client.set(key, token, nx=True, px=self._lock_ms))
        return token if taken else None

    async def unlock(self, doc: str, origin: str, token: str) -> None:
        """Give the right to fetch back, if it is still ours."""
        await self._do(self._client.eval(_UNLOCK, 1, self._key("lock", doc, origin), token))

    async def wait(self, doc: str, origin: str, poll: float = POLL_SECONDS) -> SharedFetch | None:
        """Wait for the process holding the lock to share the fetch.

        Returns it, or None when the lock went away (or its time ran out) without a fetch shared:
        the holder failed, and the caller fetches for itself.
        """
        deadline = time.monotonic() + self._lock_ms / 1000
        lock = self._key("lock", doc, origin)
        while True:
            found = await self.get(doc, origin)
            if found is not None:
                return found
            held = await self._do(self._client.exists(lock))
            if not held or time.monotonic() >= deadline:
                return await self.get(doc, origin)  # it may have been shared just before
            await asyncio.sleep(poll)

    async def aclose(self) -> None:
        """Close the connection pool (errors closing a dead connection are ignored)."""
        with contextlib.suppress(*_FAILURES):
            await self._client.aclose()
