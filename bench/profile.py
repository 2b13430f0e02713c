"""Where a page's CPU goes: py-spy profiles of the client and crawl benchmarks (issue 9).

Not a benchmark (no ratio of speeds): a tool that explains ``client.py`` and ``crawl.py``. It runs,
each under ``py-spy record`` (sampling at 1 kHz, native threads off):

* the sync ``OptOutClient`` and plain ``httpx.Client`` over the local site of ``client.py``
  (1,000 pages over 10 origins, repeated for ``--seconds``);
* the crawl of ``crawl.py`` (5,000 pages over 20 origins), with the add-on and with
  ``ROBOTSTXT_OBEY=True``.

From each profile it prints the process's CPU samples per page, and the share of them spent in
each of scrapy_optout's steps (inclusive: a step's callees count in it). A sample is 1 ms of CPU;
sampling slows the process a little, so absolute figures run high, and the shares are what to
read. Needs ``py-spy`` (installed in ``.venv-bench``) and permission to trace child processes.

Run: ``make profile`` or ``.venv-bench/bin/python bench/profile.py``. Writes
``bench/results/profile.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from localsite import local_site
from record import save

HERE = Path(__file__).resolve().parent
# Our steps, as (label, frame name prefix); a sample counts in every step on its stack.
STEPS = [
    ("request stage (check_request, documents from the cache)", "check_request ("),
    ("response stage (check_response)", "check_response ("),
    ("  of which: reading headers and head (read_response)", "read_response ("),
    ("  of which: the head scan (scan_head)", "scan_head ("),
    ("side documents fetched (robots.txt, tdmrep.json, ai.txt)", "fetch (scrapy_optout/_fetch.py"),
    ("compliance log record (AuditWriter.write)", "AuditWriter.write ("),
    ("middleware: process_request", "OptOutMiddleware.process_request ("),
    ("middleware: process_response", "OptOutMiddleware.process_response ("),
    ("middleware: optout_decision signal (_publish)", "OptOutMiddleware._publish ("),
    ("client: OptOutTransport.handle_request, less the inner transport", "OptOutTransport.handle"),
    ("Scrapy RobotsTxtMiddleware", "RobotsTxtMiddleware."),
]
# httpx's own transport and httpcore, which our transport calls to send and to read the body.
INNER = ("(httpx/_transports/default.py)", "(httpcore/")


def spy(out: Path, argv: list[str]) -> None:
    """Record *argv* under py-spy into *out* (collapsed stacks, one line per distinct stack)."""
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    subprocess.run(
        [py_spy, "record", "--rate", "1000", "--format", "raw", "--output", str(out), "--", *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def normalise(frame: str) -> str:
    """A frame without its line number and with its path cut to the package."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for cut in ("/site-packages/", str(HERE.parent) + "/"):
        path = path.split(cut)[-1]
    return f"{name} ({path})"


def shares(profile: Path) -> tuple[int, dict[str, int]]:
    """Total samples, and the samples on whose stack each step is."""
    total, found = 0, Counter[str]()
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = [normalise(frame) for frame in stack.split(";")]
        for label, prefix in STEPS:
            at = next((i for i, frame in enumerate(frames) if frame.startswith(prefix)), None)
            if at is None:
                continue
            if prefix == "OptOutTransport.handle" and any(
                part in frame for frame in frames[at:] for part in INNER
            ):
                continue  # the inner transport's HTTP work is httpx's, not ours
            found[label] += samples
    return total, dict(found)


def client_script(mode: str, ports: list[int], seconds: float, count: Path) -> list[str]:
    """A child that fetches client.py's 1,000 pages with one client kind for *seconds*.

    It writes the number of pages it fetched to *count*.
    """
    code = f"""
import sys, time
sys.path.insert(0, {str(HERE)!r})
import httpx
from client import page_urls, run_sync
from scrapy_optout import OptOutClient, Policy
urls, policy, end, rounds = page_urls({ports!r}), Policy(user_agent="BenchBot"), time.time() + {seconds}, 0
while time.time() < end:
    make = (lambda: OptOutClient(policy=policy, timeout=10.0)) if {mode == "optout"} else (
        lambda: httpx.Client(timeout=10.0))
    run_sync(urls, make, {mode == "optout"})
    rounds += 1
open({str(count)!r}, "w").write(str(rounds * len(urls)))
"""
    return [sys.executable, "-c", code]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per client profile")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    results: dict[str, dict[str, object]] = {}
    try:
        runs: list[tuple[str, int, Path]] = []  # name, pages, profile
        with local_site(10) as ports:
            for mode in ("optout", "plain"):
                out, count = folder / f"client-{mode}.txt", folder / f"client-{mode}.count"
                spy(out, client_script(mode, ports, args.seconds, count))
                runs.append((f"client {mode}", int(count.read_text()), out))
        with local_site(20) as ports:
            for variant in ("optout", "robotstxt"):
                out = folder / f"crawl-{variant}.txt"
                log = folder / f"crawl-{variant}.jsonl"
                spy(out, [sys.executable, str(HERE / "crawl.py"), "--crawl", variant,
                          "--ports", json.dumps(ports), "--log", str(log)])  # fmt: skip
                runs.append((f"crawl {variant}", 5_000, out))
        for name, pages, path in runs:
            total, found = shares(path)
            results[name] = {"samples": total, "pages": pages, "steps": found}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for name, figures in results.items():
        total = int(figures["samples"])  # type: ignore[call-overload]
        steps: dict[str, int] = figures["steps"]  # type: ignore[assignment]
        pages = int(figures["pages"])  # type: ignore[call-overload]
        print(f"{name}: {total:,} samples (1 ms each), {1000 * total / pages:,.0f} µs per page")
        for label, _ in STEPS:
            if label in steps:
                print(f"  {100 * steps[label] / total:5.1f} %  {label}")
    path = save("profile", {"profiles": results, "rate_hz": 1000, "cpus": os.cpu_count()})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
