"""robots.py over 4,218 real robots.txt files (../shared/data/robots-corpus), checked with Protego.

Protego reads differently on purpose in three places, which the cross-check leaves out or counts
(standards.md §2.3, §2.7): it does not skip a UTF-8 BOM (we give it the text without one), it keeps
an empty query (``/posts?``: ``patterns.target_of`` drops it, so such paths are not compared), and
it ends a group at any unknown record (``Crawl-delay``, ``Noindex``), where RFC 9309 §2.2.4 says
other records MUST NOT change grouping; those files are the remaining disagreements, and in each
of them we are the stricter reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from protego import Protego

from scrapy_optout._core.patterns import target_of
from scrapy_optout._core.robots import MAX_ROBOTS_BYTES, RobotsTxt, parse_robots
from tests.core.test_robots import check_valid

CORPUS = Path(__file__).resolve().parents[3] / "shared/data/robots-corpus"
PATHS = [
    "/",
    "/search",
    "/admin/",
    "/index.html",
    "/wp-admin/admin-ajax.php",
    "/api/v1/x?y=1",
    "/cgi-bin/",
    "/private/a.pdf",
]
_RULE_PATH = re.compile(r"(?im)^\s*(?:dis)?allow\s*:\s*(/[^\s#*$]*)")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/data/robots-corpus is not present"),
]


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, bytes, RobotsTxt]]:
    files = sorted(CORPUS.iterdir())
    return [(f.name, body, parse_robots(body)) for f in files for body in [f.read_bytes()]]


def test_every_file_parses_to_a_valid_record(corpus):
    """No file raises; each result keeps every invariant and answers for several tokens."""
    assert len(corpus) >= 4000
    for _name, _body, doc in corpus:
        check_valid(doc)
        for token in ("mybot", "GPTBot"):
            selection = doc.select(token)
            assert all(isinstance(selection.allowed(target_of(p)), bool) for p in PATHS)
        explicit = doc.explicit("GPTBot")
        assert (explicit is None) is ("gptbot" not in doc.named_agents)


def test_truncation_only_for_files_over_the_cap(corpus):
    """Exactly the files larger than 512,000 bytes are cut, and say so."""
    for name, body, doc in corpus:
        big = len(body) > MAX_ROBOTS_BYTES
        assert doc.truncated is big, name
        assert ("robots.truncated" in doc.errors) is big, name


def test_agrees_with_protego(corpus):
    """Token googlebot: under 0.1% of (file, path) answers differ, never in the allow direction."""
    compared = 0
    stricter: list[tuple[str, str]] = []
    for name, body, doc in corpus:
        if len(body) > MAX_ROBOTS_BYTES:
            continue  # Protego reads the whole file (R30)
        text = body.decode("utf-8", "replace").lstrip("\ufeff")
        oracle = Protego.parse(text)
        own = [p for p in _RULE_PATH.findall(text) if not p.endswith("?")][:6]
        selection = doc.select("googlebot")
        for path in PATHS + own:
            ours = selection.allowed(target_of(f"https://example.com{path}"))
            theirs = oracle.can_fetch(f"https://example.com{path}", "googlebot")
            compared += 1
            if ours != theirs:
                assert theirs, f"{name} {path}: we allow what Protego disallows"
                stricter.append((name, path))
    assert compared > 50_000
    assert len(stricter) / compared < 0.001, stricter[:20]
