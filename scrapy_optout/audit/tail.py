"""The writer's view of a log on reopening: its last intact record and a torn tail after it.

Only the last lines are read, backwards from the end, one block at a time (a huge torn tail costs
time, not memory; DESIGN §7: a crash may tear only the last line).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from scrapy_optout.audit.record import follows, parse_line

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
