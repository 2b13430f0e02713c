"""OptOutClient, the synchronous httpx client that honours AI-training opt-outs.

Run it: ``python examples/httpx_sync.py``. It starts a tiny website on 127.0.0.1 (a thread with
``http.server``) that has three pages:

* ``/article``         an ordinary page: allowed;
* ``/private/report``  disallowed by robots.txt: skipped before the request is sent;
* ``/noai``            answered with ``X-Robots-Tag: noai``: skipped when its headers arrive.

It fetches them with ``OptOutClient``, prints what happened, writes a compliance log to a temporary
folder and verifies the log's hash chain. Nothing leaves this machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from scrapy_optout import OptedOutError, OptOutClient, Policy
from scrapy_optout.audit import read, verify

ROBOTS = b"User-agent: *\nDisallow: /private/\n"
PAGE = b"<!doctype html><html><head><title>Hello</title></head><body><p>Hello.</p></body></html>"


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
        elif self.path not in ("/article", "/private/report"):
            status, body = 404, b""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the example's output readable


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory() as folder:
            log = str(Path(folder) / "optout-audit.jsonl")
            # user_agent is your crawler's product token: robots.txt groups and bot-scoped
            # directives are matched against it. audit_log records every decision.
            policy = Policy(user_agent="MyAIBot", purpose="train-ai", audit_log=log)
            # Any httpx.Client argument works; a transport you pass is wrapped, not replaced.
            with OptOutClient(policy=policy, timeout=10) as client:
                for path in ("/article", "/private/report", "/noai"):
                    try:
                        response = client.get(base + path)
                    except OptedOutError as skipped:  # also an httpx.RequestError
                        decision = skipped.decision
                        codes = ", ".join(reason.code for reason in decision.reasons)
                        print(f"skipped {path}: {codes} ({decision.stage} stage)")
                        for reason in decision.reasons:
                            print(f"    {reason.signal}: {reason.detail} [{reason.source}]")
                        continue
                    decision = response.extensions["optout"]  # the decision travels with it
                    print(f"allowed {path}: HTTP {response.status_code}, "
                          f"{len(response.content)} bytes, action {decision.action}")
            # Closing the client closed the log. Check its hash chain and what it holds.
            result = verify(log)
            print(f"log: {result.records} records, {'intact' if result.ok else result.problem}")
            for record in read(log):
                print(f"    #{record['seq']} {record['action']} {record['url']}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    # robots.txt was read once; the disallowed page was never requested.
    print("server saw:", " ".join(Site.requested))
    return 0 if result.ok and "/private/report" not in Site.requested else 1


if __name__ == "__main__":
    sys.exit(main())
