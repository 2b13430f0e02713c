"""The examples run as a user would run them: the httpx scripts and the Scrapy project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scrapy_optout.audit import read, verify

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script", ["httpx_sync.py", "httpx_async.py"])
def test_httpx_example_runs_and_reports_each_decision(script: str, tmp_path: Path) -> None:
    """The example exits 0: one allow, a request-stage robots skip, a response-stage noai skip."""
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    lines = out.stdout.splitlines()
    assert re.fullmatch(r"allowed /article: HTTP 200, \d+ bytes, action allow", lines[0])
    assert "skipped /private/report: robots_disallow (request stage)" in lines
    assert "skipped /noai: noai_header (response stage)" in lines
    assert "log: 3 records, intact" in lines
    saw = next(line for line in lines if line.startswith("server saw:")).split()[2:]
    assert "/private/report" not in saw  # skipped before anything was sent
    assert saw.count("/robots.txt") == 1  # one fetch for the origin
    assert {"/article", "/noai"} <= set(saw)
    assert list(tmp_path.iterdir()) == []  # the log went to a temporary folder, now removed


SCRAPY_PROJECT = EXAMPLES / "scrapy_project"


def test_scrapy_project_crawls_with_the_addon(tmp_path: Path) -> None:
    """``scrapy crawl pages`` in the example project collects only what the site allows."""
    from tests.httpsite import html, page, serve_site, text

    site = next(gen := serve_site())
    try:
        links = '<a href="/article">a</a> <a href="/private/report">p</a> <a href="/noai">n</a>'
        site.serve("/", page(body=html(body=links)))
        site.serve("/robots.txt", text("User-agent: MyAIBot\nDisallow: /private/\n"))
        site.serve("/article", page(body=html(body='<img src="/photo.jpg">')))
        site.serve("/noai", page(body=html('<meta name="robots" content="noai">')))
        site.serve("/photo.jpg", page(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg"))
        log = tmp_path / "audit.jsonl"
        items = tmp_path / "items.jsonl"
        command = ["crawl", "pages", "-a", f"start={site.url('/')}", "-O", str(items)]
        out = subprocess.run(
            [sys.executable, "-m", "scrapy", *command, "-s", f"OPTOUT_AUDIT_LOG={log}"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=SCRAPY_PROJECT,
        )
        assert out.returncode == 0, out.stderr
        collected = {json.loads(line)["url"].removeprefix(site.origin) for line in
                     items.read_text().splitlines()}  # fmt: skip
        assert collected == {"/", "/article", "/photo.jpg"}
        assert site.count("/private/report") == 0
        assert "not collected: " + site.url("/noai") + " (noai_meta, response stage)" in out.stderr
        assert verify(str(log)).ok
        skips = {r["url"].removeprefix(site.origin) for r in read(str(log)) if r["action"] == "skip"}
        assert skips == {"/private/report", "/noai"}
    finally:
        gen.close()
    assert not list(SCRAPY_PROJECT.glob("*.jsonl"))  # nothing written into the project
