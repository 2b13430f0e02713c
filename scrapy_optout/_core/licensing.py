"""RSL licences applied to a URL (standards.md §6.2, §6.4; DESIGN §5 rule 5, §5.1).

Discovery: ``License:`` lines of robots.txt (the selected group's when it has any, else the global
ones: RSL 1.0) at the request stage, and ``Link: <…>; rel="license"; type="application/rsl+xml"``
headers and HTML ``<link rel="license" type="application/rsl+xml">`` tags at the response stage.
A ``rel="license"`` link of another type (a Creative Commons page) is not RSL: it is kept as a
licensing lead only (vector L8).

Application: the licence document is a side document (``Doc.LICENCE``). What it says for the
purpose (``rsl.rsl_outcome``) becomes an ``rsl_licence`` reservation when it prohibits the use or
requires a licence; a document that cannot be obtained, or is not RSL, makes the URL unlicensed
(RSL: "MUST treat the asset as unlicensed"), whatever ``on_unavailable`` says (DESIGN §5.1). Either
way only the operator's licence register lifts it (rule 5). The licence URL is always a lead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .documents import Document, State
from .models import Code, Decision, Doc, Need, Reason, Signal
from .rsl import ALLOW, LICENCE_REQUIRED, RESERVED, RSL_MEDIA_TYPE, RslDocument, rsl_outcome

if TYPE_CHECKING:
    from .policy import Policy
    from .response import ResponseReading
    from .rules import Findings

MAX_LICENCES = 4
"""Licence documents fetched per URL (a hostile robots.txt may list thousands)."""
_QUOTED = r'"(?:[^"\\]|\\.)*"'
"""An RFC 9110 quoted-string, which may hold ``,`` and ``;`` (``title="Terms, in full"``)."""
# A URI-reference holds no "<" or ">" (RFC 3986), and a parameter starts at its ";": both keep
# a hostile value from backtracking, so the scans stay linear.
_LINK = re.compile(rf"<([^<>]*)>((?:\s*;\s*(?:[^;,<\"]|{_QUOTED})*)*)")
_PARAM = re.compile(rf""";\s*([A-Za-z0-9!#$&+.^_`|~-]+)\s*(?:=\s*({_QUOTED}|[^;,\s]*))?""")


def _join(base: str, value: str) -> str:
    """*value* resolved against *base*; as written when it is not a URL (``http://[``).

    Kept, not dropped: a licence URL that cannot be read leaves the content unlicensed, as RSL
    requires (:func:`licence_reason`), where dropping it would lift the licence requirement.
    """
    try:
        return urljoin(base, value)
    except ValueError:
        return value


def _scheme(url: str) -> str:
    """The lower-case scheme of *url*, ``""`` when it is not a URL."""
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""


def licence_need(url: str) -> Need:
    """The side-document need for the licence document at *url* (cached per document URL)."""
    return Need(Doc.LICENCE, url, url)


def licence_urls(values: tuple[str, ...], base: str) -> tuple[list[str], list[str]]:
    """Licence document URLs from ``License:`` values, resolved against *base*; and errors.

    RSL asks for absolute URLs; a relative one is resolved against robots.txt, and one that is
    not http(s) after that is an error (and unlicensed, by :func:`licence_reason`).
    """
    urls: list[str] = []
    errors: list[str] = []
    for value in values:
        url = _join(base, value.strip())
        if url not in urls:
            urls.append(url)
    if len(urls) > MAX_LICENCES:
        errors.append(f"rsl.too_many_licences: checked the first {MAX_LICENCES} of {len(urls)}")
    return urls[:MAX_LICENCES], errors


def _unquote(raw: str) -> str:
    """A parameter value without its quotes and backslash escapes (RFC 9110 §5.6.4)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    return raw


def link_licences(values: tuple[str, ...], base: str) -> tuple[list[str], list[str]]:
    """``Link`` field values -> (RSL licence URLs, other ``rel="license"`` URLs), resolved.

    RFC 8288 §3: ``<URI-Reference>`` then ``;``-parameters; ``rel`` is a space-separated list.
    """
    rsl: list[str] = []
    other: list[str] = []
    for value in values:
        for match in _LINK.finditer(value):
            params: dict[str, str] = {}
            for name, raw in _PARAM.findall(match.group(2)):
                # RFC 8288 §3.3: a rel after the first is ignored; so is any repeated param.
                params.setdefault(name.lower(), _unquote(raw))
            if "license" not in params.get("rel", "").lower().split():
                continue
            url = _join(base, match.group(1).strip())
            media = params.get("type", "").split(";", 1)[0].strip().lower()
            target = rsl if media == RSL_MEDIA_TYPE else other
            if url not in target:
                target.append(url)
    return rsl[:MAX_LICENCES], other


def licence_reason(
    doc: Document, url: str, purpose: str
) -> tuple[Reason | None, str | None, list[str]]:
    """What the licence document *doc* says about *url* for *purpose*.

    Returns ``(reservation or None, permission text or None, errors)``; see the module docstring.
    """
    source = doc.url
    if _scheme(source) not in ("http", "https"):
        detail = f"licence URL {source[:200]} is not http(s): unlicensed, as RSL requires"
        return Reason(Code.RSL_LICENCE, Signal.RSL, source, detail, source), None, []
    if doc.state is not State.OK or not isinstance(doc.parsed, RslDocument):
        why = doc.detail or doc.state.value
        detail = f"licence document not obtained ({why}): unlicensed, as RSL requires"
        return Reason(Code.RSL_LICENCE, Signal.RSL, source, detail, source), None, []
    parsed = doc.parsed
    outcome = rsl_outcome(parsed, url, purpose)
    errors = [*parsed.errors, *outcome.errors]
    digest = doc.evidence.digest if doc.evidence else None
    if outcome.verdict in (RESERVED, LICENCE_REQUIRED):
        reason = Reason(Code.RSL_LICENCE, Signal.RSL, source, outcome.detail, source, digest)
        return reason, None, errors
    if outcome.verdict == ALLOW:
        return None, f"rsl_licence: {outcome.detail}", errors
    return None, None, errors


def apply_licence(doc: Document, url: str, policy: Policy, found: Findings) -> None:
    """Record in *found* what the licence document *doc* says about *url*."""
    found.lead(doc.url)
    reservation, permission, errors = licence_reason(doc, url, policy.purpose)
    found.errors.extend(errors)
    if reservation is not None:
        found.keep(doc.evidence)
        found.reservations.append(reservation)
    elif permission is not None:
        found.keep(doc.evidence)
        found.permissions.append(permission)


def licence_links(
    values: tuple[str, ...], head_links: tuple[tuple[str, str, str], ...], base: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The RSL licence URLs a response names, and its other ``rel="license"`` URLs (leads).

    *values* are its ``Link`` field values; *head_links* its HTML ``<link>`` tags as
    ``(rel, href, type)`` (``html.scan_head``), whose ``rel`` is a space-separated list too.
    """
    rsl, other = link_licences(values, base)
    for rel, href, media in head_links:
        if "license" not in rel.split() or not href.strip():
            continue
        url = _join(base, href.strip())
        target = rsl if media.split(";", 1)[0].strip() == RSL_MEDIA_TYPE else other
        if url not in target:
            target.append(url)
    return tuple(rsl[:MAX_LICENCES]), tuple(other)


def response_licences(
    licences: tuple[str, ...], policy: Policy, pre: Decision | None
) -> list[str]:
    """The RSL licences a response names that the request stage has not applied already."""
    if not licences or Signal.RSL not in policy.checks:
        return []
    applied = pre.licensing if pre is not None else ()
    return [link for link in licences if link not in applied]


def apply_response_licences(
    reading: ResponseReading,
    policy: Policy,
    pre: Decision | None,
    documents: Mapping[str, Document] | None,
    found: Findings,
) -> None:
    """Apply the RSL licences a response names; record its other licence links as leads.

    A licence whose document is not in *documents* was not fetched (``evaluate_response`` for
    your own fetcher fetches nothing): the URL is unlicensed, as RSL requires.
    """
    for lead in reading.leads:
        found.lead(lead)
    if Signal.RSL not in policy.checks:
        for lead in reading.licences:
            found.lead(lead)
        return
    for link in response_licences(reading.licences, policy, pre):
        doc = (documents or {}).get(link) or Document(
            Doc.LICENCE, link, State.UNAVAILABLE, detail="not fetched by evaluate_response"
        )
        apply_licence(doc, reading.url, policy, found)
