"""patterns.py: RFC 9309 normalisation and wildcard matching."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.patterns import Pattern, _plain_path, _split_path, normalize, target_of


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://e.org", "/"),
        ("https://e.org/foo/bar?baz=quz", "/foo/bar?baz=quz"),
        ("https://e.org/foo/bar?baz=https%3A%2F%2Ffoo.bar", "/foo/bar?baz=https%3A%2F%2Ffoo.bar"),
        ("https://e.org/foo/bar/ツ", "/foo/bar/%E3%83%84"),
        ("https://e.org/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"),
        ("https://e.org/foo/bar/%62%61%7A", "/foo/bar/baz"),
        ("https://e.org/a*b$c", "/a%2Ab%24c"),
        ("https://e.org/a#frag", "/a"),
        ("https://e.org/posts?", "/posts?"),
        ("https://e.org/posts?#x", "/posts?"),
        ("https://e.org/a b", "/a%20b"),
    ],
)
def test_target_of(url, target):
    """The RFC 9309 §2.2.2 table (rows 1, 3, 4, 5) and our literal * / $ encoding."""
    assert target_of(url) == target


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://e.org?q", "/?q"),
        ("https://e.org#f?x", "/"),
        ("https://e.org:8080", "/"),
        ("https://user@e.org/a?b#c", "/a?b"),
        ("http://[::1/a", "/a"),
        ("HTTP://e.org/a", "/a"),
        ("https://e.org/a\tb", "/ab"),
        (" https://e.org/a", "/a"),
    ],
)
def test_target_of_unusual_urls(url, target):
    """Empty paths before a query, odd authorities and characters urlsplit strips."""
    assert target_of(url) == target


_URL_PIECES = st.sampled_from(
    ["/", "?", "#", "a", "%41", "*", "$", ":", "@", "[", "]", "é", " ", ";"]
)


@given(
    st.sampled_from(["http://", "https://"]),
    st.sampled_from(["e.org", "e.org:81", "u@e.org", "[::1]", "[::1", "e.org]"]),
    st.lists(_URL_PIECES, max_size=12).map("".join),
)
def test_plain_path_agrees_with_urlsplit(scheme, authority, rest):
    """The urlsplit-free path of common URLs is urlsplit's, character for character."""
    url = scheme + authority + rest
    assert _plain_path(url) == _split_path(url)


@pytest.mark.parametrize(
    ("pattern", "target", "matches"),
    [
        ("/fish", "/fish.html", True),
        ("/fish$", "/fish", True),
        ("/fish$", "/fish?x=1", False),
        ("/*.php", "/folder/x.php", True),
        ("/*.php$", "/folder/x.php?y", False),
        ("*.gif$", "/img/a.gif", True),
        ("/a*b*c", "/a-b-c/d", True),
        ("/a*b*c", "/acb", False),
        ("/a$b", "/a%24b", True),
        ("/a$b", "/ab", False),
        ("/path/file-with-a-%2A.html", "/path/file-with-a-%2A.html", True),
        ("/path/file-with-a-%2A.html", "/path/file-with-a-b.html", False),
        ("*", "/anything", True),
        ("", "/anything", True),
    ],
)
def test_pattern_matches(pattern, target, matches):
    """Google semantics: * matches any run, $ anchors only at the end."""
    assert Pattern.compile(pattern).matches(target) is matches


def test_pattern_length_is_the_normalised_pattern_length():
    """The most-specific measure is the pattern's length in octets (Google)."""
    assert Pattern.compile("/*.php").length == 6
    assert Pattern.compile("/caf%c3%a9/").length == len("/caf%C3%A9/")


def test_pathological_pattern_is_bounded():
    """A /*a*a*a... pattern against a long path costs no backtracking blow-up (RFC 9309 §3)."""
    pattern = Pattern.compile("/" + "*a" * 200 + "b")
    start = time.perf_counter()
    assert not pattern.matches("/" + "a" * 100_000)
    assert time.perf_counter() - start < 2.0


@given(st.text(max_size=200))
def test_normalize_is_idempotent_and_ascii(text):
    """Normalising twice changes nothing and the result is printable ASCII."""
    once = normalize(text, is_pattern=True)
    assert normalize(once, is_pattern=True) == once
    assert all(0x21 <= ord(c) <= 0x7E for c in once)


@given(st.text(max_size=100), st.text(max_size=100))
def test_matching_never_raises(pattern, path):
    """Any pattern against any target gives a bool."""
    assert isinstance(Pattern.compile(pattern).matches(normalize(path, is_pattern=False)), bool)
