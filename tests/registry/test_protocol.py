"""The registry protocol's messages (``registry/protocol.py``), without any HTTP.

Every encoder is read back by its reader (the client's and the service's halves must agree),
entries keep every field through JSON, the limits are exact, and every malformed body raises
:class:`ProtocolError` with a message naming what is wrong: that is what a client turns into
"registry unavailable" and what the service answers with its 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout._core.policy import PURPOSES
from scrapy_optout.registry.entries import entry_from
from scrapy_optout.registry.protocol import (
    MAX_BATCH,
    MAX_PREFIXES,
    ProtocolError,
    answer_json,
    entry_json,
    hashed_request,
    hashed_response,
    lookup_request,
    lookup_response,
    read_answer_json,
    read_hashed_request,
    read_hashed_response,
    read_lookup_request,
    read_lookup_response,
)

FULL = RegistryEntry(
    "prefix",
    "https://éditions.test/livres/",
    frozenset({"train-ai", "tdm"}),
    policy="https://éditions.test/licence?langue=français",
    registered="2026-01-02",
    source="Éditions Ünïcode ✓ 出版社",
)
MINIMAL = RegistryEntry("domain", "example.org")
PERMIT = RegistryEntry("url", "https://pages.test/granted.html?q=1", frozenset({"search"}),
                       permits=True)  # fmt: skip
HOST = RegistryEntry("host", "www.example.org", PURPOSES, source="Registry Ltd")
ENTRIES = [FULL, MINIMAL, PERMIT, HOST]
VALID = entry_json(MINIMAL)
"""A well-formed entry object, put before a malformed one so that messages must name the index."""


def body_of(message: Any) -> bytes:
    """*message* as a request or response body: bytes as they are, anything else as JSON."""
    return message if isinstance(message, bytes) else json.dumps(message).encode()


# --- entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "written"),
    [
        (FULL, {"scope": "prefix", "value": "https://éditions.test/livres/",
                "purposes": ["tdm", "train-ai"],
                "policy": "https://éditions.test/licence?langue=français",
                "registered": "2026-01-02", "source": "Éditions Ünïcode ✓ 出版社",
                "permits": False}),
        (MINIMAL, {"scope": "domain", "value": "example.org", "purposes": [], "policy": None,
                   "registered": None, "source": None, "permits": False}),
        (PERMIT, {"scope": "url", "value": "https://pages.test/granted.html?q=1",
                  "purposes": ["search"], "policy": None, "registered": None, "source": None,
                  "permits": True}),
        (HOST, {"scope": "host", "value": "www.example.org",
                "purposes": ["ai-input", "search", "tdm", "train-ai"], "policy": None,
                "registered": None, "source": "Registry Ltd", "permits": False}),
    ],
)  # fmt: skip
def test_entry_json_writes_every_field_purposes_sorted(entry, written):
    """entry_json gives all seven input-file keys, absent optional ones as null, purposes sorted."""
    assert entry_json(entry) == written


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_json_reads_back_as_the_same_entry(entry):
    """What entry_json writes, an input file reads back unchanged, through JSON text too."""
    assert entry_from(entry_json(entry), "here") == entry
    assert entry_from(json.loads(json.dumps(entry_json(entry))), "here") == entry


@pytest.mark.parametrize(
    ("row", "entry"),
    [
        ({"scope": "domain", "value": "example.org"}, MINIMAL),
        ({"scope": "domain", "value": "example.org", "purposes": "", "policy": "",
          "registered": "", "source": "", "permits": ""}, MINIMAL),
        ({"scope": "url", "value": "https://pages.test/granted.html?q=1", "purposes": "search",
          "permits": True}, PERMIT),
        ({"scope": "host", "value": "www.example.org", "source": "Registry Ltd",
          "purposes": ["train-ai", "tdm", "search", "ai-input"]}, HOST),
    ],
)  # fmt: skip
def test_optional_fields_may_be_absent_empty_or_spelt_as_in_csv(row, entry):
    """An entry object without its optional keys, or with them empty, is read with their defaults."""
    body = body_of({"results": [{"url": "u", "entries": [row]}]})
    assert read_lookup_response(body) == {"u": RegistryAnswer((entry,))}


# --- answers (the log's evidence) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (RegistryAnswer(), b'{"entries":[]}'),
        (RegistryAnswer((MINIMAL,)),
         (b'{"entries":[{"permits":false,"policy":null,"purposes":[],"registered":null,'
          b'"scope":"domain","source":null,"value":"example.org"}]}')),
        (RegistryAnswer((PERMIT, MINIMAL)),
         (b'{"entries":[{"permits":true,"policy":null,"purposes":["search"],"registered":null,'
          b'"scope":"url","source":null,"value":"https://pages.test/granted.html?q=1"},'
          b'{"permits":false,"policy":null,"purposes":[],"registered":null,'
          b'"scope":"domain","source":null,"value":"example.org"}]}')),
    ],
)  # fmt: skip
def test_answer_json_is_canonical_bytes(answer, expected):
    """Keys sorted, no spaces, entries in the answer's order: the same answer, the same evidence."""
    assert answer_json(answer) == expected


@pytest.mark.parametrize("entries", [(FULL,), (FULL, HOST, PERMIT), tuple(ENTRIES)])
def test_answer_json_reads_back_entry_by_entry(entries):
    """The evidence kept in the log holds each entry exactly, non-ASCII text included."""
    kept = json.loads(answer_json(RegistryAnswer(entries)).decode("utf-8"))
    assert tuple(entry_from(row, "log") for row in kept["entries"]) == entries


@pytest.mark.parametrize("entries", [(), (FULL,), (FULL, HOST, PERMIT), tuple(ENTRIES)])
def test_read_answer_json_reads_back_what_answer_json_wrote(entries):
    """The shared cache's value of an answer reads back as the same answer, empty ones too."""
    assert read_answer_json(answer_json(RegistryAnswer(entries))) == RegistryAnswer(entries)


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"", "not JSON"), (b"[]", "expected an object with a list 'entries'"),
     (b'{"entries": {}}', "expected an object with a list 'entries'"),
     (b'{"entries": [1]}', "entries[0]: expected an object")],
)  # fmt: skip
def test_read_answer_json_refuses_what_is_not_an_answer(body, words):
    """A malformed answer raises ProtocolError naming the problem (the cache treats it as down)."""
    with pytest.raises(ProtocolError, match=words.replace("[", r"\[")):
        read_answer_json(body)


def test_answer_json_does_not_depend_on_how_purposes_were_built():
    """Purposes given in any order (a frozenset) give the same bytes."""
    one = RegistryEntry("domain", "a.test", frozenset(["train-ai", "tdm", "search", "ai-input"]))
    two = RegistryEntry("domain", "a.test", frozenset(["ai-input", "search", "tdm", "train-ai"]))
    assert answer_json(RegistryAnswer((one,))) == answer_json(RegistryAnswer((two,)))
    written = answer_json(RegistryAnswer((one,)))
    assert b'"purposes":["ai-input","search","tdm","train-ai"]' in written


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "urls",
    [
        [],
        ["https://pages.test/one.html"],
        ["https://pages.test/one.html", "https://pages.test/one.html"],  # order and repeats kept
        ["https://b.test/?q=é", "https://出版社.test/页", "not a url", ""],
        [f"https://bulk.test/{n}.html" for n in range(MAX_BATCH)],
    ],
)
def test_lookup_request_round_trips(urls):
    """read_lookup_request gives back exactly the URLs lookup_request was given, in order."""
    assert read_lookup_request(lookup_request(urls)) == urls


@pytest.mark.parametrize(
    "results",
    [
        [],
        [("https://pages.test/free.html", RegistryAnswer())],
        [("https://éditions.test/livres/a", RegistryAnswer((FULL, MINIMAL))),
         ("https://pages.test/granted.html?q=1", RegistryAnswer((PERMIT,))),
         ("https://www.example.org/", RegistryAnswer((HOST, MINIMAL)))],
    ],
)  # fmt: skip
def test_lookup_response_round_trips_keyed_by_url(results):
    """read_lookup_response maps each URL to its answer, entries in order and intact."""
    assert read_lookup_response(lookup_response(results)) == dict(results)


@pytest.mark.parametrize(
    "prefixes",
    [[], ["00000000"], ["0a1b2c3d", "ffffffff", "0a1b2c3d"], ["x"] * MAX_PREFIXES],
)
def test_hashed_request_round_trips(prefixes):
    """read_hashed_request gives back exactly the prefixes hashed_request was given."""
    assert read_hashed_request(hashed_request(prefixes)) == prefixes


@pytest.mark.parametrize(
    "matches",
    [
        [],
        [("ab" * 32, FULL)],
        [("00" * 32, MINIMAL), ("11" * 32, PERMIT), ("22" * 32, HOST), ("00" * 32, MINIMAL)],
    ],
)
def test_hashed_response_round_trips_entries_in_order(matches):
    """read_hashed_response gives every match's entry, in order (digests are the client's job)."""
    assert read_hashed_response(hashed_response(matches)) == [entry for _, entry in matches]


@given(st.lists(st.text(), max_size=MAX_BATCH))
def test_any_list_of_strings_round_trips_through_a_lookup_request(urls):
    """Whatever the strings (control characters, quotes, astral planes), they come back as sent."""
    assert read_lookup_request(lookup_request(urls)) == urls


@given(st.dictionaries(st.text(), st.lists(st.sampled_from(ENTRIES), max_size=4), max_size=20))
def test_any_answers_round_trip_through_a_lookup_response(answers):
    """Any URLs with any entries come back as sent, keyed by URL."""
    results = [(url, RegistryAnswer(tuple(entries))) for url, entries in answers.items()]
    assert read_lookup_response(lookup_response(results)) == dict(results)


# --- limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "key", "limit", "item"),
    [
        (read_lookup_request, "urls", MAX_BATCH, "https://bulk.test/{}".format),
        (read_lookup_response, "results", MAX_BATCH,
         lambda n: {"url": f"https://bulk.test/{n}", "entries": []}),
        (read_hashed_request, "prefixes", MAX_PREFIXES, "{:08x}".format),
    ],
)  # fmt: skip
def test_a_full_batch_is_read_and_one_more_refused(read, key, limit, item):
    """The limit itself is accepted; one item more raises, saying the limit and the count."""
    assert len(read(body_of({key: [item(n) for n in range(limit)]}))) == limit
    refused = rf"^{key}: at most {limit} per request, got {limit + 1}$"
    with pytest.raises(ProtocolError, match=refused):
        read(body_of({key: [item(n) for n in range(limit + 1)]}))


def test_a_hashed_response_holds_up_to_ten_matches_per_prefix():
    """160,000 matches pass the count (the items are checked next); 160,001 are refused at once."""
    limit = 10 * MAX_PREFIXES
    with pytest.raises(ProtocolError, match=r"^matches\[0\]: expected an object$"):
        read_hashed_response(body_of({"matches": [0] * limit}))
    with pytest.raises(ProtocolError, match=rf"^matches: at most {limit} per request"):
        read_hashed_response(body_of({"matches": [0] * (limit + 1)}))


# --- malformed bodies ------------------------------------------------------------------------

NOT_JSON = [
    (b"", "not JSON"),
    (b"{not json", "not JSON"),
    (b'{"urls": ["\xff"]}', "not JSON: 'utf-8' codec can't decode"),
    (b"\xff\xfe\x00\x00", "not JSON"),
    (b'{"urls": []} trailing', "not JSON: Extra data"),
]
BAD_ENTRIES = [
    ("x", "expected an object with keys"),
    (None, "expected an object with keys"),
    ({**VALID, "comment": "hi"}, "unknown keys ['comment']"),
    ({**VALID, "scope": "site"}, "scope must be one of ['domain', 'host', 'prefix', 'url'], got 'site'"),
    ({"value": "example.org"}, "scope must be one of"),
    ({**VALID, "scope": 1}, "scope must be text, got 1"),
    ({"scope": "domain"}, "value must name a domain"),
    ({**VALID, "value": "   "}, "value must name a domain"),
    ({"scope": "url", "value": "/relative.html"}, "value must be an absolute http(s) URL"),
    ({"scope": "prefix", "value": "ftp://files.test/"}, "value must be an absolute http(s) URL"),
    ({**VALID, "purposes": ["train-ai", "music"]}, "unknown purposes ['music']"),
    ({**VALID, "purposes": "train-ai;TDM"}, "unknown purposes ['TDM']"),
    ({**VALID, "purposes": 3}, "purposes must be ';'-separated text or a list"),
    ({**VALID, "purposes": ["train-ai", 1]}, "purposes must be ';'-separated text or a list"),
    ({**VALID, "purposes": {"train-ai": True}}, "purposes must be ';'-separated text or a list"),
    ({**VALID, "registered": "2026-13-01"}, "registered must be an ISO date, got '2026-13-01'"),
    ({**VALID, "registered": "yesterday"}, "registered must be an ISO date"),
    ({**VALID, "registered": 20260102}, "registered must be text"),
    ({**VALID, "policy": ["https://p.test/"]}, "policy must be text"),
    ({**VALID, "source": 5}, "source must be text, got 5"),
    ({**VALID, "permits": "maybe"}, "permits must be true or false, got 'maybe'"),
    ({**VALID, "permits": 2}, "permits must be true or false"),
]  # fmt: skip


def cases(key: str, shapes: list[tuple[Any, str]], items: list[tuple[Any, str]]) -> list[Any]:
    """NOT_JSON, then *shapes* (top level), then *items* (in a list under *key*)."""
    return [*NOT_JSON, *shapes, *(({key: item}, words) for item, words in items)]


def shapes(key: str) -> list[tuple[Any, str]]:
    """Bodies that are JSON but not an object with a list under *key*."""
    wanted = f"expected an object with a list {key!r}"
    wrong = "matches" if key != "matches" else "urls"
    return [
        (None, wanted), (3, wanted), ("text", wanted), ([], wanted), ([{key: []}], wanted),
        ({}, wanted), ({wrong: []}, wanted), ({key.upper(): []}, wanted), ({key: None}, wanted),
        ({key: "item"}, wanted), ({key: {"0": "item"}}, wanted),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "words"),
    cases("urls", shapes("urls"), [
        (["https://a.test/", 3], "urls: every item must be a string"),
        ([None], "urls: every item must be a string"),
        ([["https://a.test/"]], "urls: every item must be a string"),
        ([{"url": "https://a.test/"}], "urls: every item must be a string"),
    ]),
)  # fmt: skip
def test_malformed_lookup_requests_raise_naming_the_problem(body, words):
    """Not JSON, the wrong shape, a missing key or a non-string URL: a ProtocolError saying so."""
    with pytest.raises(ProtocolError) as raised:
        read_lookup_request(body_of(body))
    assert words in str(raised.value)


@pytest.mark.parametrize(
    ("body", "words"),
    cases("prefixes", shapes("prefixes"), [
        (["0a1b2c3d", 7], "prefixes: every item must be a string"),
        ([None], "prefixes: every item must be a string"),
    ]),
)  # fmt: skip
def test_malformed_hashed_requests_raise_naming_the_problem(body, words):
    """The same checks for /v1/lookup-hashed bodies, naming 'prefixes'."""
    with pytest.raises(ProtocolError) as raised:
        read_hashed_request(body_of(body))
    assert words in str(raised.value)


OK_RESULT = {"url": "https://pages.test/", "entries": [VALID]}


@pytest.mark.parametrize(
    ("body", "words"),
    cases("results", shapes("results"), [
        ([["https://a.test/", []]], "results[0]: expected an object with a string 'url'"),
        ([{"entries": []}], "results[0]: expected an object with a string 'url'"),
        ([{"url": 5, "entries": []}], "results[0]: expected an object with a string 'url'"),
        ([OK_RESULT, {"url": None, "entries": []}], "results[1]: expected an object with a string"),
        ([{"url": "https://a.test/"}], "results[0]: expected a list 'entries'"),
        ([{"url": "https://a.test/", "entries": None}], "results[0]: expected a list 'entries'"),
        ([OK_RESULT, {"url": "https://a.test/", "entries": VALID}], "results[1]: expected a list"),
    ])
    + [({"results": [OK_RESULT, {"url": "u", "entries": [VALID, entry]}]},
        f"results[1].entries[1]: {words}") for entry, words in BAD_ENTRIES],
)  # fmt: skip
def test_malformed_lookup_responses_raise_naming_the_problem(body, words):
    """Bad results and bad entries raise ProtocolError naming the result, the entry and the key."""
    with pytest.raises(ProtocolError) as raised:
        read_lookup_response(body_of(body))
    assert words in str(raised.value)


OK_MATCH = {"digest": "ab" * 32, "entry": VALID}


@pytest.mark.parametrize(
    ("body", "words"),
    cases("matches", shapes("matches"), [
        (["ab" * 32], "matches[0]: expected an object"),
        ([OK_MATCH, None], "matches[1]: expected an object"),
        ([OK_MATCH, [OK_MATCH]], "matches[1]: expected an object"),
        ([{"digest": "ab" * 32}], "matches[0].entry: expected an object with keys"),
    ])
    + [({"matches": [OK_MATCH, {"digest": "cd" * 32, "entry": entry}]}, f"matches[1].entry: {words}")
       for entry, words in BAD_ENTRIES],
)  # fmt: skip
def test_malformed_hashed_responses_raise_naming_the_problem(body, words):
    """Bad matches and bad entries raise ProtocolError naming the match and the key."""
    with pytest.raises(ProtocolError) as raised:
        read_hashed_response(body_of(body))
    assert words in str(raised.value)


READERS: list[Callable[[bytes], Any]] = [
    read_lookup_request, read_lookup_response, read_hashed_request, read_hashed_response,
]  # fmt: skip


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("body", [b"", b"[", b"\xc3\x28", b"null", b"{}"])
def test_a_malformed_body_is_never_an_other_exception(read, body):
    """Every reader raises ProtocolError (never a bare ValueError, TypeError or KeyError)."""
    with pytest.raises(ProtocolError) as raised:
        read(body)
    assert type(raised.value) is ProtocolError
    assert isinstance(raised.value, ValueError)


def test_extra_top_level_keys_are_ignored():
    """Keys the protocol does not define are left alone (room for later versions)."""
    assert read_lookup_request(body_of({"urls": ["https://a.test/"], "version": 2})) == [
        "https://a.test/"
    ]
    body = body_of({"results": [{**OK_RESULT, "note": "x"}], "took_ms": 3})
    assert read_lookup_response(body) == {"https://pages.test/": RegistryAnswer((MINIMAL,))}


@pytest.mark.parametrize(
    "body",
    [
        b'{"urls":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"urls": [], "n": ' + b"1" * 5000 + b"}",
        b'{"prefixes": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    ],
    ids=["deep", "long-int", "deep-prefixes"],
)
def test_json_too_deep_or_with_a_5000_digit_int_is_a_protocol_error(body):
    """Fuzz (fuzz/targets.py registry_protocol): RecursionError or int ValueError is not JSON."""
    for read in (read_lookup_request, read_hashed_request, read_answer_json):
        with pytest.raises(ProtocolError, match=r"^not JSON: "):
            read(body)


def test_a_url_with_a_lone_surrogate_is_a_protocol_error():
    r"""Fuzz (fuzz/targets.py registry_protocol): a ``\ud800`` URL cannot reach SQLite (a 400)."""
    with pytest.raises(ProtocolError, match="valid Unicode"):
        read_lookup_request(b'{"urls": ["https://a.test/\\ud800"]}')
    assert read_lookup_request('{"urls": ["https://a.test/\u00e9"]}'.encode()) == [
        "https://a.test/\u00e9"
    ]
