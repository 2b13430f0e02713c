"""A registry behind HTTP: concurrent lookups batched, answers cached, failures retried, then "down".

:class:`RemoteRegistry` does the work common to every remote format; a :class:`Codec` says how a batch
of URLs becomes a request and its response a set of answers (``http.py``: our protocol, plain or
hashed; ``spawning.py``: the Spawning API).

* **Batching.** A lookup joins the batch being gathered; a batch is sent as soon as one of
  :data:`IN_FLIGHT` sending slots is free, with every URL that joined by then (at most the codec's
  ``max_batch``). A lone caller is never delayed; under concurrency, lookups share requests.
* **Cache.** Answers (empty ones too) are kept for ``cache_ttl`` seconds, per canonical URL, at most
  :data:`CACHE_SIZE` of them (the oldest are dropped first).
* **Failures.** A request that fails (network error, timeout, 429 or 5xx) is retried with exponential
  backoff while the deadline allows; if every try fails, or the answer is malformed or too large,
  the URLs of the batch get ``None`` (the registry is unavailable: ``on_unavailable`` decides,
  DESIGN §5) and the service is considered down for :data:`DOWN_FOR` seconds, during which lookups
  answer ``None`` at once instead of waiting on a dead service.
* **Deadlines** (DESIGN §5.2). A lookup waits at most its *timeout* (the request's, in the shells),
  whatever the batch it joined is doing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from scrapy_optout._core.models import Doc, Fetched, Need, RegistryAnswer
from scrapy_optout._fetch import MAX_DEADLINE, Post, afetch, fetch
from scrapy_optout.registry.entries import canonical_url
from scrapy_optout.registry.protocol import ProtocolError

logger = logging.getLogger("scrapy_optout")

IN_FLIGHT = 4
"""Batches one registry client sends at the same time."""
CACHE_SIZE = 200_000
"""Answers kept in memory."""
DOWN_FOR = 30.0
"""Seconds a registry that failed is not asked again (its lookups answer None at once)."""
RETRIES = 2
"""Tries after the first, for a request that failed in a way that may pass."""
BACKOFF = 0.1
"""Seconds before the first retry; each further one waits twice as long."""
_TRANSIENT = frozenset({0, 408, 425, 429, 500, 502, 503, 504})


def _final(fetched: Fetched) -> bool:
    """Whether a response is the service's last word: not an error that another try could mend."""
    if fetched.error == "too_large":  # the same answer would be as large next time
        return True
    return fetched.error is None and fetched.status not in _TRANSIENT


class Codec(Protocol):
    """How one remote format asks about a batch of URLs and reads the answers."""

    url: str
    """Where requests are POSTed."""
    max_batch: int
    """URLs in one request."""

    def encode(self, urls: list[str]) -> Post:
        """The request body for *urls* (canonical URLs), and its headers (``Content-Type``)."""

    def decode(self, urls: list[str], body: bytes) -> dict[str, RegistryAnswer]:
        """The answers in a response body, keyed by the canonical URLs asked.

        URLs the response does not answer are left out (they get None: unavailable).

        Raises:
            ProtocolError: the body is malformed.
        """


class _Batch:
    """URLs gathered for one request, and their answers once it is done."""

    __slots__ = ("answers", "done", "urls")

    def __init__(self, done: Any) -> None:
        self.urls: dict[str, None] = {}  # ordered set of canonical URLs
        self.answers: dict[str, RegistryAnswer] | None = None
        self.done = done


class RemoteRegistry:
    """A registry service's client, sync (:meth:`lookup`) and async (:meth:`alookup`).

    Args:
        codec: the service's format.
        user_agent: sent with every request.
        cache_ttl: seconds an answer is kept.
        on_status: called with each response's HTTP status (0: no response), for stats.
        transport, async_transport: the httpx transports to use (created when first needed).
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        codec: Codec,
        *,
        user_agent: str,
        cache_ttl: float = 86400.0,
        on_status: Callable[[int], object] | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.codec = codec
        self.source = codec.url
        self.user_agent = user_agent
        self.cache_ttl = cache_ttl
        self.on_status = on_status
        self.clock = clock
        self._transport = transport
        self._async_transport = async_transport
        self._cache: OrderedDict[str, tuple[RegistryAnswer, float]] = OrderedDict()
        self._down_until = float("-inf")
        self._lock = threading.Lock()
        self._open: _Batch | None = None
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        self._aopen: _Batch | None = None
        self._aslots: Any = None  # an anyio.Semaphore, made in the event loop
        self._closed = False

    # -- cache and down state --------------------------------------------------------------------

    def _known(self, key: str) -> RegistryAnswer | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[1] > self.clock():
                return hit[0]
        return None

    def cached(self, url: str) -> RegistryAnswer | None:
        """The answer about *url* held by this client, if fresh; never asks the service."""
        return self._known(canonical_url(url))

    def remember(self, url: str, answer: RegistryAnswer, ttl: float) -> None:
        """Hold *answer* about *url* for *ttl* seconds, as if the service had given it.

        The shared cache (``_shared.py``) hands over another process's answer this way, so that
        the next lookup of *url* here asks neither Redis nor the service.
        """
        with self._lock:
            self._hold({canonical_url(url): answer}, self.clock() + ttl)

    def _hold(self, answers: dict[str, RegistryAnswer], expires: float) -> None:
        """Cache *answers* until *expires*, the oldest dropped beyond CACHE_SIZE (lock held)."""
        for key, answer in answers.items():
            self._cache[key] = (answer, expires)
            self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _settle(
        self, batch: _Batch, answers: dict[str, RegistryAnswer] | None, failed: bool
    ) -> None:
        """Hand the batch its answers; a batch the service *failed* marks it down."""
        now = self.clock()
        with self._lock:
            if failed:
                if now >= self._down_until:
                    logger.warning(
                        "registry %s unavailable: not asked again for %.0f s", self.source, DOWN_FOR
                    )
                self._down_until = now + DOWN_FOR
            elif answers is not None:
                self._hold(answers, now + self.cache_ttl)
        batch.answers = answers or {}

    def _join(
        self, key: str, opened: _Batch | None, make: Callable[[], Any]
    ) -> tuple[_Batch, bool]:
        """Add *key* to the batch being gathered (or start one); return it and leadership."""
        batch, leader = opened, opened is None
        if batch is None:
            batch = _Batch(make())
        batch.urls[key] = None
        return batch, leader

    def _status(self, fetched: Fetched) -> None:
        if self.on_status is not None:
            self.on_status(fetched.status)

    def _read(self, urls: list[str], fetched: Fetched) -> dict[str, RegistryAnswer] | None:
        """The answers of a completed fetch, or None if it failed or is malformed."""
        if fetched.error is not None or fetched.status != 200:
            return None
        try:
            return self.codec.decode(urls, fetched.body)
        except ProtocolError as exc:
            logger.warning("registry %s: malformed answer: %s", self.source, exc)
            return None

    # -- sync ------------------------------------------------------------------------------------

    def lookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """What the registry says about *url*; None when it cannot say (unavailable)."""
        key = canonical_url(url)
        known = self._known(key)
        if known is not None:
            return known
        seconds = min(timeout or MAX_DEADLINE, MAX_DEADLINE)
        with self._lock:
            if self._closed or self.clock() < self._down_until:
                return None
            batch, leader = self._join(key, self._open, threading.Event)
            self._open = None if len(batch.urls) >= self.codec.max_batch else batch
        if not leader:
            if not batch.done.wait(seconds):
                return None
            return batch.answers.get(key) if batch.answers is not None else None
        end = self.clock() + seconds
        answers: dict[str, RegistryAnswer] | None = None
        failed = False  # a batch given up (no free slot in time, an exception) is not a failure
        try:
            if self._slots.acquire(timeout=seconds):
                try:
                    with self._lock:
                        if self._open is batch:
                            self._open = None  # closed: later lookups start the next batch
                    answers = self._send(list(batch.urls), end)
                    failed = answers is None
                finally:
                    self._slots.release()
        finally:
            with self._lock:
                if self._open is batch:
                    self._open = None
            self._settle(batch, answers, failed)
            batch.done.set()
        return answers.get(key) if answers is not None else None

    def _send(self, urls: list[str], end: float) -> dict[str, RegistryAnswer] | None:
        if self._transport is None:
            self._transport = httpx.HTTPTransport()
        body = self.codec.encode(urls)
        need = Need(Doc.REGISTRY, self.codec.url, "")
        for attempt in range(RETRIES + 1):
            remaining = end - self.clock()
            if remaining <= 0:
                break
            fetched = fetch(self._transport, need, self.user_agent, remaining, body)
            self._status(fetched)
            if _final(fetched):
                return self._read(urls, fetched)
            pause = min(BACKOFF * 2**attempt, end - self.clock())
            if attempt < RETRIES and pause > 0:
                time.sleep(pause)
        return None

    # -- async -----------------------------------------------------------------------------------

    async def alookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """The async twin of :meth:`lookup` (any anyio backend: asyncio, trio)."""
        import anyio
        import anyio.lowlevel

        key = canonical_url(url)
        known = self._known(key)
        if known is not None:
            return known
        seconds = min(timeout or MAX_DEADLINE, MAX_DEADLINE)
        if self._closed or self.clock() < self._down_until:
            return None
        batch, leader = self._join(key, self._aopen, anyio.Event)
        self._aopen = None if len(batch.urls) >= self.codec.max_batch else batch
        if not leader:
            with anyio.move_on_after(seconds):
                await batch.done.wait()
            return batch.answers.get(key) if batch.answers is not None else None
        if self._aslots is None:
            self._aslots = anyio.Semaphore(IN_FLIGHT)
        end = self.clock() + seconds
        answers: dict[str, RegistryAnswer] | None = None
        failed = sent = False
        try:
            with anyio.move_on_after(seconds) as scope:
                async with self._aslots:
                    sent = True
                    await anyio.lowlevel.checkpoint()  # lookups started at the same time join
                    if self._aopen is batch:
                        self._aopen = None
                    answers = await self._asend(list(batch.urls), end)
                    failed = answers is None
            # Out of time while sending is a failure; waiting for a free slot is not (as in lookup).
            failed = failed or (scope.cancelled_caught and sent and answers is None)
        finally:
            if self._aopen is batch:
                self._aopen = None
            self._settle(batch, answers, failed)
            batch.done.set()
        return answers.get(key) if answers is not None else None

    async def _asend(self, urls: list[str], end: float) -> dict[str, RegistryAnswer] | None:
        import anyio

        if self._async_transport is None:
            self._async_transport = httpx.AsyncHTTPTransport()
        body = self.codec.encode(urls)
        need = Need(Doc.REGISTRY, self.codec.url, "")
        for attempt in range(RETRIES + 1):
            remaining = end - self.clock()
            if remaining <= 0:
                break
            fetched = await afetch(self._async_transport, need, self.user_agent, remaining, body)
            self._status(fetched)
            if _final(fetched):
                return self._read(urls, fetched)
            pause = min(BACKOFF * 2**attempt, end - self.clock())
            if attempt < RETRIES and pause > 0:
                await anyio.sleep(pause)
        return None

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync transport (the async one needs :meth:`aclose`).

        Cached answers are still given; any other lookup answers None (unavailable).
        """
        self._closed = True
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    async def aclose(self) -> None:
        """Close both transports."""
        self.close()
        transport, self._async_transport = self._async_transport, None
        if transport is not None:
            await transport.aclose()
