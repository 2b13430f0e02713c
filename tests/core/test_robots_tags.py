"""noai / noimageai in X-Robots-Tag and meta robots (standards.md §3, vectors §3.4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.robots_tags import (
    MAX_MATCHED,
    MAX_TOTAL_CHARS,
    NONE,
    AiDirectives,
    parse_meta_robots,
    parse_x_robots_tag,
)

BOT = "MyBot"


def check(result: AiDirectives) -> None:
    """The invariants every result keeps: flags agree with the directive texts kept."""
    assert isinstance(result, AiDirectives)
    assert isinstance(result.noai, bool)
    assert isinstance(result.noimageai, bool)
    assert isinstance(result.matched, tuple)
    assert len(result.matched) <= MAX_MATCHED
    assert len(set(result.matched)) == len(result.matched)
    kinds = {m.rsplit(":", 1)[-1].strip().lower() for m in result.matched}
    assert kinds <= {"noai", "noimageai"}
    assert ("noai" in kinds) <= result.noai
    assert ("noimageai" in kinds) <= result.noimageai
    if len(result.matched) < MAX_MATCHED:  # below the cap every flag has its text
        assert ("noai" in kinds, "noimageai" in kinds) == (result.noai, result.noimageai)
    assert all(e.startswith("noai.") for e in result.errors)


# id, header field lines, meta (name, content) pairs, token, noai, noimageai, matched
VECTORS = [
    ("X1", ["noai"], None, BOT, True, False, ("noai",)),
    ("X2", ["noimageai"], None, BOT, False, True, ("noimageai",)),  # image decision: rules.py
    ("X3", ["noimageai"], None, BOT, False, True, ("noimageai",)),  # page/images: rules.py
    ("X4", ["noindex, nofollow"], None, BOT, False, False, ()),
    ("X5", ["otherbot: noai"], None, BOT, False, False, ()),
    ("X6", ["MYBOT: NoAI"], None, BOT, True, False, ("MYBOT: NoAI",)),
    ("X7", ["googlebot: noindex, noai"], None, BOT, False, False, ()),  # MDN reading
    ("X8", ["noindex", "noai"], None, BOT, True, False, ("noai",)),
    ("X9", ["max-snippet: 50, noai"], None, BOT, True, False, ("noai",)),
    ("X10", ["unavailable_after: Sunday, 06-Nov-94 08:49:37 GMT, noai"], None, BOT,
     True, False, ("noai",)),
    ("X11", None, [("ROBOTS", "NoImageAI, noAI")], BOT, True, True, ("NoImageAI", "noAI")),
    ("X12", None, [("robots", "noimageai")], BOT, False, True, ("noimageai",)),  # propagation: rules.py
    ("X13", None, [("CCBot", "noai")], BOT, False, False, ()),
    ("X13-CCBot", None, [("CCBot", "noai")], "CCBot", True, False, ("CCBot: noai",)),
    ("X14", [":, :, ,;: -:: "], None, BOT, False, False, ()),
    ("X15", None, [("robots", "noarchive")], BOT, False, False, ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "metas", "token", "noai", "noimageai", "matched"),
    [pytest.param(*v[1:], id=v[0]) for v in VECTORS],
)
def test_vectors(
    lines: list[str] | None,
    metas: list[tuple[str, str]] | None,
    token: str,
    noai: bool,
    noimageai: bool,
    matched: tuple[str, ...],
) -> None:
    """Each vector of standards.md §3.4 sets exactly the flags it names (MDN bot scopes)."""
    if lines is not None:
        result = parse_x_robots_tag(lines, token)
    else:
        assert metas is not None
        result = parse_meta_robots(metas, token)
    check(result)
    assert (result.noai, result.noimageai, result.matched, result.errors) == (
        noai,
        noimageai,
        matched,
        (),
    )


@pytest.mark.parametrize(
    ("line", "noai", "noimageai", "matched"),
    [
        ("noindex, mybot: noai", True, False, ("mybot: noai",)),
        ("noindex, MyBot:noai", True, False, ("MyBot: noai",)),
        ("mybot: noindex, noai", True, False, ("mybot: noai",)),
        ("otherbot: noindex, noai, mybot: noimageai", False, True, ("mybot: noimageai",)),
        ("mybot: noindex, otherbot: noai", False, False, ()),
        ("noai, otherbot: noindex", True, False, ("noai",)),
        ("mybot: max-snippet: 10, noai", True, False, ("mybot: noai",)),
        ("otherbot: max-snippet: 10, noai", False, False, ()),
        ("max-image-preview: large, max-video-preview: -1, noimageai", False, True, ("noimageai",)),
        ("otherbot: unavailable_after: Sun, 06 Nov 1994 08:49:37 GMT, noai", False, False, ()),
        ("unavailable_after: Sun, 06 Nov 1994 08:49:37 GMT, noai", True, False, ("noai",)),
        ("unavailable_after: Sunday, noai", True, False, ("noai",)),
        ("  NOAI  ,  NOIMAGEAI ", True, True, ("NOAI", "NOIMAGEAI")),
        ("noai, noai, NoAI", True, False, ("noai", "NoAI")),
        ("noai-please, nonoai, no ai", False, False, ()),
        ("mybot.v2: noai", False, False, ()),
        ("mybot: otherbot: noai", False, False, ()),
    ],
)  # fmt: skip
def test_scopes_within_one_line(
    line: str, noai: bool, noimageai: bool, matched: tuple[str, ...]
) -> None:
    """A bot prefix scopes the elements after it until the next prefix (MDN, §3.3 step 3)."""
    result = parse_x_robots_tag([line], BOT)
    check(result)
    assert (result.noai, result.noimageai, result.matched) == (noai, noimageai, matched)


def test_scope_ends_with_its_field_line() -> None:
    """A bot scope opened on one line does not reach the next line (§3.3 step 1)."""
    result = parse_x_robots_tag(["otherbot: noindex", "noai"], BOT)
    assert result.noai
    assert result.matched == ("noai",)


def test_results_of_all_lines_are_united() -> None:
    """Flags from different lines accumulate; an other-bot line takes nothing away."""
    result = parse_x_robots_tag(["noimageai", "otherbot: all", "mybot: noai"], BOT)
    assert (result.noai, result.noimageai) == (True, True)
    assert result.matched == ("noimageai", "mybot: noai")


@pytest.mark.parametrize(
    ("token", "line", "applies"),
    [
        ("MyBot/1.0", "mybot: noai", True),
        ("MyBot", "MYBOT: noai", True),
        ("my-bot2", "my-bot: noai", True),
        ("my-bot2", "my-bot2: noai", True),
        ("MyAIBot", "mybot: noai", False),
        ("  MyBot ", "mybot: noai", True),
        ("", "mybot: noai", False),
        ("", "noai", True),
    ],
)
def test_token_and_its_truncation_address_us(token: str, line: str, applies: bool) -> None:
    """Scopes compare to our token and its Google-style truncation, case-insensitively."""
    assert parse_x_robots_tag([line], token).noai is applies


@pytest.mark.parametrize(
    ("metas", "noai", "noimageai", "matched"),
    [
        ([("robots", "noai")], True, False, ("noai",)),
        ([(" Robots ", "noindex,noai")], True, False, ("noai",)),
        ([("mybot", "noimageai")], False, True, ("mybot: noimageai",)),
        ([("MYBOT", "NoAI")], True, False, ("MYBOT: NoAI",)),
        ([("googlebot", "noai")], False, False, ()),
        ([("robots", "otherbot: noai")], False, False, ()),
        ([("robots", "mybot: noai")], True, False, ("mybot: noai",)),
        ([("mybot", "otherbot: noai")], False, False, ()),
        ([("robots", "noindex"), ("robots", "noimageai"), ("mybot", "noai")], True, True,
         ("noimageai", "mybot: noai")),
        ([("description", "noai"), ("tdm-reservation", "1")], False, False, ()),
        ([], False, False, ()),
    ],
)  # fmt: skip
def test_meta_robots(
    metas: list[tuple[str, str]], noai: bool, noimageai: bool, matched: tuple[str, ...]
) -> None:
    """Meta robots applies to all, meta <token> to us; other names are ignored."""
    result = parse_meta_robots(metas, BOT)
    check(result)
    assert (result.noai, result.noimageai, result.matched) == (noai, noimageai, matched)


def test_nothing_found_is_the_none_record() -> None:
    """No applicable directive gives NONE, with both flags off."""
    assert parse_x_robots_tag([], BOT) == NONE
    assert parse_x_robots_tag(["noindex"], BOT) == NONE
    assert parse_meta_robots([("robots", "none")], BOT) == NONE
    assert (NONE.noai, NONE.noimageai, NONE.matched, NONE.errors) == (False, False, (), ())


def test_thousands_of_header_lines() -> None:
    """Every one of many field lines counts, including the last."""
    lines = ["noindex, otherbot: noai"] * 20_000 + ["mybot: noimageai"]
    result = parse_x_robots_tag(lines, BOT)
    assert (result.noai, result.noimageai, result.errors) == (False, True, ())


def test_repeated_directives_are_kept_once() -> None:
    """Thousands of lines repeating a directive keep each directive text once."""
    lines = [f"bot{i}: noindex, mybot: noai" for i in range(5000)] + ["noai"] * 5000
    result = parse_x_robots_tag(lines, BOT)
    assert result.noai
    assert result.matched == ("mybot: noai", "noai")


def test_very_long_value_is_read_to_its_end() -> None:
    """A long value under the cap is read whole: a noai after 500,000 characters counts."""
    result = parse_x_robots_tag(["noindex, " * 55_000 + "noai"], BOT)
    assert result.noai
    assert result.errors == ()


def test_value_beyond_the_cap_is_cut_and_recorded() -> None:
    """Past MAX_TOTAL_CHARS the rest is not read, and the record says so (DESIGN §5.2)."""
    long_line = "x" * MAX_TOTAL_CHARS + ", noai"
    result = parse_x_robots_tag([long_line, "noimageai"], BOT)
    assert (result.noai, result.noimageai) == (False, False)
    assert result.errors == (f"noai.too_large: X-Robots-Tag over {MAX_TOTAL_CHARS} characters",)
    meta = parse_meta_robots(
        [("robots", "noai, " + "y" * MAX_TOTAL_CHARS), ("robots", "noimageai")], BOT
    )
    assert (meta.noai, meta.noimageai) == (True, False)
    assert meta.errors == (f"noai.too_large: meta content over {MAX_TOTAL_CHARS} characters",)


def test_many_matched_texts_are_capped() -> None:
    """At most MAX_MATCHED distinct directive texts are kept; the flags are still set."""
    variants = [
        "".join(c.upper() if (i >> k) & 1 else c for k, c in enumerate("noimageai"))
        for i in range(512)
    ]
    result = parse_x_robots_tag(["noai", ", ".join(variants)], BOT)
    check(result)
    assert len(result.matched) == MAX_MATCHED
    assert result.matched[:2] == ("noai", "noimageai")
    assert (result.noai, result.noimageai) == (True, True)


# --- properties --------------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["noai", "NoImageAI", "noindex", "mybot", "otherbot", ":", ",", " ", "max-snippet",
     "unavailable_after", "Sunday", "06-Nov-94", "0"]
)  # fmt: skip
LINE = st.text() | st.lists(WORDS, max_size=12).map("".join)


@given(st.lists(LINE, max_size=8), st.text(max_size=12) | st.just(BOT))
def test_any_header_lines_give_a_valid_record(lines: list[str], token: str) -> None:
    """Arbitrary field lines and tokens never raise; flags match the directive texts kept."""
    result = parse_x_robots_tag(lines, token)
    check(result)
    if not any("noai" in line.lower() or "noimageai" in line.lower() for line in lines):
        assert result == NONE


@given(st.lists(st.binary(max_size=64), max_size=8))
def test_any_header_bytes_give_a_valid_record(raw: list[bytes]) -> None:
    """Arbitrary bytes, decoded as a shell would (latin-1), never raise."""
    check(parse_x_robots_tag([r.decode("latin-1") for r in raw], BOT))


@given(st.lists(LINE, max_size=8))
def test_an_unscoped_noai_line_always_counts(lines: list[str]) -> None:
    """Adding a field line "noai" always sets noai, whatever else was sent (union of lines)."""
    assert parse_x_robots_tag([*lines, "noai"], BOT).noai


@given(
    st.lists(st.tuples(st.sampled_from(["robots", "MyBot", "ccbot"]) | st.text(), LINE), max_size=8)
)
def test_any_metas_give_a_valid_record(metas: list[tuple[str, str]]) -> None:
    """Arbitrary meta pairs never raise; flags match the directive texts kept."""
    check(parse_meta_robots(metas, BOT))
