"""examples/playwright_project: ``scrapy crawl pages`` rendered by Debian's Chromium, as a user runs it.

The only change from the example's settings is the browser's launch arguments, which keep it on
127.0.0.1 in tests (chromium.md); the crawl runs in a process group of its own, killed afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from scrapy_optout.audit import read, verify
from tests.browser import CHROMIUM, offline_args, require_chromium, sink
from tests.httpsite import DISALLOW_PRIVATE, Site, html, json_doc, page, text

PROJECT = Path(__file__).resolve().parents[1] / "examples" / "playwright_project"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_the_example_renders_pages_and_keeps_reserved_loads_out(site: Site, tmp_path: Path) -> None:
    """Links followed in the browser; a disallowed page and a reserved image are never requested."""
    require_chromium()
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/.well-known/tdmrep.json", json_doc('[{"location":"/photos/","tdm-reservation":1}]'))
    links = '<a href="/a">a</a><a href="/private/x">x</a>'
    site.serve("/", page(body=html(body=links)))
    site.serve("/a", page(body=html(body='<img src="/photos/p.png"><img src="/i.png">')))
    site.serve("/private/x", page())
    site.serve("/photos/p.png", page(body=PNG, content_type="image/png"))
    site.serve("/i.png", page(body=PNG, content_type="image/png"))
    log, items = tmp_path / "audit.jsonl", tmp_path / "items.jsonl"
    with sink() as port:
        launch = {"executable_path": str(CHROMIUM), "headless": True, "args": offline_args(port)}
        argv = ["crawl", "pages", "-a", f"start={site.url('/')}", "-O", str(items),
                "-s", f"OPTOUT_AUDIT_LOG={log}", "-s", "LOG_LEVEL=WARNING",
                "-s", f"PLAYWRIGHT_LAUNCH_OPTIONS={json.dumps(launch)}"]  # fmt: skip
        process = subprocess.Popen([sys.executable, "-m", "scrapy", *argv], cwd=PROJECT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)  # fmt: skip
        try:
            _, err = process.communicate(timeout=180)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err[-3000:]
    got = [json.loads(line) for line in items.read_text().splitlines()]
    assert sorted((i["url"], i["title"], i["allowed"]) for i in got) == [
        (site.url("/"), "page", True), (site.url("/a"), "page", True)]  # fmt: skip
    assert site.count("/private/x") == 0
    assert site.count("/photos/p.png") == 0
    assert site.count("/i.png") == 1
    skips = {r["url"]: r["reasons"][0]["code"] for r in read(log) if r["action"] == "skip"}
    assert skips == {site.url("/private/x"): "robots_disallow",
                     site.url("/photos/p.png"): "tdmrep_file"}  # fmt: skip
    assert verify(log).ok
