"""Memory of the decision cache at 100,000 origins, against Protego parsers of the same files.

Each origin gets what a crawl caches for it: its robots.txt (a real file of the shared corpus,
``../shared/data/robots-corpus``, 4,218 files used in turn), and its tdmrep.json and ai.txt, which
answer 404 as they do on most sites (one origin in ten serves a small tdmrep.json instead). Each
document is parsed as the resolver parses it (``document_from_fetch``) and stored in the resolver's
``MemoryStore`` under its (document, origin) key.

The default store keeps the most recently used documents parsed (4 MiB of their bodies) and the
others as their compressed fetch; it is also measured with every document kept parsed, and the
cost of a lookup is timed for an origin used long ago (parsed again) and a recent one.

Each measurement runs in a fresh process: the process's peak RSS (``ru_maxrss``) after the cache is
filled, and the growth over the same process before filling. The baseline, measured the same way,
is what Scrapy's RobotsTxtMiddleware keeps: one ``Protego`` parser per origin of the same robots.txt
files, in a dict. Target: 100,000 origins cached in at most 200 MB of RSS.

Run: ``.venv-bench/bin/python bench/cache.py``. Writes ``bench/results/cache.json``.
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
from pathlib import Path

from record import save

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/robots-corpus"
ORIGINS = 100_000
TDMREP = b'[{"location": "/research/", "tdm-reservation": 1}]'


def rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bodies() -> list[bytes]:
    """The corpus files' bytes, in name order."""
    return [path.read_bytes() for path in sorted(CORPUS.iterdir())]


def fill_ours(files: list[bytes], hot_bytes: int | None = None) -> object:
    """The resolver's cache after fetching robots.txt, tdmrep.json and ai.txt of ORIGINS origins.

    Each fetch goes through ``DocumentCache.settle``, as in a crawl: parsed, then stored.
    """
    from scrapy_optout import Policy
    from scrapy_optout._core.models import Doc, Fetched, Need
    from scrapy_optout._resolve import DocumentCache
    from scrapy_optout.cache.memory import MemoryStore

    store = MemoryStore(max_origins=ORIGINS) if hot_bytes is None else MemoryStore(
        max_origins=ORIGINS, hot_bytes=hot_bytes)
    cache = DocumentCache(Policy(user_agent="MyAIBot"), store, clock=lambda: 0.0)
    for n in range(ORIGINS):
        origin = f"https://site{n}.example:443"
        answers = [(Doc.ROBOTS, "/robots.txt", 200, files[n % len(files)]),
                   (Doc.TDMREP, "/.well-known/tdmrep.json", 200, TDMREP) if n % 10 == 0
                   else (Doc.TDMREP, "/.well-known/tdmrep.json", 404, b""),
                   (Doc.AI_TXT, "/ai.txt", 404, b"")]  # fmt: skip
        for doc, path, status, body in answers:
            url = origin + path
            cache.settle(Need(doc, url, origin), Fetched(url=url, status=status, body=body))
    if len(store) != ORIGINS:
        raise AssertionError(f"the store holds {len(store)} origins, not {ORIGINS}")
    return store


def fill_protego(files: list[bytes]) -> object:
    """One Protego parser per origin, keyed by netloc, as RobotsTxtMiddleware keeps them."""
    from protego import Protego

    return {f"site{n}.example": Protego.parse(files[n % len(files)].decode("utf-8", "replace"))
            for n in range(ORIGINS)}  # fmt: skip


def measure(which: str) -> dict[str, float]:
    """In this process: fill one cache and report RSS before, after, and the growth."""
    files = bodies()
    import protego  # noqa: F401 - imported before the first reading, for both sides alike

    import scrapy_optout._core.documents  # noqa: F401

    gc.collect()
    before = rss_mb()
    if which == "protego":
        cache = fill_protego(files)
    else:  # "ours": the default store; "ours-parsed": every document kept parsed
        cache = fill_ours(files, None if which == "ours" else 1 << 40)
    gc.collect()
    after = rss_mb()
    figures = {"rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
               "growth_mb": round(after - before, 1)}  # fmt: skip
    if which != "protego":
        figures.update(lookup_us(cache))
    return figures


def lookup_us(store: object) -> dict[str, float]:
    """Cost of a robots.txt lookup: of an origin used long ago (packed) and of a recent one."""
    import random
    import time

    get = store.get  # type: ignore[attr-defined]
    old = [("robots", f"https://site{n}.example:443") for n in random.Random(0).sample(
        range(ORIGINS // 2), 5_000)]  # fmt: skip
    recent = [("robots", f"https://site{n}.example:443") for n in range(ORIGINS - 50, ORIGINS)]
    start = time.perf_counter()
    for key in old:
        if get(key, 1.0) is None:
            raise AssertionError(f"{key} is not cached")
    cold = (time.perf_counter() - start) / len(old) * 1e6
    start = time.perf_counter()
    for _ in range(100):
        for key in recent:
            get(key, 1.0)
    warm = (time.perf_counter() - start) / (100 * len(recent)) * 1e6
    return {"lookup_long_ago_us": round(cold, 2), "lookup_recent_us": round(warm, 3)}


def main() -> int:
    if len(sys.argv) == 2:  # a child: one measurement, printed as JSON
        print(json.dumps(measure(sys.argv[1])))
        return 0
    if not CORPUS.is_dir():
        print(f"corpus not found: {CORPUS}", file=sys.stderr)
        return 2
    figures: dict[str, dict[str, float]] = {}
    for which in ("ours", "ours-parsed", "protego"):
        out = subprocess.run([sys.executable, __file__, which], capture_output=True, text=True,
                             check=True, cwd=Path(__file__).parent)  # fmt: skip
        figures[which] = json.loads(out.stdout)
    ours, parsed, theirs = figures["ours"], figures["ours-parsed"], figures["protego"]
    ratio = ours["growth_mb"] / theirs["growth_mb"]
    print(f"{ORIGINS:,} origins, robots.txt from {len(list(CORPUS.iterdir())):,} real files, "
          "tdmrep.json and ai.txt mostly 404")
    print(f"  scrapy_optout MemoryStore: RSS {ours['rss_after_mb']} MB "
          f"(+{ours['growth_mb']} MB for the cache)")
    print(f"  the same, every document kept parsed: RSS {parsed['rss_after_mb']} MB "
          f"(+{parsed['growth_mb']} MB)")
    print(f"  robots.txt lookup of an origin used long ago: {ours['lookup_long_ago_us']} µs "
          f"(parsed again), of a recent one: {ours['lookup_recent_us']} µs; all parsed: "
          f"{parsed['lookup_long_ago_us']} µs")
    print(f"  Protego per origin:        RSS {theirs['rss_after_mb']} MB "
          f"(+{theirs['growth_mb']} MB)")
    print(f"  cache growth ratio ours / Protego: {ratio:.2f}; target RSS <= 200 MB: "
          f"{'holds' if ours['rss_after_mb'] <= 200 else 'misses'}")
    path = save("cache", {"origins": ORIGINS, "ours": ours, "ours_parsed": parsed,
                          "protego": theirs,
                          "growth_ratio": round(ratio, 3)})  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
