"""robots.py: RFC 9309 groups, rules and extension lines (standards.md §2, §4.3-4.5, §5.2-5.4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from protego import Protego

from scrapy_optout._core import robots
from scrapy_optout._core.patterns import target_of
from scrapy_optout._core.robots import (
    MAX_ROBOTS_BYTES,
    ExtLine,
    Group,
    PathRule,
    RobotsTxt,
    Selection,
    agent_token,
    parse_robots,
)

SCRAPY_UA = "Scrapy/2.19.0 (+https://scrapy.org)"


def parse(text: str) -> RobotsTxt:
    return parse_robots(text.encode("utf-8"))


def target(path: str) -> str:
    return target_of(f"https://example.com{path}")


def r30_file() -> str:
    """R30: a 700 KiB file whose only rule, ``Disallow: /private``, starts at byte 600,000."""
    head = "User-agent: *\n" + "# filler line of a large robots.txt file\n" * 14_000
    text = head + "#" * (600_000 - len(head) - 1) + "\nDisallow: /private\n"
    return text + "#" * (700 * 1024 - len(text))


# standards.md §2.9. Each row: robots.txt, token, [(path, allowed)].
R_VECTORS = [
    ("R1", "User-agent: *\nDisallow: /", "MyBot", [("/x", False)]),
    ("R2", "User-agent: *\nDisallow: /", "MyBot", [("/robots.txt", True)]),
    (
        "R3",
        "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif",
        "foobot",
        [("/example/page/disallowed.gif", False), ("/example/page/ok.gif", True)],
    ),
    ("R4", "User-agent: *\nAllow: /p\nDisallow: /p", "MyBot", [("/p", True)]),
    ("R5", "User-agent: *\nAllow: /page\nDisallow: /*.html", "MyBot", [("/page.html", False)]),
    ("R6", "User-agent: *\nDisallow: /a\nAllow: /a/b", "MyBot", [("/a/b/c", True)]),
    ("R7", "User-agent: *\nDisallow: /*.php\nAllow: /folder/", "MyBot", [("/folder/x.php", True)]),
    ("R8", "User-agent: *\nDisallow: /\n\nUser-agent: mybot\nAllow: /", "MyBot", [("/x", True)]),
    (
        "R9",
        "User-agent: MyBot\nDisallow: /a\n\nUser-agent: mybot\nDisallow: /b",
        "MyBot",
        [("/b", False), ("/a", False), ("/c", True)],
    ),
    ("R10", "User-agent: MyBot\n\nUser-agent: other\nDisallow: /", "MyBot", [("/x", False)]),
    (
        "R11",
        "User-agent: *\nDisallow: /\n\nUser-agent: *\nAllow: /ok",
        "MyBot",
        [("/ok", True), ("/no", False)],
    ),
    ("R12", "User-agent: MyBot/2.0\nDisallow: /", "MyBot", [("/x", False)]),
    ("R13", "User-agent: bot\nDisallow: /", "MyBot", [("/x", True)]),
    (
        "R14",
        "User-agent: *\nDisallow: /fish$",
        "MyBot",
        [("/fish", False), ("/fish?x=1", True), ("/fish.html", True)],
    ),
    ("R15", "User-agent: *\nDisallow: /Fish", "MyBot", [("/fish", True)]),
    ("R16", "User-agent: *\nDisallow: /foo/bar/%62%61%7A", "MyBot", [("/foo/bar/baz", False)]),
    (
        "R17",
        "User-agent: *\nDisallow: /path/file-with-a-%2A.html",
        "MyBot",
        [("/path/file-with-a-*.html", False), ("/path/file-with-a-b.html", True)],
    ),
    ("R18", "Disallow: /\nUser-agent: *\nAllow: /", "MyBot", [("/x", True)]),
    (
        "R19",
        "User-agent: *\nDisallow: /\nSitemap: https://e.com/s.xml\nAllow: /ok",
        "MyBot",
        [("/ok", True)],
    ),
    (
        "R20",
        "User-agent: *\nDisallow: /\nContent-Usage: train-ai=n\nAllow: /ok",
        "MyBot",
        [("/ok", True), ("/no", False)],
    ),
    ("R21", "User-agent: *\nDisallow:", "MyBot", [("/x", True)]),
    ("R22", "User-agent: OtherBot\nDisallow: /", "MyBot", [("/x", True)]),
    (
        "R23",
        "User-agent: *\nDisallow: /*.gif$",
        "MyBot",
        [("/a.gif", False), ("/a.GIF", True), ("/a.gif?v=1", True)],
    ),
    ("R24", "User-agent: *\nDisallow: *.gif$", "MyBot", [("/img/a.gif", False)]),
    ("R30", r30_file(), "MyBot", [("/private", True)]),
    ("R31", "useragent: MyBot\ndissallow: /", "MyBot", [("/x", False)]),
    ("R32", "User-agent: Scrapy\nDisallow: /", SCRAPY_UA, [("/x", False)]),
]


@pytest.mark.parametrize(
    ("robots_txt", "token", "checks"), [v[1:] for v in R_VECTORS], ids=[v[0] for v in R_VECTORS]
)
def test_rfc9309_vectors(robots_txt, token, checks):
    """Access for the token follows RFC 9309 groups, longest match and Google truncation."""
    selection = parse(robots_txt).select(token)
    assert [(path, selection.allowed(target(path))) for path, _ in checks] == checks


def test_r30_truncation_is_recorded():
    """R30: the file is read on its first 500 KiB only, and says so."""
    body = r30_file().encode()
    assert len(body) == 700 * 1024
    assert body.index(b"Disallow: /private") == 600_000
    doc = parse_robots(body)
    assert doc.truncated is True
    assert doc.errors == ("robots.truncated",)
    shorter = parse_robots(body.replace(b"# filler line of a large robots.txt file\n", b""))
    assert shorter.truncated is False
    assert shorter.select("x").allowed("/private") is False


def test_truncation_cuts_at_the_last_complete_line():
    """A line straddling byte 512,000 is dropped whole, never read as a shorter prefix."""
    head = b"User-agent: *\n"
    pad = b"#" * (MAX_ROBOTS_BYTES - len(head) - 13) + b"\n"
    body = head + pad + b"Disallow: /abcdef\n"  # a plain cut would keep "Disallow: /a"
    assert body[:MAX_ROBOTS_BYTES].endswith(b"\nDisallow: /a")
    doc = parse_robots(body)
    assert doc.truncated is True
    assert doc.select("x").rules == ()
    exact = head + b"Disallow: /a\n"
    exact += b"#" * (MAX_ROBOTS_BYTES - len(exact))
    assert parse_robots(exact).truncated is False
    assert parse_robots(exact).select("x").allowed("/a") is False


DRAFT_EXAMPLE = """User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Allow: /
Content-Usage: train-ai=y
"""

# standards.md §4.5, the robots.txt parts: (robots.txt, token, path, Content-Usage values, allowed).
A_VECTORS = [
    ("A1", DRAFT_EXAMPLE, "MyBot", "/test", ("train-ai=n",), True),
    ("A2", DRAFT_EXAMPLE, "MyBot", "/ai-ok/test", ("train-ai=y",), True),
    ("A3", DRAFT_EXAMPLE, "MyBot", "/never/test", ("train-ai=n",), False),
    ("A4", DRAFT_EXAMPLE, "ExampleBot", "/never/test", ("train-ai=y",), True),
    (
        "A5",
        "User-agent: *\nContent-Usage: train-ai=n\n\nUser-agent: MyBot\nAllow: /",
        "MyBot",
        "/x",
        (),
        True,
    ),
    (
        "A6",
        "User-agent: *\nContent-Usage: /a/ train-ai=y\nContent-Usage: /a/ train-ai=n",
        "MyBot",
        "/a/x",
        ("train-ai=y", "train-ai=n"),
        True,
    ),
    (
        "A7",
        "User-agent: *\nContent-Usage: train-ai=n # no AI",
        "MyBot",
        "/x",
        ("train-ai=n",),
        True,
    ),
    (
        "A8",
        "User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /x/ search=y",
        "MyBot",
        "/x/p",
        ("search=y",),
        True,
    ),
    ("A9", "User-agent: *\nContent-Usage:train-ai=n", "MyBot", "/x", ("train-ai=n",), True),
    (
        "A10",
        "User-agent: *\nContent-Usage: /my dir/ train-ai=n",
        "MyBot",
        "/my%20dir/a",
        ("dir/ train-ai=n",),
        True,
    ),
    ("A11", "Content-Usage: train-ai=n\nUser-agent: *\nAllow: /", "MyBot", "/x", (), True),
    ("A12", "User-agent: *\nContent-Usage: train-ai=y", "MyBot", "/x", ("train-ai=y",), True),
    (
        "A14",
        "User-agent: *\nDisallow: /private/\nContent-Usage: /private/ train-ai=y",
        "MyBot",
        "/private/a",
        ("train-ai=y",),
        False,
    ),
]


@pytest.mark.parametrize(
    ("robots_txt", "token", "path", "values", "allowed"),
    [v[1:] for v in A_VECTORS],
    ids=[v[0] for v in A_VECTORS],
)
def test_content_usage_vectors(robots_txt, token, path, values, allowed):
    """The longest-path Content-Usage lines of the selected group, and access, per attach-05."""
    selection = parse(robots_txt).select(token)
    lines = selection.extension_lines("content-usage", target(path))
    assert tuple(line.value for line in lines) == values
    assert selection.allowed(target(path)) is allowed


def test_a10_path_runs_to_the_first_space():
    """A10: the path ends at the first SP, the rest is the preference text."""
    (line,) = parse("User-agent: *\nContent-Usage: /my dir/ train-ai=n").groups[0].extensions
    assert line.pattern is not None
    assert (line.pattern.text, line.value) == ("/my", "dir/ train-ai=n")


def test_a11_lines_before_any_group_are_ignored_and_recorded():
    """A11: a Content-Usage line before the first User-agent line is outside every group."""
    doc = parse("Content-Usage: train-ai=n\nUser-agent: *\nAllow: /")
    assert doc.global_extensions == ()
    assert doc.errors == ("robots.rule_outside_group: line 1",)


CLOUDFLARE_MANAGED = """# As a condition of accessing this website, you agree to abide by the
# following content signals:
# (a)  If a content-signal = yes, you may collect content for the
#      corresponding use.
# ai-train: training or fine-tuning AI models.
# ANY RESTRICTIONS EXPRESSED VIA CONTENT SIGNALS ARE EXPRESS RESERVATIONS OF
# RIGHTS UNDER ARTICLE 4 OF THE EUROPEAN UNION DIRECTIVE 2019/790 ON COPYRIGHT
# AND RELATED RIGHTS IN THE DIGITAL SINGLE MARKET.

# BEGIN Cloudflare Managed content

User-Agent: *
Content-signal: search=yes, ai-train=no
Allow: /

User-agent: Amazonbot
Disallow: /

User-agent: Applebot-Extended
Disallow: /

User-agent: Bytespider
Disallow: /

User-agent: CCBot
Disallow: /

User-agent: ClaudeBot
Disallow: /

User-agent: Google-Extended
Disallow: /

User-agent: GPTBot
Disallow: /

User-agent: meta-externalagent
Disallow: /

# END Cloudflare Managed Content
"""
CLOUDFLARE_PREPENDED = (
    CLOUDFLARE_MANAGED
    + "User-agent: *\nDisallow: /lp\nDisallow: /feedback\nDisallow: /langtest\n\n"
    + "Sitemap: https://www.crawlstop.com/sitemap.xml\n"
)
C1 = "User-Agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /"
POLICY_COMMENTS = "\n".join(line for line in CLOUDFLARE_MANAGED.splitlines() if line[:1] == "#")

# standards.md §5.4, robots.txt parts: (robots.txt, token, path, Content-Signal values, allowed).
C_VECTORS = [
    ("C1", C1, "MyBot", "/x", ("search=yes, ai-train=no",), True),
    (
        "C2",
        "User-Agent: *\nContent-Signal: search=yes, ai-train=no, ai-input=no\nAllow: /",
        "MyBot",
        "/x",
        ("search=yes, ai-train=no, ai-input=no",),
        True,
    ),
    (
        "C3",
        "User-Agent: *\nContent-Signal: ai-train=yes\nDisallow: /",
        "MyBot",
        "/x",
        ("ai-train=yes",),
        False,
    ),
    (
        "C4",
        "User-Agent: *\nContent-Signal: /blog/ ai-train=no\nAllow: /",
        "MyBot",
        "/blog/p",
        ("ai-train=no",),
        True,
    ),
    ("C5", C1 + "\n\nUser-agent: MyBot\nAllow: /", "MyBot", "/x", (), True),
    ("C6", CLOUDFLARE_PREPENDED, "MyBot", "/x", ("search=yes, ai-train=no",), True),
    ("C7", CLOUDFLARE_PREPENDED, "GPTBot", "/x", (), False),
    (
        "C8",
        "User-Agent: *\nContent-Signal: search=yes,ai-train=no,use=reference",
        "MyBot",
        "/x",
        ("search=yes,ai-train=no,use=reference",),
        True,
    ),
    ("C9", "User-Agent: *\nContent-signal: AI-Train=No", "MyBot", "/x", ("AI-Train=No",), True),
    ("C10", "User-Agent: *\nContent-Signal: ai-train=n", "MyBot", "/x", ("ai-train=n",), True),
    ("C11", POLICY_COMMENTS, "MyBot", "/x", (), True),
]


@pytest.mark.parametrize(
    ("robots_txt", "token", "path", "values", "allowed"),
    [v[1:] for v in C_VECTORS],
    ids=[v[0] for v in C_VECTORS],
)
def test_content_signal_vectors(robots_txt, token, path, values, allowed):
    """The Content-Signal lines of the selected group (RFC-strict, C5) and access."""
    selection = parse(robots_txt).select(token)
    lines = selection.extension_lines("content-signal", target(path))
    assert tuple(line.value for line in lines) == values
    assert selection.allowed(target(path)) is allowed


def test_c4_scoped_signal_does_not_reach_other_paths():
    """C4: a path-scoped Content-Signal says nothing about a path outside it."""
    selection = parse("User-Agent: *\nContent-Signal: /blog/ ai-train=no\nAllow: /").select("x")
    assert selection.extension_lines("content-signal", "/about") == ()


def test_c6_cloudflare_prepend_merges_the_star_groups():
    """C6: the managed and the site's ``*`` groups merge, so /lp is disallowed."""
    doc = parse(CLOUDFLARE_PREPENDED)
    assert doc.select("MyBot").allowed("/lp") is False
    assert doc.select("MyBot").agents == ("*",)
    assert "gptbot" in doc.named_agents
    assert "*" not in doc.named_agents
    assert doc.errors == ()


def test_rsl_license_lines_global_and_group_scoped():
    """RSL (§6.2): License before the first group or after the last rule is global; else scoped."""
    doc = parse(
        "License: https://e.com/g.xml\nUser-agent: MyBot\nLicense: https://e.com/m.xml\n"
        "Disallow: /x\n\nUser-agent: *\nAllow: /\n\nSitemap: https://e.com/s.xml\n"
        "License: https://e.com/end.xml\n"
    )
    assert [e.value for e in doc.global_extensions] == [
        "https://e.com/g.xml",
        "https://e.com/end.xml",
    ]
    mine = doc.select("MyBot").extension_lines("license", "/a")
    assert [(e.value, e.pattern) for e in mine] == [("https://e.com/m.xml", None)]
    assert [e.value for e in doc.select("other").extensions] == ["https://e.com/end.xml"]


def test_license_line_does_not_end_the_user_agent_list():
    """Only Allow/Disallow/Content-Usage/Content-Signal end a group's user-agent lines."""
    doc = parse("User-agent: a\nLicense: https://l\nUser-agent: b\nDisallow: /")
    assert [g.agents for g in doc.groups] == [("a", "b")]
    assert doc.select("a").allowed("/x") is False


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("MyBot", "mybot"),
        ("MyBot/2.0", "mybot"),
        ("FOO BAR", "foo"),
        ("Googlebot-Image/1.0", "googlebot-image"),
        ("*", "*"),
        ("* anything", "*"),
        ("*/", ""),
        ("360Spider", ""),
        ("", ""),
        ("  my_bot  ", "my_bot"),
    ],
)
def test_agent_token(value, token):
    """Google's ExtractUserAgent truncation, lower-cased; ``*`` with trailing words stays ``*``."""
    assert agent_token(value) == token


@pytest.mark.parametrize(
    ("robots_txt", "token", "allowed"),
    [
        ("User agent: MyBot\nDisallow: /", "MyBot", False),
        ("USER-AGENT: MYBOT\nDISALLOW: /", "mybot", False),
        ("User-agent MyBot\nDisallow /", "MyBot", False),
        ("User-agent: MyBot\nDisalow: /", "MyBot", False),
        ("User-agent: MyBot\nDiasllow: /", "MyBot", False),
        ("User-agent: MyBot\nDisallaw: /", "MyBot", False),
        ("User-agent: MyBot\nDissalow: /", "MyBot", False),
        ("User-agent: MyBot\nDisallow /a /b", "MyBot", True),
        ("User-agent: *\nCrawl-delay: 5\nUser-agent: MyBot\nDisallow: /", "MyBot", False),
        ("User-agent: MyBot\nDisallow: /\nUser-agent: Other\nAllow: /", "MyBot", False),
        ("User-agent: MyBot\nDisallow: /\nUser-agent: Other\nAllow: /", "Other", True),
        ("User-agent: * # everyone\nDisallow: / # all", "x", False),
        ("User-agent: mybot\n", "MyBot", True),
        ("User-agent: mybot\nUser-agent: *\nDisallow: /", "x", False),
    ],
)
def test_google_leniencies(robots_txt, token, allowed):
    """Case, typos, a missing colon (two words only), comments and group boundaries."""
    assert parse(robots_txt).select(token).allowed("/x") is allowed


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xef\xbb\xbfUser-agent: *\nDisallow: /x", None),
        (b"User-agent: *\r\nDisallow: /x\r\n", None),
        (b"User-agent: *\rDisallow: /x\r", None),
        (b"User-agent: *\n\xff\xfe garbage\nDisallow: /x", "robots.invalid_utf8"),
        (b"User-agent: *\nDisallow: /\x00x", "robots.nul_bytes"),
        ("User-agent: *\nDisallow: /x".encode("utf-16"), "robots.utf16"),
        (b"<html>\n<p>not found</p>\nUser-agent: *\nDisallow: /x", "robots.invalid_line"),
    ],
    ids=["bom", "crlf", "cr-only", "invalid-utf8", "nul", "utf16", "garbage"],
)
def test_encodings_and_line_ends(body, error):
    """BOM skipped, CR/LF/CRLF lines, bad bytes replaced or dropped, each problem recorded."""
    doc = parse_robots(body)
    assert doc.select("MyBot").allowed("/x") is False
    assert doc.select("MyBot").allowed("/y") is True
    codes = [e.split(":")[0] for e in doc.errors]
    assert codes == ([error] if error else [])


def test_line_numbers_count_crlf_once():
    """Reason.detail cites line numbers as an editor shows them."""
    rule = parse_robots(b"# c\r\nUser-agent: *\r\n\r\nDisallow: /x  # why\r\n").select("a").rules[0]
    assert (rule.line, rule.raw, rule.allow) == (4, "Disallow: /x  # why", False)


def test_selection_match_returns_the_deciding_rule():
    """match(): the longest pattern, allow on a tie; None when nothing matches."""
    selection = parse("User-agent: *\nDisallow: /a\nAllow: /a\nDisallow: /a/b/").select("x")
    assert selection.match("/a/b/c") == selection.rules[2]
    assert selection.match("/a/x") == selection.rules[1]
    assert selection.match("/z") is None


def test_explicit_ignores_the_star_group():
    """explicit(): only groups naming the token; the ``*`` fallback is not an explicit group."""
    doc = parse("User-agent: *\nDisallow: /\n\nUser-agent: GPTBot/1.1\nDisallow: /a")
    explicit = doc.explicit("gptbot")
    assert explicit is not None
    assert explicit.agents == ("gptbot",)
    assert [r.raw for r in explicit.rules] == ["Disallow: /a"]
    assert doc.explicit("CCBot") is None
    assert doc.select("CCBot").agents == ("*",)
    assert doc.named_agents == frozenset({"gptbot"})


def test_no_groups_selects_nothing():
    """No group for the token and no ``*`` group: an empty selection, everything allowed."""
    selection = parse("User-agent: other\nDisallow: /").select("MyBot")
    assert selection == Selection()
    assert selection.allowed("/x") is True


def test_select_is_memoised_and_stable():
    """Repeated select() calls return the same object (the warm path is a dict lookup)."""
    doc = parse("User-agent: *\nDisallow: /")
    assert doc.select("MyBot") is doc.select("MyBot")
    assert doc.select("MyBot") == doc.select("mybot/2")


def test_duplicates_dropped_and_rule_cap_recorded(monkeypatch):
    """Duplicate rules are dropped; past MAX_RULES rules are not kept and the cap is recorded."""
    monkeypatch.setattr(robots, "MAX_RULES", 3)
    doc = parse("User-agent: *\n" + "".join(f"Disallow: /{i}\nDisallow: /{i}\n" for i in range(5)))
    kept = [r.raw for r in doc.select("x").rules]
    assert kept == ["Disallow: /0", "Disallow: /1", "Disallow: /2"]
    assert doc.errors == ("robots.too_many_rules: 2 lines from line 8",)


def test_unrooted_pattern_never_matches_and_is_recorded():
    """A pattern not starting with / or * matches no path (RFC 9309 §2.2.2); it is recorded."""
    doc = parse("User-agent: *\nDisallow: private")
    assert doc.select("x").allowed("/private") is True
    assert doc.errors == ("robots.unrooted_pattern: line 2",)


def test_records_are_frozen_and_hashable():
    """Records are immutable values."""
    doc = parse(DRAFT_EXAMPLE)
    with pytest.raises(AttributeError):
        doc.groups[0].rules[0].allow = True  # type: ignore[misc]
    assert hash(doc) == hash(parse(DRAFT_EXAMPLE))
    assert doc == parse(DRAFT_EXAMPLE)


_ERROR = re.compile(r"robots\.[a-z0-9_]+(: .+)?")
_FIELDS = {"content-usage", "content-signal", "license"}


def check_valid(doc: RobotsTxt) -> None:
    """Types and invariants every parse result keeps."""
    assert isinstance(doc, RobotsTxt)
    assert isinstance(doc.truncated, bool)
    assert all(isinstance(e, str) and _ERROR.fullmatch(e) for e in doc.errors)
    codes = [e.split(":")[0] for e in doc.errors]
    assert len(codes) == len(set(codes))
    for group in doc.groups:
        assert isinstance(group, Group)
        assert group.agents
        assert group.line >= 1
        assert all(a == "*" or re.fullmatch(r"[a-z_-]*", a) for a in group.agents)
        for rule in group.rules:
            assert isinstance(rule, PathRule)
            assert rule.line >= group.line
            assert rule.pattern.text
            assert rule.raw
        for ext in group.extensions:
            assert isinstance(ext, ExtLine)
            assert ext.field in _FIELDS
            assert ext.line >= group.line
            assert ext.pattern is None or ext.field != "license"
    assert all(e.field == "license" for e in doc.global_extensions)
    names = {a for g in doc.groups for a in g.agents if a not in ("", "*")}
    assert doc.named_agents == names
    for token in ("MyBot", "*", ""):
        selection = doc.select(token)
        assert isinstance(selection, Selection)
        assert selection.allowed("/robots.txt") is True
        assert isinstance(selection.allowed("/x"), bool)
        rule = selection.match("/")
        assert rule is None or rule in selection.rules
        assert set(selection.extension_lines("content-usage", "/")) <= set(selection.extensions)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_give_a_valid_record(body):
    """Any bytes parse to a valid RobotsTxt without raising."""
    check_valid(parse_robots(body))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000))
def test_arbitrary_text_gives_a_valid_record(text):
    """Any text (UTF-8, surrogates replaced) parses to a valid RobotsTxt without raising."""
    check_valid(parse_robots(text.encode("utf-8", "replace")))


_LINES = st.one_of(
    st.sampled_from(
        ["User-agent: *", "User-agent: MyBot", "user agent mybot/1", "Disallow: /", "Allow: /",
         "Disallow:", "", "# c", "Sitemap: x", "License: https://l", "Content-Usage: train-ai=n",
         "Content-Signal: /a ai-train=no", "*/", "User-agent: */"]
    ),
    st.builds(
        "{}: {}".format,
        st.sampled_from(["Allow", "Disallow", "Content-Usage", "User-agent"]),
        st.text(alphabet="/*$%a?#: \t\x00é", max_size=12),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=40), st.sampled_from(["\n", "\r\n", "\r"]))
def test_robots_like_input_gives_a_valid_record(lines, newline):
    """Random mixes of real directives keep every invariant, with any line ending."""
    check_valid(parse_robots(newline.join(lines).encode()))


_SIMPLE_PATH = st.text(alphabet="ab/.-", max_size=6).map(lambda s: "/" + s)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["*", "mybot", "other"]), st.lists(
            st.tuples(st.booleans(), _SIMPLE_PATH), max_size=4)),
        max_size=4,
    ),
    _SIMPLE_PATH,
)
def test_agrees_with_protego_on_plain_files(groups, path):
    """Where RFC 9309 leaves no choice (plain paths, whole tokens), we agree with Protego."""
    text = "".join(
        f"User-agent: {agent}\n"
        + "".join(f"{'Allow' if allow else 'Disallow'}: {p}\n" for allow, p in rules)
        for agent, rules in groups
    )
    ours = parse(text).select("mybot").allowed(path)
    assert ours is Protego.parse(text).can_fetch(f"https://example.com{path}", "mybot")


_PATTERN = st.text(alphabet="ab/*$", min_size=1, max_size=6).map(lambda s: "/" + s)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.booleans(), _PATTERN), max_size=12), _SIMPLE_PATH)
def test_match_equals_the_brute_force_longest_match(rules, path):
    """The indexed match() picks what a scan of every rule picks: longest, allow on a tie."""
    text = "User-agent: *\n" + "".join(
        f"{'Allow' if allow else 'Disallow'}: {p}\n" for allow, p in rules
    )
    selection = parse(text).select("x")
    matching = [r for r in selection.rules if r.pattern.matches(path)]
    expected = max(matching, key=lambda r: (r.pattern.length, r.allow), default=None)
    found = selection.match(path)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found.pattern.length, found.allow) == (expected.pattern.length, expected.allow)


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_a_cut_utf16_file_keeps_its_last_complete_line_whole(bom):
    """Fuzz (fuzz/targets.py robots_reservation): a cut UTF-16 file never reads ``Disallow: /\ufffd``."""
    codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    body = bom + "User-agent: MyAIBot\nDisallow: /\n".encode(codec)
    doc = parse_robots(body, cut=True)
    assert doc.truncated is True
    assert [rule.raw for rule in doc.select("MyAIBot").rules] == ["Disallow: /"]
    assert doc.select("MyAIBot").allowed("/") is False
    partial = parse_robots(body + "Allow: /public-images/".encode(codec)[:-10], cut=True)
    assert [rule.raw for rule in partial.select("MyAIBot").rules] == ["Disallow: /"]
