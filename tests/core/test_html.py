"""html.py: the bounded <head> scan for <meta> and <link> tags."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from scrapy_optout._core.html import (
    DEFAULT_HEAD_LIMIT,
    EMPTY_SCAN,
    MAX_HEAD_TAGS,
    MIN_HEAD_LIMIT,
    HeadScan,
    scan_head,
)

from .html_strategies import html_heads

HEAD_END = b"</head><body><p>text</p></body></html>"


def metas(body: bytes, **kwargs: object) -> tuple[tuple[str, str], ...]:
    """The metas scan_head finds in *body*."""
    return scan_head(body, **kwargs).metas  # type: ignore[arg-type]


def test_empty_body_is_the_empty_scan():
    """An empty body gives EMPTY_SCAN: nothing seen, no error."""
    assert scan_head(b"") == EMPTY_SCAN
    assert HeadScan(metas=(), links=(), complete=False, errors=()) == EMPTY_SCAN


def test_realistic_page():
    """A real-looking page gives its named metas and its links, complete, with no error."""
    page = (
        b"<!DOCTYPE html>\n<html lang=en><head>\n<meta charset=utf-8>\n"
        b'<meta name="viewport" content="width=device-width">\n<title>T &amp; </head></title>\n'
        b'<meta name="robots" content="index, noai">\n<meta property="og:title" content="x">\n'
        b'<link rel="stylesheet" href="/a.css" type="text/css">\n'
        b'<link rel="license" href="https://e.org/licence">\n'
        b"<script>if (a </head>) {}</script>\n<style>p{}</style>\n"
        b'<meta name="tdm-reservation" content="1">\n'
    ) + HEAD_END
    scan = scan_head(page)
    assert scan.metas == (
        ("viewport", "width=device-width"),
        ("robots", "index, noai"),
        ("tdm-reservation", "1"),
    )
    assert scan.links == (
        ("stylesheet", "/a.css", "text/css"),
        ("license", "https://e.org/licence", ""),
    )
    assert scan.complete
    assert scan.errors == ()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(b'<META NAME="ROBOTS" CONTENT="NoImageAI, noAI">', ("robots", "NoImageAI, noAI"),
                     id="upper-case"),
        pytest.param(b"<meta content='noai' name='robots'>", ("robots", "noai"), id="reversed"),
        pytest.param(b"<meta name=robots content=noai>", ("robots", "noai"), id="unquoted"),
        pytest.param(b'<meta name = "robots"\n\tcontent = "noai" />', ("robots", "noai"),
                     id="spaces-and-self-closing"),
        pytest.param(b'<meta name="  Robots\t" content="  noai  ">', ("robots", "  noai  "),
                     id="name-stripped-content-as-written"),
        pytest.param(b'<meta data-x="1" name="robots" lang=en content="noai" id=m>', ("robots", "noai"),
                     id="other-attributes"),
        pytest.param(b'<meta name="robots" content="a>b">', ("robots", "a>b"), id="gt-in-quotes"),
        pytest.param(b"<meta name=robots content=it's>", ("robots", "it's"), id="quote-in-unquoted"),
        pytest.param(b'<meta name="robots"content="noai">', ("robots", "noai"), id="no-space"),
        pytest.param(b'<meta name="a" name="b" content="1" content="2">', ("a", "1"),
                     id="duplicate-first-wins"),
        pytest.param(b'<meta name="robots" content="">', ("robots", ""), id="empty-content"),
        pytest.param(b'<meta name="ROBOTS\xc4\xb0" content="x">', ("robots\u0130", "x"),
                     id="ascii-only-lowering"),
    ],
)  # fmt: skip
def test_meta_attribute_forms(html, expected):
    """Name and content are read in any order, case and quoting, as the HTML tokenizer does."""
    assert metas(html + HEAD_END) == (expected,)


@pytest.mark.parametrize(
    "html",
    [
        pytest.param(b'<meta property="robots" content="noai">', id="property"),
        pytest.param(b'<meta name="robots">', id="no-content"),
        pytest.param(b'<meta content="noai">', id="no-name"),
        pytest.param(b'<metal name="robots" content="noai">', id="other-element"),
        pytest.param(b"<meta/name=robots/content=noai>", id="slash-in-unquoted-value"),
        pytest.param(b'<div title="<meta name=robots content=noai>">', id="inside-attribute"),
    ],
)
def test_not_a_named_meta(html):
    """A meta without both name and content, or text that only looks like one, is not listed."""
    assert metas(html + HEAD_END) == ()


@pytest.mark.parametrize(
    ("html", "names"),
    [
        pytest.param(b"<meta name=a content=1></head><meta name=b content=2>", ["a"], id="after-head"),
        pytest.param(b"<meta name=a content=1><body><meta name=b content=2>", ["a"], id="in-body"),
        pytest.param(b"<meta name=a content=1></HEAD ><meta name=b content=2>", ["a"],
                     id="end-tag-case"),
        pytest.param(b"<BODY class=x><meta name=b content=2>", [], id="body-first"),
        pytest.param(b"<meta name=a content=1><header><meta name=b content=2></head>", ["a", "b"],
                     id="header-is-not-head"),
        pytest.param(b"<meta name=a content=1><bodyx><meta name=b content=2></head>", ["a", "b"],
                     id="bodyx-is-not-body"),
        pytest.param(b"<!-- <meta name=x content=1> </head> --><meta name=a content=1></head>",
                     ["a"], id="comment"),
        pytest.param(b"<!--><meta name=a content=1><!---><meta name=b content=2></head>", ["a", "b"],
                     id="abrupt-comments"),
        pytest.param(b"<!-- x --!><meta name=a content=1></head>", ["a"], id="comment-bang-end"),
        pytest.param(b"<!-- - -- --- -!> <meta name=x content=1> ---><meta name=a content=1></head>",
                     ["a"], id="comment-dash-runs"),
        pytest.param(b"<script>var s='</head><meta name=x content=1>';</script>"
                     b"<meta name=a content=1></head>", ["a"], id="script-with-head-end"),
        pytest.param(b"<SCRIPT type=x>a<b</script ><meta name=a content=1></head>", ["a"],
                     id="script-case"),
        pytest.param(b"<style>/* <body> */</style><meta name=a content=1></head>", ["a"], id="style"),
        pytest.param(b"<title></head><meta name=x content=1></title><meta name=a content=1></head>",
                     ["a"], id="title"),
        pytest.param(b"<noscript><meta name=a content=1></noscript></head>", ["a"], id="noscript"),
        pytest.param(b"<!DOCTYPE html><?xml x?><meta name=a content=1></head>", ["a"], id="doctype"),
        pytest.param(b"<!x <meta name=x content=1><meta name=a content=1></head>", ["a"],
                     id="bogus-comment"),
        pytest.param(b"</ x <meta name=x content=1><meta name=a content=1></head>", ["a"],
                     id="bogus-end-tag"),
        pytest.param(b"< meta name=x content=1><<meta name=a content=1></head>", ["a"],
                     id="lone-lt-is-text"),
        pytest.param(b"<<<<meta name=a content=1><</head>", ["a"], id="lt-run"),
        pytest.param(b"<div title='</head>'><meta name=a content=1></head>", ["a"],
                     id="head-end-in-attribute"),
    ],
)  # fmt: skip
def test_where_the_head_ends(html, names):
    """Only metas before the first real </head or <body tag are seen."""
    scan = scan_head(html)
    assert [name for name, _ in scan.metas] == names
    assert scan.complete


@pytest.mark.parametrize(
    ("html", "error"),
    [
        pytest.param(b"<meta name=a content=1><!-- <meta name=b content=2>", "html.unclosed: comment",
                     id="comment"),
        pytest.param(b"<meta name=a content=1><script>x <meta name=b content=2>",
                     "html.unclosed: script", id="script"),
        pytest.param(b'<meta name=a content=1><meta name="b content=2>', "html.unclosed: tag",
                     id="quote"),
        pytest.param(b"<meta name=a content=1><link rel='x", "html.unclosed: tag", id="link"),
        pytest.param(b"<meta name=a content=1><div title='x", "html.unclosed: tag", id="other"),
    ],
)  # fmt: skip
def test_unclosed_constructs_end_the_scan(html, error):
    """A construct left open runs to the end of the window: the scan stops there, with errors."""
    scan = scan_head(html + b"<meta name=c content=3>" + HEAD_END)
    assert scan.metas == (("a", "1"),)
    assert not scan.complete
    assert scan.errors == (error, "html.head_unterminated")


def test_unclosed_meta_at_the_end():
    """A "<meta" that the window cuts off is an unclosed tag, dropped."""
    scan = scan_head(b"<meta name=a content=1><meta")
    assert scan.metas == (("a", "1"),)
    assert scan.errors == ("html.unclosed: tag", "html.head_unterminated")


def test_unclosed_markup_declaration():
    """A "<!" never closed by ">" runs to the end of the window."""
    scan = scan_head(b"<meta name=a content=1><!DOCTYPE html")
    assert scan.metas == (("a", "1"),)
    assert scan.errors == ("html.unclosed: markup", "html.head_unterminated")


def test_plaintext_ends_markup():
    """After <plaintext> everything is text, so no meta after it is seen."""
    scan = scan_head(b"<meta name=a content=1><plaintext><meta name=b content=2>" + HEAD_END)
    assert scan.metas == (("a", "1"),)
    assert not scan.complete


def test_links():
    """Links give (rel, href, type): rel and type lower-cased, all stripped, missing as ""."""
    scan = scan_head(
        b'<LINK REL=" License Stylesheet " HREF=" /a?b=1&amp;c=2 " TYPE="Text/CSS">'
        b"<link href=/b><link>" + HEAD_END
    )
    assert scan.links == (
        ("license stylesheet", "/a?b=1&c=2", "text/css"),
        ("", "/b", ""),
        ("", "", ""),
    )


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("a &amp; b", "a & b"),
        ("&#65;&#x42;&#X43", "ABC"),
        ("&copy; &copy x", "\u00a9 \u00a9 x"),
        ("?a=1&copy=2", "?a=1&copy=2"),  # legacy reference before "=": literal in attributes
        ("&notit; &notin;", "&notit; \u2209"),
        ("&bogus; & &#;", "&bogus; & &#;"),
        ("&#0;&#xD800;&#99999999999999999999;", "\ufffd\ufffd\ufffd"),
        ("&#x80;&#x81;&#4;", "\u20ac\x81\x04"),  # windows-1252 table; other controls stay
        ("a\r\nb\rc", "a\nb\nc"),
    ],
)
def test_attribute_text(written, read):
    """Character references and newlines are read as HTML §13.2.5 reads attribute values."""
    html = f'<meta name="x" content="{written}">'.encode()
    assert metas(html + HEAD_END) == (("x", read),)


@pytest.mark.parametrize(
    ("body", "kwargs", "content", "errors"),
    [
        pytest.param(b'<meta charset="utf-8"><meta name=x content="caf\xc3\xa9">', {}, "caf\u00e9",
                     (), id="utf-8"),
        pytest.param(b'<meta charset="ISO-8859-1"><meta name=x content="caf\xe9 \x80">', {},
                     "caf\u00e9 \u20ac", (), id="meta-charset-latin1-is-windows-1252"),
        pytest.param(b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
                     b"<meta name=x content=\"\xf0\xd2\xc9\">", {}, "\u041f\u0440\u0438", (),
                     id="http-equiv"),
        pytest.param(b'<meta name=x content="caf\xe9">', {"encoding": "latin-1"}, "caf\u00e9", (),
                     id="hint"),
        pytest.param(b'<meta charset=koi8-r><meta name=x content="caf\xc3\xa9">',
                     {"encoding": "utf-8"}, "caf\u00e9", (), id="hint-beats-meta"),
        pytest.param(b'<meta charset="utf-8"><meta name=x content="caf\xe9">', {}, "caf\ufffd",
                     ("html.decode_error: utf-8",), id="latin1-declared-utf8"),
        pytest.param(b'<meta name=x content="caf\xe9">', {}, "caf\u00e9", (),
                     id="undeclared-not-utf8-falls-back-to-windows-1252"),
        pytest.param(b'<meta name=x content="a\x00b">', {}, "a\ufffdb", (), id="nul"),
        pytest.param(b'<meta name=x content="caf\xc3\xa9">', {"encoding": "x-nonsense"}, "caf\u00e9",
                     ("html.unknown_encoding: x-nonsense",), id="unknown-hint"),
        pytest.param(b'<meta charset="utf-7"><meta name=x content="a+AGQ-">', {}, "a+AGQ-",
                     ("html.unknown_encoding: utf-7",), id="utf-7-refused"),
        pytest.param(b'<meta charset="rot13"><meta name=x content="abc">', {}, "abc",
                     ("html.unknown_encoding: rot13",), id="non-text-codec-refused"),
        pytest.param('<meta name=x content="caf\u00e9">'.encode("utf-16-le"),
                     {"encoding": "utf-16"}, "caf\u00e9", (), id="utf-16-hint"),
        pytest.param(b'<meta name=x content="caf\xc3\xa9">', {"encoding": "utf-16"}, "caf\u00e9",
                     ("html.encoding_mismatch: utf-16-le",), id="utf-16-hint-on-ascii-body"),
        pytest.param('<meta name=x content="caf\u00e9">'.encode("utf-16-be"), {}, "caf\u00e9", (),
                     id="utf-16-be-sniffed"),
    ],
)  # fmt: skip
def test_encodings(body, kwargs, content, errors):
    """BOM, hint, meta charset and fallbacks decode attribute values; problems are recorded."""
    tail = {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(body[:2], "ascii")
    scan = scan_head(body + HEAD_END.decode().encode(tail), **kwargs)
    assert scan.metas == (("x", content),)
    assert scan.errors == errors


@pytest.mark.parametrize(
    ("body", "kwargs", "expected"),
    [
        pytest.param(b'<meta name="Caf\xc3\xa9 &amp;" content="\xc3\xa9 &lt;">', {},
                     (("caf\u00e9 &", "\u00e9 <"),), id="utf-8-with-references"),
        pytest.param(b'<meta name="&Auml;X" content=1>', {}, (("\u00c4x", "1"),),
                     id="reference-not-lowered"),
        pytest.param(b'<meta name=a content="caf\xe9 &amp;"><meta name=b content="\xc3\xa9">', {},
                     (("a", "caf\u00e9 &"), ("b", "\u00e9")), id="one-value-not-utf-8"),
        pytest.param(b'<meta name=a content="x\x00&amp;\xc3\xa9">', {}, (("a", "x\ufffd&\u00e9"),),
                     id="nul-and-reference"),
        pytest.param(b'<meta name=a content="&amp;\r\n">', {"encoding": "windows-1252"},
                     (("a", "&\n"),), id="other-codec-reference"),
        pytest.param(b'<meta name=a content="a\r\nb\r&amp;\xc3\xa9">', {"encoding": "utf-8"},
                     (("a", "a\nb\n&\u00e9"),), id="utf-8-newlines"),
    ],
)  # fmt: skip
def test_values_read_together_or_one_by_one(body, kwargs, expected):
    """Values read as one text (UTF-8, plain ASCII) or one by one give the same tokenizer text."""
    scan = scan_head(body + HEAD_END, **kwargs)
    assert scan.metas == expected
    assert scan.errors == ()


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        pytest.param(b"\xef\xbb\xbf", "utf-8", id="utf-8"),
        pytest.param(b"\xff\xfe", "utf-16-le", id="utf-16-le"),
        pytest.param(b"\xfe\xff", "utf-16-be", id="utf-16-be"),
    ],
)
def test_byte_order_mark_wins(bom, codec):
    """A BOM decides the encoding even against the hint and the meta charset."""
    html = '<meta charset="koi8-r"><meta name="Robots" content="caf\u00e9"></head>'
    scan = scan_head(bom + html.encode(codec), encoding="iso-8859-5")
    assert scan.metas == (("robots", "caf\u00e9"),)
    assert scan.complete


def test_nul_bytes_in_markup():
    """NUL bytes do not derail the scan: a NUL in a tag name makes it another element."""
    body = b"\x00<me\x00ta name=a content=1><meta name=b\x00 content=2>\x00" + HEAD_END
    assert metas(body) == (("b\ufffd", "2"),)


def test_window_limit():
    """Metas beyond the window are not seen; the window defaults to 1 MiB, at least 64 KiB."""
    filler = b"<meta name=a content=1>" + b"x" * (MIN_HEAD_LIMIT + 100)
    late = filler + b"<meta name=late content=1>" + HEAD_END
    assert metas(late, limit=MIN_HEAD_LIMIT) == (("a", "1"),)
    assert metas(late, limit=10) == (("a", "1"),)  # raised to the minimum, not below it
    assert metas(late) == (("a", "1"), ("late", "1"))
    beyond = b"<meta name=a content=1>" + b" " * DEFAULT_HEAD_LIMIT + b"<meta name=late content=1>"
    scan = scan_head(beyond + HEAD_END)
    assert scan.metas == (("a", "1"),)
    assert not scan.complete
    assert scan.errors == ("html.head_unterminated",)


def test_endless_head():
    """A head that never ends is scanned up to the window and marked incomplete."""
    body = b"<html><head>" + b"<meta name=robots content=noai><p>filler text</p>" * 30_000
    scan = scan_head(body)
    assert not scan.complete
    assert scan.errors[-1] == "html.head_unterminated"
    assert len(scan.metas) == MAX_HEAD_TAGS
    assert set(scan.metas) == {("robots", "noai")}


def test_many_metas_are_capped():
    """100,000 metas keep the first MAX_HEAD_TAGS, record the cap, and still find the head end."""
    body = b"<head><link rel=x>" + b"<meta name=m content=1>" * 100_000 + HEAD_END
    scan = scan_head(body, limit=len(body))
    assert scan.links == (("x", "", ""),)
    assert len(scan.metas) == MAX_HEAD_TAGS - 1
    assert scan.complete
    assert scan.errors == (f"html.too_many_tags: kept {MAX_HEAD_TAGS}",)


def test_metas_without_name_do_not_count_towards_the_cap():
    """Only kept tags use up MAX_HEAD_TAGS: metas without a name or content do not."""
    body = b"<head>" + b"<meta property=p content=1>" * (MAX_HEAD_TAGS + 10)
    scan = scan_head(body + b"<meta name=a content=1>" + HEAD_END)
    assert scan.metas == (("a", "1"),)
    assert scan.complete
    assert scan.errors == ()


def test_the_cap_is_reached_by_a_tag_past_it():
    """MAX_HEAD_TAGS kept tags are no error; any <meta> or <link> after them is, once."""
    full = b"<head>" + b"<link>" * (MAX_HEAD_TAGS - 1) + b"<meta name=a content=1>"
    scan = scan_head(full + HEAD_END)
    assert (len(scan.links), scan.metas, scan.errors) == (MAX_HEAD_TAGS - 1, (("a", "1"),), ())
    scan = scan_head(full + b"<meta property=p content=1><link>" + HEAD_END)
    assert len(scan.links) + len(scan.metas) == MAX_HEAD_TAGS
    assert scan.complete
    assert scan.errors == (f"html.too_many_tags: kept {MAX_HEAD_TAGS}",)


def check_record(scan: HeadScan) -> None:
    """Assert the invariants every HeadScan keeps."""
    assert isinstance(scan, HeadScan)
    assert isinstance(scan.complete, bool)
    assert len(scan.metas) + len(scan.links) <= MAX_HEAD_TAGS
    for name, content in scan.metas:
        assert isinstance(name, str)
        assert isinstance(content, str)
        assert name == name.strip(" \t\n\f\r")
        assert not any("A" <= c <= "Z" for c in name)
    for rel, href, type_ in scan.links:
        assert all(isinstance(v, str) for v in (rel, href, type_))
        assert not any("A" <= c <= "Z" for c in rel + type_)
    assert all(isinstance(e, str) and e.startswith("html.") for e in scan.errors)
    assert scan.complete or "html.head_unterminated" in scan.errors or scan == EMPTY_SCAN


@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise(body):
    """Any bytes give a valid record."""
    check_record(scan_head(body))


@given(st.text(max_size=1_000), st.sampled_from([None, "utf-8", "latin-1", "utf-16", "bogus"]))
def test_arbitrary_text_never_raises(text, hint):
    """Any text, with any charset hint, gives a valid record."""
    check_record(scan_head(text.encode("utf-8", "surrogatepass"), encoding=hint))


MARKUP_BITS = st.sampled_from(
    [
        "<", ">", "/", "=", '"', "'", " ", "\n", "!--", "--", "-->", "<!--", "meta", "META", "link",
        "name", "content", "rel", "href", "script", "</script", "style", "title", "</head", "<body",
        "head", "body", "a", "&amp;", "&", "#", "\x00", "\u00e9", "charset=utf-16", "plaintext",
    ]
)  # fmt: skip


@given(st.lists(MARKUP_BITS, max_size=80).map("".join))
def test_markup_noise_never_raises(text):
    """Near-HTML noise gives a valid record."""
    check_record(scan_head(text.encode()))


# -- A differential check against lxml (libxml2's HTML5 tokenizer) on generated heads ----------
_VALUE_BITS = ["a", "b", " ", "<", ">", "/", "=", '"', "'", "&", ";", "#", "&amp;", "&#65;",
               "&copy;", "&copy", "&lt;", "\r\n", "\t"]  # fmt: skip
_TEXT_BITS = ["a", " ", "<", ">", "/", "!", "-", "=", '"', "'", "</scrip", "<!--", "-->",
              "</title", "<meta name=x content=y>"]  # fmt: skip
_OTHER_TAGS = [
    "<base href='/x'>", "<noscript>", "</noscript>", "<template>", "</template>", "<br/>",
    "<div title='</head><meta name=q content=r>'>", "<!DOCTYPE html>", "<?php x ?>", "</ x>",
    "</>", "<a =b>", "<meta =x name=n content=c>", "x", "< x",
]  # fmt: skip


@st.composite
def attribute(draw: st.DrawFn) -> str:
    """One attribute, in any of the HTML quotings."""
    name = draw(st.sampled_from(["name", "NAME", "content", "Content", "rel", "href", "type",
                                 "property", "x", "a'b", 'c"d']))  # fmt: skip
    value = "".join(draw(st.lists(st.sampled_from(_VALUE_BITS), max_size=8)))
    space = draw(st.sampled_from(["", " ", "\n"]))
    style = draw(st.sampled_from(["double", "single", "unquoted", "bare"]))
    if style == "double":
        return f'{name}{space}={space}"{value.replace(chr(34), "")}"'
    if style == "single":
        return f"{name}={space}'{value.replace(chr(39), '')}'"
    bare = "".join(c for c in value if c not in " \t\r\n>\"'") or "v"
    return f"{name}={bare}" if style == "unquoted" else name


@st.composite
def head_token(draw: st.DrawFn) -> str:
    """One piece of head markup: a meta or link, a comment, a text element, another tag."""
    kind = draw(st.sampled_from(["meta", "link", "comment", "script", "style", "title",
                                 "textarea", "other"]))  # fmt: skip
    if kind in ("meta", "link"):
        attrs = " ".join(draw(st.lists(attribute(), max_size=4)))
        opening = draw(st.sampled_from([kind, kind.upper()])) + draw(st.sampled_from(" \n/"))
        return f"<{opening}{attrs}{draw(st.sampled_from(['>', '/>', ' >']))}"
    if kind == "other":
        return draw(st.sampled_from(_OTHER_TAGS))
    text = "".join(draw(st.lists(st.sampled_from(_TEXT_BITS), max_size=6))).replace("</" + kind, "")
    if kind == "comment":
        return "<!--" + text.replace("-", "") + "-->"
    return f"<{kind}>{text}</{kind}>"


@settings(deadline=None)
@given(st.lists(head_token(), max_size=10).map("".join))
def test_agrees_with_lxml(head):
    """On generated heads, the metas and links found are those libxml2 (2.14, HTML5) builds."""
    doc = f"<html><head>{head}</head><body><meta name=sentinel content=s></body></html>"
    root = etree.fromstring(doc.encode(), etree.HTMLParser(encoding="utf-8"))
    ws = " \t\n\f\r"
    want_metas = [
        (el.get("name").strip(ws).lower(), el.get("content"))
        for el in root.iter("meta")
        if el.get("name") not in (None, "sentinel") and el.get("content") is not None
    ]
    want_links = [
        ((el.get("rel") or "").strip(ws).lower(), (el.get("href") or "").strip(ws),
         (el.get("type") or "").strip(ws).lower())
        for el in root.iter("link")
    ]  # fmt: skip
    scan = scan_head(doc.encode())
    assert list(scan.metas) == want_metas
    assert list(scan.links) == want_links
    assert scan.complete


NEEDLES = (b"noai", b"noimageai", b"tdm-")


@settings(max_examples=400)
@given(html_heads())
def test_needles_skip_only_heads_without_them(body):
    """With needles, a head is either scanned in full or holds no tag a needle is in."""
    full = scan_head(body)
    fast = scan_head(body, needles=NEEDLES)
    assert fast.complete == full.complete
    if fast.metas != full.metas:
        assert fast.metas == ()
        held = [m for m in full.metas if any(n.decode() in (m[0] + m[1]).lower() for n in NEEDLES)]
        assert held == []


def test_needles_find_a_referenced_spelling():
    """A needle spelled with a character reference still makes the head be read."""
    body = b'<head><meta name="robots" content="n&#111;ai"></head>'
    assert scan_head(body, needles=NEEDLES).metas == (("robots", "noai"),)
    assert scan_head(b'<head><meta name="robots" content="x"></head>', needles=NEEDLES).metas == ()
