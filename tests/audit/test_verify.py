"""Tests for scrapy_optout.audit.verify: verify() and read() over real log files (DESIGN §7)."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout._core.models import Decision, Evidence, Reason
from scrapy_optout.audit import AuditWriter, VerifyResult, read, record_hash, verify
from scrapy_optout.audit.tail import Tail, read_tail

# The package re-exports the function verify(), which hides the submodule of the same name.
verify_module = importlib.import_module("scrapy_optout.audit.verify")
ROBOTS = Evidence.of(b"User-agent: *\nDisallow: /\n")
TDMREP = Evidence.of(b'[{"location": "/", "tdm-reservation": 1}]')


def decision(i: int, evidence: Evidence | None = None) -> Decision:
    reason = Reason(
        "robots_disallow",
        "robots",
        "https://example.org/robots.txt",
        "Disallow: /",
        None,
        None if evidence is None else evidence.digest,
    )
    return Decision(
        f"https://example.org/page-{i:04d}",
        False,
        "skip",
        "request",
        (reason,),
        evidence=() if evidence is None else (evidence,),
    )


def make_log(path: Path, n: int = 10, evidence: dict[int, Evidence] | None = None) -> None:
    evidence = evidence or {}
    with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy="p" * 64) as w:
        for i in range(1, n + 1):
            w.write(decision(i, evidence.get(i)))


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, new_lines: list[bytes]) -> None:
    path.write_bytes(b"".join(new_lines))


def bad(line: int, problem: str, repaired: int = 0) -> VerifyResult:
    return VerifyResult(False, line - 1, line, f"line {line}: {problem}", repaired)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


def test_intact_log(log: Path) -> None:
    """An untouched log verifies, counting its records."""
    make_log(log, 10, {2: ROBOTS, 7: TDMREP, 8: ROBOTS})
    assert verify(log) == VerifyResult(True, 10, None, None, 0)


def test_missing_file(log: Path) -> None:
    """A missing log is not ok, and the problem says so."""
    result = verify(log)
    assert (result.ok, result.records, result.first_bad_line) == (False, 0, None)
    assert result.problem == f"{log}: no such file"


def test_unreadable_path(tmp_path: Path) -> None:
    """A path that cannot be read (a folder) is not ok, and is reported, not raised."""
    result = verify(tmp_path)
    assert not result.ok
    assert str(tmp_path) in str(result.problem)


def test_empty_file(log: Path) -> None:
    """An empty log is ok with 0 records."""
    log.write_bytes(b"")
    assert verify(log) == VerifyResult(True, 0, None, None, 0)


@pytest.mark.parametrize("k", [1, 2, 5, 9, 10])
def test_edited_byte_is_found(log: Path, k: int) -> None:
    """Changing one byte of a value of line k fails verify at line k (hash mismatch)."""
    make_log(log)
    ls = lines(log)
    assert ls[k - 1].count(b"page-") == 1
    ls[k - 1] = ls[k - 1].replace(b"page-", b"pagE-")
    rewrite(log, ls)
    assert verify(log) == bad(k, "hash mismatch")


@pytest.mark.parametrize("k", [1, 4, 9])
def test_dropped_line_is_found(log: Path, k: int) -> None:
    """Removing line k fails verify at line k: its seq does not follow."""
    make_log(log)
    ls = lines(log)
    del ls[k - 1]
    rewrite(log, ls)
    assert verify(log) == bad(k, f"seq {k + 1} follows {k - 1} (record removed or reordered)")


@pytest.mark.parametrize("k", [1, 5, 9])
def test_swapped_lines_are_found(log: Path, k: int) -> None:
    """Swapping lines k and k+1 fails verify at line k."""
    make_log(log)
    ls = lines(log)
    ls[k - 1], ls[k] = ls[k], ls[k - 1]
    rewrite(log, ls)
    assert verify(log) == bad(k, f"seq {k + 1} follows {k - 1} (record removed or reordered)")


@pytest.mark.parametrize("k", [1, 5, 9])
def test_rehashed_edit_is_found_by_the_next_line(log: Path, k: int) -> None:
    """An edit whose own hash is recomputed breaks the next line's prev."""
    make_log(log)
    ls = lines(log)
    record = json.loads(ls[k - 1])
    record["url"] = "https://example.org/forged"
    record["hash"] = record_hash(record)
    ls[k - 1] = json.dumps(record).encode() + b"\n"
    rewrite(log, ls)
    assert verify(log) == bad(k + 1, f"prev does not match the hash of line {k}")


def test_forged_first_prev_is_found(log: Path) -> None:
    """A first record whose prev is not 64 zeros fails at line 1, even with a right hash."""
    make_log(log, 2)
    ls = lines(log)
    record = json.loads(ls[0])
    record["prev"] = "1" * 64
    record["hash"] = record_hash(record)
    ls[0] = json.dumps(record).encode() + b"\n"
    rewrite(log, ls)
    assert verify(log) == bad(1, "prev of the first record is not 64 zeros")


@pytest.mark.parametrize(
    ("replacement", "problem"),
    [
        pytest.param(b"{oops\n", "not JSON", id="not-json"),
        pytest.param(b"\n", "not JSON", id="blank"),
        pytest.param(b"[]\n", "not a log record (not a JSON object)", id="array"),
        pytest.param(b'{"v":1,"v":1}\n', "duplicate key", id="duplicate-key"),
    ],
)
def test_bad_line_is_named(log: Path, replacement: bytes, problem: str) -> None:
    """A line that is not a record fails verify at that line, with the reason."""
    make_log(log, 5)
    ls = lines(log)
    ls[2] = replacement
    rewrite(log, ls)
    assert verify(log) == bad(3, problem)


def test_torn_last_line_is_reported(log: Path) -> None:
    """A last line without its newline (a torn tail) fails verify at that line."""
    make_log(log, 3)
    log.write_bytes(log.read_bytes()[:-1])
    result = verify(log)
    assert (result.ok, result.records, result.first_bad_line) == (False, 2, 3)
    assert str(result.problem).startswith("line 3: no newline at the end")


def test_too_long_line(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A line longer than MAX_LINE is reported without reading it whole."""
    make_log(log, 2)
    monkeypatch.setattr(verify_module, "MAX_LINE", 100)
    assert verify(log) == bad(1, "longer than 100 bytes")
    with pytest.raises(ValueError, match="line 1: longer than 100 bytes"):
        list(read(log))


def test_repaired_tails_are_counted(log: Path) -> None:
    """Records carrying "repaired" are counted in repaired_tails."""
    make_log(log, 3)
    for _ in range(2):
        with log.open("ab") as f:
            f.write(b'{"v":1,"se')
        make_log(log, 2)
    assert verify(log) == VerifyResult(True, 7, None, None, 2)


# --- evidence -----------------------------------------------------------------------------------------


def evidence_file(log: Path, evidence: Evidence) -> Path:
    return log.parent / (log.name + ".evidence") / evidence.digest.removeprefix("sha256:")


def test_missing_evidence_fails(log: Path) -> None:
    """A cited evidence file that is gone fails verify at the first line citing it."""
    make_log(log, 6, {3: ROBOTS, 5: TDMREP, 6: ROBOTS})
    evidence_file(log, TDMREP).unlink()
    assert verify(log) == bad(5, f"evidence {TDMREP.digest} missing")
    assert verify(log, check_evidence=False) == VerifyResult(True, 6, None, None, 0)


def test_altered_evidence_fails(log: Path) -> None:
    """A cited evidence file whose content changed fails verify at the first line citing it."""
    make_log(log, 6, {3: ROBOTS, 5: TDMREP})
    evidence_file(log, ROBOTS).write_bytes(b"User-agent: *\nAllow: /\n")
    assert verify(log) == bad(3, f"evidence {ROBOTS.digest} does not match its file")
    assert verify(log, check_evidence=False).ok


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("sha256:../../../etc/passwd", "'sha256:../../../etc/passwd'", id="traversal"),
        pytest.param(["sha256:" + "0" * 64], "['sha256:" + "0" * 64 + "']", id="list"),
        pytest.param(7, "7", id="number"),
    ],
)
def test_malformed_evidence_value_fails(log: Path, value: object, shown: str) -> None:
    """A reason whose evidence is not sha256:<hex> fails verify (it could name any file)."""
    make_log(log, 2)
    ls = lines(log)
    record = json.loads(ls[1])
    record["reasons"][0]["evidence"] = value
    record["hash"] = record_hash(record)
    ls[1] = json.dumps(record).encode() + b"\n"
    rewrite(log, ls)
    assert verify(log) == bad(2, f"evidence {shown} is malformed")


def test_each_evidence_file_is_hashed_once(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify hashes each evidence file once, however many records cite it."""
    make_log(log, 50, dict.fromkeys(range(1, 51), ROBOTS))
    calls: list[str] = []
    real = verify_module._file_digest

    def counting(path: str) -> str | None:
        calls.append(path)
        return real(path)  # type: ignore[no-any-return]

    monkeypatch.setattr(verify_module, "_file_digest", counting)
    assert verify(log).ok
    assert len(calls) == 1


# --- read -----------------------------------------------------------------------------------------------


def test_read_streams_records_in_order(log: Path) -> None:
    """read() yields every record as written, in order."""
    make_log(log, 5)
    records = list(read(log))
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert [json.loads(raw) for raw in lines(log)] == records


def test_read_skips_a_torn_tail(log: Path) -> None:
    """read() does not yield a last line without its newline."""
    make_log(log, 3)
    with log.open("ab") as f:
        f.write(b'{"v":1}')
    assert [r["seq"] for r in read(log)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        pytest.param(b"{oops\n", "line 2: not JSON", id="not-json"),
        pytest.param(b"42\n", "line 2: not a JSON object", id="not-object"),
    ],
)
def test_read_rejects_a_bad_line(log: Path, replacement: bytes, message: str) -> None:
    """read() raises ValueError naming a bad line that is not the torn tail."""
    make_log(log, 3)
    ls = lines(log)
    ls[1] = replacement
    rewrite(log, ls)
    it = read(log)
    assert next(it)["seq"] == 1
    with pytest.raises(ValueError, match=message):
        next(it)


def test_read_missing_file(log: Path) -> None:
    """read() of a missing log raises FileNotFoundError."""
    with pytest.raises(FileNotFoundError):
        list(read(log))


# --- read_tail (the writer's view of the end of a log) ----------------------------------------------------


def _tail_of(path: Path) -> Tail:
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_tail(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    "after",
    [
        pytest.param(lambda fourth: b"", id="intact"),
        pytest.param(lambda fourth: fourth[:14], id="fragment"),
        pytest.param(lambda fourth: b"garbage\n", id="garbage-line"),
        pytest.param(lambda fourth: fourth[:-1], id="final-newline-missing"),
        pytest.param(lambda fourth: fourth.replace(b"page-", b"pagE-"), id="bad-hash-line"),
    ],
)
def test_read_tail_finds_the_torn_line(log: Path, after: Callable[[bytes], bytes]) -> None:
    """read_tail gives the last intact record and where a torn last line starts."""
    make_log(log, 4)
    ls = lines(log)
    good = b"".join(ls[:3])
    log.write_bytes(good + after(ls[3]))
    tail = _tail_of(log)
    assert (tail.size, tail.cut) == (log.stat().st_size, len(good))
    assert tail.last == json.loads(ls[2])
    assert (tail.bad_line, tail.problem) == (None, None)


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        pytest.param(b"", 0, id="empty"),
        pytest.param(b'{"v":1,"se', 0, id="only-fragment"),
        pytest.param(b"\n", 0, id="only-empty-line"),
    ],
)
def test_read_tail_of_a_log_without_records(log: Path, data: bytes, cut: int) -> None:
    """A log with no intact record gives no last record, and cuts whatever it holds."""
    log.write_bytes(data)
    assert _tail_of(log) == Tail(len(data), cut, None)


def test_read_tail_reports_damage_before_the_tail(log: Path) -> None:
    """A damaged line before the last one is reported with its line number, nothing to cut."""
    make_log(log, 5)
    ls = lines(log)
    ls[3] = ls[3].replace(b"page-", b"pagE-")
    rewrite(log, ls)
    size = log.stat().st_size
    assert _tail_of(log) == Tail(size, size, None, 4, "hash mismatch")


# --- properties ------------------------------------------------------------------------------------------


def _check(result: VerifyResult) -> None:
    assert isinstance(result.ok, bool)
    assert isinstance(result.records, int)
    assert 0 <= result.repaired_tails <= result.records
    if result.ok:
        assert (result.problem, result.first_bad_line) == (None, None)
    else:
        assert isinstance(result.problem, str)
        assert result.first_bad_line is not None
        assert result.records == result.first_bad_line - 1
        assert result.problem.startswith(f"line {result.first_bad_line}: ")


def _valid_lines() -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        make_log(path, 4)
        return lines(path)


VALID = _valid_lines()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(VALID) | st.binary(max_size=200) | st.text(max_size=80).map(str.encode),
        max_size=8,
    )
)
def test_verify_never_raises(parts: list[bytes]) -> None:
    """Any bytes (including valid lines out of order) give a consistent VerifyResult."""
    data = b"".join(parts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        path.write_bytes(data)
        result = verify(path)
        _check(result)
        if result.ok:
            assert data == b"".join(VALID[: result.records])
        records: list[dict[str, Any]] = []
        try:
            records.extend(read(path))
        except ValueError as exc:
            assert "line " in str(exc)  # noqa: PT017 - read() may stop at any bad line
        assert all(type(r) is dict for r in records)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_verify_arbitrary_evidence_files(body: bytes) -> None:
    """Whatever an evidence file holds, verify passes exactly when it hashes to its name."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        make_log(path, 2, {2: ROBOTS})
        evidence_file(path, ROBOTS).write_bytes(body)
        result = verify(path)
        _check(result)
        assert result.ok == (hashlib.sha256(body).digest() == hashlib.sha256(ROBOTS.body).digest())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    reasons=st.lists(
        st.dictionaries(st.sampled_from(["evidence", "code", "x"]), _json, max_size=3), max_size=3
    ),
    extra=st.dictionaries(st.sampled_from(["repaired", "url", "errors"]), _json, max_size=2),
)
def test_verify_never_raises_on_forged_records(
    reasons: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    """Records with a right hash but any JSON inside give a consistent VerifyResult."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        make_log(path, 1)
        record = {**json.loads(path.read_bytes()), **extra, "reasons": reasons}
        record["hash"] = record_hash(record)
        path.write_bytes(json.dumps(record).encode() + b"\n")
        result = verify(path)
        _check(result)
        assert list(read(path)) == [record]
