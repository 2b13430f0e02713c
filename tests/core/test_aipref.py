"""aipref.py: Content-Usage (draft-ietf-aipref-vocab-07) and Content-Signal values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.aipref import (
    CONTENT_SIGNAL_KEYS,
    CONTENT_USAGE_LABELS,
    MAX_EXTRAS,
    MAX_VALUE_CHARS,
    Preferences,
    most_restrictive,
    parse_content_signal,
    parse_content_usage,
    parse_content_usage_header,
)
from scrapy_optout._core.models import Verdict

A, R, U = Verdict.ALLOW, Verdict.RESERVED, Verdict.UNKNOWN
PARSE_ERROR = ("aipref.parse_error",)


# standards.md §4.4, V1-V18: (value, train-ai, search, parse error?)
@pytest.mark.parametrize(
    ("value", "train_ai", "search", "error"),
    [
        pytest.param("train-ai=n", R, U, False, id="V1"),
        pytest.param("train-ai=y, search=n", A, R, False, id="V2"),
        pytest.param("train-ai", U, U, False, id="V3"),
        pytest.param("train-ai=?0", U, U, False, id="V4"),
        pytest.param('train-ai="n"', U, U, False, id="V5"),
        pytest.param("Train-AI=n", U, U, True, id="V6"),
        pytest.param("train-ai=no", U, U, False, id="V7"),
        pytest.param("train-ai=y, train-ai=n", R, U, False, id="V8"),
        pytest.param("train-ai;allow=n, train-ai=y", A, U, False, id="V9"),
        pytest.param("train-ai = n", U, U, True, id="V10"),
        pytest.param("train-ai=n;foo=bar", R, U, False, id="V11"),
        pytest.param("train-ai=N", U, U, False, id="V12"),
        pytest.param("train-ai=n,", U, U, True, id="V13"),
        pytest.param("train-ai=n, foo-bar=y, search=y", R, A, False, id="V14"),
        pytest.param('train-ai=y, train-ai, search=n, search="n"', U, U, False, id="V15"),
        pytest.param("train-genai=n", U, U, False, id="V16"),  # strict: legacy label unknown
        pytest.param("", U, U, False, id="V17"),
        pytest.param("train-ai=(n)", U, U, False, id="V18"),
    ],
)
def test_vocabulary_vectors(value, train_ai, search, error):
    """Each §4.4 vector gives the listed verdicts, and an error only when the dictionary fails."""
    prefs = parse_content_usage(value)
    assert prefs.get("train-ai") is train_ai
    assert prefs.get("search") is search
    assert prefs.errors == (PARSE_ERROR if error else ())
    if error:
        assert prefs.verdicts == ()
        assert prefs.extras == ()


@pytest.mark.parametrize(
    ("value", "extras"),
    [
        pytest.param("train-ai=n, foo-bar=y, search=y", (("foo-bar", "y"),), id="V14"),
        pytest.param("train-genai=n", (("train-genai", "n"),), id="V16"),
        pytest.param("train-ai", (("train-ai", "?1"),), id="V3"),
        pytest.param("train-ai=no", (("train-ai", "no"),), id="V7"),
        pytest.param("train-ai=(n);p=1", (("train-ai", "(n);p=1"),), id="V18-params"),
    ],
)
def test_members_without_verdict_are_kept_as_extras(value, extras):
    """Unknown labels and known labels with other values are recorded, written back as SF text."""
    assert parse_content_usage(value).extras == extras


def test_verdicts_come_in_canonical_label_order():
    """Verdicts follow CONTENT_USAGE_LABELS whatever order the value states them in."""
    prefs = parse_content_usage("search=y, train-ai=n")
    assert prefs.verdicts == (("train-ai", R), ("search", A))
    assert CONTENT_USAGE_LABELS == ("train-ai", "search")


def test_unknown_label_asked_is_unknown():
    """get() on a label the statement never mentions (or that vocab-07 lacks) is UNKNOWN."""
    assert parse_content_usage("train-ai=n").get("ai-input") is U
    assert Preferences().get("train-ai") is U


@pytest.mark.parametrize(
    "value",
    ["train-ai=né", "train-ai=n\x00", "x=\ud800", "train-ai=n, \t", "train-ai=@" + "9" * 20],
)
def test_non_ascii_and_malformed_values_are_parse_errors(value):
    """Bytes outside RFC 9651 make the whole statement unknown, never an exception."""
    prefs = parse_content_usage(value)
    assert prefs.verdicts == ()
    assert prefs.errors == PARSE_ERROR


def test_over_long_value_states_nothing():
    """A value past 64 KiB is not parsed: all UNKNOWN with a too_long error."""
    prefs = parse_content_usage("train-ai=n, " + "a=y, " * (MAX_VALUE_CHARS // 5) + "search=n")
    assert prefs.verdicts == ()
    assert prefs.errors[0].startswith("aipref.too_long")


def test_extras_are_capped():
    """More unknown keys than MAX_EXTRAS are cut to it, and the cut is recorded."""
    value = ", ".join(f"k{i}=y" for i in range(MAX_EXTRAS + 5)) + ", train-ai=n"
    prefs = parse_content_usage(value)
    assert len(prefs.extras) == MAX_EXTRAS
    assert prefs.get("train-ai") is R
    assert prefs.errors == (f"aipref.too_many_keys: kept {MAX_EXTRAS} of {MAX_EXTRAS + 5}",)


# standards.md §4.5: the value side of the attachment vectors (path and group selection are
# robots.py's). A3, A5, A11 and A14 are decided by group selection or access alone.
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param(["train-ai=n"], R, id="A1"),
        pytest.param(["train-ai=y"], A, id="A2"),
        pytest.param(["train-ai=y"], A, id="A4"),
        pytest.param(["train-ai=y", "train-ai=n"], R, id="A6"),
        pytest.param(["train-ai=n "], R, id="A7"),  # "# no AI" already stripped, space left
        pytest.param(["search=y"], U, id="A8"),  # only the longest rule applies
        pytest.param(["train-ai=n"], R, id="A9"),
        pytest.param(["dir/ train-ai=n"], U, id="A10"),
    ],
)
def test_attachment_vectors_value_side(values, expected):
    """Statements for one path combine most-restrictively into the listed train-ai verdict."""
    assert most_restrictive(parse_content_usage(v).get("train-ai") for v in values) is expected


def test_a10_bad_path_is_a_parse_error():
    """A10: an unencoded space in the path leaves "dir/ train-ai=n", which fails to parse."""
    assert parse_content_usage("dir/ train-ai=n").errors == PARSE_ERROR


@pytest.mark.parametrize(
    ("robots", "header", "expected"),
    [
        pytest.param("train-ai=y", ["train-ai=n"], R, id="A12"),
        pytest.param("train-ai=n", ["train-ai=y"], R, id="A12-reversed"),
        pytest.param("train-ai=y", ["search=n"], A, id="A12-other-label"),
        pytest.param("train-ai=y", ["Train-AI=n"], A, id="A12-broken-header"),
    ],
)
def test_robots_and_header_combine(robots, header, expected):
    """A12: the robots.txt rule and the response header are two statements, most restrictive wins."""
    from_robots = parse_content_usage(robots).get("train-ai")
    from_header = parse_content_usage_header(header).get("train-ai")
    assert most_restrictive([from_robots, from_header]) is expected


@pytest.mark.parametrize(
    ("lines", "train_ai", "errors"),
    [
        pytest.param(["train-ai=n", "train-ai=y"], R, ("aipref.header_conflict",), id="A13"),
        pytest.param(["train-ai=y", "train-ai=n"], R, ("aipref.header_conflict",), id="A13-rev"),
        pytest.param(["train-ai=y", "search=n"], A, (), id="distinct-labels"),
        pytest.param(["train-ai=n", "train-ai=n"], R, (), id="agreeing"),
        pytest.param(["Train-AI=n", "train-ai=y"], A, PARSE_ERROR, id="one-line-broken"),
        pytest.param([], U, (), id="no-lines"),
    ],
)
def test_header_lines_combine_conservatively(lines, train_ai, errors):
    """Each field line is a statement; any RESERVED wins and disagreement is recorded."""
    prefs = parse_content_usage_header(lines)
    assert prefs.get("train-ai") is train_ai
    assert prefs.errors == errors


def test_header_keeps_other_labels_and_extras():
    """Labels stated on different lines all survive, and unknown keys are kept."""
    prefs = parse_content_usage_header(["train-ai=n", "search=y, use=x"])
    assert prefs.verdicts == (("train-ai", R), ("search", A))
    assert prefs.extras == (("use", "x"),)


def test_header_accepts_a_bare_line():
    """A single field line passed as a plain string counts as one line, not as characters."""
    assert parse_content_usage_header("train-ai=n").get("train-ai") is R


def test_long_values_read_the_same_as_short_ones():
    """Values past the memoised length parse exactly like short ones."""
    padding = ", ".join(f"k{i}=?1" for i in range(150))
    for value in (f"train-ai=n, {padding}", f"ai-train=no, {padding.replace('?1', 'x')}"):
        assert len(value) > 1_024
    assert parse_content_usage(f"train-ai=n, {padding}").get("train-ai") is R
    assert parse_content_signal(f"{padding.replace('?1', 'x')}, ai-train=no").get("ai-train") is R


def test_header_stops_reading_past_its_budget():
    """Field lines beyond 128 KiB in all are not read, and the cut is recorded."""
    filler = "a=" + "y" * 60_000
    prefs = parse_content_usage_header([filler, filler, filler, "train-ai=n"])
    assert prefs.get("train-ai") is U
    assert any(e.startswith("aipref.too_long") for e in prefs.errors)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], U),
        ([U, U], U),
        ([U, A], A),
        ([A, R, A], R),
        ([R], R),
        ([U, R, U], R),
    ],
)
def test_most_restrictive(verdicts, expected):
    """Combining (vocab-07 §Combining): any RESERVED, else any ALLOW, else UNKNOWN."""
    assert most_restrictive(iter(verdicts)) is expected


# standards.md §5.4, value side (group and path selection are robots.py's; C3 and C7 are access).
@pytest.mark.parametrize(
    ("value", "expected", "extras", "errors"),
    [
        pytest.param("search=yes, ai-train=no", {"ai-train": R, "search": A}, (), (), id="C1"),
        pytest.param(
            "search=yes, ai-train=no, ai-input=no",
            {"ai-train": R, "ai-input": R, "search": A},
            (),
            (),
            id="C2",
        ),
        pytest.param("ai-train=no", {"ai-train": R}, (), (), id="C4"),
        pytest.param("search=yes, ai-train=no", {"ai-train": R, "search": A}, (), (), id="C5"),
        pytest.param("search=yes,ai-train=no", {"ai-train": R, "search": A}, (), (), id="C6"),
        pytest.param(
            "search=yes,ai-train=no,use=reference",
            {"ai-train": R, "search": A},
            (("use", "reference"),),
            (),
            id="C8",
        ),
        pytest.param(
            "AI-Train=No", {"ai-train": R}, (), ("content_signal.nonstandard_case",), id="C9"
        ),
        pytest.param("ai-train=n", {}, (("ai-train", "n"),), (), id="C10"),
        pytest.param("", {}, (), (), id="C11"),
    ],
)
def test_content_signal_vectors(value, expected, extras, errors):
    """Each §5.4 value gives the listed verdicts; every key not listed stays UNKNOWN."""
    prefs = parse_content_signal(value)
    for key in CONTENT_SIGNAL_KEYS:
        assert prefs.get(key) is expected.get(key, U), key
    assert prefs.extras == extras
    assert prefs.errors == errors


def test_c11_no_line_means_nothing_stated():
    """C11: with no Content-Signal line there is no statement, so every key is UNKNOWN."""
    assert most_restrictive(parse_content_signal(v).get("ai-train") for v in []) is U


@pytest.mark.parametrize(
    ("value", "ai_train", "extras", "errors"),
    [
        ("  ai-train = no  ", R, (), ()),
        ("ai-train=no,", R, (), ()),
        ("ai-train=NO", R, (), ("content_signal.nonstandard_case",)),
        ('ai-train="no"', U, (("ai-train", '"no"'),), ()),
        ("ai-train", U, (("ai-train", ""),), ()),
        ("Use=Reference", U, (("use", "Reference"),), ()),
        ("ai-train=no, ai-train=yes", R, (), ("content_signal.duplicate_key",)),
        ("ai-train=yes, ai-train=maybe", A, (("ai-train", "maybe"),), ()),
    ],
)
def test_content_signal_leniency(value, ai_train, extras, errors):
    """Whitespace and empty members are tolerated; duplicates combine most-restrictively."""
    prefs = parse_content_signal(value)
    assert prefs.get("ai-train") is ai_train
    assert prefs.extras == extras
    assert prefs.errors == errors


def test_content_signal_canonical_order():
    """Verdicts follow CONTENT_SIGNAL_KEYS whatever the order written."""
    prefs = parse_content_signal("ai-train=no, ai-input=yes, search=no")
    assert [k for k, _ in prefs.verdicts] == list(CONTENT_SIGNAL_KEYS)


def test_content_signal_over_long_value_states_nothing():
    """A Content-Signal value past 64 KiB is not read."""
    prefs = parse_content_signal("ai-train=no," + " " * MAX_VALUE_CHARS)
    assert prefs.verdicts == ()
    assert prefs.errors[0].startswith("content_signal.too_long")


def _check_record(prefs: Preferences, known: tuple[str, ...]) -> None:
    """Assert the invariants every Preferences record keeps."""
    assert isinstance(prefs, Preferences)
    labels = [label for label, _ in prefs.verdicts]
    assert labels == [k for k in known if k in labels]  # known labels, canonical order, no repeat
    assert all(v in (A, R) for _, v in prefs.verdicts)
    assert len(prefs.extras) <= MAX_EXTRAS
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in prefs.extras)
    assert all(
        isinstance(e, str) and e.split(".")[0] in ("aipref", "content_signal") for e in prefs.errors
    )
    for label in known:
        assert prefs.get(label) in (A, R, U)


SF_ALPHABET = st.sampled_from(
    [
        "train-ai",
        "search",
        "=",
        "y",
        "n",
        ",",
        " ",
        ";",
        "?0",
        '"',
        "(",
        ")",
        "foo",
        "*",
        "1.5",
        "\t",
    ]
)


@given(st.text(max_size=300))
def test_content_usage_never_raises_on_text(value):
    """Arbitrary text gives a valid record, never an exception."""
    _check_record(parse_content_usage(value), CONTENT_USAGE_LABELS)


@given(st.lists(SF_ALPHABET, max_size=40).map("".join))
def test_content_usage_structured_noise(value):
    """Near-valid dictionaries give a valid record, and a verdict only for y or n tokens."""
    prefs = parse_content_usage(value)
    _check_record(prefs, CONTENT_USAGE_LABELS)
    if prefs.errors:
        assert prefs.verdicts == ()


@given(st.binary(max_size=300))
def test_content_usage_never_raises_on_bytes(raw):
    """Bytes decoded any way a shell might (latin-1) give a valid record."""
    _check_record(parse_content_usage(raw.decode("latin-1")), CONTENT_USAGE_LABELS)


@given(st.lists(st.text(max_size=80), max_size=6))
def test_content_usage_header_never_raises(lines):
    """Any set of field lines gives a valid record; a RESERVED line always wins."""
    prefs = parse_content_usage_header(lines)
    _check_record(prefs, CONTENT_USAGE_LABELS)
    if any(parse_content_usage(line).get("train-ai") is R for line in lines):
        assert prefs.get("train-ai") is R


@given(st.text(max_size=300))
def test_content_signal_never_raises_on_text(value):
    """Arbitrary text gives a valid Content-Signal record."""
    _check_record(parse_content_signal(value), CONTENT_SIGNAL_KEYS)


@given(st.binary(max_size=300))
def test_content_signal_never_raises_on_bytes(raw):
    """Arbitrary bytes (as latin-1 text) give a valid Content-Signal record."""
    _check_record(parse_content_signal(raw.decode("latin-1")), CONTENT_SIGNAL_KEYS)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ai-train", "AI-TRAIN", "search", "ai-input", "use", "x"]),
            st.sampled_from(["yes", "no", "Yes", "NO", "y", "n", "reference", ""]),
        ),
        max_size=8,
    )
)
def test_content_signal_any_no_reserves(pairs):
    """Whatever else is stated, a known key said "no" (any case) comes back RESERVED."""
    prefs = parse_content_signal(", ".join(f"{k}={v}" for k, v in pairs))
    _check_record(prefs, CONTENT_SIGNAL_KEYS)
    for key, value in pairs:
        if key.lower() in CONTENT_SIGNAL_KEYS and value.lower() == "no":
            assert prefs.get(key.lower()) is R
