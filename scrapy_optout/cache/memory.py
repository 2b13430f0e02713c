"""An in-memory, TTL-bounded store of origin documents, keyed by (document, origin).

It keeps parsed :class:`~scrapy_optout._core.documents.Document` records, so that a robots.txt is
parsed once per origin and lifetime, and the last good robots.txt of each origin, which RFC 9309
§2.4 lets a crawler keep using while robots.txt is unreachable (standards.md §2.5: up to 30 days).
Times are passed in (seconds on a monotonic clock), so that tests need no sleeping.

Memory: a parsed robots.txt takes about three times its size, and a broad crawl caches a hundred
thousand origins (`bench/cache.py`: 1.4 GB with everything parsed, for files drawn from a corpus
of popular sites). So the store holds one record per origin, and only the origins last used, up
to ``hot_bytes`` of their documents, stay parsed; each other origin is packed into one compressed
string (``packing.py``) and its documents are parsed again one by one when next asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from .packing import (
    DOC_BYTES,
    CacheEntry,
    Cold,
    Held,
    OriginDocs,
    Record,
    pack,
    parse_record,
    unpack,
)

__all__ = ["DOC_BYTES", "HOT_BYTES", "CacheEntry", "Key", "MemoryStore"]

Key = tuple[str, str]
"""``(document name, origin key)``, e.g. ``("robots", "https://example.org:443")``."""

HOT_BYTES = 4 * 1024 * 1024
"""Bytes of the origins kept parsed by default (the rest are kept compressed)."""


class MemoryStore:
    """A bounded LRU of origins, each with its documents' expiry; safe from several threads.

    Args:
        max_origins: origins kept at most; the least recently used go first, whole.
        hot_bytes: bytes (bodies, plus :data:`DOC_BYTES` per document) of the recently used
            origins kept parsed; the others are kept compressed and parsed again on their next use.
    """

    def __init__(self, max_origins: int = 100_000, hot_bytes: int = HOT_BYTES) -> None:
        if max_origins < 1:
            raise ValueError("max_origins: must be at least 1")
        if hot_bytes < 0:
            raise ValueError("hot_bytes: must not be negative")
        self._max = max_origins
        self._hot_max = hot_bytes
        self._origins: OrderedDict[str, OriginDocs | bytes | Cold] = OrderedDict()
        self._hot: OrderedDict[str, None] = OrderedDict()  # the parsed origins, in LRU order
        self._hot_bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key, now: float) -> CacheEntry | None:
        """The entry for *key* if it is still fresh at *now*, else None."""
        # The hot path takes no lock: each dict call is atomic under the GIL; changes are made
        # under the lock after checking that nothing changed meanwhile (at worst, a refetch).
        doc, name = key
        origin = self._origins.get(name)
        if origin is None:
            return None
        if isinstance(origin, OriginDocs):
            return self._read(name, origin, doc, now)
        origin = self._thaw(name, origin)
        try:
            return self._read(name, origin, doc, now)
        finally:  # packed again only now, so that the read above changed the store's copy
            with self._lock:
                self._cool()

    def _read(self, name: str, origin: OriginDocs, doc: str, now: float) -> CacheEntry | None:
        """:meth:`get` on a parsed origin."""
        held = origin.entries.get(doc)
        if held is None:
            return None
        if (held[9] if isinstance(held, tuple) else held.expires_at) <= now:
            self._expire(name, origin, doc, held)
            return None
        entry = held if isinstance(held, CacheEntry) else self._parsed(origin, doc, held)
        try:
            self._origins.move_to_end(name)
            self._hot.move_to_end(name)
        except KeyError:  # evicted or packed meanwhile by another thread
            pass
        return entry

    def put(self, key: Key, entry: CacheEntry) -> None:
        """Store *entry* under *key*; a parsed robots.txt is also kept as its origin's last good copy."""
        doc, name = key
        with self._lock:
            origin = self._origins.get(name)
            if origin is None:
                origin = self._origins[name] = OriginDocs()
                if len(self._origins) > self._max:
                    self._evict()
            elif not isinstance(origin, OriginDocs):
                origin = self._thaw_locked(name, origin)
            origin.entries[doc] = entry
            if doc == "robots" and entry.document.parsed is not None:
                origin.good = entry
            self._origins.move_to_end(name)
            self._reweigh(name, origin)
            self._cool()

    def last_good(self, origin: str, now: float, max_age: float) -> CacheEntry | None:
        """The last parsed robots.txt of *origin* if fetched less than *max_age* seconds ago."""
        with self._lock:
            held = self._origins.get(origin)
            if held is None:
                return None
            if not isinstance(held, OriginDocs):
                held = self._thaw_locked(origin, held)
            good = held.good
        if (
            good is None
            or now - (good[8] if isinstance(good, tuple) else good.fetched_at) >= max_age
        ):
            entry = None
        else:
            entry = good if isinstance(good, CacheEntry) else self._parsed(held, "", good)
        with self._lock:
            self._cool()
        return entry

    def __len__(self) -> int:
        """The number of origins held (with a fresh document or a last good copy)."""
        return len(self._origins)

    def _thaw(self, name: str, packed: bytes | Cold) -> OriginDocs:
        """Unpack an origin (decompressing outside the lock) and keep it among the recent ones."""
        origin = unpack(packed)
        with self._lock:
            if self._origins.get(name) is packed:
                self._origins[name] = origin
                self._warm(name, origin)
        return origin

    def _thaw_locked(self, name: str, packed: bytes | Cold) -> OriginDocs:
        """:meth:`_thaw`, for a caller that holds the lock."""
        origin = self._origins[name] = unpack(packed)
        self._warm(name, origin)
        return origin

    def _warm(self, name: str, origin: OriginDocs) -> None:
        """Count a just unpacked *origin* among the parsed ones, with the lock held.

        The caller cools the store once done with it.
        """
        self._hot[name] = None
        self._hot_bytes += origin.size

    def _parsed(self, origin: OriginDocs, doc: str, record: Record) -> CacheEntry:
        """Parse *record* of *origin* (outside the lock) and keep the entry in its place."""
        entry = parse_record(record)
        with self._lock:
            if doc and origin.entries.get(doc) is record:
                origin.entries[doc] = entry
            if origin.good is record:
                origin.good = entry
        return entry

    def _expire(self, name: str, origin: OriginDocs, doc: str, held: Held) -> None:
        """Forget *doc* of *origin*, and the origin once nothing of it is left."""
        with self._lock:
            if origin.entries.get(doc) is not held:
                return
            del origin.entries[doc]
            if origin.entries or origin.good is not None:
                if self._origins.get(name) is origin:
                    self._reweigh(name, origin)
            elif self._origins.get(name) is origin:
                del self._origins[name]
                self._forget_hot(name, origin)

    def _reweigh(self, name: str, origin: OriginDocs) -> None:
        """Recount *origin* (held, parsed) among the recent ones (with the lock held)."""
        if name in self._hot:
            self._hot_bytes -= origin.size
        origin.size = origin.weigh()
        self._hot[name] = None
        self._hot.move_to_end(name)
        self._hot_bytes += origin.size

    def _forget_hot(self, name: str, origin: OriginDocs | bytes | Cold) -> None:
        """Stop counting *name* among the parsed origins (it was dropped or evicted)."""
        if isinstance(origin, OriginDocs) and self._hot.pop(name, 0) is None:
            self._hot_bytes -= origin.size

    def _evict(self) -> None:
        """Drop the least recently used origin, whole (with the lock held)."""
        name, origin = self._origins.popitem(last=False)
        self._forget_hot(name, origin)

    def _cool(self) -> None:
        """Pack the least recently used parsed origins until they fit in ``hot_bytes``."""
        while self._hot_bytes > self._hot_max and self._hot:
            name, _ = self._hot.popitem(last=False)
            origin = self._origins[name]
            if not isinstance(origin, OriginDocs):  # _hot lists parsed origins only
                continue
            self._hot_bytes -= origin.size
            # A caller reading this origin keeps its object; only the store's copy is packed.
            self._origins[name] = pack(origin)  # an existing key: its LRU place is kept
