"""The response-stage check: headers, HTML head, metadata inside files, RSL licences (DESIGN §5).

A response is read once (:func:`read_response`): ``tdm-reservation``/``tdm-policy`` (TDMRep §1.4),
``X-Robots-Tag`` (standards.md §3.3), ``Content-Usage`` (aipref attach-05), ``Content-Signal`` and
``Link`` headers; the ``<meta>`` and ``<link>`` tags of the HTML head (TDMRep §1.5, meta robots,
RSL §6.2); an image's, PDF's or EPUB's own metadata (``embedded.py``). :func:`check_response`
then asks its driver for the RSL licence documents named (a flow, like the request stage), and
:func:`evaluate_response`, for callers that fetch nothing, decides without them. Both hand the
findings to ``rules.decide``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from . import rules
from .documents import Document
from .embedded import EMBEDDED_SIGNALS, C2paReader, EmbeddedFindings, embedded_kind, read_embedded
from .headers import SignalHeaders, read_signal_headers
from .html import EMPTY_SCAN, HeadScan, scan_head
from .licensing import apply_response_licences, licence_links, licence_need, response_licences
from .models import Code, Decision, Need, Signal
from .policy import Policy
from .response_signals import is_image, noai_reasons, page_images, tdm_response, usage_headers
from .robots_tags import NONE as NO_DIRECTIVES
from .robots_tags import parse_meta_robots, parse_x_robots_tag

# What a head signal's tag holds, in some case: "noai"/"noimageai" in a meta's content, a meta name
# starting "tdm-" (TDMRep §1.5), or an RSL link's type; heads holding none are not tokenized.
_HEAD_SIGNAL_BYTES = (b"noai", b"noimageai", b"tdm-", b"rsl+xml")
_HEAD_SIGNALS = frozenset({Signal.TDMREP, Signal.NOAI, Signal.RSL})
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


def _is_html(content_type: str | None, body: bytes) -> bool:
    if content_type:
        return "html" in content_type.lower()
    head = body[:256].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<meta"))


class ResponseReading(NamedTuple):
    """What one response says, read once; :func:`decide_response` turns it into a decision.

    A tuple rather than a frozen dataclass: it is built for every response, and a frozen
    dataclass's ``__init__`` costs 0.7 µs of the 5 µs a headers-only decision may take.

    Attributes:
        url: the response URL.
        headers: its signal header fields.
        content_type: its first ``Content-Type`` value, if any.
        scan: its HTML head's tags (empty for anything but HTML).
        embedded: what a file's own metadata says, when it is an image, PDF or EPUB.
        licences: RSL licence URLs it names (``Link`` header or HTML ``<link>``).
        leads: other ``rel="license"`` URLs it names (licensing leads only).
    """

    url: str
    headers: SignalHeaders
    content_type: str | None
    scan: HeadScan
    embedded: EmbeddedFindings | None
    licences: tuple[str, ...]
    leads: tuple[str, ...]


def read_response(
    url: str,
    headers: Any,
    body: bytes,
    policy: Policy,
    complete: bool = True,
    read_c2pa: C2paReader | None = None,
) -> ResponseReading:
    """Read a response's signals once (arguments as for :func:`evaluate_response`).

    Positional parameters: it runs for every response, and keyword calls cost more.
    """
    signal_headers = read_signal_headers(headers)
    content_type = signal_headers.first("content-type")
    checks = policy.checks
    scan = EMPTY_SCAN
    if body and not checks.isdisjoint(_HEAD_SIGNALS) and _is_html(content_type, body):
        scan = scan_head(
            body,
            limit=policy.head_scan_bytes,
            encoding=_charset(content_type),
            needles=_HEAD_SIGNAL_BYTES,
        )
    embedded: EmbeddedFindings | None = None
    if body and not checks.isdisjoint(EMBEDDED_SIGNALS):
        kind = embedded_kind(content_type, url)
        if kind:
            embedded = read_embedded(
                kind, url, body, policy.purpose, checks, complete=complete, read_c2pa=read_c2pa
            )
    links = signal_headers.fields.get("link", ())
    rsl: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()
    if links or scan.links:
        rsl, leads = licence_links(links, scan.links, url)
    return ResponseReading(url, signal_headers, content_type, scan, embedded, rsl, leads)


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
) -> Decision:
    """Decide on a response from its headers, HTML head and embedded metadata (DESIGN §3, §5).

    Nothing is fetched: an RSL licence the response names by ``Link`` header or HTML ``<link>``
    leaves it unlicensed here (use :func:`check_response` to have the licences fetched).

    Args:
        url: the response URL (after redirects).
        status: the HTTP status (signals in headers count whatever the status).
        headers: any header container (see ``headers.py``).
        body: the body, or its first bytes; only the head window and a file's metadata are read.
        policy: the crawl's policy.
        pre: the request-stage decision, whose findings the final decision includes.
        page: the decision of the page this resource was requested from (images).
        today: the current UTC date, for licence validity.
        complete: whether *body* is the whole body (a shell may pass only the prefix that holds
            a file's metadata).
        read_c2pa: reads a C2PA manifest store (the shells pass ``c2pa-python``'s); without it,
            a file carrying a manifest has its C2PA signal unavailable.

    Returns:
        the final, response-stage decision.
    """
    if pre is not None and not pre.allowed:
        return pre
    reading = read_response(url, headers, body, policy, complete, read_c2pa)
    return decide_response(reading, policy, pre, page, today, None)


def check_response(
    url: str,
    status: int,
    headers: Any,
    body: bytes,
    policy: Policy,
    *,
    pre: Decision,
    page: Decision | None = None,
    today: date | None = None,
    complete: bool = True,
    read_c2pa: C2paReader | None = None,
) -> Generator[Need, Document, Decision]:
    """The response stage as a flow: :func:`evaluate_response` with the RSL licences fetched.

    It yields a need for each licence document the response names and is not yet applied, and
    returns the decision (arguments as for :func:`evaluate_response`).
    """
    if not pre.allowed:
        return pre
    reading = read_response(url, headers, body, policy, complete, read_c2pa)
    documents: dict[str, Document] = {}
    for link in response_licences(reading.licences, policy, pre):
        documents[link] = yield licence_need(link)
    return decide_response(reading, policy, pre, page, today, documents)


def decide_response(
    reading: ResponseReading,
    policy: Policy,
    pre: Decision | None,
    page: Decision | None,
    today: date | None,
    licences: Mapping[str, Document] | None,
) -> Decision:
    """The response-stage decision from a :class:`ResponseReading` (see the module docstring).

    *licences*: the licence documents fetched for ``reading.licences`` (None: none were).
    """
    url = reading.url
    signal_headers, scan, embedded = reading.headers, reading.scan, reading.embedded
    fields = signal_headers.fields
    metas = scan.metas
    if (
        pre is not None
        and page is None
        and not embedded
        and not metas
        and not scan.links
        and not scan.errors
        and not signal_headers.errors
        and _QUIET_FIELDS.issuperset(fields)
    ):
        # The common case: the response says nothing; the request stage's decision stands.
        decision = rules.restaged(url, pre, policy)
        if decision is not None:
            return decision
    content_type = reading.content_type
    checks = policy.checks
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
        tdm_response(
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
                noai_reasons(Code.NOAI_HEADER, directives, url, content_type, found)
        if noai_metas:
            noai_reasons(
                Code.NOAI_META,
                parse_meta_robots(noai_metas, policy.token),
                url,
                content_type,
                found,
            )
    if "content-usage" in fields or "content-signal" in fields:
        usage_headers(
            url, fields.get("content-usage", ()), fields.get("content-signal", ()), policy, found
        )
    if reading.licences or reading.leads:
        apply_response_licences(reading, policy, pre, licences, found)
    if page is not None and is_image(content_type, url):
        page_images(page, policy, found)
    return rules.decide(url, "response", policy, found, today)

