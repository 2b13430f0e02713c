"""robots_groups.py: token truncation, group selection and longest-match on built records."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.patterns import Pattern
from scrapy_optout._core.robots_groups import ExtLine, Group, PathRule, RobotsTxt, Selection


def rule(allow: bool, pattern: str, line: int = 1) -> PathRule:
    return PathRule.parsed(
        allow, Pattern.compile(pattern), line, f"{'Allow' if allow else 'Disallow'}: {pattern}"
    )


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("MyBot/2.0", "mybot"),
        ("FOO BAR", "foo"),
        ("*", "*"),
        ("* anything", "*"),
        ("*/", ""),
        ("  Google-Extended ", "google-extended"),
        ("123bot", ""),
        ("", ""),
    ],
)
def test_agent_token(value, token):
    """Google's ExtractUserAgent: the leading [A-Za-z_-] run, lower-cased (R12)."""
    from scrapy_optout._core.robots_groups import agent_token

    assert agent_token(value) == token


def test_longest_match_and_allow_on_tie():
    """The longest pattern decides; an allow wins a tie; plain and wildcard rules compete."""
    selection = Selection(
        rules=(
            rule(False, "/a"),
            rule(True, "/a/b"),
            rule(False, "/*.php"),
            rule(True, "/p"),
            rule(False, "/p"),
        )
    )
    assert selection.match("/a/x").allow is False
    assert selection.match("/a/b/c").allow is True
    assert selection.match("/a/b.php").pattern.text == "/*.php"  # 6 octets beat "/a" (2)
    assert selection.match("/p").allow is True
    assert selection.match("/z") is None
    assert selection.allowed("/robots.txt")


def test_extension_lines_longest_path_only():
    """Only the extension lines with the longest matching path apply; pathless ones are length 0."""
    lines = (
        ExtLine("content-usage", None, "train-ai=n", 1, "Content-Usage: train-ai=n"),
        ExtLine("content-usage", Pattern.compile("/x/"), "search=y", 2, "..."),
        ExtLine("content-usage", Pattern.compile("/x/"), "train-ai=y", 3, "..."),
        ExtLine("content-signal", Pattern.compile("/x/"), "ai-train=no", 4, "..."),
    )
    selection = Selection(extensions=lines)
    assert [e.line for e in selection.extension_lines("content-usage", "/x/p")] == [2, 3]
    assert [e.line for e in selection.extension_lines("content-usage", "/y")] == [1]
    assert selection.extension_lines("license", "/x/p") == ()


def test_select_merges_named_groups_and_falls_back_to_star():
    """A token's groups merge; otherwise the * groups merge; explicit() never falls back."""
    robots = RobotsTxt(
        groups=(
            Group(("mybot",), (rule(False, "/a"),), (), 1),
            Group(("*",), (rule(False, "/"),), (), 4),
            Group(("mybot",), (rule(False, "/b"),), (), 7),
        )
    )
    assert [r.pattern.text for r in robots.select("MyBot/1.0").rules] == ["/a", "/b"]
    assert robots.select("other").agents == ("*",)
    assert robots.explicit("other") is None
    assert robots.explicit("mybot").agents == ("mybot",)
    assert robots.select("other") is robots.select("other")  # memoised


PATTERNS = st.lists(
    st.tuples(st.booleans(), st.from_regex(r"/[ab*]{0,4}\$?", fullmatch=True)), max_size=8
)


@given(PATTERNS, st.from_regex(r"/[ab]{0,6}", fullmatch=True))
def test_match_equals_brute_force(pairs, target):
    """The indexed match gives what checking every rule gives (longest, allow on a tie)."""
    rules = tuple(rule(allow, pattern, i) for i, (allow, pattern) in enumerate(pairs))
    hits = [r for r in rules if r.pattern.matches(target)]
    best = max(hits, key=lambda r: (r.pattern.length, r.allow), default=None)
    got = Selection(rules=rules).match(target)
    if best is None:
        assert got is None
    else:
        assert got is not None
        assert (got.pattern.length, got.allow) == (best.pattern.length, best.allow)
