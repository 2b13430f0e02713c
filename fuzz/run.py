"""Run every fuzz target of :mod:`fuzz.targets` for a bounded time (``make fuzz``; issue 11 C).

Each target runs as a Hypothesis property in rounds of :data:`ROUND` examples, each round with a
fresh seed, until its time is spent (``--seconds-per-target``; by default the whole run takes
about five minutes). A failure is shrunk by Hypothesis to a minimal case, printed, kept in the
example database (``fuzz/.hypothesis``: replayed first by the next run) and written to
``fuzz/failures/<target>.txt``. Prints one line per target (examples run, failures, slowest
example) and exits 1 when any target failed.

Usage: ``python fuzz/run.py [--seconds-per-target N] [--total N] [--only NAME...] [--list]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script: make the repository root importable

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from fuzz.targets import TARGETS, Target

DEFAULT_TOTAL = 300.0
"""Seconds the whole run takes by default, shared equally by the targets."""
ROUND = 100
"""Examples per Hypothesis run; rounds go on until the target's time is spent."""
SLOW = 5.0
"""Seconds one example may take: a slower one (inputs are at most a few KiB) is a failure."""
FAILURES = HERE / "failures"


class _Slow(Exception):
    """One example took longer than :data:`SLOW` seconds."""


def run_target(target: Target, seconds: float, database: Any) -> dict[str, Any]:
    """Run *target* for about *seconds*; return its examples, slowest time and failure, if any."""
    stats: dict[str, Any] = {"examples": 0, "slowest": 0.0, "failure": None, "case": None}

    def body(case: Any) -> None:
        stats["examples"] += 1
        stats["case"] = case  # the last case run: after shrinking, the minimal failing one
        start = time.perf_counter()
        target.check(case)
        took = time.perf_counter() - start
        stats["slowest"] = max(stats["slowest"], took)
        if took > SLOW:
            raise _Slow(f"one example took {took:.1f} s")

    # Hypothesis keys its example database by the test function: give each target its own key.
    body.__name__ = body.__qualname__ = f"fuzz_{target.name}"
    body._hypothesis_internal_add_digest = target.name.encode()  # type: ignore[attr-defined]
    test = settings(
        max_examples=ROUND,
        deadline=None,
        database=database,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        print_blob=True,
    )(given(target.strategy)(body))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            test()
        except (Exception, Flaky) as exc:  # noqa: BLE001, PERF203 - reported, not raised
            stats["failure"] = "".join(traceback.format_exception(exc))
            break
    return stats


def save_failure(target: Target, stats: dict[str, Any]) -> Path:
    """Write the minimal failing case and its traceback to ``fuzz/failures/<target>.txt``."""
    FAILURES.mkdir(exist_ok=True)
    path = FAILURES / f"{target.name}.txt"
    path.write_text(
        f"target: {target.name} ({target.covers})\n\nminimal case:\n{stats['case']!r}\n\n"
        f"{stats['failure']}",
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the targets; 0 when none failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-target", type=float, default=None)
    parser.add_argument("--total", type=float, default=DEFAULT_TOTAL, help="seconds in all")
    parser.add_argument("--only", nargs="*", default=None, help="target names to run")
    parser.add_argument("--list", action="store_true", help="list the targets and stop")
    args = parser.parse_args(argv)
    chosen = [t for t in TARGETS if args.only is None or t.name in args.only]
    if args.list or not chosen:
        for t in TARGETS:
            print(f"{t.name:24} {t.covers}")
        return 0 if args.list else 2
    seconds = args.seconds_per_target or args.total / len(chosen)
    database = DirectoryBasedExampleDatabase(str(HERE / ".hypothesis"))
    print(f"fuzzing {len(chosen)} targets, {seconds:.1f} s each")
    failed: list[str] = []
    total_examples = 0
    began = time.monotonic()
    for t in chosen:
        started = time.monotonic()
        stats = run_target(t, seconds, database)
        total_examples += stats["examples"]
        verdict = "ok"
        if stats["failure"] is not None:
            verdict = f"FAILED -> {save_failure(t, stats).relative_to(HERE.parent)}"
            failed.append(t.name)
        print(
            f"{t.name:24} examples={stats['examples']:7d} failures="
            f"{int(stats['failure'] is not None)} slowest={1000 * stats['slowest']:7.1f} ms "
            f"({time.monotonic() - started:5.1f} s) {verdict}",
            flush=True,
        )
        if stats["failure"] is not None:
            print(f"  minimal case: {stats['case']!r}"[:2000])
            print("  " + stats["failure"].strip().splitlines()[-1][:500])
    print(
        f"{len(chosen)} targets, {total_examples} examples in {time.monotonic() - began:.0f} s; "
        f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
