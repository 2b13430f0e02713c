"""Tests for scrapy_optout.audit.writer: the hash-chained, crash-safe log writer (DESIGN §7)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout._core.models import Decision, Evidence, Reason
from scrapy_optout.audit import AuditWriter, VerifyResult, read, verify
from scrapy_optout.audit.record import ZERO_HASH

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
ROBOTS = Evidence.of(b"User-agent: *\nDisallow: /private\n")
TDMREP = Evidence.of(b'[{"location": "/", "tdm-reservation": 1}]')
KEYS = {"v", "seq", "ts", "run", "agent", "purpose", "url", "stage", "action", "reasons"}
KEYS |= {"policy", "prev", "hash"}
POLICY = "c0ffee" * 10 + "c0ff"


def decision(
    i: int = 0,
    *,
    evidence: Evidence | None = ROBOTS,
    url: str | None = None,
    detail: str = "Disallow: /private",
    licensing: tuple[str, ...] = (),
    errors: tuple[str, ...] = (),
) -> Decision:
    reason = Reason(
        code="robots_disallow",
        signal="robots",
        source="https://example.org/robots.txt",
        detail=detail,
        policy_url=None,
        evidence=None if evidence is None else evidence.digest,
    )
    return Decision(
        url=f"https://example.org/page-{i:04d}" if url is None else url,
        allowed=False,
        action="skip",
        stage="request",
        reasons=(reason,),
        licensing=licensing,
        errors=errors,
        evidence=() if evidence is None else (evidence,),
    )


def open_writer(path: Path, **kw: Any) -> AuditWriter:
    return AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy=POLICY, **kw)


def make_log(path: Path, n: int, start: int = 0) -> list[dict[str, object]]:
    with open_writer(path) as w:
        return [w.write(decision(start + i)) for i in range(n)]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


# --- record shape -----------------------------------------------------------------------------------


def test_record_shape(log: Path) -> None:
    """A record has exactly the DESIGN §7 keys with the right types, and the line parses to it."""
    with open_writer(log, run="run-1") as w:
        record = w.write(decision(1))
    assert set(record) == KEYS
    assert record["v"] == 1
    assert record["seq"] == 1
    assert isinstance(record["ts"], str)
    assert TS.match(record["ts"])
    assert (record["run"], record["agent"], record["purpose"]) == ("run-1", "MyAIBot", "train-ai")
    assert (record["url"], record["stage"], record["action"]) == (
        "https://example.org/page-0001",
        "request",
        "skip",
    )
    assert record["reasons"] == [
        {
            "code": "robots_disallow",
            "signal": "robots",
            "source": "https://example.org/robots.txt",
            "detail": "Disallow: /private",
            "policy_url": None,
            "evidence": ROBOTS.digest,
        }
    ]
    assert record["policy"] == POLICY
    assert record["prev"] == ZERO_HASH
    assert isinstance(record["hash"], str)
    assert re.fullmatch(r"[0-9a-f]{64}", record["hash"])
    assert json.loads(log.read_bytes()) == record


def test_hash_recomputed_as_design_shows(log: Path) -> None:
    """DESIGN's few lines (json.dumps sorted, compact, UTF-8) recompute every hash and the chain."""
    make_log(log, 5)
    prev = "0" * 64
    for raw in lines(log):
        r = json.loads(raw)
        h = r.pop("hash")
        canon = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canon.encode("utf-8")).hexdigest() == h
        assert r["prev"] == prev
        prev = h


@pytest.mark.parametrize(
    ("licensing", "errors", "extra"),
    [
        pytest.param((), (), set(), id="neither"),
        pytest.param(("https://rsl.example/l.xml",), (), {"licensing"}, id="licensing"),
        pytest.param((), ("tdmrep.invalid_file: x",), {"errors"}, id="errors"),
        pytest.param(("https://p.example/",), ("a.b",), {"licensing", "errors"}, id="both"),
    ],
)
def test_licensing_and_errors_only_when_present(
    log: Path, licensing: tuple[str, ...], errors: tuple[str, ...], extra: set[str]
) -> None:
    """The licensing and errors keys appear only when the decision has some."""
    with open_writer(log) as w:
        record = w.write(decision(licensing=licensing, errors=errors))
    assert set(record) == KEYS | extra
    assert set(json.loads(log.read_bytes())) == KEYS | extra
    assert verify(log).ok


UTC = timezone.utc


@pytest.mark.parametrize(
    ("moment", "ts"),
    [
        pytest.param(datetime(2026, 11, 29, 10, 0, 0, 123456, UTC), "2026-11-29T10:00:00.123456Z", id="utc"),
        pytest.param(datetime(2026, 11, 29, 10, 0, 0, 0, UTC), "2026-11-29T10:00:00.000000Z", id="whole-second"),
        pytest.param(datetime(2026, 11, 29, 12, 0, 0, 5, timezone(timedelta(hours=2))), "2026-11-29T10:00:00.000005Z", id="converted"),
        pytest.param(datetime(2026, 1, 2, 3, 4, 5, 6), "2026-01-02T03:04:05.000006Z", id="naive-as-utc"),
    ],
)  # fmt: skip
def test_ts_from_injected_clock(log: Path, moment: datetime, ts: str) -> None:
    """The ts is the clock's time in UTC, RFC 3339 with microseconds and a Z suffix."""
    with open_writer(log, clock=lambda: moment) as w:
        record = w.write(decision())
    assert record["ts"] == ts
    assert TS.match(ts)


def test_default_clock_is_now_utc(log: Path) -> None:
    """Without a clock, ts is the current UTC time."""
    before = datetime.now(UTC)
    with open_writer(log) as w:
        ts = w.write(decision())["ts"]
    assert isinstance(ts, str)
    moment = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= moment <= datetime.now(UTC)


def test_run_defaults_to_fresh_uuid_hex(tmp_path: Path) -> None:
    """Each writer gets a fresh 32-hex-digit run id unless one is given."""
    with open_writer(tmp_path / "a.jsonl") as a, open_writer(tmp_path / "b.jsonl") as b:
        assert re.fullmatch(r"[0-9a-f]{32}", a.run)
        assert a.run != b.run
        assert a.write(decision())["run"] == a.run
    with open_writer(tmp_path / "c.jsonl", run="nightly-7") as c:
        assert c.run == "nightly-7"


def test_a_worker_id_is_in_every_record_and_in_the_hash(log: Path) -> None:
    """With a worker id each record carries ``worker`` (hashed like any field); without, none."""
    with open_writer(log, worker="host-a:4242") as w:
        records = [w.write(decision(i)) for i in range(3)]
        assert w.worker == "host-a:4242"
    assert [r["worker"] for r in records] == ["host-a:4242"] * 3
    for raw in lines(log):
        r = json.loads(raw)
        h = r.pop("hash")
        canon = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(canon.encode("utf-8")).hexdigest() == h
        assert r["worker"] == "host-a:4242"
    assert verify(log).ok
    with open_writer(log.with_name("plain.jsonl")) as w:
        assert "worker" not in w.write(decision(9))


def test_chain_and_properties(log: Path) -> None:
    """The seq counts from 1, each prev is the previous hash; path and seq properties follow."""
    with open_writer(log) as w:
        assert (w.path, w.seq) == (str(log), 0)
        records = [w.write(decision(i)) for i in range(3)]
        assert w.seq == 3
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert [r["prev"] for r in records] == [ZERO_HASH, records[0]["hash"], records[1]["hash"]]
    assert [json.loads(raw) for raw in lines(log)] == records


def test_reopen_continues_seq_and_prev(log: Path) -> None:
    """Reopening a log continues its chain (seq and prev), with a new run id."""
    first = make_log(log, 4)
    with open_writer(log) as w:
        assert w.seq == 4
        record = w.write(decision(9))
    assert record["seq"] == 5
    assert record["prev"] == first[-1]["hash"]
    assert record["run"] != first[0]["run"]
    assert "repaired" not in record
    assert verify(log) == VerifyResult(True, 5, None, None, 0)


def test_write_after_close_raises(log: Path) -> None:
    """Writing to a closed writer raises ValueError; closing twice is harmless."""
    w = open_writer(log)
    w.close()
    w.close()
    with pytest.raises(ValueError, match="closed"):
        w.write(decision())
    with open_writer(log) as w2:
        pass
    with pytest.raises(ValueError, match="closed"):
        w2.write(decision())
    assert log.read_bytes() == b""


def test_one_writer_per_log(log: Path) -> None:
    """A second writer on an open log is refused; after close the log can be reopened."""
    with open_writer(log) as w:
        with pytest.raises(ValueError, match="another writer"):
            open_writer(log)
        w.write(decision())
    with open_writer(log) as w:
        assert w.write(decision())["seq"] == 2


# --- unusual text -----------------------------------------------------------------------------------


def test_non_ascii_round_trips_unescaped(log: Path) -> None:
    """Non-ASCII URLs and details are written as raw UTF-8 and read back equal."""
    url = "https://例え.jp/パス?q=ü"
    detail = 'Disallow: /ü — “quoted” "x" \\ \t \u2028 😀'
    with open_writer(log) as w:
        record = w.write(decision(url=url, detail=detail))
    raw = log.read_bytes()
    assert url.encode("utf-8") in raw
    assert "—“quoted”😀".encode()[:3] in raw
    assert b"\\u" not in raw.replace(b"\\u2028", b"")
    assert list(read(log)) == [record]
    assert verify(log).ok


def test_lone_surrogates_are_replaced(log: Path) -> None:
    """A lone surrogate (no UTF-8 form) is written as U+FFFD, so the log stays valid UTF-8."""
    with open_writer(log) as w:
        record = w.write(decision(url="https://e.org/\udcff", detail="\ud800x"))
    assert record["url"] == "https://e.org/\ufffd"
    assert list(read(log)) == [record]
    assert verify(log).ok


# --- evidence ---------------------------------------------------------------------------------------


def evidence_dir(log: Path) -> Path:
    return log.parent / (log.name + ".evidence")


def test_evidence_stored_once_by_hex(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each body is stored once, named by its hex digest, and not stored again for later records."""
    replaced: list[str] = []
    real_replace = os.replace

    def counting_replace(src: str, dst: str) -> None:
        replaced.append(os.path.basename(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting_replace)
    with open_writer(log) as w:
        for i in range(3):
            w.write(decision(i, evidence=ROBOTS))
        w.write(decision(3, evidence=TDMREP))
        w.write(decision(4, evidence=ROBOTS))
    hexes = sorted(e.digest.removeprefix("sha256:") for e in (ROBOTS, TDMREP))
    assert sorted(replaced) == hexes
    assert sorted(p.name for p in evidence_dir(log).iterdir()) == hexes
    assert (evidence_dir(log) / ROBOTS.digest[7:]).read_bytes() == ROBOTS.body
    assert verify(log).ok


def test_evidence_kept_across_runs(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body already in the folder (an earlier run) is not rewritten, and may be cited without it."""
    make_log(log, 1)
    monkeypatch.setattr(os, "replace", lambda *a: pytest.fail("evidence rewritten"))
    with open_writer(log) as w:
        w.write(decision(1, evidence=ROBOTS))
        cited_only = decision(2, evidence=ROBOTS)
        w.write(Decision(**{**_fields(cited_only), "evidence": ()}))
    assert verify(log).ok


def _fields(d: Decision) -> dict[str, Any]:
    return {k: getattr(d, k) for k in d.__dataclass_fields__}


@pytest.mark.parametrize(
    ("evidence", "cited", "message"),
    [
        pytest.param(Evidence("sha256:" + "0" * 64, b"other"), None, "does not match its body", id="wrong-digest"),
        pytest.param(Evidence("sha256:../../x", b""), None, "is not sha256", id="traversal"),
        pytest.param(None, "sha256:" + "1" * 64, "was not given", id="cited-not-given"),
        pytest.param(None, "sha256:nothex", "is not sha256", id="cited-malformed"),
    ],
)  # fmt: skip
def test_bad_evidence_is_refused_before_writing(
    log: Path, evidence: Evidence | None, cited: str | None, message: str
) -> None:
    """Bad evidence raises ValueError and writes nothing; the chain goes on unharmed."""
    reason = Reason("robots_disallow", "robots", "https://e.org/robots.txt", "x", None, cited)
    bad = Decision(
        "https://e.org/",
        False,
        "skip",
        "request",
        (reason,),
        evidence=(evidence,) if evidence else (),
    )
    with open_writer(log) as w:
        w.write(decision())
        size = log.stat().st_size
        with pytest.raises(ValueError, match=message):
            w.write(bad)
        assert (log.stat().st_size, w.seq) == (size, 1)
        w.write(decision(1))
    assert not (log.parent / "x").exists()
    assert sorted(p.name for p in evidence_dir(log).iterdir()) == [ROBOTS.digest[7:]]
    assert verify(log).records == 2


# --- torn tails ---------------------------------------------------------------------------------------


def _half_line(log: Path) -> None:
    with log.open("ab") as f:
        f.write(lines(log)[-1][:100])


def _cut_last_mid(log: Path) -> None:
    data = log.read_bytes()
    os.truncate(log, len(data) - len(lines(log)[-1]) // 2)


def _drop_final_newline(log: Path) -> None:
    os.truncate(log, log.stat().st_size - 1)


def _garbage_line(log: Path) -> None:
    with log.open("ab") as f:
        f.write(b"\x00\x00garbage\n")


def _bad_hash_line(log: Path) -> None:
    with log.open("ab") as f:
        f.write(lines(log)[-1].replace(b"page-", b"pagE-"))


def _empty_line(log: Path) -> None:
    with log.open("ab") as f:
        f.write(b"\n")


TEARS: dict[str, tuple[Callable[[Path], None], int]] = {
    # name: (damage, records kept of 10)
    "half-line-appended": (_half_line, 10),
    "last-line-cut-mid": (_cut_last_mid, 9),
    "final-newline-missing": (_drop_final_newline, 9),
    "garbage-line": (_garbage_line, 10),
    "bad-hash-line": (_bad_hash_line, 10),
    "empty-line": (_empty_line, 10),
}


@pytest.mark.parametrize("tear", list(TEARS), ids=list(TEARS))
def test_torn_tail_is_repaired(log: Path, tear: str) -> None:
    """A torn last line is cut and saved to .torn; earlier records stay; the repair is on the chain."""
    make_log(log, 10)
    original = log.read_bytes()
    damage, kept = TEARS[tear]
    damage(log)
    damaged = log.read_bytes()
    assert not verify(log).ok
    keep = b"".join(lines(log)[:kept])
    cut = damaged[len(keep) :]
    with open_writer(log) as w:
        assert w.seq == kept
        assert log.read_bytes() == keep == b"".join(original.splitlines(True)[:kept])
        assert (log.parent / "audit.jsonl.torn").read_bytes() == cut
        record = w.write(decision(99))
    assert record["seq"] == kept + 1
    assert record["repaired"] == {"bytes": len(cut), "sha256": hashlib.sha256(cut).hexdigest()}
    result = verify(log)
    assert (result.ok, result.records, result.repaired_tails) == (True, kept + 1, 1)


def test_torn_tail_without_any_newline(log: Path) -> None:
    """A log holding only a torn first line (no newline at all) restarts the chain at seq 1."""
    log.write_bytes(b'{"v":1,"seq":1,"ts":"2026-')
    with open_writer(log) as w:
        assert w.seq == 0
        record = w.write(decision())
    assert (record["seq"], record["prev"]) == (1, ZERO_HASH)
    assert record["repaired"] == {"bytes": 26, "sha256": hashlib.sha256(b'{"v":1,"seq":1,"ts":"2026-').hexdigest()}  # fmt: skip
    assert verify(log).ok


def test_repeated_crash_reopen_cycles(log: Path) -> None:
    """Crash, reopen, write, crash again...: nothing is lost, every repair is chained."""
    torn = b""
    for cycle in range(5):
        with open_writer(log) as w:
            for i in range(3):
                w.write(decision(cycle * 10 + i))
        fragment = lines(log)[-1][: 20 + cycle * 7]
        with log.open("ab") as f:
            f.write(fragment)
        torn += fragment
    with open_writer(log) as w:
        w.write(decision(100))
    assert (log.parent / "audit.jsonl.torn").read_bytes() == torn
    result = verify(log)
    assert (result.ok, result.records, result.repaired_tails) == (True, 16, 5)
    assert [r["seq"] for r in read(log)] == list(range(1, 17))


def test_reopen_without_writing_keeps_repair_pending_only_in_memory(log: Path) -> None:
    """Reopening a repaired log without writing leaves an intact log; the .torn file keeps the bytes."""
    make_log(log, 2)
    _half_line(log)
    with open_writer(log):
        pass
    assert verify(log).ok
    assert len((log.parent / "audit.jsonl.torn").read_bytes()) == 100


# --- damage before the tail ---------------------------------------------------------------------------


def _edit_line(k: int) -> Callable[[Path], None]:
    def damage(log: Path) -> None:
        ls = lines(log)
        ls[k - 1] = ls[k - 1].replace(b"page-", b"pagE-")
        log.write_bytes(b"".join(ls))

    return damage


def _drop_line(k: int) -> Callable[[Path], None]:
    def damage(log: Path) -> None:
        ls = lines(log)
        del ls[k - 1]
        log.write_bytes(b"".join(ls))

    return damage


def _swap_last_two(log: Path) -> None:
    ls = lines(log)
    ls[-2], ls[-1] = ls[-1], ls[-2]
    log.write_bytes(b"".join(ls))


def _bad_line_then_fragment(log: Path) -> None:
    _edit_line(10)(log)
    _half_line(log)


def _not_json_before_last(log: Path) -> None:
    ls = lines(log)
    ls[8] = b"{oops\n"
    log.write_bytes(b"".join(ls))


def _edit_9_then_empty_line(log: Path) -> None:
    _edit_line(9)(log)
    _empty_line(log)


DAMAGES: dict[str, tuple[Callable[[Path], None], int]] = {
    # name: (damage, line the writer names)
    "edit-line-9-of-10": (_edit_line(9), 9),
    "edit-line-9-then-empty-line": (_edit_9_then_empty_line, 9),
    "not-json-line-9": (_not_json_before_last, 9),
    "drop-line-9": (_drop_line(9), 9),
    "swap-last-two": (_swap_last_two, 10),
    "bad-line-10-and-fragment": (_bad_line_then_fragment, 10),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_damage_before_the_tail_is_refused(log: Path, damage: str) -> None:
    """Damage that is not a torn last line: the writer refuses (naming file and line), changes nothing."""
    make_log(log, 10)
    spoil, line = DAMAGES[damage]
    spoil(log)
    before = log.read_bytes()
    with pytest.raises(ValueError, match=rf"{re.escape(str(log))}: line {line}: "):
        open_writer(log)
    assert log.read_bytes() == before
    assert not (log.parent / "audit.jsonl.torn").exists()
    assert not verify(log).ok


# --- threads, I/O, durability ---------------------------------------------------------------------------


def test_threads_write_one_gapless_chain(log: Path) -> None:
    """8 threads x 500 records give one intact chain with seq 1..4000."""
    with open_writer(log) as w:

        def work(t: int) -> None:
            for i in range(500):
                w.write(decision(t * 1000 + i, evidence=ROBOTS if i % 2 else TDMREP))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert w.seq == 4000
    result = verify(log)
    assert (result.ok, result.records) == (True, 4000)
    assert [r["seq"] for r in read(log)] == list(range(1, 4001))


def test_open_reads_only_the_tail(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a long log reads a few blocks from the end, not the whole file."""
    make_log(log, 3000)
    assert log.stat().st_size > 1_000_000
    read_bytes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read_bytes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    with open_writer(log) as w:
        assert w.seq == 3000
    assert 0 < sum(read_bytes) < 200_000


@pytest.mark.parametrize("fsync", [True, False], ids=["fsync", "no-fsync"])
def test_fsync_option(log: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool) -> None:
    """fsync=True syncs every line written (and evidence); fsync=False syncs none."""
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    monkeypatch.setattr(os, "fdatasync", synced.append, raising=False)
    import scrapy_optout.audit.writer as writer_module

    monkeypatch.setattr(writer_module, "_sync", synced.append)
    with open_writer(log, fsync=fsync) as w:
        for i in range(3):
            w.write(decision(i))
    assert len(synced) == (4 if fsync else 0)  # 3 lines + 1 evidence file


def test_failed_write_breaks_writer_and_reopen_repairs(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An I/O error mid-line breaks the writer (no more writes); reopening cuts the half line."""
    make_log(log, 3)
    real_write = os.write

    def failing_write(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    with open_writer(log) as w:
        monkeypatch.setattr(os, "write", failing_write)
        with pytest.raises(OSError, match="No space"):
            w.write(decision(3))
        monkeypatch.setattr(os, "write", real_write)
        with pytest.raises(ValueError, match="broken"):
            w.write(decision(4))
    assert not verify(log).ok
    with open_writer(log) as w:
        assert w.write(decision(5))["seq"] == 4
    assert verify(log).ok


# --- property: whatever the file holds, opening never loses or invents a record -------------------------


def _valid_log() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        make_log(path, 3)
        return path.read_bytes()


VALID = _valid_log()


@st.composite
def _log_files(draw: st.DrawFn) -> bytes:
    prefix = draw(st.sampled_from([b"", VALID, b"".join(VALID.splitlines(True)[:1])]))
    return prefix + draw(st.binary(max_size=300) | st.sampled_from([b"\n", b"{}\n", b"x"]))


@settings(max_examples=150, deadline=None)
@given(_log_files())
def test_open_on_arbitrary_bytes(data: bytes) -> None:
    """Arbitrary bytes: the writer refuses (file untouched) or keeps a prefix, saves the rest, verifies."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.jsonl"
        path.write_bytes(data)
        refused: str | None = None
        try:
            w = open_writer(path)
        except ValueError as exc:
            refused = str(exc)
        if refused is not None:
            assert str(path) in refused
            assert path.read_bytes() == data
            return
        with w:
            kept = path.read_bytes()
            torn_path = Path(tmp) / "l.jsonl.torn"
            torn = torn_path.read_bytes() if torn_path.exists() else b""
            assert kept + torn == data
            assert w.seq == len(kept.splitlines())
            record = w.write(decision())
        assert ("repaired" in record) == bool(torn)
        result = verify(path)
        assert (result.ok, result.records) == (True, w.seq)
        assert path.read_bytes().startswith(kept)
