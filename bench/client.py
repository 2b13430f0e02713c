"""Throughput of OptOutClient against plain httpx on a local site (issue 3), in one run.

The local site of ``bench/localsite.py`` (10 origins of ~5 KB HTML pages, a robots.txt that allows
everything, 404 for ``/.well-known/tdmrep.json`` and ``/ai.txt``, served from a process of its own).
1,000 pages (100 per origin, origins interleaved) are fetched with:

* ``plain_sync``: ``httpx.Client``;
* ``optout_sync``: ``OptOutClient`` with the same settings (a fresh client each run, so the
  robots.txt, tdmrep.json and ai.txt fetches of every origin are inside the timing);
* ``optout_sync_log``: the same, writing every decision to a compliance log (for information);
* ``plain_async`` / ``optout_async``: ``httpx.AsyncClient`` / ``AsyncOptOutClient``, 20 requests at
  a time (``asyncio.Semaphore``).

The variants run interleaved for several rounds after a warm-up round; each figure is the best round
(the others measure the machine's other work). Prints pages per second and the ratio ours / plain
(target >= 0.9) and writes ``bench/results/client.json``.

Run: ``python bench/client.py [--rounds N]`` (``make bench`` runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable

import httpx
from localsite import PAGE, local_site  # bench/localsite.py, beside this file
from record import save

from scrapy_optout import AsyncOptOutClient, OptOutClient, Policy

ORIGINS = 10
PAGES_PER_ORIGIN = 100
CONCURRENCY = 20
TARGET = 0.9


def page_urls(ports: list[int]) -> list[str]:
    """1,000 page URLs, origins interleaved as a crawl frontier would have them."""
    return [
        f"http://127.0.0.1:{ports[i % ORIGINS]}/page/{i // ORIGINS}"
        for i in range(ORIGINS * PAGES_PER_ORIGIN)
    ]


def check(response: httpx.Response, ours: bool) -> None:
    assert response.status_code == 200, response.status_code
    assert len(response.content) == len(PAGE)
    if ours:
        assert response.extensions["optout"].allowed


def run_sync(urls: list[str], make: Callable[[], httpx.Client], ours: bool) -> float:
    start = time.perf_counter()
    with make() as client:
        for url in urls:
            check(client.get(url), ours)
    return len(urls) / (time.perf_counter() - start)


def run_async(urls: list[str], make: Callable[[], httpx.AsyncClient], ours: bool) -> float:
    async def crawl() -> float:
        gate = asyncio.Semaphore(CONCURRENCY)
        start = time.perf_counter()
        async with make() as client:

            async def one(url: str) -> None:
                async with gate:
                    check(await client.get(url), ours)

            await asyncio.gather(*(one(url) for url in urls))
        return len(urls) / (time.perf_counter() - start)

    return asyncio.run(crawl())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="bench-client-")
    with local_site(ORIGINS) as ports, contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        urls = page_urls(ports)
        policy = Policy(user_agent="BenchBot")
        settings = {"timeout": 10.0}
        logged = 0

        def with_log() -> httpx.Client:
            nonlocal logged
            logged += 1
            log_policy = Policy(user_agent="BenchBot", audit_log=f"{folder}/audit-{logged}.jsonl")
            return OptOutClient(policy=log_policy, **settings)

        variants: dict[str, Callable[[], float]] = {
            "plain_sync": lambda: run_sync(urls, lambda: httpx.Client(**settings), False),
            "optout_sync": lambda: run_sync(
                urls, lambda: OptOutClient(policy=policy, **settings), True
            ),
            "optout_sync_log": lambda: run_sync(urls, with_log, True),
            "plain_async": lambda: run_async(urls, lambda: httpx.AsyncClient(**settings), False),
            "optout_async": lambda: run_async(
                urls, lambda: AsyncOptOutClient(policy=policy, **settings), True
            ),
        }
        runs: dict[str, list[float]] = {name: [] for name in variants}
        for round_ in range(args.rounds + 1):
            for name, variant in variants.items():
                rate = variant()
                if round_:  # round 0 warms up imports, sockets and caches
                    runs[name].append(rate)
    best = {name: max(rates) for name, rates in runs.items()}
    ratios = {
        "sync": best["optout_sync"] / best["plain_sync"],
        "sync_with_log": best["optout_sync_log"] / best["plain_sync"],
        "async": best["optout_async"] / best["plain_async"],
    }
    print(
        f"{len(urls)} pages over {ORIGINS} origins, ~{len(PAGE) // 1024} KB each, "
        f"best of {args.rounds} interleaved rounds; async concurrency {CONCURRENCY}"
    )
    print(f"{'variant':<20}{'pages/s':>10}")
    for name, rate in best.items():
        print(f"{name:<20}{rate:>10,.0f}")
    # What the ratio hides: the time each page costs us on top of plain httpx (checks, head scan,
    # origin documents), which matters most where plain fetches are fastest (a local site).
    overhead = {
        "sync": 1e6 / best["optout_sync"] - 1e6 / best["plain_sync"],
        "async": 1e6 / best["optout_async"] - 1e6 / best["plain_async"],
    }
    for name, micros in overhead.items():
        print(f"added time per page {name:<13}{micros:>6.0f} us")
    for name, ratio in ratios.items():
        verdict = (
            ""
            if name == "sync_with_log"
            else ("  meets" if ratio >= TARGET else "  MISSES") + f" target >= {TARGET}"
        )
        print(f"ratio ours / plain {name:<14}{ratio:>6.3f}{verdict}")
    save(
        "client",
        {
            "httpx": httpx.__version__,
            "pages": len(urls),
            "origins": ORIGINS,
            "page_bytes": len(PAGE),
            "async_concurrency": CONCURRENCY,
            "rounds": args.rounds,
            "pages_per_second": {name: round(rate, 1) for name, rate in best.items()},
            "all_rounds": {name: [round(r, 1) for r in rates] for name, rates in runs.items()},
            "ratios": {name: round(ratio, 3) for name, ratio in ratios.items()},
            "added_us_per_page": {name: round(micros, 1) for name, micros in overhead.items()},
            "target": TARGET,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
