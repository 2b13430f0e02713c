"""TDMRep carriers: tdmrep.json, tdm-* headers and meta (standards.md §1, vectors §1.9)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.patterns import Pattern
from scrapy_optout._core.tdmrep import (
    MAX_BODY_BYTES,
    MAX_ERRORS,
    MAX_RULES,
    UNSET,
    TdmrepFile,
    TdmRule,
    TdmValue,
    match_tdmrep,
    parse_tdmrep,
    tdm_from_headers,
    tdm_from_meta,
)

POLICY = "https://provider.com/policies/policy.json"
SPEC_EXAMPLE = [  # TDMRep §1.3 example, standards.md §1.3
    {"location": "/directory-a/", "tdm-reservation": 1},
    {"location": "/directory-b/html/", "tdm-reservation": 1, "tdm-policy": POLICY},
    {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0},
]
ROOT_1 = [{"location": "/", "tdm-reservation": 1}]
ROOT_0 = [{"location": "/", "tdm-reservation": 0}]


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def check_file(doc: TdmrepFile) -> None:
    """The invariants every parsed file keeps, whatever the input."""
    assert isinstance(doc, TdmrepFile)
    assert isinstance(doc.rules, tuple)
    assert len(doc.rules) <= MAX_RULES
    indexes = [r.index for r in doc.rules]
    assert indexes == sorted(set(indexes))
    for rule in doc.rules:
        assert isinstance(rule, TdmRule)
        assert isinstance(rule.location, str)
        rule.location.encode("utf-8")  # always loggable
        assert rule.pattern is None or isinstance(rule.pattern, Pattern)
        assert rule.origin is None or re.fullmatch(r"https?://.+:\d+", rule.origin)
        assert rule.reservation in (None, 0, 1)
        assert rule.reservation is None or type(rule.reservation) is int
        assert rule.policy is None or rule.policy != ""
    check_errors(doc.errors)


def check_errors(errors: tuple[str, ...]) -> None:
    assert isinstance(errors, tuple)
    assert len(errors) <= MAX_ERRORS + 1
    assert all(e.startswith("tdmrep.") for e in errors)


def check_value(value: TdmValue) -> None:
    """The invariants every layer value keeps."""
    assert isinstance(value, TdmValue)
    assert value.reservation in (None, 0, 1)
    assert value.policy is None or isinstance(value.policy, str)
    assert isinstance(value.detail, str)
    check_errors(value.errors)


# --- tdmrep.json vectors (standards.md §1.9) --------------------------------------------------

FILE_VECTORS = [
    ("T1", ROOT_1, "/any/thing", 1, None),
    ("T2", SPEC_EXAMPLE, "/directory-a/report.pdf", 1, None),
    ("T3", SPEC_EXAMPLE, "/directory-b/html/p.html", 1, POLICY),
    ("T4", SPEC_EXAMPLE, "/directory-b/images/cat.jpg", 0, None),
    ("T5", SPEC_EXAMPLE, "/directory-b/images/cat.png", None, None),
    ("T6", SPEC_EXAMPLE, "/directory-b/images/cat.jpg.html", 0, None),
    ("T7", [{"location": "/a/", "tdm-reservation": 0}, {"location": "/a/b/", "tdm-reservation": 1}],
     "/a/b/c", 0, None),
    ("T8-1", [{"location": "/page$", "tdm-reservation": 1}], "/page", 1, None),
    ("T8-2", [{"location": "/page$", "tdm-reservation": 1}], "/page?x=1", None, None),
    ("T8-3", [{"location": "/page$", "tdm-reservation": 1}], "/page.html", None, None),
    ("T9", [{"location": "/Docs/", "tdm-reservation": 1}], "/docs/x", None, None),
    ("T10-1", [{"location": "/caf%C3%A9/", "tdm-reservation": 1}], "/caf%C3%A9/menu", 1, None),
    ("T10-2", [{"location": "/caf%C3%A9/", "tdm-reservation": 1}], "/café/menu", 1, None),
    ("T11", {"location": "/", "tdm-reservation": 1}, "/x", None, None),
    ("T12", [{"location": "/", "tdm-reservation": 2}], "/x", None, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "path", "reservation", "policy"),
    [pytest.param(*v[1:], id=v[0]) for v in FILE_VECTORS],
)
def test_file_vectors(doc: object, path: str, reservation: int | None, policy: str | None) -> None:
    """Each tdmrep.json vector gives the reservation and policy of standards.md §1.9."""
    parsed = parse_tdmrep(body(doc))
    check_file(parsed)
    value = match_tdmrep(parsed, "https://provider.com" + path)
    check_value(value)
    assert (value.reservation, value.policy) == (reservation, policy)


def test_first_match_wins_and_longer_disagreeing_rule_is_flagged() -> None:
    """T7: the first rule in sequence decides; a longer later rule that disagrees is logged."""
    doc = parse_tdmrep(body(FILE_VECTORS[6][1]))
    value = match_tdmrep(doc, "https://h/a/b/c")
    assert value.detail == "location /a/ matched rule 0"
    assert value.errors == ("tdmrep.order_ambiguity: rule 1 says 1",)
    assert match_tdmrep(doc, "https://h/a/x").errors == ()


def test_object_instead_of_array_is_an_invalid_file() -> None:
    """T11: a top-level object gives no rules and tdmrep.invalid_file."""
    doc = parse_tdmrep(body({"location": "/", "tdm-reservation": 1}))
    assert doc.rules == ()
    assert doc.errors == ("tdmrep.invalid_file: top level is dict",)
    assert match_tdmrep(doc, "https://h/x") == UNSET


@pytest.mark.parametrize(
    "raw",
    [2, -1, "1", "yes", True, False, None, 1.0, [1], {"v": 1}],
    ids=lambda r: repr(r),
)
def test_invalid_reservation_matches_but_stays_unset(raw: object) -> None:
    """T12: a first-matching rule with a value other than 1/0 yields unset, error recorded."""
    doc = parse_tdmrep(
        body([{"location": "/", "tdm-reservation": raw, "tdm-policy": "https://p/a"}])
    )
    assert doc.rules[0].reservation is None
    assert doc.errors[0].startswith("tdmrep.invalid_rule: rule 0: tdm-reservation ")
    value = match_tdmrep(doc, "https://h/x")
    assert value.reservation is None
    assert value.policy == "https://p/a"
    assert value.errors == ("tdmrep.invalid_rule: rule 0 matched: tdm-reservation unset",)
    assert value.detail == "location / matched rule 0 (invalid tdm-reservation)"


def test_invalid_first_match_is_not_skipped_for_a_later_rule() -> None:
    """The literal spec: the first match decides even when its value is invalid."""
    doc = parse_tdmrep(body([{"location": "/a", "tdm-reservation": "1"}, *ROOT_1]))
    assert match_tdmrep(doc, "https://h/a").reservation is None
    assert match_tdmrep(doc, "https://h/b").reservation == 1


def test_missing_reservation_is_recorded() -> None:
    """A rule without tdm-reservation is kept, unset, with its error."""
    doc = parse_tdmrep(body([{"location": "/"}]))
    assert doc.rules[0].reservation is None
    assert doc.errors == ("tdmrep.invalid_rule: rule 0: tdm-reservation missing",)


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("", "tdmrep.invalid_rule: rule 0: empty location"),
        (None, "tdmrep.invalid_rule: rule 0: location None is not a string"),
        (7, "tdmrep.invalid_rule: rule 0: location 7 is not a string"),
        (["/"], "tdmrep.invalid_rule: rule 0: location ['/'] is not a string"),
        ("ftp://h/x", "tdmrep.invalid_rule: rule 0: location URL is not http(s) with a host"),
        ("https:///x", "tdmrep.invalid_rule: rule 0: location URL is not http(s) with a host"),
        (
            "https://h:99999/x",
            "tdmrep.invalid_rule: rule 0: location URL is not http(s) with a host",
        ),
    ],
)
def test_unusable_locations_match_nothing(location: object, error: str) -> None:
    """Empty, non-string and non-http(s) URL locations have no pattern and never match."""
    doc = parse_tdmrep(body([{"location": location, "tdm-reservation": 1}]))
    check_file(doc)
    assert doc.rules[0].pattern is None
    assert error in doc.errors
    assert match_tdmrep(doc, "https://h/x") == UNSET


def test_missing_location_matches_nothing() -> None:
    """A rule without a location has no pattern."""
    doc = parse_tdmrep(body([{"tdm-reservation": 1}]))
    assert doc.rules[0].location == ""
    assert doc.rules[0].pattern is None
    assert match_tdmrep(doc, "https://h/") == UNSET


def test_relative_location_is_compiled_as_written_and_flagged() -> None:
    """A location not starting with / or * never matches a path (RFC 9309 §2.2.2); it is logged."""
    doc = parse_tdmrep(body([{"location": "dir/", "tdm-reservation": 1}]))
    assert doc.errors == ("tdmrep.invalid_rule: rule 0: location does not start with / or *",)
    assert match_tdmrep(doc, "https://h/dir/x") == UNSET


def test_star_location_matches_everything() -> None:
    """A location starting with * is a valid pattern (RFC 9309 §2.2.3)."""
    doc = parse_tdmrep(body([{"location": "*.pdf", "tdm-reservation": 1}]))
    assert doc.errors == ()
    assert match_tdmrep(doc, "https://h/a/b.pdf").reservation == 1


@pytest.mark.parametrize(
    ("location", "url", "reservation"),
    [
        ("https://h.example/dir/", "https://h.example/dir/x", 1),
        ("https://h.example/dir/", "https://H.EXAMPLE:443/dir/x", 1),
        ("https://h.example:443/dir/", "https://h.example/dir/x", 1),
        ("http://h.example/dir/", "http://h.example:80/dir/x", 1),
        ("https://h.example/dir/", "http://h.example/dir/x", None),
        ("https://h.example/dir/", "https://h.example:8443/dir/x", None),
        ("https://h.example/dir/", "https://other.example/dir/x", None),
        ("https://h.example/dir/", "https://h.example/other/", None),
        ("https://h.example", "https://h.example/anything", 1),
        ("https://h.example/p?q=1", "https://h.example/p?q=1&r", 1),
        ("https://café.example/", "https://xn--caf-dma.example/x", 1),
        ("https://[::1]/a", "https://[::1]:443/a", 1),
        ("https://h.example/dir/", "not a url", None),
        ("https://h.example/dir/", "https://[bad/dir/", None),
    ],
)
def test_full_url_location_applies_to_its_own_origin(
    location: str, url: str, reservation: int | None
) -> None:
    """standards.md §1.3 [I]: a full-URL location matches its path on its origin only, warned."""
    doc = parse_tdmrep(body([{"location": location, "tdm-reservation": 1}]))
    assert doc.rules[0].origin is not None
    assert doc.errors[0].startswith("tdmrep.url_location: rule 0: ")
    assert match_tdmrep(doc, url).reservation == reservation


def test_full_url_rule_of_another_origin_lets_later_rules_match() -> None:
    """A rule for another origin is skipped, not a match."""
    doc = parse_tdmrep(body([{"location": "https://other/", "tdm-reservation": 0}, *ROOT_1]))
    assert match_tdmrep(doc, "https://h/x").reservation == 1


def test_policy_kept_when_string_and_rejected_otherwise() -> None:
    """tdm-policy is kept when a non-empty string; other types are recorded."""
    doc = parse_tdmrep(body([
        {"location": "/a", "tdm-reservation": 1, "tdm-policy": " https://p/a "},
        {"location": "/b", "tdm-reservation": 1, "tdm-policy": 5},
        {"location": "/c", "tdm-reservation": 1, "tdm-policy": ""},
    ]))  # fmt: skip
    assert [r.policy for r in doc.rules] == ["https://p/a", None, None]
    assert doc.errors == ("tdmrep.invalid_rule: rule 1: tdm-policy 5",)


def test_non_object_entries_are_dropped_but_indexes_kept() -> None:
    """An entry that is not an object is recorded; the others keep their array index."""
    doc = parse_tdmrep(body(["x", 3, None, {"location": "/", "tdm-reservation": 1}]))
    assert [r.index for r in doc.rules] == [3]
    assert doc.errors[:3] == tuple(
        f"tdmrep.invalid_rule: rule {i}: not an object" for i in range(3)
    )
    assert match_tdmrep(doc, "https://h/x").detail == "location / matched rule 3"


def test_duplicate_keys_last_wins() -> None:
    """RFC 8259 §4 leaves duplicates open; Python's json (last wins) is kept."""
    doc = parse_tdmrep(b'[{"location":"/","tdm-reservation":0,"tdm-reservation":1}]')
    assert doc.rules[0].reservation == 1


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(b"", "JSONDecodeError", id="empty"),
        pytest.param(b"not json", "JSONDecodeError", id="text"),
        pytest.param(b"[{]", "JSONDecodeError", id="broken"),
        pytest.param(b'[{"location":"/","tdm-reservation":1},]', "JSONDecodeError", id="comma"),
        pytest.param(b'["\xff"]', "UnicodeDecodeError", id="latin-1"),
        pytest.param('[{"location":"/"}]'.encode("utf-16"), "UnicodeDecodeError", id="utf-16"),
        pytest.param(b"[" * 100_000, "RecursionError", id="deep-array"),
        pytest.param(b'[{"a":' * 50_000, "RecursionError", id="deep-object"),
        pytest.param(b"[" + b"9" * 5000 + b"]", "ValueError", id="huge-int"),
        pytest.param(b"1", "top level is int", id="number"),
        pytest.param(b"null", "top level is NoneType", id="null"),
        pytest.param(b'"[]"', "top level is str", id="string"),
        pytest.param(b" " * (MAX_BODY_BYTES + 1), f"over {MAX_BODY_BYTES} bytes", id="too-large"),
    ],
)
def test_unreadable_files_are_invalid_not_exceptions(raw: bytes, error: str) -> None:
    """Not JSON, not UTF-8, too deep, too big or not an array: no rules, tdmrep.invalid_file."""
    doc = parse_tdmrep(raw)
    assert doc == TdmrepFile((), ("tdmrep.invalid_file: " + error,))
    assert match_tdmrep(doc, "https://h/x") == UNSET


def test_utf8_bom_is_accepted() -> None:
    """RFC 8259 §8.1: a leading byte order mark may be ignored."""
    doc = parse_tdmrep(b"\xef\xbb\xbf" + body(ROOT_1))
    assert match_tdmrep(doc, "https://h/x").reservation == 1


def test_empty_array_is_a_file_without_rules() -> None:
    """[] is valid: nothing is reserved and nothing is wrong."""
    assert parse_tdmrep(b"[]") == TdmrepFile((), ())


def test_rule_count_is_capped() -> None:
    """Past MAX_RULES entries the tail is dropped and recorded."""
    doc = parse_tdmrep(
        body([{"location": f"/{i}/", "tdm-reservation": 1} for i in range(MAX_RULES + 5)])
    )
    assert len(doc.rules) == MAX_RULES
    assert doc.errors == (f"tdmrep.too_many_rules: kept {MAX_RULES} of {MAX_RULES + 5}",)


def test_error_list_is_capped() -> None:
    """Thousands of bad rules record MAX_ERRORS errors and one overflow marker."""
    doc = parse_tdmrep(body([{"location": "/", "tdm-reservation": 9}] * 5000))
    assert len(doc.errors) == MAX_ERRORS + 1
    assert doc.errors[-1] == "tdmrep.too_many_errors"


def test_lone_surrogates_are_made_loggable() -> None:
    """A JSON escape of a lone surrogate never leaves an unencodable string in the record."""
    doc = parse_tdmrep(b'[{"location":"/\\ud800","tdm-reservation":1,"tdm-policy":"x\\udfff"}]')
    check_file(doc)
    assert doc.rules[0].location == "/\ufffd\ufffd\ufffd"
    assert match_tdmrep(doc, "https://h/%ED%A0%80").reservation == 1


def test_long_error_values_are_shortened() -> None:
    """Remote values are clipped in error strings."""
    doc = parse_tdmrep(body([{"location": "/", "tdm-reservation": "x" * 10_000}]))
    assert len(doc.errors[0]) < 160


# --- headers (TDMRep §1.4) ---------------------------------------------------------------------

HEADER_VECTORS = [
    ("T18", ["yes"], [], None, None, ("tdmrep.invalid_header: tdm-reservation 'yes'",)),
    ("T19", ["  1 "], [], 1, None, ()),
    ("T20", ["0"], ["https://p/x.json"], 0, "https://p/x.json", ()),
    ("T26", ["1", "0"], [], 1, None, ("tdmrep.header_conflict",)),
]


@pytest.mark.parametrize(
    ("reservations", "policies", "reservation", "policy", "errors"),
    [pytest.param(*v[1:], id=v[0]) for v in HEADER_VECTORS],
)
def test_header_vectors(
    reservations: list[str],
    policies: list[str],
    reservation: int | None,
    policy: str | None,
    errors: tuple[str, ...],
) -> None:
    """Each header vector gives the value of standards.md §1.9 (T26: conservative reading)."""
    value = tdm_from_headers(reservations, policies)
    assert (value.reservation, value.policy, value.errors) == (reservation, policy, errors)


@pytest.mark.parametrize(
    ("lines", "reservation", "errors"),
    [
        ([], None, ()),
        (["1, 1"], 1, ()),
        (["0", "0,"], 0, ()),
        (["1, 0"], 1, ("tdmrep.header_conflict",)),
        (["0", "1"], 1, ("tdmrep.header_conflict",)),
        (["1, yes"], 1, ("tdmrep.invalid_header: tdm-reservation 'yes'",)),
        (["true"], None, ("tdmrep.invalid_header: tdm-reservation 'true'",)),
        (["01"], None, ("tdmrep.invalid_header: tdm-reservation '01'",)),
        (['"1"'], None, ("tdmrep.invalid_header: tdm-reservation '\"1\"'",)),
        ([""], None, ("tdmrep.invalid_header: tdm-reservation ''",)),
        ([" \t"], None, ("tdmrep.invalid_header: tdm-reservation ''",)),
        (["\t0\t"], 0, ()),
    ],
)
def test_header_reservation_members(
    lines: list[str], reservation: int | None, errors: tuple[str, ...]
) -> None:
    """Every line and comma member counts; invalid ones are ignored; a 1 wins a conflict."""
    value = tdm_from_headers(lines, [])
    assert (value.reservation, value.errors) == (reservation, errors)


@pytest.mark.parametrize(
    ("lines", "policy", "errors"),
    [
        (["https://p/a"], "https://p/a", ()),
        (["HTTP://P/a"], "HTTP://P/a", ()),
        (["https://p/a,b.json"], "https://p/a,b.json", ()),
        (["https://p/a, https://p/b"], "https://p/a", ("tdmrep.policy_conflict: header 'https://p/b' ignored",)),
        (["https://p/a", "https://p/a"], "https://p/a", ()),
        (["junk, https://p/a"], "https://p/a", ("tdmrep.invalid_policy: header 'junk'",)),
        (["/relative.json"], None, ("tdmrep.invalid_policy: header '/relative.json'",)),
        (["https://"], None, ("tdmrep.invalid_policy: header 'https://'",)),
        (["", " , "], None, ()),
    ],
)  # fmt: skip
def test_header_policy_is_the_first_valid_url(
    lines: list[str], policy: str | None, errors: tuple[str, ...]
) -> None:
    """tdm-policy: the first absolute http(s) URL; others are recorded."""
    value = tdm_from_headers([], lines)
    assert (value.reservation, value.policy, value.errors) == (None, policy, errors)


def test_header_detail_names_the_values() -> None:
    """The detail quotes the reservation members and the policy."""
    assert tdm_from_headers(["1", "0"], ["https://p/x"]).detail == (
        "tdm-reservation: 1, 0; tdm-policy: https://p/x"
    )
    assert tdm_from_headers(["1"], []).detail == "tdm-reservation: 1"
    assert tdm_from_headers([], []) == UNSET


def test_many_header_members_are_read_in_linear_time() -> None:
    """Thousands of members: a single 1 among zeros still reserves (with a conflict)."""
    value = tdm_from_headers(["0, " * 50_000 + "1"] + ["junk"] * 5000, [])
    assert value.reservation == 1
    assert value.errors[0] == "tdmrep.header_conflict"  # never hidden by the cap
    assert value.errors[-1] == "tdmrep.too_many_errors"
    assert len(value.errors) == MAX_ERRORS + 1


# --- meta (TDMRep §1.5) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metas", "reservation", "policy", "errors"),
    [
        ([], None, None, ()),
        ([("tdm-reservation", "1")], 1, None, ()),
        ([("TDM-Reservation", " 0 ")], 0, None, ()),
        ([("tdm-reservation", "0"), ("tdm-reservation", "1")], 1, None, ("tdmrep.meta_conflict",)),
        ([("tdm-reservation", "yes")], None, None, ("tdmrep.invalid_meta: tdm-reservation 'yes'",)),
        ([("tdm-reservation", "1, 0")], None, None, ("tdmrep.invalid_meta: tdm-reservation '1, 0'",)),
        ([("tdm-policy", "https://p/x")], None, "https://p/x", ()),
        ([("tdm-policy", "x"), ("tdm-policy", "https://p/y")], None, "https://p/y",
         ("tdmrep.invalid_policy: meta 'x'",)),
        ([("robots", "noai"), ("description", "1")], None, None, ()),
    ],
)  # fmt: skip
def test_meta_values(
    metas: list[tuple[str, str]],
    reservation: int | None,
    policy: str | None,
    errors: tuple[str, ...],
) -> None:
    """Meta names compare case-insensitively; conflicting values: any 1 wins, recorded."""
    value = tdm_from_meta(metas)
    assert (value.reservation, value.policy, value.errors) == (reservation, policy, errors)


def test_meta_detail() -> None:
    """The meta detail says it came from a meta tag."""
    value = tdm_from_meta([("tdm-reservation", "1"), ("tdm-policy", "https://p/x")])
    assert value.detail == "meta tdm-reservation: 1; meta tdm-policy: https://p/x"


# --- multi-layer vectors: each layer's value (the layering itself is tested in test_rules) ------

LAYER_VECTORS = [
    # id, file, header (reservation lines, policy lines), metas, file/header/meta (res, policy)
    ("T15", ROOT_1, (["0"], []), [], (1, None), (0, None), (None, None)),
    ("T16", ROOT_0, ([], []), [("tdm-reservation", "1")], (0, None), (None, None), (1, None)),
    ("T17", ROOT_1, ([], []), [], (1, None), (None, None), (None, None)),
    ("T21", None, (["1"], []), [("tdm-reservation", "0")], (None, None), (1, None), (0, None)),
    ("T23", [{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://p/a"}],
     ([], ["https://p/b"]), [], (1, "https://p/a"), (None, "https://p/b"), (None, None)),
    ("T25", None, (["0"], []), [], (None, None), (0, None), (None, None)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("file", "headers", "metas", "from_file", "from_header", "from_meta"),
    [pytest.param(*v[1:], id=v[0]) for v in LAYER_VECTORS],
)
def test_layer_values_for_multi_layer_vectors(
    file: object,
    headers: tuple[list[str], list[str]],
    metas: list[tuple[str, str]],
    from_file: tuple[int | None, str | None],
    from_header: tuple[int | None, str | None],
    from_meta: tuple[int | None, str | None],
) -> None:
    """Each layer says what the vector's combination needs; absent layers are unset."""
    doc = parse_tdmrep(body(file)) if file is not None else TdmrepFile((), ())
    values = (
        match_tdmrep(doc, "https://h/x.html"),
        tdm_from_headers(*headers),
        tdm_from_meta(metas),
    )
    assert [(v.reservation, v.policy) for v in values] == [from_file, from_header, from_meta]
    assert all(v.errors == () for v in values)


# --- properties --------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
RULE = st.dictionaries(
    st.sampled_from(["location", "tdm-reservation", "tdm-policy", "x"]),
    JSON
    | st.sampled_from(["/", "/a*", "/a$", "*", "https://h/", "http://h:8080/a"])
    | st.integers(0, 1),
)


@given(st.binary())
def test_any_bytes_give_a_valid_file(raw: bytes) -> None:
    """Arbitrary bytes never raise and give a well-formed record."""
    doc = parse_tdmrep(raw)
    check_file(doc)
    check_value(match_tdmrep(doc, "https://h/x"))


@given(st.text())
def test_any_text_gives_a_valid_file(text: str) -> None:
    """Arbitrary text never raises and gives a well-formed record."""
    check_file(parse_tdmrep(text.encode("utf-8", "surrogatepass")))


@given(st.lists(RULE | JSON, max_size=8), st.text())
def test_any_json_array_gives_valid_rules_and_values(items: list[object], path: str) -> None:
    """Arbitrary JSON arrays: one record per object, and matching any URL never raises."""
    doc = parse_tdmrep(json.dumps(items).encode())
    check_file(doc)
    assert len(doc.rules) == sum(isinstance(i, dict) for i in items)
    value = match_tdmrep(doc, "https://h/" + path)
    check_value(value)
    if value.reservation is not None:
        assert value.detail.startswith("location ")


@given(st.lists(st.text()), st.lists(st.text()))
def test_any_header_lines_give_a_valid_value(reservations: list[str], policies: list[str]) -> None:
    """Arbitrary header values never raise; a reservation comes only from a 1/0 member."""
    value = tdm_from_headers(reservations, policies)
    check_value(value)
    members = {m.strip(" \t\r\n\f\v") for line in reservations for m in line.split(",")}
    expected = 1 if "1" in members else 0 if "0" in members else None
    assert value.reservation == expected


@given(
    st.lists(
        st.tuples(st.sampled_from(["tdm-reservation", "TDM-Policy", "x"]) | st.text(), st.text())
    )
)
def test_any_metas_give_a_valid_value(metas: list[tuple[str, str]]) -> None:
    """Arbitrary meta pairs never raise and give a well-formed value."""
    check_value(tdm_from_meta(metas))
