"""Real Scrapy crawls for the middleware's tests: spiders that record what reached them, and a runner.

Crawls run in the test process on the asyncio reactor (pytest-twisted, ``--reactor=asyncio``);
each test function is an ``async def`` wrapped by :func:`scrapy.utils.defer.deferred_f_from_coro_f`.
A spider records, per URL, the decision that came with a response (``optout_decision`` in its
meta) or the failure its errback got, so tests can say what reached the spider and what did not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from scrapy_optout import Decision, RequestSkipped
from tests.httpsite import AGENT

USER_AGENT = f"{AGENT}/1.0 (+https://example.org/bot)"
BASE_SETTINGS: dict[str, Any] = {
    "ADDONS": {"scrapy_optout.Addon": 0},
    "USER_AGENT": USER_AGENT,
    "ROBOTSTXT_OBEY": False,
    "LOG_LEVEL": "INFO",
    "TELNETCONSOLE_ENABLED": False,
}


class Recorder(Spider):
    """Records what reached it: responses (with their decision) and failures.

    Args:
        steps: ``(url, meta)`` requested one after the other, each from the previous one's
            callback (so a later request has the earlier page as its ``Referer``).
        batch: ``(url, meta)`` requested all at once from ``start``.
    """

    name = "recorder"

    def __init__(
        self,
        steps: Iterable[tuple[str, dict[str, Any]]] = (),
        batch: Iterable[tuple[str, dict[str, Any]]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.steps = list(steps)
        self.batch = list(batch)
        self.responses: dict[str, Decision | None] = {}
        self.skipped: dict[str, Decision] = {}
        self.skip_failures: dict[str, Failure] = {}
        self.failures: dict[str, Failure] = {}

    async def start(self) -> AsyncIterator[Request]:
        """The first step, then the whole batch."""
        if self.steps:
            yield self._request(0)
        for url, meta in self.batch:
            yield Request(url, meta=meta, callback=self.parse, errback=self.failed)

    def _request(self, index: int) -> Request:
        url, meta = self.steps[index]
        return Request(
            url,
            meta={**meta, "step": index},
            callback=self.parse,
            errback=self.failed,
            dont_filter=True,
        )

    def _next(self, meta: dict[str, Any]) -> list[Request]:
        step = meta.get("step")
        if step is None or step + 1 >= len(self.steps):
            return []
        return [self._request(step + 1)]

    def parse(self, response: Response) -> list[Request]:
        """Record a response and its decision; request the next step."""
        self.responses[response.url] = response.meta.get("optout_decision")
        return self._next(response.meta)

    def failed(self, failure: Failure) -> list[Request]:
        """Record a skip (``.decision``) or another failure; request the next step."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(RequestSkipped):
            decision: Decision = failure.value.decision
            self.skipped[decision.url] = decision
            self.skip_failures[decision.url] = failure
        else:
            self.failures[request.url] = failure
        return self._next(request.meta)


async def crawl(settings: dict[str, Any], **spider_kwargs: Any) -> Any:
    """Run one crawl of :class:`Recorder` with the base settings plus *settings*; return it."""
    crawler = get_crawler(Recorder, {**BASE_SETTINGS, **settings})
    await crawler.crawl_async(**spider_kwargs)
    return crawler
