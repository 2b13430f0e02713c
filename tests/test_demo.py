"""make demo's script runs on the bundled example and its log verifies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"


def test_demo_runs_and_shows_every_kind_of_skip(tmp_path):
    """The demo decides each bundled URL, writes a log that verifies, and summarises the skips."""
    out = subprocess.run([sys.executable, str(DEMO), str(tmp_path)], capture_output=True,
                         text=True, check=True, timeout=120)
    for code in ("robots_disallow", "robots_ai_agents", "tdmrep_file", "content_signal", "ai_txt",
                 "robots_unreachable", "noai_header", "noimageai", "tdmrep_header",
                 "content_usage"):
        assert code in out.stdout, code
    assert "verify: intact" in out.stdout
    assert "licence" in out.stdout
    assert (tmp_path / "demo-audit.jsonl").read_text().count("\n") == 16
