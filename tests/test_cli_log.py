"""``scrapy-optout log verify|summary|export|prove|report|merge`` on logs the real httpx client wrote."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout import OptedOutError, OptOutClient, Policy
from scrapy_optout._core.models import Decision, Reason
from scrapy_optout.audit import AuditWriter
from scrapy_optout.cli import main
from scrapy_optout.cli_log import _progress_bar
from tests.httpsite import DISALLOW_PRIVATE, Site, json_doc, page, text

TDMREP = '[{"location":"/research/","tdm-reservation":1,"tdm-policy":"https://e.org/licence"}]'
PATHS = ("/ok", "/private/a", "/noai", "/research/x", "/ok?b", "/private/b", "/meta")


def crawl(site: Site, log: Path, paths: tuple[str, ...] = PATHS) -> None:
    """Fetch *paths* of *site* with OptOutClient, logging every decision to *log*."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/.well-known/tdmrep.json", json_doc(TDMREP))
    site.serve("/ok", page())
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    site.serve("/meta", page(body=b'<html><head><meta name="robots" content="noai"></head>'))
    with OptOutClient(policy=Policy(user_agent="MyAIBot", audit_log=str(log))) as client:
        for path in paths:
            with contextlib.suppress(OptedOutError):  # the skips are what the log is for
                client.get(site.url(path))


@pytest.fixture
def log(site: Site, tmp_path: Path) -> Path:
    """A log of seven decisions (two allows, five skips) written by the real client."""
    path = tmp_path / "audit.jsonl"
    crawl(site, path)
    return path


def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["log", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def raw(log: Path) -> list[dict[str, Any]]:
    """The records, read independently of the package."""
    return [json.loads(line) for line in log.read_text("utf-8").splitlines()]


# --- verify -------------------------------------------------------------------------------------


def test_verify_passes_an_untouched_log(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An untouched log verifies: exit 0, its record count, evidence checked."""
    code, out, _ = run("verify", str(log), capsys=capsys)
    assert code == 0
    assert out == f"{log}: intact, 7 records, evidence files checked\n"


def _edit(log: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"/noai", b"/noAI")
    log.write_bytes(b"".join(lines))


def _delete(log: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:3] + lines[4:]))


def _reorder(log: Path) -> None:
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    log.write_bytes(b"".join(lines))


def _truncate(log: Path) -> None:
    log.write_bytes(log.read_bytes()[:-40])


def _alter_evidence(log: Path) -> None:
    for file in (log.parent / (log.name + ".evidence")).iterdir():
        file.write_bytes(file.read_bytes().replace(b"Disallow", b"Allow") + b"# edited\n")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_edit, "DAMAGED: line 3: hash mismatch"),
        (_delete, "DAMAGED: line 4: seq 5 follows 3 (record removed or reordered)"),
        (_reorder, "DAMAGED: line 2: seq 3 follows 1 (record removed or reordered)"),
        (_truncate, "DAMAGED: line 7: no newline at the end (a torn tail"),
        (_alter_evidence, "DAMAGED: line 2: evidence sha256:"),
    ],
    ids=["edit", "delete", "reorder", "truncate", "evidence"],
)
def test_verify_names_the_first_bad_record(
    log: Path, capsys: pytest.CaptureFixture[str], damage: Any, message: str
) -> None:
    """Each kind of tampering fails verify (exit 1), naming the first bad line and the fault."""
    damage(log)
    code, out, _ = run("verify", str(log), capsys=capsys)
    assert code == 1
    assert message in out, out


def test_verify_reports_a_repaired_torn_tail(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After the writer repairs a torn tail, verify passes and says a tail was repaired."""
    _truncate(log)
    with AuditWriter(log, agent="MyAIBot", purpose="train-ai", policy="p" * 64) as writer:
        writer.write(Decision("https://e.org/after", True, "allow", "response"))
    code, out, _ = run("verify", str(log), capsys=capsys)
    assert code == 0
    assert "intact, 7 records" in out
    assert "1 torn tail(s) repaired by the writer" in out


def test_verify_of_a_missing_log_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log that does not exist exits 2 with a message."""
    code, _, err = run("verify", str(tmp_path / "none.jsonl"), capsys=capsys)
    assert code == 2
    assert "no such file" in err


def test_verify_spans_rotated_segments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rotated log (LOG.2.gz, LOG.1.gz, LOG) verifies as one chain."""
    log = tmp_path / "audit.jsonl"
    reason = Reason("robots_disallow", "robots", "https://e.org/robots.txt", "x" * 400)
    with AuditWriter(log, agent="A", purpose="train-ai", policy="p" * 64,
                     rotate_bytes=64 * 1024) as writer:  # fmt: skip
        for i in range(500):
            writer.write(Decision(f"https://e.org/{i}", False, "skip", "request", (reason,)))
    assert (tmp_path / "audit.jsonl.2.gz").exists()
    code, out, _ = run("verify", str(log), capsys=capsys)
    assert (code, out) == (0, f"{log}: intact, 500 records, evidence files checked\n")


def test_progress_bar_only_on_a_terminal() -> None:
    """The progress bar is drawn on a terminal and ends cleared; elsewhere there is none."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert _progress_bar(io.StringIO()) is None
    screen = Terminal()
    show = _progress_bar(screen)
    assert show is not None
    show(50, 100)
    show(100, 100)
    assert "verifying [" in screen.getvalue()
    assert "100.0%" in screen.getvalue()
    assert screen.getvalue().endswith("\r")


# --- summary ------------------------------------------------------------------------------------


def test_summary_figures_match_the_raw_lines(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Summary --json equals the figures computed here from the raw lines."""
    records = raw(log)
    skips = [r for r in records if r["action"] == "skip"]
    code, out, _ = run("summary", str(log), "--json", capsys=capsys)
    assert code == 0
    summary = json.loads(out)
    assert summary["records"] == len(records) == 7
    assert summary["skips"] == len(skips) == 5
    assert summary["skips_by_code"] == dict(Counter(r["reasons"][0]["code"] for r in skips))
    assert summary["skips_by_signal"] == dict(Counter(r["reasons"][0]["signal"] for r in skips))
    assert summary["skips_by_stage"] == dict(Counter(r["stage"] for r in skips))
    assert summary["first"] == min(r["ts"] for r in records)
    assert summary["last"] == max(r["ts"] for r in records)
    assert summary["top_domains"] == [{"host": "127.0.0.1", "records": 7, "skips": 5}]
    assert list(summary["policies"]) == [records[0]["policy"]]
    assert summary["licensing_leads"] == {
        records[0]["url"].rsplit("/", 1)[0]: ["https://e.org/licence"]
    }


def test_summary_text_has_one_line_per_reason_code(
    log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text summary gives totals and one line per reason code with its count."""
    code, out, _ = run("summary", str(log), capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "records  7"
    assert "skipped  5" in lines
    codes = Counter(r["reasons"][0]["code"] for r in raw(log) if r["action"] == "skip")
    for reason_code, count in codes.items():
        assert any(line.split() == [reason_code, str(count)] for line in lines), (reason_code, out)


# --- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "keep"),
    [
        ((), lambda r: True),
        (("--action", "skip"), lambda r: r["action"] == "skip"),
        (
            ("--code", "robots_disallow"),
            lambda r: any(x["code"] == "robots_disallow" for x in r["reasons"]),
        ),
        (("--domain", "127.0.0.1"), lambda r: True),
        (("--domain", "example.org"), lambda r: False),
        (("--url-prefix", "{origin}/private/"), lambda r: "/private/" in r["url"]),
        (("--since", "2000-01-01", "--until", "2999-12-31"), lambda r: True),
        (("--until", "2000-01-01"), lambda r: False),
    ],
    ids=["all", "action", "code", "domain", "other-domain", "prefix", "span", "before"],
)
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_selects_what_the_filters_say(
    log: Path, site: Site, capsys: pytest.CaptureFixture[str], options: tuple[str, ...],
    keep: Any, fmt: str,
) -> None:  # fmt: skip
    """Each filter keeps exactly the records the test selects from the raw lines; exit 0."""
    argv = [o.format(origin=site.origin) for o in options]
    code, out, _ = run("export", str(log), "--format", fmt, *argv, capsys=capsys)
    assert code == 0
    expected = [r for r in raw(log) if keep(r)]
    if fmt == "jsonl":
        assert [json.loads(line) for line in out.splitlines()] == expected
    else:
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [int(row["seq"]) for row in rows] == [r["seq"] for r in expected]
        for row, record in zip(rows, expected, strict=True):
            assert row["url"] == record["url"]
            assert row["codes"] == " | ".join(x["code"] for x in record["reasons"])
            assert row["hash"] == record["hash"]


def test_export_to_a_file(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """-o writes the export to a file and nothing to standard output."""
    target = tmp_path / "skips.csv"
    code, out, _ = run("export", str(log), "--format", "csv", "--action", "skip", "-o",
                       str(target), capsys=capsys)  # fmt: skip
    assert (code, out) == (0, "")
    assert len(list(csv.DictReader(io.StringIO(target.read_text())))) == 5


def test_export_rejects_a_bad_time(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --since that is not ISO 8601 exits 2 naming it."""
    code, _, err = run("export", str(log), "--since", "yesterday", capsys=capsys)
    assert code == 2
    assert "'yesterday' is not an ISO 8601 date or time" in err


def _big_log(path: Path, n: int) -> None:
    reason = Reason("robots_disallow", "robots", "https://e.org/robots.txt", "d" * 300)
    with AuditWriter(path, agent="A", purpose="train-ai", policy="p" * 64) as writer:
        for i in range(n):
            writer.write(Decision(f"https://e.org/{i}", False, "skip", "request", (reason,)))


def test_export_streams_in_constant_memory(tmp_path: Path) -> None:
    """Exporting a log ten times larger allocates no more at its peak: records are not kept."""
    peaks = []
    for n in (2_000, 20_000):
        log = tmp_path / f"big-{n}.jsonl"
        _big_log(log, n)
        tracemalloc.start()
        main(["log", "export", str(log), "--format", "csv", "-o", str(tmp_path / f"out-{n}.csv")])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert (tmp_path / "big-20000.jsonl").stat().st_size > 10 * 1024 * 1024
    assert peaks[1] < 2 * peaks[0]
    assert peaks[1] < 2 * 1024 * 1024


# --- prove --------------------------------------------------------------------------------------


def test_prove_shows_every_decision_and_its_evidence(
    log: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prove HOST lists every decision of that host and prints each evidence document."""
    code, out, _ = run("prove", str(log), "127.0.0.1", capsys=capsys)
    assert code == 0
    assert out.startswith("7 decision(s) about 127.0.0.1")
    for record in raw(log):
        assert record["url"] in out
    assert "robots_disallow [robots]" in out
    assert "    | Disallow: /private" in out  # the robots.txt as it was fetched
    assert TDMREP in out
    assert "(verified;" in out


@pytest.mark.parametrize(
    ("target", "count"),
    [("{host_port}", 7), ("127.0.0.1:1", 0), ("{origin}/private/", 2), ("{origin}/ok", 2)],
)
def test_prove_narrows_by_port_and_url_prefix(
    log: Path, site: Site, capsys: pytest.CaptureFixture[str], target: str, count: int
) -> None:
    """HOST:PORT matches that port only, a URL its prefix; nothing found exits 1."""
    spec = target.format(origin=site.origin, host_port=site.origin.removeprefix("http://"))
    code, out, _ = run("prove", str(log), spec, "--json", capsys=capsys)
    report = json.loads(out)
    assert len(report["decisions"]) == count
    assert code == (0 if count else 1)


def test_prove_flags_altered_evidence(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An evidence file changed after the crawl is shown as not matching its digest."""
    _alter_evidence(log)
    code, out, _ = run("prove", str(log), "127.0.0.1", "--json", capsys=capsys)
    assert code == 0
    evidence = json.loads(out)["evidence"]
    assert evidence
    assert all(item["intact"] is False for item in evidence)


# --- merge --------------------------------------------------------------------------------------


def test_merge_of_two_clients_logs_verifies_and_summarises(
    site: Site, log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two clients' logs merge into one chain that verify, summary and report read as one log."""
    second = tmp_path / "worker-2.jsonl"
    crawl(site, second, ("/private/c", "/ok"))
    merged = tmp_path / "merged.jsonl"
    code, out, _ = run("merge", str(log), str(second), "-o", str(merged), capsys=capsys)
    assert code == 0
    assert out.startswith(f"wrote {merged}: 9 records from 2 logs ({log}: 7, {second}: 2); ")
    records = raw(merged)
    assert [r["seq"] for r in records] == list(range(1, 10))
    assert {r["src"]["run"] for r in records} == {raw(log)[0]["run"], raw(second)[0]["run"]}
    code, out, _ = run("verify", str(merged), capsys=capsys)
    assert (code, out) == (0, f"{merged}: intact, 9 records, evidence files checked\n")
    code, out, _ = run("summary", str(merged), "--json", capsys=capsys)
    assert code == 0
    assert json.loads(out)["records"] == 9
    code, _, _ = run("report", str(merged), "-o", str(tmp_path / "r.html"), capsys=capsys)
    assert code == 0
    assert "intact: 9 records" in (tmp_path / "r.html").read_text("utf-8")


def test_summary_counts_the_records_of_each_named_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Logs whose writers name a worker: summary, merged, gives each worker's record count."""
    logs = []
    for worker, count in (("host-a:101", 3), ("host-b:202", 2)):
        path = tmp_path / f"{worker.replace(':', '-')}.jsonl"
        with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy="p" * 64,
                         worker=worker) as writer:  # fmt: skip
            for n in range(count):
                writer.write(Decision(f"https://a.test/{worker}/{n}", True, "allow", "response"))
        logs.append(str(path))
    merged = tmp_path / "fleet.jsonl"
    assert run("merge", *logs, "-o", str(merged), capsys=capsys)[0] == 0
    assert [r["worker"] for r in raw(merged)].count("host-a:101") == 3
    _, out, _ = run("summary", str(merged), "--json", capsys=capsys)
    assert json.loads(out)["workers"] == {"host-a:101": 3, "host-b:202": 2}
    _, out, _ = run("summary", str(merged), capsys=capsys)
    lines = out.splitlines()
    at = lines.index("records by worker:")
    by_worker = [line.split() for line in lines[at + 1 : at + 3]]
    assert by_worker == [["host-a:101", "3"], ["host-b:202", "2"]]
    plain = tmp_path / "plain.jsonl"
    with AuditWriter(plain, agent="MyAIBot", purpose="train-ai", policy="p" * 64) as writer:
        writer.write(Decision("https://a.test/x", True, "allow", "response"))
    assert "records by worker:" not in run("summary", str(plain), capsys=capsys)[1]
    assert json.loads(run("summary", str(plain), "--json", capsys=capsys)[1])["workers"] == {}


def test_merge_refuses_a_damaged_worker_log(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited input: exit 1, the damage named, and no merged log written."""
    lines = log.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"MyAIBot", b"MyAIBoT")
    log.write_bytes(b"".join(lines))
    merged = tmp_path / "merged.jsonl"
    code, out, _ = run("merge", str(log), "-o", str(merged), capsys=capsys)
    assert code == 1
    assert out == f"{log}: not intact: line 3: hash mismatch; nothing merged\n"
    assert not merged.exists()


def test_merge_errors_exit_2(log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing input or an output among the inputs: exit 2 with the reason."""
    code, _, err = run("merge", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "m"),
                       capsys=capsys)  # fmt: skip
    assert code == 2
    assert "no such file" in err
    code, _, err = run("merge", str(log), "-o", str(log), capsys=capsys)
    assert code == 2
    assert "the output is one of the inputs" in err


# --- report and the installed command -----------------------------------------------------------


def test_report_writes_one_html_file(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Report -o writes a self-contained HTML page with the log's figures."""
    target = tmp_path / "report.html"
    code, out, _ = run("report", str(log), "-o", str(target), capsys=capsys)
    assert code == 0
    assert out == f"wrote {target}: 7 records, 5 skips\n"
    page_text = target.read_text("utf-8")
    assert page_text.lstrip().lower().startswith("<!doctype html>")
    assert "intact: 7 records" in page_text


def test_installed_command_runs(log: Path) -> None:
    """The console script runs the log commands as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "scrapy_optout.cli", "log", "summary", str(log)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("records  7\n")
