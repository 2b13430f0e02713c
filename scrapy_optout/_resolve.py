"""Fetch -> parse -> cache, one flight per (document, origin), for both shells.

The core's pre-request flow yields :class:`~scrapy_optout._core.models.Need` records; a resolver
answers each with a :class:`~scrapy_optout._core.documents.Document`, from the cache when fresh,
otherwise by fetching it once however many requests wait: the first caller fetches, every waiter
gets that same document (never "allow" by accident, unlike Scrapy's RobotsTxtMiddleware,
integration.md §1.3).

Lifetimes (RFC 9309 §2.4, standards.md §0.6): a document read (or found absent) is trusted for
``Policy.cache_ttl`` (24 h by default), an RSL licence document for its ``max-age`` (30 days by
default, standards.md §0.6); an unavailable one is retried after :data:`RETRY_AFTER`
seconds; while robots.txt is unreachable, a copy fetched less than 30 days ago serves instead
(RFC 9309 §2.4 allows it; Google does the same).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._core.documents import Document, State, document_from_fetch, registry_document
from ._core.models import Doc, Fetched, Need
from ._core.policy import Policy
from ._core.rsl import RslDocument
from .cache.memory import CacheEntry, MemoryStore

if TYPE_CHECKING:
    from ._shared import SharedFetches

RETRY_AFTER = 60.0
"""Seconds before an unavailable document (robots.txt 5xx, tdmrep.json timeout...) is fetched again."""
STALE_MAX = 30 * 86400.0
"""How old a robots.txt copy may be and still serve while robots.txt is unreachable."""


class DocumentCache:
    """Turns fetches into cached documents with the lifetimes above.

    Args:
        policy: gives ``cache_ttl``.
        store: where documents live (shared by every transport of a client).
        clock: monotonic seconds; injectable for tests.
    """

    def __init__(
        self,
        policy: Policy,
        store: MemoryStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.store = store if store is not None else MemoryStore()
        self.clock = clock

    def cached(self, need: Need) -> Document | None:
        """The fresh cached document for *need*, if any."""
        entry = self.store.get((need.doc, need.origin), self.clock())
        return None if entry is None else entry.document

    def settle(self, need: Need, fetched: Fetched, ttl: float | None = None) -> Document:
        """Parse a fetch, cache the document for its lifetime, and return it."""
        return self.settle_entry(need, fetched, ttl).document

    def settle_entry(self, need: Need, fetched: Fetched, ttl: float | None = None) -> CacheEntry:
        """:meth:`settle`, returning the cache entry.

        *ttl* overrides the lifetime: a fetch shared by another process keeps what it has left.
        """
        document = document_from_fetch(need.doc, fetched)
        now = fetched_at = self.clock()
        source: Fetched | None = fetched
        lifetime = self.policy.cache_ttl
        if isinstance(document.parsed, RslDocument):  # RSL: cached for its max-age (days)
            lifetime = document.parsed.max_age_seconds
        if document.state is State.UNAVAILABLE:
            lifetime = min(lifetime, RETRY_AFTER)
            if need.doc == Doc.ROBOTS:
                good = self.store.last_good(need.origin, now, STALE_MAX)
                if good is not None:
                    age = int(now - good.fetched_at)
                    detail = f"robots.stale: unreachable ({document.detail}); copy from {age} s ago"
                    document = dataclasses.replace(good.document, detail=detail)
                    fetched_at = good.fetched_at  # the copy ages from its own fetch, not from now
                    source = None  # not this fetch's document: the store keeps it as it is
        if ttl is not None:
            lifetime = ttl
        # The fetch goes with the document it parses to, so that the store may keep it packed.
        entry = CacheEntry(document, fetched_at, now + lifetime, source)
        self.store.put((need.doc, need.origin), entry)
        return entry


def _no_registry(need: Need, context: Any) -> Document:
    return registry_document(None, source=need.url, detail="no registry backend")


async def _ano_registry(need: Need, context: Any) -> Document:
    return _no_registry(need, context)


class _Flight:
    """One fetch in progress, and the document it produced."""

    __slots__ = ("document", "done")

    def __init__(self, done: Any) -> None:
        self.done = done
        self.document: Document | None = None


class Resolver:
    """Answers needs for a sync shell: cache first, then one fetch per key across threads.

    Args:
        cache: the shell's document cache.
        fetch: ``fetch(need, context)`` fetches a document; *context* is what the caller passed
            for the request that needs it (the shells pass the request, whose timeout bounds the
            fetch), so that concurrent requests never share per-request state.
        registry: ``registry(need, context)`` answers a registry need (per URL, not per origin:
            the registry backend batches and caches its own answers).
    """

    def __init__(
        self,
        cache: DocumentCache,
        fetch: Callable[[Need, Any], Fetched],
        registry: Callable[[Need, Any], Document] | None = None,
    ) -> None:
        self.cache = cache
        self.fetch = fetch
        self.registry = registry or _no_registry
        self._flights: dict[tuple[str, str], _Flight] = {}
        self._guard = threading.Lock()

    def __call__(self, need: Need, context: Any = None) -> Document:
        """Return the document *need* asks for (fetched, if need be, with *context*)."""
        if need.doc == Doc.REGISTRY:
            return self.registry(need, context)
        key = (need.doc, need.origin)
        while True:
            # DocumentCache.cached, inlined: this runs for every document of every request.
            entry = self.cache.store.get(key, self.cache.clock())
            if entry is not None:
                return entry.document
            with self._guard:
                flight = self._flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight(threading.Event())
            if not leader:
                flight.done.wait()
                if flight.document is not None:
                    return flight.document
                continue  # the leader failed without a document: try again
            try:
                flight.document = self.cache.settle(need, self.fetch(need, context))
                return flight.document
            finally:
                with self._guard:
                    del self._flights[key]
                flight.done.set()


class AsyncResolver:
    """Answers needs for an async shell: cache first, then one fetch per key across tasks.

    Arguments as for :class:`Resolver`, *fetch* and *registry* being coroutine functions;
    *shared*, when given, makes that one fetch per key across the processes sharing it.
    """

    def __init__(
        self,
        cache: DocumentCache,
        fetch: Callable[[Need, Any], Awaitable[Fetched]],
        registry: Callable[[Need, Any], Awaitable[Document]] | None = None,
        shared: SharedFetches | None = None,
    ) -> None:
        self.cache = cache
        self.fetch = fetch
        self.registry = registry or _ano_registry
        self.shared = shared
        self._flights: dict[tuple[str, str], _Flight] = {}

    async def __call__(self, need: Need, context: Any = None) -> Document:
        """Return the document *need* asks for (fetched, if need be, with *context*)."""
        import anyio

        if need.doc == Doc.REGISTRY:
            return await self.registry(need, context)
        key = (need.doc, need.origin)
        while True:
            entry = self.cache.store.get(key, self.cache.clock())
            if entry is not None:
                return entry.document
            flight = self._flights.get(key)
            if flight is not None:
                await flight.done.wait()
                if flight.document is not None:
                    return flight.document
                continue
            flight = self._flights[key] = _Flight(anyio.Event())
            try:
                if self.shared is None:
                    flight.document = self.cache.settle(need, await self.fetch(need, context))
                else:  # one fetch for every process of the fleet (issue 10)
                    flight.document = await self.shared.settle(
                        self.cache, self.fetch, need, context
                    )
                return flight.document
            finally:
                del self._flights[key]
                flight.done.set()
