"""One origin's cached documents, parsed or packed into one compressed string.

A broad crawl caches a hundred thousand origins, and most of them are cold: their robots.txt was
read and will be read again only when the crawl comes back. Three documents per origin as three
objects each, most of them a small 404, cost more than the compressed robots.txt body itself
(bench/README.md, "Cache memory"). So a cold origin is one ``bytes``: the fetches its documents
came from (a document is a pure function of its fetch, ``document_from_fetch``), marshalled and
zlib-compressed together, parsed again one by one when next asked for.
"""

from __future__ import annotations

import marshal
import zlib
from dataclasses import dataclass
from typing import NamedTuple

from scrapy_optout._core.documents import Document, document_from_fetch
from scrapy_optout._core.models import Fetched

DOC_BYTES = 256
"""What a parsed document weighs in ``hot_bytes`` beyond its body, so that bodiless ones count."""

# A record's role: a fresh document, one that is also the good copy, or the good copy only.
_FRESH, _BOTH, _GOOD = 0, 1, 2


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


# A document kept as its fetch, not parsed yet: (doc, url, status, body, error, final_url,
# content_type, max_age, fetched_at, expires_at, role), the form marshal writes and reads.
Record = tuple[str, str, int, bytes, str | None, str | None, str | None, float | None, float,
                float, int]  # fmt: skip
Held = CacheEntry | Record


def to_record(held: Held, role: int) -> Record:
    """*held* as a record with *role* (its ``source`` must be set)."""
    if isinstance(held, tuple):
        return (*held[:10], role)
    s = held.source
    if s is None:
        raise ValueError("an entry without its fetch cannot be packed")
    return (held.document.doc, s.url, s.status, s.body, s.error, s.final_url, s.content_type,
            s.max_age, held.fetched_at, held.expires_at, role)  # fmt: skip


def parse_record(record: Record) -> CacheEntry:
    """The entry *record* was made from: its fetch parsed again, as ``DocumentCache.settle`` did."""
    doc, url, status, body, error, final_url, content_type, max_age, fetched_at, expires = record[
        :10
    ]
    source = Fetched(url, status, body, error, final_url, content_type, max_age)
    return CacheEntry(document_from_fetch(doc, source), fetched_at, expires, source)


def weight(held: Held) -> int:
    """What *held* counts in ``hot_bytes``."""
    body = held[3] if isinstance(held, tuple) else (held.source.body if held.source else b"")
    return len(body) + DOC_BYTES


class OriginDocs:
    """One origin's documents while it is among the recent ones: parsed, or records to parse."""

    __slots__ = ("entries", "good", "size")

    def __init__(self) -> None:
        self.entries: dict[str, Held] = {}
        self.good: Held | None = None  # the last parsed robots.txt; often entries["robots"]
        self.size = 0

    def weigh(self) -> int:
        """What this origin's documents count in ``hot_bytes``."""
        size = sum(map(weight, self.entries.values()))
        good = self.good
        if good is not None and all(held is not good for held in self.entries.values()):
            size += weight(good)
        return size


class Cold(NamedTuple):
    """A packed origin that also holds entries without their fetch, kept as they are."""

    blob: bytes
    kept: dict[str, Held]
    good: Held | None


def pack(origin: OriginDocs) -> bytes | Cold:
    """*origin* compressed: its records, and aside any entry that cannot be rebuilt."""
    records: list[Record] = []
    kept: dict[str, Held] = {}
    good, good_kept = origin.good, None
    for doc, held in origin.entries.items():
        if isinstance(held, CacheEntry) and held.source is None:
            kept[doc] = held
            if held is good:
                good_kept = good
        else:
            records.append(to_record(held, _BOTH if held is good else _FRESH))
    if good is not None and all(held is not good for held in origin.entries.values()):
        if isinstance(good, CacheEntry) and good.source is None:
            good_kept = good
        else:
            records.append(to_record(good, _GOOD))
    try:
        blob = zlib.compress(marshal.dumps(tuple(records)), 6)
    except ValueError:  # a field of an unusual type (a str subclass...): kept as it is
        return Cold(zlib.compress(marshal.dumps(())), dict(origin.entries), origin.good)
    return Cold(blob, kept, good_kept) if kept or good_kept is not None else blob


def unpack(packed: bytes | Cold) -> OriginDocs:
    """An origin again, its documents as records to be parsed when asked for."""
    origin = OriginDocs()
    blob = packed.blob if isinstance(packed, Cold) else packed
    if isinstance(packed, Cold):
        origin.entries.update(packed.kept)
        origin.good = packed.good
    records: tuple[Record, ...] = marshal.loads(zlib.decompress(blob))  # noqa: S302 - our own bytes
    for record in records:
        if record[10] != _GOOD:
            origin.entries[record[0]] = record
        if record[10] != _FRESH:
            origin.good = record
    origin.size = origin.weigh()
    return origin
