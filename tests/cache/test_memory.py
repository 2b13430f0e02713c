"""cache/memory.py: expiry, LRU bound, last good robots.txt, packing beyond hot_bytes."""

from __future__ import annotations

import pytest

from scrapy_optout._core.documents import Document, State, document_from_fetch
from scrapy_optout._core.models import Doc, Fetched
from scrapy_optout._core.robots import RobotsTxt, parse_robots
from scrapy_optout.cache import CacheEntry, MemoryStore

ROBOTS = Document(Doc.ROBOTS, "https://e.org/robots.txt", State.OK, parse_robots(b""), 200)
ABSENT = Document(Doc.TDMREP, "https://e.org/.well-known/tdmrep.json", State.ABSENT, status=404)


def test_entries_expire():
    """An entry is returned until its expiry time, then forgotten."""
    store = MemoryStore()
    store.put(("tdmrep", "o"), CacheEntry(ABSENT, 0.0, 10.0))
    assert store.get(("tdmrep", "o"), 9.9) is not None
    assert store.get(("tdmrep", "o"), 10.0) is None
    assert len(store) == 0


def test_lru_bound():
    """The least recently used entry goes first when the store is full."""
    store = MemoryStore(max_entries=2)
    for origin in ("a", "b"):
        store.put(("tdmrep", origin), CacheEntry(ABSENT, 0.0, 100.0))
    store.get(("tdmrep", "a"), 1.0)
    store.put(("tdmrep", "c"), CacheEntry(ABSENT, 0.0, 100.0))
    assert store.get(("tdmrep", "b"), 1.0) is None
    assert store.get(("tdmrep", "a"), 1.0) is not None


def test_last_good_robots_within_max_age():
    """A parsed robots.txt stays available as the last good copy for max_age seconds."""
    store = MemoryStore()
    store.put(("robots", "o"), CacheEntry(ROBOTS, 100.0, 200.0))
    assert store.last_good("o", 150.0, max_age=100.0) is not None
    assert store.last_good("o", 200.0, max_age=100.0) is None
    store.put(("tdmrep", "o"), CacheEntry(ABSENT, 0.0, 1.0))
    assert store.last_good("x", 150.0, max_age=100.0) is None


def test_bad_size_is_refused():
    """A store must hold at least one entry."""
    with pytest.raises(ValueError, match=r"^max_entries"):
        MemoryStore(max_entries=0)


def robots_entry(n: int, fetched_at: float = 0.0, expires_at: float = 100.0) -> CacheEntry:
    """A parsed robots.txt entry that carries the fetch it was parsed from (about 60 bytes)."""
    body = f"User-agent: *\nDisallow: /private-{n}/\nAllow: /\n".encode()
    fetched = Fetched(url=f"https://o{n}.org/robots.txt", status=200, body=body)
    return CacheEntry(document_from_fetch(Doc.ROBOTS, fetched), fetched_at, expires_at, fetched)


def test_documents_beyond_hot_bytes_are_kept_packed_and_parse_back_equal():
    """Past hot_bytes the oldest document is rebuilt on its next use, equal to what was stored."""
    store = MemoryStore(hot_bytes=60)  # each body is about 46 bytes: one fits
    first, second = robots_entry(1), robots_entry(2)
    store.put(("robots", "o1"), first)
    store.put(("robots", "o2"), second)
    back = store.get(("robots", "o1"), 1.0)
    assert back is not None
    assert back is not first  # parsed again from its packed fetch
    assert back.document == first.document
    assert isinstance(back.document.parsed, RobotsTxt)
    assert isinstance(first.document.parsed, RobotsTxt)
    assert back.document.parsed.select("mybot") == first.document.parsed.select("mybot")
    assert (back.fetched_at, back.expires_at) == (0.0, 100.0)
    assert store.get(("robots", "o1"), 2.0) is back  # now among the recent: kept parsed


def test_recent_documents_stay_parsed():
    """Within hot_bytes a document is the very object stored, however often it is read."""
    store = MemoryStore(hot_bytes=1_000)
    entry = robots_entry(1)
    store.put(("robots", "o1"), entry)
    for now in (1.0, 2.0, 3.0):
        assert store.get(("robots", "o1"), now) is entry


def test_a_packed_entry_still_expires():
    """Packing keeps the entry's lifetime: past it, a packed document is gone too."""
    store = MemoryStore(hot_bytes=0)
    store.put(("robots", "o1"), robots_entry(1, expires_at=10.0))
    assert store.get(("robots", "o1"), 10.0) is None
    assert len(store) == 0


def test_last_good_copy_survives_packing_and_expiry():
    """A packed robots.txt is still the origin's last good copy once its fresh entry expired."""
    store = MemoryStore(hot_bytes=0)
    entry = robots_entry(1, fetched_at=100.0, expires_at=200.0)
    store.put(("robots", "o1"), entry)
    assert store.get(("robots", "o1"), 300.0) is None
    good = store.last_good("o1", 300.0, max_age=1_000.0)
    assert good is not None
    assert good.document == entry.document
    assert good.fetched_at == 100.0


def test_entries_without_their_fetch_are_never_packed():
    """An entry with no source (a stale copy, a registry answer) is kept exactly as stored."""
    store = MemoryStore(hot_bytes=0)
    entry = CacheEntry(ROBOTS, 0.0, 100.0)
    store.put(("robots", "o"), entry)
    for n in range(3):
        store.put(("robots", f"x{n}"), robots_entry(n))
    assert store.get(("robots", "o"), 1.0) is entry


def test_negative_hot_bytes_is_refused():
    """hot_bytes may be 0 (pack everything) but not negative."""
    with pytest.raises(ValueError, match=r"^hot_bytes"):
        MemoryStore(hot_bytes=-1)
