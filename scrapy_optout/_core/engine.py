"""The two checks: before a request (a generator flow) and after its response (a pure function).

``check_request`` yields a :class:`~.models.Need` for each origin document it wants (the shell
fetches, caches and sends back a :class:`~.documents.Document`) and returns the request-stage
:class:`~.models.Decision`. Origin documents are asked for in this order, stopping at the first
reason to skip, so that nothing more is fetched for a URL already decided: registry, robots.txt
(access, inference, Content-Usage, Content-Signal), the RSL licence documents its ``License:``
lines name, tdmrep.json, ai.txt.
``evaluate_response`` (in ``response.py``, re-exported here) reads headers and the bounded HTML
head. Combination is ``rules.py``'s job.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from . import rules
from .aipref import most_restrictive, parse_content_signal, parse_content_usage
from .aitxt import AiTxt, ai_txt_verdict
from .documents import Document, State
from .licensing import apply_licence, licence_need, licence_urls
from .models import Code, Decision, Doc, Need, Reason, RegistryAnswer, Signal, Verdict
from .patterns import target_of
from .policy import Policy
from .response import check_response, evaluate_response
from .response_signals import looks_like_image, page_images
from .robots import RobotsTxt
from .tdmrep import UNSET, TdmrepFile, match_tdmrep

__all__ = ["Flow", "Origin", "check_request", "check_response", "evaluate_response", "origin_of"]

Flow = Generator[Need, Document, Decision]

# Signals read from robots.txt, in the order their reasons are looked for.
_ROBOTS_SIGNALS = (
    Signal.ROBOTS,
    Signal.AI_AGENTS,
    Signal.CONTENT_USAGE,
    Signal.CONTENT_SIGNAL,
    Signal.RSL,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """An http(s) origin and the documents the pre-request flow may need from it.

    Attributes:
        base: ``scheme://authority`` as the site wrote it (lower-cased), to build document URLs.
        key: ``scheme://host:port``, the cache key (RFC 9309 §2.3: documents apply per authority).
        robots, tdmrep, ai_txt: the needs for its robots.txt, tdmrep.json and ai.txt, built once
            per origin (they are values, asked for again for every URL of the origin).
    """

    base: str
    key: str
    robots: Need
    tdmrep: Need
    ai_txt: Need


def origin_of(url: str) -> Origin | None:
    """The origin of an http(s) URL, or None if it has none."""
    start = url.find("://") + 3
    end = len(url)
    for mark in "/?#":
        found = url.find(mark, start)
        if 0 <= found < end:
            end = found
    # A crawl meets few origins and many URLs: the origin part is split once per origin.
    return _split_origin(url[:end]) if start > 2 else None


@lru_cache(maxsize=4096)
def _split_origin(prefix: str) -> Origin | None:
    try:
        parts = urlsplit(prefix)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    base = f"{scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"
    key = f"{scheme}://{parts.hostname}:{port or _DEFAULT_PORTS[scheme]}"
    return Origin(
        base,
        key,
        Need(Doc.ROBOTS, f"{base}/robots.txt", key),
        Need(Doc.TDMREP, f"{base}/.well-known/tdmrep.json", key),
        Need(Doc.AI_TXT, f"{base}/ai.txt", key),
    )


def check_request(
    url: str, policy: Policy, *, page: Decision | None = None, today: date | None = None
) -> Flow:
    """Decide before sending whether *url* may be fetched and collected (DESIGN §5).

    Args:
        url: the absolute http(s) URL about to be requested.
        policy: the crawl's policy.
        page: the decision of the page this URL was requested from, if known (images).
        today: the current UTC date, for licence validity (the core reads no clock).

    Yields:
        the origin documents it needs; send back the :class:`Document` for each.

    Returns:
        the request-stage decision.
    """
    found = rules.Findings()
    origin = origin_of(url)
    if origin is None:
        found.access = Reason(
            Code.SIGNAL_UNAVAILABLE,
            "robots",
            url,
            "not an absolute http(s) URL: its signals cannot be read",
        )
        return rules.decide(url, "request", policy, found, today)
    target = target_of(url)
    checks = policy.checks

    if policy.registry and Signal.REGISTRY in checks:
        doc = yield Need(Doc.REGISTRY, url, origin.key)
        _registry(doc, policy, found)
        if _decided(found, policy):
            return rules.decide(url, "request", policy, found, today)

    robots_signals = _robots_signals(checks)
    if robots_signals:
        doc = yield origin.robots
        licences = _robots(doc, target, policy, robots_signals, found)
        if _decided(found, policy):
            return rules.decide(url, "request", policy, found, today)
        for licence in licences:  # RSL: before the content is accessed (standards.md §6.2)
            doc = yield licence_need(licence)
            apply_licence(doc, url, policy, found)
        if _decided(found, policy):
            return rules.decide(url, "request", policy, found, today)

    if Signal.TDMREP in checks:
        doc = yield origin.tdmrep
        _tdmrep_file(doc, url, found)
        if _decided(found, policy):
            return rules.decide(url, "request", policy, found, today)

    if Signal.AI_TXT in checks:
        doc = yield origin.ai_txt
        _ai_txt(doc, target, policy, found)

    if page is not None and looks_like_image(url):
        page_images(page, policy, found)
    return rules.decide(url, "request", policy, found, today)


@lru_cache(maxsize=64)
def _robots_signals(checks: frozenset[str]) -> tuple[str, ...]:
    """The robots.txt signals among *checks*, in :data:`_ROBOTS_SIGNALS` order (once per policy)."""
    return tuple(s for s in _ROBOTS_SIGNALS if s in checks)


def _decided(found: rules.Findings, policy: Policy) -> bool:
    """Whether the URL is already skipped, so that nothing more need be fetched for it.

    An unavailable source decides only under ``on_unavailable="skip"``; under "allow" the
    remaining signals must still be read (DESIGN §5 rule 7).
    """
    return bool(
        found.access
        or found.reservations
        or (found.unavailable and policy.on_unavailable == "skip")
    )


def _unavailable(doc: Document, signal: str, found: rules.Findings) -> None:
    found.unavailable.append(
        Reason(
            Code.SIGNAL_UNAVAILABLE,
            signal,
            doc.url,
            f"{doc.doc} unavailable: {doc.detail}",
        )
    )


def _registry(doc: Document, policy: Policy, found: rules.Findings) -> None:
    if doc.state is not State.OK or not isinstance(doc.parsed, RegistryAnswer):
        _unavailable(doc, Signal.REGISTRY, found)
        return
    found.keep(doc.evidence)
    for entry in doc.parsed.entries:
        found.lead(entry.policy)
        if not rules.registry_covers(entry.purposes, policy.purpose):
            continue
        what = f"{entry.scope} {entry.value}"
        if entry.permits:
            found.permissions.append(f"registry: {what} permits {policy.purpose}")
            continue
        purposes = ";".join(sorted(entry.purposes)) or "all purposes"
        found.reservations.append(
            Reason(
                Code.REGISTRY,
                Signal.REGISTRY,
                doc.url,
                f"{what} reserved for {purposes}" + (f" by {entry.source}" if entry.source else ""),
                entry.policy,
                doc.evidence.digest if doc.evidence else None,
            )
        )


def _robots(
    doc: Document, target: str, policy: Policy, signals: tuple[str, ...], found: rules.Findings
) -> list[str]:
    """Read robots.txt into *found*; return the RSL licence URLs to check (when ``rsl`` runs)."""
    if doc.state is State.UNAVAILABLE:
        if Signal.ROBOTS in signals:  # RFC 9309 §2.3.1.4, whatever on_unavailable says
            found.access = Reason(
                Code.ROBOTS_UNREACHABLE,
                Signal.ROBOTS,
                doc.url,
                f"robots.txt unreachable ({doc.detail}): complete disallow",
            )
        else:
            _unavailable(doc, signals[0], found)
        return []
    if doc.state is not State.OK or not isinstance(doc.parsed, RobotsTxt):
        return []  # absent (4xx, too many redirects): no restrictions, RFC 9309 §2.3.1.3
    robots = doc.parsed
    found.keep(doc.evidence)
    found.errors.extend(robots.errors)
    if doc.detail:  # a kept copy served while robots.txt is unreachable (RFC 9309 §2.4)
        found.errors.append(doc.detail)
    digest = doc.evidence.digest if doc.evidence else None
    selection = robots.select(policy.token)
    if Signal.ROBOTS in signals:
        rule = selection.match(target)
        if rule is not None and not rule.allow and target != "/robots.txt":
            found.access = Reason(
                Code.ROBOTS_DISALLOW,
                Signal.ROBOTS,
                doc.url,
                f"{rule.raw} (line {rule.line})",
                None,
                digest,
            )
            return []
    if Signal.AI_AGENTS in signals:
        _infer(robots, target, policy, doc.url, digest, found)
    if Signal.CONTENT_USAGE in signals and (
        lines := selection.extension_lines("content-usage", target)
    ):
        label = rules.CONTENT_USAGE_LABEL[policy.purpose]
        verdict = most_restrictive(parse_content_usage(line.value).get(label) for line in lines)
        _statement(verdict, Code.CONTENT_USAGE, Signal.CONTENT_USAGE, doc.url, lines, digest, found)
    if Signal.CONTENT_SIGNAL in signals and (
        lines := selection.extension_lines("content-signal", target)
    ):
        key = rules.CONTENT_SIGNAL_KEY[policy.purpose]
        verdict = most_restrictive(parse_content_signal(line.value).get(key) for line in lines)
        _statement(
            verdict, Code.CONTENT_SIGNAL, Signal.CONTENT_SIGNAL, doc.url, lines, digest, found
        )
    if not (selection.extensions or robots.global_extensions):
        return []
    # RSL 1.0 (standards.md §6.2): the selected group's License lines replace the global ones.
    scoped = tuple(line.value for line in selection.extensions if line.field == "license")
    values = scoped or tuple(
        line.value for line in robots.global_extensions if line.field == "license"
    )
    if Signal.RSL not in signals:
        for value in values:
            found.lead(value)  # not applied, still a licensing lead
        return []
    urls, errors = licence_urls(values, doc.url)
    found.errors.extend(errors)
    return urls


def _infer(
    robots: RobotsTxt,
    target: str,
    policy: Policy,
    source: str,
    digest: str | None,
    found: rules.Findings,
) -> None:
    """Rule 3: groups naming a known AI-training token explicitly (DESIGN §5.1)."""
    named = robots.named(policy.ai_tokens)
    if not named:  # the common case: the file names no AI-training crawler
        return
    blocked: list[str] = []
    first = None
    for token, selection in named:
        rule = selection.match(target)
        if rule is not None and not rule.allow:
            blocked.append(token)
            first = first or rule
    if first is not None:
        spelled = policy.ai_names
        names = ", ".join(spelled.get(token, token) for token in blocked[:5]) + (
            f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""
        )
        found.reservations.append(
            Reason(
                Code.ROBOTS_AI_AGENTS,
                Signal.AI_AGENTS,
                source,
                f"disallowed for AI-training crawlers {names}: {first.raw} (line {first.line})",
                None,
                digest,
            )
        )


def _statement(
    verdict: Verdict,
    code: str,
    signal: str,
    source: str,
    lines: Any,
    digest: str | None,
    found: rules.Findings,
) -> None:
    detail = "; ".join(f"{line.raw} (line {line.line})" for line in lines)
    if verdict is Verdict.RESERVED:
        found.reservations.append(Reason(code, signal, source, detail, None, digest))
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"{code}: {detail}")


def _tdmrep_file(doc: Document, url: str, found: rules.Findings) -> None:
    if doc.state is State.UNAVAILABLE:
        _unavailable(doc, Signal.TDMREP, found)
        return
    if doc.state is not State.OK or not isinstance(doc.parsed, TdmrepFile):
        return  # TDMRep §3.2: no file, protocol not implemented
    found.keep(doc.evidence)
    found.errors.extend(doc.parsed.errors)
    value = match_tdmrep(doc.parsed, url)
    found.errors.extend(value.errors)
    if value is UNSET and doc.parsed.truncated:
        # DESIGN §5.2: a dropped rule may match (first match wins): undecided, so unavailable.
        _unavailable(replace(doc, detail="no kept rule matches, rules past the cap unread"),
                     Signal.TDMREP, found)  # fmt: skip
        return
    if value.reservation == 1:
        found.lead(value.policy)
        found.reservations.append(
            Reason(
                Code.TDMREP_FILE,
                Signal.TDMREP,
                doc.url,
                value.detail,
                value.policy,
                doc.evidence.digest if doc.evidence else None,
            )
        )
    elif value.reservation == 0:
        found.permissions.append(f"tdmrep_file: {value.detail}")


def _ai_txt(doc: Document, target: str, policy: Policy, found: rules.Findings) -> None:
    if doc.state is State.UNAVAILABLE:
        _unavailable(doc, Signal.AI_TXT, found)
        return
    if doc.state is not State.OK or not isinstance(doc.parsed, AiTxt):
        return
    found.keep(doc.evidence)
    found.errors.extend(doc.parsed.errors)
    verdict, rule = ai_txt_verdict(doc.parsed, policy.token, target)
    detail = f"{rule.raw} (line {rule.line})" if rule is not None else ""
    if verdict is Verdict.RESERVED:
        found.reservations.append(
            Reason(
                Code.AI_TXT,
                Signal.AI_TXT,
                doc.url,
                detail,
                None,
                doc.evidence.digest if doc.evidence else None,
            )
        )
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"ai_txt: {detail}")
