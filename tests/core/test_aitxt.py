"""aitxt.py: Spawning ai.txt read with the robots.txt machinery (standards.md §7)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout._core.aitxt import AiTxt, ai_txt_verdict, parse_ai_txt
from scrapy_optout._core.models import Verdict
from scrapy_optout._core.patterns import target_of
from scrapy_optout._core.robots import PathRule, RobotsTxt

# standards.md §7.2: media classes and extensions of Spawning's ai_txt_options.json.
CLASSES = {
    "images": "bmp gif ico jpeg jpg png svg tif tiff webp eps ai indd heif raw psd cr2 nef orf sr2",
    "audio": "aac aiff amr flac m4a mp3 oga opus wav wma alac dss dvf m4p mmf mpc msv ra rm tta"
    " vox weba",
    "video": "mp4 webm ogg avi mov wmv flv mkv 3gp 3g2 h264 m4v mpg mpeg rm swf vob mts m2ts ts qt"
    " yuv rmvb asf amv mpg2",
    "text": "txt pdf doc docx odt rtf tex wks wpd wps html htm md odf xls xlsx ppt pptx csv xml"
    " ods xlr pages log key odp",
    "code": "py js java c cpp cs h css php swift go rb pl sh sql xml json ts jsx vue r kt dart rs"
    " lua asm bash erl hs vbs bat f lisp scala groovy ps1",
}


def generator(allowed: set[str]) -> str:
    """The original generator's output (commit a0c8065): Text is the global flag."""
    if not allowed:
        return "# Spawning AI\n\nUser-agent: *\nDisallow: *\nDisallow: /\n"
    lines = ["# Spawning AI", "", "User-agent: *"]
    for verb, keep in (("Allow", True), ("Disallow", False)):
        for name, extensions in CLASSES.items():
            if (name in allowed) is keep:
                lines += [f"{verb}: *.{ext}" for ext in extensions.split()]
    lines.append("Allow: /" if "text" in allowed else "Disallow: /")
    return "\n".join(lines) + "\n"


def current_plugin(allowed: set[str]) -> str:
    """The current plugin's output (since b66673a): trimmed header pieces followed by ``/``."""
    body = generator(allowed).split("User-agent: *\n", 1)[1]
    body = body.replace("Disallow: /\n", "Disallow:/\n")
    return "# Spawning AI/\nUser-agent: */\n" + body


F = generator({"images"})
F_TEXT_ALLOWED = generator({"images", "text"})
MARKDOWN = """# ai.txt for example.com

> A guide for AI systems: facts about Example Corp, to avoid hallucinations.

## About
Example Corp makes widgets since 2001.

## Key facts
- Headquarters: Lyon
- Contact: hello@example.com
"""

# standards.md §7.4 (S8, a 404, is decided where fetches are): (file, path, verdict, rule raw).
S_VECTORS = [
    ("S1", F, "/photo.jpg", Verdict.ALLOW, "Allow: *.jpg"),
    ("S2", F, "/page.html", Verdict.RESERVED, "Disallow: *.html"),
    ("S3", F, "/about", Verdict.RESERVED, "Disallow: /"),
    ("S4", F_TEXT_ALLOWED, "/about", Verdict.ALLOW, "Allow: /"),
    ("S5", generator(set()), "/anything.png", Verdict.RESERVED, "Disallow: /"),  # ties "*"
    ("S6", F, "/doc.PDF", Verdict.RESERVED, "Disallow: /"),
    ("S7", current_plugin({"images"}), "/page.html", Verdict.RESERVED, "Disallow: *.html"),
    ("S9", MARKDOWN, "/page.html", Verdict.UNKNOWN, None),
]


@pytest.mark.parametrize(
    ("text", "path", "verdict", "raw"), [v[1:] for v in S_VECTORS], ids=[v[0] for v in S_VECTORS]
)
def test_spawning_vectors(text, path, verdict, raw):
    """Disallow reserves, Allow permits, longest match wins, nothing matching is UNKNOWN."""
    doc = parse_ai_txt(text.encode())
    found, rule = ai_txt_verdict(doc, "MyBot", target_of(f"https://example.com{path}"))
    assert found is verdict
    assert (rule.raw if rule else None) == raw


def test_s7_star_slash_is_read_as_star_and_recorded():
    """S7: ``User-agent: */`` is read as ``*`` with ``aitxt.malformed_useragent``."""
    doc = parse_ai_txt(current_plugin({"images"}).encode())
    assert doc.recognized is True
    assert doc.robots.groups[0].agents == ("*",)
    assert doc.errors == ("aitxt.malformed_useragent: line 2",)


def test_s9_markdown_is_unrecognized():
    """S9: a file with no User-agent line is not Spawning's grammar."""
    doc = parse_ai_txt(MARKDOWN.encode())
    assert doc.recognized is False
    assert doc.errors[0] == "aitxt.unrecognized_format"
    assert ai_txt_verdict(doc, "MyBot", "/")[0] is Verdict.UNKNOWN


def test_star_slash_without_ai_txt_leniency_names_nobody():
    """robots.txt itself keeps Google's reading: ``*/`` is not ``*``."""
    from scrapy_optout._core.robots import parse_robots

    doc = parse_robots(b"User-agent: */\nDisallow: /")
    assert doc.select("MyBot").allowed("/x") is True
    assert doc.errors == ("robots.invalid_agent: line 1",)


def test_overlapping_extension_tie_allows():
    """``ts`` in Video and Code: an equal-length Allow and Disallow resolve to allow (§7.2)."""
    doc = parse_ai_txt(b"User-agent: *\nAllow: *.ts\nDisallow: *.ts\nDisallow: /")
    assert ai_txt_verdict(doc, "MyBot", "/clip.ts")[0] is Verdict.ALLOW


def test_specific_group_and_no_implicit_robots_txt_allow():
    """Group selection is RFC 9309's; ``/robots.txt`` gets no implicit allow in ai.txt."""
    doc = parse_ai_txt(b"User-agent: MyBot\nDisallow: /\n\nUser-agent: *\nAllow: /")
    assert ai_txt_verdict(doc, "MyBot", "/robots.txt")[0] is Verdict.RESERVED
    assert ai_txt_verdict(doc, "OtherBot", "/x")[0] is Verdict.ALLOW
    assert ai_txt_verdict(parse_ai_txt(b"User-agent: MyBot\nDisallow: /"), "x", "/")[0] is (
        Verdict.UNKNOWN
    )


def test_robots_errors_are_carried_over():
    """The underlying parse problems are reported with the ai.txt ones."""
    doc = parse_ai_txt(b"\xff\nUser-agent: *\nDisallow: /")
    assert doc.errors == ("robots.invalid_utf8", "robots.invalid_line: line 1")
    assert ai_txt_verdict(doc, "MyBot", "/x")[0] is Verdict.RESERVED


_ERROR = re.compile(r"(aitxt|robots)\.[a-z0-9_]+(: .+)?")


def check_valid(doc: AiTxt) -> None:
    """Types and invariants of every result."""
    assert isinstance(doc, AiTxt)
    assert isinstance(doc.robots, RobotsTxt)
    assert doc.recognized is bool(doc.robots.groups)
    assert all(_ERROR.fullmatch(e) for e in doc.errors)
    assert ("aitxt.unrecognized_format" in doc.errors) is not doc.recognized
    verdict, rule = ai_txt_verdict(doc, "MyBot", "/a.jpg")
    assert isinstance(verdict, Verdict)
    assert rule is None or isinstance(rule, PathRule)
    assert (rule is None) is (verdict is Verdict.UNKNOWN)
    if rule is not None:
        assert (verdict is Verdict.ALLOW) is rule.allow


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_valid_record(body):
    """Any bytes parse to a valid AiTxt without raising."""
    check_valid(parse_ai_txt(body))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["User-agent: */", "User-agent: *", "Allow: *.jpg", "Disallow:/", "#"]),
            st.text(max_size=30),
        ),
        max_size=30,
    )
)
def test_arbitrary_text_gives_a_valid_record(lines):
    """Any text, mixed with real ai.txt lines, parses to a valid AiTxt."""
    check_valid(parse_ai_txt("\n".join(lines).encode("utf-8", "replace")))
