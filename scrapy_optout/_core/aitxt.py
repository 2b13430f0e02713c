"""Spawning ``/ai.txt``: a robots.txt-like file of per-media training permissions (standards.md §7).

No normative spec exists; the grammar is that of Spawning's generator (WordPress plugin @ b7da489,
standards.md §7.2), read with the RFC 9309 machinery of :mod:`robots`: group selection, wildcard
matching, longest match, allow on a tie (§7.3). ``Disallow`` reserves the matched media for AI
training, ``Allow`` permits it; neither is an access rule (robots.txt governs access).

Two leniencies, both protective (§7.2 [I]): the current plugin writes ``User-agent: */``, read as
``*`` (``aitxt.malformed_useragent``), and a file with no ``User-agent`` line at all (the aitxt.ing
Markdown style, an HTML error page) is not this format: ``recognized`` is False and every answer
is UNKNOWN (``aitxt.unrecognized_format``, vector S9).
"""

from __future__ import annotations

from dataclasses import dataclass

from scrapy_optout._core.models import Verdict
from scrapy_optout._core.robots import PathRule, RobotsTxt, parse_robots_like


@dataclass(frozen=True, slots=True)
class AiTxt:
    """A parsed ai.txt.

    Attributes:
        robots: the file read as robots.txt (with ``*/`` read as ``*``).
        recognized: False when the file is not the Spawning robots-like grammar.
        errors: every problem met: ``aitxt.unrecognized_format``, ``aitxt.malformed_useragent``,
            then the ``robots.*`` ones of the underlying parse.
    """

    robots: RobotsTxt
    recognized: bool
    errors: tuple[str, ...] = ()


def parse_ai_txt(body: bytes) -> AiTxt:
    """Parse an ``/ai.txt`` body. Never raises."""
    robots = parse_robots_like(body, lenient_star=True)
    errors: list[str] = []
    recognized = bool(robots.groups)
    if not recognized:
        errors.append("aitxt.unrecognized_format")
    malformed = [e for e in robots.errors if e.startswith("robots.star_slash_agent")]
    if malformed:
        errors.append("aitxt.malformed_useragent" + malformed[0][len("robots.star_slash_agent") :])
    errors.extend(e for e in robots.errors if not e.startswith("robots.star_slash_agent"))
    return AiTxt(robots=robots, recognized=recognized, errors=tuple(errors))


def ai_txt_verdict(doc: AiTxt, token: str, target: str) -> tuple[Verdict, PathRule | None]:
    """Return the training verdict of *doc* for *token* on a normalised *target* and its rule.

    ``Disallow`` -> RESERVED, ``Allow`` -> ALLOW, no matching rule or an unrecognised file ->
    UNKNOWN (standards.md §7.3). ``/robots.txt``'s implicit allow does not apply here.
    """
    if not doc.recognized:
        return Verdict.UNKNOWN, None
    rule = doc.robots.select(token).match(target)
    if rule is None:
        return Verdict.UNKNOWN, None
    return (Verdict.ALLOW if rule.allow else Verdict.RESERVED), rule
