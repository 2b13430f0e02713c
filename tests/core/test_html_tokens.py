"""html_tokens.py: the head scan's tokenizer patterns, one match per <meta>/<link> (HTML §13.2.5)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.html_tokens import (
    HEAD_END,
    LINK,
    LINK_VALUES,
    META_CHARSET,
    META_CONTENT,
    META_HTTP_EQUIV,
    META_NAME,
    NAMED_META,
    NEXT_TAG,
    OTHER_META,
    STOPS,
)

KEPT = {LINK: "link", NAMED_META: "named", OTHER_META: "meta"}


def first(data: bytes) -> tuple[str, bytes]:
    """What the first NEXT_TAG match in *data* ends on, and the text it consumed."""
    m = NEXT_TAG.match(data)
    assert m is not None
    return KEPT.get(m.lastindex or 0) or m.lastgroup or "", m.group()


def test_group_numbers_are_distinct():
    """The exported group numbers are distinct and point at the groups they name."""
    numbers = [META_NAME, META_CONTENT, META_CHARSET, META_HTTP_EQUIV, NAMED_META, OTHER_META, LINK]
    assert len(set(numbers)) == len(numbers)
    assert NEXT_TAG.groupindex["meta_name"] == META_NAME
    assert NEXT_TAG.groupindex["link_type"] == LINK_VALUES.stop
    assert set(STOPS) <= set(NEXT_TAG.groupindex)
    assert set(STOPS) == set(HEAD_END.groupindex)


@pytest.mark.parametrize(
    ("data", "kind", "consumed"),
    [
        pytest.param(b"x <meta name=a content=b> y", "named", b"x <meta name=a content=b>",
                     id="named-meta"),
        pytest.param(b"<META CONTENT=b NAME=a/>", "named", b"<META CONTENT=b NAME=a/>", id="case"),
        pytest.param(b"<meta charset=utf-8>", "meta", b"<meta charset=utf-8>", id="other-meta"),
        pytest.param(b"<meta name=a>>", "meta", b"<meta name=a>", id="no-content"),
        pytest.param(b"<link rel=x>", "link", b"<link rel=x>", id="link"),
        pytest.param(b"<p title='<meta name=a content=b>'></head>", "head_end",
                     b"<p title='<meta name=a content=b>'></head", id="meta-in-attribute"),
        pytest.param(b"<!-- <meta> --><BODY>", "head_end", b"<!-- <meta> --><BODY", id="comment"),
        pytest.param(b"<!-- a --- b -- -!> c --!><meta> -->", "meta",
                     b"<!-- a --- b -- -!> c --!><meta>", id="comment-dash-runs"),
        pytest.param(b"<!-- a -><meta>", "comment", b"<!--", id="comment-open"),
        pytest.param(b"<!--><!---><meta>", "meta", b"<!--><!---><meta>", id="abrupt-comments"),
        pytest.param(b"<script>a</b> <meta></script><meta>", "meta",
                     b"<script>a</b> <meta></script><meta>", id="script"),
        pytest.param(b"<Title>x</titlex></TITLE ><meta>", "meta", b"<Title>x</titlex></TITLE ><meta>",
                     id="title"),
        pytest.param(b"<style>x<meta>", "text_open", b"<style>", id="style-open"),
        pytest.param(b"<style x='>", "text", b"<style x='>", id="style-tag-open"),
        pytest.param(b"<<<meta>", "meta", b"<<<meta>", id="lone-lt"),
        pytest.param(b"<headx></headx></head>", "head_end", b"<headx></headx></head", id="headx"),
        pytest.param(b"<plaintext><meta>", "plaintext", b"<plaintext", id="plaintext"),
        pytest.param(b"<div title='x", "tag", b"<d", id="tag-open"),
        pytest.param(b"<!DOCTYPE html", "markup", b"<", id="markup-open"),
        pytest.param(b"<!x><?y></1></><meta>", "meta", b"<!x><?y></1></><meta>", id="bogus"),
        pytest.param(b"text <", "eof", b"text <", id="eof"),
    ],
)  # fmt: skip
def test_where_a_match_stops(data, kind, consumed):
    """A match steps over what is of no interest and stops at a kept tag or a stop, as labelled."""
    assert first(data) == (kind, consumed)


@pytest.mark.parametrize(
    ("data", "values"),
    [
        pytest.param(
            b'<link rel="a b" href=\'/x"y\' type=t>', (b"a b", b'/x"y', b"t"), id="quotes"
        ),
        pytest.param(b"<link REL = a HREF= 'b' rel=c>", (b"a", b"b", b""), id="first-wins"),
        pytest.param(b"<link rel href=>", (b"", b"", b""), id="empty"),
        pytest.param(b"<link/rel=a/href=b>", (b"a/href=b", b"", b""), id="slash-in-value"),
        pytest.param(b"<link relx=a xrel=b rel=c>", (b"c", b"", b""), id="other-names"),
    ],
)
def test_link_values(data, values):
    """A link's rel, href and type are captured without quotes, the first of each winning."""
    m = NEXT_TAG.match(data)
    assert m is not None
    assert m.lastindex == LINK
    assert m.groups(b"")[LINK_VALUES] == values


def test_meta_values():
    """A meta's name, content, charset and http-equiv are captured; a missing one is None."""
    m = NEXT_TAG.match(b'<meta http-equiv="Content-Type" charset name content=x>')
    assert m is not None
    assert m.lastindex == NAMED_META
    assert m.group(META_NAME, META_CONTENT, META_CHARSET) == (b"", b"x", b"")
    assert m.group(META_HTTP_EQUIV) == b"Content-Type"
    m = NEXT_TAG.match(b"<meta content=x>")
    assert m is not None
    assert (m.lastindex, m.group(META_NAME)) == (OTHER_META, None)


def test_head_end_steps_over_kept_tags():
    """HEAD_END reads <meta> and <link> as any other tag and stops only at a stop."""
    m = HEAD_END.match(b"<meta name=a content=b><link rel=x></head>")
    assert m is not None
    assert (m.lastgroup, m.end()) == ("head_end", 41)


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=300))
def test_matches_everywhere(data, pos):
    """Both patterns match at any position: the scan always learns why it stopped."""
    pos = min(pos, len(data))
    for pattern in (NEXT_TAG, HEAD_END):
        m = pattern.match(data, pos)
        assert m is not None
        # An unclosed <meta> or <link> ends on an attribute group, or none, at the window's end.
        assert m.lastgroup in STOPS or m.lastindex in KEPT or m.end() == len(data)
        assert pattern is NEXT_TAG or m.lastgroup in STOPS


@given(st.lists(st.sampled_from(["<", ">", "/", "=", '"', "'", " ", "!--", "-->", "--", "meta",
                                 "link", "script", "</script", "name=a", "content=b", "x"]),
                max_size=60).map("".join))  # fmt: skip
def test_matches_follow_each_other(text):
    """Each match starts where the one before ended, up to the first stop."""
    data, pos = text.encode(), 0
    for m in NEXT_TAG.finditer(data):
        assert m.start() == pos
        pos = m.end()
        if m.lastindex not in KEPT:
            break
    else:
        pytest.fail("no stop")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"<a " + b"=" * 1_000_000, id="equals"),
        pytest.param(b"<a x='" + b"'x='" * 250_000, id="quotes"),
        pytest.param(b"<!--" + b"-" * 1_000_000, id="dashes"),
        pytest.param(b"<!--" + b"-!" * 500_000, id="dash-bang"),
        pytest.param(b"<script>" + b"</scrip" * 150_000, id="script"),
        pytest.param(b"<" * 1_000_000, id="lt"),
        pytest.param(b"<meta " + b"name=x " * 150_000, id="meta-attributes"),
        pytest.param(b"<link " + b"rel " * 250_000, id="link-attributes"),
        pytest.param(b"<!" * 500_000, id="bogus"),
        pytest.param(b"<a>" * 350_000, id="tags"),
        pytest.param(b"<meta>" * 170_000, id="metas"),
    ],
)
def test_hostile_input_is_read_in_linear_time(data):
    """A megabyte of adversarial markup is tokenized in well under a second."""
    start = time.perf_counter()
    stops = 0
    for m in NEXT_TAG.finditer(data):
        if m.lastindex not in KEPT:
            stops += 1
            break
    assert HEAD_END.match(data) is not None
    assert stops == 1
    assert time.perf_counter() - start < 2.0
