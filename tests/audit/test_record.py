"""Tests for scrapy_optout.audit.record: canonical JSON, the chain hash, line checks (DESIGN §5.1, §7)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.models import Decision, Reason
from scrapy_optout.audit.record import (
    REASON_KEYS,
    ZERO_HASH,
    _WriterEncoder,
    canonical_json,
    decision_to_fields,
    evidence_hex,
    follows,
    parse_line,
    record_hash,
)

HEX = "ab" * 32


def design_hash(record: dict[str, Any]) -> str:
    """The few lines of code DESIGN §5.1 promises are enough to check a record."""
    r = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sample(**changes: object) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1,
        "seq": 1,
        "ts": "2026-11-29T10:00:00.123456Z",
        "run": "r1",
        "agent": "MyAIBot",
        "purpose": "train-ai",
        "url": "https://example.org/a",
        "stage": "request",
        "action": "skip",
        "reasons": [
            {
                "code": "tdmrep_file",
                "signal": "tdmrep",
                "source": "https://example.org/.well-known/tdmrep.json",
                "detail": "location /a matched rule 0",
                "policy_url": None,
                "evidence": "sha256:" + HEX,
            }
        ],
        "policy": "p" * 64,
        "prev": ZERO_HASH,
    }
    record.update(changes)
    record["hash"] = design_hash(record)
    return record


def line_of(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def test_zero_hash_is_64_zeros() -> None:
    """The first record's prev is 64 zeros."""
    assert ZERO_HASH == "0" * 64


@pytest.mark.parametrize(
    "record",
    [
        pytest.param({"b": 1, "a": [1, {"d": None, "c": "x"}]}, id="nested-sorted"),
        pytest.param({"url": "https://例え.jp/パス", "d": "“q” ü"}, id="non-ascii-raw"),
        pytest.param({"d": 'quote " back \\ nl \n tab \t nul \x00 ls \u2028'}, id="escapes"),
    ],
)
def test_canonical_json_is_designs_dumps(record: dict[str, Any]) -> None:
    """canonical_json equals DESIGN's json.dumps(sort_keys, compact separators, no ASCII escaping)."""
    expected = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(record) == expected
    assert canonical_json(MappingProxyType(record)) == expected


def test_canonical_json_keeps_non_ascii_unescaped() -> None:
    """Non-ASCII characters appear as themselves, not as backslash-u escapes."""
    assert canonical_json({"u": "ü例"}) == '{"u":"ü例"}'


def test_record_hash_ignores_the_hash_field() -> None:
    """record_hash is the hash of the record without its hash field, whatever that field holds."""
    record = sample()
    assert record_hash(record) == record["hash"] == design_hash(record)
    assert record_hash({**record, "hash": "junk"}) == record["hash"]
    assert record_hash({**record, "seq": 2}) != record["hash"]


def test_record_hash_rejects_lone_surrogates() -> None:
    """A lone surrogate has no UTF-8 form: record_hash raises UnicodeEncodeError."""
    with pytest.raises(UnicodeEncodeError):
        record_hash({"url": "\ud800"})


@pytest.mark.parametrize(
    ("licensing", "errors", "extra"),
    [
        pytest.param((), (), set(), id="neither"),
        pytest.param(("https://l.example/p",), (), {"licensing"}, id="licensing"),
        pytest.param((), ("tdmrep.invalid_file",), {"errors"}, id="errors"),
        pytest.param(("https://l.example/p",), ("x.y: z",), {"licensing", "errors"}, id="both"),
    ],
)
def test_decision_to_fields_keys(
    licensing: tuple[str, ...], errors: tuple[str, ...], extra: set[str]
) -> None:
    """Fields are url, stage, action, reasons, plus licensing/errors only when the decision has any."""
    d = Decision("https://e.org/", False, "skip", "request", (), licensing, errors)
    fields = decision_to_fields(d)
    assert set(fields) == {"url", "stage", "action", "reasons"} | extra
    assert fields.get("licensing", []) == list(licensing)
    assert fields.get("errors", []) == list(errors)


def test_decision_to_fields_reason_objects() -> None:
    """Each reason object has exactly code, signal, source, detail, policy_url, evidence (null if none)."""
    reasons = (
        Reason("tdmrep_header", "tdmrep", "https://e.org/a", "tdm-reservation: 1", "https://p/"),
        Reason("robots_disallow", "robots", "https://e.org/robots.txt", "Disallow: /", None, "x"),
    )
    fields = decision_to_fields(Decision("https://e.org/a", False, "skip", "response", reasons))
    assert fields["reasons"] == [
        {
            "code": "tdmrep_header",
            "signal": "tdmrep",
            "source": "https://e.org/a",
            "detail": "tdm-reservation: 1",
            "policy_url": "https://p/",
            "evidence": None,
        },
        {
            "code": "robots_disallow",
            "signal": "robots",
            "source": "https://e.org/robots.txt",
            "detail": "Disallow: /",
            "policy_url": None,
            "evidence": "x",
        },
    ]
    assert all(tuple(r) == REASON_KEYS for r in fields["reasons"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("sha256:" + HEX, HEX, id="ok"),
        pytest.param("sha256:" + HEX.upper(), None, id="upper-hex"),
        pytest.param("sha256:" + HEX[:-1], None, id="short"),
        pytest.param("sha256:../../etc/passwd", None, id="traversal"),
        pytest.param("md5:" + HEX, None, id="other-algorithm"),
        pytest.param(None, None, id="none"),
        pytest.param(42, None, id="not-a-string"),
    ],
)
def test_evidence_hex(value: object, expected: str | None) -> None:
    """Only sha256:<64 lowercase hex> names an evidence file."""
    assert evidence_hex(value) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param(b"not json\n", "not JSON", id="not-json"),
        pytest.param(b"\n", "not JSON", id="empty"),
        pytest.param(b"[1, 2]\n", "not a log record (not a JSON object)", id="array"),
        pytest.param(b'{"a": 1, "a": 2}\n', "duplicate key", id="duplicate-key"),
        pytest.param(b'{"v": NaN}\n', "not JSON", id="nan"),
        pytest.param("{}".encode("utf-16"), "not JSON", id="utf-16"),
        pytest.param(b"\xef\xbb\xbf{}\n", "not JSON", id="bom"),
        pytest.param(b"\xff\xfe\n", "not JSON", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "not JSON", id="deep-nesting"),
    ],
)
def test_parse_line_rejects_non_records(raw: bytes, problem: str) -> None:
    """Lines that are not one JSON object in UTF-8 are reported, never raised."""
    assert parse_line(raw) == (None, problem)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param({"v": 2}, "unsupported version", id="version"),
        pytest.param({"v": True}, "unsupported version", id="version-bool"),
        pytest.param({"seq": 0}, "seq is not a positive integer", id="seq-zero"),
        pytest.param({"seq": "1"}, "seq is not a positive integer", id="seq-str"),
        pytest.param({"seq": True}, "seq is not a positive integer", id="seq-bool"),
        pytest.param({"prev": "0" * 63}, "prev is not 64 hex digits", id="prev-short"),
        pytest.param({"ts": "2026-11-29 10:00:00"}, "ts is not an RFC 3339 UTC time", id="ts"),
        pytest.param(
            {"ts": "2026-11-29T10:00:00+00:00"}, "ts is not an RFC 3339 UTC time", id="ts-z"
        ),
        pytest.param({"reasons": {}}, "reasons is not a list of objects", id="reasons"),
        pytest.param({"reasons": ["x"]}, "reasons is not a list of objects", id="reasons-item"),
    ],
)
def test_parse_line_checks_shape(changes: dict[str, object], problem: str) -> None:
    """A JSON object that is not shaped like a DESIGN §7 record is reported, even with a right hash."""
    assert parse_line(line_of(sample(**changes))) == (None, f"not a log record ({problem})")


def test_parse_line_accepts_a_record_and_checks_its_hash() -> None:
    """A self-consistent record parses; any edited value makes it a hash mismatch."""
    record = sample()
    assert parse_line(line_of(record)) == (record, None)
    edited = {**record, "url": "https://example.org/b"}
    assert parse_line(line_of(edited)) == (None, "hash mismatch")
    assert parse_line(line_of({**record, "hash": "f" * 64})) == (None, "hash mismatch")


def test_parse_line_lone_surrogate_escape() -> None:
    """A backslash-ud800 escape (valid JSON, no UTF-8 form) is reported, not raised."""
    raw = line_of(sample()).replace(b"https://example.org/a", b"\\ud800")
    assert parse_line(raw) == (None, "invalid text (lone surrogate)")


@pytest.mark.parametrize(
    ("seq", "prev", "previous", "problem"),
    [
        pytest.param(1, ZERO_HASH, None, None, id="first"),
        pytest.param(2, ZERO_HASH, None, "seq 2 follows 0 (record removed or reordered)", id="first-seq"),
        pytest.param(1, HEX, None, "prev of the first record is not 64 zeros", id="first-prev"),
        pytest.param(8, HEX, {"seq": 7, "hash": HEX}, None, id="next"),
        pytest.param(9, HEX, {"seq": 7, "hash": HEX}, "seq 9 follows 7 (record removed or reordered)", id="gap"),
        pytest.param(7, HEX, {"seq": 7, "hash": HEX}, "seq 7 follows 7 (record removed or reordered)", id="repeat"),
        pytest.param(8, ZERO_HASH, {"seq": 7, "hash": HEX}, "prev does not match the hash of line 6", id="prev"),
    ],
)  # fmt: skip
def test_follows(seq: int, prev: str, previous: dict[str, Any] | None, problem: str | None) -> None:
    """A record continues the chain when seq is one more and prev is the previous record's hash."""
    assert follows({"seq": seq, "prev": prev}, previous, 7) == problem


def test_import_is_light() -> None:
    """Importing scrapy_optout.audit loads neither scrapy, httpx, twisted nor asyncio."""
    code = (
        "import sys, scrapy_optout.audit\n"
        "print(sorted(m for m in ('scrapy', 'httpx', 'twisted', 'asyncio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


# Text with what JSON must escape, non-ASCII, and U+2028; no lone surrogates (the writer scrubs them).
_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40) | st.sampled_from(
    ['"', "\\", "\n", "\x00", "\u2028", "ü", "例", "\U0001f600", ""]
)
_reasons = st.builds(
    Reason,
    code=_text,
    signal=_text,
    source=_text,
    detail=_text,
    policy_url=st.none() | _text,
    evidence=st.none() | _text,
)
_decisions = st.builds(
    Decision,
    url=_text,
    allowed=st.booleans(),
    action=_text,
    stage=_text,
    reasons=st.lists(_reasons, max_size=4).map(tuple),
    licensing=st.lists(_text, max_size=3).map(tuple),
    errors=st.lists(_text, max_size=3).map(tuple),
)


@given(
    decision=_decisions,
    agent=_text,
    purpose=_text,
    policy=_text,
    run=_text,
    worker=st.none() | _text,
    seq=st.integers(1, 10**12),
)
def test_writer_encoder_is_canonical(
    decision: Decision, agent: str, purpose: str, policy: str, run: str, worker: str | None,
    seq: int,
) -> None:
    """The writer's fast encoder gives exactly canonical_json for any decision and constants."""
    record: dict[str, Any] = {
        "v": 1,
        "seq": seq,
        "ts": "2026-11-29T10:00:00.000000Z",
        "run": run,
        "agent": agent,
        "purpose": purpose,
        **decision_to_fields(decision),
        "policy": policy,
        "prev": HEX,
    }
    if worker is not None:
        record["worker"] = worker
    encoder = _WriterEncoder(agent=agent, purpose=purpose, policy=policy, run=run, worker=worker)
    assert encoder.encode(record) == canonical_json(record)
    assert json.loads(canonical_json(record)) == record


def test_writer_encoder_falls_back_on_other_types() -> None:
    """A value of an unexpected type (an int detail) still gives the canonical text."""
    record = sample()
    del record["hash"]
    record["reasons"][0]["detail"] = 42
    record["repaired"] = {"bytes": 3, "sha256": HEX}
    encoder = _WriterEncoder(agent="MyAIBot", purpose="train-ai", policy="p" * 64, run="r1")
    assert encoder.encode(record) == canonical_json(record)
    del record["repaired"]
    assert encoder.encode(record) == canonical_json(record)


def _check_parsed(result: tuple[dict[str, Any] | None, str | None]) -> None:
    record, problem = result
    assert (record is None) != (problem is None)
    if record is not None:
        assert record_hash(record) == record["hash"]
        assert isinstance(record["seq"], int)
        assert record["seq"] >= 1
    else:
        assert isinstance(problem, str)
        assert problem


@given(st.binary(max_size=2000))
def test_parse_line_never_raises_on_bytes(raw: bytes) -> None:
    """Arbitrary bytes give either a self-consistent record or a problem string."""
    _check_parsed(parse_line(raw))


@given(st.text(max_size=2000))
def test_parse_line_never_raises_on_text(text: str) -> None:
    """Arbitrary text (surrogates included) gives either a record or a problem string."""
    _check_parsed(parse_line(text.encode("utf-8", "surrogatepass")))


@given(st.dictionaries(st.sampled_from(["v", "seq", "prev", "hash", "ts", "reasons"]), st.none()))
def test_parse_line_never_raises_on_partial_records(fields: dict[str, None]) -> None:
    """Objects with some record keys of the wrong type are reported, never raised."""
    record, problem = parse_line(json.dumps(fields).encode())
    assert record is None
    assert isinstance(problem, str)


def _general(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """parse_line without its fast path for the writer's own lines."""
    from scrapy_optout.audit import record as module

    fast = module._canonical_line
    module._canonical_line = lambda raw: None  # type: ignore[assignment]
    try:
        return parse_line(raw)
    finally:
        module._canonical_line = fast


def _writer_line(decision: Decision, seq: int) -> bytes:
    record: dict[str, Any] = {
        "v": 1, "seq": seq, "ts": "2026-11-29T10:00:00.000000Z", "run": "r", "agent": "A",
        "purpose": "train-ai", **decision_to_fields(decision), "policy": "p", "prev": HEX,
    }  # fmt: skip
    text = canonical_json(record)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f'{text[:-1]},"hash":"{digest}"}}\n'.encode()


@given(
    decision=_decisions,
    seq=st.integers(1, 10**9),
    edit=st.one_of(
        st.none(),
        st.tuples(st.integers(0, 2000), st.binary(min_size=0, max_size=3)),
        st.sampled_from(["spaces", "duplicate", "hash-sorted", "nan"]),
    ),
)
def test_fast_path_gives_the_general_verdict(decision: Decision, seq: int, edit: Any) -> None:
    """For writer lines and every kind of edit, the fast path answers as the general path does."""
    raw = _writer_line(decision, seq)
    if isinstance(edit, tuple):
        at = edit[0] % len(raw)
        raw = raw[:at] + edit[1] + raw[at + 1 :]
    elif edit == "spaces":
        raw = raw.replace(b'":', b'": ', 1)
    elif edit == "duplicate":
        raw = raw.replace(b'{"action":', b'{"action":"allow","action":', 1)
    elif edit == "hash-sorted":  # the same record, the hash key where sorting puts it
        record = json.loads(raw)
        raw = (canonical_json(record) + "\n").encode()
    elif edit == "nan":
        raw = raw.replace(b'"seq":', b'"x":NaN,"seq":', 1)
    assert parse_line(raw) == _general(raw)
