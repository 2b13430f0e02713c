"""The Spawning "Do Not Train" adapter (``registry/spawning.py``): its codec, then the client end to end.

The codec is checked on its own: the newline-separated body and its headers, answers matched by URL
whatever their order, extras, gaps or repeats, and malformed answers refused. The client
(:class:`SpawningRegistry`) then talks to a pytest-httpserver on 127.0.0.1 playing the API, which
records every POST and answers in the worst order it can (reversed, an unasked URL added, the URLs
under ``/missing`` left out) after an optional script of statuses or raw bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout.registry.entries import canonical_url
from scrapy_optout.registry.protocol import ProtocolError
from scrapy_optout.registry.remote import RETRIES
from scrapy_optout.registry.spawning import (
    KEY_VARIABLE,
    MAX_BATCH,
    PURPOSES,
    SpawningCodec,
    SpawningRegistry,
)
from tests.httpsite import AGENT

PATH = "/api/v2/query/urls/"
KEY = "test-key"
ONE = "https://pages.test/reserved/one.html"
TWO = "https://pages.test/granted/two.html"
FREE = "https://pages.test/free.html"
TEXT = "text/plain; charset=utf-8"


def reserved(url: str) -> RegistryEntry:
    """The entry an ``optOut: true`` about *url* gives."""
    return RegistryEntry("url", url, frozenset({"train-ai", "tdm"}), source="Spawning")


def permitted(url: str) -> RegistryEntry:
    """The entry an ``optIn: true`` about *url* gives."""
    return RegistryEntry(
        "url", url, frozenset({"train-ai", "tdm"}), source="Spawning", permits=True
    )


def body_of(message: Any) -> bytes:
    """*message* as an API answer: bytes as they are, anything else as JSON."""
    return message if isinstance(message, bytes) else json.dumps(message).encode()


def found(answers: dict[str, RegistryAnswer]) -> dict[str, set[RegistryEntry]]:
    """Each URL's entries as a set (repeats and order aside)."""
    return {url: set(answer.entries) for url, answer in answers.items()}


# --- SpawningCodec.encode --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urls", "body"),
    [
        ([ONE], b"https://pages.test/reserved/one.html"),
        ([ONE, TWO, FREE], f"{ONE}\n{TWO}\n{FREE}".encode()),
        ([FREE, ONE], f"{FREE}\n{ONE}".encode()),
        (["https://b.test/café?q=é", "https://出版社.test/"],
         "https://b.test/café?q=é\nhttps://出版社.test/".encode()),
        ([], b""),
    ],
)  # fmt: skip
def test_encode_posts_the_urls_one_per_line_in_utf_8(urls, body):
    """The body is the URLs joined by newlines, in order, UTF-8, with no trailing newline."""
    sent, _ = SpawningCodec("https://api.test" + PATH, KEY).encode(urls)
    assert sent == body
    assert sent.decode("utf-8").split("\n") == (urls or [""])


@pytest.mark.parametrize("key", ["test-key", "s3cr3t/with+symbols=="])
def test_encode_sends_the_key_as_authorization_api_and_text_plain(key):
    """Headers: ``Authorization: API <key>`` and a UTF-8 text/plain content type, nothing else."""
    _, headers = SpawningCodec("https://api.test" + PATH, key).encode([ONE])
    assert dict(headers) == {"Authorization": f"API {key}", "Content-Type": TEXT}


def test_the_codec_posts_to_the_url_given_at_most_1000_urls():
    """The endpoint is the URL as given (no path added), and a batch holds MAX_BATCH URLs."""
    codec = SpawningCodec("https://opts-api.test/api/v2/query/urls/", KEY)
    assert codec.url == "https://opts-api.test/api/v2/query/urls/"
    assert codec.max_batch == MAX_BATCH == 1000


# --- SpawningCodec.decode --------------------------------------------------------------------


def item(url: str, opt_out: bool | None = None, opt_in: bool | None = None) -> dict[str, Any]:
    """One answer item, with only the flags given."""
    out: dict[str, Any] = {"url": url}
    if opt_out is not None:
        out["optOut"] = opt_out
    if opt_in is not None:
        out["optIn"] = opt_in
    return out


@pytest.mark.parametrize(
    ("asked", "items", "expected"),
    [
        pytest.param([ONE, TWO, FREE],
                     [item(ONE, True, False), item(TWO, False, True), item(FREE, False, False)],
                     {ONE: {reserved(ONE)}, TWO: {permitted(TWO)}, FREE: set()}, id="in order"),
        pytest.param([ONE, TWO, FREE],
                     [item(FREE, False, False), item(TWO, False, True), item(ONE, True, False)],
                     {ONE: {reserved(ONE)}, TWO: {permitted(TWO)}, FREE: set()}, id="reversed"),
        pytest.param([ONE, TWO, FREE], [item(TWO, False, True)], {TWO: {permitted(TWO)}},
                     id="shorter: the others left out"),
        pytest.param([ONE], [item("https://other.test/", True), item(ONE, False)], {ONE: set()},
                     id="an unasked URL ignored"),
        pytest.param([ONE], [item("https://other.test/", True)], {}, id="only unasked URLs"),
        pytest.param([ONE, FREE], [], {}, id="empty answer"),
        pytest.param([ONE], [item("HTTPS://Pages.TEST:443/reserved/one.html#top", True)],
                     {ONE: {reserved(ONE)}}, id="another spelling, matched canonically"),
        pytest.param([ONE], [item(ONE, True), item(ONE, True)], {ONE: {reserved(ONE)}},
                     id="repeated"),
        pytest.param([ONE], [item(ONE, True), item(ONE, False)], {ONE: {reserved(ONE)}},
                     id="a later false does not erase a true"),
        pytest.param([ONE], [item(ONE, False), item(ONE, True)], {ONE: {reserved(ONE)}},
                     id="a later true adds to a false"),
        pytest.param([ONE], [item(ONE, True), item(ONE, False, True)],
                     {ONE: {reserved(ONE), permitted(ONE)}}, id="repeats disagreeing: both kept"),
        pytest.param([ONE], [item(ONE, True), item("HTTPS://PAGES.test/reserved/one.html", True)],
                     {ONE: {reserved(ONE)}}, id="two spellings of one URL"),
        pytest.param([ONE], [item(ONE, True, True)], {ONE: {reserved(ONE)}},
                     id="optOut wins over optIn"),
        pytest.param([ONE], [item(ONE, True)], {ONE: {reserved(ONE)}}, id="optIn absent"),
    ],
)  # fmt: skip
def test_decode_matches_answers_by_url_never_by_position(asked, items, expected):
    """Each asked URL gets the entries its own items give; a URL with no item is left out."""
    decoded = SpawningCodec("https://api.test" + PATH, KEY).decode(asked, body_of({"urls": items}))
    assert found(decoded) == expected


def test_a_reservation_is_a_url_entry_for_training_and_tdm_from_spawning():
    """optOut: a ``url`` entry on the URL asked (not as answered), purposes train-ai and tdm."""
    answer = SpawningCodec("https://api.test" + PATH, KEY).decode(
        [ONE], body_of({"urls": [item("HTTPS://PAGES.TEST/reserved/one.html", True)]})
    )[ONE]
    (entry,) = answer.entries
    assert entry == RegistryEntry(
        scope="url", value=ONE, purposes=frozenset({"train-ai", "tdm"}), policy=None,
        registered=None, source="Spawning", permits=False,
    )  # fmt: skip
    assert frozenset({"train-ai", "tdm"}) == PURPOSES


def test_a_permission_is_the_same_entry_with_permits():
    """optIn: the reservation's entry with permits true."""
    answer = SpawningCodec("https://api.test" + PATH, KEY).decode(
        [TWO], body_of({"urls": [item(TWO, False, True)]})
    )[TWO]
    assert answer.entries == (permitted(TWO),)
    assert answer.entries[0].purposes == PURPOSES


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "not JSON"),
        (b"<html>Bad gateway</html>", "not JSON"),
        (b'{"urls": ["\xff"]}', "not JSON: 'utf-8' codec can't decode"),
        (None, "expected an object with a list 'urls'"),
        ([{"url": ONE, "optOut": True}], "expected an object with a list 'urls'"),
        ({}, "expected an object with a list 'urls'"),
        ({"results": []}, "expected an object with a list 'urls'"),
        ({"urls": None}, "expected an object with a list 'urls'"),
        ({"urls": {ONE: True}}, "expected an object with a list 'urls'"),
        ({"urls": [ONE]}, "urls[0]: expected an object with a string 'url'"),
        ({"urls": [{"optOut": True}]}, "urls[0]: expected an object with a string 'url'"),
        ({"urls": [{"url": 7, "optOut": True}]}, "urls[0]: expected an object with a string 'url'"),
        ({"urls": [item(ONE, False), None]}, "urls[1]: expected an object with a string 'url'"),
        ({"urls": [{"url": ONE, "optOut": "true"}]}, "urls[0]: optOut and optIn must be true or false"),
        ({"urls": [{"url": ONE, "optOut": 1}]}, "urls[0]: optOut and optIn must be true or false"),
        ({"urls": [{"url": ONE, "optIn": True}]}, "optOut is required"),  # silence is no answer
        ({"urls": [{"url": ONE}]}, "optOut is required"),
        ({"urls": [{"url": ONE, "optOut": None}]}, "urls[0]: optOut and optIn must be"),
        ({"urls": [{"url": ONE, "optOut": False, "optIn": 0}]}, "urls[0]: optOut and optIn must"),
        ({"urls": [{"url": ONE, "optOut": False, "optIn": "no"}]}, "urls[0]: optOut and optIn"),
        ({"urls": [item(ONE, False), {"url": "https://unasked.test/", "optOut": "yes"}]},
         "urls[1]: optOut and optIn must be true or false"),
    ],
)  # fmt: skip
def test_decode_refuses_a_malformed_answer_naming_the_problem(body, words):
    """Not JSON, the wrong shape, or a flag that is not a boolean (even on an unasked URL) raise."""
    codec = SpawningCodec("https://api.test" + PATH, KEY)
    with pytest.raises(ProtocolError) as raised:
        codec.decode([ONE], body_of(body))
    assert words in str(raised.value)


# --- the key ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "key"),
    [(None, None), ("", None), ("  \t ", None), (KEY, ""), (KEY, "   ")],
)
def test_without_a_key_opening_the_registry_fails_naming_the_variable(monkeypatch, env, key):
    """No usable key (unset, blank, or an explicit blank one) is a ValueError naming SPAWNING_OPTS_KEY."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    if env is not None:
        monkeypatch.setenv(KEY_VARIABLE, env)
    url = "https://api.test" + PATH
    with pytest.raises(ValueError, match=r"^registry: ") as raised:
        SpawningRegistry(url, key=key, user_agent=AGENT)
    assert KEY_VARIABLE in str(raised.value)
    assert url in str(raised.value)


# --- end to end: the API played by a local server --------------------------------------------

Step = int | bytes
"""A script step: a status answered with an empty body, or a raw 200 body."""


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """Serve on 127.0.0.1 (not ``localhost``, which may be ::1), on a free port."""
    return ("127.0.0.1", 0)


class Api:
    """The Spawning API on *server*: records each POST, plays its script, then answers.

    Its answer names each URL posted, reversed, flags ``optOut`` under ``/reserved`` and ``optIn``
    under ``/granted``, leaves out URLs under ``/missing`` and adds one nobody asked about.
    """

    def __init__(self, server: HTTPServer) -> None:
        self.posts: list[tuple[list[str], dict[str, str]]] = []
        self.script: list[Step] = []
        server.expect_request(PATH, method="POST").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        urls = request.get_data().decode("utf-8").split("\n")
        self.posts.append((urls, dict(request.headers)))
        step = self.script.pop(0) if self.script else None
        if isinstance(step, int):
            return Response(b"", status=step)
        if isinstance(step, bytes):
            return Response(step, content_type="application/json")
        items = [
            {"url": url, "optOut": "/reserved" in url, "optIn": "/granted" in url}
            for url in reversed(urls)
            if "/missing" not in url
        ]
        items.append({"url": "https://unasked.test/", "optOut": True, "optIn": False})
        return Response(json.dumps({"urls": items}), content_type="application/json")

    @property
    def asked(self) -> list[str]:
        """Every URL posted, POST after POST."""
        return [url for urls, _ in self.posts for url in urls]


@pytest.fixture
def api(httpserver: HTTPServer) -> Api:
    """The API on a cleared 127.0.0.1 server."""
    assert httpserver.host == "127.0.0.1"
    return Api(httpserver)


@pytest.fixture
def make(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., SpawningRegistry]]:
    """Build clients of the API (the key in SPAWNING_OPTS_KEY), closed at the end of the test."""
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    made: list[SpawningRegistry] = []

    def build(**options: Any) -> SpawningRegistry:
        registry = SpawningRegistry(httpserver.url_for(PATH), user_agent=AGENT, **options)
        made.append(registry)
        return registry

    yield build
    for registry in made:
        registry.close()


def ask(registry: SpawningRegistry, urls: list[str], mode: str) -> list[RegistryAnswer | None]:
    """Look *urls* up one after another (``sync``), or all at once with alookup (``async``)."""
    if mode == "sync":
        return [registry.lookup(url, timeout=5.0) for url in urls]

    async def gather() -> list[RegistryAnswer | None]:
        try:
            return list(await asyncio.gather(*(registry.alookup(u, timeout=5.0) for u in urls)))
        finally:
            await registry.aclose()

    return asyncio.run(gather())


ASKED = [
    ("https://pages.test/reserved/a.html", RegistryAnswer((reserved("https://pages.test/reserved/a.html"),))),
    ("https://pages.test/granted/b.html?q=1", RegistryAnswer((permitted("https://pages.test/granted/b.html?q=1"),))),
    ("https://pages.test/free.html", RegistryAnswer()),
    ("https://pages.test/missing/c.html", None),
    ("HTTPS://Pages.TEST:443/reserved/d.html#top", RegistryAnswer((reserved("https://pages.test/reserved/d.html"),))),
    ("https://pages.test/reserved/a.html", RegistryAnswer((reserved("https://pages.test/reserved/a.html"),))),
    ("https://b.test/café/reserved/é", RegistryAnswer((reserved("https://b.test/café/reserved/é"),))),
]  # fmt: skip
"""URLs asked (one twice, one in another spelling, one the API leaves out) and the answers due."""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_lookups_give_the_apis_answers_matched_by_url(make, api, mode):
    """Reversed, padded and partial, the API's answer still reaches the right URLs; gaps are None."""
    answers = ask(make(), [url for url, _ in ASKED], mode)
    assert answers == [answer for _, answer in ASKED]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_api_is_posted_exactly_the_urls_asked_in_canonical_form_once_each(make, api, mode):
    """Every canonical URL once, nothing else; together in one POST when asked at once."""
    ask(make(), [url for url, _ in ASKED], mode)
    wanted = Counter(dict.fromkeys((canonical_url(url) for url, _ in ASKED), 1))
    assert Counter(api.asked) == wanted
    if mode == "async":
        assert len(api.posts) == 1
    else:
        assert [urls for urls, _ in api.posts] == [[url] for url in wanted]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_each_post_carries_the_key_the_user_agent_and_text_plain(make, api, mode):
    """On the wire: ``Authorization: API <key>``, our User-Agent, a UTF-8 text/plain body."""
    ask(make(), [ONE], mode)
    ((urls, headers),) = api.posts
    assert urls == [ONE]
    assert headers["Authorization"] == f"API {KEY}"
    assert headers["User-Agent"] == AGENT
    assert headers["Content-Type"] == TEXT


@pytest.mark.parametrize(
    ("env", "key", "sent"),
    [
        (KEY, None, f"API {KEY}"),
        (f"  {KEY}\n", None, f"API {KEY}"),
        (KEY, "given-key", "API given-key"),
        (None, " given-key ", "API given-key"),
    ],
)
def test_the_key_sent_is_the_one_given_else_the_variables_stripped(
    httpserver, api, monkeypatch, env, key, sent
):
    """An explicit key wins over SPAWNING_OPTS_KEY; either is sent without surrounding blanks."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    if env is not None:
        monkeypatch.setenv(KEY_VARIABLE, env)
    registry = SpawningRegistry(httpserver.url_for(PATH), key=key, user_agent=AGENT)
    try:
        assert registry.lookup(ONE, timeout=5.0) == RegistryAnswer((reserved(ONE),))
    finally:
        registry.close()
    ((_, headers),) = api.posts
    assert headers["Authorization"] == sent


def test_the_source_of_its_reasons_is_the_api_url(make, httpserver):
    """Reasons name the endpoint as given (what the log shows as the registry)."""
    assert make().source == httpserver.url_for(PATH)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("script", "posts", "answered"),
    [
        pytest.param([503] * (RETRIES + 1), RETRIES + 1, False, id="503 every try"),
        pytest.param([503, 502, 429], RETRIES + 1, False, id="transient every try"),
        pytest.param([503], 2, True, id="503 then an answer"),
        pytest.param([401], 1, False, id="401 not retried"),
        pytest.param([403], 1, False, id="403 not retried"),
        pytest.param([b"<html>oops</html>"], 1, False, id="not JSON"),
        pytest.param([b'{"urls": [{"url": "x", "optOut": "yes"}]}'], 1, False, id="not a bool"),
        pytest.param([b'{"results": []}'], 1, False, id="wrong shape"),
    ],
)
def test_a_failing_or_malformed_api_gives_none_after_the_retries(make, api, mode, script, posts,
                                                                  answered):  # fmt: skip
    """Transient statuses are retried then None (unavailable); others and bad answers None at once."""
    api.script = list(script)
    (answer,) = ask(make(), [ONE], mode)
    assert len(api.posts) == posts
    assert answer == (RegistryAnswer((reserved(ONE),)) if answered else None)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_after_a_503_the_api_is_not_asked_again_for_a_while(make, api, mode):
    """Once every try failed, a lookup of another URL is None at once, without a POST."""
    api.script = [503] * (RETRIES + 1)
    registry = make()
    assert ask(registry, [ONE], "sync") == [None]
    assert ask(registry, [TWO], mode) == [None]
    assert len(api.posts) == RETRIES + 1


def test_a_malformed_answer_is_logged_as_such(make, api, caplog):
    """The warning names the endpoint and says the answer was malformed, and why."""
    api.script = [b'{"urls": [{"url": "x", "optOut": 1}]}']
    with caplog.at_level(logging.WARNING, logger="scrapy_optout"):
        assert make().lookup(ONE, timeout=5.0) is None
    (message,) = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert PATH in message
    assert "optOut and optIn must be true or false" in message


def test_over_1000_urls_at_once_are_split_into_posts_of_at_most_1000(make, api):
    """1,001 alookups at once: two POSTs (1,000 and 1), every URL asked once and answered."""
    urls = [f"https://bulk.test/reserved/{n}.html" for n in range(MAX_BATCH + 1)]
    answers = ask(make(), urls, "async")
    assert sorted(len(urls) for urls, _ in api.posts) == [1, MAX_BATCH]
    assert sorted(api.asked) == sorted(urls)
    assert answers == [RegistryAnswer((reserved(url),)) for url in urls]


@pytest.mark.parametrize("key", ["clé", "k\nX-Injected: 1"])
def test_a_key_that_cannot_be_sent_is_refused_when_the_registry_opens(key):
    """A key that is not printable ASCII cannot go in a header: ValueError naming the variable."""
    with pytest.raises(ValueError, match="SPAWNING_OPTS_KEY key must be printable ASCII"):
        SpawningRegistry("https://127.0.0.1:9/api/v2/query/urls/", key=key, user_agent="MyAIBot")
