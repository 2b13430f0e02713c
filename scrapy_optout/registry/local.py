"""The embedded registry: entries compiled to SQLite, looked up read-only (DESIGN §8).

:func:`build` compiles input files (``entries.py``) into one SQLite file, one row per entry under
its hash key (``hashing.hash_key``: ``d:``/``h:``/``u:``/``p:`` and the canonical host or URL, a
prefix filed under its value cut after the last ``/`` of its path), clustered by that key and
indexed by the first 32 bits of its SHA-256 digest (for hashed lookups), with a Bloom filter of the
keys (``keyfilter.py``). :class:`LocalRegistry` answers a URL with one query for those keys of the
URL's expressions (``hashing.expressions``: its host, the domains above it, the URL, its path cut
after each ``/``) that the filter may hold, then keeps the prefix entries whose whole value the URL
starts with: the same sets a hashed lookup finds, at a cost that does not grow with the number of
entries. Connections are per thread and read-only.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout.registry.entries import load_entries
from scrapy_optout.registry.hashing import PREFIX_HEX, covers, digest, expressions, hash_key
from scrapy_optout.registry.keyfilter import KeyFilter, filter_bits

logger = logging.getLogger("scrapy_optout")

FORMAT = "scrapy-optout-registry/1"
# Entries are clustered by key (WITHOUT ROWID): a lookup reads one B-tree, not an index and then
# the table. ``n`` (the input order) keeps entries sharing a key apart.
_SCHEMA = """
CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries(
    key TEXT NOT NULL, n INTEGER NOT NULL, scope TEXT NOT NULL, value TEXT NOT NULL,
    purposes TEXT NOT NULL, policy TEXT, registered TEXT, source TEXT, permits INTEGER NOT NULL,
    bucket INTEGER NOT NULL, PRIMARY KEY (key, n)
) WITHOUT ROWID;
CREATE TABLE keyfilter(bits BLOB NOT NULL);
CREATE TEMP TABLE staging AS SELECT * FROM entries WHERE 0;
"""
_COLUMNS = "scope, value, purposes, policy, registered, source, permits"


def build(inputs: Iterable[str | Path], output: str | Path) -> int:
    """Compile the entries of *inputs* into the SQLite registry *output*; return their number.

    The file is written under a temporary name and renamed into place when complete.

    Raises:
        ValueError: an input is malformed (the message names it); *output* is left untouched.
    """
    target = Path(output)
    # Beside the target (so the rename is atomic), created by SQLite with the umask's permissions.
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    count = 0
    try:
        db = sqlite3.connect(temporary)
        try:
            db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
            entries = (e for path in inputs for e in load_entries(path))
            rows = (_row(n, e) for n, e in enumerate(entries))
            # Rows are gathered in a temporary table, then written in key order: far faster than
            # inserting a million keys at random places of the clustered table.
            for chunk in _chunks(rows, 50_000):
                db.executemany("INSERT INTO staging VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", chunk)
                count += len(chunk)
            db.execute("INSERT INTO entries SELECT * FROM staging ORDER BY key, n")
            db.execute("DROP TABLE staging")
            db.execute("CREATE INDEX entries_bucket ON entries(bucket)")  # for hashed lookups
            keys = (str(row[0]) for row in db.execute("SELECT key FROM entries"))
            db.execute("INSERT INTO keyfilter VALUES (?)", (filter_bits(keys, count),))
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("entries", str(count))]
            )
            db.commit()
        finally:
            db.close()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _row(n: int, entry: RegistryEntry) -> tuple[object, ...]:
    """The table row of the *n*-th entry of the inputs."""
    key = hash_key(entry.scope, entry.value)
    purposes = ";".join(sorted(entry.purposes))
    bucket = int(digest(key)[:PREFIX_HEX], 16)
    return (key, n, entry.scope, entry.value, purposes, entry.policy, entry.registered,
            entry.source, int(entry.permits), bucket)  # fmt: skip


def _chunks(rows: Iterable[tuple[object, ...]], size: int) -> Iterable[list[tuple[object, ...]]]:
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class LocalRegistry:
    """A registry file: SQLite built by :func:`build`, or a CSV/JSON input compiled on open.

    Read-only and safe from several threads (one connection each).

    Args:
        path: the ``.sqlite`` file, or a ``.csv``/``.json`` input.

    Raises:
        ValueError: the file is missing, not a registry, or a malformed input.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = self.source = str(path)
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        file = Path(path)
        if file.suffix.lower() in (".csv", ".json"):
            self._folder = tempfile.TemporaryDirectory(prefix="scrapy-optout-registry-")
            file = Path(self._folder.name) / "registry.sqlite"
            build([path], file)
        if not file.is_file():
            raise ValueError(f"{path}: no such registry file")
        self._db_path = str(file)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []  # every thread's, to close them all
        self._guard = threading.Lock()
        self._closed = False
        try:
            fmt = self._db().execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
            if fmt is None or fmt[0] != FORMAT:
                raise ValueError(f"{path}: not a registry of format {FORMAT}")
            bits = self._db().execute("SELECT bits FROM keyfilter").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{path}: not a registry ({exc})") from None
        if bits is None or not isinstance(bits[0], bytes):
            raise ValueError(f"{path}: not a registry (its key filter is missing)")
        self._filter = KeyFilter(bits[0])

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if self._closed:
                raise ValueError(f"{self.path}: the registry is closed")
            uri = Path(self._db_path).resolve().as_uri() + "?mode=ro"
            # Used by its own thread only; check_same_thread=False lets close() close it.
            db = self._local.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            with self._guard:
                self._opened.append(db)
        return db

    def __len__(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM entries").fetchone()[0])

    def lookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """Every entry covering *url*; None if the file cannot be read (unavailable, DESIGN §5).

        *timeout* is accepted for the backend interface; a local lookup does not wait.
        """
        try:
            return self.find(url)
        except (sqlite3.Error, ValueError) as exc:
            logger.warning("registry %s unreadable: %s", self.path, exc)
            return None

    async def alookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """:meth:`lookup`, for async shells (it takes microseconds: no thread is needed)."""
        return self.lookup(url)

    def find(self, url: str) -> RegistryAnswer:
        """Every entry covering *url* (an empty answer when none does).

        Raises:
            sqlite3.Error: the file cannot be read; ValueError: the registry is closed.
        """
        if self._closed:  # checked first: the key filter alone would answer "nothing registered"
            raise ValueError(f"{self.path}: the registry is closed")
        keys = self._filter.present(expressions(url))
        if not keys:
            return RegistryAnswer(())
        marks = ",".join("?" * len(keys))
        rows = self._db().execute(
            f"SELECT {_COLUMNS} FROM entries WHERE key IN ({marks})", keys  # noqa: S608 - "?" marks
        ).fetchall()
        found = (_entry(row) for row in rows)
        return RegistryAnswer(tuple(e for e in found if e.scope != "prefix" or covers(e, url)))

    def lookup_hashed(self, prefixes: list[str]) -> list[tuple[str, RegistryEntry]]:
        """``(digest, entry)`` for every entry whose key's digest starts with one of *prefixes*.

        Each prefix is :data:`~.hashing.PREFIX_HEX` lower-case hex digits (others match nothing).
        """
        db = self._db()
        out: list[tuple[str, RegistryEntry]] = []
        for prefix in prefixes:
            if len(prefix) != PREFIX_HEX or not all(c in "0123456789abcdef" for c in prefix):
                continue
            rows = db.execute(
                f"SELECT key, {_COLUMNS} FROM entries WHERE bucket = ?",  # noqa: S608 - constant
                (int(prefix, 16),),
            ).fetchall()
            out += [(digest(str(row[0])), _entry(row[1:])) for row in rows]
        return out

    def entries(self) -> Iterator[RegistryEntry]:
        """Every entry, in key order (for a snapshot)."""
        rows = self._db().execute(f"SELECT {_COLUMNS} FROM entries ORDER BY key")  # noqa: S608
        for row in rows:
            yield _entry(row)

    def close(self) -> None:
        """Close every thread's connection and drop a compiled temporary copy (idempotent)."""
        with self._guard:
            self._closed = True
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()
        self._local = threading.local()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    async def aclose(self) -> None:
        """:meth:`close`, for async shells."""
        self.close()


def _entry(row: tuple[object, ...]) -> RegistryEntry:
    scope, value, purposes, policy, registered, source, permits = row
    return RegistryEntry(
        scope=str(scope),
        value=str(value),
        purposes=frozenset(p for p in str(purposes).split(";") if p),
        policy=None if policy is None else str(policy),
        registered=None if registered is None else str(registered),
        source=None if source is None else str(source),
        permits=bool(permits),
    )
