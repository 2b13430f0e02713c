"""One fetch per origin document, and one registry question per URL, for a fleet (issue 10).

The async resolver keeps one fetch per (document, origin) within a process; with a shared cache
(``OPTOUT_CACHE_URL``, ``cache/redis_store.py``) a process that misses its own cache looks in the
shared one, and if the document is not there takes the fleet's fetch lock: the holder fetches,
parses and shares the fetch, the others wait for it and parse the same bytes. A shared document
keeps the lifetime it has left, so the fleet stops trusting it at one moment.

A remote registry's answers are shared too (no lock: see ``cache/redis_store.py``): a process asks
its own client's cache, then Redis, then the service, and shares what the service said for the
registry's cache lifetime. A local registry file is not shared: each process reads it faster than
it could ask Redis.

Redis being unreachable never decides anything: the process fetches for itself, exactly as without
a shared cache, and *noted* is told, so that the decision on the record says so
(``cache.unavailable: ...`` in its ``errors``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from ._core.documents import Document
from ._core.models import Fetched, Need, RegistryAnswer
from ._resolve import DocumentCache
from .cache.redis_store import RedisCache, SharedUnavailable
from .registry.entries import canonical_url
from .registry.remote import RemoteRegistry

Noted = Callable[[Need, Any, str], None]
"""``noted(need, context, message)``: the shared cache failed while resolving *need*."""


class SharedFetches:
    """The fleet's side of the resolver: shared fetches and answers over :class:`RedisCache`.

    Args:
        store: the Redis store.
        noted: told of each failure of the shared cache (the shells put it on the record).
    """

    def __init__(self, store: RedisCache, noted: Noted) -> None:
        self.store = store
        self.noted = noted

    async def settle(
        self,
        cache: DocumentCache,
        fetch: Callable[[Need, Any], Awaitable[Fetched]],
        need: Need,
        context: Any,
    ) -> Document:
        """The document for *need*: shared by another process, or fetched here and shared."""
        store, token = self.store, None
        try:
            try:
                found = await store.get(need.doc, need.origin)
                if found is None:
                    token = await store.lock(need.doc, need.origin)
                    if token is None:  # another process is fetching it: wait for its fetch
                        found = await store.wait(need.doc, need.origin)
                    else:  # a holder may have shared it and let go between our get and lock
                        found = await store.get(need.doc, need.origin)
            except SharedUnavailable as exc:
                self.noted(need, context, str(exc))
                return cache.settle(need, await fetch(need, context))
            if found is not None:
                return cache.settle(need, found.fetched, found.ttl)
            fetched = await fetch(need, context)
            entry = cache.settle_entry(need, fetched)
            try:
                await store.put(need.doc, need.origin, fetched, entry.expires_at - cache.clock())
            except SharedUnavailable as exc:
                self.noted(need, context, str(exc))
            return entry.document
        finally:
            if token is not None:  # also when the fetch failed: the others need not wait it out
                with contextlib.suppress(SharedUnavailable):
                    await store.unlock(need.doc, need.origin, token)

    async def answer(
        self, registry: RemoteRegistry, need: Need, context: Any, seconds: float
    ) -> RegistryAnswer | None:
        """*registry*'s answer about ``need.url``: held here, shared, or asked now and shared.

        None, as from the registry itself, when it cannot say (``on_unavailable`` decides).
        """
        url, store = canonical_url(need.url), self.store  # canonical once: the keys of both caches
        held = registry.cached(url)
        if held is not None:
            return held
        try:
            found = await store.get_answer(registry.source, url)
        except SharedUnavailable as exc:
            self.noted(need, context, str(exc))
            return await registry.alookup(url, seconds)
        if found is not None:
            registry.remember(url, found.answer, found.ttl)
            return found.answer
        answer = await registry.alookup(url, seconds)
        if answer is not None:  # "cannot say" is not an answer: the next process asks again
            try:
                await store.put_answer(registry.source, url, answer, registry.cache_ttl)
            except SharedUnavailable as exc:
                self.noted(need, context, str(exc))
        return answer

    async def aclose(self) -> None:
        """Close the connection to the shared cache."""
        await self.store.aclose()
