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
    try:
        parts = urlsplit(url)
    except ValueError:
        # A URL urlsplit rejects (bad IPv6 literal...) still has a path to match: take the text
        # after the authority as written.
        rest = url.split("://", 1)[-1]
        slash = rest.find("/")
        path = rest[slash:] if slash >= 0 else "/"
        return normalize(path.split("#", 1)[0] or "/", is_pattern=False)
    path = parts.path or "/"
    if parts.query or "?" in url.split("#", 1)[0]:
        # Keep an empty query's "?": "Disallow: /posts?" must match "/posts?" (RFC 9309 §2.2.2).
        path = f"{path}?{parts.query}"
    return normalize(path, is_pattern=False)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled path pattern.

    Attributes:
        text: the normalised pattern, as matched (``*`` and a final ``$`` are special).
        length: its length in octets, the "most specific match" measure (Google: pattern length).
    """

    text: str
    length: int = field(init=False)
    _pieces: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _anchored: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anchored = self.text.endswith("$")
        body = self.text[:-1] if anchored else self.text
        object.__setattr__(self, "length", len(self.text))
        object.__setattr__(self, "_anchored", anchored)
        object.__setattr__(self, "_pieces", tuple(body.split("*")))

    @classmethod
    def compile(cls, raw: str) -> Pattern:
        """Normalise and compile a pattern as written in a robots-like file."""
        return cls(normalize(raw, is_pattern=True))

    def matches(self, target: str) -> bool:
        """Whether the pattern matches the normalised *target* (see :func:`target_of`)."""
        pieces = self._pieces
        first = pieces[0]
        if len(pieces) == 1:
            return target == first if self._anchored else target.startswith(first)
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
