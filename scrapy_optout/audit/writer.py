"""The one writer of the compliance log: append-only, hash-chained, crash-safe, thread-safe.

DESIGN §7: each line is flushed when written; ``hash`` chains every record to the previous one; a crash
may tear only the last line, and reopening repairs that tail and continues the chain, so no earlier
record is ever lost. Evidence bodies are stored once each, content-addressed, in
``<log path>.evidence/`` (DESIGN §5.1), before the record that cites them.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any

from scrapy_optout._core.models import Decision, Evidence
from scrapy_optout.audit.record import (
    VERSION,
    ZERO_HASH,
    _WriterEncoder,
    canonical_json,
    decision_to_fields,
    evidence_hex,
)
from scrapy_optout.audit.rotation import MIN_ROTATE_BYTES, Compressor, last_closed_record, shift
from scrapy_optout.audit.tail import read_at, read_tail

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+; the package supports 3.10

if sys.platform != "win32":  # POSIX only; elsewhere the single-writer guard is skipped.
    import fcntl

_BLOCK = 64 * 1024
"""Bytes copied at a time from a torn tail to ``<log>.torn``."""

_UTC = timezone.utc
_O_FLAGS = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
_sync = getattr(os, "fdatasync", os.fsync)  # data + size is all an append needs to survive


def _utc_ts(moment: datetime) -> str:
    """Format *moment* as RFC 3339 UTC with microseconds and ``Z`` (DESIGN §5.2 "Timestamps")."""
    # A naive time is taken as UTC (the default clock is aware); an aware one is converted.
    if moment.tzinfo is not _UTC and moment.tzinfo is not None:
        moment = moment.astimezone(_UTC)
    # %-formatting is about twice as fast as isoformat() here, and always prints the microseconds.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year, moment.month, moment.day,
        moment.hour, moment.minute, moment.second, moment.microsecond,
    )  # fmt: skip


def _default_clock() -> datetime:
    return datetime.now(_UTC)


def _scrub(value: Any) -> Any:
    """Replace lone surrogates (no UTF-8 form) by U+FFFD in every string of *value*."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


class AuditWriter:
    """Append-only, hash-chained, thread-safe compliance log writer.

    Opening an existing log continues its chain. A torn last line (no trailing newline, not JSON, or
    its own hash does not check) is cut off, saved to ``<log path>.torn`` and reported by a
    ``repaired`` field on the next record; any other damage makes the constructor raise ValueError.
    Only one writer may hold a log at a time (an advisory lock, where the OS has one).

    Args:
        path: the log file (created if missing; its folder must exist).
        agent: the crawler's product token.
        purpose: the policy's purpose.
        policy: the hash of the effective Policy.
        run: the run id; a fresh ``uuid4`` hex by default.
        worker: the worker id written in every record's ``worker`` (the crawler process of a
            fleet, e.g. its Scrapy job id); no such field when None.
        clock: gives the current time; ``datetime.now(timezone.utc)`` by default.
        fsync: also fsync each line (and each evidence file) when written.
        rotate_bytes: close the segment once it holds this many bytes (at least
            :data:`~scrapy_optout.audit.rotation.MIN_ROTATE_BYTES`), compress it to ``LOG.1.gz`` and
            go on in a new ``LOG``, the chain continuing (``rotation.py``); None: never.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        agent: str,
        purpose: str,
        policy: str,
        run: str | None = None,
        worker: str | None = None,
        clock: Callable[[], datetime] | None = None,
        fsync: bool = False,
        rotate_bytes: int | None = None,
    ) -> None:
        if rotate_bytes is not None and rotate_bytes < MIN_ROTATE_BYTES:
            raise ValueError(
                f"rotate_bytes: must be at least {MIN_ROTATE_BYTES}, got {rotate_bytes}"
            )
        self._rotate_bytes = rotate_bytes
        self._compressor = Compressor()
        self._size = 0
        self._path = os.fspath(path)
        self._agent = agent
        self._purpose = purpose
        self._policy = policy
        self._run = uuid.uuid4().hex if run is None else run
        self._worker = worker
        self._clock = _default_clock if clock is None else clock
        self._fsync = fsync
        self._lock = threading.Lock()
        self._encoder = _WriterEncoder(
            agent=agent, purpose=purpose, policy=policy, run=self._run, worker=worker
        )
        self._evidence_dir = self._path + ".evidence"
        self._stored: set[str] = set()
        self._broken: str | None = None
        self._repaired: dict[str, object] | None = None
        self._seq = 0
        self._prev = ZERO_HASH
        self._fd: int | None = None
        fd = os.open(self._path, _O_FLAGS, 0o644)
        try:
            self._take_lock(fd)
            self._open_chain(fd)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    @property
    def path(self) -> str:
        """The log file's path."""
        return self._path

    @property
    def run(self) -> str:
        """This writer's run id (the ``run`` of every record it writes)."""
        return self._run

    @property
    def worker(self) -> str | None:
        """This writer's worker id (the ``worker`` of every record it writes), if it has one."""
        return self._worker

    @property
    def seq(self) -> int:
        """The ``seq`` of the last record of the log (0 for an empty log)."""
        return self._seq

    def _take_lock(self, fd: int) -> None:
        # Two writers on one log would both chain from the same record and fork the chain
        # (DESIGN §2: there is one writer of the audit log).
        if sys.platform == "win32":  # pragma: no cover
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"{self._path}: the log is open in another writer") from None
        except OSError:  # pragma: no cover - a file system without locks: best effort
            return

    def _open_chain(self, fd: int) -> None:
        """Continue the chain from the log's last intact record; repair a torn last line (DESIGN §7)."""
        tail = read_tail(fd)
        if tail.problem is not None:
            # Damage before the tail is never cut (verify reports it); the file is left untouched.
            raise ValueError(
                f"{self._path}: line {tail.bad_line}: {tail.problem}; only a torn last line is "
                "repaired, so this log is not reopened (run verify)"
            )
        last = tail.last
        if last is None and tail.cut == 0:  # a new segment: go on from the last closed one
            last = last_closed_record(self._path)
        if last is not None:
            self._seq, self._prev = int(str(last["seq"])), str(last["hash"])
        if tail.cut < tail.size:
            self._cut_tail(fd, tail.cut, tail.size)
        self._size = tail.cut

    def _cut_tail(self, fd: int, cut: int, size: int) -> None:
        """Save the torn bytes to ``<log>.torn`` (appended, synced), then cut them off the log."""
        digest = hashlib.sha256()
        torn = os.open(self._path + ".torn", _O_FLAGS, 0o644)
        try:
            pos = cut
            while pos < size:  # block by block: a torn tail may be large (audit brief)
                block = read_at(fd, pos, min(_BLOCK, size - pos))
                if not block:
                    break
                digest.update(block)
                self._write_all(torn, block)
                pos += len(block)
            os.fsync(torn)  # the bytes are safe elsewhere before they leave the log
        finally:
            os.close(torn)
        os.ftruncate(fd, cut)
        os.fsync(fd)
        self._repaired = {"bytes": size - cut, "sha256": digest.hexdigest()}

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _store_evidence(self, evidence: Evidence) -> None:
        """Store one evidence body as ``<log>.evidence/<hex>``, atomically, if not there yet."""
        name = evidence_hex(evidence.digest)
        if name is None:
            raise ValueError(f"evidence digest {evidence.digest!r} is not sha256:<64 hex>")
        if hashlib.sha256(evidence.body).hexdigest() != name:
            raise ValueError(f"evidence {evidence.digest} does not match its body")
        target = os.path.join(self._evidence_dir, name)
        if not os.path.exists(target):
            os.makedirs(self._evidence_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self._evidence_dir)
            try:
                try:
                    self._write_all(fd, evidence.body)
                    if self._fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, target)  # atomic: a reader sees the whole body or nothing
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        self._stored.add(evidence.digest)

    def _check_cited(self, cited: str) -> None:
        """Make sure the evidence *cited* by a reason is stored (given earlier, or by an earlier run)."""
        name = evidence_hex(cited)
        if name is None:
            raise ValueError(f"reason evidence {cited!r} is not sha256:<64 hex>")
        # Stored by an earlier run: one stat per digest, then remembered.
        if not os.path.exists(os.path.join(self._evidence_dir, name)):
            raise ValueError(f"reason evidence {cited} was not given in Decision.evidence")
        self._stored.add(cited)

    def write(self, decision: Decision) -> dict[str, object]:
        """Append one record for *decision* and return it (with its ``hash``).

        Evidence bodies are stored before the line, so a record never names a missing file.

        Raises:
            ValueError: the writer is closed or broken by an earlier I/O error, or an evidence digest
                is malformed, does not match its body, or is cited by a reason but not given.
            OSError: writing failed; the writer is then broken (reopen the log to repair it).
        """
        record = decision_to_fields(decision)  # url, stage, action, reasons[, licensing, errors]
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self._path}: write to a closed AuditWriter")
            if self._broken is not None:
                raise ValueError(f"{self._path}: writer broken by {self._broken}; reopen the log")
            stored = self._stored
            for evidence in decision.evidence:
                if evidence.digest not in stored:
                    self._store_evidence(evidence)
            for reason in decision.reasons:
                if reason.evidence is not None and reason.evidence not in stored:
                    self._check_cited(reason.evidence)
            # Filled in place rather than merged into a new dict: key order does not matter (the
            # hash is over sorted keys) and the copy is a measurable share of the per-record cost.
            record["v"] = VERSION
            record["seq"] = self._seq + 1
            record["ts"] = _utc_ts(self._clock())
            record["run"] = self._run
            record["agent"] = self._agent
            record["purpose"] = self._purpose
            record["policy"] = self._policy
            record["prev"] = self._prev
            if self._worker is not None:
                record["worker"] = self._worker
            if self._repaired is not None:
                record["repaired"] = self._repaired
            try:
                data = self._encoder.encode(record).encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form: keep the log readable
                record = _scrub(record)
                data = canonical_json(record).encode("utf-8")
            digest = hashlib.sha256(data).hexdigest()
            # The canonical text ends with "}": append the hash as the last key (audit brief).
            line = b"".join((data[:-1], b',"hash":"', digest.encode("ascii"), b'"}\n'))
            try:
                written = os.write(self._fd, line)
                if written < len(line):  # a short write (signal, full disk): finish or fail
                    self._write_all(self._fd, line[written:])
                if self._fsync:
                    _sync(self._fd)
            except BaseException as exc:
                self._broken = type(exc).__name__
                raise
            self._seq += 1
            self._prev = digest
            self._repaired = None
            self._size += len(line)
            if self._rotate_bytes is not None and self._size >= self._rotate_bytes:
                try:
                    self._rotate()
                except BaseException as exc:  # the segments may be half renamed: write no more
                    self._broken = type(exc).__name__
                    raise
        record["hash"] = digest
        return record

    def _rotate(self) -> None:
        """Close this segment, renumber the closed ones, start a new one (under the lock)."""
        self._compressor.wait()  # the previous segment's compression: its name must not move
        shift(self._path)
        closed = f"{self._path}.1"
        os.replace(self._path, closed)  # our descriptor follows the file; so does its lock
        fd = os.open(self._path, _O_FLAGS, 0o644)
        try:
            self._take_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        old, self._fd, self._size = self._fd, fd, 0
        if old is not None:
            os.close(old)
        self._compressor.start(closed, fsync=self._fsync)

    def close(self) -> None:
        """Close the log (and release it for another writer). Closing twice is harmless."""
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)
        self._compressor.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
