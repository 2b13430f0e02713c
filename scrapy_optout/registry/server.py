"""The reference registry service: a :class:`~.local.LocalRegistry` over HTTP (DESIGN §8).

``scrapy-optout registry serve REG`` runs it (the ``server`` extra: aiohttp). It speaks the open
protocol of ``docs/registry-protocol.md`` with the messages of ``protocol.py``:

* ``POST /v1/lookup`` and ``POST /v1/lookup-hashed`` answer a batch; the SQLite work runs on a pool
  of threads, so a large batch never holds up other clients.
* ``GET /v1/snapshot`` streams every entry as a JSON list (``registry build`` reads it back), with a
  strong ``ETag`` (the SHA-256 of the registry file, read-only while served); ``If-None-Match``
  naming it is answered ``304``.

Every error is ``{"error": "..."}`` in JSON: 400 for a malformed request (the protocol's message),
404, 405, 408 for a body not received in time, 413 for a body over the limit (never read beyond
it), 503 when the registry file cannot be read. Nothing is logged per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import signal
import sqlite3
import sys
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from aiohttp.typedefs import Handler

from scrapy_optout._core.models import RegistryEntry
from scrapy_optout.registry import protocol
from scrapy_optout.registry.local import LocalRegistry
from scrapy_optout.registry.protocol import MAX_BODY

logger = logging.getLogger("scrapy_optout")

READ_TIMEOUT = 30.0
"""Seconds a client has to send a request body, once its headers are in."""
LOOKUP_THREADS = 4
"""Threads answering lookups (each with its own SQLite connection)."""
SNAPSHOT_CHUNK = 1000
"""Entries read and sent at a time by ``/v1/snapshot``."""
_JSON = "application/json"


class _State:
    """What the handlers of one application share."""

    def __init__(self, registry: LocalRegistry, max_body: int, read_timeout: float) -> None:
        self.registry = registry
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.too_large = f"request body larger than {max_body} bytes"
        self.etag = f'"sha256-{file_digest(registry.path)}"'
        self.lookups = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="registry-lookup")
        # Snapshot cursors live in one thread, so each is only ever used by its own connection.
        self.snapshots = ThreadPoolExecutor(1, thread_name_prefix="registry-snapshot")

    async def run(self, pool: ThreadPoolExecutor, work: Callable[[], bytes]) -> bytes:
        """*work*'s result, run on *pool*: a malformed request is a 400, a registry unread a 503."""
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work)
        except protocol.ProtocolError as exc:  # raised by the request's decoding
            raise _Failure(400, str(exc)) from None
        except (sqlite3.Error, ValueError) as exc:  # ValueError: the registry is closed
            logger.warning("registry %s unreadable: %s", self.registry.path, exc)
            raise _Failure(503, f"the registry cannot be read: {exc}") from None

    async def close(self) -> None:
        """Stop the threads, once the requests are answered (the registry is the caller's)."""
        for pool in (self.lookups, self.snapshots):
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


_STATE = web.AppKey("scrapy_optout_registry", _State)


class _Failure(Exception):
    """An error answered as ``{"error": message}`` with *status*."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def file_digest(path: str) -> str:
    """The SHA-256 (hex) of the file at *path*, read in blocks."""
    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": message}).encode()
    return web.Response(body=body, status=status, content_type=_JSON, headers=headers)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure, ours or aiohttp's (404, 405…), into a JSON error."""
    try:
        return await handler(request)
    except _Failure as exc:
        return _error(exc.status, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(exc.status, f"{exc.reason}: {request.method} {request.path}", allow)


async def _body(request: web.Request) -> bytes:
    """The request body, at most ``max_body`` bytes, received within ``read_timeout``."""
    state = request.app[_STATE]
    if (request.content_length or 0) > state.max_body:
        raise _Failure(413, state.too_large)  # refused unread
    try:
        return await asyncio.wait_for(request.read(), state.read_timeout)
    except web.HTTPRequestEntityTooLarge:
        raise _Failure(413, state.too_large) from None
    except asyncio.TimeoutError:
        raise _Failure(408, f"request body not received within {state.read_timeout:g} s") from None


async def _batch(
    request: web.Request, work: Callable[[LocalRegistry, bytes], bytes]
) -> web.Response:
    """The answer *work* computes, off the event loop, from the registry and the request body."""
    state = request.app[_STATE]
    body = await _body(request)
    answer = await state.run(state.lookups, functools.partial(work, state.registry, body))
    return web.Response(body=answer, content_type=_JSON)


def _find(registry: LocalRegistry, body: bytes) -> bytes:
    urls = protocol.read_lookup_request(body)
    return protocol.lookup_response([(url, registry.find(url)) for url in urls])


def _find_hashed(registry: LocalRegistry, body: bytes) -> bytes:
    return protocol.hashed_response(registry.lookup_hashed(protocol.read_hashed_request(body)))


async def _lookup(request: web.Request) -> web.Response:
    """``POST /v1/lookup``: the entries covering each URL asked, named by the URL as asked."""
    return await _batch(request, _find)


async def _lookup_hashed(request: web.Request) -> web.Response:
    """``POST /v1/lookup-hashed``: every entry whose hash key's digest has a prefix asked."""
    return await _batch(request, _find_hashed)


async def _expect(request: web.Request) -> web.StreamResponse | None:
    """``Expect: 100-continue``: a body over the limit is refused before the client sends it."""
    if request.headers.get("Expect", "").lower() != "100-continue":
        return _error(417, f"unknown expectation: {request.headers.get('Expect')}")
    state = request.app[_STATE]
    if (request.content_length or 0) > state.max_body:
        return _error(413, state.too_large)
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None


def _matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names *etag* (weak comparison, RFC 9110 §13.1.2)."""
    tags = [tag.strip().removeprefix("W/") for tag in (header or "").split(",")]
    return "*" in tags or etag in tags


def _chunk(entries: Iterator[RegistryEntry]) -> bytes:
    """The next entries of a snapshot, one JSON object a line; ``b""`` once they are all read."""
    chunk = itertools.islice(entries, SNAPSHOT_CHUNK)
    return ",\n".join(
        json.dumps(protocol.entry_json(e), separators=(",", ":")) for e in chunk
    ).encode()


async def _snapshot(request: web.Request) -> web.StreamResponse:
    """``GET /v1/snapshot``: every entry, streamed as a JSON list, with a strong ETag."""
    state = request.app[_STATE]
    headers = {"ETag": state.etag, "Cache-Control": "no-cache"}
    if _matches(request.headers.get("If-None-Match"), state.etag):
        return web.Response(status=304, headers=headers)
    if request.method == "HEAD":
        return web.Response(headers=headers, content_type=_JSON)
    entries = state.registry.entries()  # a generator: its first chunk runs the query
    read = functools.partial(state.run, state.snapshots, functools.partial(_chunk, entries))
    try:
        chunk = await read()  # before the status is sent: a failure here is a 503
        response = web.StreamResponse(headers=headers)
        response.content_type = _JSON
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"[\n" + chunk)
        try:
            while chunk:
                chunk = await read()
                if chunk:
                    await response.write(b",\n" + chunk)
        except _Failure:  # too late for a status: the connection drops, the client sees the cut
            raise ConnectionResetError("registry unreadable, snapshot cut short") from None
        await response.write(b"\n]\n")
        await response.write_eof()
        return response
    finally:
        if isinstance(entries, Generator):  # closed in the thread that uses its cursor
            with contextlib.suppress(RuntimeError):  # the pool is already shut down
                state.snapshots.submit(entries.close)


def make_app(
    registry: LocalRegistry, *, max_body: int = MAX_BODY, read_timeout: float = READ_TIMEOUT
) -> web.Application:
    """The service's aiohttp application over *registry* (left open: the caller closes it).

    Args:
        registry: the registry served; its file must not change while served (the ETag is its hash).
        max_body: bytes of a request body read; a larger one is answered 413.
        read_timeout: seconds a client has to send its request body; after that, 408.
    """
    app = web.Application(client_max_size=max_body, middlewares=[_errors])
    state = _State(registry, max_body, read_timeout)
    app[_STATE] = state
    app.router.add_post("/v1/lookup", _lookup, expect_handler=_expect)
    app.router.add_post("/v1/lookup-hashed", _lookup_hashed, expect_handler=_expect)
    app.router.add_get("/v1/snapshot", _snapshot)
    app.on_cleanup.append(lambda _app: state.close())
    return app


async def _run(registry: LocalRegistry, path: str, host: str, port: int) -> None:
    """Serve *registry* until SIGINT or SIGTERM."""
    runner = web.AppRunner(make_app(registry), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        actual = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        sys.stdout.write(f"serving {path} on http://{shown}:{actual}\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform
                loop.add_signal_handler(number, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def serve(path: str, host: str, port: int) -> None:
    """Serve the registry file *path* on *host*:*port* (0: any free port) until interrupted.

    Prints one line, ``serving PATH on http://HOST:PORT``, once listening.

    Raises:
        ValueError: *path* is not a registry file (missing, malformed input).
        OSError: the address cannot be listened on.
    """
    registry = LocalRegistry(path)
    try:
        asyncio.run(_run(registry, path, host, port))
    except KeyboardInterrupt:
        pass  # where signal handlers are not available, Ctrl-C ends the service
    finally:
        registry.close()
