"""The compliance log record: canonical JSON, the chain hash, and the check of one line.

DESIGN §5.1 "Log chain" and §7 fix the format: one JSON object per line, ``hash`` = SHA-256 (hex) of
the record's canonical JSON without its ``hash`` field, ``prev`` = the previous record's ``hash``
(64 zeros for the first). Canonical JSON is exactly
``json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded UTF-8, so that
anyone can check a log with a few lines of code in any language.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import json.scanner
import re
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from scrapy_optout._core.models import Decision

ZERO_HASH = "0" * 64
"""The ``prev`` of the first record of a log (DESIGN §5.1)."""

VERSION = 1
"""The record format version written in ``v`` (DESIGN §7)."""

REASON_KEYS = ("code", "signal", "source", "detail", "policy_url", "evidence")
"""The keys of every reason object, exactly (DESIGN §7)."""

# One encoder built once: json.dumps() with non-default arguments builds a new encoder on every call,
# which is a measurable share of the writer's per-record cost. Same arguments as DESIGN §5.1.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_STRICT = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode  # the same text, refusing NaN and infinities (not JSON) rather than spelling them
_SCAN: Any = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _no_default(value: object) -> object:
    raise TypeError(f"not JSON: {type(value).__name__}")


# CPython's C encoder built once, rather than once per call inside JSONEncoder.encode; the same
# text as _STRICT (the tests compare them). Other Pythons have none: _STRICT serves.
_C_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode: Any = (
    _C_ENCODER(None, _no_default, encode_basestring, None, ":", ",", True, False, False)
    if _C_ENCODER is not None
    else None
)


def _strict(record: dict[str, Any]) -> str:
    if _c_encode is None:  # pragma: no cover - no C accelerator
        return _STRICT(record)
    return "".join(_c_encode(record, 0))

_HEX64 = re.compile(r"[0-9a-f]{64}")
_EVIDENCE = re.compile(r"sha256:([0-9a-f]{64})")
# DESIGN §5.2 "Timestamps": UTC, RFC 3339, "Z" suffix, 0 to 9 fractional digits.
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


class _WriterEncoder:
    """Canonical JSON of the writer's records, several times faster than the generic encoder.

    The writer's records have a fixed set of keys, so the text is assembled in sorted-key order from
    constant parts encoded once and strings escaped by the very function the stdlib encoder uses
    (``encode_basestring``, the ``ensure_ascii=False`` escaping). The result is byte-identical to
    :func:`canonical_json` (checked by a property test); a value of another type than the writer
    puts there makes :meth:`encode` fall back to the generic encoder.
    """

    __slots__ = ("_agent", "_end", "_policy", "_run")

    def __init__(
        self, *, agent: str, purpose: str, policy: str, run: str, worker: str | None = None
    ) -> None:
        s = encode_basestring
        self._agent = f',"agent":{s(agent)}'
        # "prev" (64 hex digits from the writer) follows "policy"; "purpose" then opens "reasons".
        self._policy = (f',"policy":{s(policy)},"prev":"', f'","purpose":{s(purpose)},"reasons":[')
        self._run = f'],"run":{s(run)},"seq":'
        # "worker", when the writer has one, is the last key in sorted order.
        self._end = f',"v":{VERSION}' + ("" if worker is None else f',"worker":{s(worker)}') + "}"

    def encode(self, record: dict[str, Any]) -> str:
        """Return the canonical JSON of *record*, a record built by the writer (no ``hash``).

        ``prev`` and ``ts`` are the writer's own ASCII values and go in unescaped.
        """
        if "repaired" in record or type(record["seq"]) is not int or record["v"] != VERSION:
            return canonical_json(record)  # rare: keep the fast path simple
        s = encode_basestring
        try:
            reasons = ",".join(
                [
                    f'{{"code":{s(r["code"])},"detail":{s(r["detail"])},"evidence":'
                    f'{"null" if r["evidence"] is None else s(r["evidence"])},"policy_url":'
                    f"{'null' if r['policy_url'] is None else s(r['policy_url'])},"
                    f'"signal":{s(r["signal"])},"source":{s(r["source"])}}}'
                    for r in record["reasons"]
                ]
            )
            extra = ""
            if "errors" in record:  # sorted order: action, agent, errors, licensing, policy...
                extra = f',"errors":[{",".join([s(v) for v in record["errors"]])}]'
            if "licensing" in record:
                extra += f',"licensing":[{",".join([s(v) for v in record["licensing"]])}]'
            policy, purpose = self._policy
            return (
                f'{{"action":{s(record["action"])}{self._agent}{extra}{policy}{record["prev"]}'
                f'{purpose}{reasons}{self._run}{record["seq"]},"stage":{s(record["stage"])},'
                f'"ts":"{record["ts"]}","url":{s(record["url"])}{self._end}'
            )
        except TypeError:  # a value that is not a string: let the generic encoder handle it
            return canonical_json(record)


def canonical_json(record: Mapping[str, object]) -> str:
    """Return the canonical JSON text of *record* (DESIGN §5.1), ``hash`` included if present."""
    return _ENCODER.encode(record if isinstance(record, dict) else dict(record))


def record_hash(record: Mapping[str, object]) -> str:
    """Return the SHA-256 hex of *record*'s canonical JSON without its ``hash`` field.

    Raises:
        UnicodeEncodeError: a string of the record holds a lone surrogate, which has no UTF-8 form
            (the writer never writes one; a hand-made line may).
    """
    if "hash" in record:
        record = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def decision_to_fields(decision: Decision) -> dict[str, object]:
    """Return the record fields that come from *decision* (DESIGN §7).

    ``url``, ``stage``, ``action`` and ``reasons`` always; ``licensing`` and ``errors`` only when the
    decision has any. Each reason object has exactly the keys of :data:`REASON_KEYS`.
    """
    fields: dict[str, object] = {
        "url": decision.url,
        "stage": decision.stage,
        "action": decision.action,
        "reasons": [
            {
                "code": r.code,
                "signal": r.signal,
                "source": r.source,
                "detail": r.detail,
                "policy_url": r.policy_url,
                "evidence": r.evidence,
            }
            for r in decision.reasons
        ],
    }
    if decision.licensing:
        fields["licensing"] = list(decision.licensing)
    if decision.errors:
        fields["errors"] = list(decision.errors)
    return fields


def evidence_hex(value: object) -> str | None:
    """Return the hex digest of an ``evidence`` value ``sha256:<64 hex>``, or None if malformed."""
    if isinstance(value, str):
        m = _EVIDENCE.fullmatch(value)
        if m:
            return m.group(1)
    return None


def _no_constant(name: str) -> object:
    # NaN and Infinity are not JSON (RFC 8259); other languages' parsers reject them.
    raise ValueError(f"not JSON: {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A line with a repeated key reads differently in different JSON libraries (first or last wins),
    # so a verifier in another language could see another record than ours: refuse it.
    record = dict(pairs)
    if len(record) != len(pairs):
        raise ValueError("duplicate key")
    return record


def _shape_problem(record: dict[str, Any]) -> str | None:
    """Name what makes *record* not a log record of DESIGN §7, or None."""
    # type() rather than isinstance(): a bool is not a version or a seq; this runs once per line.
    v = record.get("v")
    if v != VERSION or type(v) is bool:
        return "unsupported version"
    seq = record.get("seq")
    if type(seq) is not int or seq < 1:
        return "seq is not a positive integer"
    for key in ("prev", "hash"):
        value = record.get(key)
        if type(value) is not str or len(value) != 64 or not _HEX64.fullmatch(value):
            return f"{key} is not 64 hex digits"
    ts = record.get("ts")
    if type(ts) is not str or not _TS.fullmatch(ts):
        return "ts is not an RFC 3339 UTC time"
    reasons = record.get("reasons")
    if type(reasons) is not list:
        return "reasons is not a list of objects"
    for reason in reasons:
        if type(reason) is not dict:
            return "reasons is not a list of objects"
    return None


def _canonical_line(raw: bytes) -> dict[str, Any] | None:
    """The record of a line exactly as the writer writes it, or None for any other line.

    Such a line is the record's canonical JSON with ``"hash"`` appended as its last key, so the
    record is checked by encoding it once and comparing texts: no duplicate keys, no other
    spelling, and the hash is over exactly these bytes. Lines written otherwise (by hand, by
    another program) take :func:`parse_line`'s general path, which gives the same verdicts.
    """
    try:
        text = raw.decode("utf-8")
        record, _ = _SCAN(text, 0)  # what follows the object: the text comparison sees it
        digest = record.pop("hash")
        canonical = _strict(record)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError, StopIteration):
        return None  # not a JSON object with a hash (or NaN, or not canonical): the long way
    if text != f'{canonical[:-1]},"hash":"{digest}"}}\n':
        return None
    try:
        if hashlib.sha256(canonical.encode("utf-8")).hexdigest() != digest:
            return None
    except UnicodeEncodeError:
        return None
    record["hash"] = digest
    return record if _shape_problem(record) is None else None


def parse_line(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one log line and check it on its own (shape and ``hash``; not its link to the chain).

    Never raises. Returns ``(record, None)`` for a self-consistent record, else ``(None, problem)``
    where problem is ``"not JSON"``, ``"duplicate key"``, ``"not a log record (...)"``,
    ``"invalid text (lone surrogate)"`` or ``"hash mismatch"``.
    """
    fast = _canonical_line(raw)  # every line the writer wrote: one decode, one encode, one hash
    if fast is not None:
        return fast, None
    try:
        # Decode as UTF-8 ourselves: json.loads(bytes) would also accept UTF-16/32 (DESIGN §5.1
        # fixes UTF-8).
        record = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant
        )
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, "duplicate key" if str(exc) == "duplicate key" else "not JSON"
    except RecursionError:  # deeply nested hostile input
        return None, "not JSON"
    if not isinstance(record, dict):
        return None, "not a log record (not a JSON object)"
    shape = _shape_problem(record)
    if shape is not None:
        return None, f"not a log record ({shape})"
    try:
        digest = record_hash(record)
    except UnicodeEncodeError:
        return None, "invalid text (lone surrogate)"
    except RecursionError:
        return None, "not JSON"
    if digest != record["hash"]:
        return None, "hash mismatch"
    return record, None


def follows(record: Mapping[str, Any], previous: Mapping[str, Any] | None, line: int) -> str | None:
    """Name how *record* (on *line*) fails to continue the chain after *previous*, or None.

    *previous* is the intact record on the line before, or None when *record* must be the first.
    """
    want_seq = 1 if previous is None else previous["seq"] + 1
    if record["seq"] != want_seq:
        return f"seq {record['seq']} follows {want_seq - 1} (record removed or reordered)"
    if previous is None:
        if record["prev"] != ZERO_HASH:
            return "prev of the first record is not 64 zeros"
    elif record["prev"] != previous["hash"]:
        return f"prev does not match the hash of line {line - 1}"
    return None
