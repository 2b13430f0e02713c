"""Hashed lookups: hash keys, a URL's expressions, and covers — the same answers as a plain lookup."""

from __future__ import annotations

import csv
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapy_optout._core.models import RegistryEntry
from scrapy_optout.registry.hashing import PREFIX_HEX, covers, digest, expressions, hash_key
from scrapy_optout.registry.local import LocalRegistry


def test_digest_is_the_sha256_of_the_keys_utf8():
    """A digest is the lower-case hex SHA-256 of the key's UTF-8 bytes."""
    assert digest("d:exämple.org") == hashlib.sha256("d:exämple.org".encode()).hexdigest()


@pytest.mark.parametrize(
    ("scope", "value", "key"),
    [
        ("domain", "Example.org", "d:example.org"),
        ("host", "WWW.example.org.", "h:www.example.org"),
        ("url", "https://e.org:443/a#x", "u:https://e.org/a"),
        ("prefix", "https://e.org/art/20", "p:https://e.org/art/"),
        ("prefix", "https://e.org/art/", "p:https://e.org/art/"),
        ("prefix", "https://e.org", "p:https://e.org/"),
        ("prefix", "https://e.org/a?b/c", "p:https://e.org/"),  # a query's '/' is not a cut
    ],
)
def test_hash_key(scope, value, key):
    """Entries are filed under their key; a prefix under its value cut after its path's last '/'."""
    assert hash_key(scope, value) == key


def test_expressions_of_a_url():
    """Host and each domain above it, the host, the URL, and the path cut after each '/'."""
    assert expressions("https://WWW.e.org/a/b.html?x=/y#f") == [
        "d:www.e.org",
        "d:e.org",
        "d:org",
        "h:www.e.org",
        "u:https://www.e.org/a/b.html?x=/y",
        "p:https://www.e.org/",
        "p:https://www.e.org/a/",
    ]
    assert expressions("mailto:someone") == ["u:mailto:someone"]


@pytest.mark.parametrize(
    ("value", "url", "covered"),
    [
        ("https://e.org/a/b", "https://e.org/a/b/c", True),
        ("https://e.org/a/b", "https://e.org/a/bc", True),  # a prefix is a prefix of the text
        ("https://e.org/a/b/", "https://e.org/a/bc", False),
        ("https://e.org/a/b", "https://e.org/a/", False),
        ("https://e.org/a/b", "http://e.org/a/b", False),
        ("HTTPS://E.org:443/a", "https://e.org/a/x", True),
    ],
)
def test_covers_compares_a_prefix_whole(value, url, covered):
    """A prefix entry covers a URL only if the URL starts with the whole canonical prefix."""
    assert covers(RegistryEntry(scope="prefix", value=value), url) is covered


hosts = st.sampled_from(["e.org", "www.e.org", "a.b.e.org", "f.net"])
paths = st.sampled_from(["/", "/a", "/a/", "/a/b", "/a/b/c.html", "/ab", "/a/b?q=/x"])


def entries_csv(path, rows):
    """Write *rows* (scope, value) as a registry input file."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["scope", "value"])
        writer.writerows(rows)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["domain", "host"]), hosts),
            st.tuples(
                st.sampled_from(["prefix", "url"]),
                st.builds(lambda h, p: f"https://{h}{p}", hosts, paths),
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    st.builds(lambda h, p: f"https://{h}{p}", hosts, paths),
)
def test_the_hashed_route_finds_what_a_plain_lookup_finds(tmp_path_factory, rows, url):
    """lookup_hashed of a URL's digest prefixes, kept by digest and covers, equals find(url)."""
    source = tmp_path_factory.mktemp("reg") / "r.csv"
    entries_csv(source, rows)
    registry = LocalRegistry(source)
    try:
        mine = {digest(key) for key in expressions(url)}
        matches = registry.lookup_hashed([d[:PREFIX_HEX] for d in mine])
        hashed = {e for d, e in matches if d in mine and covers(e, url)}
        assert hashed == set(registry.find(url).entries)
    finally:
        registry.close()
