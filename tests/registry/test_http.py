"""``HttpRegistry`` (``registry/http.py``): its two codecs, and the client against the real service.

The codecs are checked against ``protocol.py`` and ``hashing.py``; the client against the
reference service (``server.make_app`` over a :class:`LocalRegistry` of the shared test entries,
served in-process by ``service.InProcess``), whose answers must be ``LocalRegistry.find``'s in
plain and in hashed mode, and which may stop at any time without the client hanging or raising.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout.registry.entries import canonical_url
from scrapy_optout.registry.hashing import PREFIX_HEX, digest, expressions, hash_key
from scrapy_optout.registry.http import HashedCodec, HttpRegistry, LookupCodec
from scrapy_optout.registry.local import LocalRegistry
from scrapy_optout.registry.protocol import (
    MAX_BATCH,
    ProtocolError,
    hashed_response,
    lookup_response,
    read_hashed_request,
    read_lookup_request,
)
from scrapy_optout.registry.server import make_app
from tests.httpsite import AGENT
from tests.registry.service import InProcess, serving, write_registry

ORIGIN = "https://pages.test"
REGISTERED = [
    f"{ORIGIN}/one.html",
    "HTTPS://Pages.TEST:443/one.html#top",  # the same page, not in canonical form
    f"{ORIGIN}/archive/2019/a.html",
    f"{ORIGIN}/archive/",
    "https://reserved.test/",
    "https://www.reserved.test/any?q=1",
    f"{ORIGIN}/granted.html",
    f"{ORIGIN}/search/ai",
    f"{ORIGIN}/search/ai?q=1",
    f"{ORIGIN}/search/aid/x",
]
UNREGISTERED = [
    f"{ORIGIN}/free.html",
    f"{ORIGIN}/archive",  # above the prefix /archive/
    f"{ORIGIN}/search/a",  # shares the hash key of the prefix /search/ai, not covered by it
    f"{ORIGIN}/search/",
    "http://pages.test/one.html",  # another scheme
    f"{ORIGIN}/one.html/more",
    "https://reserved.test.example/",
    "https://notreserved.test/",
    "not a url",
]
TABLE = REGISTERED + UNREGISTERED


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio."""
    return "asyncio"


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalRegistry]:
    """The shared test entries (``service.py``) for ORIGIN, compiled from CSV."""
    registry = LocalRegistry(write_registry(tmp_path, ORIGIN))
    yield registry
    registry.close()


@pytest.fixture
def service(local: LocalRegistry) -> Iterator[InProcess]:
    """The reference service over that registry, on 127.0.0.1."""
    yield from serving(local)


@pytest.fixture
def stoppable(local: LocalRegistry) -> Iterator[InProcess]:
    """The reference service, which the test may stop."""
    service = InProcess(make_app(local))
    yield service
    if not service.loop.is_closed():
        service.stop()


# --- LookupCodec -----------------------------------------------------------------------------


def test_lookup_codec_posts_to_v1_lookup_under_the_root():
    """The endpoint is <root>/v1/lookup, whether or not the root ends with a slash."""
    assert LookupCodec("http://r.test/base/").url == "http://r.test/base/v1/lookup"
    assert LookupCodec("http://r.test").url == "http://r.test/v1/lookup"
    assert LookupCodec("http://r.test").max_batch == MAX_BATCH


def test_lookup_codec_encodes_the_protocols_json_batch():
    """encode() gives a JSON body the protocol reads back as the very URLs, in order."""
    urls = ["https://pages.test/one.html", "https://b.test/?q=é", "https://pages.test/one.html"]
    body, headers = LookupCodec("http://r.test").encode(urls)
    assert read_lookup_request(body) == urls
    assert json.loads(body) == {"urls": urls}
    assert headers["Content-Type"] == "application/json"


def test_lookup_codec_decodes_what_the_protocol_encodes():
    """A lookup_response of answers decodes to the same answers, keyed by URL."""
    answers = {
        "https://pages.test/one.html": RegistryAnswer(
            (
                RegistryEntry("url", "https://pages.test/one.html", policy="https://p.test/"),
                RegistryEntry(
                    "domain", "pages.test", frozenset({"train-ai", "tdm"}), source="Ünï ✓"
                ),
            )
        ),
        "https://pages.test/free.html": RegistryAnswer(()),
        "https://pages.test/granted.html": RegistryAnswer(
            (
                RegistryEntry(
                    "url", "https://pages.test/granted.html", registered="2026-01-02", permits=True
                ),
            )
        ),
    }
    codec = LookupCodec("http://r.test")
    body = lookup_response(list(answers.items()))
    assert codec.decode(list(answers), body) == answers


def test_lookup_codec_matches_results_by_url_not_position():
    """Results in another order, named in another spelling, or not asked, are matched or dropped."""
    one, two = "https://pages.test/one.html", "https://pages.test/two.html"
    answer = RegistryAnswer((RegistryEntry("url", one),))
    body = lookup_response(
        [
            ("https://elsewhere.test/", RegistryAnswer((RegistryEntry("host", "elsewhere.test"),))),
            ("HTTPS://Pages.TEST:443/one.html#frag", answer),
            (two, RegistryAnswer(())),
        ]
    )
    assert LookupCodec("http://r.test").decode([two, one], body) == {
        one: answer,
        two: RegistryAnswer(()),
    }
    assert LookupCodec("http://r.test").decode([one], lookup_response([])) == {}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"null", b'{"matches": []}', b'{"results": [{"url": "x", "entries": {}}]}'],
)
def test_lookup_codec_rejects_malformed_answers(body):
    """A body that is not a lookup response raises ProtocolError (the client's 'unavailable')."""
    with pytest.raises(ProtocolError):
        LookupCodec("http://r.test").decode(["https://pages.test/"], body)


# --- HashedCodec -----------------------------------------------------------------------------


def test_hashed_codec_posts_to_v1_lookup_hashed_under_the_root():
    """The endpoint is <root>/v1/lookup-hashed."""
    assert HashedCodec("http://r.test/").url == "http://r.test/v1/lookup-hashed"


def test_hashed_codec_sends_only_sorted_distinct_8_hex_prefixes():
    """The body holds the prefixes of every expression of every URL, and nothing of the URLs."""
    urls = [canonical_url(url) for url in REGISTERED if "://" in url]
    body, headers = HashedCodec("http://r.test").encode(urls)
    prefixes = read_hashed_request(body)
    assert set(json.loads(body)) == {"prefixes"}
    assert headers["Content-Type"] == "application/json"
    assert all(re.fullmatch(r"[0-9a-f]{8}", p) for p in prefixes)
    assert prefixes == sorted(set(prefixes))
    assert set(prefixes) == {digest(k)[:PREFIX_HEX] for url in urls for k in expressions(url)}
    for word in (b"http", b"pages", b"reserved", b"test", b".html", b"archive", b"/"):
        assert word not in body, word


def test_hashed_codec_keeps_the_entries_that_cover_each_url():
    """Of the entries returned, each URL keeps those whose digest is its own and that cover it."""
    art, other = "https://e.org/art/2.html", "https://e.org/misc/x.html"
    covering = RegistryEntry("prefix", "https://e.org/art/2")
    domain = RegistryEntry("domain", "e.org", frozenset({"train-ai"}))
    same_cut = RegistryEntry(
        "prefix", "https://e.org/art/19"
    )  # filed under /art/ too, not covering
    elsewhere = RegistryEntry("url", "https://else.test/art/2.html")
    lying = RegistryEntry("host", "else.test")  # returned under a digest of art's, which it has not
    matches = [
        (digest(hash_key(e.scope, e.value)), e) for e in (covering, domain, same_cut, elsewhere)
    ]
    matches.append((digest(f"u:{art}"), lying))
    matches.append((digest(hash_key(domain.scope, domain.value)), domain))  # twice
    answers = HashedCodec("http://r.test").decode([art, other], hashed_response(matches))
    assert answers == {art: RegistryAnswer((domain, covering)), other: RegistryAnswer((domain,))}


def test_hashed_codec_answers_every_url_asked_even_without_matches():
    """A URL none of the matches is about gets an empty answer, not None."""
    url = "https://pages.test/free.html"
    answers = HashedCodec("http://r.test").decode([url], hashed_response([]))
    assert answers == {url: RegistryAnswer(())}


@pytest.mark.parametrize(
    "body",
    [b"[", b'{"results": []}', b'{"matches": [1]}', b'{"matches": [{"entry": {"scope": "x"}}]}'],
)
def test_hashed_codec_rejects_malformed_answers(body):
    """A body that is not a hashed response raises ProtocolError."""
    with pytest.raises(ProtocolError):
        HashedCodec("http://r.test").decode(["https://pages.test/"], body)


# --- HttpRegistry against the reference service ----------------------------------------------


def test_http_registry_names_its_root_and_mode():
    """The registry's source is its root; hashed picks the hashed codec."""
    plain = HttpRegistry("http://r.test/", user_agent=AGENT)
    hashed = HttpRegistry("http://r.test/", hashed=True, user_agent=AGENT)
    assert (plain.source, plain.hashed, plain.codec.url) == (
        "http://r.test/",
        False,
        "http://r.test/v1/lookup",
    )
    assert (hashed.source, hashed.hashed, hashed.codec.url) == (
        "http://r.test/",
        True,
        "http://r.test/v1/lookup-hashed",
    )


def same(answer: RegistryAnswer | None, expected: RegistryAnswer, hashed: bool) -> bool:
    """Whether *answer* has *expected*'s entries (in a hashed answer, in any order, once each)."""
    if answer is None:
        return False
    if not hashed:
        return answer == expected
    return len(answer.entries) == len(set(answer.entries)) and set(answer.entries) == set(
        expected.entries
    )


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_lookups_one_by_one_give_what_the_registry_finds(service, local, hashed):
    """Each URL of the table, looked up alone, gets LocalRegistry.find's entries."""
    statuses: list[int] = []
    registry = HttpRegistry(
        service.root, hashed=hashed, user_agent=AGENT, on_status=statuses.append
    )
    try:
        answers = {url: registry.lookup(url, timeout=5.0) for url in TABLE}
    finally:
        registry.close()
    wrong = {u: a for u, a in answers.items() if not same(a, local.find(u), hashed)}
    assert wrong == {}
    assert {url for url, answer in answers.items() if answer and answer.entries} == set(REGISTERED)
    assert set(statuses) == {200}


@pytest.mark.anyio
@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
async def test_concurrent_alookups_in_one_batch_give_what_the_registry_finds(
    service, local, hashed
):
    """The whole table gathered (one batch): each URL still gets exactly its own entries."""
    statuses: list[int] = []
    registry = HttpRegistry(
        service.root, hashed=hashed, user_agent=AGENT, on_status=statuses.append
    )
    try:
        answers = await asyncio.gather(*(registry.alookup(url, timeout=5.0) for url in TABLE))
    finally:
        await registry.aclose()
    wrong = {
        u: a for u, a in zip(TABLE, answers, strict=True) if not same(a, local.find(u), hashed)
    }
    assert wrong == {}
    assert statuses == [200]  # one request for the whole table


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_a_service_stopped_midway_gives_none_within_the_timeout(stoppable, local, hashed):
    """Once the service is gone, new URLs get None promptly; answers already had are still given."""
    registry = HttpRegistry(stoppable.root, hashed=hashed, user_agent=AGENT)
    try:
        known = registry.lookup(REGISTERED[0], timeout=2.0)
        stoppable.stop()
        started = time.monotonic()
        gone = registry.lookup(REGISTERED[2], timeout=2.0)
        first = time.monotonic() - started
        later = [registry.lookup(url, timeout=2.0) for url in UNREGISTERED]
        total = time.monotonic() - started
        again = registry.lookup(REGISTERED[0], timeout=2.0)
    finally:
        registry.close()
    assert same(known, local.find(REGISTERED[0]), hashed)
    assert gone is None
    assert first < 2.0 + 0.5
    assert later == [None] * len(UNREGISTERED)
    assert total - first < 0.5  # down: the others do not wait again
    assert again == known


@pytest.mark.anyio
async def test_a_service_stopped_midway_gives_none_to_alookup_too(stoppable, local):
    """The async client of a stopped service: None within the timeout, no exception, no hang."""
    registry = HttpRegistry(stoppable.root, user_agent=AGENT)
    try:
        known = await registry.alookup(REGISTERED[0], timeout=2.0)
        await asyncio.to_thread(stoppable.stop)  # it runs an event loop of its own
        started = time.monotonic()
        gone = await asyncio.gather(*(registry.alookup(url, timeout=2.0) for url in UNREGISTERED))
        elapsed = time.monotonic() - started
    finally:
        await registry.aclose()
    assert known == local.find(REGISTERED[0])
    assert gone == [None] * len(UNREGISTERED)
    assert elapsed < 2.0 + 0.5
