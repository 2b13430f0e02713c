"""docs/log-format.md: its example log, verifier snippet and field tables match the real writer."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scrapy_optout import Decision, Policy, Reason
from scrapy_optout._core.documents import Document, document_from_fetch
from scrapy_optout._core.engine import check_request, evaluate_response
from scrapy_optout._core.models import Doc, Evidence, Fetched, Need
from scrapy_optout._drive import drive
from scrapy_optout.audit import ZERO_HASH, AuditWriter, read, verify
from scrapy_optout.audit.record import REASON_KEYS
from scrapy_optout.audit.segments import segments

DOC = (Path(__file__).parent.parent / "docs" / "log-format.md").read_text(encoding="utf-8")
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
POLICY = Policy(user_agent="MyAIBot")
CANONICAL = 'json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)'


def block(kind: str) -> str:
    """The one fenced code block of *kind* in the document."""
    [found] = re.findall(rf"^ *```{kind}\n(.*?)^ *```", DOC, re.DOTALL | re.MULTILINE)
    return found


def table(header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts ``| <header> |``."""
    lines = DOC.splitlines()
    tables = [i for i, line in enumerate(lines) if line.startswith(f"| {header} |")]
    assert tables, header
    rows = []
    for line in lines[tables[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def tables(header: str) -> list[list[list[str]]]:
    """Every Markdown table whose header row is exactly ``| <header> | type | meaning |``."""
    lines = DOC.splitlines()
    found = []
    for start, line in enumerate(lines):
        if line == f"| {header} | type | meaning |":
            rows = []
            for row in lines[start + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
            found.append(rows)
    return found


def field_names(rows: list[list[str]]) -> list[str]:
    """The backticked name in the first cell of each row."""
    return [re.fullmatch(r"`([^`]+)`", row[0]).group(1) for row in rows]


def record_fields() -> dict[str, str]:
    """Section 2's record table: field -> ``always`` or ``optional``."""
    rows = table("field | type | present")
    return dict(zip(field_names(rows), (row[2] for row in rows), strict=True))


def snippet() -> dict[str, object]:
    """The namespace of the document's verification program, loaded (not run as a script)."""
    namespace: dict[str, object] = {"__name__": "docs_snippet"}
    exec(compile(block("python"), "log-format.md", "exec"), namespace)  # noqa: S102
    return namespace


def robots_decision(url: str) -> Decision:
    """The real request-stage decision for *url* on an origin serving ROBOTS (others 404)."""

    def resolve(need: Need) -> Document:
        if need.doc == Doc.ROBOTS:
            return document_from_fetch(need.doc, Fetched(need.url, 200, ROBOTS))
        return document_from_fetch(need.doc, Fetched(need.url, 404))

    return drive(check_request(url, POLICY), resolve)


def clock() -> Iterator[datetime]:
    """Distinct UTC times, one second apart."""
    second = 0
    while True:
        yield datetime(2026, 11, 29, 10, second // 60, second % 60, 500, tzinfo=timezone.utc)
        second += 1


def write_log(path: Path, decisions: list[Decision], **kwargs: object) -> list[dict[str, object]]:
    """Write *decisions* with the real AuditWriter; return the records it wrote."""
    times = clock()
    with AuditWriter(
        path,
        agent=POLICY.user_agent,
        purpose=POLICY.purpose,
        policy=POLICY.digest,
        clock=lambda: next(times),
        **kwargs,
    ) as writer:
        return [writer.write(decision) for decision in decisions]


def sample_decisions() -> list[Decision]:
    """A skip with evidence, an allow and a skip with licensing, errors and a non-ASCII URL."""
    header = Reason("tdmrep_header", "tdmrep", "https://example.org/café", "tdm-reservation: 1")
    return [
        robots_decision("https://example.org/private/a"),
        Decision("https://example.org/a", True, "allow", "response"),
        Decision(
            "https://example.org/café",
            False,
            "skip",
            "response",
            (header,),
            ("https://example.org/tdm-policy.json",),
            ("tdmrep.invalid_header: tdm-reservation 'yes'",),
        ),
    ]


def example_log(folder: Path) -> Path:
    """The document's example log and its evidence file, written to *folder*."""
    log = folder / "optout-audit.jsonl"
    log.write_text(block("jsonl"), encoding="utf-8")
    evidence = block("text").encode()
    store = folder / "optout-audit.jsonl.evidence"
    store.mkdir()
    (store / hashlib.sha256(evidence).hexdigest()).write_bytes(evidence)
    return log


# --- the example ----------------------------------------------------------------------------


def test_the_example_log_verifies_with_its_evidence(tmp_path):
    """The example log, with its robots.txt as evidence file, is intact for verify()."""
    result = verify(example_log(tmp_path))
    assert (result.ok, result.records, result.problem) == (True, 3, None)


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        pytest.param("articles/1", "articles/7", 2, id="url"),
        pytest.param('"seq":3', '"seq":4', 3, id="seq"),
        pytest.param("(line 2)", "(line 3)", 1, id="detail"),
    ],
)
def test_a_one_byte_edit_of_the_example_fails_verification(tmp_path, old, new, line):
    """Changing one byte of one example record makes verify() name that line."""
    log = example_log(tmp_path)
    text = log.read_text(encoding="utf-8")
    assert text.count(old) == 1
    log.write_text(text.replace(old, new), encoding="utf-8")
    result = verify(log)
    assert not result.ok
    assert result.first_bad_line == line
    assert result.problem == f"line {line}: hash mismatch"


def test_the_evidence_named_in_the_text_is_the_robots_txt_shown():
    """The evidence file named in section 10 is the SHA-256 of the robots.txt block, as cited."""
    digest = hashlib.sha256(block("text").encode()).hexdigest()
    named = re.search(r"`LOG\.evidence/([0-9a-f]{64})`", DOC)
    assert named is not None
    assert named.group(1) == digest
    first = json.loads(block("jsonl").splitlines()[0])
    assert first["reasons"][0]["evidence"] == f"sha256:{digest}"
    assert block("text").encode() == ROBOTS


def test_the_example_is_what_the_writer_writes(tmp_path):
    """The real AuditWriter, given the example's decisions, times and run, writes it exactly."""
    records = [json.loads(line) for line in block("jsonl").splitlines()]
    assert {r["policy"] for r in records} == {POLICY.digest}
    assert {r["agent"] for r in records} == {POLICY.user_agent}
    # Python 3.10's fromisoformat() reads no "Z" suffix.
    stamps = iter([datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in records])
    decisions = [
        Decision(
            r["url"],
            r["action"] != "skip",
            r["action"],
            r["stage"],
            tuple(Reason(**reason) for reason in r["reasons"]),
            tuple(r.get("licensing", ())),
            tuple(r.get("errors", ())),
            (Evidence.of(block("text").encode()),),
        )
        for r in records
    ]
    log = tmp_path / "log.jsonl"
    with AuditWriter(
        log,
        agent=POLICY.user_agent,
        purpose=POLICY.purpose,
        policy=POLICY.digest,
        run=records[0]["run"],
        clock=lambda: next(stamps),
    ) as writer:
        for decision in decisions:
            writer.write(decision)
    assert log.read_text(encoding="utf-8") == block("jsonl")


def test_the_example_records_are_the_engines_decisions():
    """Each example record holds what the engine decides for the site section 10 describes."""
    first, second, third = (json.loads(line) for line in block("jsonl").splitlines())
    headers = re.search(r"answered `(tdm-reservation): ([^`]+)` and\s+`(tdm-policy): ([^`]+)`", DOC)
    assert headers is not None
    skipped = robots_decision(first["url"])
    allowed = evaluate_response(
        second["url"], 200, {}, b"", POLICY, pre=robots_decision(second["url"])
    )
    reserved = evaluate_response(
        third["url"],
        200,
        [headers.group(1, 2), headers.group(3, 4)],
        b"",
        POLICY,
        pre=robots_decision(third["url"]),
    )
    for decision, record in ((skipped, first), (allowed, second), (reserved, third)):
        reasons = [{key: getattr(r, key) for key in REASON_KEYS} for r in decision.reasons]
        assert (decision.stage, decision.action, reasons) == (
            record["stage"],
            record["action"],
            record["reasons"],
        )
        assert list(decision.licensing) == record.get("licensing", [])
        assert list(decision.errors) == record.get("errors", [])


# --- the chain and the verification program ------------------------------------------------


def test_the_chain_rules_are_the_ones_the_design_fixes():
    """Section 4 states the first prev, 64 zeros, and the exact canonical json.dumps call."""
    assert ZERO_HASH in DOC
    assert CANONICAL in DOC
    first = json.loads(block("jsonl").splitlines()[0])
    assert (first["seq"], first["prev"]) == (1, ZERO_HASH)


def test_the_snippet_accepts_a_log_the_writer_wrote(tmp_path):
    """The document's check() finds a real log, non-ASCII URL included, intact."""
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions())
    assert "café".encode() in log.read_bytes()
    check = snippet()["check"]
    assert check(str(log)) is None


@pytest.mark.parametrize("damage", ["edit", "remove", "swap", "garbage"])
def test_the_snippet_rejects_a_damaged_log(tmp_path, damage):
    """check() reports an edited, removed, reordered or non-JSON line, as verify() does."""
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions())
    lines = log.read_bytes().splitlines(keepends=True)
    if damage == "edit":
        lines[1] = lines[1].replace(b"example.org/a", b"example.org/b")
    elif damage == "remove":
        del lines[1]
    elif damage == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        lines[1] = b"{not json\n"
    log.write_bytes(b"".join(lines))
    problem = snippet()["check"](str(log))
    assert isinstance(problem, str)
    assert problem.startswith("line 2: ")
    assert not verify(log).ok


def test_the_snippet_runs_as_a_program(tmp_path):
    """Run as a script on a log path, it prints intact and exits 0, or exits 1 on damage."""
    script = tmp_path / "check_log.py"
    script.write_text(block("python"), encoding="utf-8")
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions())
    ok = subprocess.run([sys.executable, script, log], capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout) == (0, "intact\n")
    log.write_bytes(log.read_bytes().replace(b'"seq":1', b'"seq":9'))
    bad = subprocess.run([sys.executable, script, log], capture_output=True, text=True, check=False)
    assert (bad.returncode, bad.stdout) == (1, "line 1: hash mismatch\n")


# --- the fields -----------------------------------------------------------------------------


def test_the_always_fields_are_those_of_a_skip_with_evidence(tmp_path):
    """A real skip record with evidence has exactly the fields marked always."""
    [record] = write_log(tmp_path / "log.jsonl", [robots_decision("https://example.org/private/")])
    assert record["reasons"][0]["evidence"] is not None
    always = {name for name, present in record_fields().items() if present == "always"}
    assert set(record) == always
    [written] = read(tmp_path / "log.jsonl")
    assert set(written) == always


def test_the_field_table_names_every_field_the_writer_can_emit(tmp_path):
    """A record after a torn tail, with licensing, errors and a worker, has every field of the table."""
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions()[:1])
    with log.open("ab") as f:
        f.write(b'{"torn')
    records = write_log(log, sample_decisions()[2:], worker="host-a-4242")
    assert set(records[0]) == set(record_fields())
    assert set(record_fields().values()) == {"always", "optional"}


def test_the_repaired_table_describes_the_repair_marker_and_the_torn_file(tmp_path):
    """The repaired marker has its table's keys: the bytes cut and their SHA-256, kept in .torn."""
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions()[:1])
    torn = b'{"action":"sk'
    with log.open("ab") as f:
        f.write(torn)
    [record] = write_log(log, sample_decisions()[1:2])
    [repaired] = [rows for rows in tables("field") if field_names(rows) != list(REASON_KEYS)]
    assert set(record["repaired"]) == set(field_names(repaired))
    assert record["repaired"] == {"bytes": len(torn), "sha256": hashlib.sha256(torn).hexdigest()}
    assert (tmp_path / "log.jsonl.torn").read_bytes() == torn
    result = verify(log)
    assert (result.ok, result.records, result.repaired_tails) == (True, 2, 1)


def test_the_reason_table_names_the_keys_of_every_reason_object(tmp_path):
    """Section 3 lists exactly the keys of the reason objects the writer emits, in order."""
    [reasons] = [rows for rows in tables("field") if "code" in field_names(rows)]
    assert field_names(reasons) == list(REASON_KEYS)
    records = write_log(tmp_path / "log.jsonl", sample_decisions())
    for record in records:
        for reason in record["reasons"]:
            assert set(reason) == set(REASON_KEYS)


# --- evidence, repair and rotation claims ---------------------------------------------------


def test_evidence_no_reason_cites_is_stored_and_uncited_evidence_is_refused(tmp_path):
    """An allow's documents are stored without being named; a reason citing nothing is refused."""
    log = tmp_path / "log.jsonl"
    allow = Decision(
        "https://example.org/a", True, "allow", "response", evidence=(Evidence.of(ROBOTS),)
    )
    [record] = write_log(log, [allow])
    assert record["reasons"] == []
    stored = tmp_path / "log.jsonl.evidence" / hashlib.sha256(ROBOTS).hexdigest()
    assert stored.read_bytes() == ROBOTS
    cited = Reason(
        "ai_txt", "ai-txt", "https://example.org/ai.txt", "x", None, "sha256:" + "1" * 64
    )
    with pytest.raises(ValueError, match="was not given"):
        write_log(log, [Decision("https://example.org/b", False, "skip", "request", (cited,))])


def test_damage_before_the_last_line_is_never_repaired(tmp_path):
    """A bad line before the last one makes the writer refuse the log and leave it untouched."""
    log = tmp_path / "log.jsonl"
    write_log(log, sample_decisions())
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"example.org/a", b"example.org/b")
    damaged = b"".join(lines)
    log.write_bytes(damaged)
    with pytest.raises(ValueError, match="run verify"):
        write_log(log, sample_decisions()[:1])
    assert log.read_bytes() == damaged
    assert not os.path.exists(f"{log}.torn")


def test_rotated_segments_are_named_and_chained_as_section_7_says(tmp_path):
    """With rotation, LOG.2.gz, LOG.1.gz, LOG form one chain that verify and check() accept."""
    found = re.search(r"for example\s+`LOG\.2\.gz`, `LOG\.1\.gz`, `LOG`", DOC)
    assert found is not None
    log = tmp_path / "LOG"
    decision = robots_decision("https://example.org/private/" + "x" * 300)
    with AuditWriter(
        log, agent="MyAIBot", purpose="train-ai", policy=POLICY.digest, rotate_bytes=65_536
    ) as writer:
        while not (tmp_path / "LOG.2.gz").exists():
            writer.write(decision)
        for _ in range(3):  # the current segment holds records too
            writer.write(decision)
        writes = writer.seq
    names = [os.path.basename(name) for name in segments(log)]
    assert names == ["LOG.2.gz", "LOG.1.gz", "LOG"]
    assert verify(log).records == writes
    joined = tmp_path / "joined.jsonl"
    with joined.open("wb") as out:
        for name in segments(log):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(name, "rb") as segment:
                out.write(segment.read())
    assert snippet()["check"](str(joined)) is None
    assert os.listdir(tmp_path / "LOG.evidence") == [hashlib.sha256(ROBOTS).hexdigest()]


# --- merged logs (section 9) ----------------------------------------------------------------


def test_a_merged_record_is_the_input_record_plus_src_as_the_table_says(tmp_path):
    """Merging keeps every input field, renumbers the chain and adds src with the table's keys."""
    from scrapy_optout.audit.merge import merge

    first = write_log(tmp_path / "a.jsonl", [robots_decision("https://example.org/private/")])
    second = write_log(tmp_path / "b.jsonl", sample_decisions()[:1])
    merge([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], str(tmp_path / "m.jsonl"))
    merged = list(read(tmp_path / "m.jsonl"))
    keys = field_names(table("key | type | meaning"))
    for record, source in zip(merged, first + second, strict=True):
        assert sorted(record["src"]) == sorted(keys)
        assert record["src"] == {"run": source["run"], "seq": source["seq"], "hash": source["hash"]}
        assert {k: v for k, v in record.items() if k not in ("seq", "prev", "hash", "src")} == {
            k: v for k, v in source.items() if k not in ("seq", "prev", "hash")
        }
    assert [r["seq"] for r in merged] == [1, 2]
    assert verify(tmp_path / "m.jsonl").ok
