"""``noai`` / ``noimageai`` in ``X-Robots-Tag`` and robots ``<meta>`` tags (standards.md §3).

A community convention (DeviantArt, November 2022), read with MDN's bot-scope semantics: in
``X-Robots-Tag: googlebot: noindex, noai`` both directives belong to googlebot (standards.md §3.3
[I]; datadiligence would read ``noai`` as global). Only the two AI directives are reported:
``noindex``, ``none``, ``noarchive``... are not AI opt-outs (§3.2). What the flags reserve
(purposes, images, propagation to a page's images) is decided in ``rules.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_TOTAL_CHARS = 1024 * 1024
"""Characters read per call; the shells cap header data lower (DESIGN §5.2), this is a guard."""
MAX_MATCHED = 32
"""Directive texts kept in :attr:`AiDirectives.matched`."""
VALUED_DIRECTIVES = frozenset(
    {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
)
"""``name: value`` directives whose name is not a bot name (standards.md §3.3 step 3)."""

# standards.md §3.3 step 3: "bot: rule" opens a scope; the name is a product-token-like run.
_SCOPED = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*:\s*(.*)", re.DOTALL)
# standards.md §3.3 step 2: an RFC 850/1123 date ("Sunday, 06-Nov-94 ...") splits at its comma;
# a piece ending in "unavailable_after: <day name>" continues in the next piece when that one
# starts with the day of the month (so "unavailable_after: Sunday, noai" keeps its noai).
_DATE_HEAD = re.compile(r"(?:^|:)\s*unavailable_after\s*:\s*[A-Za-z]+\s*$", re.IGNORECASE)
_DATE_TAIL = re.compile(r"\s*\d")
# Google-style truncation of our token (RFC 9309 §2.2.1 product token characters).
_TOKEN_HEAD = re.compile(r"[A-Za-z_-]*")


@dataclass(frozen=True, slots=True)
class AiDirectives:
    """The AI opt-out directives that apply to our crawler.

    Attributes:
        noai: a ``noai`` directive applies (all content of the resource).
        noimageai: a ``noimageai`` directive applies (images).
        matched: the directive texts that set a flag, as written (``"noai"``, ``"mybot: noai"``).
        errors: problems met (``noai.too_large``...).
    """

    noai: bool
    noimageai: bool
    matched: tuple[str, ...]
    errors: tuple[str, ...]


NONE = AiDirectives(noai=False, noimageai=False, matched=(), errors=())
"""No AI directive applies."""


def _our_names(token: str) -> frozenset[str]:
    """Lower-cased names that address our crawler: the token and its Google-style truncation."""
    token = token.strip().lower()
    head = _TOKEN_HEAD.match(token)
    return frozenset(n for n in (token, head.group() if head else "") if n)


def _elements(text: str) -> list[str]:
    """Split a directive list on commas, gluing back the comma of an ``unavailable_after`` date."""
    elements: list[str] = []
    for piece in text.split(","):
        last = elements[-1] if elements else ""
        if (
            _DATE_TAIL.match(piece)
            and "unavailable_after" in last.lower()
            and _DATE_HEAD.search(last)
        ):
            elements[-1] = f"{last},{piece}"
        else:
            elements.append(piece)
    return elements


class _Collector:
    """Accumulates flags over field lines or meta tags (union of the results, §3.3 step 1)."""

    __slots__ = ("budget", "errors", "matched", "names", "noai", "noimageai")

    def __init__(self, token: str) -> None:
        self.names = _our_names(token)
        self.noai = False
        self.noimageai = False
        self.matched: list[str] = []
        self.errors: list[str] = []
        self.budget = MAX_TOTAL_CHARS

    def take(self, text: str, what: str) -> str:
        """*text* cut to the remaining character budget (an error is recorded once)."""
        if len(text) > self.budget:
            if not self.errors:
                self.errors.append(f"noai.too_large: {what} over {MAX_TOTAL_CHARS} characters")
            text = text[: self.budget]
        self.budget -= len(text)
        return text

    def scan(self, text: str, scope: str | None, label: str) -> None:
        """Read one field line or meta content; *scope* is the bot it is addressed to, if any."""
        lowered = text.lower()
        if "noai" not in lowered and "noimageai" not in lowered:
            return  # fast path: nothing to find, and a scope never outlives its line
        for element in _elements(text):
            directive = element.strip()
            found = _SCOPED.fullmatch(directive)
            if found and found.group(1).lower() not in VALUED_DIRECTIVES:
                # A bot prefix opens a scope that lasts to the next prefix or the end of the line.
                scope, label = found.group(1).lower(), found.group(1)
                directive = found.group(2).strip()
            if scope is not None and scope not in self.names:
                continue  # MDN: scoped directives apply only to the named bot (X5, X7)
            kind = directive.lower()
            if kind not in ("noai", "noimageai"):
                continue
            if kind == "noai":
                self.noai = True
            else:
                self.noimageai = True
            shown = f"{label}: {directive}" if scope is not None else directive
            if shown not in self.matched and len(self.matched) < MAX_MATCHED:
                self.matched.append(shown)

    def result(self) -> AiDirectives:
        """The accumulated directives."""
        if not (self.noai or self.noimageai or self.errors):
            return NONE
        return AiDirectives(self.noai, self.noimageai, tuple(self.matched), tuple(self.errors))


def parse_x_robots_tag(lines: Sequence[str], token: str) -> AiDirectives:
    """Read every ``X-Robots-Tag`` field line for crawler *token* (standards.md §3.3).

    Each line is read on its own (a bot scope ends with its line) and the results are united.
    Unscoped directives apply to every crawler; ``bot: ...`` ones only when ``bot`` is *token*
    or its truncation, compared case-insensitively (X6). Never raises.
    """
    # Both directives contain "ai": a line without it cannot carry one (the common case, e.g.
    # "noindex, nofollow"), so skip the full parse. Oversized input still goes through it, to be
    # bounded and reported.
    if all("ai" not in line.lower() and len(line) <= MAX_TOTAL_CHARS for line in lines):
        return NONE
    collector = _Collector(token)
    for line in lines:
        collector.scan(collector.take(line, "X-Robots-Tag"), None, "")
    return collector.result()


def parse_meta_robots(metas: Sequence[tuple[str, str]], token: str) -> AiDirectives:
    """Read ``<meta name="robots">`` (every crawler) and ``<meta name="<token>">`` (ours).

    *metas* are ``(name, content)`` pairs; names compare case-insensitively (§3.3 step 5), other
    names (another bot's, X13) are ignored. The content is a comma list read like a field line.
    """
    collector = _Collector(token)
    scope: str | None
    for name, content in metas:
        key = name.strip().lower()
        if key == "robots":
            scope, label = None, ""
        elif key in collector.names:
            scope, label = key, name.strip()
        else:
            continue
        collector.scan(collector.take(content, "meta content"), scope, label)
    return collector.result()
