"""Bounded scan of an HTML document's ``<head>`` for its ``<meta>`` and ``<link>`` tags.

DESIGN §5.2 "Head scan": at most the first 1 MiB of the body is read (configurable, at least 64
KiB). The tokenizer of :mod:`.html_tokens`, written from the WHATWG HTML tokenizer (HTML §13.2.5),
steps in one match to the next ``<meta>``/``<link>`` (over comments, ``<script>``/``<style>``/
``<title>``… text, other tags and their attribute values), up to the first ``</head`` or ``<body``
*tag*, and captures the attributes that matter; their values are then decoded all together. The
work is linear, so hostile input costs time in proportion to the window. [I] Not lxml, as the
design suggested: cutting the tags out and handing them to libxml2 measured slower (46 µs against
40 µs for a typical head, when this scan still took a match per token; it now takes about 24 µs),
and libxml2 tokenizes HTML differently before 2.14. The tests check this scan against lxml.
Nothing here raises on remote input: problems are listed in ``errors``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.entities import html5 as _ENTITIES
from itertools import chain, islice, repeat

from .html_tokens import (
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
    signal_tags,
)

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
_NOTHING_IN_HEAD = HeadScan(complete=True)

_KEPT = (LINK, NAMED_META, OTHER_META)  # the last groups of a match that ends on a kept tag

# -- Encodings (WHATWG Encoding; HTML §13.2.3 "determining the character encoding") ----------------
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CHARSET_IN_CONTENT = re.compile(
    rb"""charset[\t\n\f\r ]*=[\t\n\f\r ]*["']?([^\t\n\f\r ;"']+)""", re.IGNORECASE
)
_UTF16_START = re.compile(rb"(<\x00[^\x00]\x00)|\x00<\x00[^\x00]")  # "<x" in UTF-16 LE or BE
_ASCII_PROBE = bytes(range(0x09, 0x7F))
_WS = " \t\n\f\r"  # HTML "ASCII whitespace"
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_C1 = {v: bytes([v]).decode("cp1252", "ignore") for v in range(0x80, 0xA0)}
_CHARREF = re.compile(r"&(?:#([0-9]+|[xX][0-9a-fA-F]+);?|([A-Za-z][A-Za-z0-9]*)(;?))")


def scan_head(
    body: bytes,
    *,
    limit: int = DEFAULT_HEAD_LIMIT,
    encoding: str | None = None,
    needles: tuple[bytes, ...] | None = None,
) -> HeadScan:
    """Return the ``<meta>``/``<link>`` tags of the head found in the first *limit* bytes of *body*.

    Args:
        body: the response body (only its first *limit* bytes are read).
        limit: the window in bytes; raised to :data:`MIN_HEAD_LIMIT` when smaller (DESIGN §5.2).
        encoding: the ``Content-Type`` charset, if any: a hint that a byte order mark overrides.
        needles: when given (lower-case ASCII), the caller wants only tags holding one of them, in
            any case: a head whose markup holds none (nor a character reference, which could spell
            one) gives no tags, found without tokenizing its tags one by one.

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
    if needles is not None:
        # The tags the scan below keeps all lie within the markup HEAD_END steps over (the same
        # grammar), and in an ASCII-compatible buffer (UTF-16 is re-encoded by _prepare) a value
        # can spell a needle only in its own bytes or through a numeric reference ("&#"); no named
        # reference decodes to an ASCII letter or "-".
        head = HEAD_END.match(buf, pos, end)
        markup = buf[pos : head.end() if head else end].lower()
        if b"&#" not in markup:
            for needle in needles:
                if needle in markup:
                    break
            else:
                complete = _stopped(head, errors)
                return (
                    _NOTHING_IN_HEAD
                    if complete and not errors
                    else HeadScan((), (), complete, tuple(errors))
                )
    metas: list[bytes] = []  # name, content, name, content...
    links: list[bytes] = []  # rel, href, type, rel...
    matches = NEXT_TAG.finditer(buf, pos, end)  # one match per <meta>/<link>, then one that stops
    stop: re.Match[bytes] | None = None
    room = MAX_HEAD_TAGS
    while room > 0:
        for stop in islice(matches, room):  # *room* tags at most, so no count to keep per tag
            last = stop.lastindex
            if last == LINK:
                links += stop.groups(b"")[LINK_VALUES]  # b"": absent
                continue
            if last == NAMED_META:
                metas += stop.group(META_NAME, META_CONTENT)
            elif last != OTHER_META:
                break
            if codec is None:
                codec = _declared_codec(stop, errors)
        else:  # *room* tags read and no stop: read on while some were not kept (a meta without
            # name or content); no match at all cannot be (the tokenizer matches anywhere)
            room = MAX_HEAD_TAGS - len(metas) // 2 - len(links) // 3 if stop else 0
            stop = None
            continue
        break
    else:  # MAX_HEAD_TAGS kept: now only signal tags, if *needles* says which, and the head end
        if (stop := next(matches, None)) is not None and stop.lastindex in _KEPT:
            errors.append(f"html.too_many_tags: kept {MAX_HEAD_TAGS}")
            rest = buf[stop.start() : end].lower() if needles else b""
            if not needles or (b"&#" not in rest and not any(n in rest for n in needles)):
                stop = HEAD_END.match(buf, stop.end(), end)
            else:  # DESIGN §5.2: a noai meta after 1,000 others, within the window, still counts
                stop = signal_tags(chain((stop,), matches), needles, MAX_HEAD_TAGS, metas, links)
    complete = _stopped(stop, errors)
    if not metas and not links:
        return HeadScan((), (), complete, tuple(errors))
    return HeadScan(*_texts(metas, links, codec, errors), complete, tuple(errors))


def _stopped(m: re.Match[bytes] | None, errors: list[str]) -> bool:
    """Note why the scan stopped at *m* (see ``html_tokens.STOPS``); return if the head ended."""
    last = m.lastgroup if m else "eof"
    if m and last == "text_open":
        errors.append("html.unclosed: " + m.group("text").lower().decode())
    elif last not in ("head_end", "plaintext", "eof"):  # after <plaintext> all is text
        errors.append("html.unclosed: " + (last if last in ("comment", "markup") else "tag"))
    if last != "head_end":
        errors.append("html.head_unterminated")
    return last == "head_end"


def _texts(
    metas: list[bytes], links: list[bytes], codec: str | None, errors: list[str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]]:
    """Turn the captured attribute bytes (two per meta, three per link) into the record's text."""
    raw = metas + links
    text = _read_at_once(b"\x00".join(raw), codec)
    texts = text.split("\x00") if text is not None else []
    lower = str.lower if text is not None and text.isascii() else _ascii_lower
    if len(texts) != len(raw):  # a value holds a NUL, or the values are not read at once
        texts = list(map(_decoder(codec, errors), raw))
    n, strip, ws = len(metas), str.strip, repeat(_WS)
    names = map(lower, map(strip, texts[0:n:2], ws))
    rels, hrefs = map(lower, map(strip, texts[n::3], ws)), map(strip, texts[n + 1 :: 3], ws)
    types = map(lower, map(strip, texts[n + 2 :: 3], ws))
    return tuple(zip(names, texts[1:n:2], strict=True)), tuple(zip(rels, hrefs, types, strict=True))


def _read_at_once(every: bytes, codec: str | None) -> str | None:
    """Read the values joined by NULs as one text, if that reads each as :func:`_decoder` does.

    It does for UTF-8, whose characters never span a NUL, and for plain ASCII, read alike by every
    codec accepted; ``None`` otherwise. Nor does a character reference span a NUL or read as one.
    """
    utf8 = codec is None or codec == "utf-8"
    if not utf8 and (not every.isascii() or b"&" in every or b"\r" in every):
        return None
    try:
        text = every.decode()
    except UnicodeDecodeError:
        return None
    if "\r" in text:  # §13.2.3.5: CR LF and a lone CR become LF
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CHARREF.sub(_charref, text) if "&" in text else text


def _declared_codec(m: re.Match[bytes], errors: list[str]) -> str | None:
    """Return the codec the ``<meta charset>`` or ``http-equiv="content-type"`` *m* names.

    HTML §13.2.3.2; ``None`` when the tag names none or an unsupported one.
    """
    label, equiv, content = m.group(META_CHARSET, META_HTTP_EQUIV, META_CONTENT)
    if label is None and (equiv or b"").strip().lower() == b"content-type":
        found = _CHARSET_IN_CONTENT.search(content or b"")
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
    for bom, bom_codec in _BOMS if body[0] >= 0xEF else ():  # WHATWG "decode": a BOM wins
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
    elif codec is None and 0 in body[:2] and (sniffed := _UTF16_START.match(body)) is not None:
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
