"""The httpx shell: ``OptOutTransport``/``AsyncOptOutTransport`` and the ``OptOutClient`` twins.

A transport wraps any other transport (composition, as httpx intends). For every request, and so
for every redirect hop, it runs the core's pre-request flow: origin documents are fetched through
the wrapped transport with our User-Agent and cached (``_resolve.py``); a reserved URL raises
:class:`OptedOutError` and nothing is sent. Then the response's headers and HTML head are checked
(``_headscan.py``), and so is the metadata inside images, PDFs and EPUBs, read only as far as it
goes; a reserved response is closed unread and raises :class:`OptedOutError`; an allowed one is
handed on whole, its decision in ``response.extensions["optout"]``.

Per-request options: ``extensions={"optout": {"bypass": True}}`` skips the checks (logged as a
bypass); ``{"page": URL}`` names the page an image was requested from (DESIGN §5.2).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from functools import partial
from typing import Any

import httpx

from ._c2pa import read_c2pa
from ._core.documents import Document
from ._core.embedded import EMBEDDED_SIGNALS, embedded_kind
from ._core.engine import Flow, check_request, check_response
from ._core.headers import SignalHeaders, read_signal_headers
from ._core.models import Decision, Fetched, Need
from ._core.policy import Policy
from ._core.rules import bypass
from ._drive import adrive, drive
from ._errors import RequestSkipped
from ._fetch import afetch, deadline_for, fetch
from ._headscan import AsyncReplayStream, HeadBuffer, MetadataBuffer, ReplayStream, is_html
from ._resolve import AsyncResolver, Resolver
from ._shell import Shell

__all__ = [
    "AsyncOptOutClient",
    "AsyncOptOutTransport",
    "OptOutClient",
    "OptOutTransport",
    "OptedOutError",
]


class OptedOutError(RequestSkipped, httpx.RequestError):
    """A request not sent, or a response not returned, because the policy reserves it.

    Both a :class:`~scrapy_optout.RequestSkipped` (``.decision``) and an ``httpx.RequestError``
    (``.request``), so ``except httpx.HTTPError`` code sees it too.
    """

    def __init__(self, decision: Decision, *, request: httpx.Request) -> None:
        RequestSkipped.__init__(self, decision)
        httpx.RequestError.__init__(self, str(self), request=request)


class _NotHttpError(OptedOutError, httpx.UnsupportedProtocol):
    """A request for a URL that is not http(s), whose opt-out signals cannot be read.

    A skip on the record (``signal_unavailable``), and the ``httpx.UnsupportedProtocol`` that a
    plain ``httpx.Client`` raises for such a URL (after a redirect to ``ftp:``, say).
    """


def _refused(decision: Decision, request: httpx.Request) -> OptedOutError:
    """The error for a request-stage skip; nothing was sent."""
    if request.url.scheme not in ("http", "https"):
        return _NotHttpError(decision, request=request)
    return OptedOutError(decision, request=request)


def _options(request: httpx.Request) -> dict[str, Any]:
    options = request.extensions.get("optout")
    return options if isinstance(options, dict) else {}


def _head_buffer(
    request: httpx.Request, url: str, headers: SignalHeaders, shell: Shell
) -> HeadBuffer | None:
    """A buffer for the body's front: an image's, PDF's or EPUB's metadata, or an HTML head.

    *url* is ``str(request.url)``, which the caller has already (httpx builds it anew each time).
    """
    if request.method == "HEAD":
        return None
    policy = shell.policy
    checks = policy.checks
    content_type = headers.first("content-type")
    coding = headers.first("content-encoding") or ""
    if not checks.isdisjoint(EMBEDDED_SIGNALS):
        kind = embedded_kind(content_type, url)
        if kind:
            return MetadataBuffer(coding, policy.embedded_scan_bytes, kind)
    if "tdmrep" not in checks and "noai" not in checks:
        return None  # no signal read from the head is enabled: hand the stream on untouched
    if not is_html(content_type):
        return None
    return HeadBuffer(coding, policy.head_scan_bytes)


def _response_flow(
    shell: Shell,
    url: str,
    pre: Decision,
    page: Decision | None,
    today: date | None,
    response: httpx.Response,
    headers: SignalHeaders,
    buffer: HeadBuffer | None,
    ended: bool,
) -> Flow:
    """The response-stage flow (DESIGN §5); *ended*: the body was read to its end."""
    head = buffer.decoded if buffer is not None else b""
    return check_response(
        url,
        response.status_code,
        headers,
        head,
        shell.policy,
        pre=pre,
        page=page,
        today=today,
        complete=ended and buffer is not None and not buffer.capped,
        read_c2pa=read_c2pa,
    )


def _conclude(shell: Shell, decision: Decision, buffer: HeadBuffer | None) -> Decision:
    """Record the response-stage decision; a failed head scan is noted in it."""
    if buffer is not None and buffer.error:
        decision = dataclasses.replace(decision, errors=(*decision.errors, buffer.error))
    return shell.record(decision)


def _refusal(decision: Decision, failed: Exception | None, request: httpx.Request) -> Exception:
    """What to raise for a response not handed on: the skip, or the page's own failure."""
    if failed is not None and decision.allowed:
        return failed
    return OptedOutError(decision, request=request)


def _handed_on(response: httpx.Response, decision: Decision, stream: Any) -> httpx.Response:
    """The allowed response with its decision; *stream* replays the head read for the scan."""
    if stream is not None:
        response.stream = stream  # the same response, its stream now starting with the head
    response.extensions["optout"] = decision
    return response


class OptOutTransport(httpx.BaseTransport):
    """Checks every request and response that goes through *next_transport*.

    Args:
        next_transport: the transport to wrap (default ``httpx.HTTPTransport()``).
        policy: the crawl's policy.
        shell: state shared with sibling transports of one client (cache, log); internal.
    """

    def __init__(
        self,
        next_transport: httpx.BaseTransport | None = None,
        *,
        policy: Policy | None = None,
        shell: Shell | None = None,
    ) -> None:
        if shell is None:
            if policy is None:
                raise ValueError("policy: OptOutTransport needs a Policy")
            shell = Shell(policy)
        self.next_transport = (
            next_transport if next_transport is not None else httpx.HTTPTransport()
        )
        self.shell = shell
        self._resolve = Resolver(shell.cache, self._fetch, self._registry)

    def _fetch(self, need: Need, request: httpx.Request) -> Fetched:
        """Fetch a side document for *request*, within its timeout (DESIGN §5.2)."""
        return fetch(self.next_transport, need, self.shell.policy.user_agent, deadline_for(request))

    def _registry(self, need: Need, request: httpx.Request) -> Document:
        return self.shell.registry_answer(need, deadline_for(request))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check, send (or refuse), check the response; see the module docstring."""
        shell, url, options = self.shell, str(request.url), _options(request)
        shell.check_log()  # a log that cannot be written: nothing more is sent (issue 11)
        if options.get("bypass"):
            decision = shell.record(bypass(url))
            response = self.next_transport.handle_request(request)
            response.extensions["optout"] = decision
            return response
        page = shell.page(options.get("page"))
        today = shell.today()
        flow = check_request(url, shell.policy, page=page, today=today)
        pre = drive(flow, partial(self._resolve, context=request))
        if not pre.allowed:
            raise _refused(shell.record(pre), request)
        response = self.next_transport.handle_request(request)
        headers = read_signal_headers(response.headers.raw)  # read once, raw: not decoded
        buffer, failed, rest, ended = _head_buffer(request, url, headers, shell), None, None, True
        if buffer is not None:
            rest = iter(response.stream)  # type: ignore[arg-type]
            try:
                for chunk in rest:
                    buffer.feed(chunk)
                    if buffer.done:
                        ended = False
                        break
            except httpx.HTTPError as exc:  # the page broke off: decide on what came, then say so
                failed, ended = exc, False
            except BaseException:
                response.close()
                raise
        flow = _response_flow(shell, url, pre, page, today, response, headers, buffer, ended)
        try:
            decision = _conclude(
                shell, drive(flow, partial(self._resolve, context=request)), buffer
            )
        except BaseException:  # not recorded (the log failed): not handed on
            response.close()
            raise
        if not decision.allowed or failed is not None:
            response.close()
            raise _refusal(decision, failed, request)
        stream = (
            None
            if buffer is None or rest is None
            else ReplayStream(buffer.raw, rest, response.stream)
        )
        return _handed_on(response, decision, stream)

    def close(self) -> None:
        """Close the wrapped transport, the compliance log and the registry client."""
        self.next_transport.close()
        self.shell.close()


class AsyncOptOutTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`OptOutTransport`."""

    def __init__(
        self,
        next_transport: httpx.AsyncBaseTransport | None = None,
        *,
        policy: Policy | None = None,
        shell: Shell | None = None,
    ) -> None:
        if shell is None:
            if policy is None:
                raise ValueError("policy: AsyncOptOutTransport needs a Policy")
            shell = Shell(policy)
        self.next_transport = (
            next_transport if next_transport is not None else httpx.AsyncHTTPTransport()
        )
        self.shell = shell
        self._resolve = AsyncResolver(shell.cache, self._fetch, self._registry)

    async def _fetch(self, need: Need, request: httpx.Request) -> Fetched:
        """Fetch a side document for *request*, within its timeout (DESIGN §5.2)."""
        user_agent = self.shell.policy.user_agent
        return await afetch(self.next_transport, need, user_agent, deadline_for(request))

    async def _registry(self, need: Need, request: httpx.Request) -> Document:
        return await self.shell.aregistry_answer(need, deadline_for(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check, send (or refuse), check the response; see the module docstring."""
        shell, url, options = self.shell, str(request.url), _options(request)
        shell.check_log()  # a log that cannot be written: nothing more is sent (issue 11)
        if options.get("bypass"):
            decision = shell.record(bypass(url))
            response = await self.next_transport.handle_async_request(request)
            response.extensions["optout"] = decision
            return response
        page = shell.page(options.get("page"))
        today = shell.today()
        flow = check_request(url, shell.policy, page=page, today=today)
        pre = await adrive(flow, partial(self._resolve, context=request))
        if not pre.allowed:
            raise _refused(shell.record(pre), request)
        response = await self.next_transport.handle_async_request(request)
        headers = read_signal_headers(response.headers.raw)  # read once, raw: not decoded
        buffer, failed, rest, ended = _head_buffer(request, url, headers, shell), None, None, True
        if buffer is not None:
            rest = response.stream.__aiter__()  # type: ignore[union-attr]
            try:
                async for chunk in rest:
                    buffer.feed(chunk)
                    if buffer.done:
                        ended = False
                        break
            except httpx.HTTPError as exc:  # the page broke off: decide on what came, then say so
                failed, ended = exc, False
            except BaseException:
                await response.aclose()
                raise
        flow = _response_flow(shell, url, pre, page, today, response, headers, buffer, ended)
        resolve = partial(self._resolve, context=request)
        try:
            decision = _conclude(shell, await adrive(flow, resolve), buffer)
        except BaseException:  # not recorded (the log failed): not handed on
            await response.aclose()
            raise
        if not decision.allowed or failed is not None:
            await response.aclose()
            raise _refusal(decision, failed, request)
        stream = (
            None
            if buffer is None or rest is None
            else AsyncReplayStream(buffer.raw, rest, response.stream)
        )
        return _handed_on(response, decision, stream)

    async def aclose(self) -> None:
        """Close the wrapped transport, the compliance log and the registry client."""
        await self.next_transport.aclose()
        await self.shell.aclose()


class OptOutClient(httpx.Client):
    """An ``httpx.Client`` whose every transport (default, proxies, mounts, yours) is wrapped.

    Args:
        policy: the crawl's policy.
        **kwargs: any ``httpx.Client`` argument; a ``transport`` you pass is wrapped, never
            replaced (one that already is an ``OptOutTransport`` is used as it is).
    """

    def __init__(self, *, policy: Policy, **kwargs: Any) -> None:
        self._optout = Shell(policy)
        super().__init__(**kwargs)
        for pattern, transport in list(self._mounts.items()):
            if transport is not None:
                self._mounts[pattern] = self._wrap(transport)

    def _wrap(self, transport: httpx.BaseTransport) -> httpx.BaseTransport:
        if isinstance(transport, OptOutTransport):  # already checked: never check (and log) twice
            return transport
        return OptOutTransport(transport, shell=self._optout)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.BaseTransport:
        return self._wrap(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.BaseTransport:
        return self._wrap(super()._init_proxy_transport(*args, **kwargs))


class AsyncOptOutClient(httpx.AsyncClient):
    """The async twin of :class:`OptOutClient`."""

    def __init__(self, *, policy: Policy, **kwargs: Any) -> None:
        self._optout = Shell(policy)
        super().__init__(**kwargs)
        for pattern, transport in list(self._mounts.items()):
            if transport is not None:
                self._mounts[pattern] = self._wrap(transport)

    def _wrap(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        if isinstance(transport, AsyncOptOutTransport):  # already checked: never twice
            return transport
        return AsyncOptOutTransport(transport, shell=self._optout)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        return self._wrap(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        return self._wrap(super()._init_proxy_transport(*args, **kwargs))
