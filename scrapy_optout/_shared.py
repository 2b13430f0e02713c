"""One fetch per origin document for a whole fleet of crawler processes (issue 10).

The async resolver keeps one fetch per (document, origin) within a process; with a shared cache
(``OPTOUT_CACHE_URL``, ``cache/redis_store.py``) a process that misses its own cache looks in the
shared one, and if the document is not there takes the fleet's fetch lock: the holder fetches,
parses and shares the fetch, the others wait for it and parse the same bytes. A shared document
keeps the lifetime it has left, so the fleet stops trusting it at one moment.

Redis being unreachable never decides anything: the process fetches for itself, exactly as without
a shared cache, and *noted* is told, so that the decision on the record says so
(``cache.unavailable: ...`` in its ``errors``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from ._core.documents import Document
from ._core.models import Fetched, Need
from ._resolve import DocumentCache
from .cache.redis_store import RedisDocuments, SharedUnavailable

Noted = Callable[[Need, Any, str], None]
"""``noted(need, context, message)``: the shared cache failed while resolving *need*."""


class SharedFetches:
    """The fleet's side of the resolver: shared fetches over :class:`RedisDocuments`.

    Args:
        documents: the Redis store.
        noted: told of each failure of the shared cache (the shells put it on the record).
    """

    def __init__(self, documents: RedisDocuments, noted: Noted) -> None:
        self.documents = documents
        self.noted = noted

    async def settle(
        self,
        cache: DocumentCache,
        fetch: Callable[[Need, Any], Awaitable[Fetched]],
        need: Need,
        context: Any,
    ) -> Document:
        """The document for *need*: shared by another process, or fetched here and shared."""
        documents, token = self.documents, None
        try:
            try:
                found = await documents.get(need.doc, need.origin)
                if found is None:
                    token = await documents.lock(need.doc, need.origin)
                    if token is None:  # another process is fetching it: wait for its fetch
                        found = await documents.wait(need.doc, need.origin)
                    else:  # a holder may have shared it and let go between our get and lock
                        found = await documents.get(need.doc, need.origin)
            except SharedUnavailable as exc:
                self.noted(need, context, str(exc))
                return cache.settle(need, await fetch(need, context))
            if found is not None:
                return cache.settle(need, found.fetched, found.ttl)
            fetched = await fetch(need, context)
            entry = cache.settle_entry(need, fetched)
            try:
                await documents.put(
                    need.doc, need.origin, fetched, entry.expires_at - cache.clock()
                )
            except SharedUnavailable as exc:
                self.noted(need, context, str(exc))
            return entry.document
        finally:
            if token is not None:  # also when the fetch failed: the others need not wait it out
                with contextlib.suppress(SharedUnavailable):
                    await documents.unlock(need.doc, need.origin, token)

    async def aclose(self) -> None:
        """Close the connection to the shared cache."""
        await self.documents.aclose()
