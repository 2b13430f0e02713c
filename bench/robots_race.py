"""Forbidden pages that reach the server when many requests wait for one robots.txt (issue 4).

A fresh local origin whose robots.txt (``Disallow: /private/``, answered after 0.3 s, so that every
request arrives while it is being fetched) is crawled with 40 start URLs under ``/private/`` and
``CONCURRENT_REQUESTS=32``, once with Scrapy's RobotsTxtMiddleware (``ROBOTSTXT_OBEY=True``) and once
with OptOutMiddleware. Prints, for each, how many of the 40 forbidden pages the server was asked
for. Scrapy 2.14-2.19 hands every waiter but the first a consumed Deferred, read as "no robots.txt"
(integration.md §1.3); ours must be 0.

Run: ``python bench/robots_race.py`` (``make bench`` runs it). Writes ``bench/results/robots_race.json``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from record import save  # bench/record.py, beside this file

STARTS = 40
VARIANTS: dict[str, dict[str, Any]] = {
    "RobotsTxtMiddleware": {"ROBOTSTXT_OBEY": True},
    "OptOutMiddleware": {
        "ROBOTSTXT_OBEY": False,
        "ADDONS": {"scrapy_optout.Addon": 0},
        "OPTOUT_USER_AGENT": "BenchBot",
        "OPTOUT_AUDIT_LOG": "",
    },
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    asked: list[str] = []  # noqa: RUF012 - one server per process, shared on purpose

    def do_GET(self) -> None:
        Handler.asked.append(self.path)
        if self.path == "/robots.txt":
            time.sleep(0.3)
            body, status = b"User-agent: *\nDisallow: /private/\n", 200
        elif self.path.startswith("/private/"):
            body, status = b"<html><head></head><body>forbidden</body></html>", 200
        else:
            body, status = b"", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def crawl(variant: str, origin: str) -> int:
    """Child process: one crawl of the 40 forbidden URLs."""
    import scrapy
    from scrapy.crawler import AsyncCrawlerProcess

    class Starts(scrapy.Spider):
        name = "starts"

        async def start(self) -> Any:
            for i in range(STARTS):
                yield scrapy.Request(f"{origin}/private/{i}", errback=lambda failure: None)

        def parse(self, response: Any) -> None:
            pass

    settings = {
        "USER_AGENT": "BenchBot/1.0",
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        **VARIANTS[variant],
    }
    process = AsyncCrawlerProcess(settings)
    process.crawl(Starts)
    process.start()
    return 0


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--crawl":
        return crawl(sys.argv[2], sys.argv[3])
    results: dict[str, int] = {}
    for variant in VARIANTS:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a fresh origin each time
        threading.Thread(target=server.serve_forever, daemon=True).start()
        Handler.asked = []
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        subprocess.run([sys.executable, __file__, "--crawl", variant, origin], check=True)
        server.shutdown()
        server.server_close()
        results[variant] = sum(1 for path in Handler.asked if path.startswith("/private/"))
    print(f"{STARTS} start URLs disallowed by robots.txt, CONCURRENT_REQUESTS=32, one fresh origin")
    for variant, count in results.items():
        print(f"{variant:<22} forbidden pages requested from the server: {count}")
    save("robots_race", {"start_urls": STARTS, "forbidden_pages_requested": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
