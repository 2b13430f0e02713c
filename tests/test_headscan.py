"""_headscan.py: reading the head off the raw stream, and replaying the body whole."""

from __future__ import annotations

import gzip

import httpx

from scrapy_optout._headscan import HeadBuffer, ReplayStream, is_html

PAGE = b"<html><head><title>t</title></head><body>" + b"x" * 10_000 + b"</body></html>"


def test_stops_once_the_head_has_ended():
    """Reading stops at the first chunk after </head (or <body)."""
    buffer = HeadBuffer("", 1 << 20)
    chunks = [PAGE[i : i + 16] for i in range(0, len(PAGE), 16)]
    for chunk in chunks:
        buffer.feed(chunk)
        if buffer.done:
            break
    assert buffer.done
    assert b"</head" in buffer.decoded
    assert len(buffer.raw) < len(chunks)


def test_one_chunk_holding_the_head_is_scanned_without_a_copy():
    """A plain first chunk that holds the head is the scanned prefix itself."""
    buffer = HeadBuffer("", 1 << 20)
    buffer.feed(PAGE)
    assert buffer.done
    assert buffer.decoded is PAGE


def test_head_end_split_across_chunks_is_found():
    """A head end cut between two chunks is seen once the second arrives."""
    cut = PAGE.index(b"</head") + 3
    buffer = HeadBuffer("", 1 << 20)
    buffer.feed(PAGE[:cut])
    assert not buffer.done
    buffer.feed(PAGE[cut:])
    assert buffer.done
    assert buffer.decoded == PAGE


def test_gzip_body_is_decoded_for_the_scan_and_kept_raw():
    """A gzip body is decoded for the scan while the raw chunks are kept for the caller."""
    raw = gzip.compress(PAGE)
    buffer = HeadBuffer("gzip", 1 << 20)
    for i in range(0, len(raw), 50):
        buffer.feed(raw[i : i + 50])
    assert bytes(buffer.decoded).startswith(b"<html><head>")
    assert b"".join(buffer.raw) == raw


def test_window_limit():
    """No more than the window is decoded, even without a head end."""
    buffer = HeadBuffer("", 100)
    buffer.feed(b"<html><head>" + b"a" * 500)
    assert buffer.done
    assert len(buffer.decoded) == 100


def test_unscannable_codings_are_an_error():
    """Br or corrupt gzip: no scan, an error recorded, the raw bytes still kept."""
    assert HeadBuffer("br", 10).error == "html.head_not_scanned: content-coding br"
    buffer = HeadBuffer("gzip", 100)
    buffer.feed(b"garbage")
    assert buffer.error == "html.head_not_scanned: corrupt compressed body"
    assert buffer.raw == [b"garbage"]


def test_replay_stream_yields_the_whole_body():
    """The chunks read for the scan come first, then the rest of the stream."""
    closed = []

    class Upstream(httpx.SyncByteStream):
        def close(self) -> None:
            closed.append(True)

    stream = ReplayStream([b"ab", b"cd"], iter([b"ef", b"gh"]), Upstream())
    assert b"".join(stream) == b"abcdefgh"
    stream.close()
    assert closed == [True]


def test_is_html():
    """HTML types and a missing type are scanned; others are not."""
    assert is_html("text/html; charset=utf-8")
    assert is_html("application/xhtml+xml")
    assert is_html(None)
    assert not is_html("image/png")
