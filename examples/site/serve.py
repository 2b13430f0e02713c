"""Serve the bundled example web (``web.py``) on 127.0.0.1, one port per origin.

Run it: ``python examples/site/serve.py`` serves the origins on ports 8700, 8701… (``--port 0``:
any free ports) until Ctrl-C, prints them, and writes the example registry and licence register,
with the origins' real URLs, into ``--out`` (``demo-output/`` by default). From Python,
``ExampleWeb`` does the same as a context manager and keeps the server's request log.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or imported by path
import web

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+


class ExampleWeb:
    """The example web, served on 127.0.0.1 while the context is open.

    Attributes:
        urls: each origin's ``http://127.0.0.1:PORT``, by origin name.
        origins: the origins as :func:`web.build` describes them.
        requests: every request served, as (origin name, path), in arrival order.
    """

    def __init__(self, port: int = 0) -> None:
        """Serve on *port*, *port* + 1… in :data:`web.ORIGINS` order (0: free ports)."""
        self.port = port
        self.urls: dict[str, str] = {}
        self.origins: list[web.Origin] = []
        self.requests: list[tuple[str, str]] = []
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        """Bind every origin's port, then serve each from its own thread."""
        try:
            servers: dict[str, _OriginServer] = {}
            for n, name in enumerate(web.ORIGINS):
                server = _OriginServer(("127.0.0.1", self.port and self.port + n), _Handler)
                self._stack.callback(server.server_close)
                servers[name] = server
                self.urls[name] = f"http://127.0.0.1:{server.server_address[1]}"
            self.origins = web.build(self.urls.__getitem__)
            for origin in self.origins:
                self._stack.enter_context(_serving(servers[origin.name], origin, self.requests))
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        """Stop every server and wait for its thread."""
        self._stack.close()

    def url(self, name: str, path: str = "/") -> str:
        """The absolute URL of *path* on origin *name*."""
        return self.urls[name] + path

    def write_config(self, folder: Path) -> tuple[Path, Path]:
        """Write the example registry (CSV) and licence register (TOML) into *folder*."""
        folder.mkdir(parents=True, exist_ok=True)
        registry, licences = folder / "registry.csv", folder / "licences.toml"
        registry.write_text(web.registry_csv(self.urls.__getitem__))
        licences.write_text(web.licences_toml(self.urls.__getitem__))
        return registry, licences


class _Handler(BaseHTTPRequestHandler):
    """Answers from the origin the server carries (``server.origin``); 404 for unknown paths."""

    server: _OriginServer

    def do_GET(self) -> None:
        self.server.requests.append((self.server.origin.name, self.path))
        found = self.server.origin.find(self.path.split("?", 1)[0])
        if found is None:
            found = web.Resource(self.path, b"Not Found", "text/plain", 404, visited=False)
        self.send_response(found.status)
        self.send_header("Content-Type", found.content_type)
        for name, value in found.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(found.body)))
        self.end_headers()
        self.wfile.write(found.body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is kept in ExampleWeb.requests


class _OriginServer(ThreadingHTTPServer):
    """A server that also carries the origin it serves and the shared request log."""

    origin: web.Origin
    requests: list[tuple[str, str]]


@contextmanager
def _serving(server: _OriginServer, origin: web.Origin,
             requests: list[tuple[str, str]]) -> Iterator[None]:  # fmt: skip
    """Serve *origin* with *server* from a thread while the context is open."""
    server.origin = origin
    server.requests = requests
    server.daemon_threads = True
    # A short poll interval: shutdown() waits up to one interval per server, and there are 13.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"site-{origin.name}")
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()


def main(argv: list[str] | None = None) -> int:
    """Serve the example web until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8700, help="first port (0: any free ports)")
    parser.add_argument("--out", type=Path, default=Path("demo-output"),
                        help="where to write registry.csv and licences.toml")  # fmt: skip
    args = parser.parse_args(argv)
    with ExampleWeb(args.port) as site:
        registry, licences = site.write_config(args.out)
        for origin in site.origins:
            print(f"{site.url(origin.name):<24} {origin.name:<10} {origin.about}")
        print(f"\nregistry: {registry}\nlicences: {licences}\nserving until Ctrl-C", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # kill: stop as Ctrl-C does
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
