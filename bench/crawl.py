"""Crawl throughput with OptOutMiddleware against plain Scrapy and RobotsTxtMiddleware (issue 4).

The local site of ``bench/localsite.py`` (20 origins of ~5 KB HTML pages, a robots.txt that allows
everything, 404 for ``/.well-known/tdmrep.json`` and ``/ai.txt``, served from a process of its own)
is crawled, 5,000 pages (250 per origin, origins interleaved), by three variants of one spider:

* ``plain``: Scrapy with its defaults and ``ROBOTSTXT_OBEY=False``;
* ``robotstxt``: the same with ``ROBOTSTXT_OBEY=True`` (Scrapy's RobotsTxtMiddleware);
* ``optout``: the same with ``ROBOTSTXT_OBEY=False`` and ``ADDONS = {"scrapy_optout.Addon": 0}``,
  every decision written to a compliance log (the default ``OPTOUT_AUDIT_ALLOWED=True``);
* ``optout_skipsonly``: the same with ``OPTOUT_AUDIT_ALLOWED=False`` (for information).

Each crawl runs in a process of its own (a process has one reactor), on Scrapy's default asyncio
reactor, ``CONCURRENT_REQUESTS=32``; its time is Scrapy's ``elapsed_time_seconds`` (spider open to
close, side documents included). The variants run interleaved for several rounds; each figure is
the best round. Prints pages per second and the ratios optout / plain and optout / robotstxt
(target >= 0.95), and writes ``bench/results/crawl.json``.

Run: ``python bench/crawl.py [--rounds N]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from typing import Any

from localsite import local_site  # bench/localsite.py, beside this file
from record import save

ORIGINS = 20
PAGES_PER_ORIGIN = 250
TARGET = 0.95
COMMON: dict[str, Any] = {
    "USER_AGENT": "BenchBot/1.0 (+https://example.org/bot)",
    "CONCURRENT_REQUESTS": 32,
    "LOG_LEVEL": "ERROR",
    "TELNETCONSOLE_ENABLED": False,
}
VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"ROBOTSTXT_OBEY": False},
    "robotstxt": {"ROBOTSTXT_OBEY": True},
    "optout": {
        "ROBOTSTXT_OBEY": False,
        "ADDONS": {"scrapy_optout.Addon": 0},
        "OPTOUT_USER_AGENT": "BenchBot",
    },
    "optout_skipsonly": {
        "ROBOTSTXT_OBEY": False,
        "ADDONS": {"scrapy_optout.Addon": 0},
        "OPTOUT_USER_AGENT": "BenchBot",
        "OPTOUT_AUDIT_ALLOWED": False,
    },
}


def crawl(variant: str, ports: list[int], log: str) -> int:
    """Child process: crawl the site with one variant, print pages and elapsed seconds."""
    import scrapy
    from scrapy.crawler import AsyncCrawlerProcess

    class Pages(scrapy.Spider):
        name = "pages"
        seen = 0

        async def start(self) -> Any:
            for i in range(ORIGINS * PAGES_PER_ORIGIN):
                yield scrapy.Request(f"http://127.0.0.1:{ports[i % ORIGINS]}/page/{i // ORIGINS}")

        def parse(self, response: Any) -> None:
            Pages.seen += 1

    settings = {**COMMON, **VARIANTS[variant]}
    if variant.startswith("optout"):
        settings["OPTOUT_AUDIT_LOG"] = log
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(Pages)
    process.crawl(crawler)
    before = resource.getrusage(resource.RUSAGE_SELF)
    process.start()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    elapsed = crawler.stats.get_value("elapsed_time_seconds")
    print(json.dumps({"pages": Pages.seen, "elapsed": elapsed, "cpu": cpu}))
    return 0


def run(variant: str, ports: list[int], folder: str, round_: int) -> tuple[float, float]:
    """One crawl in a child process; its pages per second and CPU microseconds per page."""
    log = f"{folder}/audit-{round_}.jsonl"
    done = subprocess.run(
        [sys.executable, __file__, "--crawl", variant, "--ports", json.dumps(ports), "--log", log],
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    pages = ORIGINS * PAGES_PER_ORIGIN
    assert outcome["pages"] == pages, (variant, outcome, done.stderr[-2000:])
    return pages / float(outcome["elapsed"]), 1e6 * float(outcome["cpu"]) / pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--crawl", help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.crawl:
        return crawl(args.crawl, json.loads(args.ports), args.log)
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with local_site(ORIGINS) as ports, tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            for name in VARIANTS:
                rate, micros = run(name, ports, folder, round_)
                runs[name].append(rate)
                cpu[name].append(micros)
    best = {name: max(rates) for name, rates in runs.items()}
    least_cpu = {name: min(values) for name, values in cpu.items()}
    ratios = {
        "optout/plain": best["optout"] / best["plain"],
        "optout/robotstxt": best["optout"] / best["robotstxt"],
    }
    print(
        f"{ORIGINS * PAGES_PER_ORIGIN} pages over {ORIGINS} origins, best of {args.rounds} "
        f"interleaved rounds, CONCURRENT_REQUESTS={COMMON['CONCURRENT_REQUESTS']}"
    )
    print(f"{'variant':<18}{'pages/s':>9}{'CPU us/page':>13}   all rounds (pages/s)")
    for name, rate in best.items():
        rounds = ", ".join(f"{r:,.0f}" for r in runs[name])
        print(f"{name:<18}{rate:>9,.0f}{least_cpu[name]:>13,.0f}   {rounds}")
    for name, ratio in ratios.items():
        verdict = f"  (target >= {TARGET}: {'meets' if ratio >= TARGET else 'MISSES'})"
        print(f"ratio {name:<18}{ratio:>6.3f}{verdict if name == 'optout/robotstxt' else ''}")
    save(
        "crawl",
        {
            "pages": ORIGINS * PAGES_PER_ORIGIN,
            "origins": ORIGINS,
            "rounds": args.rounds,
            "pages_per_second": {name: round(rate, 1) for name, rate in best.items()},
            "all_rounds": {name: [round(r, 1) for r in rates] for name, rates in runs.items()},
            "cpu_us_per_page": {name: round(value, 1) for name, value in least_cpu.items()},
            "ratios": {name: round(ratio, 3) for name, ratio in ratios.items()},
            "target": TARGET,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
