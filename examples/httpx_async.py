"""AsyncOptOutClient, the asyncio httpx client that honours AI-training opt-outs.

Run it: ``python examples/httpx_async.py``. It starts a tiny website on 127.0.0.1 (a thread with
``http.server``) that has three pages:

* ``/article``         an ordinary page: allowed;
* ``/private/report``  disallowed by robots.txt: skipped before the request is sent;
* ``/noai``            answered with ``X-Robots-Tag: noai``: skipped when its headers arrive.

The three are fetched concurrently: robots.txt (and tdmrep.json, ai.txt) are fetched once for the
origin however many requests wait for them. A compliance log is written to a temporary folder and
its hash chain verified. Nothing leaves this machine.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx

from scrapy_optout import AsyncOptOutClient, OptedOutError, Policy
from scrapy_optout.audit import read, verify

ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PAGE = b"<!doctype html><html><head><title>Hello</title></head><body><p>Hello.</p></body></html>"
PATHS = ("/article", "/private/report", "/noai")


class Site(BaseHTTPRequestHandler):
    """The local website: robots.txt, three pages, 404 for anything else (tdmrep.json, ai.txt)."""

    requested: ClassVar[list[str]] = []  # every path asked for, to show what was never sent

    def do_GET(self) -> None:
        self.requested.append(self.path)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        status, body = 200, PAGE
        if self.path == "/robots.txt":
            headers["Content-Type"], body = "text/plain", ROBOTS
        elif self.path == "/noai":
            headers["X-Robots-Tag"] = "noai"  # the creator reserves this page against AI use
        elif self.path not in PATHS:
            status, body = 404, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the example's output readable


async def fetch(client: AsyncOptOutClient, base: str, path: str) -> str:
    """Fetch one page and say what happened, in one line (or a few, for a skip)."""
    try:
        response = await client.get(base + path)
    except OptedOutError as skipped:  # also an httpx.RequestError
        decision = skipped.decision
        codes = ", ".join(r.code for r in decision.reasons)
        lines = [f"skipped {path}: {codes} ({decision.stage} stage)"]
        lines += [f"    {r.signal}: {r.detail} [{r.source}]" for r in decision.reasons]
        return "\n".join(lines)
    except httpx.HTTPError as error:  # the site itself failed: not an opt-out
        return f"failed {path}: {error!r}"
    decision = response.extensions["optout"]  # the decision travels with the response
    return (f"allowed {path}: HTTP {response.status_code}, {len(response.content)} bytes, "
            f"action {decision.action}")


async def crawl(base: str, log: str) -> None:
    # user_agent is your crawler's product token: robots.txt groups and bot-scoped directives are
    # matched against it. audit_log records every decision (skips always, allows by default).
    policy = Policy(user_agent="MyAIBot", purpose="train-ai", audit_log=log)
    # Any httpx.AsyncClient argument works; a transport you pass is wrapped, not replaced.
    async with AsyncOptOutClient(policy=policy, timeout=10) as client:
        for line in await asyncio.gather(*(fetch(client, base, path) for path in PATHS)):
            print(line)


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            log = str(Path(folder) / "optout-audit.jsonl")
            asyncio.run(crawl(base, log))
            # Closing the client closed the log. Check its hash chain and what it holds.
            result = verify(log)
            print(f"log: {result.records} records, {'intact' if result.ok else result.problem}")
            for record in sorted(read(log), key=lambda r: str(r["url"])):
                print(f"    {record['action']} {record['url']}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    # robots.txt was read once for the three concurrent requests; the disallowed page never sent.
    print("server saw:", " ".join(sorted(Site.requested)))
    return 0 if result.ok and "/private/report" not in Site.requested else 1


if __name__ == "__main__":
    sys.exit(main())
