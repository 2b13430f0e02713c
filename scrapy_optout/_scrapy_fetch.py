"""Fetching origin documents through the crawler's own engine (the Scrapy shell's resolver).

Side documents (robots.txt, tdmrep.json, ai.txt) are downloaded with ``engine.download_async``, so
the crawl's proxies, download handlers, retries, HTTP cache and politeness apply (DESIGN §4). Each
request carries ``dont_obey_robotstxt`` and our internal meta key, which every downloader
middleware of ours lets through; redirects are followed here (at most 5, the rules applying to
the first authority, DESIGN §5.2), not by RedirectMiddleware, so that the limit and the scheme
check are ours.

Bounds (DESIGN §5.2): each attempt is bounded by ``DOWNLOAD_TIMEOUT``; the body is stopped at the
document's cap plus one byte by a ``bytes_received`` handler (:func:`stop_at_cap`), and the
decompressed body is bounded by ``download_maxsize`` (HttpCompressionMiddleware honours it), so a
decompression bomb cannot exhaust memory. Failures become data, never exceptions.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.exceptions import StopDownload
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK

from ._core.documents import MAX_REDIRECTS, redirect_target
from ._core.models import Doc, Fetched, Need
from ._fetch import CAPS

INTERNAL = "_optout_internal"
"""Meta key marking our own side requests (its value: the document name)."""
_CAP = "_optout_cap"
_READ = "_optout_read"
DECODED_FACTOR = 4
"""robots.txt may decompress to this many times its cap before it is refused; any other document
to its cap plus one byte (past its cap it is unavailable anyway), so that raw body and decoded
body together stay within 4x the cap (DESIGN §5.2)."""


async def _download(crawler: Any, request: Request) -> Response:
    engine = crawler.engine
    download_async = getattr(engine, "download_async", None)
    if download_async is not None:  # Scrapy >= 2.14
        response: Response = await download_async(request)
        return response
    from scrapy.utils.defer import maybe_deferred_to_future  # pragma: no cover - Scrapy 2.13

    return await maybe_deferred_to_future(engine.download(request))  # pragma: no cover


def side_request(need: Need, url: str) -> Request:
    """The request for one hop of a side document."""
    cap = CAPS[need.doc]
    return Request(
        url,
        callback=NO_CALLBACK,
        # Asked for uncompressed: HttpCompressionMiddleware refuses a whole body that decodes past
        # download_maxsize, where robots.txt must be read on its first 500 KiB (DESIGN §5.2);
        # only a server that compresses against this header meets that limit.
        headers={"Accept": "*/*", "Accept-Encoding": "identity"},
        meta={
            INTERNAL: need.doc,
            _CAP: cap,
            "dont_obey_robotstxt": True,
            "dont_redirect": True,  # followed here, at most 5 times
            "handle_httpstatus_all": True,
            # A body cut by a reset is a network error, never a document (whatever
            # DOWNLOAD_FAIL_ON_DATALOSS says for pages): robots.txt unreachable, others unavailable.
            "download_fail_on_dataloss": True,
        },
        dont_filter=True,
    )


def new_attempt(meta: dict[str, Any]) -> None:
    """Reset a side request's byte count and decoded bound before an attempt (a retry copies meta).

    Called from the middleware's ``process_request``, which runs before the download handler
    reads ``download_maxsize``: the raw download is then bounded only by :func:`stop_at_cap`, so
    that a robots.txt of any size is read on its first 500 KiB (DESIGN §5.2).
    """
    meta.pop(_READ, None)
    meta.pop("download_maxsize", None)


def stop_at_cap(data: bytes, request: Request, **_: Any) -> None:
    """``bytes_received`` handler: stop a side document one byte past its cap (DESIGN §5.2).

    The download ends as a response with the ``download_stopped`` flag and the bytes read; the
    page requests of the crawl are not touched.
    """
    meta = request.meta
    cap = meta.get(_CAP)
    if cap is None:
        return
    read = meta[_READ] = meta.get(_READ, 0) + len(data)
    # Set once the download is under way (the handler reads it only at the start), this bounds
    # the decompressed body (HttpCompressionMiddleware reads it after the download).
    meta["download_maxsize"] = DECODED_FACTOR * cap if meta[INTERNAL] == Doc.ROBOTS else cap + 1
    if read > cap:
        raise StopDownload(fail=False)


async def fetch(crawler: Any, need: Need) -> tuple[Fetched, int]:
    """Fetch *need* through the engine; return the fetch and the final HTTP status (0: none)."""
    url = need.url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = await _download(crawler, side_request(need, url))
        except Exception as exc:  # noqa: BLE001 - every failure of a side fetch is data (DESIGN §2)
            error = "timeout" if "timeout" in type(exc).__name__.lower() else "network"
            return Fetched(url=need.url, status=0, error=error), 0
        location = response.headers.get(b"Location")
        hop = redirect_target(
            need.url,
            url,
            response.status,
            location.decode("latin-1") if location is not None else None,
        )
        if isinstance(hop, Fetched):
            return hop, response.status
        if hop is None:
            return _fetched(need, url, response), response.status
        url = hop
    return Fetched(url=need.url, status=301, error="redirects"), 301


def _fetched(need: Need, url: str, response: Response) -> Fetched:
    cap = CAPS[need.doc]
    body = response.body
    cut = len(body) > cap or "download_stopped" in response.flags
    content_type = response.headers.get(b"Content-Type")
    return Fetched(
        url=need.url,
        status=response.status,
        body=body[:cap],
        error="too_large" if cut else None,
        final_url=url,
        content_type=content_type.decode("latin-1") if content_type is not None else None,
    )
