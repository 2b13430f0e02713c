"""The two checks: before a request (a generator flow) and after its response (a pure function).

``check_request`` yields a :class:`~.models.Need` for each origin document it wants (the shell
fetches, caches and sends back a :class:`~.documents.Document`) and returns the request-stage
:class:`~.models.Decision`. Origin documents are asked for in this order, stopping at the first
reason to skip, so that nothing more is fetched for a URL already decided: registry, robots.txt
(access, inference, Content-Usage, Content-Signal, License leads), tdmrep.json, ai.txt.
``evaluate_response`` reads headers and the bounded HTML head. Combination is ``rules.py``'s job.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from . import rules
from .aipref import (
    most_restrictive,
    parse_content_signal,
    parse_content_usage,
    parse_content_usage_header,
)
from .aitxt import AiTxt, ai_txt_verdict
from .documents import Document, State
from .headers import read_signal_headers
from .html import EMPTY_SCAN, scan_head
from .models import Code, Decision, Doc, Need, Reason, RegistryAnswer, Signal, Verdict
from .patterns import target_of
from .policy import Policy
from .robots import RobotsTxt
from .robots_tags import parse_meta_robots, parse_x_robots_tag
from .tdmrep import TdmrepFile, match_tdmrep, tdm_from_headers, tdm_from_meta

Flow = Generator[Need, Document, Decision]

IMAGE_EXTENSIONS = frozenset("avif bmp gif heic heif ico jpeg jpg png svg tif tiff webp".split())
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str] | None:
    """``(base, key)`` of an http(s) URL: ``base`` builds document URLs as the site wrote its
    authority; ``key`` is ``scheme://host:port`` (RFC 9309 §2.3: documents apply per authority).
    None when *url* is not an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    hostport = parts.netloc.rsplit("@", 1)[-1].lower()
    key = f"{scheme}://{parts.hostname}:{port or _DEFAULT_PORTS[scheme]}"
    return f"{scheme}://{hostport}", key


def looks_like_image(url: str) -> bool:
    """Whether the URL's path ends in a common image file extension."""
    path = urlsplit(url).path if "://" in url else url
    dot = path.rfind(".")
    return dot >= 0 and path[dot + 1 :].lower() in IMAGE_EXTENSIONS


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
            Code.SIGNAL_UNAVAILABLE.value,
            "robots",
            url,
            "not an absolute http(s) URL: its signals cannot be read",
        )
        return rules.decide(url, "request", policy, found, today)
    base, key = origin
    target = target_of(url)
    purpose = policy.purpose

    if policy.registry and policy.uses(Signal.REGISTRY):
        doc = yield Need(Doc.REGISTRY, url, key)
        _registry(doc, policy, found)
        if found.reservations or found.unavailable:
            return rules.decide(url, "request", policy, found, today)

    robots_signals = [
        s
        for s in (
            Signal.ROBOTS,
            Signal.AI_AGENTS,
            Signal.CONTENT_USAGE,
            Signal.CONTENT_SIGNAL,
            Signal.RSL,
        )
        if policy.uses(s) and rules.bears_on(s, purpose)
    ]
    if robots_signals:
        doc = yield Need(Doc.ROBOTS, f"{base}/robots.txt", key)
        _robots(doc, target, policy, robots_signals, found)
        if found.access or found.reservations or found.unavailable:
            return rules.decide(url, "request", policy, found, today)

    if policy.uses(Signal.TDMREP) and rules.bears_on(Signal.TDMREP, purpose):
        doc = yield Need(Doc.TDMREP, f"{base}/.well-known/tdmrep.json", key)
        _tdmrep_file(doc, url, found)
        if found.reservations or found.unavailable:
            return rules.decide(url, "request", policy, found, today)

    if policy.uses(Signal.AI_TXT) and rules.bears_on(Signal.AI_TXT, purpose):
        doc = yield Need(Doc.AI_TXT, f"{base}/ai.txt", key)
        _ai_txt(doc, target, policy, found)

    if page is not None and looks_like_image(url):
        _page_images(page, policy, found)
    return rules.decide(url, "request", policy, found, today)


def _unavailable(doc: Document, signal: str, found: rules.Findings) -> None:
    found.unavailable.append(
        Reason(
            Code.SIGNAL_UNAVAILABLE.value,
            signal,
            doc.url,
            f"{doc.doc.value} unavailable: {doc.detail}",
        )
    )


def _registry(doc: Document, policy: Policy, found: rules.Findings) -> None:
    if doc.state is not State.OK or not isinstance(doc.parsed, RegistryAnswer):
        _unavailable(doc, Signal.REGISTRY.value, found)
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
                Code.REGISTRY.value,
                Signal.REGISTRY.value,
                doc.url,
                f"{what} reserved for {purposes}" + (f" by {entry.source}" if entry.source else ""),
                entry.policy,
                doc.evidence.digest if doc.evidence else None,
            )
        )


def _robots(
    doc: Document, target: str, policy: Policy, signals: list[Signal], found: rules.Findings
) -> None:
    if doc.state is State.UNAVAILABLE:
        if Signal.ROBOTS in signals:  # RFC 9309 §2.3.1.4, whatever on_unavailable says
            found.access = Reason(
                Code.ROBOTS_UNREACHABLE.value,
                Signal.ROBOTS.value,
                doc.url,
                f"robots.txt unreachable ({doc.detail}): complete disallow",
            )
        else:
            _unavailable(doc, signals[0].value, found)
        return
    if doc.state is not State.OK or not isinstance(doc.parsed, RobotsTxt):
        return  # absent (4xx, too many redirects): no restrictions, RFC 9309 §2.3.1.3
    robots = doc.parsed
    found.keep(doc.evidence)
    found.errors.extend(robots.errors)
    digest = doc.evidence.digest if doc.evidence else None
    selection = robots.select(policy.token)
    if Signal.ROBOTS in signals:
        rule = selection.match(target)
        if rule is not None and not rule.allow and target != "/robots.txt":
            found.access = Reason(
                Code.ROBOTS_DISALLOW.value,
                Signal.ROBOTS.value,
                doc.url,
                f"{rule.raw} (line {rule.line})",
                None,
                digest,
            )
            return
    if Signal.AI_AGENTS in signals and policy.infer_from_ai_agents:
        _infer(robots, target, policy, doc.url, digest, found)
    if Signal.CONTENT_USAGE in signals:
        label = rules.CONTENT_USAGE_LABEL[policy.purpose]
        lines = selection.extension_lines("content-usage", target)
        verdict = most_restrictive(parse_content_usage(line.value).get(label) for line in lines)
        _statement(verdict, Code.CONTENT_USAGE, Signal.CONTENT_USAGE, doc.url, lines, digest, found)
    if Signal.CONTENT_SIGNAL in signals:
        key = rules.CONTENT_SIGNAL_KEY[policy.purpose]
        lines = selection.extension_lines("content-signal", target)
        verdict = most_restrictive(parse_content_signal(line.value).get(key) for line in lines)
        _statement(
            verdict, Code.CONTENT_SIGNAL, Signal.CONTENT_SIGNAL, doc.url, lines, digest, found
        )
    for line in (*selection.extensions, *robots.global_extensions):
        if line.field == "license":  # RSL (standards.md §6.2): always a licensing lead
            found.lead(line.value)


def _infer(
    robots: RobotsTxt,
    target: str,
    policy: Policy,
    source: str,
    digest: str | None,
    found: rules.Findings,
) -> None:
    """Rule 3: groups naming a known AI-training token explicitly (DESIGN §5.1)."""
    blocked: list[str] = []
    first = None
    for token in sorted(robots.named_agents & policy.ai_tokens):
        selection = robots.explicit(token)
        rule = selection.match(target) if selection is not None else None
        if rule is not None and not rule.allow:
            blocked.append(token)
            first = first or rule
    if first is not None:
        names = ", ".join(blocked[:5]) + (
            f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""
        )
        found.reservations.append(
            Reason(
                Code.ROBOTS_AI_AGENTS.value,
                Signal.AI_AGENTS.value,
                source,
                f"disallowed for AI-training crawlers {names}: {first.raw} (line {first.line})",
                None,
                digest,
            )
        )


def _statement(
    verdict: Verdict,
    code: Code,
    signal: Signal,
    source: str,
    lines: Any,
    digest: str | None,
    found: rules.Findings,
) -> None:
    detail = "; ".join(f"{line.raw} (line {line.line})" for line in lines)
    if verdict is Verdict.RESERVED:
        found.reservations.append(Reason(code.value, signal.value, source, detail, None, digest))
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"{code.value}: {detail}")


def _tdmrep_file(doc: Document, url: str, found: rules.Findings) -> None:
    if doc.state is State.UNAVAILABLE:
        _unavailable(doc, Signal.TDMREP.value, found)
        return
    if doc.state is not State.OK or not isinstance(doc.parsed, TdmrepFile):
        return  # TDMRep §3.2: no file, protocol not implemented
    found.keep(doc.evidence)
    found.errors.extend(doc.parsed.errors)
    value = match_tdmrep(doc.parsed, url)
    found.errors.extend(value.errors)
    if value.reservation == 1:
        found.lead(value.policy)
        found.reservations.append(
            Reason(
                Code.TDMREP_FILE.value,
                Signal.TDMREP.value,
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
        _unavailable(doc, Signal.AI_TXT.value, found)
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
                Code.AI_TXT.value,
                Signal.AI_TXT.value,
                doc.url,
                detail,
                None,
                doc.evidence.digest if doc.evidence else None,
            )
        )
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"ai_txt: {detail}")


def _page_images(page: Decision, policy: Policy, found: rules.Findings) -> None:
    """Rule 4: an image requested from a page that carried noimageai/noai."""
    if not policy.uses(Signal.NOAI) or not rules.bears_on(Signal.NOAI, policy.purpose):
        return
    for reason in page.image_reasons:
        found.reservations.append(
            Reason(
                Code.NOIMAGEAI.value,
                Signal.NOAI.value,
                reason.source,
                f"image of a page that carried {reason.detail}",
            )
        )


def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return "html" in content_type.lower()
    head = body[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta"))


def evaluate_response(
    url: str,
    status: int,
    headers: Any,
    body: bytes,
    policy: Policy,
    *,
    pre: Decision | None = None,
    page: Decision | None = None,
    today: date | None = None,
) -> Decision:
    """Decide on a response from its headers and the bounded HTML head (DESIGN §3, §5).

    Args:
        url: the response URL (after redirects).
        status: the HTTP status (signals in headers count whatever the status).
        headers: any header container (see ``headers.py``).
        body: the body, or its first bytes; only the head window is read.
        policy: the crawl's policy.
        pre: the request-stage decision, whose findings the final decision includes.
        page: the decision of the page this resource was requested from (images).
        today: the current UTC date, for licence validity.

    Returns:
        the final, response-stage decision.
    """
    found = rules.Findings()
    if pre is not None:
        if not pre.allowed:
            return pre
        found.permissions.extend(pre.permissions)
        found.licensing.extend(pre.licensing)
        found.errors.extend(pre.errors)
        found.evidence.extend(pre.evidence)
    signal_headers = read_signal_headers(headers)
    found.errors.extend(signal_headers.errors)
    content_type = signal_headers.first("content-type")
    is_image = content_type.lower().startswith("image/") if content_type else looks_like_image(url)
    use_tdm = policy.uses(Signal.TDMREP) and rules.bears_on(Signal.TDMREP, policy.purpose)
    use_noai = policy.uses(Signal.NOAI)
    scan = EMPTY_SCAN
    if (use_tdm or use_noai) and body and _is_html(content_type, body):
        scan = scan_head(body, limit=policy.head_scan_bytes, encoding=_charset(content_type))
        found.errors.extend(scan.errors)
    if use_tdm:
        _tdm_response(
            url,
            signal_headers.get("tdm-reservation"),
            signal_headers.get("tdm-policy"),
            scan.metas,
            found,
        )
    if use_noai:
        _noai_response(url, signal_headers.get("x-robots-tag"), scan.metas, is_image, policy, found)
    _usage_headers(
        url,
        signal_headers.get("content-usage"),
        signal_headers.get("content-signal"),
        policy,
        found,
    )
    if page is not None and is_image:
        _page_images(page, policy, found)
    return rules.decide(url, "response", policy, found, today)


def _tdm_response(
    url: str,
    reservations: tuple[str, ...],
    policies: tuple[str, ...],
    metas: tuple[tuple[str, str], ...],
    found: rules.Findings,
) -> None:
    layers: list[tuple[str, int | None, str | None, str]] = []
    if reservations or policies:
        header = tdm_from_headers(reservations, policies)
        found.errors.extend(header.errors)
        layers.append((Code.TDMREP_HEADER.value, header.reservation, header.policy, header.detail))
    if metas:
        meta = tdm_from_meta(metas)
        found.errors.extend(meta.errors)
        layers.append((Code.TDMREP_META.value, meta.reservation, meta.policy, meta.detail))
    reservation, tdm_policy, code, detail = rules.tdm_layers(layers)
    if reservation == 1:
        found.lead(tdm_policy)
        found.reservations.append(Reason(code, Signal.TDMREP.value, url, detail, tdm_policy))
    elif reservation == 0:  # TDMRep §1.2: a policy with reservation 0 SHOULD NOT be processed
        found.permissions.append(f"{code}: {detail}")


def _noai_response(
    url: str,
    x_robots: tuple[str, ...],
    metas: tuple[tuple[str, str], ...],
    is_image: bool,
    policy: Policy,
    found: rules.Findings,
) -> None:
    reserve = rules.bears_on(Signal.NOAI, policy.purpose)
    for code, directives in (
        (Code.NOAI_HEADER, parse_x_robots_tag(x_robots, policy.token) if x_robots else None),
        (Code.NOAI_META, parse_meta_robots(metas, policy.token) if metas else None),
    ):
        if directives is None:
            continue
        found.errors.extend(directives.errors)
        where = "X-Robots-Tag" if code is Code.NOAI_HEADER else "meta robots"
        detail = f"{where}: {', '.join(directives.matched)}"
        if directives.noai or directives.noimageai:
            found.image_reasons.append(Reason(code.value, Signal.NOAI.value, url, detail))
        if not reserve:
            continue
        if directives.noai:
            found.reservations.append(Reason(code.value, Signal.NOAI.value, url, detail))
        elif directives.noimageai and is_image:
            found.reservations.append(Reason(Code.NOIMAGEAI.value, Signal.NOAI.value, url, detail))


def _usage_headers(
    url: str,
    usage: tuple[str, ...],
    content_signal: tuple[str, ...],
    policy: Policy,
    found: rules.Findings,
) -> None:
    label = rules.CONTENT_USAGE_LABEL.get(policy.purpose)
    if usage and label and policy.uses(Signal.CONTENT_USAGE):
        prefs = parse_content_usage_header(usage)
        found.errors.extend(prefs.errors)
        detail = "Content-Usage: " + ", ".join(usage)
        _header_statement(
            prefs.get(label), Code.CONTENT_USAGE, Signal.CONTENT_USAGE, url, detail, found
        )
    key = rules.CONTENT_SIGNAL_KEY.get(policy.purpose)
    if content_signal and key and policy.uses(Signal.CONTENT_SIGNAL):
        verdicts = []
        for value in content_signal:
            prefs = parse_content_signal(value)
            found.errors.extend(prefs.errors)
            verdicts.append(prefs.get(key))
        detail = "Content-Signal: " + ", ".join(content_signal)
        _header_statement(
            most_restrictive(verdicts),
            Code.CONTENT_SIGNAL,
            Signal.CONTENT_SIGNAL,
            url,
            detail,
            found,
        )


def _header_statement(
    verdict: Verdict, code: Code, signal: Signal, url: str, detail: str, found: rules.Findings
) -> None:
    if verdict is Verdict.RESERVED:
        found.reservations.append(Reason(code.value, signal.value, url, detail))
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"{code.value}: {detail}")
