"""A crawl in a process of its own: ``python -m tests.crawl_process SETTINGS_JSON URL...``.

For the reactor modes a test process cannot switch to, a crawl runs as ``scrapy crawl`` runs one.

Runs :class:`tests.crawling.Recorder` over the URLs with the base settings plus the given ones
(a ``_REQUEST_META`` key among them is not a setting but the meta of every start request), in
``AsyncCrawlerProcess`` (or ``CrawlerProcess`` when ``TWISTED_REACTOR`` names a non-asyncio
reactor), and prints one JSON object: the URLs that reached the spider, those of them that came
with an ``optout_decision``, the skipped URLs with their first reason code, the other failures,
the ``optout/*`` and ``playwright/*`` stats, and the start-up error if any.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess, CrawlerProcess

from tests.crawling import BASE_SETTINGS, Recorder


def main(argv: list[str]) -> int:
    """Run the crawl and print its outcome."""
    settings: dict[str, Any] = {**BASE_SETTINGS, **json.loads(argv[0])}
    meta = settings.pop("_REQUEST_META", {})  # not a setting: the meta of every start request
    asyncio_reactor = "asyncio" in str(settings.get("TWISTED_REACTOR", "asyncio"))
    process_class = AsyncCrawlerProcess if asyncio_reactor else CrawlerProcess
    process = process_class(settings)
    crawler = process.create_crawler(Recorder)
    errors: list[str] = []
    running = process.crawl(crawler, batch=[(url, dict(meta)) for url in argv[1:]])
    if hasattr(running, "addErrback"):  # a Deferred (a Twisted reactor)
        running.addErrback(lambda failure: errors.append(f"{failure.type.__name__}: {failure.value}"))
    else:  # an asyncio task (no reactor)

        def done(task: Any) -> None:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                errors.append(f"{type(exc).__name__}: {exc}")

        running.add_done_callback(done)
    process.start()
    spider = crawler.spider
    stats = crawler.stats.get_stats() if crawler.stats else {}
    outcome = {
        "responses": sorted(spider.responses) if spider else [],
        "decided": sorted(u for u, d in spider.responses.items() if d is not None) if spider else [],
        "skipped": {u: d.reasons[0].code for u, d in spider.skipped.items()} if spider else {},
        "failures": sorted(spider.failures) if spider else [],
        "stats": {k: v for k, v in stats.items() if k.startswith(("optout/", "playwright/"))},
        "errors": errors,
    }
    print(json.dumps(outcome))  # noqa: T201 - the test reads it
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
