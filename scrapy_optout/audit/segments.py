"""A log and its rotated segments, read as one chain.

With rotation (``AuditWriter(rotate_bytes=...)``, ``OPTOUT_AUDIT_ROTATE_BYTES``), ``LOG`` is the
segment being written and the closed ones are ``LOG.1.gz`` (the most recent), ``LOG.2.gz``, … The
chain runs from the oldest (highest number) to ``LOG``: the first record of a segment continues the
last record of the one before (DESIGN §7). A segment left uncompressed (``LOG.3``: the writer was
stopped while compressing it) is read as it is. Evidence files are shared, in ``LOG.evidence/``.
"""

from __future__ import annotations

import gzip
import os
import re
from typing import BinaryIO

COMPRESSED = ".gz"


def segments(path: str | os.PathLike[str]) -> list[str]:
    """The files of the log at *path*, oldest first; *path* itself last (even if missing).

    For a number with both forms (``LOG.2`` and ``LOG.2.gz``: compressed, not yet removed), the
    compressed one, which is only renamed into place once whole, is read.
    """
    base = os.fspath(path)
    folder, name = os.path.split(base)
    pattern = re.compile(re.escape(name) + r"\.([1-9][0-9]*)(\.gz)?")
    found: dict[int, str] = {}
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        entries = []
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        number = int(match.group(1))
        if match.group(2) or number not in found:
            found[number] = os.path.join(folder, entry)
    return [found[number] for number in sorted(found, reverse=True)] + [base]


def open_segment(name: str) -> BinaryIO:
    """Open one segment for reading, decompressing a ``.gz`` one on the fly."""
    if name.endswith(COMPRESSED):
        return gzip.open(name, "rb")  # type: ignore[return-value]
    return open(name, "rb")


def numbered(path: str, number: int) -> str:
    """The name of closed segment *number* of the log *path*, compressed (``LOG.3.gz``)."""
    return f"{path}.{number}{COMPRESSED}"
