"""make demo's script: the example web crawled and fetched, the log reviewed, twice in a row."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from scrapy_optout.audit import read, verify
from tests.example_web import EXAMPLES, web


def built_to_skip() -> Counter[str]:
    """Skips per reason code that the example web was built to produce (crawl plus httpx)."""
    origins = web.build(lambda name: f"http://127.0.0.1/{name}")  # expectations ignore URLs
    wanted = web.expected(origins, web.HTTPX_SAMPLE)
    return Counter({code: n for code, n in wanted.items() if code not in ("allow", "licence")})


def printed_skips(stdout: str) -> Counter[str]:
    """The ``skips by reason code`` lines of the demo's ``log summary``."""
    section = stdout.split("skips by reason code:\n", 1)[1].split("skips by signal:", 1)[0]
    return Counter({code: int(n) for code, n in re.findall(r"^  (\w+) +(\d+)$", section, re.MULTILINE)})


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    """Run the demo as ``make demo`` does, into *out*."""
    return subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), str(out)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], Path]:
    """The demo run twice into one folder: both outputs, and the folder."""
    out = tmp_path_factory.mktemp("demo")
    first = run_demo(out)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_demo(out)
    assert second.returncode == 0, second.stdout + second.stderr
    return [first.stdout, second.stdout], out


def test_summary_skips_equal_what_the_site_was_built_to_produce(two_runs):
    """Each run's printed summary has exactly the skips per reason code that web.py declares."""
    wanted = built_to_skip()
    assert len(wanted) >= 15  # every kind of signal is on show
    for stdout in two_runs[0]:
        assert printed_skips(stdout) == wanted
        assert "as built: every one of the" in stdout


def test_log_verifies_and_is_replaced_not_appended(two_runs):
    """The second run's log verifies and holds one run's decisions, crawl and httpx alike."""
    _, out = two_runs
    log = out / "optout-audit.jsonl"
    assert verify(str(log)).ok
    records = list(read(str(log)))
    total = sum(web.expected(web.build(lambda n: n), web.HTTPX_SAMPLE).values())
    assert len(records) == total
    assert len({r["run"] for r in records}) == 2  # the Scrapy crawl and the httpx client
    skips = Counter(r["reasons"][0]["code"] for r in records if r["action"] == "skip")
    assert skips == built_to_skip()
    licensed = [r for r in records if any(x["code"] == "licence" for x in r["reasons"])]
    assert {r["action"] for r in licensed} == {"allow"}
    assert len(licensed) == 3  # the licensed origin's two pages, and one fetched again by httpx


def test_report_is_written_and_named(two_runs):
    """report.html is written into the output folder and the demo says where it is."""
    stdouts, out = two_runs
    report = out / "report.html"
    assert report.read_text().lower().startswith("<!doctype html>")
    assert f"report: {report}" in stdouts[1]


def test_no_server_is_left_behind(two_runs):
    """After the demo, none of the example web's ports accepts a connection."""
    ports = re.findall(r"^  http://127\.0\.0\.1:(\d+)/ ", two_runs[0][1], re.MULTILINE)
    assert len(ports) == len(web.ORIGINS)
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", int(port)), timeout=2)
