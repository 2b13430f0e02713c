"""Fetching origin documents through an httpx transport: redirects, size caps, deadlines.

DESIGN §5.2: every side-document fetch is bounded as a whole (first byte to last) by a deadline; up
to 5 consecutive redirects are followed, even to another authority, and the rules apply to the first
URL (RFC 9309 §2.3.1.2); a redirect to another scheme is not followed; robots.txt is read on its
first 500 KiB; any other document cut short by its cap is reported ``too_large`` (unavailable).
Bodies are decoded here, with an output cap, so that a decompression bomb stops at the cap
(memory stays within a small multiple of the cap). Failures become data in a
:class:`~scrapy_optout._core.models.Fetched`, never exceptions.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Mapping
from typing import Any

import httpx

from ._core.documents import MAX_REDIRECTS, redirect_target
from ._core.models import Doc, Fetched, Need
from ._core.robots import MAX_ROBOTS_BYTES

CAPS = {Doc.ROBOTS: MAX_ROBOTS_BYTES, Doc.TDMREP: 2 * 1024 * 1024, Doc.AI_TXT: 2 * 1024 * 1024,
        Doc.LICENCE: 2 * 1024 * 1024, Doc.REGISTRY: 8 * 1024 * 1024}  # fmt: skip
MAX_DEADLINE = 30.0
Post = tuple[bytes, Mapping[str, str]]
"""A POST's body and its own headers (``Content-Type``...), for registry queries."""


def deadline_for(request: httpx.Request) -> float:
    """The side-fetch deadline: the request's largest timeout component, at most 30 s."""
    timeout = request.extensions.get("timeout") or {}
    values = [v for v in timeout.values() if isinstance(v, int | float) and v > 0]
    return min(max(values), MAX_DEADLINE) if values else MAX_DEADLINE


class BodyReader:
    """Decodes a body's content-coding incrementally, keeping at most *cap* bytes."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        self.cap = cap
        self.parts: list[bytes] = []
        self.size = 0
        self.full = False
        self.error: str | None = None
        coding = content_encoding.strip().lower()
        self._zlib: Any = None
        if coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
            self._deflate_retry = True
        elif coding not in ("", "identity"):
            self.error = f"unsupported content-coding {coding[:40]!r}"

    def feed(self, raw: bytes) -> None:
        """Take the next raw chunk; sets ``full`` once the cap is passed."""
        if self.error or self.full:
            return
        if self._zlib is None:
            self._keep(raw)
            return
        try:
            data = raw
            while data and not self.full:
                room = self.cap - self.size + 1
                out = self._zlib.decompress(data, room)
                self._keep(out)
                data = self._zlib.unconsumed_tail
        except zlib.error:
            if getattr(self, "_deflate_retry", False) and not self.parts:
                # "deflate" is sometimes sent raw, without the zlib wrapper (RFC 9110 §8.4.1.2).
                self._deflate_retry = False
                self._zlib = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
                self.feed(raw)
                return
            self.error = "corrupt compressed body"

    def take(self, raw: bytes) -> bool:
        """Feed a raw chunk; True once reading can stop (cap passed or the body undecodable)."""
        self.feed(raw)
        return self.full or self.error is not None

    def _keep(self, data: bytes) -> None:
        if self.size + len(data) > self.cap:
            data = data[: self.cap - self.size]
            self.full = True
        self.parts.append(data)
        self.size += len(data)

    @property
    def body(self) -> bytes:
        """The decoded bytes kept."""
        return b"".join(self.parts)


def _side_request(url: str, user_agent: str, seconds: float, post: Post | None) -> httpx.Request:
    timeout = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
    headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
    if post is None:
        return httpx.Request("GET", url, headers=headers, extensions={"timeout": timeout})
    body, extra = post
    return httpx.Request(
        "POST", url, headers={**headers, **extra}, content=body, extensions={"timeout": timeout}
    )


def _next_hop(need: Need, response: httpx.Response, url: str) -> str | Fetched | None:
    """Where a redirect leads, a refusal to follow it, or None when *response* is the document."""
    return redirect_target(need.url, url, response.status_code, response.headers.get("location"))


def _failure(need: Need, exc: Exception) -> Fetched:
    error = "timeout" if isinstance(exc, httpx.TimeoutException) else "network"
    return Fetched(url=need.url, status=0, error=error)


def _finish(need: Need, url: str, response: httpx.Response, reader: BodyReader) -> Fetched:
    if reader.error:
        return Fetched(url=need.url, status=0, error=reader.error, final_url=url)
    return Fetched(
        url=need.url,
        status=response.status_code,
        body=reader.body,
        error="too_large" if reader.full else None,
        final_url=url,
        content_type=response.headers.get("content-type"),
    )


def fetch(
    transport: httpx.BaseTransport,
    need: Need,
    user_agent: str,
    seconds: float,
    post: Post | None = None,
) -> Fetched:
    """Fetch *need* through a sync transport (never raises on remote failure).

    With *post*, the request is a POST of that body with those headers (a registry query), and
    a redirect is the answer itself: a query is not re-sent elsewhere.
    """
    end = time.monotonic() + seconds
    url = need.url
    for _ in range(MAX_REDIRECTS + 1):
        remaining = end - time.monotonic()
        if remaining <= 0:
            return Fetched(url=need.url, status=0, error="timeout")
        try:
            response = transport.handle_request(_side_request(url, user_agent, remaining, post))
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return _failure(need, exc)
        try:
            hop = None if post is not None else _next_hop(need, response, url)
            if isinstance(hop, Fetched):
                return hop
            if hop is not None:
                url = hop
                continue
            reader = BodyReader(response.headers.get("content-encoding", ""), CAPS[need.doc])
            for chunk in response.stream:  # type: ignore[union-attr] # raw: we decode
                if reader.take(chunk):
                    break
                if time.monotonic() > end:
                    return Fetched(url=need.url, status=0, error="timeout")
            return _finish(need, url, response, reader)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return _failure(need, exc)
        finally:
            response.close()
    return Fetched(url=need.url, status=301, error="redirects")


async def afetch(
    transport: httpx.AsyncBaseTransport,
    need: Need,
    user_agent: str,
    seconds: float,
    post: Post | None = None,
) -> Fetched:
    """Fetch *need* through an async transport (never raises on remote failure); see :func:`fetch`."""
    end = time.monotonic() + seconds
    url = need.url
    for _ in range(MAX_REDIRECTS + 1):
        remaining = end - time.monotonic()
        if remaining <= 0:
            return Fetched(url=need.url, status=0, error="timeout")
        try:
            response = await transport.handle_async_request(
                _side_request(url, user_agent, remaining, post)
            )
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return _failure(need, exc)
        try:
            hop = None if post is not None else _next_hop(need, response, url)
            if isinstance(hop, Fetched):
                return hop
            if hop is not None:
                url = hop
                continue
            reader = BodyReader(response.headers.get("content-encoding", ""), CAPS[need.doc])
            async for chunk in response.stream:  # type: ignore[union-attr] # raw: we decode
                if reader.take(chunk):
                    break
                if time.monotonic() > end:
                    return Fetched(url=need.url, status=0, error="timeout")
            return _finish(need, url, response, reader)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return _failure(need, exc)
        finally:
            await response.aclose()
    return Fetched(url=need.url, status=301, error="redirects")
