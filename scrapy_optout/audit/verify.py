"""Read and verify a compliance log, streaming (constant memory whatever the log's length).

:func:`verify` checks every line on its own (JSON, shape, ``hash``), its link to the line before
(``seq`` + 1 and ``prev``), and, optionally, the evidence files it cites (DESIGN §5.1, §7). It stops
at the first bad line and names it. A large log is cut into pieces of whole lines checked by
several processes, whose ends are then joined: the verdict is the one a single pass gives.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from scrapy_optout.audit.record import ZERO_HASH, evidence_hex, follows, parse_line
from scrapy_optout.audit.segments import open_segment, segments

MAX_LINE = 64 * 1024 * 1024
"""Longest line read (bytes). A record is a few KiB at most (header values are capped at 64 KiB,
DESIGN §5.2); the cap keeps memory bounded on a hostile file."""

_BLOCK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify`.

    Attributes:
        ok: the whole log is intact (and, if checked, every cited evidence file is present and right).
        records: intact records read (before the first bad line), over every segment.
        first_bad_line: 1-based number of the first bad line in its file, or None.
        problem: what is wrong, e.g. ``"line 7: hash mismatch"`` (``"LOG.2.gz: line 7: ..."`` in a
            rotated segment), or None when ok.
        repaired_tails: number of intact records that carry ``repaired`` (torn tails cut by the writer).
        segment: for a rotated log, the file the first bad line is in; else None.
    """

    ok: bool
    records: int
    first_bad_line: int | None
    problem: str | None
    repaired_tails: int
    segment: str | None = None


Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_read, bytes_in_all)`` while :func:`verify` reads (for a progress bar)."""


def _file_digest(path: str) -> str | None:
    """SHA-256 hex of the file at *path*, or None if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(_BLOCK):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _evidence_problem(
    record: dict[str, Any], folder: str, good: set[str], bad: dict[str, str]
) -> str | None:
    """Check the evidence files *record* cites; *good*/*bad* remember digests already checked."""
    for reason in record["reasons"]:
        cited = reason.get("evidence")
        if cited is None:
            continue
        if not isinstance(cited, str):  # hand-made JSON may put anything here, even a list
            return f"evidence {cited!r} is malformed"
        if cited in good:
            continue
        if cited in bad:
            return bad[cited]
        name = evidence_hex(cited)
        if name is None:
            problem = f"evidence {cited!r} is malformed"
        else:
            path = os.path.join(folder, name)
            actual = _file_digest(path)
            if actual is None:
                problem = f"evidence {cited} missing"
            elif actual != name:
                problem = f"evidence {cited} does not match its file"
            else:
                good.add(cited)
                continue
        bad[cited] = problem
        return problem
    return None


PARALLEL_BYTES = 64 * 1024 * 1024
"""A log at least this large is verified by several processes, one per CPU (each a piece)."""


@dataclass(frozen=True, slots=True)
class _Piece:
    """Whole lines of one file to check: bytes [start, end) (``end`` None: to the end)."""

    file: str
    start: int
    end: int | None
    last: bool  # the end of the log's current segment: a torn last line is a torn tail
    closing: bool  # the end of a file


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What checking one piece found: its lines, records, ends, and its first bad line."""

    lines: int
    records: int
    repaired: int
    first: tuple[int, str] | None  # (seq, prev) of its first record
    last: tuple[int, str] | None  # (seq, hash) of its last intact record
    bad: tuple[int, str] | None  # (line in the piece, problem)
    size: int  # bytes read (for progress)


def _check_piece(
    piece: _Piece, check_evidence: bool, folder: str, progress: Progress | None = None
) -> _Outcome:
    """Check every line of *piece* on its own and against the one before it in the piece.

    Its first record's link to what comes before is the caller's to check. Never raises.
    """
    good: set[str] = set()
    bad: dict[str, str] = {}
    lines = records = repaired = 0
    first: tuple[int, str] | None = None
    previous: dict[str, Any] | None = None

    def outcome(problem: str | None = None, line: int = 0) -> _Outcome:
        last = (previous["seq"], previous["hash"]) if previous is not None else None
        failure = (line, problem) if problem is not None else None
        return _Outcome(lines, records, repaired, first, last, failure, consumed)

    consumed = 0
    try:
        f = open_segment(piece.file)
    except OSError as exc:
        return outcome(f"cannot read ({exc})", 1)
    with f:
        raw_file: Any = getattr(f, "fileobj", f)  # a gzip segment: progress in compressed bytes
        if piece.start:
            f.seek(piece.start)
        position, end = piece.start, piece.end  # in the file's bytes (uncompressed for gzip)
        while end is None or position < end:
            try:
                raw = f.readline(MAX_LINE + 1)
            except (OSError, EOFError) as exc:
                return outcome(f"read error ({exc})", lines + 1)
            if not raw:
                break
            lines += 1
            position += len(raw)
            if progress is not None and lines % 4096 == 0:
                progress(raw_file.tell() - piece.start, 0)
            if len(raw) > MAX_LINE:
                return outcome(f"longer than {MAX_LINE} bytes", lines)
            if not raw.endswith(b"\n"):
                return outcome(_NO_NEWLINE if piece.last else _CUT_SEGMENT, lines)
            record, problem = parse_line(raw)
            if record is None:
                return outcome(str(problem), lines)
            if previous is None:
                first = (record["seq"], record["prev"])
            elif record["seq"] != previous["seq"] + 1 or record["prev"] != previous["hash"]:
                return outcome(str(follows(record, previous, lines)), lines)
            if check_evidence and record["reasons"]:
                problem = _evidence_problem(record, folder, good, bad)
                if problem is not None:
                    return outcome(problem, lines)
            records += 1
            if "repaired" in record:
                repaired += 1
            previous = record
        consumed = raw_file.tell() - piece.start
    return outcome()


def _pieces(files: list[str], sizes: list[int], workers: int) -> list[_Piece]:
    """Split the log into pieces of whole lines: a gzip segment whole, a plain file in *workers*."""
    pieces: list[_Piece] = []
    for index, (file, size) in enumerate(zip(files, sizes, strict=True)):
        last = index == len(files) - 1
        cuts = [0]
        if workers > 1 and not file.endswith(".gz") and size:
            cuts += _line_starts(file, [size * k // workers for k in range(1, workers)])
        cuts = sorted(set(cuts))
        for k, start in enumerate(cuts):
            end = cuts[k + 1] if k + 1 < len(cuts) else None
            pieces.append(_Piece(file, start, end, last and end is None, end is None))
    return pieces


def _line_starts(file: str, offsets: list[int]) -> list[int]:
    """For each offset, where the next line of *file* starts (its end when none does)."""
    starts = []
    with open(file, "rb") as f:
        for offset in offsets:
            f.seek(offset)
            f.readline(MAX_LINE + 1)
            starts.append(f.tell())
    return starts


def verify(
    path: str | os.PathLike[str],
    *,
    check_evidence: bool = True,
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyResult:
    """Check the whole log at *path*, its rotated segments first; never raises on a bad file.

    A missing file is not ok; an empty file is ok with 0 records. A last line without its newline is
    reported (a torn tail: reopening the log with the writer repairs it); in a closed segment it is
    damage. *progress*, if given, is told how far the reading has come. With *workers* > 1 the log
    is cut into pieces read by that many processes; by default a log of at least
    :data:`PARALLEL_BYTES` is, one process per CPU. The verdict is the same either way.
    """
    name = os.fspath(path)
    files = segments(name)
    rotated = len(files) > 1
    if not rotated and not os.path.exists(name):
        return VerifyResult(False, 0, None, f"{name}: no such file", 0)
    if rotated and not os.path.exists(name):
        files = files[:-1]  # rotated and not reopened yet: the chain ends with the last segment
    sizes = [_size(f) for f in files]
    total = sum(sizes)
    if workers is None:
        workers = os.cpu_count() or 1 if total >= PARALLEL_BYTES else 1
    pieces = _pieces(files, sizes, workers)
    folder = name + ".evidence"
    if workers > 1 and len(pieces) > 1:
        outcomes: Iterator[_Outcome] = _in_processes(pieces, check_evidence, folder, workers)
    else:
        outcomes = _in_order(pieces, check_evidence, folder, progress, total)
    records = repaired = done = 0
    previous: dict[str, Any] | None = None
    line_base = 0  # lines of the current file before the current piece
    for piece, outcome in zip(pieces, outcomes, strict=False):
        where = f"{os.path.basename(piece.file)}: " if rotated else ""
        segment = piece.file if rotated else None
        if outcome.first is not None:  # its first record must continue the chain so far
            seq, prev = outcome.first
            record = {"seq": seq, "prev": prev}
            if seq != records + 1 or prev != (previous["hash"] if previous else ZERO_HASH):
                line = line_base + 1
                problem = f"{where}line {line}: {follows(record, previous, line)}"
                return VerifyResult(False, records, line, problem, repaired, segment)
        if outcome.bad is not None:
            line = line_base + outcome.bad[0]
            problem = f"{where}line {line}: {outcome.bad[1]}"
            return VerifyResult(False, records + outcome.records, line, problem,
                                repaired + outcome.repaired, segment)  # fmt: skip
        records += outcome.records
        repaired += outcome.repaired
        if outcome.last is not None:
            previous = {"seq": outcome.last[0], "hash": outcome.last[1]}
        line_base = 0 if piece.closing else line_base + outcome.lines
        done += outcome.size
        if progress is not None:
            progress(done if piece is not pieces[-1] else total, total)
    return VerifyResult(True, records, None, None, repaired)


def _in_order(
    pieces: list[_Piece], check_evidence: bool, folder: str, progress: Progress | None, total: int
) -> Iterator[_Outcome]:
    """Check the pieces one after the other, in this process."""
    done = 0
    for piece in pieces:
        report = None if progress is None else (lambda n, _t, base=done: progress(base + n, total))
        outcome = _check_piece(piece, check_evidence, folder, report)
        done += outcome.size
        yield outcome
        if outcome.bad is not None:
            return


def _in_processes(
    pieces: list[_Piece], check_evidence: bool, folder: str, workers: int
) -> Iterator[_Outcome]:
    """Check the pieces in *workers* processes, in order.

    This process takes the first piece; spawned ones (safe beside threads) take the others.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers - 1, mp_context=context) as pool:
        rest = [pool.submit(_check_piece, piece, check_evidence, folder) for piece in pieces[1:]]
        yield _check_piece(pieces[0], check_evidence, folder)
        for job in rest:
            yield job.result()


_NO_NEWLINE = "no newline at the end (a torn tail; reopening the log repairs it)"
_CUT_SEGMENT = "no newline at the end of a closed segment (cut short)"


def _size(file: str) -> int:
    try:
        return os.path.getsize(file)
    except OSError:
        return 0


def read(path: str | os.PathLike[str]) -> Iterator[dict[str, object]]:
    """Yield the records of the log at *path* in order, its rotated segments first (streaming).

    Does not check hashes (that is :func:`verify`). A last line without its newline (a torn tail) is
    not yielded.

    Raises:
        FileNotFoundError: no such file (and no rotated segment).
        ValueError: a line (other than a torn last line) is not a JSON object, or is too long.
    """
    name = os.fspath(path)
    files = segments(name)
    if len(files) == 1 and not os.path.exists(name):
        raise FileNotFoundError(f"{name}: no such file")
    for index, file in enumerate(files):
        current = index == len(files) - 1
        try:
            f = open_segment(file)
        except FileNotFoundError:
            if current:
                return
            raise
        with f:
            yield from _records(f, file)


def _records(f: BinaryIO, name: str) -> Iterator[dict[str, object]]:
    line = 0
    while raw := f.readline(MAX_LINE + 1):
        line += 1
        if len(raw) > MAX_LINE:
            raise ValueError(f"{name}: line {line}: longer than {MAX_LINE} bytes")
        if not raw.endswith(b"\n"):
            return  # a torn tail: the writer cuts it on reopening
        try:
            record = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            raise ValueError(f"{name}: line {line}: not JSON") from None
        if type(record) is not dict:  # json.loads makes plain dicts; a bad line, not a bad call
            raise ValueError(f"{name}: line {line}: not a JSON object")
        yield record
