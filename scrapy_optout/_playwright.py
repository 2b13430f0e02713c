"""Browser crawls under scrapy-playwright: the page's own loads checked too (issue 12).

With ``DOWNLOAD_HANDLERS`` routing http(s) through scrapy-playwright, a request whose meta has
``playwright=True`` is rendered by a browser. :class:`OptOutMiddleware` needs nothing new for the
page itself: its request stage runs before the handler, so the browser never navigates to a
reserved page; its response stage reads the final response's headers and the *rendered* HTML
(scrapy-playwright's body is ``page.content()``), so meta tags that JavaScript inserted count; and
side documents, which carry no ``playwright`` meta, go through Scrapy's plain HTTP handler (no
page is opened for a robots.txt).

What the browser loads by itself (images, scripts, styles, frames) never passes through Scrapy.
For those, :meth:`BrowserLoads.install` sets ``playwright_page_init_callback`` (wrapping one the
request already has): before navigating, a ``page.route`` handler asks the middleware about every
http(s) load but the navigation Scrapy asked for (already checked), so navigations
that a script starts are checked too (the hops of a redirect the browser follows are not routed:
the page it lands on is checked by :meth:`BrowserLoads.landed` when its response comes, so a
reserved one never reaches the spider). A load the rules reserve is aborted, so
the browser never requests it, and is logged as a request-stage skip; the others go on with
``route.fallback()`` (not
``continue_()``), so that scrapy-playwright's own handler still sends our User-Agent and headers
(integration.md; a downloader middleware cannot change ``PLAYWRIGHT_ABORT_REQUEST``: settings are
frozen). An image is checked against its page's marks (DESIGN §5 rule 4): the ``noimageai`` or
``noai`` of the page's response headers and of its head as rendered so far.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from typing import Any

from scrapy import Request
from scrapy.utils.misc import load_object

from ._core.engine import check_request, evaluate_response
from ._core.models import Decision
from ._core.response_signals import looks_like_image
from ._drive import adrive
from ._shell import Shell

logger = logging.getLogger("scrapy_optout")

PAGE_INIT = "playwright_page_init_callback"
"""scrapy-playwright's request meta: a coroutine ``(page, request)`` run before navigating."""
HEAD_SCRIPT = "() => document.head ? document.head.outerHTML : ''"
"""The page's head as the browser has built it so far (scripts that ran included)."""


class BrowserPage:
    """What the route handler knows of the page being loaded: its URL, headers and head."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.status = 200
        self.headers: list[tuple[str, str]] = []
        self.navigated = False  # whether the navigation Scrapy asked for (and checked) has begun
        page.on("response", self._response)

    def _response(self, response: Any) -> None:
        """Keep the headers of the page's own document (its main-frame navigation)."""
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.status = response.status
            self.headers = list(response.headers.items())

    @property
    def url(self) -> str:
        """The page's URL (its main frame's, past redirects)."""
        return str(self.page.url)

    async def head(self) -> bytes:
        """The page's rendered head so far, as UTF-8; empty when it cannot be read (navigating)."""
        try:
            html = await self.page.evaluate(HEAD_SCRIPT)
        except Exception:  # noqa: BLE001 - the page may be between documents: no marks known
            return b""
        return str(html).encode("utf-8", "replace")


def wants_browser(meta: dict[str, Any]) -> bool:
    """Whether scrapy-playwright renders this request (``meta["playwright"]``)."""
    return bool(meta.get("playwright"))


Resolve = Callable[..., Awaitable[Any]]


class BrowserLoads:
    """The middleware's side of browser crawls: checks the loads a rendered page makes.

    Args:
        shell: the crawl's shell (policy, page marks, log).
        resolve: the crawl's resolver (side documents through Scrapy's engine, shared cache).
        skip: counts, announces and logs a skip (the middleware's ``_skip``).
        count: increments a stat.
    """

    def __init__(
        self,
        shell: Shell,
        resolve: Resolve,
        skip: Callable[[Decision, Request], object],
        count: Callable[[str], object],
    ) -> None:
        self.shell = shell
        self.resolve = resolve
        self.skip = skip
        self.count = count

    def install(self, request: Request) -> None:
        """Make *request*'s page ask :meth:`check` about every load before the browser sends it."""
        previous = request.meta.get(PAGE_INIT)

        async def init(page: Any, scrapy_request: Request) -> None:
            if previous is not None:  # the project's own callback first, as it asked for
                await load_object(previous)(page, scrapy_request)
            known = BrowserPage(page)

            async def route(route: Any) -> None:
                await self._decide(route, known, scrapy_request)

            await page.route("**/*", route)

        request.meta[PAGE_INIT] = init

    async def check(
        self, url: str, resource_type: str, page: BrowserPage, request: Request
    ) -> Decision:
        """The request-stage decision about a load of *page*; a skip is counted and logged."""
        shell = self.shell
        self.count("optout/browser/checked")
        marks = shell.page(page.url)
        if marks is None and (resource_type == "image" or looks_like_image(url)):
            # DESIGN §5 rule 4: the page's noimageai/noai, from its headers and rendered head.
            head = b"<html>" + await page.head()
            marks = evaluate_response(page.url, page.status, page.headers, head, shell.policy)
        flow = check_request(url, shell.policy, page=marks, today=shell.today())
        decision: Decision = await adrive(flow, partial(self.resolve, context=request))
        if not decision.allowed:
            load = Request(url, headers={"Referer": page.url}, meta={"optout_page": page.url})
            self.skip(shell.record(decision), load)
            self.count("optout/browser/blocked")
        return decision

    async def landed(
        self, url: str, page: Decision | None, today: date | None, request: Request
    ) -> Decision:
        """The request-stage decision about *url*, where the browser landed past redirects.

        Playwright's routing never sees the hops of a redirect the browser follows, so the page
        it lands on is checked when its response comes: a reserved one never reaches the spider.
        """
        flow = check_request(url, self.shell.policy, page=page, today=today)
        decision: Decision = await adrive(flow, partial(self.resolve, context=request))
        return decision

    async def _decide(self, route: Any, page: BrowserPage, request: Request) -> None:
        """Abort a reserved load; let any other go on to scrapy-playwright's handler."""
        load = route.request
        url = str(load.url)
        if not page.navigated and url == request.url and load.is_navigation_request():
            page.navigated = True  # checked as a Scrapy request; its redirects are checked here
            await route.fallback()
            return
        if not url.startswith(("http://", "https://")):
            # data:, blob: have no origin and no signals (as the middleware passes data: and file:)
            await route.fallback()
            return
        try:
            decision = await self.check(url, str(load.resource_type), page, request)
        except Exception:  # a check that fails must not let the load through: never a silent allow
            logger.exception("Opt-out check of %s failed: the browser's load is aborted", url)
            await route.abort("blockedbyclient")
            return
        if decision.allowed:
            await route.fallback()
        else:
            await route.abort("blockedbyclient")
