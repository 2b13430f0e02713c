"""documents.py: RFC 9309 and TDMRep status-code outcomes as data."""

from __future__ import annotations

import pytest

from scrapy_optout._core.documents import (
    State,
    document_from_fetch,
    redirect_target,
    registry_document,
)
from scrapy_optout._core.models import Doc, Fetched, RegistryAnswer


@pytest.mark.parametrize(
    ("doc", "status", "error", "state"),
    [
        (Doc.ROBOTS, 200, None, State.OK),
        (Doc.ROBOTS, 404, None, State.ABSENT),
        (Doc.ROBOTS, 401, None, State.ABSENT),
        (Doc.ROBOTS, 403, None, State.ABSENT),
        (Doc.ROBOTS, 429, None, State.UNAVAILABLE),
        (Doc.ROBOTS, 500, None, State.UNAVAILABLE),
        (Doc.ROBOTS, 503, None, State.UNAVAILABLE),
        (Doc.ROBOTS, 0, "timeout", State.UNAVAILABLE),
        (Doc.ROBOTS, 0, "network", State.UNAVAILABLE),
        (Doc.ROBOTS, 301, "redirects", State.ABSENT),
        (Doc.ROBOTS, 302, "scheme", State.UNAVAILABLE),
        (Doc.ROBOTS, 200, "too_large", State.OK),
        (Doc.TDMREP, 200, None, State.OK),
        (Doc.TDMREP, 404, None, State.ABSENT),
        (Doc.TDMREP, 429, None, State.UNAVAILABLE),
        (Doc.TDMREP, 503, None, State.UNAVAILABLE),
        (Doc.TDMREP, 200, "too_large", State.UNAVAILABLE),
        (Doc.TDMREP, 301, "redirects", State.UNAVAILABLE),
        (Doc.AI_TXT, 200, None, State.OK),
        (Doc.AI_TXT, 410, None, State.ABSENT),
        (Doc.AI_TXT, 0, "timeout", State.UNAVAILABLE),
        (Doc.LICENCE, 200, None, State.OK),  # parsed as RSL; an invalid one is unlicensed
        (Doc.LICENCE, 404, None, State.ABSENT),
        (Doc.LICENCE, 503, None, State.UNAVAILABLE),
    ],
)
def test_status_outcomes(doc, status, error, state):
    """R25-R28, T13-T14: each status or failure maps to ok, absent or unavailable."""
    fetched = Fetched(url="https://e.org/d", status=status, body=b"[]", error=error)
    document = document_from_fetch(doc, fetched)
    assert document.state is state
    assert (document.parsed is not None) is (state is State.OK)
    assert (document.evidence is not None) is (state is State.OK)


def test_unavailable_detail_says_why():
    """The detail names the status or the failure for the log."""
    assert document_from_fetch(Doc.ROBOTS, Fetched(url="u", status=503)).detail == "HTTP 503"
    fetched = Fetched(url="u", status=0, error="timeout")
    assert document_from_fetch(Doc.TDMREP, fetched).detail == "timeout"


def test_registry_document():
    """A registry answer is ok; None is unavailable."""
    assert registry_document(RegistryAnswer(), source="r").state is State.OK
    assert registry_document(None, source="r").state is State.UNAVAILABLE


@pytest.mark.parametrize(
    ("status", "location", "expected"),
    [
        (301, "/robots-new.txt", "https://e.org/robots-new.txt"),
        (308, "https://other.example/r.txt", "https://other.example/r.txt"),
        (302, " //cdn.example/r.txt ", "https://cdn.example/r.txt"),
        (200, "/ignored", None),
        (304, "/not-a-redirect", None),
        (301, None, None),
        (301, "", None),
    ],
)
def test_redirect_target(status, location, expected):
    """Redirects resolve against the current URL; other statuses and empty Locations are documents."""
    url = "https://e.org/robots.txt"
    assert redirect_target(url, url, status, location) == expected


def test_redirect_to_another_scheme_is_refused():
    """A redirect to ftp: is not followed: a refusal reporting the first URL (DESIGN §5.2)."""
    refusal = redirect_target("https://e.org/robots.txt", "https://e.org/x", 302, "ftp://e.org/r")
    assert isinstance(refusal, Fetched)
    assert (refusal.url, refusal.status, refusal.error) == ("https://e.org/robots.txt", 302, "scheme")


def test_robots_cut_by_its_cap_drops_the_partial_last_line():
    """A robots.txt the fetcher cut at its cap: the partial last line is not read as a rule."""
    body = b"User-agent: *\nDisallow: /\nAllow: /public-images/"[:-14]  # "...Allow: /pub"
    fetched = Fetched(url="https://e.org/robots.txt", status=200, body=body, error="too_large")
    document = document_from_fetch(Doc.ROBOTS, fetched)
    assert document.state is State.OK
    robots = document.parsed
    assert robots.truncated
    assert "robots.truncated" in robots.errors
    assert robots.select("MyAIBot").match("/public") is not None
    assert not robots.select("MyAIBot").match("/public").allow  # only "Disallow: /" was read


@pytest.mark.parametrize("location", ["http://[::1", "https://[x/robots.txt", "A://["])
def test_redirect_to_a_location_that_is_no_url_is_refused_not_raised(location):
    """Fuzz (fuzz/targets.py redirects): an unclosed IPv6 literal is a failed fetch, no ValueError."""
    refusal = redirect_target("https://e.org/robots.txt", "https://e.org/x", 302, location)
    assert isinstance(refusal, Fetched)
    assert (refusal.url, refusal.status, refusal.error) == ("https://e.org/robots.txt", 0, "network")
    assert document_from_fetch(Doc.ROBOTS, refusal).state is State.UNAVAILABLE
