"""The local benchmark site: N origins of ~5 KB HTML pages, served from a process of its own.

Each origin is a threaded ``http.server`` on 127.0.0.1 with HTTP/1.1 keep-alive, answering
``/robots.txt`` (allow everything), ``/page/<n>`` (a ~5 KB page with a realistic head) and 404 for
everything else (``/.well-known/tdmrep.json``, ``/ai.txt``). The servers run in a child process so
that they do not compete with the measured client for the GIL.

``with local_site(20) as ports: ...`` starts the origins and stops them on exit.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROBOTS = b"User-agent: *\nAllow: /\n"


def html_page(size: int = 5 * 1024) -> bytes:
    """A ~5 KB page with a realistic head (charset, title, a few meta and link tags)."""
    head = (
        b'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A page</title>'
        b'<meta name="viewport" content="width=device-width, initial-scale=1">'
        b'<meta name="description" content="A page of the benchmark site.">'
        b'<meta name="robots" content="index, follow">'
        b'<link rel="stylesheet" href="/static/site.css"></head><body>'
    )
    paragraph = (
        b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6 + b"</p>\n"
    )
    page = head
    while len(page) < size:
        page += paragraph
    return page[:size] + b"</body></html>"


PAGE = html_page()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites and the clients use
    disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stalls

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            status, body, kind = 200, ROBOTS, "text/plain"
        elif self.path.startswith("/page/"):
            status, body, kind = 200, PAGE, "text/html; charset=utf-8"
        else:  # /.well-known/tdmrep.json, /ai.txt
            status, body, kind = 404, b"", "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(origins: int) -> int:
    """Child process: start the origins, print their ports, serve until stdin closes."""
    servers = []
    for _ in range(origins):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    print(json.dumps([s.server_address[1] for s in servers]), flush=True)
    sys.stdin.read()  # the parent closes our stdin when it is done (or dies)
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


@contextlib.contextmanager
def local_site(origins: int) -> Iterator[list[int]]:
    """Run *origins* origins in a child process; yield their ports."""
    child = subprocess.Popen(
        [sys.executable, __file__, str(origins)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        yield json.loads(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    raise SystemExit(serve(int(sys.argv[1])))
