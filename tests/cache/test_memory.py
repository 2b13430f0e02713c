"""cache/memory.py: expiry, LRU bound per origin, last good robots.txt, packing beyond hot_bytes."""

from __future__ import annotations

import pytest

from scrapy_optout._core.documents import Document, State, document_from_fetch
from scrapy_optout._core.models import Doc, Fetched
from scrapy_optout._core.robots import RobotsTxt, parse_robots
from scrapy_optout.cache import CacheEntry, MemoryStore
from scrapy_optout.cache.memory import DOC_BYTES

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
    """The least recently used origin goes first when the store is full."""
    store = MemoryStore(max_origins=2)
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
    """A store must hold at least one origin."""
    with pytest.raises(ValueError, match=r"^max_origins"):
        MemoryStore(max_origins=0)


def robots_entry(n: int, fetched_at: float = 0.0, expires_at: float = 100.0) -> CacheEntry:
    """A parsed robots.txt entry that carries the fetch it was parsed from (about 60 bytes)."""
    body = f"User-agent: *\nDisallow: /private-{n}/\nAllow: /\n".encode()
    fetched = Fetched(url=f"https://o{n}.org/robots.txt", status=200, body=body)
    return CacheEntry(document_from_fetch(Doc.ROBOTS, fetched), fetched_at, expires_at, fetched)


def test_documents_beyond_hot_bytes_are_kept_packed_and_parse_back_equal():
    """Past hot_bytes the oldest document is rebuilt on its next use, equal to what was stored."""
    store = MemoryStore(hot_bytes=DOC_BYTES + 60)  # each body is about 46 bytes: one fits
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
    assert store.get(("robots", "o1"), 9.0) is None  # not brought back by being unpacked again


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


def fetched_entry(doc: str, url: str, status: int, body: bytes = b"") -> CacheEntry:
    """An entry parsed from a fetch, as DocumentCache.settle stores it."""
    fetched = Fetched(url=url, status=status, body=body, content_type="text/plain", max_age=60.0)
    return CacheEntry(document_from_fetch(doc, fetched), 5.0, 100.0, fetched)


def test_a_packed_origin_gives_back_each_of_its_documents():
    """An origin's robots.txt, 404 tdmrep.json and 503 ai.txt, packed together, parse back equal."""
    store = MemoryStore(hot_bytes=0)
    entries = {
        Doc.ROBOTS: fetched_entry(
            Doc.ROBOTS, "https://o.org/robots.txt", 200, b"User-agent: *\nDisallow: /x\n"
        ),
        Doc.TDMREP: fetched_entry(Doc.TDMREP, "https://o.org/.well-known/tdmrep.json", 404),
        Doc.AI_TXT: fetched_entry(Doc.AI_TXT, "https://o.org/ai.txt", 503),
    }
    for doc, entry in entries.items():
        store.put((doc, "o"), entry)
    assert len(store) == 1
    for doc, entry in entries.items():
        back = store.get((doc, "o"), 50.0)
        assert back is not None
        assert back is not entry
        assert back == entry  # the document, its times and the fetch it came from
    good = store.last_good("o", 50.0, max_age=1_000.0)
    assert good is not None
    assert good.document == entries[Doc.ROBOTS].document


def test_origins_beyond_the_bound_are_dropped_whole():
    """Evicting an origin drops its fresh documents and its last good copy together."""
    store = MemoryStore(max_origins=1)
    store.put(("robots", "o1"), robots_entry(1))
    store.put(("tdmrep", "o1"), CacheEntry(ABSENT, 0.0, 100.0))
    store.put(("robots", "o2"), robots_entry(2))
    assert store.get(("robots", "o1"), 1.0) is None
    assert store.get(("tdmrep", "o1"), 1.0) is None
    assert store.last_good("o1", 1.0, max_age=1_000.0) is None
    assert store.get(("robots", "o2"), 1.0) is not None


def test_a_document_added_to_a_packed_origin_keeps_the_others():
    """Storing a new document for a packed origin unpacks it: nothing it held is lost."""
    store = MemoryStore(hot_bytes=0)
    robots = robots_entry(1)
    store.put(("robots", "o1"), robots)
    store.put(
        ("tdmrep", "o1"), fetched_entry(Doc.TDMREP, "https://o1.org/.well-known/tdmrep.json", 404)
    )
    back = store.get(("robots", "o1"), 1.0)
    assert back is not None
    assert back.document == robots.document
    tdmrep = store.get(("tdmrep", "o1"), 1.0)
    assert tdmrep is not None
    assert tdmrep.document.status == 404


def test_an_origin_mixing_kept_and_packed_entries():
    """Packing an origin keeps an entry without its fetch as is, and packs the rest beside it."""
    store = MemoryStore(hot_bytes=0)
    stale = CacheEntry(ROBOTS, 0.0, 100.0)  # like a stale copy: no source
    store.put(("robots", "o"), stale)
    store.put(
        ("tdmrep", "o"), fetched_entry(Doc.TDMREP, "https://o.org/.well-known/tdmrep.json", 404)
    )
    assert store.get(("robots", "o"), 1.0) is stale
    assert store.last_good("o", 1.0, max_age=1_000.0) is stale
    tdmrep = store.get(("tdmrep", "o"), 1.0)
    assert tdmrep is not None
    assert tdmrep.document.status == 404


def test_concurrent_readers_and_writers_lose_nothing():
    """Threads reading and writing many origins, packing all the while, always read back what was stored."""
    import threading

    store = MemoryStore(hot_bytes=2_000)
    errors: list[str] = []

    def work(start: int) -> None:
        for n in range(start, start + 200):
            store.put(("robots", f"o{n}"), robots_entry(n))
        for _ in range(3):
            for n in range(start, start + 200):
                entry = store.get(("robots", f"o{n}"), 1.0)
                if (
                    entry is None
                    or f"/private-{n}/".encode() not in (entry.source or Fetched("", 0)).body
                ):
                    errors.append(f"o{n}")

    threads = [threading.Thread(target=work, args=(k * 200,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store) == 800
