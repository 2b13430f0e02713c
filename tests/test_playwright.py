"""_playwright.py: real crawls with scrapy-playwright and Debian's headless Chromium (issue 12).

The crawl runs in a process of its own (``tests/crawl_process.py``, the whole process group killed
afterwards) with http(s) routed through scrapy-playwright and every start request rendered
(``playwright=True``). Chromium is launched as chromium.md says (``tests/browser.py``), so that it
talks only to 127.0.0.1. What the browser asked for is read from each origin's request log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout._core.models import Decision
from scrapy_optout._playwright import BrowserLoads
from scrapy_optout.audit import read, verify
from tests.browser import playwright_settings, require_chromium, sink
from tests.crawling import USER_AGENT
from tests.httpsite import DISALLOW_PRIVATE, Site, html, json_doc, page, redirect, text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
INSERT_META = (
    "<script>var m = document.createElement('meta'); m.name = 'robots'; m.content = '{}';"
    " document.head.appendChild(m);</script>"
)


async def project_init(page: Any, request: Any) -> None:
    """A project's own page init callback: marks the page, which its script then reports."""
    await page.add_init_script("window.__project = 'yes'")


def image(path: str) -> str:
    """An ``<img>`` of *path*."""
    return f'<img src="{path}">'


@pytest.fixture
def web(sites: Callable[[], Site]) -> tuple[Site, Site]:
    """A site of rendered pages with images, and another origin whose robots.txt disallows all."""
    site, other = sites(), sites()
    other.serve("/robots.txt", text("User-agent: *\nDisallow: /\n"))
    other.serve("/pic.png", page(body=PNG, content_type="image/png"))
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/.well-known/tdmrep.json", json_doc('[{"location":"/reserved/","tdm-reservation":1}]'))
    beacon = ("<script>fetch('/beacon/' + (window.__project || 'none'))</script>"
              '<script src="/private/s.js"></script>')  # a script robots.txt disallows
    images = image("/img/a.png") + image("/private/b.png") + image("/reserved/d.png")
    site.serve("/ok", page(body=html(body=images + image(other.url("/pic.png")) + beacon)))
    site.serve("/art", page(body=html('<meta name="robots" content="noimageai">', image("/img/art.png"))))
    site.serve("/hdr", page(("X-Robots-Tag", "noimageai"), body=html(body=image("/img/hdr.png"))))
    site.serve("/js", page(body=html(INSERT_META.format("noai"))))
    site.serve("/jsimg", page(body=html(INSERT_META.format("noimageai"), image("/img/jsimg.png"))))
    site.serve("/private/x", page())
    site.serve("/hop", redirect("/private/y", 302))  # followed by the browser, not by Scrapy
    site.serve("/private/y", page())
    for path in ("/img/a.png", "/private/b.png", "/reserved/d.png", "/img/art.png", "/img/hdr.png",
                 "/img/jsimg.png"):  # fmt: skip
        site.serve(path, page(body=PNG, content_type="image/png"))
    site.serve("/beacon/yes", text("ok"))
    site.serve("/private/s.js", text("window.loaded = 1"))
    return site, other


def browser_crawl(urls: list[str], log: Path, **settings: Any) -> dict[str, Any]:
    """Crawl *urls* rendered by Chromium in a process of its own; its outcome."""
    require_chromium()
    with sink() as port:
        own = {**playwright_settings(port), "OPTOUT_AUDIT_LOG": str(log),
               "_REQUEST_META": {"playwright": True,
                                 "playwright_page_init_callback": f"{__name__}.project_init"},
               **settings}  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.crawl_process", json.dumps(own), *urls],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            out, err = process.communicate(timeout=180)
        finally:  # the browser and its helpers too, even after a clean exit or a timeout
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err[-3000:]
    outcome: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert outcome["errors"] == [], outcome
    return outcome


def test_a_browser_crawl_fetches_nothing_reserved_and_logs_every_block(
    web: tuple[Site, Site], tmp_path: Path
) -> None:
    """Pages, JS-inserted meta and the images a page loads are all checked; blocks are on record."""
    site, other = web
    log = tmp_path / "audit.jsonl"
    pages = ["/ok", "/art", "/hdr", "/js", "/jsimg", "/private/x", "/hop"]
    outcome = browser_crawl([site.url(p) for p in pages], log)
    assert site.count("/private/x") == 0  # decided before the browser navigates
    # The hops of a redirect the browser follows are not routed: the page it lands on is fetched,
    # then decided on its own URL's signals, so it never reaches the spider.
    assert site.count("/private/y") == 1
    assert outcome["skipped"] == {site.url("/private/x"): "robots_disallow",
                                  site.url("/js"): "noai_meta",
                                  site.url("/private/y"): "robots_disallow"}  # fmt: skip
    assert outcome["decided"] == sorted(site.url(p) for p in ("/ok", "/art", "/hdr", "/jsimg"))
    assert site.count("/img/a.png") == 1  # an allowed image loads, with our User-Agent
    for path in ("/private/b.png", "/reserved/d.png", "/img/art.png", "/img/hdr.png",
                 "/img/jsimg.png", "/private/s.js"):  # fmt: skip
        assert site.count(path) == 0, path
    assert other.count("/pic.png") == 0
    assert site.count("/beacon/yes") == 1  # the project's init callback ran, and fetch() went on
    assert {agent for _, agent in site.hits} == {USER_AGENT}  # the crawler's, never the browser's
    pages_skipped = (site.url("/private/x"), site.url("/js"), site.url("/private/y"))
    blocked = {r["url"]: r["reasons"][0]["code"] for r in read(log) if r["action"] == "skip"
               and r["url"] not in pages_skipped}  # fmt: skip
    assert blocked == {site.url("/private/b.png"): "robots_disallow",
                       site.url("/reserved/d.png"): "tdmrep_file",
                       site.url("/img/art.png"): "noimageai", site.url("/img/hdr.png"): "noimageai",
                       site.url("/img/jsimg.png"): "noimageai",
                       other.url("/pic.png"): "robots_disallow",
                       site.url("/private/s.js"): "robots_disallow"}  # fmt: skip
    assert all(r["stage"] == "request" for r in read(log) if r["url"] in blocked)
    assert verify(log).ok
    stats = outcome["stats"]
    assert stats["optout/browser/blocked"] == len(blocked)
    assert stats["playwright/page_count"] == 6  # side documents opened no page
    assert site.count("/robots.txt") == 1
    assert other.count("/robots.txt") == 1


class FakeRoute:
    """A route whose request is an image of another page: records what was done with it."""

    def __init__(self) -> None:
        self.request = self
        self.url = "http://127.0.0.1:9/img.png"
        self.resource_type = "image"
        self.frame = None
        self.done: list[str] = []

    def is_navigation_request(self) -> bool:
        return False

    async def fallback(self) -> None:
        self.done.append("fallback")

    async def abort(self, reason: str = "") -> None:
        self.done.append(f"abort {reason}")


def test_a_check_that_fails_aborts_the_load() -> None:
    """An exception while deciding never lets the browser's load through."""
    loads = BrowserLoads(None, None, lambda d, r: None, lambda s: None)  # type: ignore[arg-type]

    async def broken(*args: Any) -> Decision:
        raise RuntimeError("resolver down")

    loads.check = broken  # type: ignore[method-assign]
    route = FakeRoute()

    class Known:
        navigated = True  # past the page's own navigation: this load is checked

    asyncio.run(loads._decide(route, Known(), None))  # type: ignore[arg-type]
    assert route.done == ["abort blockedbyclient"]
