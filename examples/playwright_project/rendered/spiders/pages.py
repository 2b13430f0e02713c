"""Pages of one site, rendered by the browser, with the opt-out decision of each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.http import Response


class PagesSpider(Spider):
    """``scrapy crawl pages -a start=URL``: that page, then its links on the same host."""

    name = "pages"

    def __init__(self, start: str = "https://example.org/", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_url = start

    async def start(self) -> AsyncIterator[Request]:
        """The start page, rendered."""
        yield Request(self.start_url, meta={"playwright": True})

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """One item per page that passed the checks, then its links on the same host, rendered."""
        decision = response.meta.get("optout_decision")
        title = response.css("title::text").get() if hasattr(response, "css") else None
        yield {"url": response.url, "title": title, "allowed": bool(decision and decision.allowed)}
        if not hasattr(response, "css"):
            return
        host = urlsplit(response.url).hostname
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).hostname == host:
                yield response.follow(url, callback=self.parse, meta={"playwright": True})
