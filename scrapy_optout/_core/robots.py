"""robots.txt (RFC 9309): groups, access rules and Content-Usage/Content-Signal/License lines.

Parsing follows RFC 9309 §2 with Google's reference parser where the RFC leaves room (standards.md
§2.2-2.5): directive names are case-insensitive and matched as prefixes with Google's typo list,
a missing colon may be replaced by whitespace, ``User-agent`` values are truncated to their leading
``[A-Za-z_-]`` run, the UTF-8 BOM is skipped and only the first 500 KiB are read. Path matching is
:mod:`patterns` (longest pattern wins, allow on a tie). Extension lines keep their optional leading
path (draft-ietf-aipref-attach-05 §robots.txt, standards.md §4.3); their values are interpreted
elsewhere (``aipref.py``, ``rsl``). Nothing here raises on remote input: problems go to ``errors``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scrapy_optout._core.patterns import Pattern

MAX_ROBOTS_BYTES = 512_000  # RFC 9309 §2.5 (>= 500 KiB); standards.md §2.5 [I]: exactly 500 KiB
MAX_RULES = 50_000  # lines kept per file, bounds memory (the largest corpus file has 19,126)

_MEMO_MAX = 1024  # distinct tokens memoised per file before the memo is reset
_WS = " \t\v\f"
_TOKEN = re.compile(r"[A-Za-z_-]*")
_WS_SPLIT = re.compile(r"[ \t]+")
_STAR_SLASH = re.compile(r"\*[ \t]*/+")
# Google robots.cc KeyIsUserAgent / KeyIsDisallow (kAllowFrequentTypos = true): prefix matches.
_UA_KEYS = ("user-agent", "useragent", "user agent")
_DISALLOW_KEYS = ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw")
_PATH_FIELDS = frozenset({"content-usage", "content-signal"})
_KINDS = {"user-agent": "ua", "allow": "allow", "disallow": "disallow", "sitemap": ""}
_KINDS.update((f, f) for f in (*_PATH_FIELDS, "license"))  # "": a known record we do not use


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

    ``line`` is its 1-based line number, ``raw`` the line as written, stripped (``Reason.detail``).
    """

    allow: bool
    pattern: Pattern
    line: int
    raw: str


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

    def __post_init__(self) -> None:
        index: dict[str, list[int]] = {}
        for i, group in enumerate(self.groups):
            for agent in dict.fromkeys(a for a in group.agents if a):
                index.setdefault(agent, []).append(i)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_memo", {})

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


def _decode(body: bytes, errors: dict[str, list[int]]) -> tuple[str, bool]:
    """Return the text to parse and whether the body was cut (RFC 9309 §2.5, standards.md §2.5)."""
    truncated = len(body) > MAX_ROBOTS_BYTES
    if truncated:
        head = body[:MAX_ROBOTS_BYTES]
        body = head[: max(head.rfind(b"\n"), head.rfind(b"\r")) + 1]  # last complete line
        _error(errors, "robots.truncated")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        # RFC 9309 §2.3 lets crawlers bridge non-UTF-8 files; UTF-16 with a BOM is unambiguous.
        text = body.decode("utf-16", "replace")
        _error(errors, "robots.utf16")
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("utf-8", "replace")  # standards.md §2.5 [I]: replace, don't discard
            _error(errors, "robots.invalid_utf8")
    if "\0" in text:
        text = text.replace("\0", "")
        _error(errors, "robots.nul_bytes")
    return text, truncated


def _error(errors: dict[str, list[int]], code: str, line: int = 0) -> None:
    errors.setdefault(code, [0, line])[0] += 1  # one entry per code: bounded on hostile input


def _errors(errors: dict[str, list[int]]) -> tuple[str, ...]:
    return tuple(
        code if not first else f"{code}: line {first}" if count == 1
        else f"{code}: {count} lines from line {first}"
        for code, (count, first) in errors.items()
    )


def _key_value(line: str) -> tuple[str | None, str] | None:
    """Split a line into its directive kind and value (Google robots.cc GetKeyAndValueFrom)."""
    key, sep, value = line.partition(":")
    if not sep:
        parts = _WS_SPLIT.split(line)  # Google: a forgotten colon, if the line is two words
        if len(parts) != 2:
            return None
        key, value = parts
    key = key.strip(_WS).lower()
    kind = _KINDS.get(key)
    if kind is None:
        if not key:
            return None
        # Google's KeyIs* checks match prefixes, typos included (kAllowFrequentTypos).
        kind = (
            "ua" if key.startswith(_UA_KEYS) else "allow" if key.startswith("allow")
            else "disallow" if key.startswith(_DISALLOW_KEYS) else ""
        )
    return kind or None, value.strip(_WS)


def parse_robots(body: bytes) -> RobotsTxt:
    """Parse a robots.txt body (only its first :data:`MAX_ROBOTS_BYTES`). Never raises."""
    return parse_robots_like(body, lenient_star=False)


def parse_robots_like(body: bytes, *, lenient_star: bool) -> RobotsTxt:
    """Parse a file in robots.txt grammar (robots.txt itself, or ai.txt). Never raises.

    With *lenient_star*, a ``User-agent`` value of ``*`` followed by slashes (``*/``) is read as
    ``*`` (Spawning's ai.txt, standards.md §7.2), recorded as ``robots.star_slash_agent``.
    """
    errors: dict[str, list[int]] = {}
    text, truncated = _decode(body, errors)
    groups: list[tuple[list[str], list[PathRule], list[ExtLine], int]] = []
    global_ext: list[ExtLine] = []
    patterns: dict[str, Pattern] = {}  # one Pattern per distinct value (shared between groups)
    seen: set[tuple[bool, str]] = set()
    in_rules = False  # RFC 9309 §2.2: a user-agent line after a rule starts a new group
    last_structural = kept = 0
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        raw = line.strip(_WS)
        content = raw.partition("#")[0].rstrip(_WS) if "#" in raw else raw
        if not content:
            continue
        pair = _key_value(content)
        if pair is None:
            _error(errors, "robots.invalid_line", number)
            continue
        kind, value = pair
        if kind == "ua":
            agent = agent_token(value)
            if lenient_star and _STAR_SLASH.fullmatch(value):
                agent = "*"
                _error(errors, "robots.star_slash_agent", number)
            elif not agent:
                _error(errors, "robots.invalid_agent", number)
            if in_rules or not groups:
                groups.append(([], [], [], number))
                seen, in_rules = set(), False
            groups[-1][0].append(agent)
            last_structural = number
        elif kind is None:
            pass  # RFC 9309 §2.2.4: other records (Sitemap...) never end or change a group
        elif not groups:
            if kind == "license":  # RSL: a global licence (standards.md §6.2)
                global_ext.append(ExtLine(kind, None, value, number, raw))
            else:  # RFC 9309 §2.2: rules before the first user-agent line are ignored (R18, A11)
                _error(errors, "robots.rule_outside_group", number)
        else:
            if kind != "license":
                in_rules, last_structural = True, number
            allow, is_rule = kind == "allow", kind in ("allow", "disallow")
            if not value or (is_rule and (allow, value) in seen):
                continue  # empty pattern matches nothing (R21); duplicates MAY be dropped (§2.2.2)
            if is_rule:
                seen.add((allow, value))
            kept += 1
            if kept > MAX_RULES:
                _error(errors, "robots.too_many_rules", number)
                continue
            if is_rule:
                if value[0] not in "/*":
                    _error(errors, "robots.unrooted_pattern", number)  # matches no path (§2.2.2)
                pattern = patterns.get(value) or patterns.setdefault(value, Pattern.compile(value))
                groups[-1][1].append(PathRule(allow, pattern, number, raw))
            else:
                groups[-1][2].append(_extension(kind, value, number, raw))
    if groups:  # RSL: License lines after the last group's rules are global (§6.2)
        last = groups[-1][2]
        global_ext += [e for e in last if e.field == "license" and e.line > last_structural]
    return RobotsTxt(
        groups=tuple(Group(tuple(a), tuple(r), tuple(x), n) for a, r, x, n in groups),
        global_extensions=tuple(global_ext),
        named_agents=frozenset(a for g in groups for a in g[0] if a and a != "*"),
        truncated=truncated,
        errors=_errors(errors),
    )


def _extension(kind: str, value: str, number: int, raw: str) -> ExtLine:
    """Build an extension line; attach-05: a value starting with ``/`` opens with a path."""
    if kind in _PATH_FIELDS and value.startswith("/"):
        parts = _WS_SPLIT.split(value, maxsplit=1)
        rest = parts[1].strip(_WS) if len(parts) > 1 else ""
        return ExtLine(kind, Pattern.compile(parts[0]), rest, number, raw)
    return ExtLine(kind, None, value, number, raw)
