"""The HTML report in a real headless Chromium: its numbers, its escaping and its search script.

Chromium is launched as /work/shared/reference/chromium.md says, so that it talks only to 127.0.0.1:
everything it would send elsewhere goes to a local sink that accepts and closes connections.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout._core.models import Decision, Reason
from scrapy_optout.audit import AuditWriter, read
from scrapy_optout.audit.report import render_report
from scrapy_optout.audit.summary import summarize_records
from tests.browser import CHROMIUM, offline_args, require_chromium
from tests.browser import sink as browser_sink

TIMEOUT = 90  # seconds for one whole browser run; it takes about 1 s
PWNED = "https://evil.test/<script>document.title='pwned'</script>"


@pytest.fixture
def sink() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and closes them at once."""
    with browser_sink() as port:
        yield port


def dump_dom(url: str, sink_port: int) -> str:
    """The DOM of *url* after its scripts ran, as Chromium's ``--dump-dom`` prints it."""
    require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        args = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            *offline_args(sink_port),
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",  # let the page's script run before the dump
            "--dump-dom",
            url,
        ]
        # Its own session, so that the whole process group (renderer, GPU, zygote) can be killed.
        browser = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        timed_out = False
        try:
            out, err = browser.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Even after a clean exit: a helper process may outlive the browser's main process.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            if timed_out:
                browser.communicate(timeout=10)
    if timed_out:
        pytest.fail(f"chromium did not finish within {TIMEOUT} s")
    if not out:
        pytest.fail(f"chromium printed no DOM (exit {browser.returncode}): {err.decode()[-2000:]}")
    return out.decode()


def write_report(tmp_path: Path) -> Path:
    """A real log (five skips, four allows) and its report, side by side in *tmp_path*."""
    log = tmp_path / "audit.jsonl"
    with AuditWriter(log, agent="MyAIBot", purpose="train-ai", policy="p" * 64) as w:
        robots = Reason(
            "robots_disallow", "robots", "https://example.org/robots.txt", "Disallow: /"
        )
        tdmrep = Reason("tdmrep_file", "tdmrep", "https://evil.test/.well-known/tdmrep.json", "r 0")
        noai = Reason("noai_meta", "noai", PWNED, "noai")
        for i in range(4):
            w.write(Decision(f"https://example.org/ok/{i}", True, "allow", "request"))
        for i in range(3):
            w.write(
                Decision(f"https://example.org/private/{i}", False, "skip", "request", (robots,))
            )
        w.write(Decision("https://evil.test/other", False, "skip", "request", (tdmrep,)))
        w.write(Decision(PWNED, False, "skip", "response", (noai,)))
    html = render_report(
        summarize_records(read(log)),
        read(log),
        source=str(log),
        generated="2026-11-29T10:00:00Z",
        verified="intact: 9 records",
    )
    report = tmp_path / "report.html"
    report.write_text(html, encoding="utf-8")
    return report


def cells(dom: str, tbody_id: str) -> list[list[str]]:
    """The text of each cell of each row of the ``<tbody id=tbody_id>`` in *dom*."""
    body = re.search(rf'<tbody id="{tbody_id}">(.*?)</tbody>', dom, re.DOTALL)
    assert body is not None, f"no tbody {tbody_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.DOTALL)
    return [
        [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)] for row in rows
    ]


def test_report_renders_safely_and_filters_in_chromium(tmp_path: Path, sink: int) -> None:
    """In Chromium the numbers show, the <script> URL is inert text, and #q= filters the rows."""
    report = write_report(tmp_path)
    dom = dump_dom(report.as_uri() + "#q=Evil%2Etest", sink)

    title = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    assert title is not None
    assert "pwned" not in title.group(1)
    assert title.group(1) == f"Compliance report: {tmp_path / 'audit.jsonl'}"
    cards = dict(
        re.findall(r'id="card-(\w+)"><div class="label">[^<]*</div><div class="value">([^<]*)', dom)
    )
    assert {
        k: cards[k] for k in ("records", "allowed", "skipped", "bypassed", "hosts", "runs")
    } == {
        "records": "9",
        "allowed": "4",
        "skipped": "5",
        "bypassed": "0",
        "hosts": "2",
        "runs": "1",
    }
    assert "intact: 9 records" in dom

    # The script filled the table from the fragment: the two evil.test skips, and only those.
    records: list[dict[str, Any]] = list(read(tmp_path / "audit.jsonl"))
    expected = [
        [r["url"], r["reasons"][0]["code"], r["stage"], r["ts"]]
        for r in records
        if r["action"] == "skip" and "evil.test" in r["url"]
    ]
    assert [row[0] for row in expected] == ["https://evil.test/other", PWNED]
    assert cells(dom, "skip-rows") == expected
    assert 'id="skip-count">2 of 5 skipped URLs match<' in dom
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom  # escaped text in the DOM
    assert len(re.findall(r"<script\b", dom)) == 2  # the data and the page's own script only
