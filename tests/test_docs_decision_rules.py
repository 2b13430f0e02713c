"""docs/decision-rules.md: its tables and worked examples are what the code computes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from scrapy_optout import Licence, Policy, evaluate_response
from scrapy_optout._core import engine, rsl, rules
from scrapy_optout._core.documents import Document, document_from_fetch, registry_document
from scrapy_optout._core.models import (
    ALL_CODES,
    ALL_SIGNALS,
    Decision,
    Doc,
    Fetched,
    Need,
    RegistryAnswer,
    RegistryEntry,
)
from scrapy_optout._drive import drive
from scrapy_optout.licences import load_licences
from tests.embedded_c2pa import c2pa_signed
from tests.embedded_files import epub, pdf, png, xmp_packet

DOC = (Path(__file__).parent.parent / "docs" / "decision-rules.md").read_text(encoding="utf-8")
ORIGIN = "https://example.org"
PURPOSES = ("train-ai", "ai-input", "search", "tdm")
OTHER_SIGNALS = frozenset({"licence", "policy", "bypass"})
"""The ``Reason.signal`` of reasons no OPTOUT_SIGNALS name decides (DESIGN §5.2)."""
DOCS = {
    "registry": Doc.REGISTRY,
    "robots.txt": Doc.ROBOTS,
    "RSL licences": Doc.LICENCE,
    "tdmrep.json": Doc.TDMREP,
    "ai.txt": Doc.AI_TXT,
}
RSL_FREE = (
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    b'<permits type="usage">all</permits></license></content></rsl>'
)

Site = dict[str, "bytes | int | RegistryAnswer | None"]


# --- reading the document -------------------------------------------------------------------


def section(number: str) -> str:
    """The text of the section headed ``## <number>`` or ``### <number>``, up to the next one."""
    found = re.search(rf"^#+ {re.escape(number)} .*?(?=^#+ \d|\Z)", DOC, re.DOTALL | re.MULTILINE)
    assert found is not None, f"no section {number}"
    return found.group()


def table(text: str, header: str) -> list[list[str]]:
    """The body rows of the Markdown table in *text* whose header row starts ``| <header> |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def names(cell: str) -> list[str]:
    """The backticked names in a table cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


def purposes(cell: str) -> set[str]:
    """The purposes a cell names; ``all`` stands for every purpose, ``none``/``—`` for none."""
    return set(PURPOSES) if cell == "all" else set(names(cell))


def block(text: str, kind: str) -> str:
    """The one fenced code block of *kind* in *text*."""
    [found] = re.findall(rf"^```{kind}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    return found


def reason_table() -> dict[str, tuple[list[str], set[str]]]:
    """Section 12.1: code -> (signals listed, stages listed)."""
    rows = table(section("12.1"), "code")
    return {
        names(code)[0]: (names(signal), set(stage.split(", "))) for code, signal, stage, _ in rows
    }


# --- driving the code -----------------------------------------------------------------------


def request(url: str, policy: Policy, site: Site | None = None, **kwargs: object) -> Decision:
    """Drive the request-stage flow for *url*; *site* answers by document (absent: 404)."""
    site = site or {}

    def resolve(need: Need) -> Document:
        value = site.get(need.doc, 404)
        if need.doc == Doc.REGISTRY:
            assert value is None or isinstance(value, RegistryAnswer)
            return registry_document(value, source="registry.sqlite")
        if isinstance(value, bytes):
            return document_from_fetch(need.doc, Fetched(need.url, 200, value))
        assert isinstance(value, int)
        return document_from_fetch(need.doc, Fetched(need.url, value))

    return drive(engine.check_request(url, policy, **kwargs), resolve)


def policy(**overrides: object) -> Policy:
    """A policy for the token MyAIBot."""
    return Policy(user_agent="MyAIBot", **overrides)


def respond(path: str, headers: dict[str, str], body: bytes = b"", **overrides: object) -> Decision:
    """The public evaluate_response on a response at *path* of the example origin."""
    return evaluate_response(ORIGIN + path, 200, headers, body, policy(**overrides))


HTML = {"content-type": "text/html"}
ROBOTS_503 = {Doc.ROBOTS: 503}
LICENCE = Licence(licensor="Example Media", scope="domain", value="example.org", reference="EM-1")
TDM_ALL = b'[{"location": "/", "tdm-reservation": 1}]'
NOIMAGEAI_PAGE = ("/page.html", {**HTML, "x-robots-tag": "noimageai"}, b"<html><head></head>")
BAD_XMP = b"<x:xmpmeta garbage"
NOT_ALLOWED = {"use": "notAllowed"}

SCENARIOS: dict[str, list[Callable[[], Decision]]] = {
    "robots_disallow": [
        lambda: request(ORIGIN + "/x", policy(), {Doc.ROBOTS: b"User-agent: *\nDisallow: /\n"})
    ],
    "robots_unreachable": [lambda: request(ORIGIN + "/x", policy(), ROBOTS_503)],
    "robots_ai_agents": [
        lambda: request(ORIGIN + "/x", policy(), {Doc.ROBOTS: b"User-agent: GPTBot\nDisallow: /\n"})
    ],
    "tdmrep_file": [lambda: request(ORIGIN + "/x", policy(), {Doc.TDMREP: TDM_ALL})],
    "tdmrep_header": [lambda: respond("/x", {"tdm-reservation": "1"})],
    "tdmrep_meta": [
        lambda: respond("/x", HTML, b'<html><head><meta name="tdm-reservation" content="1">')
    ],
    "noai_header": [lambda: respond("/x", {"x-robots-tag": "noai"})],
    "noai_meta": [lambda: respond("/x", HTML, b'<html><head><meta name="robots" content="noai">')],
    "noimageai": [
        lambda: respond("/a.png", {"content-type": "image/png", "x-robots-tag": "noimageai"}),
        lambda: request(ORIGIN + "/a.jpg", policy(), page=respond(*NOIMAGEAI_PAGE)),
    ],
    "content_usage": [
        lambda: request(
            ORIGIN + "/x", policy(), {Doc.ROBOTS: b"User-agent: *\nContent-Usage: train-ai=n\n"}
        ),
        lambda: respond("/x", {"content-usage": "train-ai=n"}),
    ],
    "content_signal": [
        lambda: request(
            ORIGIN + "/x", policy(), {Doc.ROBOTS: b"User-agent: *\nContent-Signal: ai-train=no\n"}
        ),
        lambda: respond("/x", {"content-signal": "ai-train=no"}),
    ],
    "ai_txt": [
        lambda: request(ORIGIN + "/x", policy(), {Doc.AI_TXT: b"User-agent: *\nDisallow: /\n"})
    ],
    "registry": [
        lambda: request(
            ORIGIN + "/x",
            policy(registry="registry.sqlite"),
            {Doc.REGISTRY: RegistryAnswer((RegistryEntry("domain", "example.org"),))},
        )
    ],
    "signal_unavailable": [
        lambda: request(ORIGIN + "/x", policy(registry="registry.sqlite"), {Doc.REGISTRY: None}),
        lambda: request("ftp://example.org/x", policy()),
        lambda: request(ORIGIN + "/x", policy(signals={"ai-agents"}), ROBOTS_503),
        lambda: request(ORIGIN + "/x", policy(signals={"content-usage"}), ROBOTS_503),
        lambda: request(ORIGIN + "/x", policy(signals={"content-signal"}), ROBOTS_503),
        lambda: request(ORIGIN + "/x", policy(signals={"rsl"}), ROBOTS_503),
        lambda: request(ORIGIN + "/x", policy(), {Doc.TDMREP: 503}),
        lambda: request(ORIGIN + "/x", policy(), {Doc.AI_TXT: 503}),
        lambda: engine.evaluate_response(
            ORIGIN + "/c.jpg",
            200,
            {"content-type": "image/jpeg"},
            c2pa_signed("jpeg", {"cawg.ai_training": NOT_ALLOWED}),
            policy(),
            read_c2pa=None,
        ),
        lambda: respond("/b.png", {"content-type": "image/png"}, png(BAD_XMP)),
        lambda: respond("/b.pdf", {"content-type": "application/pdf"}, pdf(BAD_XMP)),
    ],
    "no_permission": [lambda: respond("/x", {}, mode="opt-in")],
    "licence": [
        lambda: request(ORIGIN + "/x", policy(licences=(LICENCE,)), {Doc.TDMREP: TDM_ALL}),
        lambda: respond("/x", {"tdm-reservation": "1"}, licences=(LICENCE,)),
    ],
    "bypass": [lambda: rules.bypass(ORIGIN + "/x")],
    "c2pa": [
        lambda: respond(
            "/c.jpg",
            {"content-type": "image/jpeg"},
            c2pa_signed("jpeg", {"cawg.ai_training": NOT_ALLOWED}),
        )
    ],
    "iptc": [
        lambda: respond(
            "/b.png", {"content-type": "image/png"}, png(xmp_packet(data_mining="DMI-PROHIBITED"))
        )
    ],
    "tdmrep_epub": [
        lambda: respond(
            "/b.epub", {"content-type": "application/epub+zip"}, epub(3, reservation="1")
        )
    ],
    "tdmrep_pdf": [
        lambda: respond(
            "/b.pdf", {"content-type": "application/pdf"}, pdf(xmp_packet(tdm_reservation="1"))
        )
    ],
    "rsl_licence": [
        lambda: request(
            ORIGIN + "/x",
            policy(),
            {Doc.ROBOTS: b"User-agent: *\nAllow: /\nLicense: https://example.org/licence.xml\n"},
        ),
        lambda: respond(
            "/x", {"link": '<https://example.org/l.xml>; rel="license"; type="application/rsl+xml"'}
        ),
    ],
}
"""For each reason code, decisions in which the code produces it (one per signal and stage)."""


# --- the reason codes -----------------------------------------------------------------------


def test_the_reason_table_lists_every_code_the_code_knows_once():
    """Section 12.1 names each reason code of models.Code exactly once, and no other."""
    codes = [names(row[0])[0] for row in table(section("12.1"), "code")]
    assert sorted(codes) == sorted(ALL_CODES)
    assert len(codes) == len(set(codes))


def test_the_signal_column_uses_only_signal_names_the_code_assigns():
    """Every signal in section 12.1 is an OPTOUT_SIGNALS name or licence, policy, bypass."""
    listed = {signal for signals, _ in reason_table().values() for signal in signals}
    assert listed <= ALL_SIGNALS | OTHER_SIGNALS
    assert listed >= OTHER_SIGNALS


@pytest.mark.parametrize("code", sorted(ALL_CODES))
def test_each_codes_signal_and_stages_are_those_the_code_produces(code):
    """The signals and stages listed for a code are exactly those of the decisions giving it."""
    signals, stages = reason_table()[code]
    seen_signals: set[str] = set()
    seen_stages: set[str] = set()
    for scenario in SCENARIOS[code]:
        decision = scenario()
        reason = next((r for r in decision.reasons if r.code == code), None)
        assert reason is not None, (code, decision)
        seen_signals.add(reason.signal)
        seen_stages.add(decision.stage)
    assert set(signals) == seen_signals
    assert stages == seen_stages


def test_a_bypass_is_an_allowed_request_stage_decision_with_one_reason():
    """A bypass Decision has action bypass, allowed True, stage request, one bypass reason."""
    decision = rules.bypass(ORIGIN + "/x")
    assert (decision.action, decision.allowed, decision.stage) == ("bypass", True, "request")
    assert [r.code for r in decision.reasons] == ["bypass"]


# --- signals and purposes -------------------------------------------------------------------


def test_the_optout_signals_listed_are_the_policys_known_signals():
    """The OPTOUT_SIGNALS names of section 1 are exactly those Policy accepts."""
    found = re.search(r"The `OPTOUT_SIGNALS` names are: (.*?)\. All", DOC, re.DOTALL)
    assert found is not None
    listed = names(found.group(1))
    assert sorted(listed) == sorted(ALL_SIGNALS)
    assert policy(signals=listed).signals == ALL_SIGNALS
    with pytest.raises(ValueError, match="signals"):
        policy(signals=[*listed, "noml"])


def test_the_purpose_table_is_what_bears_on_says():
    """Section 3's first table gives, per signal, the purposes rules.bears_on accepts."""
    rows = table(section("3."), "signal")
    assert sorted(names(row[0])[0] for row in rows) == sorted(ALL_SIGNALS)
    for signal_cell, purposes_cell in rows:
        signal = names(signal_cell)[0]
        expected = {p for p in PURPOSES if rules.bears_on(signal, p)}
        assert purposes(purposes_cell) == expected, signal


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_policy_runs_the_signals_the_purpose_table_gives(purpose):
    """Policy.checks for a purpose holds the signals whose row names that purpose."""
    rows = table(section("3."), "signal")
    listed = {names(cell)[0] for cell, purposes_cell in rows if purpose in purposes(purposes_cell)}
    assert policy(purpose=purpose).checks == listed


def test_the_label_table_is_the_vocabulary_the_code_reads():
    """Section 3's label table is CONTENT_USAGE_LABEL, CONTENT_SIGNAL_KEY, C2PA_KEYS, COVERED."""
    rows = table(section("3."), "purpose")
    assert [names(row[0])[0] for row in rows] == list(PURPOSES)
    for purpose_cell, usage, content_signal, c2pa, rsl_tokens in rows:
        purpose = names(purpose_cell)[0]
        assert names(usage) == [v for k, v in rules.CONTENT_USAGE_LABEL.items() if k == purpose]
        assert names(content_signal) == (
            [rules.CONTENT_SIGNAL_KEY[purpose]] if purpose in rules.CONTENT_SIGNAL_KEY else []
        )
        assert names(c2pa) == list(rules.C2PA_KEYS.get(purpose, ()))
        assert set(names(rsl_tokens)) == rsl.COVERED[purpose]


def test_the_iptc_table_is_the_terms_the_code_knows():
    """Section 3's IPTC table gives each term's reserved purposes (none for DMI-ALLOWED)."""
    rows = table(section("3."), "IPTC term")
    assert [names(row[0])[0] for row in rows] == list(rules.IPTC_RESERVES)
    for term_cell, purposes_cell in rows:
        term = names(term_cell)[0]
        assert purposes(purposes_cell) == set(rules.IPTC_RESERVES[term] or ()), term
        assert ("permission" in purposes_cell) == (rules.IPTC_RESERVES[term] is None), term


def test_documents_are_asked_for_in_the_order_section_2_gives():
    """The request flow asks registry, robots.txt, RSL licence, tdmrep.json, ai.txt in order."""
    found = re.search(r"The flow asks for documents in this order: (.*?)\.\s", DOC, re.DOTALL)
    assert found is not None
    expected = [DOCS[name] for name in re.sub(r"\s+", " ", found.group(1)).split(", ")]
    asked: list[str] = []
    site: Site = {
        Doc.REGISTRY: RegistryAnswer(),
        Doc.ROBOTS: b"User-agent: *\nAllow: /\nLicense: /licence.xml\n",
        Doc.LICENCE: RSL_FREE,
    }

    def resolve(need: Need) -> Document:
        asked.append(need.doc)
        if need.doc == Doc.REGISTRY:
            return registry_document(RegistryAnswer(), source="registry.sqlite")
        value = site.get(need.doc, 404)
        if isinstance(value, bytes):
            return document_from_fetch(need.doc, Fetched(need.url, 200, value))
        assert isinstance(value, int)
        return document_from_fetch(need.doc, Fetched(need.url, value))

    flow = engine.check_request(ORIGIN + "/x", policy(registry="registry.sqlite"))
    decision = drive(flow, resolve)
    assert decision.allowed
    assert asked == expected


# --- worked examples ------------------------------------------------------------------------


def example_rows() -> list[tuple[str, list[str]]]:
    """Every row of every worked example's table, with its section number."""
    rows = []
    for number in re.findall(r"^### (13\.\d+) ", DOC, re.MULTILINE):
        rows += [(number, row) for row in table(section(number), "URL")]
    return rows


def example_decision(number: str, row: list[str], folder: Path) -> Decision:
    """Compute the decision a worked example's table row is about."""
    text = section(number)
    path, purpose, mode = names(row[0])[0], names(row[1])[0], row[2]
    site: Site = {}
    for kind, doc in (("robots", Doc.ROBOTS), ("json", Doc.TDMREP)):
        if f"```{kind}\n" in text:
            site[doc] = block(text, kind).encode()
    licences = ()
    today = None
    if "```toml\n" in text:
        register = folder / "licences.toml"
        register.write_text(block(text, "toml"), encoding="utf-8")
        licences = load_licences(register)
        checked = re.search(r"checked on (\d{4}-\d\d-\d\d)", text)
        assert checked is not None
        today = date.fromisoformat(checked.group(1))
    rules_of_row = policy(purpose=purpose, mode=mode, licences=licences)
    if "```http\n" not in text:
        return request(ORIGIN + path, rules_of_row, site, today=today)
    page = re.search(r"The page `([^`]+)`", text)
    assert page is not None
    head, body = block(text, "http").split("\n\n", 1)
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in head.splitlines()[1:]]
    page_decision = evaluate_response(page.group(1), 200, headers, body.encode(), rules_of_row)
    if ORIGIN + path == page.group(1):
        return page_decision
    return request(ORIGIN + path, rules_of_row, site, page=page_decision, today=today)


def test_every_worked_example_has_rows():
    """Section 13 has four worked examples, each with a table of outcomes."""
    numbers = [number for number, _ in example_rows()]
    assert sorted(set(numbers)) == ["13.1", "13.2", "13.3", "13.4"]


@pytest.mark.parametrize(
    ("number", "row"), example_rows(), ids=lambda v: v if isinstance(v, str) else "-".join(v[:3])
)
def test_a_worked_example_row_is_what_the_code_decides(number, row, tmp_path):
    """The stage, action and reason codes (in order) of an example row are the code's own."""
    decision = example_decision(number, row, tmp_path)
    expected_codes = names(row[5])
    assert (decision.stage, decision.action, [r.code for r in decision.reasons]) == (
        row[3],
        row[4],
        expected_codes,
    )


def test_the_first_match_example_records_the_ambiguity_and_the_policy():
    """In 13.2, /a/b/c logs tdmrep.order_ambiguity, and /c/1 carries its tdm-policy."""
    tdmrep = block(section("13.2"), "json").encode()
    first = request(ORIGIN + "/a/b/c", policy(), {Doc.TDMREP: tdmrep})
    assert any(e.startswith("tdmrep.order_ambiguity") for e in first.errors)
    assert first.permissions
    reserved = request(ORIGIN + "/c/1", policy(), {Doc.TDMREP: tdmrep})
    [reason] = reserved.reasons
    assert reason.policy_url == "https://example.org/tdm-policy.json"
    assert reserved.licensing == (reason.policy_url,)
