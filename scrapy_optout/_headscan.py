"""Reading the front of a response body in a transport, and handing the body on whole.

A transport sees the raw, still content-encoded stream. To check the HTML ``<head>`` before the
caller gets the response, :class:`HeadBuffer` reads raw chunks until the decoded prefix holds the end
of the head (or the scan window is full, or the body ends), and the response handed on replays those
raw chunks before the rest of the stream, so the caller's own decoding and streaming are unchanged
(DESIGN §5.2 "Head scan": an allowed body reaches the caller whole). :class:`MetadataBuffer` does
the same for images, PDFs and EPUBs, reading only as far as the file's metadata goes (the core's
``embedded.bytes_needed`` says how far).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ._core.embedded import bytes_needed

_HEAD_END = re.compile(rb"</head|<body", re.IGNORECASE)


class HeadBuffer:
    """Raw chunks read so far and their decoded prefix (at most *limit* decoded bytes)."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        self.raw: list[bytes] = []
        self.done = False
        self.error: str | None = None
        self._decoded = bytearray()  # beyond the first chunk, or for a compressed body
        coding = content_encoding.strip().lower()
        self._zlib: Any = None
        if coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
        elif coding not in ("", "identity"):
            # br, zstd...: the head cannot be read here; the decision is taken on the headers.
            self.error = f"html.head_not_scanned: content-coding {coding[:40]}"
            self.done = True

    @property
    def decoded(self) -> bytes:
        """The decoded prefix of the body (the raw chunk itself when one plain chunk held it)."""
        if self._zlib is None and len(self.raw) == 1 and not self._decoded:
            return self.raw[0][: self.limit]  # the common case: no copy
        return bytes(self._decoded)

    def feed(self, chunk: bytes) -> None:
        """Keep a raw chunk and extend the decoded prefix; ``done`` once the head is in."""
        self.raw.append(chunk)
        if self.done:
            return
        if self._zlib is None and len(self.raw) == 1:
            # A plain body whose first chunk holds the head needs no copy (the common case).
            if len(chunk) >= self.limit or self._enough(chunk, 0):
                self.done = True
            else:
                self._decoded += chunk
            return
        decoded = self._decoded
        start = max(0, len(decoded) - 6)
        if self._zlib is None:
            decoded += chunk[: self.limit - len(decoded)]
        else:
            data = chunk
            try:
                while data and len(decoded) < self.limit:
                    decoded += self._zlib.decompress(data, self.limit - len(decoded))
                    data = self._zlib.unconsumed_tail
            except zlib.error:
                self.error = "html.head_not_scanned: corrupt compressed body"
                self.done = True
                return
        if len(decoded) >= self.limit or self._enough(decoded, start):
            self.done = True

    def _enough(self, decoded: bytes | bytearray, start: int) -> bool:
        """Whether the decoded prefix holds the end of the head (searched from *start* on)."""
        return _HEAD_END.search(decoded, start, self.limit) is not None

    @property
    def capped(self) -> bool:
        """Whether the window filled up before the reading was done."""
        return len(self.decoded) >= self.limit


class MetadataBuffer(HeadBuffer):
    """A :class:`HeadBuffer` for a *kind* file (``image``, ``pdf``, ``epub``).

    It reads as far as the file's metadata goes, within *limit* bytes.
    """

    def __init__(self, content_encoding: str, limit: int, kind: str) -> None:
        super().__init__(content_encoding, limit)
        self.kind = kind
        self._need = 0  # below this size, asking the core again cannot say "enough"

    def _enough(self, decoded: bytes | bytearray, start: int) -> bool:
        if len(decoded) < self._need:
            return False
        self._need = bytes_needed(self.kind, bytes(decoded))
        return self._need == 0


class ReplayStream(httpx.SyncByteStream):
    """The raw chunks already read, then the rest of the upstream stream."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes], upstream: Any) -> None:
        self._head = head
        self._rest = rest
        self._upstream = upstream  # the original stream, closed with this one

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        self._head = []
        yield from self._rest

    def close(self) -> None:
        """Close the upstream stream (which returns the connection to its pool)."""
        self._upstream.close()


class AsyncReplayStream(httpx.AsyncByteStream):
    """The raw chunks already read, then the rest of the upstream stream (async)."""

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], upstream: Any) -> None:
        self._head = head
        self._rest = rest
        self._upstream = upstream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        self._head = []
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        """Close the upstream stream (which returns the connection to its pool)."""
        await self._upstream.aclose()


def is_html(content_type: str | None) -> bool:
    """Whether a response may carry an HTML head worth scanning (no type: maybe)."""
    return content_type is None or "html" in content_type.lower()
