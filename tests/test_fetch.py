"""_fetch.py: side-document fetches through a transport: redirects, caps, bombs, failures."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import httpx
import pytest

from scrapy_optout._core.models import Doc, Need
from scrapy_optout._fetch import CAPS, BodyReader, afetch, deadline_for, fetch

NEED = Need(Doc.TDMREP, "https://e.org/.well-known/tdmrep.json", "https://e.org:443")
ROBOTS = Need(Doc.ROBOTS, "https://e.org/robots.txt", "https://e.org:443")


def both(handler, need=NEED, seconds=5.0):
    """Run the sync and async fetch over MockTransport and check they agree."""
    sync = fetch(httpx.MockTransport(handler), need, "MyAIBot", seconds)
    async_ = asyncio.run(afetch(httpx.MockTransport(handler), need, "MyAIBot", seconds))
    assert sync == async_
    return sync


def test_plain_fetch_sends_our_user_agent():
    """The body comes back with its status, fetched with our User-Agent."""
    seen = []

    def handler(request):
        seen.append(request.headers["user-agent"])
        return httpx.Response(200, content=b"[]", headers={"Content-Type": "application/json"})

    fetched = both(handler)
    assert (fetched.status, fetched.body, fetched.error) == (200, b"[]", None)
    assert fetched.content_type == "application/json"
    assert seen == ["MyAIBot", "MyAIBot"]


@pytest.mark.parametrize(("hops", "error"), [(5, None), (6, "redirects")])
def test_redirect_limit(hops, error):
    """Up to 5 redirects are followed, even across hosts; a 6th is 'redirects' (RFC 9309)."""

    def handler(request):
        step = int(request.url.params.get("n", "0"))
        if step < hops:
            return httpx.Response(
                301, headers={"Location": f"https://cdn{step}.other.org/r?n={step + 1}"}
            )
        return httpx.Response(200, content=b"ok")

    fetched = both(handler)
    assert fetched.error == error
    assert fetched.url == NEED.url
    if error is None:
        assert fetched.final_url == "https://cdn4.other.org/r?n=5"


def test_redirect_to_other_scheme_is_not_followed():
    """A redirect to ftp: or file: is 'scheme' (DESIGN §5.2)."""
    fetched = both(lambda r: httpx.Response(302, headers={"Location": "ftp://e.org/robots.txt"}))
    assert fetched.error == "scheme"


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.ReadTimeout("t"), "timeout"),
        (httpx.ConnectError("refused"), "network"),
        (OSError("dns"), "network"),
    ],
)
def test_failures_become_data(exc, error):
    """Transport errors are reported in Fetched, never raised."""

    def handler(request):
        raise exc

    assert both(handler).error == error


def test_body_over_cap_is_too_large():
    """A document over its cap is cut at the cap and flagged too_large."""
    big = b"x" * (CAPS[Doc.TDMREP] + 10)
    fetched = both(lambda r: httpx.Response(200, content=big))
    assert fetched.error == "too_large"
    assert len(fetched.body) == CAPS[Doc.TDMREP]


def test_gzip_bomb_stops_at_the_cap():
    """A gzip bomb is decoded only up to the cap (memory bounded)."""
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    fetched = both(
        lambda r: httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})
    )
    assert fetched.error == "too_large"
    assert len(fetched.body) == CAPS[Doc.TDMREP]


def test_robots_cap_is_500_kib():
    """robots.txt is read on its first 500 KiB."""
    fetched = both(lambda r: httpx.Response(200, content=b"#" * 600_000), need=ROBOTS)
    assert len(fetched.body) == 512_000


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate", "identity"])
def test_body_reader_codings(coding):
    """gzip, zlib deflate, raw deflate and identity bodies decode in small chunks."""
    data = b"User-agent: *\nDisallow: /\n" * 100
    if coding == "gzip":
        raw = gzip.compress(data)
    elif coding == "deflate":
        raw = zlib.compress(data)
    elif coding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        raw = compressor.compress(data) + compressor.flush()
        coding = "deflate"
    else:
        raw = data
    reader = BodyReader(coding, 1 << 20)
    for i in range(0, len(raw), 7):
        reader.feed(raw[i : i + 7])
    assert (reader.body, reader.error, reader.full) == (data, None, False)


def test_body_reader_refuses_unknown_coding_and_corrupt_data():
    """An unknown coding or corrupt data is an error, not a crash."""
    assert BodyReader("br", 10).error == "unsupported content-coding 'br'"
    reader = BodyReader("gzip", 100)
    reader.feed(b"not gzip at all")
    assert reader.error == "corrupt compressed body"


def test_deadline_from_the_request_timeout():
    """The deadline is the largest timeout component, at most 30 s."""
    request = httpx.Request(
        "GET",
        "https://e.org/",
        extensions={"timeout": {"connect": 2.0, "read": 7.0, "write": None, "pool": 1.0}},
    )
    assert deadline_for(request) == 7.0
    assert deadline_for(httpx.Request("GET", "https://e.org/")) == 30.0
    long = httpx.Request("GET", "https://e.org/", extensions={"timeout": {"read": 300.0}})
    assert deadline_for(long) == 30.0


def test_spent_deadline_is_a_timeout():
    """With no time left the fetch is a timeout without sending anything."""
    sent = []
    fetched = fetch(
        httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)), NEED, "MyAIBot", 0.0
    )
    assert fetched.error == "timeout"
    assert sent == []
