"""Reading the metadata inside a 20 MB image costs only the metadata's bytes (issue 7).

A local server (a thread on 127.0.0.1) streams a 20 MB JPEG in 64 KiB chunks and counts the bytes
it managed to send before the client hung up. Its XMP carries IPTC ``DMI-PROHIBITED`` (so
``OptOutClient`` decides on it and closes the response) or nothing (so the client hands the body
on, and the benchmark reads it whole, as a user would). Baseline in the same run: plain
``httpx.Client`` reading the same image. Figures: bytes sent per request (and their ratio to the
file's size), and seconds per request.

Run: ``python bench/embedded.py`` (``make bench`` runs it). Writes ``bench/results/embedded.json``.
"""

from __future__ import annotations

import io
import os
import statistics
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
from PIL import Image
from record import save  # bench/record.py, beside this file

from scrapy_optout import OptedOutError, OptOutClient, Policy

SIZE = 20 * 1024 * 1024
CHUNK = 64 * 1024
ROUNDS = 20
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
    b'plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/></rdf:RDF></x:xmpmeta>'
)


def big_jpeg(xmp: bytes | None) -> bytes:
    """A real JPEG of noise, padded after its image data to :data:`SIZE` bytes; XMP in APP1."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (1024, 1024), os.urandom(1024 * 1024 * 3)).save(
        buffer, "JPEG", quality=95
    )
    data = buffer.getvalue()
    if xmp is not None:
        payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
        segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        data = data[:2] + segment + data[2:]
    # Bytes after EOI are ignored by decoders: the file reaches 20 MB as a big photo would.
    return data + b"\x00" * (SIZE - len(data))


class Counting(BaseHTTPRequestHandler):
    """Serves ``/reserved.jpg`` and ``/plain.jpg``; adds the bytes sent to ``server.sent``."""

    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        sent = 0
        try:
            for start in range(0, len(body), CHUNK):
                self.wfile.write(body[start : start + CHUNK])
                sent += min(CHUNK, len(body) - start)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.server.sent.append(sent)  # type: ignore[attr-defined]

    def log_message(self, *args: Any) -> None:
        """Quiet."""


class Counted(httpx.SyncByteStream):
    """A response stream that adds the bytes it yields to *tally*."""

    def __init__(self, upstream: Any, tally: list[int]) -> None:
        self.upstream, self.tally = upstream, tally

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.upstream:
            self.tally[-1] += len(chunk)
            yield chunk

    def close(self) -> None:
        self.upstream.close()


class CountingTransport(httpx.HTTPTransport):
    """The transport under ``OptOutClient``: counts the body bytes read from each response."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith(".jpg"):
            self.read.append(0)
            response.stream = Counted(response.stream, self.read)
        return response


def serve() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    server.sent = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()


def measure(
    get: Any, url: str, server: ThreadingHTTPServer, read: list[int] | None = None
) -> dict[str, float]:
    """Seconds, bytes the server sent and bytes the client read, per request (median)."""
    server.sent.clear()  # type: ignore[attr-defined]
    if read is not None:
        read.clear()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        get(url)
        times.append(time.perf_counter() - started)
    time.sleep(0.2)  # let the handler threads record what they sent
    sent = server.sent  # type: ignore[attr-defined]
    figures = {"seconds": statistics.median(times), "bytes_sent": statistics.median(sent)}
    figures["bytes_read"] = statistics.median(read) if read else figures["bytes_sent"]
    return figures


def main() -> None:
    Counting.files = {"/reserved.jpg": big_jpeg(XMP), "/plain.jpg": big_jpeg(None)}
    results: dict[str, Any] = {"file_bytes": SIZE, "rounds": ROUNDS}
    for server in serve():
        base = f"http://127.0.0.1:{server.server_address[1]}"
        policy = Policy(user_agent="BenchBot")
        counting = CountingTransport()
        with httpx.Client() as plain, OptOutClient(policy=policy, transport=counting) as client:

            def skipped(url: str) -> None:
                try:
                    client.get(url)
                except OptedOutError:
                    return
                raise AssertionError("the reserved image was not skipped")

            client.get(base + "/plain.jpg")  # warm: robots.txt and friends are cached
            results["baseline_httpx"] = measure(
                lambda u: plain.get(u).content, base + "/reserved.jpg", server
            )
            results["optout_reserved"] = measure(
                skipped, base + "/reserved.jpg", server, counting.read
            )
            results["optout_plain"] = measure(
                lambda u: client.get(u).content, base + "/plain.jpg", server, counting.read
            )
    base_time = results["baseline_httpx"]["seconds"]
    for name in ("optout_reserved", "optout_plain"):
        entry = results[name]
        entry["bytes_ratio_to_file"] = round(entry["bytes_read"] / SIZE, 5)
        entry["time_ratio_to_httpx"] = round(entry["seconds"] / base_time, 3)
    for name, entry in results.items():
        if not isinstance(entry, dict):
            continue
        line = (
            f"{name:16} {entry['seconds'] * 1000:8.1f} ms  {entry['bytes_read']:>12,.0f} bytes read"
            f"  {entry['bytes_sent']:>12,.0f} sent"
        )
        if "bytes_ratio_to_file" in entry:
            line += (
                f"  ({entry['bytes_ratio_to_file']:.4%} of the file read, "
                f"{entry['time_ratio_to_httpx']:.3f}x plain httpx's time)"
            )
        print(line)
    save("embedded", results)


if __name__ == "__main__":
    main()
