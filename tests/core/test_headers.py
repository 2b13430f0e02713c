"""headers.py: every container, every field line, bounded."""

from __future__ import annotations

import email
import http.client

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scrapy.http.headers import Headers as ScrapyHeaders

from scrapy_optout._core.headers import MAX_VALUE_BYTES, read_signal_headers


def _message(text: str) -> http.client.HTTPMessage:
    return email.message_from_string(text, _class=http.client.HTTPMessage)  # type: ignore[return-value]


CONTAINERS = [
    pytest.param(lambda: {"X-Robots-Tag": ["noindex", "noai"]}, id="dict-of-lists"),
    pytest.param(lambda: [("X-Robots-Tag", "noindex"), ("x-robots-tag", "noai")], id="pairs"),
    pytest.param(lambda: [(b"X-Robots-Tag", b"noindex"), (b"X-ROBOTS-TAG", b"noai")], id="bytes"),
    pytest.param(lambda: httpx.Headers([("X-Robots-Tag", "noindex"), ("X-Robots-Tag", "noai")]),
                 id="httpx"),
    pytest.param(lambda: ScrapyHeaders({"X-Robots-Tag": ["noindex", "noai"]}), id="scrapy"),
    pytest.param(lambda: _message("X-Robots-Tag: noindex\nX-Robots-Tag: noai\n\n"), id="HTTPMessage"),
]


@pytest.mark.parametrize("make", CONTAINERS)
def test_every_container_keeps_every_field_line(make):
    """Repeated names all count, in order, whatever the container (DESIGN §3)."""
    assert read_signal_headers(make()).get("x-robots-tag") == ("noindex", "noai")


def test_irrelevant_fields_are_not_kept():
    """Only signal fields are collected."""
    headers = read_signal_headers({"Server": "x", "TDM-Reservation": " 1 "})
    assert dict(headers.fields) == {"tdm-reservation": ("1",)}


def test_none_and_garbage_never_raise():
    """An unreadable container is an error in the record, not an exception."""
    assert read_signal_headers(None).fields == {}
    assert read_signal_headers([("only-one",)]).errors[0].startswith("headers.unreadable")


def test_long_value_is_cut_with_an_error():
    """Values are read up to 64 KiB, with an error beyond (DESIGN §5.2)."""
    headers = read_signal_headers({"X-Robots-Tag": "n" * (MAX_VALUE_BYTES + 10)})
    assert len(headers.get("x-robots-tag")[0]) == MAX_VALUE_BYTES
    assert headers.errors == ("headers.value_too_long: x-robots-tag",)


def test_total_is_bounded_with_an_error():
    """Beyond 256 KiB of signal header data the rest is not read and an error is recorded."""
    lines = [("X-Robots-Tag", "x" * 60_000)] * 10
    headers = read_signal_headers(lines)
    assert len(headers.get("x-robots-tag")) == 4
    assert headers.errors[-1].startswith("headers.too_large")


def test_thousands_of_lines_are_all_read():
    """Thousands of X-Robots-Tag lines within the budget all count."""
    lines = [("X-Robots-Tag", "noindex")] * 5000 + [("X-Robots-Tag", "noai")]
    assert read_signal_headers(lines).get("x-robots-tag")[-1] == "noai"


@given(st.lists(st.tuples(st.one_of(st.text(), st.binary()), st.one_of(st.text(), st.binary()))))
def test_arbitrary_pairs_never_raise(pairs):
    """Arbitrary names and values give a valid record."""
    headers = read_signal_headers(pairs)
    assert all(isinstance(v, str) for values in headers.fields.values() for v in values)
