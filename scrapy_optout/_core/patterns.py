"""RFC 9309 path patterns: normalisation and wildcard matching, shared by every robots-like format.

Used by robots.txt (Allow/Disallow and the path of Content-Usage/Content-Signal lines), ai.txt and
tdmrep.json locations, which all borrow RFC 9309 §2.2.2-2.2.3 matching.

Normalisation (standards.md §2.4 [I]): pattern and URL are normalised the same way: non-ASCII is
UTF-8 percent-encoded, hex digits are upper-cased, ``%XX`` of an unreserved character is decoded,
reserved characters stay as written. In the URL only, a literal ``*`` becomes ``%2A`` and ``$``
becomes ``%24`` so that the pattern's ``%2A``/``%24`` (RFC 9309 §2.2.3) match them.

Matching follows Google's semantics: ``*`` matches any run of characters (``/`` included), ``$`` is
special only as the last character, the match starts at the first octet of the path. The matcher is
a leftmost-greedy scan over the literal pieces between ``*`` (no regular expression, no
backtracking), so a pathological pattern costs O(len(pattern) x len(path)) at worst (RFC 9309 §3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset(b"0123456789abcdefABCDEF")
# Anything that may need rewriting; most real paths contain none of it and skip the slow path.
_NEEDS_WORK = re.compile(r"[^\x21-\x7e]|[%*$]")


def normalize(text: str, *, is_pattern: bool) -> str:
    """Return *text* (a path pattern, or a URL path+query) in the common normal form."""
    if _NEEDS_WORK.search(text) is None:
        return text
    raw = text.encode("utf-8", "surrogatepass")
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == 0x25 and i + 2 < n and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            value = int(raw[i + 1 : i + 3], 16)
            out.append(
                chr(value) if value in _UNRESERVED else "%" + raw[i + 1 : i + 3].decode().upper()
            )
            i += 3
            continue
        if byte == 0x2A and not is_pattern:  # a literal '*' in a URL
            out.append("%2A")
        elif byte == 0x24 and (not is_pattern or i != n - 1):
            # '$' is special only as a pattern's last character (Google); anywhere else it is a
            # literal, written %24 on both sides so that the two compare equal.
            out.append("%24")
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
        i += 1
    return "".join(out)


def target_of(url: str) -> str:
    """Return the normalised path-and-query of *url* that rules are matched against.

    The fragment is dropped; an empty path is ``/`` (RFC 9309 §2.2.2).
    """
    path = _plain_path(url)
    return normalize(_split_path(url) if path is None else path, is_pattern=False)


def _plain_path(url: str) -> str | None:
    """The path-and-query of a common URL, found without urlsplit; None for any other URL.

    Common: a lower-case http(s) scheme and no character urlsplit would strip or reject (tabs,
    newlines, controls). The authority then ends at the first ``/``, ``?`` or ``#``, as it does
    for urlsplit (the tests hold the two to the same answers).
    """
    skip = 8 if url.startswith("https://") else 7 if url.startswith("http://") else 0
    return _after_authority(url, skip) if skip and url.isprintable() else None


def _after_authority(url: str, start: int) -> str:
    """The text after the authority that begins at *start*, without fragment; ``/`` if empty."""
    end = len(url)
    for mark in "/?#":
        found = url.find(mark, start, end)
        if found >= 0:
            end = found
    cut = url.find("#", end)
    path = url[end:cut] if cut >= 0 else url[end:]
    return path if path[:1] == "/" else "/" + path  # an empty path is "/" (RFC 9309 §2.2.2)


def _split_path(url: str) -> str:
    """The path-and-query of any URL, by urlsplit (see :func:`target_of`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        # A URL urlsplit rejects (bad IPv6 literal...) still has a path to match: the text after
        # the authority as written.
        return _after_authority(url, url.find("://") + 3 if "://" in url else 0)
    path = parts.path or "/"
    if parts.query or "?" in url.split("#", 1)[0]:
        # Keep an empty query's "?": "Disallow: /posts?" must match "/posts?" (RFC 9309 §2.2.2).
        path = f"{path}?{parts.query}"
    return path


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled path pattern.

    Attributes:
        text: the normalised pattern, as matched (``*`` and a final ``$`` are special).
        length: its length in octets, the "most specific match" measure (Google: pattern length).
    """

    text: str
    length: int = field(init=False)
    # None when there is no ``*`` (most patterns): the body is then the whole test, and no tuple
    # is kept per rule (a cache of 100,000 origins holds millions of patterns).
    _pieces: tuple[str, ...] | None = field(init=False, repr=False, compare=False)
    _anchored: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anchored = self.text.endswith("$")
        body = self.text[:-1] if anchored else self.text
        object.__setattr__(self, "length", len(self.text))
        object.__setattr__(self, "_anchored", anchored)
        object.__setattr__(self, "_pieces", tuple(body.split("*")) if "*" in body else None)

    @classmethod
    def compile(cls, raw: str) -> Pattern:
        """Normalise and compile a pattern as written in a robots-like file."""
        return cls(normalize(raw, is_pattern=True))

    def matches(self, target: str) -> bool:
        """Whether the pattern matches the normalised *target* (see :func:`target_of`)."""
        pieces = self._pieces
        if pieces is None:
            if self._anchored:
                return len(target) == self.length - 1 and self.text.startswith(target)
            return target.startswith(self.text)
        first = pieces[0]
        if not target.startswith(first):
            return False
        pos = len(first)
        for piece in pieces[1:-1]:
            if not piece:
                continue
            found = target.find(piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        last = pieces[-1]
        if self._anchored:
            # The last piece must end the target and start after everything matched so far;
            # leftmost matching of the earlier pieces leaves it the most room.
            return target.endswith(last) and len(target) - len(last) >= pos
        return not last or target.find(last, pos) >= 0
