"""A spider that follows the links and images of one site and yields what it may collect."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from scrapy_optout import RequestSkipped


class PagesSpider(scrapy.Spider):
    """``scrapy crawl pages -a start=URL``: every page and image of that site the policy allows.

    Pages and images that creators reserved never reach ``parse``: the errback sees them as a
    ``RequestSkipped`` whose ``.decision`` says why, and the compliance log keeps the evidence.
    """

    name = "pages"

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not start:
            raise ValueError("start: give the site to crawl, as -a start=https://example.org/")
        self.start_url = start
        self.allowed_host = urlsplit(start).netloc

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The start page."""
        yield scrapy.Request(self.start_url, errback=self.skipped)

    def parse(self, response: Response) -> Iterator[Any]:
        """Yield the page as an item, then follow its links and images on the same site."""
        decision = response.meta["optout_decision"]  # set on every response that passes
        kind = "image" if response.headers.get(b"Content-Type", b"").startswith(b"image/") else "page"
        yield {"url": response.url, "kind": kind, "bytes": len(response.body),
               "action": decision.action}  # fmt: skip
        if kind == "page":
            for href in response.css("a::attr(href), img::attr(src)").getall():
                url = response.urljoin(href)
                if urlsplit(url).netloc == self.allowed_host:
                    yield scrapy.Request(url, errback=self.skipped)

    def skipped(self, failure: Failure) -> None:
        """Say why a page or image was not collected."""
        if failure.check(RequestSkipped):
            decision = failure.value.decision
            reason = decision.reasons[0]
            self.logger.info("not collected: %s (%s, %s stage)", decision.url, reason.code,
                             decision.stage)  # fmt: skip
        else:
            self.logger.warning("failed: %s", failure.getErrorMessage())
