"""An in-memory, TTL-bounded store of origin documents, keyed by (document, origin).

It keeps parsed :class:`~scrapy_optout._core.documents.Document` records, so that a robots.txt is
parsed once per origin and lifetime, and the last good robots.txt of each origin, which RFC 9309
§2.4 lets a crawler keep using while robots.txt is unreachable (standards.md §2.5: up to 30 days).
Times are passed in (seconds on a monotonic clock), so that tests need no sleeping.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from scrapy_optout._core.documents import Document

Key = tuple[str, str]
"""``(document name, origin key)``, e.g. ``("robots", "https://example.org:443")``."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached document and when it was fetched and stops being fresh (monotonic seconds)."""

    document: Document
    fetched_at: float
    expires_at: float


class MemoryStore:
    """A bounded LRU of documents with per-entry expiry; safe from several threads.

    Args:
        max_entries: documents kept at most; the least recently used go first.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries: must be at least 1")
        self._max = max_entries
        self._fresh: OrderedDict[Key, CacheEntry] = OrderedDict()
        self._good: OrderedDict[str, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key, now: float) -> CacheEntry | None:
        """The entry for *key* if it is still fresh at *now*, else None."""
        # The hot path takes no lock: each OrderedDict call is atomic under the GIL, and a
        # concurrent eviction only costs a refetch.
        entry = self._fresh.get(key)
        if entry is None:
            return None
        if entry.expires_at <= now:
            self._fresh.pop(key, None)
            return None
        try:  # noqa: SIM105 - contextlib.suppress would build a context manager per cache hit
            self._fresh.move_to_end(key)
        except KeyError:  # evicted meanwhile by another thread
            pass
        return entry

    def put(self, key: Key, entry: CacheEntry) -> None:
        """Store *entry* under *key*; a parsed robots.txt is also kept as its origin's last good copy."""
        with self._lock:
            self._fresh[key] = entry
            self._fresh.move_to_end(key)
            if len(self._fresh) > self._max:
                self._fresh.popitem(last=False)
            if key[0] == "robots" and entry.document.parsed is not None:
                self._good[key[1]] = entry
                self._good.move_to_end(key[1])
                if len(self._good) > self._max:
                    self._good.popitem(last=False)

    def last_good(self, origin: str, now: float, max_age: float) -> CacheEntry | None:
        """The last parsed robots.txt of *origin* if fetched less than *max_age* seconds ago."""
        with self._lock:
            entry = self._good.get(origin)
        if entry is None or now - entry.fetched_at >= max_age:
            return None
        return entry

    def __len__(self) -> int:
        return len(self._fresh)
