"""Read and verify a compliance log, streaming (constant memory whatever the log's length).

:func:`verify` checks every line on its own (JSON, shape, ``hash``), its link to the line before
(``seq`` + 1 and ``prev``), and, optionally, the evidence files it cites (DESIGN §5.1, §7). It stops
at the first bad line and names it. :func:`read_tail` is the writer's view on reopening: only the
last lines, read backwards from the end.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from scrapy_optout.audit.record import evidence_hex, follows, parse_line
from scrapy_optout.audit.segments import open_segment, segments

MAX_LINE = 64 * 1024 * 1024
"""Longest line read (bytes). A record is a few KiB at most (header values are capped at 64 KiB,
DESIGN §5.2); the cap keeps memory bounded on a hostile file."""

_BLOCK = 1024 * 1024
_TAIL_BLOCK = 64 * 1024  # read backwards from the end in blocks this size


def read_at(fd: int, offset: int, size: int) -> bytes:
    """Read up to *size* bytes of the open file *fd* from *offset* (fewer only at its end)."""
    os.lseek(fd, offset, os.SEEK_SET)
    chunks = []
    while size > 0:
        chunk = os.read(fd, min(size, _BLOCK))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _newlines_before(fd: int, end: int, count: int) -> list[int]:
    """Offsets of the last *count* newline bytes before *end*, latest first, reading backwards.

    One block at a time, none kept: a huge torn tail costs time, not memory, and the log is never
    read whole (audit brief).
    """
    found: list[int] = []
    pos = end
    while pos > 0 and len(found) < count:
        start = max(0, pos - _TAIL_BLOCK)
        block = read_at(fd, start, pos - start)
        i = len(block)
        while len(found) < count:
            i = block.rfind(b"\n", 0, i)
            if i < 0:
                break
            found.append(start + i)
        pos = start
    return found


def _line_number(fd: int, offset: int) -> int:
    """1-based number of the line starting at *offset* (streams the file: only on the error path)."""
    newlines = pos = 0
    while pos < offset:
        block = read_at(fd, pos, min(_BLOCK, offset - pos))
        if not block:
            break
        newlines += block.count(b"\n")
        pos += len(block)
    return newlines + 1


@dataclass(frozen=True, slots=True)
class Tail:
    """The end of a log, as the writer needs it to continue the chain (see :func:`read_tail`).

    Attributes:
        size: the file's size.
        cut: where the torn last line starts (``size`` when the last line is intact).
        last: the last intact record before ``cut``, or None when no record is kept.
        bad_line: the 1-based number of a damaged line before the tail, or None.
        problem: what is wrong with that line, or None.
    """

    size: int
    cut: int
    last: dict[str, Any] | None
    bad_line: int | None = None
    problem: str | None = None


def read_tail(fd: int) -> Tail:
    """Find the last intact record of the log open as *fd*, and a torn last line after it.

    The last line is torn when it has no newline, is not JSON, or its own hash does not check (a
    crash; DESIGN §7). Only that one line may be cut. The line kept before it must be intact and
    continue the line before it (itself intact); otherwise the damage is not a torn tail and is
    reported in ``problem``. Reads only the last lines, from the end backwards.
    """
    size = os.lseek(fd, 0, os.SEEK_END)
    # 4 newlines bound the last 3 complete lines: the last one and the two it is checked against.
    # Everything after the last newline is a fragment of a torn write.
    nls = _newlines_before(fd, size, 4)
    count = len(nls) if len(nls) < 4 else 3
    # (start, end) of complete lines, latest first; with fewer than 4 newlines the earliest one
    # starts the file.
    spans = [(nls[i + 1] + 1 if i + 1 < len(nls) else 0, nls[i] + 1) for i in range(count)]
    parsed: list[tuple[dict[str, Any] | None, str | None]] = []

    def check(i: int) -> tuple[dict[str, Any] | None, str | None]:
        while len(parsed) <= i:
            start, end = spans[len(parsed)]
            parsed.append(parse_line(read_at(fd, start, end - start)))
        return parsed[i]

    def damaged(i: int, problem: str | None) -> Tail:
        return Tail(size, size, None, _line_number(fd, spans[i][0]), str(problem))

    cut, kept = size, 0
    tail_start = nls[0] + 1 if nls else 0
    if tail_start < size:
        cut = tail_start  # no newline at the end: a torn write
    elif spans and check(0)[0] is None:
        cut, kept = spans[0][0], 1  # the last line is not a record by itself: torn
    if kept >= len(spans):
        return Tail(size, cut, None)  # nothing before the torn line
    record, problem = check(kept)
    if record is None:
        return damaged(kept, problem)
    before: dict[str, Any] | None = None
    if kept + 1 < len(spans):  # else the kept line is the first of the file
        before, problem = check(kept + 1)
        if before is None:
            return damaged(kept + 1, problem)
    if follows(record, before, 0) is not None:
        line = _line_number(fd, spans[kept][0])
        return Tail(size, size, None, line, follows(record, before, line))
    return Tail(size, cut, record)


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


def verify(
    path: str | os.PathLike[str],
    *,
    check_evidence: bool = True,
    progress: Progress | None = None,
) -> VerifyResult:
    """Check the whole log at *path*, its rotated segments first; never raises on a bad file.

    A missing file is not ok; an empty file is ok with 0 records. A last line without its newline is
    reported (a torn tail: reopening the log with the writer repairs it); in a closed segment it is
    damage. *progress*, if given, is told how far the reading has come.
    """
    name = os.fspath(path)
    files = segments(name)
    rotated = len(files) > 1
    folder = name + ".evidence"
    records = repaired = 0
    previous: dict[str, Any] | None = None
    good: set[str] = set()
    bad: dict[str, str] = {}
    sizes = [_size(f) for f in files]
    total, done = sum(sizes), 0

    def fail(file: str, line: int, problem: str) -> VerifyResult:
        if not rotated:
            return VerifyResult(False, records, line, f"line {line}: {problem}", repaired)
        where = f"{os.path.basename(file)}: line {line}: {problem}"
        return VerifyResult(False, records, line, where, repaired, file)

    if not rotated and not os.path.exists(name):
        return VerifyResult(False, 0, None, f"{name}: no such file", 0)
    for index, file in enumerate(files):
        current = index == len(files) - 1
        try:
            f = open_segment(file)
        except FileNotFoundError:
            if current:  # rotated and not reopened yet: the chain ends with the last segment
                break
            return VerifyResult(False, records, None, f"{file}: no such file", repaired, file)
        except OSError as exc:
            return VerifyResult(False, records, None, f"{file}: cannot read ({exc})", repaired, file)
        line = 0
        with f:
            raw_file = getattr(f, "fileobj", f)  # a gzip segment: progress in compressed bytes
            while True:
                try:
                    raw = f.readline(MAX_LINE + 1)
                except (OSError, EOFError) as exc:
                    return fail(file, line + 1, f"read error ({exc})")
                if not raw:
                    break
                line += 1
                if progress is not None and line % 4096 == 0:
                    progress(done + raw_file.tell(), total)
                if len(raw) > MAX_LINE:
                    return fail(file, line, f"longer than {MAX_LINE} bytes")
                if not raw.endswith(b"\n"):
                    return fail(file, line, _NO_NEWLINE if current else _CUT_SEGMENT)
                record, problem = parse_line(raw)
                if record is None:
                    return fail(file, line, str(problem))
                problem = follows(record, previous, line)
                if problem is None and check_evidence:
                    problem = _evidence_problem(record, folder, good, bad)
                if problem is not None:
                    return fail(file, line, problem)
                records += 1
                if "repaired" in record:
                    repaired += 1
                previous = record
        done += sizes[index]
        if progress is not None:
            progress(done, total)
    return VerifyResult(True, records, None, None, repaired)


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
