"""A worker's spider: takes start URLs from Redis, follows links on the same host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response
from scrapy_redis.spiders import RedisSpider


class PagesSpider(RedisSpider):
    """Pages of the hosts pushed to ``pages:start_urls``, with the opt-out decision of each."""

    name = "pages"
    redis_key = "pages:start_urls"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """One item per page that passed the opt-out checks, then its links on the same host."""
        decision = response.meta.get("optout_decision")
        yield {"url": response.url, "allowed": bool(decision and decision.allowed)}
        if not hasattr(response, "css"):  # an image or a file: no links
            return
        host = urlsplit(response.url).hostname
        for href in response.css("a::attr(href)").getall():
            url = response.urljoin(href)
            if urlsplit(url).hostname == host:
                yield response.follow(url, callback=self.parse)
