"""audit/merge.py: several workers' logs written as one verified, time-ordered chain with ``src``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout._core.models import Decision, Evidence, Reason
from scrapy_optout.audit import AuditWriter, summarize, verify
from scrapy_optout.audit.merge import DamagedInput, MergeError, merge, time_key

START = datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


def decision(url: str, evidence: Evidence | None = None) -> Decision:
    """A request-stage skip of *url*, citing *evidence* when given."""
    reason = Reason("robots_disallow", "robots", "https://e.org/robots.txt", "Disallow: /", None,
                    None if evidence is None else evidence.digest)  # fmt: skip
    return Decision(url, False, "skip", "request", (reason,),
                    evidence=() if evidence is None else (evidence,))  # fmt: skip


def worker_log(
    path: Path, seconds: list[float], name: str, evidence: Evidence | None = None
) -> Path:
    """A log written by a real AuditWriter whose clock reads START + each of *seconds* in turn."""
    times = iter(START + timedelta(seconds=s) for s in seconds)
    with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy="p" * 64,
                     clock=lambda: next(times)) as writer:  # fmt: skip
        for n in range(len(seconds)):
            writer.write(decision(f"https://e.org/{name}/{n}", evidence))
    return path


def records(path: Path) -> list[dict[str, Any]]:
    """The records, read independently of the package."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("2026-12-07T10:00:00Z", "2026-12-07T10:00:00.000000001Z"),
        ("2026-12-07T10:00:00.5Z", "2026-12-07T10:00:00.51Z"),
        ("2026-12-07T10:00:00.999999Z", "2026-12-07T10:00:01Z"),
        ("2026-12-07T09:59:59.9Z", "2026-12-07T10:00:00.000001Z"),
    ],
)
def test_time_keys_sort_in_time_whatever_the_fraction_digits(earlier: str, later: str) -> None:
    """Timestamps with 0 to 9 fractional digits (DESIGN §5.2) order by time, not by text."""
    assert time_key(earlier) < time_key(later)


def test_the_merged_log_is_one_chain_in_time_order(tmp_path: Path) -> None:
    """Interleaved workers give one chain from seq 1, in time order, each record citing its source."""
    a = worker_log(tmp_path / "a.jsonl", [0, 2, 4], "a")
    b = worker_log(tmp_path / "b.jsonl", [1, 3, 5, 6], "b")
    out = tmp_path / "merged.jsonl"
    result = merge([str(a), str(b)], str(out))
    assert result.records == 7
    assert result.inputs == ((str(a), 3), (str(b), 4))
    merged = records(out)
    assert [r["url"].split("/")[-2] for r in merged] == ["a", "b", "a", "b", "a", "b", "b"]
    assert [r["seq"] for r in merged] == list(range(1, 8))
    assert merged[0]["prev"] == "0" * 64
    sources = {(r["run"], r["seq"]): r for r in records(a) + records(b)}
    for record in merged:
        source = sources[(record["src"]["run"], record["src"]["seq"])]
        assert record["src"]["hash"] == source["hash"]
        assert record["url"] == source["url"]
        assert record["run"] == source["run"]  # the worker's run id is kept
    assert verify(out).ok


def test_merged_hashes_follow_the_design_formula(tmp_path: Path) -> None:
    """Each merged hash is SHA-256 of the record's canonical JSON without it; prev links them."""
    out = tmp_path / "m.jsonl"
    merge([str(worker_log(tmp_path / "a.jsonl", [0, 1], "a"))], str(out))
    previous = "0" * 64
    for record in records(out):
        digest = record.pop("hash")
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode()).hexdigest() == digest
        assert record["prev"] == previous
        previous = digest


def test_a_worker_whose_clock_stepped_back_keeps_its_order(tmp_path: Path) -> None:
    """A merge, not a sort: a worker's own records stay in their chain's order."""
    a = worker_log(tmp_path / "a.jsonl", [5, 1, 7], "a")
    b = worker_log(tmp_path / "b.jsonl", [2], "b")
    out = tmp_path / "m.jsonl"
    merge([str(a), str(b)], str(out))
    order = [(r["url"].split("/")[-2], r["src"]["seq"]) for r in records(out)]
    assert [seq for name, seq in order if name == "a"] == [1, 2, 3]


def test_a_damaged_input_writes_nothing(tmp_path: Path) -> None:
    """One edited byte in one worker's log: the merge refuses and no output appears."""
    a = worker_log(tmp_path / "a.jsonl", [0, 1], "a")
    b = worker_log(tmp_path / "b.jsonl", [2, 3], "b")
    b.write_bytes(b.read_bytes().replace(b"/b/1", b"/b/9"))
    out = tmp_path / "m.jsonl"
    with pytest.raises(DamagedInput, match=r"b\.jsonl: not intact: line 2: hash mismatch"):
        merge([str(a), str(b)], str(out))
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "b.jsonl"]


@pytest.mark.parametrize(
    ("inputs", "output", "message"),
    [
        (["a.jsonl", "a.jsonl"], "m.jsonl", r"a\.jsonl: given twice"),
        (["a.jsonl"], "a.jsonl", r"a\.jsonl: the output is one of the inputs"),
        (["missing.jsonl"], "m.jsonl", r"missing\.jsonl: no such file"),
        ([], "m.jsonl", r"no input log"),
    ],
)
def test_inputs_that_cannot_be_merged_are_refused(
    tmp_path: Path, inputs: list[str], output: str, message: str
) -> None:
    """A log given twice, an output among the inputs, a missing or no input: a clear error."""
    worker_log(tmp_path / "a.jsonl", [0], "a")
    before = (tmp_path / "a.jsonl").read_bytes()
    with pytest.raises(MergeError, match=message):
        merge([str(tmp_path / name) for name in inputs], str(tmp_path / output))
    assert (tmp_path / "a.jsonl").read_bytes() == before


def test_evidence_is_copied_and_verified_beside_the_merged_log(tmp_path: Path) -> None:
    """The files the inputs cite are copied once each, and verify checks them in the merged log."""
    robots = Evidence.of(b"User-agent: *\nDisallow: /\n")
    a = worker_log(tmp_path / "a.jsonl", [0, 2], "a", robots)
    b = worker_log(tmp_path / "b.jsonl", [1], "b", robots)
    out = tmp_path / "m.jsonl"
    result = merge([str(a), str(b)], str(out))
    assert result.evidence == 1
    copied = tmp_path / "m.jsonl.evidence" / robots.digest.removeprefix("sha256:")
    assert copied.read_bytes() == robots.body
    assert verify(out).ok
    copied.unlink()
    outcome = verify(out)
    assert not outcome.ok
    assert "missing" in (outcome.problem or "")


def test_summary_of_the_merged_log_counts_every_worker(tmp_path: Path) -> None:
    """summarize() of the merged log gives the inputs' totals together, per worker run."""
    a = worker_log(tmp_path / "a.jsonl", [0, 2], "a")
    b = worker_log(tmp_path / "b.jsonl", [1], "b")
    out = tmp_path / "m.jsonl"
    merge([str(a), str(b)], str(out))
    summary = summarize(out)
    assert summary.records == 3
    assert summary.skips_by_code == {"robots_disallow": 3}
    assert sorted(summary.runs.values()) == [1, 2]  # each worker's run id, kept


def test_a_rotated_worker_log_is_merged_whole(tmp_path: Path) -> None:
    """A worker log rotated into .N.gz segments is read across its segments."""
    times = iter(START + timedelta(seconds=s) for s in range(400))
    path = tmp_path / "a.jsonl"
    with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy="p" * 64,
                     clock=lambda: next(times), rotate_bytes=64 * 1024) as writer:  # fmt: skip
        for n in range(400):
            writer.write(decision(f"https://e.org/a/{n}?{'x' * 200}"))
    assert any(p.name.endswith(".gz") for p in tmp_path.iterdir())
    out = tmp_path / "m.jsonl"
    assert merge([str(path)], str(out)).records == 400
    assert [r["src"]["seq"] for r in records(out)] == list(range(1, 401))
    assert verify(out).ok
