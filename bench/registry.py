"""The registry at scale: 1,000,000 entries built, looked up locally and over HTTP (issue 6).

Phases, each in a process of its own reporting its time and peak RSS:

* ``build``: ``registry.local.build`` of a 1,000,000-entry CSV (4 in 10 domains, 1 host, 3 URL
  prefixes, 2 exact URLs, over 1,000,000 registrable domains): seconds, entries/s, file size;
* ``lookup``: ``LocalRegistry.lookup`` of 100,000 URLs (a third under a registered domain, a third
  under a registered prefix, a third nowhere), µs per lookup; baseline in the same process: one
  indexed ``SELECT`` of the URL's exact key, the least a lookup in that file does;
* ``http`` and ``http-hashed``: ``HttpRegistry.alookup`` of 20,000 distinct URLs at once against the
  reference service (``scrapy-optout registry serve``, a subprocess on 127.0.0.1), batched by the
  client; baseline: the same URLs POSTed by plain httpx in batches of 1,000 to ``/v1/lookup``.

Target: a local lookup at 1,000,000 entries in <= 20 µs.

Run: ``python bench/registry.py [--entries N]`` (``make bench`` runs it). Writes
``bench/results/registry.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from record import save  # bench/record.py, beside this file

TARGET_US = 20.0
LOOKUPS = 100_000
HTTP_LOOKUPS = 20_000


def write_entries(path: Path, count: int) -> None:
    """A CSV input of *count* entries, one per registrable domain ``site<i>.example``."""
    with path.open("w", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(["scope", "value", "purposes", "registered", "source"])
        for i in range(count):
            kind = i % 10
            if kind < 4:
                row = ["domain", f"site{i}.example", "", "2026-01-01", "bench"]
            elif kind == 4:
                row = ["host", f"www.site{i}.example", "train-ai", "", ""]
            elif kind < 8:
                row = ["prefix", f"https://site{i}.example/archive/{i % 7}/", "train-ai;tdm", "", ""]
            else:
                row = ["url", f"https://site{i}.example/page/{i}.html", "", "", ""]
            out.writerow(row)


def urls(count: int, entries: int, seed: int = 7) -> list[str]:
    """*count* URLs to ask about: under registered domains, under prefixes, and unregistered."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        i = rng.randrange(entries)
        if n % 3 == 0:
            i -= i % 10  # a domain entry
            out.append(f"https://cdn.site{i}.example/img/{n}.jpg")
        elif n % 3 == 1:
            i = i - i % 10 + 5  # a prefix entry
            out.append(f"https://site{i}.example/archive/{i % 7}/2024/{n}/story.html")
        else:
            out.append(f"https://other{i}.test/section/{n}/page.html?q={n}")
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def phase_build(folder: Path, entries: int) -> dict[str, Any]:
    """Compile the CSV into the SQLite file."""
    from scrapy_optout.registry.local import build

    start = time.perf_counter()
    count = build([folder / "entries.csv"], folder / "registry.sqlite")
    seconds = time.perf_counter() - start
    assert count == entries, count
    size = (folder / "registry.sqlite").stat().st_size
    return {
        "seconds": round(seconds, 2),
        "entries_per_second": round(entries / seconds),
        "file_mb": round(size / 1024 / 1024, 1),
        "csv_mb": round((folder / "entries.csv").stat().st_size / 1024 / 1024, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def phase_lookup(folder: Path, entries: int) -> dict[str, Any]:
    """Local lookups, and the one-query baseline on the same file."""
    from scrapy_optout.registry import LocalRegistry
    from scrapy_optout.registry.entries import canonical_url

    asked = urls(LOOKUPS, entries)
    registry = LocalRegistry(folder / "registry.sqlite")
    for url in asked[:2000]:  # warm the page cache, as a crawl's first minutes do
        registry.lookup(url)
    start = time.perf_counter()
    found = sum(1 for url in asked if registry.lookup(url).entries)  # type: ignore[union-attr]
    ours = (time.perf_counter() - start) / len(asked) * 1e6
    db = sqlite3.connect(f"file:{folder / 'registry.sqlite'}?mode=ro", uri=True)
    keys = ["u:" + canonical_url(url) for url in asked]
    start = time.perf_counter()
    for key in keys:
        db.execute("SELECT * FROM entries WHERE key = ?", (key,)).fetchall()
    baseline = (time.perf_counter() - start) / len(asked) * 1e6
    registry.close()
    # Two thirds of the URLs fall under an entry (a domain or a prefix), a third under none.
    assert abs(found / len(asked) - 2 / 3) < 0.01, found
    return {
        "us_per_lookup": round(ours, 2),
        "lookups_per_second": round(1e6 / ours),
        "baseline_us": round(baseline, 2),
        "found": found,
        "peak_rss_mb": round(_rss_mb(), 1),
    }


class Service:
    """``scrapy-optout registry serve`` on a free port of 127.0.0.1, for the HTTP phases."""

    def __init__(self, registry: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapy_optout.cli", "registry", "serve", str(registry),
             "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not found:
            self.process.kill()
            raise SystemExit(f"the registry service did not start: {line!r}")
        self.root = found.group(0)

    def stop(self) -> None:
        """Stop the service."""
        self.process.terminate()
        self.process.wait(10)


async def _client_rate(root: str, asked: list[str], hashed: bool) -> tuple[float, int]:
    from scrapy_optout.registry import HttpRegistry

    registry = HttpRegistry(root, hashed=hashed, user_agent="BenchBot")
    start = time.perf_counter()
    answers = await asyncio.gather(*(registry.alookup(url, 60.0) for url in asked))
    seconds = time.perf_counter() - start
    await registry.aclose()
    assert all(a is not None for a in answers), "the service failed to answer"
    return len(asked) / seconds, sum(1 for a in answers if a and a.entries)


async def _raw_rate(root: str, asked: list[str]) -> float:
    import httpx

    async with httpx.AsyncClient(timeout=60.0) as client:
        start = time.perf_counter()

        async def post(batch: list[str]) -> None:
            answer = await client.post(root + "/v1/lookup", json={"urls": batch})
            answer.raise_for_status()
            answer.json()

        await asyncio.gather(*(post(asked[i : i + 1000]) for i in range(0, len(asked), 1000)))
        return len(asked) / (time.perf_counter() - start)


def phase_http(folder: Path, entries: int, hashed: bool) -> dict[str, Any]:
    """Batched lookups through HttpRegistry against the reference service, and raw POSTs."""
    asked = urls(HTTP_LOOKUPS, entries, seed=11)
    service = Service(folder / "registry.sqlite")
    try:
        raw = asyncio.run(_raw_rate(service.root, asked))  # also warms the service's page cache
        ours, found = asyncio.run(_client_rate(service.root, asked, hashed))
    finally:
        service.stop()
    assert abs(found / len(asked) - 2 / 3) < 0.02, found
    return {
        "lookups_per_second": round(ours),
        "baseline_per_second": round(raw),
        "ratio": round(ours / raw, 3),
        "peak_rss_mb": round(_rss_mb(), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        folder = Path(args.folder)
        if args.phase == "build":
            result = phase_build(folder, args.entries)
        elif args.phase == "lookup":
            result = phase_lookup(folder, args.entries)
        else:
            result = phase_http(folder, args.entries, hashed=args.phase == "http-hashed")
        print(json.dumps(result))
        return 0
    figures: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_entries(folder / "entries.csv", args.entries)
        for phase in ("build", "lookup", "http", "http-hashed"):
            done = subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--folder", name,
                 "--entries", str(args.entries)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            figures[phase] = json.loads(done.stdout.strip().splitlines()[-1])
    b, lk = figures["build"], figures["lookup"]
    print(f"{args.entries:,} entries")
    print(
        f"build    {b['seconds']:8.2f} s  {b['entries_per_second']:>9,} entries/s  "
        f"file {b['file_mb']} MB (CSV {b['csv_mb']} MB)  peak RSS {b['peak_rss_mb']:.0f} MB"
    )
    verdict = "holds" if lk["us_per_lookup"] <= TARGET_US else "MISSES"
    print(
        f"lookup   {lk['us_per_lookup']:8.2f} µs {lk['lookups_per_second']:>9,} lookups/s  "
        f"one-query baseline {lk['baseline_us']} µs "
        f"(ratio {lk['us_per_lookup'] / lk['baseline_us']:.1f}×)  peak RSS {lk['peak_rss_mb']:.0f} MB"
        f"   target <= {TARGET_US:.0f} µs: {verdict}"
    )
    for phase in ("http", "http-hashed"):
        h = figures[phase]
        print(
            f"{phase:<12} {h['lookups_per_second']:>9,} lookups/s  raw httpx batches "
            f"{h['baseline_per_second']:,}/s  ratio {h['ratio']:.2f}  peak RSS {h['peak_rss_mb']:.0f} MB"
        )
    save("registry", {"entries": args.entries, "phases": figures, "target_us": TARGET_US})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
