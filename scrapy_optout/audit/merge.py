"""One chained log from several workers' logs: ``scrapy-optout log merge LOG... -o OUT`` (issue 10).

DESIGN §5.2 ("CLI output") and §7: the merged log holds one record per input record, in time
order, chained from ``seq`` 1 (``prev`` of 64 zeros, each ``hash`` over its own canonical JSON,
as the writer writes them), each adding ``src``: the ``run``, ``seq`` and ``hash`` of the input
record, so that every merged record can be traced to the line of the worker's log it copies.

Every input is verified first (chain, hashes and evidence files), and nothing is written unless all
are intact: a merge never launders a damaged log into an intact-looking one. Each worker's records
keep their order (a k-way merge on ``ts``, not a sort: a worker's clock stepping back cannot
reorder its own chain). The evidence files the inputs cite are copied beside the output, so that
``log verify OUT`` checks them too. The output is written to a temporary file and renamed into
place: an interrupted merge leaves no half log.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .record import ZERO_HASH, canonical_json
from .verify import read, verify

_HEX64 = re.compile(r"[0-9a-f]{64}")


class MergeError(ValueError):
    """An input cannot be merged (missing, given twice) or the output cannot be written."""


class DamagedInput(MergeError):
    """An input log is not intact (its chain, a hash or an evidence file is wrong)."""


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What :func:`merge` wrote.

    Attributes:
        output: the merged log's path.
        records: records written (the sum of the inputs' records).
        inputs: ``(path, records)`` of each input, in the order given.
        evidence: evidence files copied beside the output.
    """

    output: str
    records: int
    inputs: tuple[tuple[str, int], ...]
    evidence: int


def time_key(ts: str) -> str:
    """*ts* (RFC 3339 UTC with 0 to 9 fractional digits, DESIGN §5.2) as text that sorts in time."""
    whole, _, fraction = ts.rstrip("Z").partition(".")
    return f"{whole}.{fraction:0<9}"


def _keyed(
    index: int, records: Iterator[dict[str, Any]]
) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for record in records:
        yield time_key(str(record["ts"])), index, record


def _check_inputs(logs: Sequence[str], output: str) -> list[tuple[str, int]]:
    """Verify every input; refuse a log given twice or an output that is one of the inputs."""
    if not logs:
        raise MergeError("log merge: no input log given")
    seen: dict[str, str] = {}
    for log in logs:
        real = os.path.realpath(log)
        if real in seen:
            raise MergeError(f"{log}: given twice (as {seen[real]})")
        seen[real] = log
    if os.path.realpath(output) in seen:
        raise MergeError(f"{output}: the output is one of the inputs")
    counts = []
    for log in logs:
        result = verify(log)
        if not result.ok:
            if result.first_bad_line is None:  # not readable at all (missing...)
                raise MergeError(f"{result.problem}")
            raise DamagedInput(f"{log}: not intact: {result.problem}; nothing merged")
        counts.append((log, result.records))
    return counts


def _copy_evidence(logs: Sequence[str], folder: str) -> int:
    """Copy the inputs' evidence files (content-addressed: one copy per digest) into *folder*."""
    copied = 0
    for log in logs:
        source = log + ".evidence"
        if not os.path.isdir(source):
            continue
        for name in sorted(os.listdir(source)):
            target = os.path.join(folder, name)
            if not _HEX64.fullmatch(name) or os.path.exists(target):
                continue  # not an evidence file, or the same bytes already there
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(os.path.join(source, name), target)
            copied += 1
    return copied


def merge(logs: Sequence[str], output: str) -> MergeResult:
    """Write the records of *logs* as one time-ordered chain to *output*; see the module docstring.

    Raises:
        DamagedInput: an input is not intact; nothing is written.
        MergeError: an input is missing, is given twice, or is the output; or the output cannot
            be written (the message names the file).
    """
    counts = _check_inputs(logs, output)
    # Only the records verified: a worker still writing may append more meanwhile.
    sources = [
        _keyed(index, islice(read(log), records)) for index, (log, records) in enumerate(counts)
    ]
    directory = os.path.dirname(os.path.abspath(output))
    try:
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".merge-", suffix=".jsonl")
    except OSError as exc:
        raise MergeError(f"{output}: cannot write: {exc.strerror}") from exc
    written, previous = 0, ZERO_HASH
    try:
        with os.fdopen(fd, "wb") as out:
            for _, _, record in heapq.merge(*sources, key=lambda item: item[:2]):
                source = {
                    "run": record.get("run"),
                    "seq": record["seq"],
                    "hash": record.pop("hash"),
                }
                written += 1
                record.update(seq=written, prev=previous, src=source)
                data = canonical_json(record).encode("utf-8")
                previous = hashlib.sha256(data).hexdigest()
                out.write(b"".join((data[:-1], b',"hash":"', previous.encode(), b'"}\n')))
            out.flush()
            os.fsync(out.fileno())
        evidence = _copy_evidence(logs, output + ".evidence")
        os.replace(temporary, output)
    except OSError as exc:
        raise MergeError(f"{output}: cannot write: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return MergeResult(output, written, tuple(counts), evidence)
