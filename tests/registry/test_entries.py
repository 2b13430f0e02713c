"""Registry entries: canonical forms, hosts and keys, and reading CSV and JSON input files."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout.registry.entries import (
    _canonical_url,
    canonical_host,
    canonical_url,
    host_of,
    key_of,
    load_entries,
    origin_end,
)

CANONICAL = [
    ("HTTPS://Example.ORG/Art?x=1#top", "https://example.org/Art?x=1"),
    ("https://example.org:443/a", "https://example.org/a"),
    ("http://example.org:80/a", "http://example.org/a"),
    ("http://example.org:8080/a", "http://example.org:8080/a"),
    ("https://example.org", "https://example.org/"),
    ("https://example.org.", "https://example.org/"),
    ("https://example.org?q", "https://example.org/?q"),
    ("https://example.org/a%2Fb", "https://example.org/a%2Fb"),
    ("https://[::1]:8443/x", "https://[::1]:8443/x"),
    ("https://user@Example.org/x", "https://example.org/x"),  # userinfo names no resource
    ("ftp://example.org/x", "ftp://example.org/x"),  # not http(s): as given
    ("not a url", "not a url"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url(url, expected):
    """Scheme and host lower-cased, default port, fragment and trailing dot dropped, path kept."""
    assert canonical_url(url) == expected


labels = st.from_regex(r"[a-zA-Z0-9-]{1,12}", fullmatch=True)
plain_urls = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{'.'.join(host)}{port}{path}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.lists(labels, min_size=1, max_size=4),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":"]),
    st.from_regex(r"([/?][!-~]*)?", fullmatch=True),
)


@given(plain_urls)
def test_the_fast_path_agrees_with_urlsplit(url):
    """For plain URLs, the regex path of canonical_url gives what the urlsplit path gives."""
    assert canonical_url(url) == _canonical_url(url)


@pytest.mark.parametrize(
    ("canon", "host"),
    [
        ("https://www.example.org/a", "www.example.org"),
        ("https://example.org:8080/a", "example.org"),
        ("https://u:p@example.org/", "example.org"),
        ("https://[::1]:8443/x", "::1"),
    ],
)
def test_host_of_reads_the_host_as_urlsplit_does(canon, host):
    """The host after any userinfo, inside IPv6 brackets, before the port."""
    assert host_of(canon) == host


def test_canonical_host_keys_and_origin_end():
    """Hosts compare lower-case without trailing dot; keys carry their scope's letter."""
    assert canonical_host(" WWW.Example.COM. ") == "www.example.com"
    assert canonical_host("https://Example.com:8080/x") == "example.com"
    assert key_of("domain", "Example.com") == "d:example.com"
    assert key_of("host", "www.example.com") == "h:www.example.com"
    assert key_of("prefix", "HTTPS://e.org/Art") == "p:https://e.org/Art"
    assert key_of("url", "https://e.org:443/a#x") == "u:https://e.org/a"
    assert origin_end("https://e.org/a/b") == len("https://e.org")
    assert origin_end("https://e.org") == len("https://e.org")


def test_csv_and_json_inputs_give_the_same_entries(tmp_path):
    """Every column is read; purposes as ';'-text or a list; permits as text or a boolean."""
    (tmp_path / "r.csv").write_text(
        "scope,value,purposes,policy,registered,source,permits\n"
        "domain,example.com,train-ai;tdm,https://example.com/p,2026-03-01,Média,\n"
        "url,https://e.org/x,,,,,true\n",
        encoding="utf-8",
    )
    rows = [
        {"scope": "domain", "value": "example.com", "purposes": ["tdm", "train-ai"],
         "policy": "https://example.com/p", "registered": "2026-03-01", "source": "Média"},
        {"scope": "url", "value": "https://e.org/x", "permits": True},
    ]  # fmt: skip
    (tmp_path / "r.json").write_text(json.dumps(rows), encoding="utf-8")
    from_csv = list(load_entries(tmp_path / "r.csv"))
    assert from_csv == list(load_entries(tmp_path / "r.json"))
    first, second = from_csv
    assert first.purposes == frozenset({"train-ai", "tdm"})
    assert first.source == "Média"
    assert not first.permits
    assert second.permits
    assert second.purposes == frozenset()


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("planet,e.org,,,,", "row 1: scope must be one of"),
        ("prefix,/relative,,,,", "row 1: value must be an absolute http(s) URL"),
        ("domain,e.org,dance,,,", "row 1: unknown purposes ['dance']"),
        ("domain,e.org,,,March,", "row 1: registered must be an ISO date"),
        ("domain,,,,,", "row 1: value must name a domain"),
        ("url,https://e.org:99999/,,,,", "row 1: value must be an absolute http(s) URL"),
    ],
)
def test_a_malformed_csv_row_is_refused_naming_file_row_and_column(tmp_path, row, words):
    """A malformed row raises ValueError naming the file, the row and what is wrong."""
    path = tmp_path / "bad.csv"
    path.write_text("scope,value,purposes,policy,registered,source\n" + row + "\n")
    with pytest.raises(ValueError, match=r"bad\.csv") as raised:
        list(load_entries(path))
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("r.csv", "scope,value,colour\n", "unknown columns ['colour']"),
        ("r.json", "{}", "expected a JSON list of entries"),
        ("r.json", "[1]", "entry 1: expected an object"),
        ("r.json", '[{"scope": "domain", "value": "e.org", "permits": "maybe"}]', "permits must"),
        ("r.json", '[{"scope": "domain", "value": 5}]', "value must be text"),
        ("r.json", "[", "cannot read"),
        ("r.txt", "", "must end in .csv or .json"),
    ],
)
def test_a_malformed_file_is_refused_saying_why(tmp_path, name, text, words):
    """Unknown columns, wrong JSON shapes, bad types, unreadable files: ValueError saying why."""
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")) as raised:
        list(load_entries(tmp_path / name))
    assert words in str(raised.value)
