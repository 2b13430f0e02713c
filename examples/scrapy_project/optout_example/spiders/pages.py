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
    """``scrapy crawl pages -a start=URL``: every page, image and file of that site the policy allows.

    The site is the start URL's host name, on any port (as Scrapy's ``allowed_domains`` reads it).
    Pages, images and files that creators reserved never reach ``parse``: the errback sees them as
    a ``RequestSkipped`` whose ``.decision`` says why, and the compliance log keeps the evidence.
    """

    name = "pages"

    def __init__(self, start: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not start:
            raise ValueError("start: give the site to crawl, as -a start=https://example.org/")
        self.start_url = start
        self.site = urlsplit(start).hostname

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """The start page."""
        yield scrapy.Request(self.start_url, errback=self.skipped)

    def parse(self, response: Response) -> Iterator[Any]:
        """Yield what was collected as an item, then follow a page's links and images."""
        decision = response.meta["optout_decision"]  # set on every response that passes
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        kind = "page" if content_type.startswith("text/html") else "file"
        if content_type.startswith("image/"):
            kind = "image"
        yield {"url": response.url, "kind": kind, "bytes": len(response.body),
               "action": decision.action}  # fmt: skip
        if kind == "page":
            for href in response.css("a::attr(href), img::attr(src)").getall():
                url = response.urljoin(href)
                if urlsplit(url).hostname == self.site:
                    yield scrapy.Request(url, errback=self.skipped)

    def skipped(self, failure: Failure) -> None:
        """Say why a page, image or file was not collected."""
        if failure.check(RequestSkipped):
            decision = failure.value.decision
            reason = decision.reasons[0]
            self.logger.info("not collected: %s (%s, %s stage)", decision.url, reason.code,
                             decision.stage)  # fmt: skip
        else:
            self.logger.warning("failed: %s", failure.getErrorMessage())
