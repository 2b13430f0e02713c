"""The compliance log at scale: a 1,000,000-record log written, verified and summarised (issue 5).

Each phase runs in a process of its own, which reports its time and peak RSS:

* ``write``: ``AuditWriter.write`` of 1,000,000 decisions (4 in 5 allows, 1 in 5 robots.txt skips,
  each citing the robots.txt evidence), hash-chained, one ``os.write`` per record;
* ``verify``: ``scrapy_optout.audit.verify`` of that log, evidence checked: with its default (one
  process per CPU for a log this size), and in one process for comparison;
* ``summary``: ``scrapy_optout.audit.summarize``.

Targets: writes >= 100,000 records/s, verify >= 200,000 records/s, every phase under 200 MB RSS.
The baseline in the same run: ``json.loads`` of every line, the least any reader of the log does.

Run: ``python bench/audit.py [--records N]`` (``make bench`` runs it). Writes
``bench/results/audit.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from record import save  # bench/record.py, beside this file

TARGETS = {"write": 100_000, "verify": 200_000}
RSS_LIMIT_MB = 200


def phase(name: str, log: str, records: int) -> dict[str, Any]:
    """Child process: run one phase, return its figures."""
    from scrapy_optout._core.models import Decision, Evidence, Reason
    from scrapy_optout.audit import AuditWriter, summarize, verify

    start = time.perf_counter()
    if name == "write":
        robots = Evidence.of(b"User-agent: *\nDisallow: /private/\n")
        reason = Reason(
            "robots_disallow",
            "robots",
            "https://example.org/robots.txt",
            "Disallow: /private/ (line 2)",
            None,
            robots.digest,
        )
        with AuditWriter(log, agent="BenchBot", purpose="train-ai", policy="ab" * 32) as writer:
            for i in range(records):
                if i % 5:
                    url = f"https://example.org/articles/{i}"
                    writer.write(Decision(url, True, "allow", "response", evidence=(robots,)))
                else:
                    url = f"https://example.org/private/{i}"
                    writer.write(
                        Decision(url, False, "skip", "request", (reason,), evidence=(robots,))
                    )
        outcome: object = records
    elif name in ("verify", "verify_one"):
        result = verify(log, workers=1 if name == "verify_one" else None)
        if not result.ok or result.records != records:
            raise SystemExit(f"verify: {result}")
        outcome = result.records
    elif name == "summary":
        outcome = summarize(log).records
        assert outcome == records
    else:  # baseline: parse every line, nothing more
        count = 0
        with open(log, "rb") as f:
            for line in f:
                json.loads(line)
                count += 1
        outcome = count
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if name == "verify":  # its worker processes, if any
        rss_mb = max(rss_mb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return {
        "seconds": round(seconds, 3),
        "per_second": round(records / seconds),
        "peak_rss_mb": round(rss_mb, 1),
        "outcome": outcome,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.log, args.records)))
        return 0
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        log = str(Path(folder) / "audit.jsonl")
        for name in ("write", "baseline", "verify", "verify_one", "summary"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--phase",
                    name,
                    "--log",
                    log,
                    "--records",
                    str(args.records),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
        size_mb = Path(log).stat().st_size / 1024 / 1024
    print(f"{args.records:,} records, {size_mb:,.0f} MB")
    print(f"{'phase':<12}{'seconds':>9}{'records/s':>12}{'peak RSS':>11}   target")
    for name, f in figures.items():
        target = TARGETS.get(name)
        verdict = ""
        if target:
            holds = f["per_second"] >= target and f["peak_rss_mb"] < RSS_LIMIT_MB
            verdict = f">= {target:,}/s, < {RSS_LIMIT_MB} MB: {'holds' if holds else 'MISSES'}"
        print(
            f"{name:<12}{f['seconds']:>9.2f}{f['per_second']:>12,}{f['peak_rss_mb']:>8.0f} MB"
            f"   {verdict}"
        )
    ratio = figures["verify"]["per_second"] / figures["baseline"]["per_second"]
    print(f"verify / json.loads of every line: {ratio:.2f}")
    save(
        "audit",
        {
            "records": args.records,
            "log_mb": round(size_mb),
            "phases": figures,
            "targets": TARGETS,
            "rss_limit_mb": RSS_LIMIT_MB,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
