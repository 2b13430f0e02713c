"""cache/memory.py: expiry, LRU bound, last good robots.txt."""

from __future__ import annotations

import pytest

from scrapy_optout._core.documents import Document, State
from scrapy_optout._core.models import Doc
from scrapy_optout._core.robots import parse_robots
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
