"""scopes.py: registry and licence scope matching (DESIGN §8)."""

from __future__ import annotations

import pytest

from scrapy_optout._core.scopes import host_of, scope_matches


@pytest.mark.parametrize(
    ("scope", "value", "url", "matches"),
    [
        ("domain", "example.org", "https://example.org/a", True),
        ("domain", "example.org", "https://img.cdn.example.org:8443/a", True),
        ("domain", "Example.ORG", "https://example.org./a", True),
        ("domain", "example.org", "https://badexample.org/a", False),
        ("host", "example.org", "http://example.org:8080/a", True),
        ("host", "example.org", "https://www.example.org/a", False),
        ("host", "https://example.org/", "https://example.org/x", True),
        ("prefix", "https://example.org/blog/", "https://example.org/blog/p", True),
        ("prefix", "https://example.org/blog/", "https://example.org/about", False),
        ("url", "https://example.org/a", "https://example.org/a", True),
        ("url", "https://example.org/a", "https://example.org/a?b", False),
        ("planet", "x", "https://x/", False),
    ],
)
def test_scope_matches(scope, value, url, matches):
    """A domain covers subdomains, a host any port, a prefix by string, a url exactly."""
    assert scope_matches(scope, value, url) is matches


def test_host_of_bad_url_is_empty():
    """A URL that cannot be split has no host, never an exception."""
    assert host_of("http://[::1") == ""
