"""The httpx examples run as a user would run them, and say what the client did."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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
