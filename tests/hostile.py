"""Hostile documents (issue 11 part A): each attack's bytes, built on demand.

Shared by ``tests/test_hostile_documents.py`` and ``bench/hostile.py``. Every builder returns the whole document (or, for the big ones, a generator of chunks of it), so
that a test can serve it from a local :class:`~tests.httpsite.Site` and the bench can hand it to
the core directly. Sizes follow the issue's wording (10 MB, 100,000 rules, 1 MB of headers...).
"""

from __future__ import annotations

from collections.abc import Iterator

MIB = 1024 * 1024
CHUNK = 64 * 1024

PRIVATE = b"User-agent: *\nDisallow: /private\n"
NOAI_META = b'<meta name="robots" content="noai">'


def chunks(data: bytes) -> Iterator[bytes]:
    """*data* in 64 KiB pieces (a streamed body, so the server holds no copy of its own)."""
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


# -- robots.txt --------------------------------------------------------------------------------


def robots_10mb() -> Iterator[bytes]:
    """A 10 MB robots.txt: ``Disallow: /private`` first, comments, ``Disallow: /late`` last."""
    yield PRIVATE
    line = b"# " + b"x" * 97 + b"\n"
    block = line * (CHUNK // len(line))
    for _ in range(10 * MIB // len(block)):
        yield block
    yield b"Disallow: /late\n"


def robots_rules(count: int = 100_000) -> bytes:
    """A robots.txt of *count* distinct rules, ``Disallow: /p0/`` ... (about 2 MB for 100,000)."""
    return b"User-agent: *\n" + b"".join(b"Disallow: /p%d/\n" % i for i in range(count))


def wildcard_pattern(pieces: int) -> str:
    """``/*a*a*a…*a*b``: *pieces* ``*a`` pieces, then ``*b`` (a backtracking matcher's nightmare)."""
    return "/" + "*a" * pieces + "*b"


def robots_wildcard(pieces: int = 10_000) -> bytes:
    """robots.txt whose only rule is the pathological :func:`wildcard_pattern`."""
    return f"User-agent: *\nDisallow: {wildcard_pattern(pieces)}\n".encode()


def robots_invalid_utf8() -> bytes:
    """robots.txt with invalid UTF-8 in a comment, another group's agent line and a rule."""
    return b"User-agent: caf\xe9bot\xff\nDisallow: /\n\nUser-agent: *\n# \xfe\xfe\nDisallow: /private\nDisallow: /x\xc3(\n"


def robots_nul() -> bytes:
    """robots.txt in UTF-16LE without a BOM: a NUL byte after every ASCII character."""
    return PRIVATE.decode().encode("utf-16-le")


def robots_cr_only(size: int = MIB) -> bytes:
    """A robots.txt of *size* bytes whose lines end with CR alone (old Mac), over the 500 KiB cap."""
    line = b"#" + b"x" * 98 + b"\r"
    return PRIVATE.replace(b"\n", b"\r") + line * (size // len(line))


# -- tdmrep.json -------------------------------------------------------------------------------


def tdmrep_deep(depth: int = 1_000_000) -> bytes:
    """A 2 MB tdmrep.json nested *depth* arrays deep (under the 2 MiB fetch cap)."""
    return b"[" * depth + b"]" * depth


def tdmrep_many(count: int = 45_000) -> bytes:
    """About 1.8 MB: rule 0 reserves ``/private/``, then *count* rules ``/r<i>/`` that do not."""
    rules = [b'{"location":"/private/","tdm-reservation":1}']
    rules += [b'{"location":"/r%d/","tdm-reservation":0}' % i for i in range(count)]
    return b"[" + b",".join(rules) + b"]"


def tdmrep_objects(size: int = 2_000_000) -> bytes:
    """*size* bytes of empty objects ``[{},{},…]``: the most objects per byte JSON allows."""
    return b"[" + b"{}," * ((size - 4) // 3) + b"{}]"


TDMREP_WRONG_TYPES = (
    b'[{"location":5,"tdm-reservation":1},{"location":"/","tdm-reservation":"1"},'
    b'{"location":"/","tdm-reservation":1},null,[],{"location":"/","tdm-reservation":1e999}]'
)
"""Wrong types: a numeric location, a string reservation that matches first, null, [], inf."""
TDMREP_OBJECT = b'{"location":"/","tdm-reservation":1}'
"""An object where the array is mandatory (TDMRep §1.3, T11)."""
TDMREP_DUPLICATE_RELEASE = b'[{"location":"/","tdm-reservation":1,"tdm-reservation":0}]'
"""Duplicate keys whose last value releases."""
TDMREP_DUPLICATE_RESERVE = b'[{"location":"/","tdm-reservation":0,"tdm-reservation":1}]'
"""Duplicate keys whose last value reserves."""


# -- headers -----------------------------------------------------------------------------------


def megabyte_of_fields() -> list[tuple[str, str]]:
    """1 MB of header data: 1,000 fields of 1 KB (not signal fields), then ``X-Robots-Tag: noai``."""
    return [(f"X-Pad-{i}", "p" * 1024) for i in range(1_000)] + [("X-Robots-Tag", "noai")]


def robots_tag_lines(count: int, value: str = "nofollow") -> list[tuple[str, str]]:
    """*count* ``X-Robots-Tag`` field lines, then one ``X-Robots-Tag: noai``."""
    return [("X-Robots-Tag", value)] * count + [("X-Robots-Tag", "noai")]


def megabyte_value() -> dict[str, str]:
    """One 1 MB ``X-Robots-Tag`` value that starts with ``noai``."""
    return {"X-Robots-Tag": "noai, " + "x" * MIB}


# -- HTML --------------------------------------------------------------------------------------


def endless_head(size: int = 50 * MIB) -> Iterator[bytes]:
    """A *size* byte page whose ``<head>`` never ends (no ``</head>``, no ``<body>``)."""
    yield b"<!doctype html><html><head><title>endless</title>\n"
    meta = b'<meta name="keywords" content="' + b"k" * 60 + b'">\n'
    block = meta * (CHUNK // len(meta))
    for _ in range(size // len(block)):
        yield block


def many_metas(count: int = 100_000, noai_at: int = 2_000) -> bytes:
    """A head of *count* meta tags with a robots ``noai`` meta after the first *noai_at*."""
    meta = b"<meta name=m content=1>"
    return (
        b"<!doctype html><html><head>" + meta * noai_at + NOAI_META
        + meta * (count - noai_at) + b"</head><body>hi</body></html>"
    )  # fmt: skip


def broken_encodings() -> dict[str, tuple[str, bytes]]:
    """Pages (Content-Type, body), each with a ``noai`` meta, in broken or lying encodings."""
    head = b"<!doctype html><html><head>%s" + NOAI_META + b"</head><body>%s</body></html>"
    return {
        "invalid-utf8": (
            "text/html; charset=utf-8",
            head % (b'<meta name="description" content="caf\xe9 \xff\xfe">', b"\xc3("),
        ),
        "huge-label": ("text/html; charset=" + "x" * 10_000, head % (b"", b"hi")),
        "utf16-label-on-ascii": ("text/html; charset=utf-16", head % (b"", b"hi")),
        "utf7-meta": ("text/html", head % (b'<meta charset="utf-7">', b"+ADw-script+AD4-")),
        "truncated-utf16": ("text/html", b"\xff\xfe" + (head % (b"", b"hi")).decode().encode(
            "utf-16-le")[:-1]),
    }  # fmt: skip
