"""Headless Chromium for tests, kept on 127.0.0.1 as /work/shared/reference/chromium.md says.

Everything the browser would send elsewhere goes to :func:`sink`, a local port that accepts and
closes connections; names other than 127.0.0.1 and localhost do not resolve. :data:`CHROMIUM` is
Debian's package (``scripts/install-debian.sh chromium``, run by ``make test``): browsers are never
downloaded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    """Fail (not skip) when Debian's chromium is missing: the tests need a real browser."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is not installed: run scripts/install-debian.sh chromium {CHROMIUM} "
            "(or make test, which runs it)"
        )


@contextmanager
def sink() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and closes them at once."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)  # so that the thread sees the stop flag
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


def offline_args(sink_port: int) -> list[str]:
    """chromium.md's arguments, less those Playwright sets itself (headless, sandbox, profile)."""
    to = f"http://127.0.0.1:{sink_port}"
    return [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        f"--proxy-server={to}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        f"--component-updater=url-source={to}",
        f"--gaia-url={to}",
    ]


def playwright_settings(sink_port: int) -> dict[str, Any]:
    """Scrapy settings that render ``playwright=True`` requests in Debian's headless Chromium."""
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(CHROMIUM),
            "headless": True,
            "args": offline_args(sink_port),
        },
    }
