"""Bounded scan of an HTML document's ``<head>`` for its ``<meta>`` and ``<link>`` tags.

DESIGN §5.2 "Head scan": at most the first 1 MiB of the body is read (configurable, at least 64
KiB). One compiled pattern written from the WHATWG HTML tokenizer (HTML §13.2.5) walks the window
tag by tag to the first ``</head`` or ``<body`` *tag*, steps over comments, ``<script>``/``<style>``
/``<title>``… text and attribute values, and captures the attributes that matter. Each part is
linear, so hostile input costs time in proportion to the window. [I] Not lxml, as the design
suggested: cutting the tags out and handing them to libxml2 measured slower (about 46 µs against
40 µs for a typical head), and libxml2 tokenizes HTML differently before 2.14. The tests check
this scan against lxml. Nothing here raises on remote input: problems are listed in ``errors``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from html.entities import html5 as _ENTITIES

DEFAULT_HEAD_LIMIT = 1_048_576
"""Bytes of the body scanned by default (DESIGN §5.2: at most the first 1 MiB)."""
MIN_HEAD_LIMIT = 65_536
"""The smallest window (DESIGN §5.2: at least 64 KiB); a smaller ``limit`` is raised to it."""
MAX_HEAD_TAGS = 1_000
"""``<meta>`` plus ``<link>`` tags kept per document; a real head has a few dozen."""


@dataclass(frozen=True, slots=True)
class HeadScan:
    """The ``<meta>`` and ``<link>`` tags of a document's head, each kind in document order.

    Attributes:
        metas: ``(name, content)`` of every ``<meta>`` with both a ``name`` and a ``content``
            attribute: the name ASCII-lower-cased and stripped (HTML compares metadata names ASCII
            case-insensitively), the content as written (character references decoded).
        links: ``(rel, href, type)`` of every ``<link>``: ``rel`` and ``type`` ASCII-lower-cased
            and stripped, ``href`` stripped; a missing attribute is ``""``.
        complete: whether the end of the head (``</head`` or ``<body``) was seen in the window.
        errors: problems met (``"html.head_unterminated"``, ``"html.unclosed: comment"``...).
    """

    metas: tuple[tuple[str, str], ...] = ()
    links: tuple[tuple[str, str, str], ...] = ()
    complete: bool = False
    errors: tuple[str, ...] = ()


EMPTY_SCAN = HeadScan()
"""The scan of an empty body (or of a body not scanned): nothing seen, nothing wrong."""

# -- The tokenizer ----------------------------------------------------------------------------------
_SP = rb"[\t\n\f\r ]*"
_NAME_END = rb"(?=[\t\n\f\r />]|\Z)"  # §13.2.5.8: a tag name ends at whitespace, "/" or ">"
# §13.2.5.36-38: a value. An unclosed quote runs to the end of the window, so its tag is unclosed
# and dropped (§13.2.5.36 "EOF in tag"); a kept tag's quoted value always has both quotes.
_VALUE = rb"""(?:"[^"]*(?:"|\Z)|'[^']*(?:'|\Z)|[^\t\n\f\r >]*)"""
# The attributes of a tag we only step over. A quote opens a value only right after "=": a quote
# elsewhere ("content=It's") is a parse error but text, and an unquoted value runs to whitespace
# or ">". As an unrolled loop (one turn per "="), every part consumes text and the loop stops only
# at ">" or at the end of the window: once a tag name matched, the pattern cannot fail, so it never
# backtracks. [I] One simplification: an attribute *name* starting with "=" is read as a value.
_SKIP_ATTRS = rb"[^>=]*(?:=" + _SP + _VALUE + rb"[^>=]*)*"


_META_ATTRS = ("name", "content", "charset", "http-equiv")
_LINK_ATTRS = ("rel", "href", "type")
# RCDATA/RAWTEXT/script elements (§13.2.5.2-4): their content is text up to their own end tag, so
# a "</head>" or "<meta" in there is no tag.
_TEXT_ELEMENTS = tuple(b"script style title textarea xmp iframe noembed noframes".split())
_TEXT_NAMES = b"|".join(_TEXT_ELEMENTS)
_TEXT_END = {
    name: re.compile(rb"</(?i:" + name + rb")" + _NAME_END + _SKIP_ATTRS + rb">?")
    for name in _TEXT_ELEMENTS
}
_COMMENT_END = re.compile(rb"--!?>")  # §13.2.5.50-52: "-->", or the erroneous "--!>"


def _kept_attrs(prefix: str, names: tuple[str, ...], numbers: Mapping[str, int] | None) -> bytes:
    """Attributes of a kept tag, one turn each (§13.2.5.32-35), capturing those in *names*.

    ``<prefix>_<name>`` marks one present, ``_d``/``_s``/``_u`` hold its "...", '...' or bare
    value. A conditional on the group *number* (named ones can only point back) sends a repeat to
    the generic turn: the first one wins (§13.2.5.33).
    """
    turns = [rb"[\t\n\f\r /]+"]
    for name in names:
        group = f"{prefix}_{name.replace('-', '_')}"
        guard = "(?:" if numbers is None else f"(?({numbers[group]})(?!)|"
        turns.append(
            f"{guard}(?P<{group}>(?i:{name}))".encode() + rb"(?=[\t\n\f\r />=]|\Z)(?:"
            + _SP + b"=" + _SP
            + f'''(?:"(?P<{group}_d>[^"]*)"?|'(?P<{group}_s>[^']*)'?'''.encode()
            + rf"|(?P<{group}_u>[^\t\n\f\r >]*)))?)".encode()
        )  # fmt: skip
    turns.append(rb"[^\t\n\f\r />][^\t\n\f\r />=]*(?:" + _SP + b"=" + _SP + _VALUE + rb")?")
    return rb"(?:" + b"|".join(turns) + rb")*"


def _markup_source(numbers: Mapping[str, int] | None) -> bytes:
    """The tokenizer's pattern; *numbers* are its group numbers (``None`` on the first pass).

    One alternative per kind of markup, told apart by their first bytes. Python's engine saves the
    groups up to the highest one set on each turn of a loop, so the generic tag, the most common,
    sets its groups only after its attribute loop.
    """
    return (
        rb"<(?=[!?/A-Za-z])(?:"  # §13.2.5.6: any other "<" is text
        rb"(?i:meta)" + _NAME_END + _kept_attrs("meta", _META_ATTRS, numbers) + rb"(?P<meta>>)?"
        rb"|(?i:link)" + _NAME_END + _kept_attrs("link", _LINK_ATTRS, numbers) + rb"(?P<link>>)?"
        rb"|(?P<text>(?i:" + _TEXT_NAMES + rb"))" + _NAME_END + _SKIP_ATTRS + rb"(?P<text_open>>)?"
        rb"|(?P<comment>!--)"  # §13.2.5.43-52; its end is searched for separately
        # §13.2.5.6-7, .41: "<!DOCTYPE", "<![CDATA[", "<!x", "<?x", "</1" end at the next ">".
        rb"|(?P<bogus>[!?]|/(?![A-Za-z]))[^>]*(?P<bogus_end>>)?"
        rb"|(?P<head_end>(?i:/head|body))" + _NAME_END
        + rb"|(?P<plaintext>(?i:plaintext))" + _NAME_END  # §13.2.5.5: all that follows is text
        # Any other tag, stepped over whole so that its attribute values are not read as tags.
        + rb"|/?[A-Za-z][^\t\n\f\r />]*" + _SKIP_ATTRS + rb"(?:(?P<other_end>>)|(?P<other>))"
        rb")"
    )  # fmt: skip


_MARKUP = re.compile(_markup_source(re.compile(_markup_source(None)).groupindex))


def _groups(*names: str) -> tuple[int, ...]:
    """Group numbers of the named attributes' presence and value groups, in order."""
    return tuple(_MARKUP.groupindex[n + part] for n in names for part in ("", "_d", "_s", "_u"))


_META_GROUPS = _groups("meta_name", "meta_content", "meta_charset", "meta_http_equiv")
_LINK_GROUPS = _groups("link_rel", "link_href", "link_type")

# -- Encodings (WHATWG Encoding; HTML §13.2.3 "determining the character encoding") ----------------
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CHARSET_IN_CONTENT = re.compile(
    rb"charset" + _SP + b"=" + _SP + rb"""["']?([^\t\n\f\r ;"']+)""", re.IGNORECASE
)
_UTF16_START = re.compile(rb"(<\x00[^\x00]\x00)|\x00<\x00[^\x00]")  # "<x" in UTF-16 LE or BE
_ASCII_PROBE = bytes(range(0x09, 0x7F))
_WS = " \t\n\f\r"  # HTML "ASCII whitespace"
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_C1 = {v: bytes([v]).decode("cp1252", "ignore") for v in range(0x80, 0xA0)}
_CHARREF = re.compile(r"&(?:#([0-9]+|[xX][0-9a-fA-F]+);?|([A-Za-z][A-Za-z0-9]*)(;?))")


def scan_head(
    body: bytes, *, limit: int = DEFAULT_HEAD_LIMIT, encoding: str | None = None
) -> HeadScan:
    """Return the ``<meta>``/``<link>`` tags of the head found in the first *limit* bytes of *body*.

    Args:
        body: the response body (only its first *limit* bytes are read).
        limit: the window in bytes; raised to :data:`MIN_HEAD_LIMIT` when smaller (DESIGN §5.2).
        encoding: the ``Content-Type`` charset, if any: a hint that a byte order mark overrides.

    Returns:
        The scan; never raises. ``complete`` is false when the head did not end in the window.
    """
    end = min(len(body), max(limit, MIN_HEAD_LIMIT))
    if end <= 0:
        return EMPTY_SCAN
    errors: list[str] = []
    buf, pos, codec = _prepare(body, end, encoding, errors)
    if buf is not body:
        end = len(buf)
    raw_metas: list[tuple[bytes, bytes]] = []
    raw_links: list[tuple[bytes, bytes, bytes]] = []
    complete = capped = False
    search = _MARKUP.search
    while (m := search(buf, pos, end)) is not None:
        last, pos = m.lastgroup, m.end()
        if last == "meta" or last == "link":
            if len(raw_metas) + len(raw_links) >= MAX_HEAD_TAGS:
                if not capped:
                    capped = True
                    errors.append(f"html.too_many_tags: kept {MAX_HEAD_TAGS}")
            elif last == "link":
                g = m.group(*_LINK_GROUPS)  # (present, "...", '...', unquoted) per attribute
                rel, href = g[1] or g[2] or g[3] or b"", g[5] or g[6] or g[7] or b""
                raw_links.append((rel, href, g[9] or g[10] or g[11] or b""))
            else:
                g = m.group(*_META_GROUPS)
                if g[0] is not None and g[4] is not None:
                    raw_metas.append((g[1] or g[2] or g[3] or b"", g[5] or g[6] or g[7] or b""))
                if codec is None and (g[8] is not None or g[12] is not None):
                    codec = _declared_codec(g, errors)
        elif last == "other_end" or last == "bogus_end":
            continue
        elif last == "text_open":
            name = m.group("text").lower()
            close = _TEXT_END[name].search(buf, pos, end)
            if close is None:  # the text runs to the end of the window
                errors.append("html.unclosed: " + name.decode())
                break
            pos = close.end()
        elif last == "comment":
            if buf.startswith((b">", b"->"), pos, end):  # §13.2.5.44-45: "<!-->", "<!--->"
                pos = buf.index(b">", pos) + 1
            elif (close := _COMMENT_END.search(buf, pos, end)) is not None:
                pos = close.end()
            else:
                errors.append("html.unclosed: comment")
                break
        elif last == "head_end":
            complete = True
            break
        else:  # a tag left open runs to the end of the window; after <plaintext> all is text
            if last != "plaintext":
                errors.append("html.unclosed: " + ("markup" if last == "bogus" else "tag"))
            break
    if not complete:
        errors.append("html.head_unterminated")
    return HeadScan(*_texts(raw_metas, raw_links, codec, errors), complete, tuple(errors))


def _texts(
    raw_metas: list[tuple[bytes, bytes]],
    raw_links: list[tuple[bytes, bytes, bytes]],
    codec: str | None,
    errors: list[str],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """Turn the captured attribute bytes into the record's text."""
    text: Callable[[bytes], str]
    lower: Callable[[str], str]
    every = b"".join(b"".join(t) for t in (*raw_metas, *raw_links))
    if every.isascii() and not any(c in every for c in (b"&", b"\r", b"\x00")):
        text, lower = bytes.decode, str.lower  # the common case: plain ASCII, nothing to decode
    else:
        text, lower = _decoder(codec, errors), _ascii_lower
    return (
        tuple((lower(text(n).strip(_WS)), text(c)) for n, c in raw_metas),
        tuple(
            (lower(text(r).strip(_WS)), text(h).strip(_WS), lower(text(t).strip(_WS)))
            for r, h, t in raw_links
        ),
    )


def _declared_codec(g: tuple[bytes | None, ...], errors: list[str]) -> str | None:
    """Return the codec a ``<meta charset>`` or ``http-equiv="content-type"`` names (§13.2.3.2).

    *g* are the meta's attribute groups: name, content, charset, http-equiv, four each.
    """
    label = (g[9] or g[10] or g[11] or b"") if g[8] is not None else None
    if label is None and (g[13] or g[14] or g[15] or b"").strip().lower() == b"content-type":
        found = _CHARSET_IN_CONTENT.search(g[5] or g[6] or g[7] or b"")
        label = found.group(1) if found else None
    if not label:
        return None
    text = label.decode("ascii", "replace").strip(_WS)
    codec = _codec_for(text, from_meta=True)
    if codec is None:  # §13.2.3.2: an unsupported label is passed over; the next meta may do
        errors.append("html.unknown_encoding: " + text[:40])
    return codec


def _prepare(
    body: bytes, end: int, hint: str | None, errors: list[str]
) -> tuple[bytes, int, str | None]:
    """Pick the encoding from a BOM or the hint: return (buffer, start, codec or None = unknown).

    The buffer is *body* itself for ASCII-compatible encodings (the tokenizer reads bytes), or the
    window re-encoded as UTF-8 for UTF-16 (decoding errors become U+FFFD).
    """
    for bom, bom_codec in _BOMS:  # WHATWG Encoding "decode": a BOM wins over every label
        if body.startswith(bom):
            if bom_codec == "utf-8":
                return body, len(bom), bom_codec
            return body[len(bom) : end].decode(bom_codec, "replace").encode(), 0, "utf-8"
    codec = _codec_for(hint.strip(_WS), from_meta=False) if hint else None
    if hint and codec is None:
        errors.append("html.unknown_encoding: " + hint[:40])
    elif codec is not None and codec.startswith("utf-16"):
        # [I] A UTF-16 label on an ASCII body is a common server mistake; UTF-16 markup has NUL
        # bytes beside its "<". Protective: read what the page says rather than UTF-16 garbage.
        if b"\x00" in body[: min(end, 1024)]:
            return body[:end].decode(codec, "replace").encode(), 0, "utf-8"
        errors.append("html.encoding_mismatch: " + codec)
        codec = None
    elif codec is None and (sniffed := _UTF16_START.match(body)) is not None:
        # No BOM, no label, but plainly UTF-16 markup (HTML §13.2.3.1: the UA may autodetect).
        codec = "utf-16-le" if sniffed.group(1) else "utf-16-be"
        return body[:end].decode(codec, "replace").encode(), 0, "utf-8"
    return body, 0, codec


@lru_cache(maxsize=64)
def _codec_for(label: str, *, from_meta: bool) -> str | None:
    """Map an encoding label to a codec usable on HTML, or ``None`` (WHATWG Encoding §4.2).

    A meta saying UTF-16 means UTF-8 (HTML §13.2.3.2); latin-1 and ASCII mean windows-1252; codecs
    that are not ASCII-compatible (UTF-7, EBCDIC: unknown to WHATWG) are refused.
    """
    if len(label) > 40:  # WHATWG labels are short; hand no megabyte to codecs.lookup
        return None
    try:
        name = codecs.lookup(label).name
        if name.startswith("utf-16"):
            return "utf-8" if from_meta else ("utf-16-be" if name == "utf-16-be" else "utf-16-le")
        if name in ("iso8859-1", "ascii"):
            return "cp1252"
        if _ASCII_PROBE.decode(name) != _ASCII_PROBE.decode("ascii"):
            return None
    except (LookupError, ValueError, TypeError, UnicodeError):
        return None
    return name


def _decoder(codec: str | None, errors: list[str]) -> Callable[[bytes], str]:
    """Return a function that reads one attribute value as the HTML tokenizer delivers it."""

    def text(raw: bytes) -> str:
        try:
            value = raw.decode(codec or "utf-8")
        except UnicodeDecodeError:
            if codec is None:  # undeclared and not UTF-8: WHATWG's default for legacy content
                value = raw.decode("cp1252", "replace")
            else:
                if f"html.decode_error: {codec}" not in errors:
                    errors.append(f"html.decode_error: {codec}")
                value = raw.decode(codec, "replace")
        if "\r" in value:  # §13.2.3.5: CR LF and a lone CR become LF
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        if "\x00" in value:  # §13.2.5.36-38: a NUL in a value is read as U+FFFD
            value = value.replace("\x00", "\ufffd")
        return _CHARREF.sub(_charref, value) if "&" in value else value

    return text


def _charref(m: re.Match[str]) -> str:
    """Decode one character reference the way an attribute value does (HTML §13.2.5.72-80)."""
    number, name, semicolon = m.groups()
    if number is not None:
        hexa = number[0] in "xX"
        digits = (number[1:] if hexa else number).lstrip("0")
        # §13.2.5.80: NUL, surrogates and values past U+10FFFF read as U+FFFD, 0x80-0x9F through
        # the windows-1252 table; other controls stay. Nine digits are past U+10FFFF in any base.
        value = int(digits, 16 if hexa else 10) if 0 < len(digits) <= 8 else 0
        if value == 0 or value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            return "\ufffd"
        return _C1.get(value) or chr(value)
    if semicolon and name + ";" in _ENTITIES:
        return _ENTITIES[name + ";"]
    # §13.2.5.73: without ";" only a legacy name decodes, and in an attribute not before "=".
    after = m.string[m.end() : m.end() + 1]
    if not semicolon and name in _ENTITIES and after != "=":
        return _ENTITIES[name]
    return m.group(0)


def _ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only (HTML "ASCII case-insensitive"); other characters untouched."""
    return text.lower() if text.isascii() else text.translate(_LOWER)
