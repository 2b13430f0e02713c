"""LocalRegistry and build: SQLite compiled from CSV/JSON, read-only, thread-safe, fail-closed."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from scrapy_optout.registry.local import LocalRegistry, build

CSV = """scope,value,purposes,policy,registered,source,permits
domain,example.com,,https://example.com/ai,2026-03-01,Example Media,
host,cdn.example.net,train-ai,,,,
prefix,https://example.org/photos/,train-ai,,,,
url,https://example.org/essay.html,train-ai;ai-input,,,,
url,https://free.example/ok.html,train-ai,,,,true
"""
JSON = [{"scope": "domain", "value": "example.info", "purposes": ["tdm"]}]

FOUND = [
    ("https://www.example.com/news/1", ["example.com"]),
    ("https://EXAMPLE.com:443/", ["example.com"]),
    ("http://cdn.example.net:8080/x.png", ["cdn.example.net"]),
    ("https://img.cdn.example.net/x.png", []),
    ("https://example.org/photos/2019/a.jpg", ["https://example.org/photos/"]),
    ("https://example.org/photosets/a.jpg", []),
    ("https://example.org/essay.html#part", ["https://example.org/essay.html"]),
    ("https://example.org/essay.html?print", []),
    ("https://free.example/ok.html", ["https://free.example/ok.html"]),
    ("https://a.example.info/", ["example.info"]),
    ("https://elsewhere.test/", []),
]


@pytest.fixture
def inputs(tmp_path):
    """A CSV and a JSON input file."""
    (tmp_path / "r.csv").write_text(CSV)
    (tmp_path / "r.json").write_text(json.dumps(JSON))
    return [tmp_path / "r.csv", tmp_path / "r.json"]


@pytest.fixture
def registry(inputs, tmp_path):
    """A LocalRegistry over a file built from both inputs."""
    assert build(inputs, tmp_path / "r.sqlite") == 6
    opened = LocalRegistry(tmp_path / "r.sqlite")
    yield opened
    opened.close()


@pytest.mark.parametrize(("url", "values"), FOUND)
def test_lookup_finds_the_entries_covering_a_url(registry, url, values):
    """Each URL gets exactly the entries whose scope covers it."""
    answer = registry.lookup(url)
    assert answer is not None
    assert [e.value for e in answer.entries] == values


def test_entries_keep_every_column(registry):
    """What was built is what is read: purposes, policy, date, source, permits."""
    [entry] = registry.find("https://www.example.com/").entries
    assert entry.policy == "https://example.com/ai"
    assert entry.registered == "2026-03-01"
    assert entry.source == "Example Media"
    assert entry.purposes == frozenset()
    assert registry.find("https://free.example/ok.html").entries[0].permits
    assert len(registry) == 6
    assert len(list(registry.entries())) == 6


def test_csv_and_json_are_compiled_on_open(inputs):
    """A CSV or JSON path is compiled into a temporary file, dropped on close."""
    for path in inputs:
        opened = LocalRegistry(path)
        temporary = opened._db_path
        assert opened.lookup("https://www.example.com/") is not None
        opened.close()
        assert not os.path.exists(temporary)
    csv_only = LocalRegistry(inputs[0])
    assert [e.value for e in csv_only.find("https://www.example.com/").entries] == ["example.com"]
    csv_only.close()


def test_alookup_answers_as_lookup(registry):
    """The async lookup gives the sync lookup's answer."""
    url = "https://example.org/photos/a.jpg"
    assert asyncio.run(registry.alookup(url)) == registry.lookup(url)


def test_a_closed_registry_is_unavailable_not_empty(registry):
    """After close, lookup is None (unavailable: on_unavailable decides), never an empty answer."""
    registry.close()
    registry.close()
    assert registry.lookup("https://www.example.com/") is None
    assert registry.lookup("https://elsewhere.test/") is None


@pytest.mark.parametrize("content", [b"\x00garbage" * 100, b""])
def test_a_file_that_is_not_a_registry_is_refused_naming_it(tmp_path, content):
    """Random bytes or an empty file: ValueError naming the path."""
    path = tmp_path / "x.sqlite"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"x\.sqlite"):
        LocalRegistry(path)


def test_a_sqlite_file_of_another_kind_is_refused(tmp_path):
    """A SQLite database without the registry's format mark is not a registry."""
    db = sqlite3.connect(tmp_path / "other.sqlite")
    db.execute("CREATE TABLE meta(name TEXT, value TEXT)")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="not a registry"):
        LocalRegistry(tmp_path / "other.sqlite")
    with pytest.raises(ValueError, match="no such registry file"):
        LocalRegistry(tmp_path / "missing.sqlite")


def test_a_failed_build_leaves_the_target_and_no_temporary_file(inputs, tmp_path):
    """A malformed input stops the build; the previous file stays, nothing else is left."""
    target = tmp_path / "r.sqlite"
    build(inputs, target)
    before = target.read_bytes()
    (tmp_path / "bad.csv").write_text("scope,value\nplanet,x\n")
    with pytest.raises(ValueError, match=r"bad\.csv row 1"):
        build([inputs[0], tmp_path / "bad.csv"], target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "r.csv", "r.json", "r.sqlite"]


def test_a_built_file_has_the_umasks_permissions(inputs, tmp_path):
    """The registry is readable by whom the umask allows (not 0600 like a mkstemp file)."""
    old = os.umask(0o022)
    try:
        build(inputs, tmp_path / "r.sqlite")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.sqlite").stat().st_mode) == 0o644


def test_lookups_from_many_threads_agree_with_serial_ones(registry):
    """8 threads x 2,000 lookups on one registry give the serial answers."""
    urls = [url for url, _ in FOUND] * 182
    serial = [registry.lookup(url) for url in urls]
    with ThreadPoolExecutor(8) as pool:
        parallel = [list(pool.map(registry.lookup, urls)) for _ in range(8)]
    assert all(answers == serial for answers in parallel)


def test_a_large_registry_answers_by_index(tmp_path):
    """At 50,000 entries every domain and prefix is found, and an unlisted host is not."""
    rows = ["scope,value"] + [f"domain,site{i}.test" for i in range(25_000)]
    rows += [f"prefix,https://p{i}.test/a/" for i in range(25_000)]
    (tmp_path / "big.csv").write_text("\n".join(rows) + "\n")
    assert build([tmp_path / "big.csv"], tmp_path / "big.sqlite") == 50_000
    big = LocalRegistry(tmp_path / "big.sqlite")
    try:
        for i in range(0, 25_000, 997):
            assert big.find(f"https://www.site{i}.test/x").entries[0].value == f"site{i}.test"
            assert big.find(f"https://p{i}.test/a/b").entries[0].scope == "prefix"
            assert big.find(f"https://p{i}.test/b").entries == ()
        assert big.find("https://site25000.test/").entries == ()
    finally:
        big.close()
