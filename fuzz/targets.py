"""One fuzz target per parser of ``scrapy_optout._core`` (and the registry protocol's reader).

A target takes one generated case and asserts the core's contract (DESIGN §2 "the core never
raises on remote input", §5.2 bounds, §9 "never silently allow"):

* it never raises, except the exceptions its docstring documents;
* it returns the documented types, with bounded output (error lists, kept values);
* where an oracle is cheap, the answer is never "allow" when the input holds a clear reservation
  (a ``Disallow: /`` group, ``noai``, ``tdm-reservation: 1``, an IPTC prohibition...).

:data:`TARGETS` lists them; ``fuzz/run.py`` runs each for a bounded time.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import strategies as st
from lxml import etree
from scrapy import Request

from fuzz import strategies as s
from scrapy_optout._core import (
    aipref,
    aitxt,
    c2pa,
    containers,
    documents,
    embedded,
    engine,
    epub,
    headers,
    html,
    licensing,
    patterns,
    pdf,
    robots,
    robots_tags,
    rsl,
    rules,
    safexml,
    scopes,
    tdmrep,
    xmp,
)
from scrapy_optout._core.agents import parse_agents
from scrapy_optout._core.iptc import data_mining
from scrapy_optout._core.models import ALL_CODES, Decision, Fetched, RegistryAnswer, Verdict
from scrapy_optout._core.policy import Policy
from scrapy_optout._core.response import evaluate_response
from scrapy_optout.registry import protocol

TOKEN = s.TOKEN
POLICY = Policy(user_agent=TOKEN)
MAX_DETAIL = 4096
"""Longest ``Reason.detail`` accepted: remote text must be clipped before it reaches the log."""
SECRET = "root:x:0:0"
"""What /etc/passwd starts with: an external entity must never bring it in."""


@dataclass(frozen=True)
class Target:
    """A fuzz target: the parser it covers, how its cases are made, and the check of one case."""

    name: str
    covers: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


TARGETS: list[Target] = []


def target(name: str, covers: str, strategy: st.SearchStrategy[Any]) -> Callable[..., Any]:
    """Register the decorated check as the target *name* over *strategy*."""

    def register(check: Callable[[Any], None]) -> Callable[[Any], None]:
        TARGETS.append(Target(name, covers, strategy, check))
        return check

    return register


def _strings(values: object, limit: int = 200) -> None:
    assert isinstance(values, tuple), type(values)
    assert len(values) <= limit, len(values)
    assert all(isinstance(v, str) for v in values), values


def _decision(decision: Decision) -> None:
    assert isinstance(decision, Decision)
    assert isinstance(decision.allowed, bool)
    assert decision.action in ("allow", "skip", "bypass"), decision.action
    assert decision.allowed == (decision.action != "skip")
    for reason in decision.reasons:
        assert reason.code in ALL_CODES, reason.code
        assert isinstance(reason.detail, str)
        assert len(reason.detail) <= MAX_DETAIL, len(reason.detail)
    _strings(decision.errors, 2000)


# -- robots.txt ---------------------------------------------------------------------------------------


@target(
    "robots",
    "robots.parse_robots, RobotsTxt.select/explicit/named, Selection.match/extension_lines",
    st.tuples(
        s.mutated(s.robots_bodies()) | st.binary(max_size=2000),
        st.sampled_from([TOKEN, "myaibot/2", "*", "", "GPTBot", " x"]),
        s.URL,
        st.booleans(),
    ),
)
def check_robots(case: tuple[bytes, str, str, bool]) -> None:
    """Any body parses; selection and matching answer with the documented types."""
    body, token, url, cut = case
    doc = robots.parse_robots(body, cut=cut)
    assert isinstance(doc, robots.RobotsTxt)
    _strings(doc.errors, 20)
    assert sum(len(g.rules) + len(g.extensions) for g in doc.groups) <= robots.MAX_RULES
    target_path = patterns.target_of(url)
    for selection in (doc.select(token), doc.explicit(token) or doc.select("*")):
        assert isinstance(selection.allowed(target_path), bool)
        rule = selection.match(target_path)
        assert rule is None or isinstance(rule.raw, str)
        for field in ("content-usage", "content-signal", "license"):
            for line in selection.extension_lines(field, target_path):
                assert isinstance(line.value, str)
    named = doc.named(frozenset({"gptbot", "ccbot", "myaibot"}))
    assert all(token in {"gptbot", "ccbot", "myaibot"} for token, _ in named)


@target(
    "robots_reservation",
    "robots.parse_robots: a Disallow: / group for our token among noise",
    st.tuples(
        st.sampled_from([TOKEN, "*"]).flatmap(
            lambda agent: st.tuples(st.just(agent), s.reserving_robots(agent))
        ),
        s.HTTP_URL,
        st.booleans(),
    ),
)
def check_robots_reservation(case: tuple[tuple[str, bytes], str, bool]) -> None:
    """A group for our token (or ``*``) holding ``Disallow: /`` and no Allow never allows."""
    (_agent, body), url, cut = case
    doc = robots.parse_robots(body, cut=cut)
    target_path = patterns.target_of(url)
    if target_path != "/robots.txt":
        assert not doc.select(TOKEN).allowed(target_path), (body, target_path)


@target(
    "content_usage_robots",
    "robots extension lines + aipref.parse_content_usage / parse_content_signal",
    st.tuples(s.reserving_robots(TOKEN), s.CONTENT_USAGE, s.CONTENT_SIGNAL, s.HTTP_URL),
)
def check_robots_extensions(case: tuple[bytes, str, str, str]) -> None:
    """Random Content-Usage/Content-Signal lines in a group parse into verdicts, never raise."""
    body, usage, signal, url = case
    text = body.decode("utf-8", "replace").replace("Disallow: /\n", "Disallow: /x\n", 1)
    text += f"\nContent-Usage: {usage}\nContent-Signal: {signal}\n"
    selection = robots.parse_robots(text.encode()).select(TOKEN)
    target_path = patterns.target_of(url)
    for line in selection.extension_lines("content-usage", target_path):
        assert isinstance(aipref.parse_content_usage(line.value).get("train-ai"), Verdict)
    for line in selection.extension_lines("content-signal", target_path):
        assert isinstance(aipref.parse_content_signal(line.value).get("ai-train"), Verdict)


# -- path patterns --------------------------------------------------------------------------------------


def _reference_match(pattern: str, target_path: str) -> bool:
    """RFC 9309 matching by regular expression: ``*`` any run, a final ``$`` the end."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(map(re.escape, body.split("*"))) + (r"\Z" if anchored else "")
    return re.match(regex, target_path, re.DOTALL) is not None


@target(
    "patterns",
    "patterns.normalize/target_of/Pattern.compile/matches against a regex reference",
    st.tuples(s.PATH | s.TEXT, s.PATH | s.TEXT, s.URL),
)
def check_patterns(case: tuple[str, str, str]) -> None:
    """The scan matcher agrees with a regex over the same normalised pattern and path."""
    raw, path, url = case
    pattern = patterns.Pattern.compile(raw)
    target_path = patterns.normalize(path, is_pattern=False)
    assert pattern.matches(target_path) == _reference_match(pattern.text, target_path), (
        pattern.text,
        target_path,
    )
    assert isinstance(patterns.target_of(url), str)
    assert pattern.length == len(pattern.text)


# -- TDMRep ---------------------------------------------------------------------------------------------


@target(
    "tdmrep_file",
    "tdmrep.parse_tdmrep + match_tdmrep",
    st.tuples(s.mutated(s.tdmrep_bodies()) | st.binary(max_size=500), s.URL),
)
def check_tdmrep_file(case: tuple[bytes, str]) -> None:
    """Any body gives bounded rules and errors; a match gives 0, 1 or unset."""
    body, url = case
    doc = tdmrep.parse_tdmrep(body)
    assert len(doc.rules) <= tdmrep.MAX_RULES
    _strings(doc.errors, tdmrep.MAX_ERRORS + 1)
    value = tdmrep.match_tdmrep(doc, url)
    assert value.reservation in (None, 0, 1)
    assert value.policy is None or isinstance(value.policy, str)
    assert len(value.detail) <= 300
    _strings(value.errors, tdmrep.MAX_ERRORS + 1)


@target(
    "tdmrep_file_reservation",
    "tdmrep.parse_tdmrep: a first rule reserving every path",
    st.tuples(
        st.sampled_from(["/", "*", "/*"]),
        st.lists(s.TDM_RULE | s.JSON, max_size=6),
        s.HTTP_URL,
    ),
)
def check_tdmrep_reservation(case: tuple[str, list[Any], str]) -> None:
    """When the first rule's location covers every path with reservation 1, the URL is reserved."""
    location, rest, url = case
    body = json.dumps([{"location": location, "tdm-reservation": 1}, *rest]).encode()
    assert tdmrep.match_tdmrep(tdmrep.parse_tdmrep(body), url).reservation == 1


@target(
    "tdmrep_headers_meta",
    "tdmrep.tdm_from_headers + tdm_from_meta",
    st.tuples(
        st.lists(s.TDM_HEADER_LINE, max_size=5),
        st.lists(s.POLICY_LINE, max_size=3),
        st.lists(st.tuples(st.sampled_from(["tdm-reservation", "TDM-Policy", "robots"]) | s.SHORT, s.TEXT)),
        st.booleans(),
    ),
)
def check_tdm_headers(case: tuple[list[str], list[str], list[tuple[str, str]], bool]) -> None:
    """A ``1`` member anywhere reserves; a policy kept is always an http(s) URL."""
    lines, policies, metas, reserve = case
    if reserve:
        lines = [*lines, " 1 "]
        metas = [*metas, ("TDM-Reservation", "1")]
    for value in (tdmrep.tdm_from_headers(lines, policies), tdmrep.tdm_from_meta(metas)):
        assert value.reservation in (None, 0, 1)
        if reserve:
            assert value.reservation == 1, (lines, metas)
        assert value.policy is None or value.policy.lower().startswith(("http://", "https://"))
        _strings(value.errors, tdmrep.MAX_ERRORS + 1)


# -- noai / noimageai -----------------------------------------------------------------------------------


@target(
    "robots_tags",
    "robots_tags.parse_x_robots_tag + parse_meta_robots",
    st.tuples(
        st.lists(s.ROBOTS_TAG_LINE, max_size=6),
        st.lists(st.tuples(st.sampled_from(["robots", TOKEN, "googlebot"]) | s.SHORT, s.ROBOTS_TAG_LINE)),
        st.sampled_from(["", "noai", f"{TOKEN}: noai", f"{TOKEN.upper()}: NOAI"]),
    ),
)
def check_robots_tags(case: tuple[list[str], list[tuple[str, str]], str]) -> None:
    """A ``noai`` line of its own (or addressed to us) always sets ``noai``."""
    lines, metas, extra = case
    if extra:
        lines = [*lines, extra]
        metas = [*metas, ("robots" if ":" not in extra else TOKEN, extra.split(":")[-1])]
    for found in (
        robots_tags.parse_x_robots_tag(lines, TOKEN),
        robots_tags.parse_meta_robots(metas, TOKEN),
    ):
        assert isinstance(found.noai, bool) and isinstance(found.noimageai, bool)
        _strings(found.matched, robots_tags.MAX_MATCHED)
        if extra:
            assert found.noai, (lines, metas)


# -- aipref ---------------------------------------------------------------------------------------------


@target(
    "aipref",
    "aipref.parse_content_usage / parse_content_usage_header / parse_content_signal",
    st.tuples(st.lists(s.CONTENT_USAGE, max_size=5), s.CONTENT_SIGNAL, st.booleans()),
)
def check_aipref(case: tuple[list[str], str, bool]) -> None:
    """Only known labels get verdicts; a ``train-ai=n`` line or ``ai-train=no`` member reserves."""
    lines, signal, reserve = case
    if reserve:
        lines = [*lines, "train-ai=n"]
        signal = f"{signal},ai-train=no"
    usage = aipref.parse_content_usage_header(lines)
    signals = aipref.parse_content_signal(signal)
    for prefs, labels in (
        (usage, aipref.CONTENT_USAGE_LABELS),
        (signals, aipref.CONTENT_SIGNAL_KEYS),
    ):
        assert all(label in labels for label, _ in prefs.verdicts), prefs.verdicts
        assert len(prefs.extras) <= aipref.MAX_EXTRAS
        assert all(len(k) <= 256 and len(v) <= 256 for k, v in prefs.extras)
        _strings(prefs.errors, 50)
    for line in lines:
        assert isinstance(aipref.parse_content_usage(line).get("search"), Verdict)
    if reserve:
        assert usage.get("train-ai") is Verdict.RESERVED, lines
        assert signals.get("ai-train") is Verdict.RESERVED, signal


# -- ai.txt ---------------------------------------------------------------------------------------------


@target(
    "aitxt",
    "aitxt.parse_ai_txt + ai_txt_verdict",
    st.tuples(
        s.mutated(s.robots_bodies()) | st.binary(max_size=1000),
        s.reserving_robots("*") | s.reserving_robots("*/"),
        s.HTTP_URL,
    ),
)
def check_aitxt(case: tuple[bytes, bytes, str]) -> None:
    """Any body parses; a ``*`` (or ``*/``) group with ``Disallow: /`` reserves every path."""
    noise, reserving, url = case
    target_path = patterns.target_of(url)
    verdict, rule = aitxt.ai_txt_verdict(aitxt.parse_ai_txt(noise), TOKEN, target_path)
    assert isinstance(verdict, Verdict)
    assert (rule is None) == (verdict is Verdict.UNKNOWN)
    doc = aitxt.parse_ai_txt(reserving)
    assert doc.recognized
    assert aitxt.ai_txt_verdict(doc, TOKEN, target_path)[0] is Verdict.RESERVED, reserving


# -- HTML head scan -------------------------------------------------------------------------------------


@target(
    "html_head",
    "html.scan_head (+ the needles shortcut) on random and mutated heads",
    st.tuples(
        s.mutated(s.html_heads()) | st.binary(max_size=3000),
        st.sampled_from([None, "utf-8", "utf-16", "windows-1252", "x-unknown", "utf-7"]),
        st.sampled_from([0, -1, 1, 65_536, 1_048_576]),
    ),
)
def check_html_head(case: tuple[bytes, str | None, int]) -> None:
    """Any bytes scan into bounded tags; the needles shortcut drops no tag holding a needle."""
    body, encoding, limit = case
    full = html.scan_head(body, limit=limit, encoding=encoding)
    needles = (b"noai", b"noimageai", b"tdm-", b"rsl+xml")
    quick = html.scan_head(body, limit=limit, encoding=encoding, needles=needles)
    for scan in (full, quick):
        assert len(scan.metas) + len(scan.links) <= html.MAX_HEAD_TAGS
        assert all(isinstance(n, str) and isinstance(c, str) for n, c in scan.metas)
        assert all(len(link) == 3 for link in scan.links)
        _strings(scan.errors, 20)
    assert full.complete == quick.complete
    wanted = [m for m in full.metas if any(n.decode() in (m[0] + m[1]).lower() for n in needles)]
    assert all(m in quick.metas for m in wanted), (wanted, quick.metas)


@target(
    "html_head_reservation",
    "html.scan_head + robots_tags.parse_meta_robots + tdmrep.tdm_from_meta",
    s.reserving_heads(),
)
def check_html_reservation(case: tuple[bytes, str | None]) -> None:
    """A noai meta and a tdm-reservation meta among balanced markup are both found."""
    body, hint = case
    for needles in (None, (b"noai", b"noimageai", b"tdm-", b"rsl+xml")):
        scan = html.scan_head(body, encoding=hint, needles=needles)
        assert robots_tags.parse_meta_robots(scan.metas, TOKEN).noai, (body, scan)
        assert tdmrep.tdm_from_meta(scan.metas).reservation == 1, (body, scan)


# -- RSL ------------------------------------------------------------------------------------------------


@target(
    "rsl",
    "rsl.parse_rsl + rsl_outcome",
    st.tuples(
        s.mutated(s.rsl_documents()) | st.binary(max_size=500),
        s.URL,
        st.sampled_from(["train-ai", "ai-input", "search", "tdm", "other"]),
    ),
)
def check_rsl(case: tuple[bytes, str, str]) -> None:
    """Any body gives a document and an outcome; entities are never expanded nor fetched."""
    body, url, purpose = case
    doc = rsl.parse_rsl(body)
    _strings(doc.errors, rsl.MAX_ERRORS + 1)
    assert len(doc.contents) <= rsl.MAX_CONTENTS
    assert doc.valid == bool(doc.contents)
    for content in doc.contents:
        assert SECRET not in content.url
        for licence in content.licences:
            assert all(SECRET not in t for terms in licence.permits.values() for t in terms)
    outcome = rsl.rsl_outcome(doc, url, purpose)
    assert outcome.verdict in (rsl.ALLOW, rsl.RESERVED, rsl.UNKNOWN, rsl.LICENCE_REQUIRED)
    assert isinstance(outcome.detail, str)


@target(
    "rsl_reservation",
    "rsl.parse_rsl + rsl_outcome: every licence prohibits all usage",
    st.tuples(s.rsl_documents(reserving=True), s.HTTP_URL),
)
def check_rsl_reservation(case: tuple[bytes, str]) -> None:
    """A content ``/`` whose licences all prohibit ``all`` never allows training.

    Reserved when every matching content offers a licence; a content offering none is unlicensed
    (``licence_required``), which skips too.
    """
    body, url = case
    doc = rsl.parse_rsl(body)
    assert doc.valid, doc.errors
    verdict = rsl.rsl_outcome(doc, url, "train-ai").verdict
    assert verdict in (rsl.RESERVED, rsl.LICENCE_REQUIRED), body
    if all(c.licences for c in doc.contents):
        assert verdict == rsl.RESERVED, body


# -- XML: safexml, XMP, IPTC, OPF -----------------------------------------------------------------------


@target(
    "safexml",
    "safexml.parse_xml: raises only XMLSyntaxError/ValueError, expands no entity",
    s.mutated(s.xmp_packets() | s.rsl_documents() | s.opf_documents()) | st.binary(max_size=300),
)
def check_safexml(data: bytes) -> None:
    """Hostile XML either fails with the documented errors or parses inert and small."""
    try:
        root = safexml.parse_xml(data)
    except (etree.XMLSyntaxError, ValueError):
        return
    text = etree.tostring(root, method="text", encoding="unicode")
    assert SECRET not in text
    assert len(text) <= 2 * len(data) + 100, len(text)


@target(
    "xmp_iptc",
    "xmp.read_xmp + iptc.data_mining + rules.iptc_verdict",
    st.tuples(s.mutated(s.xmp_packets()) | st.binary(max_size=300), s.xmp_packets(reserve=True)),
)
def check_xmp(case: tuple[bytes, bytes]) -> None:
    """Any packet reads into bounded properties; a prohibiting DataMining term reserves."""
    noise, reserving = case
    packet = xmp.read_xmp(noise)
    _strings(packet.errors, 1000)
    for values in packet.properties.values():
        assert len(values) <= xmp.MAX_VALUES
        assert all(SECRET not in v for v in values)
    terms, constraints = data_mining(packet)
    assert len(constraints) <= 200
    assert isinstance(rules.iptc_verdict(terms, "train-ai")[0], Verdict)
    found = xmp.read_xmp(reserving)
    assert not found.errors, found.errors
    verdict = rules.iptc_verdict(data_mining(found)[0], "train-ai")[0]
    assert verdict is Verdict.RESERVED, reserving


# -- images ---------------------------------------------------------------------------------------------


@target(
    "containers",
    "containers.read_image_metadata on JPEG/PNG/WebP/TIFF skeletons, mutated and cut",
    st.tuples(s.images(), st.integers(0, 1 << 16), st.booleans()),
)
def check_containers(case: tuple[tuple[str, bytes, bytes], int, bool]) -> None:
    """A walk never raises; ``need`` asks for more than it has; an intact file yields its XMP."""
    (kind, data, packet), cut, mutate = case
    if mutate:
        data = s._mutate(data, [("flip", cut, cut % 251), ("insert", cut * 7, 0xFF)])
    full = containers.read_image_metadata(data)
    assert full.kind in ("jpeg", "png", "webp", "tiff", "")
    assert full.need == 0 or full.need > len(data), (full.need, len(data))
    _strings(full.errors, 20)
    if not mutate:
        assert full.kind == kind
        assert full.need == 0
        if kind != "tiff" or len(packet) > 4:
            assert packet in full.xmp, full
    prefix = data[: cut % (len(data) + 1)]
    part = containers.read_image_metadata(prefix)
    assert part.need == 0 or part.need > len(prefix), (part.need, len(prefix))
    if not mutate and packet in full.xmp and part.kind == kind and part.need == 0:
        assert packet in part.xmp, (len(prefix), part)


# -- EPUB -----------------------------------------------------------------------------------------------


@target(
    "epub",
    "epub.read_epub (whole and streamed prefixes) + epub.read_opf",
    st.tuples(
        st.booleans().flatmap(lambda r: st.tuples(st.just(r), s.epub_files(reserve=r))),
        st.integers(0, 1 << 16),
        st.booleans(),
        s.mutated(s.opf_documents()) | st.binary(max_size=200),
    ),
)
def check_epub(case: tuple[tuple[bool, bytes], int, bool, bytes]) -> None:
    """An intact reserving EPUB reserves; a prefix asks for more than it has; nothing raises."""
    (reserve, data), cut, mutate, opf = case
    if mutate:
        data = s._mutate(data, [("flip", cut, cut % 251), ("delete", cut * 3, 3)])
    whole = epub.read_epub(data, complete=True)
    assert whole.need == 0
    _strings(whole.errors, 200)
    if reserve and not mutate:
        assert whole.tdm.reservation == 1, whole
    prefix = data[: cut % (len(data) + 1)]
    part = epub.read_epub(prefix, complete=False)
    assert part.need == 0 or part.need > len(prefix), (part.need, len(prefix))
    if reserve and not mutate and part.need == 0 and not part.errors:
        assert part.tdm.reservation == 1, part
    errors: list[str] = []
    assert epub.read_opf(opf, errors).reservation in (None, 0, 1)


# -- PDF ------------------------------------------------------------------------------------------------


@target(
    "pdf",
    "pdf.read_pdf_metadata + embedded.read_embedded('pdf')",
    st.tuples(
        st.booleans().flatmap(
            lambda r: st.tuples(st.just(r), s.pdfs(s.TDM_PACKET if r else None))
        ),
        st.integers(0, 1 << 16),
        st.booleans(),
    ),
)
def check_pdf(case: tuple[tuple[bool, bytes], int, bool]) -> None:
    """Metadata streams are bounded; an intact one holding ``tdm:reservation 1`` reserves."""
    (reserve, data), cut, mutate = case
    if mutate:
        data = s._mutate(data, [("flip", cut, cut % 251), ("cut", cut * 5, 0)])
    found = pdf.read_pdf_metadata(data)
    assert len(found.packets) <= pdf.MAX_STREAMS
    assert all(len(p) <= xmp.MAX_PACKET_BYTES for _, p in found.packets)
    _strings(found.errors, pdf.MAX_STREAMS + 2)
    out = embedded.read_embedded(
        "pdf", "https://e.org/a.pdf", data, "train-ai", POLICY.checks, complete=True, read_c2pa=None
    )
    if reserve and not mutate:
        assert out.tdm is not None and out.tdm[1].reservation == 1, (found, out)


# -- C2PA -----------------------------------------------------------------------------------------------


@target(
    "c2pa",
    "c2pa.training_mining + rules.c2pa_verdict on random assertion trees",
    st.tuples(s.C2PA_ASSERTIONS, st.booleans(), st.booleans(), st.integers(0, 5)),
)
def check_c2pa(case: tuple[list[tuple[str, Any]], bool, bool, int]) -> None:
    """A notAllowed ai_training entry is never replaced by a permission, validated or not."""
    assertions, validated, reserve, at = case
    if reserve:
        restriction = ("cawg.training-mining", {"entries": {"cawg.ai_training": {"use": "notAllowed"}}})
        assertions = [*assertions[:at], restriction, *assertions[at:]]
    manifest = c2pa.C2paManifest(tuple(assertions), validated)
    entries, errors = c2pa.training_mining(manifest)
    assert all(isinstance(k, str) and v[0] in c2pa.USES for k, v in entries.items())
    assert all(len(v[1]) <= 200 for v in entries.values())
    assert all(isinstance(e, str) for e in errors)
    verdict, _ = rules.c2pa_verdict(entries, validated, "train-ai")
    if reserve:
        assert entries["ai_training"][0] in ("notAllowed", "constrained"), entries
        assert verdict is Verdict.RESERVED


# -- response headers and the whole response stage -----------------------------------------------------


@target(
    "headers",
    "headers.read_signal_headers on any container of any values",
    st.tuples(s.HEADER_CONTAINERS, st.booleans()),
)
def check_headers(case: tuple[Any, bool]) -> None:
    """Any container reads into bounded str field lines; a first ``tdm-reservation: 1`` is kept."""
    container, reserve = case
    if reserve:
        container = [("tdm-reservation", "1"), *(container if isinstance(container, list) else [])]
    found = headers.read_signal_headers(container)
    total = 0
    for name, values in found.fields.items():
        assert name in headers.SIGNAL_FIELDS
        _strings(values, 100_000)
        assert all(len(v) <= headers.MAX_VALUE_BYTES for v in values)
        total += sum(map(len, values))
    assert total <= headers.MAX_TOTAL_BYTES
    _strings(found.errors, 100_000)
    if reserve:
        assert "1" in found.get("tdm-reservation"), found


_BODIES = st.one_of(
    s.html_heads(),
    s.reserving_heads().map(lambda c: c[0]),
    s.images().map(lambda c: c[1]),
    s.pdfs(),
    s.epub_files(),
    st.binary(max_size=500),
)
_CONTENT_TYPES = st.sampled_from(
    [None, "text/html", "text/html; charset=utf-16", "image/jpeg", "image/png", "application/pdf",
     "application/epub+zip", "application/octet-stream", "text/plain"]
)  # fmt: skip


@target(
    "response",
    "response.evaluate_response: headers + head scan + embedded metadata + links",
    st.tuples(
        s.HTTP_URL | s.URL,
        st.sampled_from([200, 206, 301, 404, 500]),
        s.HEADER_PAIRS,
        _CONTENT_TYPES,
        s.mutated(_BODIES),
        st.booleans(),
        st.booleans(),
    ),
)
def check_response(case: tuple[str, int, list[tuple[str, str]], str | None, bytes, bool, bool]) -> None:
    """Any response decides; an ``X-Robots-Tag: noai`` response is never allowed for training."""
    url, status, pairs, content_type, body, complete, reserve = case
    if content_type is not None:
        pairs = [("Content-Type", content_type), *pairs]
    if reserve:
        pairs = [("X-Robots-Tag", "noai"), *pairs]
    decision = evaluate_response(url, status, pairs, body, POLICY, complete=complete)
    _decision(decision)
    if reserve:
        assert not decision.allowed, decision


# -- the request stage, every side document hostile -----------------------------------------------------

_ERRORS = st.sampled_from([None, None, None, "timeout", "network", "redirects", "scheme", "too_large"])
_STATUSES = st.sampled_from([200, 200, 200, 204, 301, 403, 404, 429, 500, 503, 0])
_SIDE = st.tuples(_STATUSES, _ERRORS, s.mutated(s.robots_bodies() | s.tdmrep_bodies() | s.rsl_documents()))


@target(
    "request_flow",
    "engine.check_request over documents.document_from_fetch of hostile side documents",
    st.tuples(
        s.HTTP_URL | s.URL,
        st.dictionaries(st.sampled_from(["robots", "tdmrep", "ai-txt", "licence"]), _SIDE),
        st.sampled_from(["none", "disallow", "unreachable"]),
        s.reserving_robots(TOKEN),
        st.sampled_from([None, (), ("domain",)]),
    ),
)
def check_request_flow(case: tuple[str, dict[str, Any], str, bytes, Any]) -> None:
    """Any side documents decide; a ``Disallow: /`` for us or an unreachable robots.txt skips."""
    url, sides, robots_case, reserving, registry = case
    policy = POLICY if registry is None else Policy(user_agent=TOKEN, registry="registry.sqlite")
    if robots_case == "disallow":
        sides = {**sides, "robots": (200, None, reserving)}
    elif robots_case == "unreachable":
        sides = {**sides, "robots": (503, None, b"")}
    flow = engine.check_request(url, policy)
    needs = 0
    try:
        need = next(flow)
        while True:
            needs += 1
            assert needs <= 50, "too many side documents for one URL"
            if need.doc == "registry":
                document = documents.registry_document(RegistryAnswer(()), source="registry")
            else:
                status, error, body = sides.get(need.doc, (404, None, b""))
                fetched = Fetched(url=need.url, status=status, body=body, error=error)
                document = documents.document_from_fetch(need.doc, fetched)
            need = flow.send(document)
    except StopIteration as stop:
        decision = stop.value
    _decision(decision)
    if robots_case != "none" and engine.origin_of(url) is not None:
        target_path = patterns.target_of(url)
        if robots_case == "unreachable" or target_path != "/robots.txt":
            assert not decision.allowed, (robots_case, url, decision)


# -- redirects, URLs, scopes, licence links -------------------------------------------------------------

_LOCATIONS = st.one_of(
    s.URL,
    st.builds(
        lambda pad, scheme, rest: pad + scheme + rest,
        st.sampled_from(["", " ", "\t", "\x00", "\n", "\x1f", "\u00a0"]),
        st.sampled_from(
            ["file:", "FILE:", "ftp:", "data:", "gopher:", "javascript:", "jar:", "ws:", "https:",
             "http:", "htt\tp:", "ht\ntps:", "//", "\\\\", "/\\", "http:\\\\", ""]
        ),
        st.sampled_from(["///etc/passwd", "//e.org/x", "text/plain,x", "//[::1", "e.org", "/x"]),
    ),
)  # fmt: skip


@target(
    "redirects",
    "documents.redirect_target + document_from_fetch: a followed hop is always http(s)",
    st.tuples(s.HTTP_URL, st.sampled_from([200, 301, 302, 303, 307, 308]), _LOCATIONS | st.none()),
)
def check_redirects(case: tuple[str, int, str | None]) -> None:
    """A hop to follow is http(s) for urllib and httpx alike; any other scheme is refused."""
    url, status, location = case
    hop = documents.redirect_target(url, url, status, location)
    if isinstance(hop, Fetched):  # refused: another scheme, or no URL at all
        assert hop.error in ("scheme", "network") and hop.url == url, hop
        return
    if hop is None:
        return
    assert isinstance(hop, str)
    # WHATWG URL parsing (browsers, w3lib) drops tabs and newlines and trims C0 controls and spaces.
    cleaned = re.sub("[\t\r\n]", "", hop).strip("".join(map(chr, range(0x21))))
    assert cleaned.split(":", 1)[0].lower() in ("http", "https"), hop
    try:
        parsed = httpx.URL(hop)
    except httpx.InvalidURL:
        parsed = None  # httpx will not request it either: a network failure, never another scheme
    assert parsed is None or parsed.scheme in ("http", "https"), (hop, parsed)
    try:
        scrapy_url = Request(hop).url  # what the Scrapy shell's engine would be asked for
    except ValueError:
        scrapy_url = "http:"
    assert scrapy_url.split(":", 1)[0] in ("http", "https"), (hop, scrapy_url)
    for doc in ("robots", "tdmrep", "ai-txt", "licence", "other"):
        documents.document_from_fetch(doc, Fetched(url=url, status=status, body=b"", error=None))


@target(
    "urls",
    "engine.origin_of, scopes.host_of/scope_matches, embedded.embedded_kind, agent_token",
    st.tuples(s.URL, st.sampled_from(["domain", "host", "prefix", "url", "x"]), s.URL | s.TEXT),
)
def check_urls(case: tuple[str, str, str]) -> None:
    """URL helpers answer any text with their documented types."""
    url, scope, value = case
    origin = engine.origin_of(url)
    assert origin is None or origin.key.startswith(("http://", "https://"))
    assert isinstance(scopes.host_of(url), str)
    assert isinstance(scopes.scope_matches(scope, value, url), bool)
    assert embedded.embedded_kind(value, url) in ("", "image", "pdf", "epub")
    assert isinstance(robots.agent_token(value), str)


@target(
    "licence_links",
    "licensing.licence_urls (robots License:) + link_licences (Link header)",
    st.tuples(st.lists(s.LINK_VALUE | s.URL, max_size=6), s.HTTP_URL),
)
def check_licence_links(case: tuple[list[str], str]) -> None:
    """Licence values from robots.txt and Link headers resolve to bounded lists of URLs."""
    values, base = case
    urls, errors = licensing.licence_urls(tuple(values), base)
    assert len(urls) <= licensing.MAX_LICENCES and all(isinstance(u, str) for u in urls)
    assert all(isinstance(e, str) for e in errors)
    rsl_urls, other = licensing.link_licences(tuple(values), base)
    assert len(rsl_urls) <= licensing.MAX_LICENCES
    assert all(isinstance(u, str) for u in [*rsl_urls, *other])


@target(
    "agents",
    "agents.parse_agents (operator configuration: raises ValueError only)",
    s.JSON.map(lambda v: json.dumps(v)) | s.TEXT,
)
def check_agents(text: str) -> None:
    """A token list parses or fails with ``ValueError``, never anything else."""
    try:
        tokens = parse_agents(text)
    except ValueError as exc:
        assert str(exc).startswith("ai_agents:")
        return
    assert all(isinstance(t, str) and t and t == t.strip() for t in tokens)


@target(
    "registry_protocol",
    "registry.protocol.read_lookup_request/read_hashed_request/read_answer_json",
    s.mutated(
        st.one_of(
            s.JSON.map(lambda v: json.dumps({"urls": v}).encode()),
            s.JSON.map(lambda v: json.dumps({"prefixes": v}).encode()),
            s.JSON.map(lambda v: json.dumps({"entries": [v]}).encode()),
            st.sampled_from(s._JSON_TRAPS),
        )
    ),
)
def check_registry_protocol(body: bytes) -> None:
    """A body is read or refused with ``ProtocolError`` (a 400), never anything else.

    Every URL or prefix accepted can be stored as UTF-8 (SQLite binds it), so no lone surrogate.
    """
    try:
        for url in protocol.read_lookup_request(body):
            url.encode("utf-8")
    except protocol.ProtocolError:
        pass
    with contextlib.suppress(protocol.ProtocolError):
        protocol.read_hashed_request(body)
    with contextlib.suppress(protocol.ProtocolError):
        protocol.read_answer_json(body)
