"""OptOutClient, the synchronous httpx client that honours AI-training opt-outs.

Run it: ``python examples/httpx_sync.py``. It starts a tiny website on 127.0.0.1 (a thread with
``http.server``) that has three pages:

* ``/article``         an ordinary page: allowed;
* ``/private/report``  disallowed by robots.txt: skipped before the request is sent;
* ``/noai``            answered with ``X-Robots-Tag: noai``: skipped when its headers arrive.

It fetches them with ``OptOutClient``, prints what happened, writes a compliance log to a temporary
folder and verifies the log's hash chain. Nothing leaves this machine.

``python examples/httpx_sync.py --log LOG URL...`` fetches those URLs instead, appending each
decision to LOG (``--registry`` and ``--licences`` as ``Policy.registry`` and a licence register
file); ``make demo`` uses it on the bundled example web.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from scrapy_optout import OptedOutError, OptOutClient, Policy
from scrapy_optout.audit import read, verify
from scrapy_optout.licences import load_licences

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


def fetch(client: OptOutClient, url: str, label: str) -> None:
    """GET *url* and say what happened: allowed (with its decision) or skipped, and why."""
    try:
        response = client.get(url)
    except OptedOutError as skipped:  # also an httpx.RequestError
        decision = skipped.decision
        codes = ", ".join(reason.code for reason in decision.reasons)
        print(f"skipped {label}: {codes} ({decision.stage} stage)")
        for reason in decision.reasons:
            print(f"    {reason.signal}: {reason.detail} [{reason.source}]")
        return
    decision = response.extensions["optout"]  # the decision travels with the response
    print(f"allowed {label}: HTTP {response.status_code}, {len(response.content)} bytes, "
          f"action {decision.action}")


def own_site() -> int:
    """Fetch the three pages of a local website started here, then check the log."""
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
                    fetch(client, base + path, path)
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


def main(argv: list[str] | None = None) -> int:
    """Without URLs, run against the built-in site; with URLs, fetch those into ``--log``."""
    parser = argparse.ArgumentParser(description="Fetch URLs with OptOutClient.")
    parser.add_argument("urls", nargs="*", help="URLs to fetch (none: use a built-in local site)")
    parser.add_argument("--log", default="optout-audit.jsonl", help="the compliance log")
    parser.add_argument("--user-agent", default="MyAIBot", help="your crawler's product token")
    parser.add_argument("--registry", help="a registry file or service (Policy.registry)")
    parser.add_argument("--licences", help="your licence register file (.csv, .json, .toml)")
    args = parser.parse_args(argv)
    if not args.urls:
        return own_site()
    policy = Policy(user_agent=args.user_agent, audit_log=args.log, registry=args.registry,
                    licences=load_licences(args.licences) if args.licences else ())
    with OptOutClient(policy=policy, timeout=10) as client:  # appends to the log, chained on
        for url in args.urls:
            fetch(client, url, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
