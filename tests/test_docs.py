"""docs/: the registry protocol's examples are what the code computes and accepts."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

from scrapy_optout.registry import protocol
from scrapy_optout.registry.entries import load_entries
from scrapy_optout.registry.hashing import PREFIX_HEX, digest, expressions, hash_key

PROTOCOL = (Path(__file__).parent.parent / "docs" / "registry-protocol.md").read_text()


def blocks(kind: str) -> list[str]:
    """The fenced code blocks of *kind* in the protocol document, in order."""
    found = re.findall(rf"^ *```{kind}\n(.*?)^ *```", PROTOCOL, re.DOTALL | re.MULTILINE)
    return [textwrap.dedent(text) for text in found]  # blocks in list items are indented


def http_body(block: str) -> bytes:
    """The body of an HTTP message example (after its blank line)."""
    return block.split("\n\n", 1)[1].encode()


def test_the_worked_example_lists_the_urls_expressions_and_their_digest_prefixes():
    """The example table is expressions() of its URL, each with digest()[:8], in order."""
    url = re.search(r"Worked example, for `([^`]+)`", PROTOCOL)
    assert url is not None
    rows = re.findall(r"^\| `([dhup]:[^`]+)` \| `([0-9a-f]{8})` \|$", PROTOCOL, re.MULTILINE)
    assert rows == [(key, digest(key)[:PREFIX_HEX]) for key in expressions(url.group(1))]


def test_the_hashed_request_example_sends_the_tables_prefixes_sorted():
    """The example request is the sorted prefixes of the worked example, readable by the service."""
    request = next(b for b in blocks("http") if b.startswith("POST /v1/lookup-hashed"))
    prefixes = protocol.read_hashed_request(http_body(request))
    table = re.findall(r"^\| `[dhup]:[^`]+` \| `([0-9a-f]{8})` \|$", PROTOCOL, re.MULTILINE)
    assert prefixes == sorted(set(table))


def test_the_hashed_answer_example_carries_the_entrys_true_digest():
    """The example match's digest is the SHA-256 of its entry's hash key, under a sent prefix."""
    answer = next(b for b in blocks("http") if '"matches"' in b)
    match = json.loads(http_body(answer))["matches"][0]
    [entry] = protocol.read_hashed_response(http_body(answer))
    assert match["digest"] == digest(hash_key(entry.scope, entry.value))
    assert any(
        digest(key) == match["digest"]
        for key in expressions("https://Example.org/art/2019/a.html#top")
    )


def test_the_lookup_examples_are_valid_messages():
    """The /v1/lookup request and answer examples read back with the protocol's own codecs."""
    request, answer = (b for b in blocks("http") if "/v1/lookup " in b or '"results"' in b)
    urls = protocol.read_lookup_request(http_body(request))
    answers = protocol.read_lookup_response(http_body(answer))
    assert list(answers) == urls
    assert [e.value for e in answers[urls[0]].entries] == ["example.com"]
    assert answers[urls[1]].entries == ()


def test_the_input_file_examples_load(tmp_path):
    """The CSV and JSON input examples are registry input files the builder accepts."""
    (tmp_path / "r.csv").write_text(blocks("csv")[0])
    (tmp_path / "r.json").write_text(blocks("json")[0])
    from_csv = list(load_entries(tmp_path / "r.csv"))
    from_json = list(load_entries(tmp_path / "r.json"))
    assert [e.scope for e in from_csv] == ["domain", "prefix", "url"]
    assert from_json == from_csv[:1]
