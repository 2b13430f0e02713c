"""W3C TDMRep (CG final report, 10 May 2024): tdmrep.json, ``tdm-*`` headers and HTML meta.

Each carrier is read into a :class:`TdmValue` on its own; the layering (file < header < meta,
absence never resets, TDMRep §1.7) lives in ``rules.py``. Remote input never raises: anything
malformed becomes an unset value with the problem in ``errors`` (standards.md §1).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from .patterns import Pattern, target_of

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Largest tdmrep.json parsed; the shells cap the fetch lower (DESIGN §5.2), this is a guard."""
MAX_RULES = 10_000
"""Rules kept from one file; first match wins, so the tail matters least."""
MAX_ERRORS = 100
"""Problems recorded per record; the rest is summarised by one ``tdmrep.too_many_errors``."""

_WS = " \t\r\n\f\v"
_FULL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A policy that "looks valid": an absolute http(s) URL with a host and no whitespace/controls.
_POLICY_URL = re.compile(r"https?://[^\x00-\x20\x7f/?#]+[^\x00-\x20\x7f]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class TdmRule:
    """One entry of the tdmrep.json array (TDMRep §1.3).

    Attributes:
        index: position in the JSON array.
        location: the ``location`` as written ("" when missing or not a string).
        pattern: the compiled path pattern; None when the location is empty, not a string, or a
            URL that can never match (non-http(s) scheme, no host).
        origin: for a full-URL location, its ``scheme://host:port``; the rule then applies only to
            URLs of that origin.
        reservation: 1 or 0; None when missing or invalid (2, "yes", true, "1"...), i.e. unset.
        policy: ``tdm-policy`` when it is a non-empty string.
    """

    index: int
    location: str
    pattern: Pattern | None
    origin: str | None
    reservation: int | None
    policy: str | None


@dataclass(frozen=True, slots=True)
class TdmrepFile:
    """A parsed tdmrep.json: its usable rules in array order and the problems met.

    ``truncated``: rules past :data:`MAX_RULES` were dropped, so a URL that none of the kept rules
    matches is undecided (DESIGN §5.2: a file cut short is unavailable, never read as complete).
    """

    rules: tuple[TdmRule, ...]
    errors: tuple[str, ...]
    truncated: bool = False


class _Repeated(dict[str, object]):
    """A JSON object that named a key more than once (the last value is kept, as in Python)."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``object_pairs_hook``: a plain dict, or a :class:`_Repeated` naming its repeated keys."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    marked.repeated = tuple(repeated)
    return marked


@dataclass(frozen=True, slots=True)
class TdmValue:
    """What one TDMRep layer says; reservation and policy are tracked separately (TDMRep §1.7).

    Attributes:
        reservation: 1, 0, or None (unset: this layer says nothing, or said it invalidly).
        policy: the ``tdm-policy`` URL, or None when this layer says nothing about the policy.
        detail: words for ``Reason.detail`` ("location /a matched rule 0", "tdm-reservation: 1").
        errors: problems met while reading this layer.
    """

    reservation: int | None
    policy: str | None
    detail: str
    errors: tuple[str, ...]


UNSET = TdmValue(reservation=None, policy=None, detail="", errors=())
"""A layer that says nothing."""


def _add(errors: list[str], error: str) -> None:
    """Record *error*; past ``MAX_ERRORS`` only one ``tdmrep.too_many_errors`` marker is kept."""
    if len(errors) < MAX_ERRORS:
        errors.append(error)
    elif len(errors) == MAX_ERRORS:
        errors.append("tdmrep.too_many_errors")


def _show(value: object) -> str:
    """A short, log-safe rendering of a remote value for error strings."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clean(text: str) -> str:
    """*text* with lone surrogates (JSON string escapes can make them) replaced, for the logs."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _origin(url: str) -> str | None:
    """``scheme://host:port`` of an http(s) URL, default port made explicit (standards.md §1.3)."""
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # bad port or IPv6 literal
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    with contextlib.suppress(UnicodeError):
        # An IDN written in Unicode must equal its punycode form in the request URL.
        host = host.encode("idna").decode("ascii")
    if ":" in host:  # IPv6 literal: urlsplit dropped the brackets
        host = f"[{host}]"
    return f"{scheme}://{host.lower()}:{port if port is not None else _DEFAULT_PORTS[scheme]}"


def _location(index: int, raw: object, errors: list[str]) -> tuple[str, Pattern | None, str | None]:
    """Read one ``location``: (as written, compiled pattern, origin of a full-URL location)."""
    where = f"rule {index}"
    if not isinstance(raw, str):
        _add(errors, f"tdmrep.invalid_rule: {where}: location {_show(raw)} is not a string")
        return "", None, None
    location = _clean(raw)
    if not raw:
        # standards.md §1.3 [I]: an empty location matches nothing.
        _add(errors, f"tdmrep.invalid_rule: {where}: empty location")
        return location, None, None
    if _FULL_URL.match(raw):
        # standards.md §1.3 [I]: a full URL is unspecified; it applies to its own origin only,
        # with its path as the pattern. Warn either way.
        _add(errors, f"tdmrep.url_location: {where}: {_show(location)}")
        origin = _origin(raw)
        if origin is None:
            _add(errors, f"tdmrep.invalid_rule: {where}: location URL is not http(s) with a host")
            return location, None, None
        parts = urlsplit(raw)  # cannot raise: _origin() parsed it
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        return location, Pattern.compile(path), origin
    if raw[0] not in "/*":
        # RFC 9309 §2.2.2 matching starts at the path's first octet ("/"): this never matches.
        _add(errors, f"tdmrep.invalid_rule: {where}: location does not start with / or *")
    return location, Pattern.compile(raw), None


def _rule(index: int, item: object, errors: list[str]) -> TdmRule | None:
    """Read one array entry; None (with an error) when it is not an object."""
    if not isinstance(item, dict):
        _add(errors, f"tdmrep.invalid_rule: rule {index}: not an object")
        return None
    if type(item) is _Repeated:
        # RFC 8259 §4: names SHOULD be unique; the last value is used (Python's json), recorded.
        names = ", ".join(_show(_clean(key)) for key in item.repeated[:5])
        _add(errors, f"tdmrep.duplicate_key: rule {index}: {names} (the last value is used)")
    location, pattern, origin = _location(index, item.get("location"), errors)
    raw = item.get("tdm-reservation")
    # TDMRep §1.2: the value is 1 or 0, anything else is a protocol error -> unset. JSON true is a
    # Python int subclass and "1" a string: both are invalid (no lenient mode, standards.md §1.3).
    reservation = raw if type(raw) is int and raw in (0, 1) else None
    if reservation is None:
        shown = "missing" if "tdm-reservation" not in item else _show(raw)
        _add(errors, f"tdmrep.invalid_rule: rule {index}: tdm-reservation {shown}")
    raw_policy = item.get("tdm-policy")
    policy: str | None = None
    if isinstance(raw_policy, str):
        policy = _clean(raw_policy).strip(_WS) or None
    elif raw_policy is not None:
        _add(errors, f"tdmrep.invalid_rule: rule {index}: tdm-policy {_show(raw_policy)}")
    return TdmRule(index, location, pattern, origin, reservation, policy)


def parse_tdmrep(body: bytes) -> TdmrepFile:
    """Parse a ``/.well-known/tdmrep.json`` body (TDMRep §1.3). Never raises.

    A body that is too large, not UTF-8, not JSON, too deeply nested or not an array gives no
    rules and ``tdmrep.invalid_file`` (standards.md §1.3 [I]: treated as "not implemented").
    """
    if len(body) > MAX_BODY_BYTES:
        return TdmrepFile((), (f"tdmrep.invalid_file: over {MAX_BODY_BYTES} bytes",))
    try:
        # RFC 8259 §8.1: JSON exchanged between systems is UTF-8; a leading BOM may be ignored.
        data = json.loads(body.decode("utf-8-sig"), object_pairs_hook=_object)
    except (RecursionError, ValueError) as exc:  # too deep, not JSON, not UTF-8, 5000-digit int
        return TdmrepFile((), (f"tdmrep.invalid_file: {type(exc).__name__}",))
    if not isinstance(data, list):
        # TDMRep §1.3: the brackets are mandatory even for a single rule (T11).
        return TdmrepFile((), (f"tdmrep.invalid_file: top level is {type(data).__name__}",))
    errors: list[str] = []
    rules: list[TdmRule] = []
    for index, item in enumerate(data[:MAX_RULES]):
        rule = _rule(index, item, errors)
        if rule is not None:
            rules.append(rule)
    if len(data) > MAX_RULES:  # first, so that the error cap never hides it
        errors.insert(0, f"tdmrep.too_many_rules: kept {MAX_RULES} of {len(data)}")
    return TdmrepFile(tuple(rules), tuple(errors), len(data) > MAX_RULES)


def match_tdmrep(doc: TdmrepFile, url: str) -> TdmValue:
    """What the file says about *url*: the FIRST matching rule in array order wins.

    TDMRep §1.3: "The most specific match is the first in sequence" (DESIGN §5.1). When a longer
    pattern later in the file says otherwise, ``tdmrep.order_ambiguity`` is recorded.
    """
    if not doc.rules:
        return UNSET  # the file's own errors are in doc.errors, reported once by the caller
    target = target_of(url)
    url_origin: str | None = None
    origin_known = False
    first: TdmRule | None = None
    first_length = 0
    errors: list[str] = []
    for rule in doc.rules:
        pattern = rule.pattern
        if pattern is None:
            continue
        if rule.origin is not None:
            if not origin_known:
                url_origin, origin_known = _origin(url), True
            if rule.origin != url_origin:
                continue
        if first is None:
            if pattern.matches(target):
                first, first_length = rule, pattern.length
            continue
        # standards.md §1.3 ⚠: Google's longest match would pick a longer rule that disagrees.
        differs = pattern.length > first_length and rule.reservation != first.reservation
        if differs and pattern.matches(target):
            errors.append(f"tdmrep.order_ambiguity: rule {rule.index} says {rule.reservation}")
            break
    if first is None:
        return UNSET
    detail = f"location {first.location[:200]} matched rule {first.index}"
    if first.reservation is None:
        # T12: a protocol error in the matching rule leaves the reservation unset.
        errors.insert(0, f"tdmrep.invalid_rule: rule {first.index} matched: tdm-reservation unset")
        detail += " (invalid tdm-reservation)"
    return TdmValue(first.reservation, first.policy, detail, tuple(errors))


def _pick_policy(candidates: Sequence[str], source: str, errors: list[str]) -> str | None:
    """The first valid-looking policy URL among *candidates*; the others are recorded."""
    chosen: str | None = None
    for value in candidates:
        if not value:  # RFC 9110 §5.6.1: empty list elements are ignored
            continue
        if not _POLICY_URL.fullmatch(value):
            _add(errors, f"tdmrep.invalid_policy: {source} {_show(value)}")
        elif chosen is None:
            chosen = value
        elif value != chosen:
            _add(errors, f"tdmrep.policy_conflict: {source} {_show(value)} ignored")
    return chosen


def _describe(prefix: str, seen: list[int], policy: str | None) -> str:
    """Detail words: ``tdm-reservation: 1[, 0]; tdm-policy: URL``."""
    values = ", ".join(str(v) for v in dict.fromkeys(seen))
    parts = [f"{prefix}tdm-reservation: {values}"] if seen else []
    return "; ".join(parts + ([f"{prefix}tdm-policy: {policy[:200]}"] if policy else []))


def _combine(seen: list[int], conflict_error: str, errors: list[str]) -> int | None:
    """One reservation from the valid values seen; a 1 among conflicting values wins."""
    if 1 in seen and 0 in seen:
        # standards.md §1.4/§1.5 [I], conservative reading (T26): reserved, and logged first so
        # that the error cap never hides it.
        errors.insert(0, conflict_error)
        del errors[MAX_ERRORS:-1]  # keep the cap: drop the last regular error if over
        return 1
    return seen[0] if seen else None


def tdm_from_headers(reservation_lines: Sequence[str], policy_lines: Sequence[str]) -> TdmValue:
    """Read every ``tdm-reservation`` and ``tdm-policy`` field line of a response (TDMRep §1.4).

    Every field line and every comma-separated member counts; values are trimmed (T19). A value
    other than ``1``/``0`` is a protocol error: ignored and recorded (T18). Conflicting valid
    members give 1 with ``tdmrep.header_conflict`` (T26). The policy is returned even with
    reservation 0 (T20: whether to process it is for ``rules.py``).
    """
    errors: list[str] = []
    seen: list[int] = []
    for line in reservation_lines:
        members = [m.strip(_WS) for m in line.split(",")]
        if not any(members):
            _add(errors, "tdmrep.invalid_header: tdm-reservation ''")
        for member in members:
            if member in ("1", "0"):
                seen.append(int(member))
            elif member:  # RFC 9110 §5.6.1: empty list elements are ignored
                _add(errors, f"tdmrep.invalid_header: tdm-reservation {_show(member)}")
    candidates: list[str] = []
    for line in policy_lines:
        # A whole line that is one URL stays whole (RFC 3986 allows "," in a path); otherwise
        # every comma-separated member is a candidate.
        value = line.strip(_WS)
        whole = _POLICY_URL.fullmatch(value)
        candidates.extend([value] if whole else (m.strip(_WS) for m in value.split(",")))
    policy = _pick_policy(candidates, "header", errors)
    reservation = _combine(seen, "tdmrep.header_conflict", errors)
    return TdmValue(reservation, policy, _describe("", seen, policy), tuple(errors))


def tdm_from_meta(metas: Sequence[tuple[str, str]]) -> TdmValue:
    """Read ``<meta name="tdm-reservation|tdm-policy">`` of an HTML document (TDMRep §1.5).

    *metas* are ``(name, content)`` pairs in document order; names compare case-insensitively.
    Conflicting reservations: any 1 wins, with ``tdmrep.meta_conflict`` (standards.md §1.5 [I]).
    """
    errors: list[str] = []
    seen: list[int] = []
    policies: list[str] = []
    for name, content in metas:
        key = name.strip(_WS).lower()
        if key == "tdm-reservation":
            value = content.strip(_WS)
            if value in ("1", "0"):
                seen.append(int(value))
            else:
                _add(errors, f"tdmrep.invalid_meta: tdm-reservation {_show(value)}")
        elif key == "tdm-policy":
            policies.append(content.strip(_WS))
    policy = _pick_policy(policies, "meta", errors)
    reservation = _combine(seen, "tdmrep.meta_conflict", errors)
    return TdmValue(reservation, policy, _describe("meta ", seen, policy), tuple(errors))
