"""Log rotation by size: closing a segment, compressing it, and continuing the chain after it.

The writer (``AuditWriter(rotate_bytes=N)``) rotates once the segment it writes reaches *N* bytes:
the closed segments are renumbered (``LOG.1.gz`` becomes ``LOG.2.gz``…), ``LOG`` becomes ``LOG.1``,
a new ``LOG`` is opened, and ``LOG.1`` is compressed to ``LOG.1.gz`` (written under a temporary
name, renamed into place once whole, and only then is ``LOG.1`` removed). Every step leaves a log
that reads whole (``segments.py``): a stop at any point loses no record. The first record of the new
segment continues the chain of the last one (DESIGN §7), also when the writer is reopened after a
rotation, before any record of the new segment.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import threading

from scrapy_optout._core.policy import MIN_ROTATE_BYTES
from scrapy_optout.audit.record import parse_line
from scrapy_optout.audit.segments import COMPRESSED, open_segment, segments

__all__ = ["MIN_ROTATE_BYTES", "Compressor", "compress", "last_closed_record", "shift"]

_NUMBER = re.compile(r"\.([1-9][0-9]*)(\.gz)?$")


def shift(path: str) -> None:
    """Renumber the closed segments of *path* up by one, the highest first (LOG.2.gz -> LOG.3.gz).

    A number present in both forms (compressed, not yet removed) keeps only the compressed one,
    which is renamed into place only once whole.
    """
    closed = segments(path)[:-1]  # oldest (highest number) first
    for name in closed:
        match = _NUMBER.search(name)
        if match is None:  # pragma: no cover - segments() lists only numbered names
            continue
        number = int(match.group(1))
        plain = f"{path}.{number}"
        if name.endswith(COMPRESSED) and os.path.exists(plain):
            os.unlink(plain)
        os.replace(name, f"{path}.{number + 1}{match.group(2) or ''}")


class Compressor:
    """Compresses closed segments in a thread of its own, one at a time."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self, plain: str, *, fsync: bool) -> None:
        """Begin compressing *plain* to ``plain.gz`` (after the previous compression ends)."""
        self.wait()
        self._thread = threading.Thread(
            target=compress, args=(plain,), kwargs={"fsync": fsync}, daemon=True
        )
        self._thread.start()

    def wait(self) -> None:
        """Wait for the compression under way, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def compress(plain: str, *, fsync: bool = False) -> bool:
    """Compress *plain* to ``plain.gz``, then remove *plain*; False (and *plain* kept) on error."""
    target = plain + COMPRESSED
    temporary = target + ".tmp"
    try:
        with open(plain, "rb") as source, open(temporary, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
                shutil.copyfileobj(source, packed, 1024 * 1024)
            if fsync:
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(temporary, target)
        os.unlink(plain)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def last_closed_record(path: str) -> dict[str, object] | None:
    """The last record of the newest closed segment of *path*, or None when there is none.

    Raises:
        ValueError: that segment's last line is not an intact record (a closed segment is never
            torn; its damage is for ``verify`` to report, not for the writer to build on).
    """
    closed = segments(path)[:-1]
    if not closed:
        return None
    newest = closed[-1]
    last: bytes | None = None
    with open_segment(newest) as f:
        for line in f:
            last = line
    if last is None:
        return None
    record, problem = parse_line(last)
    if record is None or not last.endswith(b"\n"):
        raise ValueError(
            f"{newest}: its last line is damaged ({problem or 'cut short'}); run verify"
        )
    return record
