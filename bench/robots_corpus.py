"""robots.txt parse time over the shared corpus, against Protego 0.7 in the same run.

Parses every file of ``../shared/data/robots-corpus`` (4,218 real robots.txt files) with
``parse_robots`` and with ``protego.Protego.parse`` (Scrapy's default parser; its timing includes
the UTF-8 decode it needs, as ours does). Each file is timed with ``time.perf_counter_ns``; the
per-file figure is the best of ``ROUNDS`` rounds (after one warm-up round), the two parsers
interleaved file by file. Prints median, p99 and max per file, the total, and ours / Protego.
Also prints the warm ``select()`` and ``allowed()`` cost on the largest file (19k rules).

Run: ``.venv/bin/python bench/robots_corpus.py``. Writes ``bench/results/robots_corpus.json``.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
import timeit
from datetime import datetime, timezone
from pathlib import Path

from protego import Protego

from scrapy_optout._core.robots import parse_robots

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/robots-corpus"
RESULTS = Path(__file__).resolve().parent / "results" / "robots_corpus.json"
ROUNDS = 3


def stats(ns: list[int]) -> dict[str, float]:
    ordered = sorted(ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "median_us": statistics.median(ordered) / 1000,
        "p99_us": p99 / 1000,
        "max_us": ordered[-1] / 1000,
        "total_ms": sum(ordered) / 1e6,
    }


def main() -> int:
    if not CORPUS.is_dir():
        print(f"corpus not found: {CORPUS}", file=sys.stderr)
        return 2
    bodies = [(f.name, f.read_bytes()) for f in sorted(CORPUS.iterdir())]
    ours = [float("inf")] * len(bodies)
    theirs = [float("inf")] * len(bodies)
    clock = time.perf_counter_ns
    for round_ in range(ROUNDS + 1):
        for i, (_name, body) in enumerate(bodies):
            start = clock()
            parse_robots(body)
            mid = clock()
            Protego.parse(body.decode("utf-8", "replace"))
            end = clock()
            if round_:  # round 0 warms up
                ours[i] = min(ours[i], mid - start)
                theirs[i] = min(theirs[i], end - mid)
    mine = stats([int(x) for x in ours])
    base = stats([int(x) for x in theirs])
    slowest = max(range(len(bodies)), key=lambda i: ours[i])

    name, body = max(bodies, key=lambda nb: nb[1].count(b"llow"))
    doc = parse_robots(body)
    selection = doc.select("mybot")
    n = 100_000
    select_us = timeit.timeit(lambda: doc.select("mybot"), number=n) / n * 1e6
    allowed_us = timeit.timeit(lambda: selection.allowed("/some/deep/path/page.html"), number=n)
    allowed_us = allowed_us / n * 1e6

    print(f"robots.txt corpus: {len(bodies)} files, {sum(len(b) for _, b in bodies):,} bytes")
    print(f"{'':10}{'median':>10}{'p99':>10}{'max':>11}{'total':>11}")
    for label, row in (("ours", mine), ("protego", base)):
        print(
            f"{label:10}{row['median_us']:8.1f}us{row['p99_us']:8.1f}us{row['max_us']:9.1f}us"
            f"{row['total_ms']:9.1f}ms"
        )
    ratio = {k: mine[k] / base[k] for k in mine}
    print(
        "ours/protego: "
        + ", ".join(f"{k.split('_')[0]} {v:.2f}x" for k, v in ratio.items())
        + f"; slowest file: {bodies[slowest][0]} ({len(bodies[slowest][1]):,} bytes)"
    )
    print(
        f"warm select() {select_us:.2f}us, allowed() {allowed_us:.2f}us "
        f"on {name} ({len(selection.rules):,} rules for the selected group)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "machine": platform.machine(),
                "files": len(bodies),
                "rounds": ROUNDS,
                "ours": mine,
                "protego": base,
                "ratio_ours_over_protego": ratio,
                "slowest_file": bodies[slowest][0],
                "warm_select_us": select_us,
                "warm_allowed_us": allowed_us,
                "largest_rules_file": name,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
