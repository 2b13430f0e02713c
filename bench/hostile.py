"""Hostile documents (issue 11 part A): time and tracemalloc peak of each attack, through the core.

Run with ``.venv/bin/python bench/hostile.py`` (no network: each document is handed to the core as
the fetch layer would hand it over, cut at its cap: robots.txt at 500 KiB, tdmrep.json at 2 MiB).
Prints, per attack, the decision, the first error recorded, the wall time of one run and the
``tracemalloc`` peak, so that the bounds in docs/robustness.md can be reproduced. The baseline is
an ordinary document of the same kind in the same run (a 3-line robots.txt, a 3-rule tdmrep.json,
10 ordinary headers, a 30 KB page). Writes ``bench/results/hostile.json``. Nothing is asserted.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from record import save  # bench/record.py, beside this file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.hostile: the attacks

from scrapy_optout import Decision, Policy, evaluate_response
from scrapy_optout._core.documents import Document, document_from_fetch
from scrapy_optout._core.engine import check_request
from scrapy_optout._core.models import Doc, Fetched, Need
from scrapy_optout._drive import drive
from scrapy_optout._fetch import CAPS
from tests import hostile as h

POLICY = Policy(user_agent="MyAIBot")
ORIGIN = "https://example.org"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def side(doc: str, body: bytes) -> Fetched:
    """*body* as the fetch layer hands it over: cut at the document's cap, ``too_large`` if cut."""
    cap = CAPS[doc]
    return Fetched(
        url="", status=200, body=body[:cap], error="too_large" if len(body) > cap else None
    )


def request(path: str, **docs: Fetched) -> Callable[[], Decision]:
    """A request-stage decision for *path* with these side documents (others 404), parsed fresh."""

    def run() -> Decision:
        def resolve(need: Need) -> Document:
            got = docs.get(need.doc)
            fetched = Fetched(need.url, 404) if got is None else replace(got, url=need.url)
            return document_from_fetch(need.doc, fetched)

        return drive(check_request(ORIGIN + path, POLICY), resolve)

    return run


def response(headers: object, body: bytes = b"") -> Callable[[], Decision]:
    """A response-stage decision on these headers and body."""
    return lambda: evaluate_response(ORIGIN + "/page", 200, headers, body, POLICY)


def attacks() -> dict[str, Callable[[], Decision]]:
    """Every attack (and its baseline), built before anything is measured."""
    page = h.many_metas(count=0, noai_at=0)
    return {
        "baseline: robots.txt, 3 lines": request("/private", robots=side(Doc.ROBOTS, h.PRIVATE)),
        "robots.txt 10 MB": request("/private", robots=side(Doc.ROBOTS, b"".join(h.robots_10mb()))),
        "robots.txt 100,000 rules": request("/p5/", robots=side(Doc.ROBOTS, h.robots_rules())),
        "robots.txt /*a*a*a... (10,000 pieces)": request(
            "/" + "a" * 10_000 + "b", robots=side(Doc.ROBOTS, h.robots_wildcard())
        ),
        "robots.txt invalid UTF-8": request(
            "/private", robots=side(Doc.ROBOTS, h.robots_invalid_utf8())
        ),
        "robots.txt NUL bytes (UTF-16LE, no BOM)": request(
            "/private", robots=side(Doc.ROBOTS, h.robots_nul())
        ),
        "robots.txt CR-only, 1 MB": request(
            "/private", robots=side(Doc.ROBOTS, h.robots_cr_only())
        ),
        "baseline: tdmrep.json, 1 rule": request(
            "/private/a", tdmrep=side(Doc.TDMREP, h.tdmrep_many(0))
        ),
        "tdmrep.json 1,000,000 deep": request("/page", tdmrep=side(Doc.TDMREP, h.tdmrep_deep())),
        "tdmrep.json 45,000 rules (1.8 MB)": request(
            "/r44000/", tdmrep=side(Doc.TDMREP, h.tdmrep_many())
        ),
        "tdmrep.json 2 MB of {}": request("/page", tdmrep=side(Doc.TDMREP, h.tdmrep_objects())),
        "tdmrep.json 10 MB (over the cap)": request(
            "/page", tdmrep=side(Doc.TDMREP, h.tdmrep_objects(10_000_000))
        ),
        "tdmrep.json wrong types": request("/page", tdmrep=side(Doc.TDMREP, h.TDMREP_WRONG_TYPES)),
        "tdmrep.json duplicate keys": request(
            "/page", tdmrep=side(Doc.TDMREP, h.TDMREP_DUPLICATE_RELEASE)
        ),
        "baseline: 10 headers": response({**HTML, "X-Robots-Tag": "noindex"}),
        "headers 1 MB (1,000 fields of 1 KB)": response(h.megabyte_of_fields()),
        "headers one 1 MB X-Robots-Tag value": response(h.megabyte_value()),
        "headers 20,000 X-Robots-Tag lines": response(h.robots_tag_lines(20_000)),
        "headers 1,000,000 empty X-Robots-Tag lines": response(h.robots_tag_lines(1_000_000, "")),
        "baseline: HTML head, 1 meta": response(HTML, page),
        "HTML endless head (50 MB)": response(HTML, b"".join(h.endless_head())),
        "HTML 100,000 metas, noai at #2,000": response(HTML, h.many_metas()),
        **{
            f"HTML {name}": response({"Content-Type": content_type}, body)
            for name, (content_type, body) in h.broken_encodings().items()
        },
    }


def measure(run: Callable[[], Decision]) -> tuple[Decision, float, int]:
    """Its decision, the wall seconds of one run, and the tracemalloc peak (bytes) of another.

    Timed untraced (tracemalloc slows allocation-heavy code down by 2x or more), after a warm-up.
    """
    run()  # warm: imports, compiled patterns, caches
    start = time.perf_counter()
    decision = run()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return decision, seconds, peak


def main() -> int:
    """Run every attack once and print the table."""
    results: dict[str, object] = {}
    print(f"{'attack':<44}{'decision':<28}{'ms':>9}{'peak MiB':>10}  first error")
    for name, run in attacks().items():
        decision, seconds, peak = measure(run)
        code = decision.reasons[0].code if decision.reasons else ""
        outcome = f"{decision.action} {code}".strip()
        error = decision.errors[0][:60] if decision.errors else ""
        print(f"{name:<44}{outcome:<28}{seconds * 1e3:>9.1f}{peak / 2**20:>10.2f}  {error}")
        results[name] = {
            "decision": outcome,
            "errors": list(decision.errors[:3]),
            "ms": round(seconds * 1e3, 2),
            "peak_mib": round(peak / 2**20, 2),
        }
    save("hostile", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
