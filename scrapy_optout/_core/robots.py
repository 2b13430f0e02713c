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

from scrapy_optout._core.patterns import Pattern
from scrapy_optout._core.robots_groups import (
    ExtLine,
    Group,
    PathRule,
    RobotsTxt,
    Selection,
    agent_token,
)

__all__ = [
    "MAX_ROBOTS_BYTES",
    "ExtLine",
    "Group",
    "PathRule",
    "RobotsTxt",
    "Selection",
    "agent_token",
    "parse_robots",
    "parse_robots_like",
]

MAX_ROBOTS_BYTES = 512_000  # RFC 9309 §2.5 (>= 500 KiB); standards.md §2.5 [I]: exactly 500 KiB
MAX_RULES = 50_000  # lines kept per file, bounds memory (the largest corpus file has 19,126)

_WS = " \t\v\f"
_WS_SPLIT = re.compile(r"[ \t]+")
_STAR_SLASH = re.compile(r"\*[ \t]*/+")
# Google robots.cc KeyIsUserAgent / KeyIsDisallow (kAllowFrequentTypos = true): prefix matches.
_UA_KEYS = ("user-agent", "useragent", "user agent")
_DISALLOW_KEYS = ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw")
_PATH_FIELDS = frozenset({"content-usage", "content-signal"})
_KINDS = {"user-agent": "ua", "allow": "allow", "disallow": "disallow", "sitemap": ""}
_KINDS.update((f, f) for f in (*_PATH_FIELDS, "license"))  # "": a known record we do not use


def _decode(body: bytes, errors: dict[str, list[int]], cut: bool) -> tuple[str, bool]:
    """Return the text to parse and whether the body was cut (RFC 9309 §2.5, standards.md §2.5).

    *cut*: the fetcher already stopped reading at its cap, so the body's last line may be partial.
    """
    truncated = cut or len(body) > MAX_ROBOTS_BYTES
    bom = 3 if body.startswith(b"\xef\xbb\xbf") else 0
    utf16 = body.startswith((b"\xff\xfe", b"\xfe\xff"), bom)
    if truncated:
        body = body[:MAX_ROBOTS_BYTES]
        if not utf16:  # UTF-16 is cut once decoded: its "\n" is two bytes
            body = body[: max(body.rfind(b"\n"), body.rfind(b"\r")) + 1]  # last complete line
        _error(errors, "robots.truncated")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if utf16:
        # RFC 9309 §2.3 lets crawlers bridge non-UTF-8 files; UTF-16 with a BOM is unambiguous.
        text = body.decode("utf-16", "replace")
        if truncated:
            text = text[: max(text.rfind("\n"), text.rfind("\r")) + 1]  # last complete line
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
        code
        if not first
        else f"{code}: line {first}"
        if count == 1
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
            "ua"
            if key.startswith(_UA_KEYS)
            else "allow"
            if key.startswith("allow")
            else "disallow"
            if key.startswith(_DISALLOW_KEYS)
            else ""
        )
    return kind or None, value.strip(_WS)


def parse_robots(body: bytes, *, cut: bool = False) -> RobotsTxt:
    """Parse a robots.txt body (only its first :data:`MAX_ROBOTS_BYTES`). Never raises.

    *cut* says the fetcher stopped at its cap: the body is a prefix of the file, whose partial
    last line is then dropped (a cut ``Allow: /images/`` must not read as ``Allow: /``).
    """
    return parse_robots_like(body, lenient_star=False, cut=cut)


def parse_robots_like(body: bytes, *, lenient_star: bool, cut: bool = False) -> RobotsTxt:
    """Parse a file in robots.txt grammar (robots.txt itself, or ai.txt). Never raises.

    With *lenient_star*, a ``User-agent`` value of ``*`` followed by slashes (``*/``) is read as
    ``*`` (Spawning's ai.txt, standards.md §7.2), recorded as ``robots.star_slash_agent``.
    *cut* as for :func:`parse_robots`.
    """
    errors: dict[str, list[int]] = {}
    text, truncated = _decode(body, errors, cut)
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
                groups[-1][1].append(PathRule.parsed(allow, pattern, number, raw))
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
