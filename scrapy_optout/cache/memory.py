"""An in-memory, TTL-bounded store of origin documents, keyed by (document, origin).

It keeps parsed :class:`~scrapy_optout._core.documents.Document` records, so that a robots.txt is
parsed once per origin and lifetime, and the last good robots.txt of each origin, which RFC 9309
§2.4 lets a crawler keep using while robots.txt is unreachable (standards.md §2.5: up to 30 days).
Times are passed in (seconds on a monotonic clock), so that tests need no sleeping.

Memory: a parsed robots.txt takes about three times its size, and a broad crawl caches a hundred
thousand origins (`bench/cache.py`: 1.8 GB parsed, for files drawn from a corpus of popular sites).
So only the documents last used, up to ``hot_bytes`` of their bodies, stay parsed; the others are
kept as the fetch they came from, body zlib-compressed, and parsed again when next asked for (the
document is a pure function of its fetch). That is the form a shared cache keeps them in too.
"""

from __future__ import annotations

import dataclasses
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from scrapy_optout._core.documents import Document, document_from_fetch
from scrapy_optout._core.models import Fetched

Key = tuple[str, str]
"""``(document name, origin key)``, e.g. ``("robots", "https://example.org:443")``."""

HOT_BYTES = 4 * 1024 * 1024
"""Body bytes of the documents kept parsed by default (the rest are kept compressed)."""


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """A cached document and when it was fetched and stops being fresh (monotonic seconds).

    ``source`` is the fetch the document was parsed from, when it is exactly
    ``document_from_fetch(document.doc, source)``: the store may then keep only the fetch.
    """

    document: Document
    fetched_at: float
    expires_at: float
    source: Fetched | None = None


@dataclass(frozen=True, slots=True)
class _Packed:
    """A document kept as its fetch, the body compressed; :meth:`unpack` parses it again."""

    doc: str
    fetch: Fetched  # with an empty body
    body: bytes  # zlib-compressed
    size: int  # of the body uncompressed
    fetched_at: float
    expires_at: float

    def unpack(self) -> CacheEntry:
        """The entry again: the body decompressed and parsed, as ``DocumentCache.settle`` did."""
        source = dataclasses.replace(self.fetch, body=zlib.decompress(self.body))
        document = document_from_fetch(self.doc, source)
        return CacheEntry(document, self.fetched_at, self.expires_at, source)


def _pack(entry: CacheEntry) -> CacheEntry | _Packed:
    """The compact form of *entry*: packed when it can be rebuilt and is worth it."""
    source = entry.source
    if source is None or not source.body:
        return entry
    fetch = dataclasses.replace(source, body=b"")
    body = zlib.compress(source.body, 6)
    return _Packed(
        entry.document.doc, fetch, body, len(source.body), entry.fetched_at, entry.expires_at
    )


class MemoryStore:
    """A bounded LRU of documents with per-entry expiry; safe from several threads.

    Args:
        max_entries: documents kept at most; the least recently used go first.
        hot_bytes: body bytes of the recently used documents kept parsed; the others are kept
            compressed and parsed again on their next use.
    """

    def __init__(self, max_entries: int = 300_000, hot_bytes: int = HOT_BYTES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries: must be at least 1")
        if hot_bytes < 0:
            raise ValueError("hot_bytes: must not be negative")
        self._max = max_entries
        self._hot_max = hot_bytes
        self._fresh: OrderedDict[Key, CacheEntry | _Packed] = OrderedDict()
        self._good: OrderedDict[str, CacheEntry | _Packed] = OrderedDict()
        self._hot: OrderedDict[Key, int] = OrderedDict()  # parsed, packable: body sizes
        self._hot_bytes = 0
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
        if isinstance(entry, _Packed):
            return self._unpack(key, entry)
        try:
            self._fresh.move_to_end(key)
            if key in self._hot:
                self._hot.move_to_end(key)
        except KeyError:  # evicted meanwhile by another thread
            pass
        return entry

    def put(self, key: Key, entry: CacheEntry) -> None:
        """Store *entry* under *key*; a parsed robots.txt is also kept as its origin's last good copy."""
        with self._lock:
            self._fresh[key] = entry
            self._fresh.move_to_end(key)
            if len(self._fresh) > self._max:
                old, _ = self._fresh.popitem(last=False)
                self._forget_hot(old)
                self._demote(old)  # its last good copy, if any, need not stay parsed
            if key[0] == "robots" and entry.document.parsed is not None:
                self._good[key[1]] = entry
                self._good.move_to_end(key[1])
                if len(self._good) > self._max:
                    self._good.popitem(last=False)
            self._forget_hot(key)
            if entry.source is not None and entry.source.body:
                self._hot[key] = len(entry.source.body)
                self._hot_bytes += len(entry.source.body)
                self._cool()

    def last_good(self, origin: str, now: float, max_age: float) -> CacheEntry | None:
        """The last parsed robots.txt of *origin* if fetched less than *max_age* seconds ago."""
        with self._lock:
            entry = self._good.get(origin)
        if entry is None or now - entry.fetched_at >= max_age:
            return None
        return entry.unpack() if isinstance(entry, _Packed) else entry

    def __len__(self) -> int:
        return len(self._fresh)

    def _unpack(self, key: Key, packed: _Packed) -> CacheEntry:
        """Parse a packed entry again and keep it parsed, as the most recently used."""
        entry = packed.unpack()
        with self._lock:
            if self._fresh.get(key) is packed:
                self._fresh[key] = entry
                self._fresh.move_to_end(key)
                if self._good.get(key[1]) is packed:
                    self._good[key[1]] = entry
                self._hot[key] = packed.size
                self._hot_bytes += packed.size
                self._cool()
        return entry

    def _forget_hot(self, key: Key) -> None:
        """Stop counting *key* among the parsed entries (it was replaced or evicted)."""
        size = self._hot.pop(key, None)
        if size is not None:
            self._hot_bytes -= size

    def _cool(self) -> None:
        """Pack the least recently used parsed entries until they fit in ``hot_bytes``."""
        while self._hot_bytes > self._hot_max and self._hot:
            key, size = self._hot.popitem(last=False)
            self._hot_bytes -= size
            self._demote(key)

    def _demote(self, key: Key) -> None:
        """Pack *key*'s entry and, for robots.txt, its origin's last good copy (one when shared)."""
        entry = self._fresh.get(key)
        if isinstance(entry, CacheEntry):
            packed = _pack(entry)
            self._fresh[key] = packed  # an existing key: its LRU place is kept
            if key[0] == "robots" and self._good.get(key[1]) is entry:
                self._good[key[1]] = packed
        good = self._good.get(key[1]) if key[0] == "robots" else None
        if isinstance(good, CacheEntry):
            self._good[key[1]] = _pack(good)
