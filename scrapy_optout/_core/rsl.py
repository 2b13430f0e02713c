"""RSL (Really Simple Licensing) 1.0 documents: parsing, and what one says about a URL and purpose.

Spec: RSL-SPEC-1.0, namespace ``https://rslstandard.org/rsl``, as digested in standards.md §6
(document model §6.3, decision rules §6.4, vectors §6.5). Discovery (robots.txt ``License:``,
``Link``, HTML) and fetching live elsewhere. Remote input never raises: a body that is not a
usable RSL document is ``valid=False``, every problem is an ``rsl.*`` string in ``errors``.

XML is read by lxml with entities, DTDs and the network off, so an entity bomb or an external
entity is never expanded or fetched (standards.md §2.6 spirit: bounded work on hostile input).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple
from urllib.parse import urlsplit

from lxml import etree

from .models import Verdict
from .patterns import Pattern, target_of
from .safexml import parse_xml

RSL_NS = "https://rslstandard.org/rsl"
RSL_MEDIA_TYPE = "application/rsl+xml"
DEFAULT_MAX_AGE_DAYS = 30
MAX_BODY_BYTES = 2 * 1024 * 1024
"""Largest body parsed; a larger one is refused (``rsl.too_large``)."""
MAX_CONTENTS = 1_000
"""``<content>`` elements kept per document, in document order."""
MAX_LICENCES = 100
"""``<license>`` elements kept per ``<content>``."""
MAX_ERRORS = 100
"""Problems recorded per document; then one ``rsl.too_many_errors``."""

ALLOW, RESERVED, UNKNOWN = Verdict.ALLOW.value, Verdict.RESERVED.value, Verdict.UNKNOWN.value
LICENCE_REQUIRED = "licence_required"

# standards.md §0.1: the RSL usage tokens (§6.3) that cover each internal purpose.
COVERED: Mapping[str, frozenset[str]] = {
    "train-ai": frozenset({"ai-train", "ai-all", "all"}),
    "ai-input": frozenset({"ai-input", "ai-index", "ai-all", "all"}),
    "search": frozenset({"search", "all"}),
    "tdm": frozenset({"all"}),
}
_USAGE = frozenset({"all", "ai-all", "ai-train", "ai-input", "ai-index", "search"})
_TYPES = frozenset({"usage", "user", "geo"})
_PAYMENTS = frozenset(
    {"purchase", "subscription", "training", "crawl", "use", "contribution", "attribution", "free"}
)
# §6.3: the elements of RSL 1.0; any other name in the namespace makes the document non-conformant.
_ELEMENTS = "rsl content license permits prohibits payment standard custom amount legal schema"
_KNOWN = frozenset(f"{_ELEMENTS} copyright terms alternate accepts reporting".split())
_WS = " \t\r\n"
_FULL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _tag(name: str) -> str:
    return f"{{{RSL_NS}}}{name}"


_ROOT, _CONTENT, _LICENSE, _TERMS = _tag("rsl"), _tag("content"), _tag("license"), _tag("terms")
_PERMITS, _PROHIBITS, _PAYMENT = _tag("permits"), _tag("prohibits"), _tag("payment")
_AMOUNT, _STANDARD, _REPORTING = _tag("amount"), _tag("standard"), _tag("reporting")


def _frozen(terms: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({kind: frozenset(tokens) for kind, tokens in terms.items()})


@dataclass(frozen=True, slots=True)
class RslLicence:
    """One ``<license>`` (§6.3). The defaults describe a free licence without conditions.

    Attributes:
        permits: ``<permits>`` by type (``usage``, ``user``, ``geo``...) -> tokens, lower-cased
            (geo upper-cased); a read-only copy. The two mappings are compared and hashed
            through the private ``_key``, so the licence stays hashable.
        prohibits: ``<prohibits>``, the same way.
        payments: ``<payment type>`` values in document order; ``()`` means free (omitted).
        amounts: ``<amount>`` values with their currency ("0.015 USD"), for the detail text.
        standards: ``<standard>`` URLs found inside payments.
        reporting: ``<reporting type>`` values.
    """

    permits: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    prohibits: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    payments: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    standards: tuple[str, ...] = ()
    reporting: tuple[str, ...] = ()
    _key: tuple[frozenset[tuple[str, frozenset[str]]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        permits, prohibits = _frozen(self.permits), _frozen(self.prohibits)
        object.__setattr__(self, "permits", permits)
        object.__setattr__(self, "prohibits", prohibits)
        object.__setattr__(self, "_key", (frozenset(permits.items()), frozenset(prohibits.items())))


@dataclass(frozen=True, slots=True)
class RslContent:
    """One ``<content>`` (§6.3): an asset pattern and the licences offered for it.

    Attributes:
        url: the ``url`` attribute as written: a full URL, or an RFC 9309 path pattern.
        server: the RSL License Server, when named (a licence is then always required).
        licences: the ``<license>`` elements, alternatives (standards.md §6.3 [I]).
        terms: the ``<terms>`` URL, if any.
    """

    url: str
    server: str | None
    licences: tuple[RslLicence, ...]
    terms: str | None


@dataclass(frozen=True, slots=True)
class RslDocument:
    """A parsed RSL document.

    Attributes:
        valid: False when the body is not a usable RSL document (not XML, too large, wrong or
            missing namespace, no usable ``<content>``): the asset is then unlicensed (§6.3).
        contents: the usable ``<content>`` elements in document order.
        max_age_days: ``<rsl max-age>``, a positive number of days (default 30).
        errors: every problem met, ``rsl.*`` strings.
    """

    valid: bool
    contents: tuple[RslContent, ...]
    max_age_days: int
    errors: tuple[str, ...]

    @property
    def max_age_seconds(self) -> float:
        """How long the document may be cached, in seconds."""
        return self.max_age_days * 86_400.0


class RslOutcome(NamedTuple):
    """What a document says about one URL and purpose.

    Attributes:
        verdict: ``allow``, ``reserved``, ``licence_required`` or ``unknown`` (no content matches).
        detail: the deciding content and licence(s), in words.
        server: the licence server of the matched content, when one is named.
        errors: problems met while matching (the document's own are in ``RslDocument.errors``).
    """

    verdict: str
    detail: str
    server: str | None
    errors: tuple[str, ...]


def _origin_of(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL with a host, default port made explicit."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # bad port or IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return f"{scheme}://{parts.hostname}:{port or _DEFAULT_PORTS[scheme]}"


@lru_cache(maxsize=4096)
def _compile(url: str) -> tuple[Pattern | None, str | None, str | None]:
    """(pattern, origin of a full URL, problem) for a ``<content url>`` (§6.3, RFC 9309 rules)."""
    if _FULL_URL.match(url):
        origin = _origin_of(url)
        if origin is None:
            return None, None, "not an http(s) URL with a host"
        parts = urlsplit(url)  # cannot raise: _origin_of() parsed it
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return Pattern.compile(path), origin, None
    if url[:1] not in ("/", "*"):
        # RFC 9309 §2.2.2: matching starts at the path's first octet ("/"); this never matches.
        return None, None, "neither a full URL nor a path starting with / or *"
    return Pattern.compile(url), None, None


def _add(errors: list[str], error: str) -> None:
    """Record *error*; past ``MAX_ERRORS`` only one ``rsl.too_many_errors`` marker is kept."""
    if len(errors) < MAX_ERRORS:
        errors.append(error)
    elif len(errors) == MAX_ERRORS:
        errors.append("rsl.too_many_errors")


def _show(text: str, limit: int = 80) -> str:
    """A short, log-safe rendering of remote text."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _text(element: etree._Element) -> str:
    """The element's own text; entity references (never expanded) and child elements are left out."""
    return " ".join([element.text or "", *(child.tail or "" for child in element)]).strip(_WS)


def _attr(element: etree._Element, name: str) -> str:
    return (element.get(name) or "").strip(_WS)


def _invalid(error: str) -> RslDocument:
    return RslDocument(False, (), DEFAULT_MAX_AGE_DAYS, (error,))


def _max_age(raw: str | None, errors: list[str]) -> int:
    """``max-age``: a positive integer of days (§6.3); anything else -> 30 and an error."""
    if raw is None:
        return DEFAULT_MAX_AGE_DAYS
    value = raw.strip(_WS)
    # At most 9 digits: Python refuses int() of very long digit strings, and 2.7 million years
    # of caching is no more useful than 30 days.
    if re.fullmatch(r"[0-9]{1,9}", value) and int(value) > 0:
        return int(value)
    _add(errors, f"rsl.invalid_max_age: {_show(raw)}, using {DEFAULT_MAX_AGE_DAYS} days")
    return DEFAULT_MAX_AGE_DAYS


def _terms(element: etree._Element, kind: str, where: str, errors: list[str]) -> frozenset[str]:
    """The tokens of a ``<permits>``/``<prohibits>`` of *kind*; unknown tokens are recorded."""
    text = _text(element)
    tokens = frozenset(text.upper().split() if kind == "geo" else text.lower().split())
    unknown = tokens - _USAGE if kind == "usage" else frozenset()
    if unknown:
        _add(errors, f"rsl.unknown_usage: {where}: {_show(' '.join(sorted(unknown)))}")
    return tokens


def _licence(element: etree._Element, where: str, errors: list[str]) -> RslLicence:
    """Read one ``<license>`` (§6.3); problems are recorded, never raised."""
    found: dict[str, dict[str, frozenset[str]]] = {_PERMITS: {}, _PROHIBITS: {}}
    payments: list[str] = []
    for child in element:
        if child.tag in found:
            name = "permits" if child.tag == _PERMITS else "prohibits"
            # A missing or unknown type is kept as a condition we cannot meet (licence_required).
            kind = _attr(child, "type").lower() or "unspecified"
            if kind not in _TYPES:
                _add(errors, f"rsl.unknown_type: {where}: <{name} type={_show(kind)}>")
            tokens, seen = _terms(child, kind, where, errors), found[child.tag]
            if kind in seen:
                # §6.3: at most one per type; keep the most restrictive reading of the two.
                _add(errors, f"rsl.duplicate: {where}: <{name} type={_show(kind)}>")
                tokens = seen[kind] & tokens if child.tag == _PERMITS else seen[kind] | tokens
            seen[kind] = tokens
        elif child.tag == _PAYMENT:
            payment = _attr(child, "type").lower() or "unspecified"
            if payment not in _PAYMENTS:
                _add(errors, f"rsl.unknown_payment: {where}: {_show(payment)}")
            payments.append(payment)
    amounts = (f"{_text(a)} {_attr(a, 'currency')}".strip() for a in element.iter(_AMOUNT))
    return RslLicence(
        permits=found[_PERMITS],
        prohibits=found[_PROHIBITS],
        payments=tuple(payments),
        amounts=tuple(a for a in amounts if a),
        standards=tuple(filter(None, (_text(s) for s in element.iter(_STANDARD)))),
        reporting=tuple(_attr(r, "type") or "unspecified" for r in element.iter(_REPORTING)),
    )


def _content(index: int, element: etree._Element, errors: list[str]) -> RslContent | None:
    """Read one ``<content>``; None (with an error) when it has no ``url``."""
    url = _attr(element, "url")
    if not url:
        _add(errors, f"rsl.missing_url: content {index}")
        return None
    elements = element.findall(_LICENSE)
    licences = tuple(
        _licence(e, f"content {index} licence {i}", errors)
        for i, e in enumerate(elements[:MAX_LICENCES])
    )
    if len(elements) > MAX_LICENCES:
        _add(errors, f"rsl.too_many_licences: content {index}: kept {MAX_LICENCES}")
    if not licences:
        _add(errors, f"rsl.no_license: content {index}")
    terms = element.find(_TERMS)
    terms_url = _text(terms) or None if terms is not None else None
    content = RslContent(url, _attr(element, "server") or None, licences, terms_url)
    problem = _compile(url)[2]
    if problem is not None:
        _add(errors, f"rsl.invalid_url: content {index}: {_show(url)} is {problem}")
    return content


def parse_rsl(body: bytes) -> RslDocument:
    """Parse an RSL document (``application/rsl+xml``, §6.3). Never raises.

    Args:
        body: the document as fetched.

    Returns:
        the document; ``valid`` is False when it is too large, empty, not XML, not rooted at
        ``{https://rslstandard.org/rsl}rsl`` (vector L11), or without a usable ``<content>``.
    """
    if len(body) > MAX_BODY_BYTES:
        return _invalid(f"rsl.too_large: {len(body)} bytes, over {MAX_BODY_BYTES}")
    if not body.strip():
        return _invalid("rsl.not_xml: empty body")
    try:
        root = parse_xml(body)  # no entities, DTD or network: a bomb stays inert
    except (etree.LxmlError, ValueError) as exc:  # not well-formed, bad encoding, entity bomb
        return _invalid(f"rsl.not_xml: {_show(str(exc), 200)}")
    if root.tag != _ROOT:
        # §6.3: the namespace MUST be exactly https://rslstandard.org/rsl (no trailing slash).
        return _invalid(f"rsl.not_rsl: root element is {_show(str(root.tag))}")
    errors: list[str] = []
    # lxml-stubs 0.5 lacks DocInfo.doctype (the DOCTYPE line, "" when there is none).
    doctype = str(getattr(root.getroottree().docinfo, "doctype", ""))
    if doctype:  # RSL has no DTD: its entities stay unexpanded and nothing is fetched
        _add(errors, f"rsl.doctype_ignored: {_show(doctype)}")
    max_age = _max_age(root.get("max-age"), errors)
    unknown = {etree.QName(e).localname for e in root.iter(_tag("*"))} - _KNOWN
    for name in sorted(unknown):
        # §6.3: non-conformant, but the rest is still read. Foreign namespaces are ignored.
        _add(errors, f"rsl.unknown_element: {_show(name)}")
    elements = root.findall(_CONTENT)
    contents = [_content(i, e, errors) for i, e in enumerate(elements[:MAX_CONTENTS])]
    if len(elements) > MAX_CONTENTS:
        _add(errors, f"rsl.too_many_contents: kept {MAX_CONTENTS} of {len(elements)}")
    usable = tuple(c for c in contents if c is not None)
    if not usable:
        _add(errors, "rsl.no_content: no <content> with a url")
    return RslDocument(bool(usable), usable, max_age, tuple(errors))


def _judge(licence: RslLicence, covered: frozenset[str], server: str | None) -> tuple[str, str]:
    """(verdict, words) of one licence for the usage tokens *covered* (standards.md §6.4)."""
    refused = licence.prohibits.get("usage", frozenset()) & covered
    if refused:  # prohibits beats permits
        return RESERVED, "prohibits usage " + " ".join(sorted(refused))
    permitted = licence.permits.get("usage")
    if permitted is not None and not permitted & covered:  # §6.3: permits is a closed list
        return RESERVED, "permits only usage " + (" ".join(sorted(permitted)) or "(none)")
    needs: list[str] = []
    # §6.4 step 4 checks user/geo against operator configuration, and L6 expects RESERVED on a
    # mismatch. We hold no user class or geo, so we cannot show we qualify: a licence is needed
    # (it still skips). Unknown and untyped conditions are treated the same way.
    for verb, terms in (("permits", licence.permits), ("prohibits", licence.prohibits)):
        needs += [
            f"{verb} {k} {' '.join(sorted(v))}" for k, v in sorted(terms.items()) if k != "usage"
        ]
    paid = [p for p in licence.payments if p != "free"]
    if paid:  # §6.4 step 5: any type but free (attribution included) needs a licence
        amounts = f" ({', '.join(licence.amounts)})" if licence.amounts else ""
        needs.append(f"payment {', '.join(paid)}{amounts}")
    if licence.reporting:  # §6.4 step 6: we support no reporting profile
        needs.append("reporting " + ", ".join(licence.reporting))
    if server is not None:  # §6.3: "clients must obtain a license ... even if the license is free"
        needs.append(f"licence server {server}")
    if needs:
        return LICENCE_REQUIRED, ", ".join(needs)
    usage = f"permits usage {' '.join(sorted(permitted & covered))}, " if permitted else ""
    return ALLOW, usage + "free"


_LEADS = {ALLOW: "allows {purpose}: ", LICENCE_REQUIRED: "requires a licence: ", RESERVED: ""}


def _decide(content: RslContent, purpose: str) -> tuple[str, str]:
    """(verdict, detail) of a matched content: its licences are alternatives (§6.3 [I])."""
    where = f'content "{content.url[:200]}"'
    if not content.licences:
        return LICENCE_REQUIRED, f"{where} offers no licence (unlicensed)"
    judged = [_judge(lic, COVERED[purpose], content.server) for lic in content.licences]
    # Allowed if any licence allows; else licence_required if any offers one; else reserved.
    verdict = next(v for v in (ALLOW, LICENCE_REQUIRED, RESERVED) if any(j[0] == v for j in judged))
    many = len(judged) > 1
    words = [
        f"licence {i + 1}: {w}" if many else w for i, (v, w) in enumerate(judged) if v == verdict
    ]
    return verdict, f"{where} {_LEADS[verdict].format(purpose=purpose)}{'; '.join(words)}"


def rsl_outcome(doc: RslDocument, url: str, purpose: str) -> RslOutcome:
    """What *doc* says about collecting *url* for *purpose* (standards.md §6.4). Never raises.

    Args:
        doc: the parsed document.
        url: the absolute URL to check.
        purpose: an internal purpose (``train-ai``, ``ai-input``, ``search``, ``tdm``).

    Returns:
        the outcome. The ``<content>`` with the longest matching pattern decides (RFC 9309, vector
        L10); on a tie the most restrictive. An invalid document gives ``licence_required``:
        "a client that cannot obtain a valid RSL document ... MUST treat the asset as unlicensed".
    """
    if not doc.valid:
        why = f"no valid RSL document ({doc.errors[0]})" if doc.errors else "no valid RSL document"
        return RslOutcome(LICENCE_REQUIRED, why, None, ("rsl.unlicensed",))
    if purpose not in COVERED:
        error = f"rsl.unknown_purpose: {_show(purpose)}"
        return RslOutcome(UNKNOWN, "no RSL usage for this purpose", None, (error,))
    target, url_origin = target_of(url), _origin_of(url)
    best: list[RslContent] = []
    best_length = -1
    for content in doc.contents:
        pattern, origin, _ = _compile(content.url)
        if pattern is None or pattern.length < best_length:
            continue
        if origin not in (None, url_origin) or not pattern.matches(target):
            continue
        best = [*best, content] if pattern.length == best_length else [content]
        best_length = pattern.length
    if not best:
        return RslOutcome(UNKNOWN, "no <content> matches", None, ())
    rank = {RESERVED: 0, LICENCE_REQUIRED: 1, ALLOW: 2}
    decided = sorted(((_decide(c, purpose), c) for c in best), key=lambda d: rank[d[0][0]])
    (verdict, detail), content = decided[0]
    tie = f"rsl.tie: {len(best)} contents match equally; the most restrictive applies"
    return RslOutcome(verdict, detail, content.server, (tie,) if len(best) > 1 else ())
