"""cache/packing.py: an origin's documents packed into one string and parsed back equal."""

from __future__ import annotations

import pytest

from scrapy_optout._core.documents import Document, State, document_from_fetch
from scrapy_optout._core.models import Doc, Fetched
from scrapy_optout._core.robots import parse_robots
from scrapy_optout.cache.packing import (
    DOC_BYTES,
    CacheEntry,
    OriginDocs,
    pack,
    parse_record,
    unpack,
)

FETCHES = [
    (Doc.ROBOTS, Fetched("https://o.org/robots.txt", 200, b"User-agent: *\nDisallow: /x\n")),
    (Doc.ROBOTS, Fetched("https://o.org/robots.txt", 200, b"User-agent: *\nDisallow: /", "too_large")),
    (Doc.TDMREP, Fetched("https://o.org/.well-known/tdmrep.json", 404)),
    (Doc.TDMREP, Fetched("https://o.org/.well-known/tdmrep.json", 200,
                         b'[{"location": "/", "tdm-reservation": 1}]', None,
                         "https://cdn.o.org/tdmrep.json", "application/json", 3600.0)),
    (Doc.AI_TXT, Fetched("https://o.org/ai.txt", 0, b"", "timeout")),
    (Doc.AI_TXT, Fetched("https://o.org/ai.txt", 503)),
]  # fmt: skip


def entry_of(doc: str, fetched: Fetched, fetched_at: float = 1.0) -> CacheEntry:
    """An entry as DocumentCache.settle makes it: the document and the fetch it came from."""
    return CacheEntry(document_from_fetch(doc, fetched), fetched_at, fetched_at + 100.0, fetched)


@pytest.mark.parametrize(("doc", "fetched"), FETCHES)
def test_each_kind_of_fetch_packs_and_parses_back_equal(doc: str, fetched: Fetched) -> None:
    """Documents read, cut, absent, timed out or unavailable come back equal, times included."""
    origin = OriginDocs()
    origin.entries[doc] = entry = entry_of(doc, fetched)
    packed = pack(origin)
    assert isinstance(packed, bytes)
    back = unpack(packed)
    record = back.entries[doc]
    assert isinstance(record, tuple)  # not parsed until asked for
    assert parse_record(record) == entry


def test_the_good_copy_is_packed_once_when_it_is_the_fresh_robots():
    """A robots.txt that is both fresh and the good copy is one record, the same after unpacking."""
    origin = OriginDocs()
    robots = entry_of(*FETCHES[0])
    origin.entries[Doc.ROBOTS] = origin.good = robots
    back = unpack(pack(origin))
    assert back.good is back.entries[Doc.ROBOTS]
    assert back.size == len(FETCHES[0][1].body) + DOC_BYTES


def test_an_older_good_copy_is_kept_beside_the_fresh_document():
    """When robots.txt is now unavailable, its last good copy packs and unpacks on its own."""
    origin = OriginDocs()
    origin.good = good = entry_of(*FETCHES[0], fetched_at=0.5)
    origin.entries[Doc.ROBOTS] = entry_of(Doc.ROBOTS, Fetched("https://o.org/robots.txt", 503))
    back = unpack(pack(origin))
    assert back.good is not None
    assert back.good is not back.entries[Doc.ROBOTS]
    assert isinstance(back.good, tuple)
    assert parse_record(back.good) == good
    assert parse_record(back.entries[Doc.ROBOTS]).document.state is State.UNAVAILABLE  # type: ignore[arg-type]


def test_entries_without_their_fetch_are_kept_as_they_are():
    """An entry that cannot be rebuilt (a stale copy) stays the same object beside the packed ones."""
    stale = CacheEntry(
        Document(Doc.ROBOTS, "https://o.org/robots.txt", State.OK, parse_robots(b""), 200), 0.0, 9.0
    )
    origin = OriginDocs()
    origin.entries[Doc.ROBOTS] = origin.good = stale
    origin.entries[Doc.TDMREP] = tdmrep = entry_of(*FETCHES[2])
    back = unpack(pack(origin))
    assert back.entries[Doc.ROBOTS] is stale
    assert back.good is stale
    assert parse_record(back.entries[Doc.TDMREP]) == tdmrep  # type: ignore[arg-type]


def test_a_fetch_marshal_cannot_write_is_kept_unpacked():
    """A field of an unusual type (a str subclass) leaves the origin's entries as they were."""

    class Url(str):
        """A str subclass, which marshal refuses."""

    origin = OriginDocs()
    entry = entry_of(Doc.TDMREP, Fetched(Url("https://o.org/.well-known/tdmrep.json"), 404))
    origin.entries[Doc.TDMREP] = entry
    assert unpack(pack(origin)).entries[Doc.TDMREP] is entry
