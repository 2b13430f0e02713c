"""The reference registry service, run for tests as a user runs it, and a proxy that records bodies.

:class:`Service` starts ``scrapy-optout registry serve REG --port 0`` in a subprocess on 127.0.0.1
and reads the port it prints; :meth:`Service.stop` kills it (a service going down mid-crawl).
:class:`Recorder` is a local server that forwards every request to the service and keeps each
request body, so that tests can say what the service was told.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from werkzeug import Request, Response

from scrapy_optout.registry.local import LocalRegistry
from scrapy_optout.registry.server import make_app
from tests.httpsite import Site

ENTRIES = (
    "scope,value,purposes,policy,registered,source,permits\n"
    "domain,reserved.test,,https://reserved.test/licensing,2026-01-02,Reserved Press,\n"
    "prefix,{origin}/archive/,train-ai,,,,\n"
    "url,{origin}/one.html,,,,,\n"
    "prefix,{origin}/search/ai,ai-input,,,,\n"
    "url,{origin}/granted.html,,,,,true\n"
)
"""A registry about the test site at ``{origin}`` (and a domain nobody serves)."""


def write_registry(folder: Path, origin: str, name: str = "registry.csv") -> Path:
    """Write :data:`ENTRIES` for *origin* as a CSV input file; return its path."""
    path = folder / name
    path.write_text(ENTRIES.format(origin=origin), encoding="utf-8")
    return path


class Service:
    """``scrapy-optout registry serve`` on a free port of 127.0.0.1."""

    def __init__(self, registry: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scrapy_optout.cli", "registry", "serve", str(registry),
             "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        seen: list[str] = []
        for line in self.process.stdout:
            seen.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.root = f"http://127.0.0.1:{found.group(1)}"
                break
        else:
            self.stop()
            self.process.stdout.close()
            raise RuntimeError("the registry service did not start: " + "".join(seen))
        # Keep reading its output, so that a chatty service never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            self.process.stdout.read()

    def stop(self) -> None:
        """Kill the service and wait for it to be gone."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def run_service(registry: Path) -> Iterator[Service]:
    """A :class:`Service` for the duration of a fixture."""
    service = Service(registry)
    try:
        yield service
    finally:
        service.stop()


class Recorder(Site):
    """A local server in front of a registry service: forwards requests, records their bodies."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.upstream = upstream
        self.bodies: list[bytes] = []
        self.expect_request(re.compile(".*")).respond_with_handler(self._forward)

    def _forward(self, request: Request) -> Response:
        body = request.get_data()
        self.bodies.append(body)
        try:
            answer = httpx.request(
                request.method, self.upstream + request.full_path.rstrip("?"), content=body,
                headers={"Content-Type": request.headers.get("Content-Type", "")}, timeout=5.0,
            )  # fmt: skip
        except httpx.HTTPError:
            return Response(b"upstream down", status=502)
        return Response(answer.content, status=answer.status_code,
                        content_type=answer.headers.get("content-type"))  # fmt: skip


def recording(upstream: str) -> Iterator[Recorder]:
    """A started :class:`Recorder` in front of *upstream* for the duration of a fixture."""
    proxy = Recorder(upstream)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


class InProcess:
    """:func:`make_app` served on 127.0.0.1 by an event loop on a thread of this process."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.root = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the loop, then clean the application up and close the loop."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()


def serving(registry: LocalRegistry, **options: Any) -> Iterator[InProcess]:
    """An :class:`InProcess` service over *registry* for the duration of a fixture."""
    service = InProcess(make_app(registry, **options))
    try:
        yield service
    finally:
        service.stop()
        registry.close()
