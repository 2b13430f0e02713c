"""The shared hostile-XML parser (``safexml.py``)."""

from __future__ import annotations

import pytest
from lxml import etree

from scrapy_optout._core.safexml import parse_xml


def test_parses_xml_without_comments_or_processing_instructions():
    """Well-formed XML parses; comments and processing instructions are dropped."""
    root = parse_xml(b"<?xpacket begin='x'?><a><!-- c --><?pi x?><b>t</b></a>")
    assert [child.tag for child in root] == ["b"]


def test_external_entities_are_never_read(tmp_path):
    """A SYSTEM entity naming a local file stays unexpanded: its content never appears."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doc = f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><a>&x;</a>'.encode()
    root = parse_xml(doc)
    assert "TOP-SECRET" not in etree.tostring(root).decode()


def test_an_entity_bomb_is_refused():
    """A billion-laughs document raises instead of expanding."""
    levels = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    doc = f'<!DOCTYPE a [<!ENTITY l0 "lol">{levels}]><a>&l9;</a>'.encode()
    try:
        root = parse_xml(doc)
    except etree.XMLSyntaxError:
        return
    assert len(etree.tostring(root)) < 10_000  # not expanded


def test_not_xml_raises_a_syntax_error():
    """Bytes that are not XML raise XMLSyntaxError, which callers turn into an error."""
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml(b"<unclosed")
