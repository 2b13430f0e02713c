"""rotation.py and segments.py: logs rotated by size read, verify and continue as one chain."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout._core.models import Decision, Evidence, Reason
from scrapy_optout.audit import AuditWriter, read, verify
from scrapy_optout.audit.rotation import MIN_ROTATE_BYTES, compress, shift
from scrapy_optout.audit.segments import segments

ROBOTS = Evidence.of(b"User-agent: *\nDisallow: /private\n")
POLICY = "ab" * 32


def decision(i: int) -> Decision:
    detail = "Disallow: /private " + "x" * 200  # ~500-byte records: a segment holds ~130
    reason = Reason(
        "robots_disallow", "robots", "https://e.org/robots.txt", detail, None, ROBOTS.digest
    )
    return Decision(
        f"https://e.org/private/{i}", False, "skip", "request", (reason,), evidence=(ROBOTS,)
    )


def writer(path: Path, **kwargs: Any) -> AuditWriter:
    return AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy=POLICY, **kwargs)


def write(path: Path, n: int, start: int = 0, rotate: int | None = MIN_ROTATE_BYTES) -> None:
    with writer(path, rotate_bytes=rotate) as w:
        for i in range(start, start + n):
            w.write(decision(i))


def names(path: Path) -> list[str]:
    return [os.path.basename(f) for f in segments(path)]


def test_rotation_closes_compressed_segments_and_keeps_one_chain(tmp_path: Path) -> None:
    """Past rotate_bytes the log goes on in a new file; closed segments are gzipped, oldest highest."""
    log = tmp_path / "audit.jsonl"
    write(log, 1000)
    files = names(log)
    assert len(files) >= 3
    assert files[-1] == "audit.jsonl"
    assert files[:-1] == [f"audit.jsonl.{k}.gz" for k in range(len(files) - 1, 0, -1)]
    for closed in segments(log)[:-1]:
        assert os.path.getsize(closed) < MIN_ROTATE_BYTES  # compressed
        with gzip.open(closed, "rb") as f:
            assert f.read().endswith(b"\n")
    records = list(read(log))
    assert [r["seq"] for r in records] == list(range(1, 1001))
    assert [r["url"] for r in records][:2] == ["https://e.org/private/0", "https://e.org/private/1"]
    result = verify(log)
    assert result.ok, result
    assert result.records == 1000
    assert not list(tmp_path.glob("*.tmp"))


def test_reopening_after_a_rotation_continues_the_chain(tmp_path: Path) -> None:
    """A writer reopened right after a rotation (an empty segment) continues from the closed one."""
    log = tmp_path / "audit.jsonl"
    written = 0
    with writer(log, rotate_bytes=MIN_ROTATE_BYTES) as w:
        while len(segments(log)) == 1:  # until the first rotation
            w.write(decision(written))
            written += 1
    assert log.stat().st_size == 0
    write(log, 5, start=written, rotate=None)
    assert verify(log).ok
    assert [r["seq"] for r in read(log)] == list(range(1, written + 6))


def test_an_uncompressed_segment_left_by_a_stop_is_read(tmp_path: Path) -> None:
    """A segment whose compression never finished (LOG.1 beside no LOG.1.gz) still reads whole."""
    log = tmp_path / "audit.jsonl"
    write(log, 400)
    newest = Path(segments(log)[-2])
    assert newest.name == "audit.jsonl.1.gz"
    with gzip.open(newest, "rb") as f:
        (tmp_path / "audit.jsonl.1").write_bytes(f.read())
    newest.unlink()
    assert names(log)[-2] == "audit.jsonl.1"
    assert verify(log).ok
    write(log, 300, start=400)  # rotating again renumbers it, and it stays readable
    assert verify(log).ok
    assert len(list(read(log))) == 700


def test_shift_prefers_the_compressed_copy(tmp_path: Path) -> None:
    """When LOG.1 and LOG.1.gz both exist, the compressed one is kept and renumbered."""
    log = tmp_path / "audit.jsonl"
    (tmp_path / "audit.jsonl.1").write_bytes(b"plain\n")
    with gzip.open(tmp_path / "audit.jsonl.1.gz", "wb") as f:
        f.write(b"packed\n")
    shift(str(log))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.jsonl.2.gz"]


def test_compress_failure_keeps_the_plain_segment(tmp_path: Path) -> None:
    """A compression that cannot write leaves the uncompressed segment in place."""
    plain = tmp_path / "audit.jsonl.1"
    plain.write_bytes(b"line\n")
    (tmp_path / "audit.jsonl.1.gz.tmp").mkdir()  # where the compressed copy would be written
    assert compress(str(plain)) is False
    assert plain.read_bytes() == b"line\n"
    assert not (tmp_path / "audit.jsonl.1.gz").exists()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("edit", "audit.jsonl.2.gz: line 3: hash mismatch"),
        ("drop", "audit.jsonl.1.gz: line 1: seq"),
        ("cut", "audit.jsonl.2.gz: line"),
    ],
)
def test_damage_in_a_closed_segment_is_named(tmp_path: Path, damage: str, problem: str) -> None:
    """An edited, dropped or cut-short segment fails verify, naming the file and the line."""
    log = tmp_path / "audit.jsonl"
    write(log, 1000)
    target = Path(segments(log)[-3] if damage != "drop" else segments(log)[-2])
    with gzip.open(target, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    if damage == "edit":
        lines[2] = lines[2].replace(b"private/", b"Private/")
    elif damage == "drop":
        lines = lines[1:]
    else:
        lines[-1] = lines[-1][:-20]
    with gzip.open(target, "wb") as f:
        f.write(b"".join(lines))
    result = verify(log)
    assert not result.ok
    assert result.problem is not None
    assert result.problem.startswith(problem), result.problem
    assert result.segment == str(target)


def test_a_missing_oldest_segment_breaks_the_chain(tmp_path: Path) -> None:
    """Deleting the oldest segment is found: the chain no longer starts at seq 1."""
    log = tmp_path / "audit.jsonl"
    write(log, 1000)
    Path(segments(log)[0]).unlink()
    result = verify(log)
    assert not result.ok
    assert "seq" in str(result.problem)


def test_small_rotate_bytes_is_refused(tmp_path: Path) -> None:
    """rotate_bytes below the minimum is a ValueError naming it."""
    with pytest.raises(ValueError, match=r"^rotate_bytes:"):
        writer(tmp_path / "a.jsonl", rotate_bytes=100)


def test_progress_is_reported_up_to_the_whole(tmp_path: Path) -> None:
    """The progress callback of verify ends at the total size of every segment."""
    log = tmp_path / "audit.jsonl"
    write(log, 1000)
    seen: list[tuple[int, int]] = []
    assert verify(log, progress=lambda done, total: seen.append((done, total))).ok
    total = sum(os.path.getsize(f) for f in segments(log))
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def _damaged_copies(log: Path) -> Iterator[Path]:
    """The log, and copies of it with one line edited, dropped, swapped or cut."""
    lines = log.read_bytes().splitlines(keepends=True)
    yield log
    n = len(lines)
    variants = {
        "edit": [
            *lines[: n // 2],
            lines[n // 2].replace(b"private", b"Private"),
            *lines[n // 2 + 1 :],
        ],
        "drop": lines[: n // 2] + lines[n // 2 + 1 :],
        "swap": [*lines[: n // 3], lines[n // 3 + 1], lines[n // 3], *lines[n // 3 + 2 :]],
        "cut": [*lines[:-1], lines[-1][:-5]],
        "first": [lines[0].replace(b'"seq":1', b'"seq":2'), *lines[1:]],
    }
    for name, content in variants.items():
        copy = log.parent / f"{name}-{log.name}"
        copy.write_bytes(b"".join(content))
        yield copy


@pytest.mark.parametrize("workers", [2, 3])
def test_pieces_in_processes_give_the_single_pass_verdict(tmp_path: Path, workers: int) -> None:
    """Verified in pieces by several processes, every log (intact or damaged) gets the same verdict."""
    log = tmp_path / "audit.jsonl"
    write(log, 600, rotate=None)
    verdicts = set()
    for copy in _damaged_copies(log):  # the copies have no evidence folder: not checked
        single = verify(copy, workers=1, check_evidence=False)
        assert verify(copy, workers=workers, check_evidence=False) == single, copy.name
        verdicts.add(single.problem)
    assert len(verdicts) == 6  # intact, and five different faults found


def test_rotated_log_in_pieces_gives_the_single_pass_verdict(tmp_path: Path) -> None:
    """Segments and pieces of the current file together: the verdict of one pass, damage found."""
    log = tmp_path / "audit.jsonl"
    write(log, 1000)
    assert verify(log, workers=2) == verify(log, workers=1)
    assert verify(log, workers=2).ok
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3] + lines[4:]))
    assert not verify(log, workers=2).ok
    assert verify(log, workers=2) == verify(log, workers=1)
