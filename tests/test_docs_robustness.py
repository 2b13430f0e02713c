"""docs/robustness.md against the code: every test and fuzz target it names exists, and runs.

The page is the table of every attack tried; a row naming a test that was renamed or removed would
claim a protection nothing checks any more.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")


def defined_tests() -> set[str]:
    """The names of every test function under tests/."""
    found: set[str] = set()
    for module in (ROOT / "tests").rglob("test_*.py"):
        text = module.read_text("utf-8")
        found.update(re.findall(r"^(?:async )?def (test_\w+)", text, re.MULTILINE))
    return found


def test_every_test_the_page_names_exists() -> None:
    """Each `test_…` name on the page is a test function of the suite."""
    named = set(re.findall(r"\b(test_[a-z0-9_]+)", PAGE))
    modules = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    named -= modules
    assert named, "the page names no test"
    assert sorted(named - defined_tests()) == []


def test_the_fuzz_table_lists_every_target_and_only_them() -> None:
    """The fuzz section's table rows name exactly the targets of fuzz/targets.py."""
    section = PAGE.split("## 3. Fuzzing", 1)[1].split("Found by fuzzing", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert listed == {target.name for target in TARGETS}


def test_the_fuzz_runner_runs_a_target_and_reports_it() -> None:
    """`fuzz/run.py --only robots` runs that target for its time and exits 0 (make fuzz's runner)."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / "run.py"), "--only", "robots",
         "--seconds-per-target", "1"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    line = re.search(r"^robots +examples= +[1-9]\d* failures=0 .* ok$", run.stdout, re.MULTILINE)
    assert line, run.stdout
