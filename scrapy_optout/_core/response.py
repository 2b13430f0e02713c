"""The response-stage check: headers and the bounded HTML head (DESIGN §3, §5).

Reads ``tdm-reservation``/``tdm-policy`` (TDMRep §1.4), ``X-Robots-Tag`` (standards.md §3.3),
``Content-Usage`` (aipref attach-05) and ``Content-Signal`` headers, and the ``<meta>`` tags of the
HTML head (TDMRep §1.5, meta robots), then hands the findings to ``rules.decide``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from . import rules
from .aipref import most_restrictive, parse_content_signal, parse_content_usage_header
from .documents import Document
from .embedded import EMBEDDED_SIGNALS, C2paReader, EmbeddedFindings, embedded_kind, read_embedded
from .headers import read_signal_headers
from .html import EMPTY_SCAN, scan_head
from .licensing import response_licence_reasons
from .models import Code, Decision, Reason, Signal, Verdict
from .policy import Policy
from .robots_tags import NONE as NO_DIRECTIVES
from .robots_tags import AiDirectives, parse_meta_robots, parse_x_robots_tag
from .tdmrep import TdmValue, tdm_from_headers, tdm_from_meta

IMAGE_EXTENSIONS = frozenset(
    [
        "avif",
        "bmp",
        "gif",
        "heic",
        "heif",
        "ico",
        "jpeg",
        "jpg",
        "png",
        "svg",
        "tif",
        "tiff",
        "webp",
    ]
)


def looks_like_image(url: str) -> bool:
    """Whether the URL's path ends in a common image file extension."""
    path = urlsplit(url).path if "://" in url else url
    dot = path.rfind(".")
    return dot >= 0 and path[dot + 1 :].lower() in IMAGE_EXTENSIONS


def page_images(page: Decision, policy: Policy, found: rules.Findings) -> None:
    """Rule 4: an image requested from a page that carried noimageai/noai."""
    if Signal.NOAI not in policy.checks:
        return
    for reason in page.image_reasons:
        found.reservations.append(
            Reason(
                Code.NOIMAGEAI,
                Signal.NOAI,
                reason.source,
                f"image of a page that carried {reason.detail}",
            )
        )


# What a head signal's meta holds, in some case: "noai"/"noimageai" in its content, or a name
# starting "tdm-" (TDMRep §1.5); heads holding none of them are not tokenized (html.scan_head).
_HEAD_SIGNAL_BYTES = (b"noai", b"noimageai", b"tdm-")
_QUIET_FIELDS = frozenset({"content-type", "content-encoding"})
"""Header fields that say how to read a body, and nothing about its use."""


@lru_cache(maxsize=256)  # a crawl meets a handful of distinct Content-Type values
def _charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"') or None
    return None


def _is_image(content_type: str | None, url: str) -> bool:
    """An image by its Content-Type, or by its URL when it has none."""
    return content_type.lower().startswith("image/") if content_type else looks_like_image(url)


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
    complete: bool = True,
    read_c2pa: C2paReader | None = None,
    licences: Mapping[str, Document] | None = None,
) -> Decision:
    """Decide on a response from its headers, HTML head and embedded metadata (DESIGN §3, §5).

    The embedded metadata is that of images, PDFs and EPUBs (``embedded.py``).

    Args:
        url: the response URL (after redirects).
        status: the HTTP status (signals in headers count whatever the status).
        headers: any header container (see ``headers.py``).
        body: the body, or its first bytes; only the head window is read.
        policy: the crawl's policy.
        pre: the request-stage decision, whose findings the final decision includes.
        page: the decision of the page this resource was requested from (images).
        today: the current UTC date, for licence validity.
        complete: whether *body* is the whole body (a shell may pass only the prefix that holds
            a file's metadata).
        read_c2pa: reads a C2PA manifest store (the shells pass ``c2pa-python``'s); without it,
            a file carrying a manifest has its C2PA signal unavailable.
        licences: the RSL licence documents fetched for the response's ``Link`` headers
            (``engine.check_response`` fetches them); one missing leaves the URL unlicensed.

    Returns:
        the final, response-stage decision.
    """
    if pre is not None and not pre.allowed:
        return pre
    signal_headers = read_signal_headers(headers)
    fields = signal_headers.fields
    content_type = signal_headers.first("content-type")
    checks = policy.checks
    scan = EMPTY_SCAN
    if body and (Signal.TDMREP in checks or Signal.NOAI in checks) and _is_html(content_type, body):
        scan = scan_head(
            body,
            limit=policy.head_scan_bytes,
            encoding=_charset(content_type),
            needles=_HEAD_SIGNAL_BYTES,
        )
    metas = scan.metas
    embedded: EmbeddedFindings | None = None
    if body and not checks.isdisjoint(EMBEDDED_SIGNALS):
        kind = embedded_kind(content_type, url)
        if kind:
            embedded = read_embedded(
                kind, url, body, policy.purpose, checks, complete=complete, read_c2pa=read_c2pa
            )
    if (
        pre is not None
        and page is None
        and not embedded
        and not metas
        and not scan.errors
        and not signal_headers.errors
        and _QUIET_FIELDS.issuperset(fields)
    ):
        # The common case: the response says nothing; the request stage's decision stands.
        decision = rules.restaged(url, pre, policy)
        if decision is not None:
            return decision
    found = rules.Findings()
    if pre is not None:
        found.carry(pre)
    found.errors.extend(signal_headers.errors)
    found.errors.extend(scan.errors)
    embedded_tdm = None
    if embedded:
        found.reservations.extend(embedded.reservations)
        found.permissions.extend(embedded.permissions)
        found.unavailable.extend(embedded.unavailable)
        found.errors.extend(embedded.errors)
        embedded_tdm = embedded.tdm
    tdm_metas = noai_metas = metas
    if metas:
        # Cheap tests first: most heads carry no tdm-* meta, and no meta whose content could hold
        # noai/noimageai (both contain "ai"); the scanner has lower-cased the names already.
        if not any(name.startswith("tdm-") for name, _ in metas):
            tdm_metas = ()
        if not any("ai" in content.lower() for _, content in metas):
            noai_metas = ()
    if Signal.TDMREP in checks and (
        tdm_metas or embedded_tdm or "tdm-reservation" in fields or "tdm-policy" in fields
    ):
        _tdm_response(
            url,
            fields.get("tdm-reservation", ()),
            fields.get("tdm-policy", ()),
            tdm_metas,
            embedded_tdm,
            found,
        )
    if Signal.NOAI in checks:
        if "x-robots-tag" in fields:
            directives = parse_x_robots_tag(fields["x-robots-tag"], policy.token)
            if directives is not NO_DIRECTIVES:
                _noai(Code.NOAI_HEADER, directives, url, content_type, found)
        if noai_metas:
            _noai(
                Code.NOAI_META,
                parse_meta_robots(noai_metas, policy.token),
                url,
                content_type,
                found,
            )
    if "content-usage" in fields or "content-signal" in fields:
        _usage_headers(
            url, fields.get("content-usage", ()), fields.get("content-signal", ()), policy, found
        )
    if "link" in fields:
        response_licence_reasons(fields, url, policy, pre, licences, found)
    if page is not None and _is_image(content_type, url):
        page_images(page, policy, found)
    return rules.decide(url, "response", policy, found, today)


def _tdm_response(
    url: str,
    reservations: tuple[str, ...],
    policies: tuple[str, ...],
    metas: tuple[tuple[str, str], ...],
    embedded: tuple[str, TdmValue] | None,
    found: rules.Findings,
) -> None:
    layers: list[tuple[str, int | None, str | None, str]] = []
    if reservations or policies:
        header = tdm_from_headers(reservations, policies)
        found.errors.extend(header.errors)
        layers.append((Code.TDMREP_HEADER, header.reservation, header.policy, header.detail))
    if metas:
        meta = tdm_from_meta(metas)
        found.errors.extend(meta.errors)
        layers.append((Code.TDMREP_META, meta.reservation, meta.policy, meta.detail))
    if embedded is not None:  # TDMRep §1.7 step 4: EPUB and PDF metadata supersede both
        code, value = embedded
        layers.append((code, value.reservation, value.policy, value.detail))
    reservation, tdm_policy, code, detail = rules.tdm_layers(layers)
    if reservation == 1:
        found.lead(tdm_policy)
        found.reservations.append(Reason(code, Signal.TDMREP, url, detail, tdm_policy))
    elif reservation == 0:  # TDMRep §1.2: a policy with reservation 0 SHOULD NOT be processed
        found.permissions.append(f"{code}: {detail}")


def _noai(
    code: str, directives: AiDirectives, url: str, content_type: str | None, found: rules.Findings
) -> None:
    """Record one carrier's noai/noimageai (X-Robots-Tag or meta robots, standards.md §3)."""
    found.errors.extend(directives.errors)
    if not (directives.noai or directives.noimageai):
        return
    where = "X-Robots-Tag" if code == Code.NOAI_HEADER else "meta robots"
    detail = f"{where}: {', '.join(directives.matched)}"
    found.image_reasons.append(Reason(code, Signal.NOAI, url, detail))
    if directives.noai:
        found.reservations.append(Reason(code, Signal.NOAI, url, detail))
    elif _is_image(content_type, url):  # noimageai reserves images only (DESIGN §5 rule 4)
        found.reservations.append(Reason(Code.NOIMAGEAI, Signal.NOAI, url, detail))


def _usage_headers(
    url: str,
    usage: tuple[str, ...],
    content_signal: tuple[str, ...],
    policy: Policy,
    found: rules.Findings,
) -> None:
    label = rules.CONTENT_USAGE_LABEL.get(policy.purpose)
    if usage and label and Signal.CONTENT_USAGE in policy.checks:
        prefs = parse_content_usage_header(usage)
        found.errors.extend(prefs.errors)
        detail = "Content-Usage: " + ", ".join(usage)
        _header_statement(
            prefs.get(label), Code.CONTENT_USAGE, Signal.CONTENT_USAGE, url, detail, found
        )
    key = rules.CONTENT_SIGNAL_KEY.get(policy.purpose)
    if content_signal and key and Signal.CONTENT_SIGNAL in policy.checks:
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
    verdict: Verdict, code: str, signal: str, url: str, detail: str, found: rules.Findings
) -> None:
    if verdict is Verdict.RESERVED:
        found.reservations.append(Reason(code, signal, url, detail))
    elif verdict is Verdict.ALLOW:
        found.permissions.append(f"{code}: {detail}")
