"""The Scrapy shell: ``OptOutMiddleware`` (a downloader middleware) and its ``Addon``.

Before a request is sent, the core's pre-request flow runs (``_core.engine.check_request``), its
origin documents fetched through the crawler's own engine and cached, one fetch per origin and
document however many requests wait (``_resolve.AsyncResolver``; never one Deferred shared by
several waiters, the RobotsTxtMiddleware bug of integration.md §1.3). After the response arrives
(decompressed and past redirects: the middleware sits at 120, inside HttpCompression and Redirect),
its headers, HTML head and the metadata inside images, PDFs and EPUBs are checked, and the RSL
licences its ``Link`` headers name are fetched and applied (``check_response``; a file's metadata
is read within ``OPTOUT_EMBEDDED_SCAN_BYTES``). A skip raises
:class:`OptOutIgnoreRequest`, both ``IgnoreRequest`` and ``RequestSkipped``, so errbacks get
``failure.value.decision``. Every decision is counted in the stats, sent as the
``scrapy_optout.signals.optout_decision`` signal and written to the compliance log (DESIGN §4, §7).

Request meta: ``dont_obey_optout=True`` bypasses the checks (logged as a ``bypass``);
``optout_page`` names the page an image was found on (else its ``Referer``); ``optout_decision``
is set on every response that passes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider, signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from . import signals as optout_signals
from ._c2pa import read_c2pa
from ._core.documents import Document
from ._core.engine import check_request, check_response
from ._core.models import Decision, Fetched, Need
from ._core.rules import bypass
from ._drive import adrive
from ._errors import RequestSkipped
from ._playwright import BrowserLoads, wants_browser
from ._resolve import AsyncResolver
from ._scrapy_fetch import INTERNAL, fetch, new_attempt, stop_at_cap
from ._scrapy_settings import enabled, named_error, read_settings
from ._shell import AuditLogFailed, Shell
from .registry import answer_document
from .registry.remote import RemoteRegistry

__all__ = ["Addon", "OptOutIgnoreRequest", "OptOutMiddleware"]

if TYPE_CHECKING:  # the shared cache needs the redis extra: imported only when configured
    from ._shared import Noted, SharedFetches

logger = logging.getLogger("scrapy_optout")

PRIORITY = 120
"""After RobotsTxtMiddleware (100); inside HttpCompression (590) and Redirect (600)."""
_STATE = "_optout_state"  # request meta: what the response stage needs from the request stage
_CACHE_ERRORS = "_optout_cache_errors"  # request meta: shared-cache failures, for the record
_LOCAL = ("data:", "file:")  # no web origin, no signals: not checked (as RobotsTxtMiddleware)


class OptOutIgnoreRequest(RequestSkipped, IgnoreRequest):
    """A request not sent, or a response not handed to the spider, by the opt-out policy.

    An ``IgnoreRequest`` (Scrapy drops it quietly; errbacks see it) and a
    :class:`~scrapy_optout.RequestSkipped` (``.decision`` tells why).
    """


def _require_asyncio() -> None:
    """The shell awaits asyncio tasks: refuse to start on another reactor (integration.md §2.3)."""
    try:
        from scrapy.utils.asyncio import is_asyncio_available
    except ImportError:  # pragma: no cover - Scrapy 2.13
        from scrapy.utils.reactor import is_asyncio_reactor_installed as is_asyncio_available
    if not is_asyncio_available():
        raise ValueError(
            "TWISTED_REACTOR: scrapy_optout needs asyncio: use the asyncio reactor "
            "('twisted.internet.asyncioreactor.AsyncioSelectorReactor', Scrapy's default) or "
            "TWISTED_REACTOR_ENABLED=False"
        )


class OptOutMiddleware:
    """Checks every request before it is sent and every response before the spider sees it.

    Enable it with ``ADDONS = {"scrapy_optout.Addon": 0}`` or
    ``DOWNLOADER_MIDDLEWARES = {"scrapy_optout.OptOutMiddleware": 120}``; settings in DESIGN §4.
    """

    def __init__(self, crawler: Any) -> None:
        config = read_settings(crawler.settings)
        _require_asyncio()
        self.crawler = crawler
        self._count = crawler.stats.inc_value  # bound once: every stats call is per request
        try:
            self.shell = Shell(
                config.policy, registry_status=self._registry_status, worker=config.worker
            )
        except ValueError as exc:
            raise ValueError(named_error(str(exc))) from None
        # DESIGN §5.2: a registry answer is bounded as a side fetch is, by DOWNLOAD_TIMEOUT.
        self._registry_seconds = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180.0)
        self._cache_warned = False
        self._closing: object = None  # the spider's closing, once the log failed
        self._shared = _shared_cache(config.cache_url, self._cache_unavailable)
        registry = self.shell.registry
        # A remote registry's answers are shared by the fleet; a local file is read by each process.
        self._shared_registry = (
            registry if self._shared is not None and isinstance(registry, RemoteRegistry) else None
        )
        self._resolve = AsyncResolver(
            self.shell.cache, self._fetch, self._registry, shared=self._shared
        )
        self._browser = BrowserLoads(self.shell, self._resolve, self._skip, self._count)
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)
        crawler.signals.connect(stop_at_cap, signal=signals.bytes_received)
        if config.default_token:
            logger.warning(
                "OPTOUT_USER_AGENT: checking opt-outs as %r, Scrapy's default token, which "
                "AI-crawler block lists name: set your crawler's own token",
                config.policy.user_agent,
            )

    @classmethod
    def from_crawler(cls, crawler: Any) -> OptOutMiddleware:
        """Build the middleware; ``OPTOUT_ENABLED=False`` loads nothing (no fetch, no log)."""
        if not enabled(crawler.settings):
            raise NotConfigured("OPTOUT_ENABLED is False")
        return cls(crawler)

    # -- the crawl's lifetime --------------------------------------------------------------------

    def _opened(self, spider: Spider) -> None:
        try:
            self.shell.open()
        except AuditLogFailed as exc:
            self._audit_failed(exc)

    async def _closed(self, spider: Spider) -> None:
        await self.shell.aclose()
        if self._shared is not None:
            await self._shared.aclose()

    # -- requests and responses ------------------------------------------------------------------

    async def process_request(self, request: Request) -> None:
        """Skip a reserved request before it is sent (DESIGN §5, request stage)."""
        try:
            await self._request_stage(request)
        except AuditLogFailed as exc:
            raise self._audit_failed(exc) from exc

    async def process_response(self, request: Request, response: Response) -> Response:
        """Drop a reserved response before the spider sees it (DESIGN §5, response stage)."""
        try:
            return await self._response_stage(request, response)
        except AuditLogFailed as exc:
            raise self._audit_failed(exc) from exc

    def _audit_failed(self, exc: AuditLogFailed) -> IgnoreRequest:
        """The log cannot be written: say so once, close the spider; the request is dropped."""
        if self._closing is None:
            logger.error("%s: closing the spider", exc, extra={"spider": self.crawler.spider})
            self._count("optout/audit_failed")
            engine = self.crawler.engine
            close = getattr(engine, "close_spider_async", None)
            if close is None:  # pragma: no cover - Scrapy 2.13: a Deferred, kept
                self._closing = engine.close_spider(self.crawler.spider, "optout_audit_failed")
            else:
                self._closing = asyncio.get_event_loop().create_task(
                    close(reason="optout_audit_failed")
                )
        return IgnoreRequest(str(exc))

    async def _request_stage(self, request: Request) -> None:
        meta = request.meta
        if INTERNAL in meta:  # our own side fetch
            new_attempt(meta)
            return
        url = request.url
        if url.startswith(_LOCAL):
            return
        shell = self.shell
        shell.check_log()  # a log that cannot be written: nothing more is sent (issue 11)
        if meta.get("dont_obey_optout"):
            meta[_STATE] = None
            meta["optout_decision"] = self._publish(shell.record(bypass(url)), request)
            self._count("optout/bypassed")
            return
        self._count("optout/request_count")
        page = shell.page(meta.get("optout_page") or _referer(request))
        today = shell.today()
        flow = check_request(url, shell.policy, page=page, today=today)
        pre = await adrive(flow, partial(self._resolve, context=request))
        if not pre.allowed:
            raise self._skip(shell.record(_noting(pre, meta)), request)
        meta[_STATE] = (pre, page, today)
        if wants_browser(meta):  # scrapy-playwright: the page's own loads are checked too
            self._browser.install(request)

    async def _response_stage(self, request: Request, response: Response) -> Response:
        meta = request.meta
        if INTERNAL in meta:
            return response
        state = meta.pop(_STATE, False)
        if state is None:  # bypassed: its decision is already in meta
            return response
        if state is False:  # not seen at the request stage (data:, file:, an earlier middleware)
            if request.url.startswith(_LOCAL):
                return response
            await self._request_stage(request)  # the request stage, now
            state = meta.pop(_STATE, None)
            if state is None:
                return response
        pre, page, today = state
        if response.url != request.url and wants_browser(meta):  # the browser followed redirects
            landed = await self._browser.landed(response.url, page, today, request)
            if not landed.allowed:
                raise self._skip(self.shell.record(_noting(landed, meta)), request)
        policy = self.shell.policy
        body = response.body
        complete = len(body) <= policy.embedded_scan_bytes
        flow = check_response(
            response.url,
            response.status,
            _field_lines(response.headers),
            body if complete else body[: policy.embedded_scan_bytes],
            policy,
            pre=pre,
            page=page,
            today=today,
            complete=complete,
            read_c2pa=read_c2pa,
        )
        decision = await adrive(flow, partial(self._resolve, context=request))
        decision = self.shell.record(_noting(decision, meta))
        if not decision.allowed:
            raise self._skip(decision, request)
        self._count("optout/allowed")
        meta["optout_decision"] = self._publish(decision, request)
        return response

    # -- shared steps ----------------------------------------------------------------------------

    async def _fetch(self, need: Need, context: object) -> Fetched:
        fetched, status = await fetch(self.crawler, need)
        self._count(f"optout/fetch/{need.doc}/status/{status}")
        return fetched

    async def _registry(self, need: Need, context: object) -> Document:
        registry, seconds = self._shared_registry, self._registry_seconds
        if registry is not None and self._shared is not None:
            return answer_document(
                await self._shared.answer(registry, need, context, seconds), registry
            )
        return await self.shell.aregistry_answer(need, seconds)

    def _cache_unavailable(self, need: Need, request: Any, message: str) -> None:
        """The shared cache failed for *need*: fetched here instead, and said on the record."""
        self._count("optout/cache/unavailable")
        if isinstance(request, Request):
            request.meta.setdefault(_CACHE_ERRORS, []).append(
                f"cache.unavailable: {need.doc} fetched by this process ({message})"
            )
        if not self._cache_warned:
            self._cache_warned = True
            logger.warning("Shared opt-out cache unavailable, fetching locally: %s", message)

    def _registry_status(self, status: int) -> None:
        self._count(f"optout/fetch/registry/status/{status}")

    def _skip(self, decision: Decision, request: Request) -> OptOutIgnoreRequest:
        """Count, announce and log a skip; return the exception to raise."""
        code = decision.reasons[0].code if decision.reasons else "unknown"
        self._count("optout/skipped")
        self._count(f"optout/skipped/{code}")
        self._publish(decision, request)
        logger.debug(
            "Skipped by opt-out (%(stage)s, %(code)s): %(request)s",
            {"stage": decision.stage, "code": code, "request": request},
            extra={"spider": self.crawler.spider},
        )
        return OptOutIgnoreRequest(decision)

    def _publish(self, decision: Decision, request: Request) -> Decision:
        self.crawler.signals.send_catch_log(
            signal=optout_signals.optout_decision,
            decision=decision,
            request=request,
            spider=self.crawler.spider,
        )
        return decision


def _shared_cache(url: str | None, noted: Noted) -> SharedFetches | None:
    """The fleet's shared cache for *url* (None: this process's cache alone)."""
    if url is None:
        return None
    try:
        from ._shared import SharedFetches
        from .cache.redis_store import RedisCache
    except ImportError as exc:  # the redis package is an extra
        raise ValueError(
            f"OPTOUT_CACHE_URL: a shared cache needs the redis package "
            f"(pip install 'scrapy-optout[redis]'): {exc}"
        ) from None
    return SharedFetches(RedisCache(url), noted)


def _noting(decision: Decision, meta: dict[str, Any]) -> Decision:
    """*decision* with the shared-cache failures met while deciding it in its ``errors``."""
    notes = meta.pop(_CACHE_ERRORS, None)
    if not notes:
        return decision
    return dataclasses.replace(decision, errors=(*decision.errors, *notes))


def _field_lines(headers: Any) -> Any:
    """Scrapy ``Headers`` as ``(name, [values])`` pairs, read straight from the dict underneath.

    ``Headers.items()`` normalises every key and value again; the stored ones already are.
    """
    return list(dict.items(headers)) if isinstance(headers, dict) else headers


def _referer(request: Request) -> str | None:
    values = dict.get(request.headers, b"Referer")  # stored normalised: no second normalising
    return values[-1].decode("latin-1") if values else None


class Addon:
    """``ADDONS = {"scrapy_optout.Addon": 0}``: enables :class:`OptOutMiddleware` at 120.

    Every ``OPTOUT_*`` setting keeps its default unless the project sets it (DESIGN §4).
    """

    def update_settings(self, settings: Any) -> None:
        """Add the middleware to ``DOWNLOADER_MIDDLEWARES`` unless the project placed it."""
        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", OptOutMiddleware, PRIORITY
        )
