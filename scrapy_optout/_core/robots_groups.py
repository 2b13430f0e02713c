"""A parsed robots.txt: its groups, the selection of a token's group, and path matching.

RFC 9309 §2.2.1 (group selection: a token's groups merged, else the ``*`` groups) and §2.2.2
(longest match, allow on a tie, ``/robots.txt`` always allowed), with Google's token truncation
(standards.md §2.3). Parsing is :mod:`robots`; these records are what it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scrapy_optout._core.patterns import Pattern

_MEMO_MAX = 1024  # distinct tokens memoised per file before the memo is reset
_WS = " \t\v\f"
_TOKEN = re.compile(r"[A-Za-z_-]*")


def agent_token(value: str) -> str:
    """Return the product token a ``User-agent`` value (or our own token) stands for.

    Google's ``ExtractUserAgent``: the leading ``[A-Za-z_-]`` run, lower-cased (``MyBot/2.0`` ->
    ``mybot``); ``*`` alone or followed by whitespace is ``*`` (standards.md §2.3, vector R12).
    """
    value = value.strip(_WS)
    if value[:1] == "*" and (len(value) == 1 or value[1].isspace()):
        return "*"
    match = _TOKEN.match(value)
    return match.group().lower() if match else ""


@dataclass(frozen=True, slots=True)
class PathRule:
    """An ``Allow`` (``allow`` True) or ``Disallow`` line (RFC 9309 §2.2.2).

    ``line`` is its 1-based line number; ``written`` the line as written, stripped, when it differs
    from its canonical spelling (:attr:`raw`), else None: most lines are canonical, and a cache of
    100,000 origins holds millions of rules, so the copy is kept only when it says more.
    """

    allow: bool
    pattern: Pattern
    line: int
    written: str | None = None

    @classmethod
    def parsed(cls, allow: bool, pattern: Pattern, line: int, raw: str) -> PathRule:
        """The rule of a line read as *raw*, keeping *raw* only if it is not canonical."""
        canonical = raw == ("Allow: " if allow else "Disallow: ") + pattern.text
        return cls(allow, pattern, line, None if canonical else raw)

    @property
    def raw(self) -> str:
        """The line as written, stripped (``Reason.detail``)."""
        if self.written is not None:
            return self.written
        return ("Allow: " if self.allow else "Disallow: ") + self.pattern.text


@dataclass(frozen=True, slots=True)
class ExtLine:
    """An extension line; ``field`` is ``content-usage``, ``content-signal`` or ``license``.

    ``pattern`` is the optional leading path (a value starting with ``/`` runs to the first SP or
    HTAB, attach-05, standards.md §4.3), None for every path (match length 0); ``value`` the rest
    (preference text or licence URL), comment stripped, trimmed; ``line``, ``raw`` as in PathRule.
    """

    field: str
    pattern: Pattern | None
    value: str
    line: int
    raw: str


@dataclass(frozen=True, slots=True)
class Group:
    """One group: its ``User-agent`` tokens, rules, extension lines and first line number.

    ``agents`` holds :func:`agent_token` values (``""`` names nobody); empty patterns are dropped
    from ``rules`` (they match nothing, RFC 9309 §2.2.2).
    """

    agents: tuple[str, ...]
    rules: tuple[PathRule, ...]
    extensions: tuple[ExtLine, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Selection:
    """The merged group(s) that apply to one token (RFC 9309 §2.2.1), lines in file order.

    ``agents`` is the group token that matched (``("mybot",)`` or ``("*",)``), ``()`` if none.
    """

    agents: tuple[str, ...] = ()
    rules: tuple[PathRule, ...] = ()
    extensions: tuple[ExtLine, ...] = ()
    _plain: dict[str, PathRule] = field(init=False, repr=False, compare=False, hash=False)
    _lengths: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _special: tuple[PathRule, ...] = field(init=False, repr=False, compare=False)
    _fields: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A pattern without '*' or a final '$' matches exactly the targets it prefixes, so those
        # are found by looking up the target's prefixes (cost bounded by the target's length, not
        # by the rule count); the others are tried longest first (RFC 9309 §2.2.2: most octets
        # wins, allow on a tie), stopping once they cannot beat the best plain match.
        plain: dict[str, PathRule] = {}
        special: list[PathRule] = []
        for rule in self.rules:
            text = rule.pattern.text
            if "*" in text or text.endswith("$"):
                special.append(rule)
            elif text not in plain or rule.allow:
                plain[text] = rule
        special.sort(key=lambda r: (-r.pattern.length, not r.allow))
        set_ = object.__setattr__
        set_(self, "_plain", plain)
        set_(self, "_lengths", tuple(sorted({len(t) for t in plain}, reverse=True)))
        set_(self, "_special", tuple(special))
        set_(self, "_fields", frozenset(e.field for e in self.extensions))

    def match(self, target: str) -> PathRule | None:
        """Return the deciding rule for a normalised target (``patterns.target_of``), or None."""
        best: PathRule | None = None
        size = len(target)
        plain = self._plain
        for length in self._lengths:
            if length <= size:
                best = plain.get(target[:length])
                if best is not None:
                    break
        for rule in self._special:
            if best is not None:
                length = rule.pattern.length
                if length < best.pattern.length or (
                    length == best.pattern.length and (best.allow or not rule.allow)
                ):
                    break
            if rule.pattern.matches(target):
                best = rule
        return best

    def allowed(self, target: str) -> bool:
        """Whether the target may be fetched; ``/robots.txt`` always may (RFC 9309 §2.2.2)."""
        rule = None if target == "/robots.txt" else self.match(target)
        return rule is None or rule.allow

    def extension_lines(self, field: str, target: str) -> tuple[ExtLine, ...]:
        """Return the lines of *field* matching *target* with the longest path (pathless: 0).

        All lines tied at that length are returned (attach-05 combines identical paths); shorter
        ones are not inherited (vector A8).
        """
        if field not in self._fields:  # the common case: the group has no such line
            return ()
        hits = [
            (0 if e.pattern is None else e.pattern.length, e)
            for e in self.extensions
            if e.field == field and (e.pattern is None or e.pattern.matches(target))
        ]
        best = max((length for length, _ in hits), default=0)
        return tuple(e for length, e in hits if length == best)


_EMPTY = Selection()
_MISS = Selection(agents=("",))  # memo sentinel, never returned


@dataclass(frozen=True)
class RobotsTxt:
    """A parsed robots.txt.

    Attributes:
        groups: the groups, in file order.
        global_extensions: ``License`` lines before the first ``User-agent`` line or after the
            last group's last rule (RSL's global licences, standards.md §6.2; the trailing ones
            also stay in their group).
        named_agents: every token named by a group (truncated, lower-case), ``*`` excluded.
        truncated: the body was cut at :data:`MAX_ROBOTS_BYTES`.
        errors: problems met (``robots.truncated``, ``robots.invalid_utf8``...).
    """

    groups: tuple[Group, ...] = ()
    global_extensions: tuple[ExtLine, ...] = ()
    named_agents: frozenset[str] = frozenset()
    truncated: bool = False
    errors: tuple[str, ...] = ()
    _index: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)
    _memo: dict[tuple[bool, str], Selection | None] = field(init=False, repr=False, compare=False)
    _named: dict[frozenset[str], tuple[tuple[str, Selection], ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = {}
        for i, group in enumerate(self.groups):
            for agent in dict.fromkeys(a for a in group.agents if a):
                index.setdefault(agent, []).append(i)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_memo", {})
        object.__setattr__(self, "_named", {})

    def _merge(self, agent: str) -> Selection:
        picked = [self.groups[i] for i in self._index[agent]]
        return Selection(
            agents=(agent,),
            rules=tuple(r for g in picked for r in g.rules),
            extensions=tuple(e for g in picked for e in g.extensions),
        )

    def _lookup(self, explicit: bool, token: str) -> Selection | None:
        key = (explicit, token)
        memo = self._memo
        result = memo.get(key, _MISS)  # one lookup: safe if another thread clears the memo
        if result is not _MISS:
            return result
        agent = agent_token(token)
        if agent in self._index and (explicit or agent != "*"):
            result = self._merge(agent)
        elif explicit:
            result = None
        else:
            result = self._merge("*") if "*" in self._index else _EMPTY
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = result
        return result

    def select(self, token: str) -> Selection:
        """Return all groups naming *token* merged, else the ``*`` groups merged, else nothing.

        RFC 9309 §2.2.1, both sides truncated Google-style (:func:`agent_token`).
        """
        result = self._lookup(False, token)
        return _EMPTY if result is None else result

    def explicit(self, token: str) -> Selection | None:
        """Return the groups that name *token* explicitly (no ``*`` fallback), or None."""
        return self._lookup(True, token)

    def named(self, tokens: frozenset[str]) -> tuple[tuple[str, Selection], ...]:
        """Return ``(token, groups)`` for each of *tokens* the file names, sorted by token.

        *tokens* are :func:`agent_token` values (a policy's AI-training crawlers). Memoised per
        token set: a crawl asks with the same set for every URL of the origin.
        """
        named = self._named.get(tokens)
        if named is None:
            named = tuple(
                (token, self._merge(token)) for token in sorted(self.named_agents & tokens)
            )
            if len(self._named) >= _MEMO_MAX:
                self._named.clear()
            self._named[tokens] = named
        return named
