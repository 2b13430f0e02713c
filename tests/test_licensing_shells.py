"""Licences and opt-in mode in both shells (DESIGN §5 rules 1, 5 and 6; §8 licence register).

Real runs: the httpx ``OptOutClient`` and ``AsyncOptOutClient``, and real Scrapy crawls
(``tests/crawling.py``), against local sites on 127.0.0.1 (``tests/httpsite.py``). A TDMRep file
reserving every path skips each page before it is requested, unless an entry of the operator's
licence register covers the URL and the purpose on the day of the run; the allow is then logged
with a ``licence`` reason naming the contract. A licence never lifts a robots.txt disallow
(Rule 1). In opt-in mode a page is collected only with an explicit permission or a licence;
anything else is requested, then withheld with ``no_permission``.

Licence validity is evaluated on the shells' own (UTC) date: every date here is a month away from
``date.today()``, so the tests hold whatever the time zone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from scrapy_optout import (
    AsyncOptOutClient,
    Decision,
    Licence,
    OptedOutError,
    OptOutClient,
    Policy,
    RequestSkipped,
)
from scrapy_optout.audit import read, verify
from tests.crawling import crawl
from tests.httpsite import AGENT, Reply, Site, html, json_doc, page, text

RESERVE_ALL = '[{"location":"/*","tdm-reservation":1}]'
"""TDMRep (standards.md §1.3): every path of the origin is reserved."""
PAGES = ("/a.html", "/b.html")
TDMREP = "/.well-known/tdmrep.json"
KINDS = ["sync", "async"]


def days(n: int) -> date:
    """The date *n* days from today."""
    return date.today() + timedelta(days=n)


def reserved_origin(site: Site, robots: str | None = None) -> Site:
    """Serve a tdmrep.json reserving every path, the pages /a.html and /b.html, and *robots*."""
    site.serve(TDMREP, json_doc(RESERVE_ALL))
    if robots is not None:
        site.serve("/robots.txt", text(robots))
    for path in PAGES:
        site.serve(path, page())
    return site


# --- running the httpx clients ----------------------------------------------------------------


def skipped(exc: OptedOutError) -> Decision:
    """The decision of a skip the client raised: both exception types, not allowed."""
    assert isinstance(exc, RequestSkipped)
    assert not exc.decision.allowed
    return exc.decision


def delivered(response: Any) -> Decision:
    """The decision of a response the client delivered: whole, and allowed."""
    assert response.status_code == 200
    assert response.content.startswith(b"<!doctype html>")
    decision: Decision = response.extensions["optout"]
    assert decision.allowed
    return decision


def get_one(client: OptOutClient, url: str) -> Decision:
    """Get *url*; its decision, delivered or raised."""
    try:
        response = client.get(url)
    except OptedOutError as exc:
        return skipped(exc)
    return delivered(response)


async def aget_one(client: AsyncOptOutClient, url: str) -> Decision:
    """The same with the async client."""
    try:
        response = await client.get(url)
    except OptedOutError as exc:
        return skipped(exc)
    return delivered(response)


def get_sync(policy: Policy, urls: list[str]) -> dict[str, Decision]:
    """Get *urls* in turn with one OptOutClient; URL -> the decision."""
    with OptOutClient(policy=policy, timeout=5.0) as client:
        return {url: get_one(client, url) for url in urls}


def get_async(policy: Policy, urls: list[str]) -> dict[str, Decision]:
    """Get *urls* in turn with one AsyncOptOutClient; URL -> the decision."""

    async def run() -> dict[str, Decision]:
        async with AsyncOptOutClient(policy=policy, timeout=5.0) as client:
            return {url: await aget_one(client, url) for url in urls}

    return asyncio.run(run())


def get_all(kind: str, policy: Policy, urls: list[str]) -> dict[str, Decision]:
    """Get *urls* with the sync or the async client."""
    return (get_sync if kind == "sync" else get_async)(policy, urls)


def policy(log: Path, licences: tuple[Licence, ...] = (), **overrides: Any) -> Policy:
    """Our test policy: token MyAIBot, the log at *log*, the given licences."""
    return Policy(user_agent=AGENT, audit_log=str(log), licences=licences, **overrides)


def outcome(decision: Decision) -> tuple[str, str, str | None]:
    """``(action, stage, first reason code)`` of a decision."""
    return decision.action, decision.stage, decision.reasons[0].code if decision.reasons else None


SKIPPED_BY_TDMREP = ("skip", "request", "tdmrep_file")
LICENSED = ("allow", "response", "licence")


def check_licensed(decision: Decision, reference: str, origin: str,
                   purpose: str = "train-ai") -> None:  # fmt: skip
    """A licensed allow: the licence reason names the contract; the lifted reservation stays."""
    reason = decision.reasons[0]
    assert (reason.code, reason.signal) == ("licence", "licence")
    assert reference in reason.detail
    assert reason.detail.endswith(f" for {purpose}"), reason.detail
    lifted = [r for r in decision.reasons[1:] if r.code == "tdmrep_file"]
    assert lifted, decision.reasons  # still on the record, lifted by the licence
    assert lifted[0].source == origin + TDMREP


def check_log(log: Path, expected: Mapping[str, tuple[str, str, str | None]],
              references: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """One record per URL with the expected action, stage and first code; the chain is intact."""
    records = list(read(log))
    by_url: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_url.setdefault(record["url"], []).append(record)
    assert set(by_url) == set(expected), sorted(by_url)
    for url, (action, stage, code) in expected.items():
        (record,) = by_url[url]
        assert (record["action"], record["stage"]) == (action, stage), record
        assert (record["reasons"][0]["code"] if record["reasons"] else None) == code, record
        if code == "licence":
            reason = record["reasons"][0]
            assert reason["signal"] == "licence"
            assert (references or {})[url] in reason["detail"], reason
    result = verify(log)
    assert result.ok, result
    assert result.records == len(records)


# --- httpx: licences lift a TDMRep reservation ------------------------------------------------


@dataclass(frozen=True)
class LicenceCase:
    """A licence register (``{origin}`` stands for the site) and what each page must come to."""

    id: str
    entries: tuple[Mapping[str, Any], ...]
    expected: Mapping[str, tuple[str, str, str | None]]
    purpose: str = "train-ai"


BOTH_LICENSED = {"/a.html": LICENSED, "/b.html": LICENSED}
BOTH_SKIPPED = {"/a.html": SKIPPED_BY_TDMREP, "/b.html": SKIPPED_BY_TDMREP}
HOST = {"scope": "host", "value": "127.0.0.1"}  # any port (DESIGN §8)
PREFIX = {"scope": "prefix", "value": "{origin}/"}

LICENCE_CASES: tuple[LicenceCase, ...] = (
    LicenceCase("no-licence", (), BOTH_SKIPPED),
    LicenceCase("prefix", (PREFIX,), BOTH_LICENSED),
    LicenceCase("host-any-port", (HOST,), BOTH_LICENSED),
    LicenceCase("domain", ({"scope": "domain", "value": "127.0.0.1"},), BOTH_LICENSED),
    LicenceCase("url-covers-one-page", ({"scope": "url", "value": "{origin}/a.html"},),
                {"/a.html": LICENSED, "/b.html": SKIPPED_BY_TDMREP}),
    LicenceCase("prefix-covers-one-page", ({"scope": "prefix", "value": "{origin}/b"},),
                {"/a.html": SKIPPED_BY_TDMREP, "/b.html": LICENSED}),
    LicenceCase("valid-window", ({**HOST, "valid_from": days(-30), "valid_until": days(30)},),
                BOTH_LICENSED),
    LicenceCase("expired", ({**HOST, "valid_from": days(-400), "valid_until": days(-30)},),
                BOTH_SKIPPED),
    LicenceCase("not-yet-valid", ({**HOST, "valid_from": days(30)},), BOTH_SKIPPED),
    LicenceCase("for-every-purpose", ({**HOST, "purposes": frozenset()},), BOTH_LICENSED),
    LicenceCase("for-another-purpose", ({**HOST, "purposes": frozenset({"search"})},),
                BOTH_SKIPPED),
    LicenceCase("for-other-purposes", ({**HOST, "purposes": frozenset({"ai-input", "search"})},),
                BOTH_SKIPPED),
    LicenceCase("for-this-purpose-among-others",
                ({**HOST, "purposes": frozenset({"search", "train-ai"})},), BOTH_LICENSED),
    LicenceCase("ai-input-crawl-licensed-for-ai-input",
                ({**HOST, "purposes": frozenset({"ai-input"})},),
                BOTH_LICENSED, purpose="ai-input"),
    LicenceCase("another-host", ({"scope": "host", "value": "127.0.0.2"},), BOTH_SKIPPED),
    LicenceCase("another-port", ({"scope": "prefix", "value": "http://127.0.0.1:9/"},),
                BOTH_SKIPPED),
    LicenceCase("expired-then-valid",
                ({**HOST, "valid_until": days(-30), "reference": "OLD"}, PREFIX),
                BOTH_LICENSED),
)


def make_licences(entries: tuple[Mapping[str, Any], ...], origin: str) -> tuple[Licence, ...]:
    """Licence objects for *entries* on *origin*, each with a reference of its own (unless set)."""
    out = []
    for n, entry in enumerate(entries, 1):
        values = {"licensor": "Example Press", "reference": f"CONTRACT-{n}", **entry}
        values["value"] = values["value"].format(origin=origin)
        out.append(Licence(**values))
    return tuple(out)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LICENCE_CASES])
def test_licence_register_against_a_reserved_origin(
    case: LicenceCase, kind: str, site: Site, tmp_path: Path
) -> None:
    """A TDMRep reservation skips unrequested unless a valid licence for the purpose covers it."""
    reserved_origin(site)
    licences = make_licences(case.entries, site.origin)
    log = tmp_path / "audit.jsonl"
    the_policy = policy(log, licences, purpose=case.purpose)
    urls = [site.url(path) for path in PAGES]
    decisions = get_all(kind, the_policy, urls)
    assert {path: outcome(decisions[site.url(path)]) for path in PAGES} == case.expected
    references = {}
    for path, expected in case.expected.items():
        url = site.url(path)
        decision = decisions[url]
        assert decision.url == url
        if expected == LICENSED:
            (entry,) = [e for e in licences if e.reference in decision.reasons[0].detail]
            check_licensed(decision, entry.reference, site.origin, case.purpose)
            references[url] = entry.reference
            assert site.count(path) == 1  # fetched, and delivered
        else:
            assert decision.reasons[0].source == site.url(TDMREP)
            assert site.count(path) == 0, site.hits  # never requested
    assert site.count(TDMREP) == 1
    check_log(log, {site.url(p): e for p, e in case.expected.items()}, references)


@pytest.mark.parametrize("kind", KINDS)
def test_licence_never_lifts_a_robots_disallow(kind: str, site: Site, tmp_path: Path) -> None:
    """robots.txt disallowing our token wins over a valid licence (Rule 1); the rest is licensed."""
    reserved_origin(site, robots=f"User-agent: {AGENT}\nDisallow: /b.html\n\n"
                                 "User-agent: *\nAllow: /\n")  # fmt: skip
    log = tmp_path / "audit.jsonl"
    licences = make_licences((HOST,), site.origin)
    decisions = get_all(kind, policy(log, licences), [site.url(p) for p in PAGES])
    a, b = (decisions[site.url(p)] for p in PAGES)
    assert outcome(a) == LICENSED
    assert outcome(b) == ("skip", "request", "robots_disallow")
    assert b.reasons[0].source == site.url("/robots.txt")
    assert all(r.code != "licence" for r in b.reasons)
    assert site.count("/b.html") == 0
    check_log(log, {site.url("/a.html"): LICENSED,
                    site.url("/b.html"): ("skip", "request", "robots_disallow")},
              {site.url("/a.html"): "CONTRACT-1"})  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_licence_never_lifts_a_robots_disallow_of_the_whole_site(
    kind: str, site: Site, tmp_path: Path
) -> None:
    """A whole-site disallow for our token stands against a licence of every purpose and path."""
    reserved_origin(site, robots=f"User-agent: {AGENT}\nDisallow: /\n")
    licences = make_licences((HOST, PREFIX), site.origin)
    log = tmp_path / "audit.jsonl"
    decisions = get_all(kind, policy(log, licences), [site.url(p) for p in PAGES])
    for path in PAGES:
        assert outcome(decisions[site.url(path)]) == ("skip", "request", "robots_disallow")
        assert site.count(path) == 0
    assert {path for path, _ in site.hits} <= {"/robots.txt"}  # nothing else of that origin


@pytest.mark.parametrize("kind", KINDS)
def test_licence_lifts_an_inferred_ai_agents_reservation(
    kind: str, site: Site, tmp_path: Path
) -> None:
    """A GPTBot block is a reservation (Rule 3), not our access rule: a licence lifts it."""
    site.serve("/robots.txt", text("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"))
    for path in PAGES:
        site.serve(path, page())
    log = tmp_path / "audit.jsonl"
    licences = make_licences(({"scope": "url", "value": "{origin}/a.html"},), site.origin)
    decisions = get_all(kind, policy(log, licences), [site.url(p) for p in PAGES])
    a, b = (decisions[site.url(p)] for p in PAGES)
    assert outcome(a) == LICENSED
    assert [r.code for r in a.reasons] == ["licence", "robots_ai_agents"]
    assert outcome(b) == ("skip", "request", "robots_ai_agents")
    assert (site.count("/a.html"), site.count("/b.html")) == (1, 0)


# --- httpx: opt-in mode -----------------------------------------------------------------------


@dataclass(frozen=True)
class OptInPage:
    """A page of the opt-in site and what it must come to."""

    path: str
    reply: Reply
    expected: tuple[str, str, str | None]
    requested: int = field(default=1)


OPT_IN_ROBOTS = "User-agent: *\nAllow: /\nContent-Usage: /robots-ok/ train-ai=y\n"
OPT_IN_TDMREP = ('[{"location":"/free/","tdm-reservation":0},'
                 '{"location":"/reserved/","tdm-reservation":1}]')  # fmt: skip
PLAIN = page()
ALLOWED = ("allow", "response", None)
NO_PERMISSION = ("skip", "response", "no_permission")

OPT_IN_PAGES: tuple[OptInPage, ...] = (
    OptInPage("/tdm0.html", page(("tdm-reservation", "0")), ALLOWED),
    OptInPage("/meta0.html", page(body=html('<meta name="tdm-reservation" content="0">')),
              ALLOWED),
    OptInPage("/cu-y.html", page(("Content-Usage", "train-ai=y")), ALLOWED),
    OptInPage("/free/page.html", PLAIN, ALLOWED),  # tdmrep.json: reservation 0
    OptInPage("/robots-ok/page.html", PLAIN, ALLOWED),  # robots.txt: Content-Usage train-ai=y
    OptInPage("/licensed.html", PLAIN, LICENSED),
    OptInPage("/plain.html", PLAIN, NO_PERMISSION),
    OptInPage("/cu-search-y.html", page(("Content-Usage", "search=y")), NO_PERMISSION),
    OptInPage("/tdm0-header-then-meta1.html",
              page(("tdm-reservation", "0"),
                   body=html('<meta name="tdm-reservation" content="1">')),
              ("skip", "response", "tdmrep_meta")),
    OptInPage("/cu-n.html", page(("Content-Usage", "train-ai=n")),
              ("skip", "response", "content_usage")),
    OptInPage("/reserved/page.html", PLAIN, SKIPPED_BY_TDMREP, requested=0),
)


def opt_in_site(site: Site) -> dict[str, OptInPage]:
    """Serve the opt-in site; return its pages by URL."""
    site.serve("/robots.txt", text(OPT_IN_ROBOTS))
    site.serve(TDMREP, json_doc(OPT_IN_TDMREP))
    for entry in OPT_IN_PAGES:
        site.serve(entry.path, entry.reply)
    return {site.url(entry.path): entry for entry in OPT_IN_PAGES}


def check_opt_in_site(site: Site, decisions: Mapping[str, Decision], log: Path,
                      reference: str) -> None:  # fmt: skip
    """Every page of the opt-in site came to what it should, was requested as it should."""
    got = {url.removeprefix(site.origin): outcome(d) for url, d in decisions.items()}
    assert got == {entry.path: entry.expected for entry in OPT_IN_PAGES}
    for entry in OPT_IN_PAGES:
        assert site.count(entry.path) == entry.requested, (entry.path, site.hits)
    plain = decisions[site.url("/plain.html")]
    assert plain.reasons[0].signal == "policy"
    assert plain.reasons[0].source == site.url("/plain.html")
    assert "opt-in" in plain.reasons[0].detail
    assert reference in decisions[site.url("/licensed.html")].reasons[0].detail
    check_log(log, {site.url(e.path): e.expected for e in OPT_IN_PAGES},
              {site.url("/licensed.html"): reference})


@pytest.mark.parametrize("kind", KINDS)
def test_opt_in_mode_collects_only_what_is_permitted_or_licensed(
    kind: str, site: Site, tmp_path: Path
) -> None:
    """Opt-in: explicit permissions and licences pass; a page that says nothing is withheld."""
    pages = opt_in_site(site)
    log = tmp_path / "audit.jsonl"
    licences = make_licences(({"scope": "url", "value": "{origin}/licensed.html"},), site.origin)
    decisions = get_all(kind, policy(log, licences, mode="opt-in"), list(pages))
    check_opt_in_site(site, decisions, log, "CONTRACT-1")


@pytest.mark.parametrize("kind", KINDS)
def test_opt_in_mode_with_an_expired_licence_has_no_permission(
    kind: str, site: Site, tmp_path: Path
) -> None:
    """Opt-in: an expired licence is no licence, so the page it covered is withheld."""
    site.serve("/plain.html", PLAIN)
    log = tmp_path / "audit.jsonl"
    licences = make_licences(({**HOST, "valid_until": days(-30)},), site.origin)
    url = site.url("/plain.html")
    decisions = get_all(kind, policy(log, licences, mode="opt-in"), [url])
    assert outcome(decisions[url]) == NO_PERMISSION
    assert site.count("/plain.html") == 1  # asked (response stage), never delivered
    check_log(log, {url: NO_PERMISSION})


# --- Scrapy -----------------------------------------------------------------------------------


def toml_value(value: Any, string_dates: bool) -> str:
    """A TOML literal: strings quoted, dates as TOML dates (or strings), purposes as an array."""
    if isinstance(value, date):
        return f'"{value.isoformat()}"' if string_dates else value.isoformat()
    if isinstance(value, frozenset | list | tuple):
        return "[" + ", ".join(f'"{item}"' for item in sorted(value)) + "]"
    return f'"{value}"'


def write_register(path: Path, licences: tuple[Licence, ...], *, string_dates: bool) -> Path:
    """Write *licences* as a TOML licence register (DESIGN §8: a top-level ``licence`` array)."""
    blocks = []
    for entry in licences:
        fields_ = {"licensor": entry.licensor, "scope": entry.scope, "value": entry.value,
                   "purposes": entry.purposes, "valid_from": entry.valid_from,
                   "valid_until": entry.valid_until, "reference": entry.reference}  # fmt: skip
        lines = [f"{k} = {toml_value(v, string_dates)}" for k, v in fields_.items()
                 if v is not None and v != frozenset()]  # fmt: skip
        blocks.append("[[licence]]\n" + "\n".join(lines) + "\n")
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def crawl_outcomes(spider: Any) -> dict[str, tuple[str, str, str | None]]:
    """URL -> outcome of every decision the spider was told about (responses and skips)."""
    got = {url: outcome(d) for url, d in spider.responses.items()}
    got.update({url: outcome(d) for url, d in spider.skipped.items()})
    return got


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_with_a_licence_register(
    sites: Callable[[], Site], tmp_path: Path
) -> None:
    """One crawl, five reserved origins: only the validly licensed pages reach the spider."""
    licensed, expired, other_purpose, unlicensed, disallowed = (
        reserved_origin(sites()) for _ in range(5)
    )
    disallowed.serve("/robots.txt", text(f"User-agent: {AGENT}\nDisallow: /b.html\n"))
    licences = (
        Licence(licensor="Licensed Press", scope="prefix", value=licensed.origin + "/",
                valid_from=days(-30), valid_until=days(365), reference="LIC-VALID"),
        Licence(licensor="Lapsed Press", scope="prefix", value=expired.origin + "/",
                valid_from=days(-400), valid_until=days(-30), reference="LIC-EXPIRED"),
        Licence(licensor="Search Press", scope="prefix", value=other_purpose.origin + "/",
                purposes=frozenset({"search"}), reference="LIC-SEARCH"),
        Licence(licensor="Robots Press", scope="prefix", value=disallowed.origin + "/",
                reference="LIC-ROBOTS"),
    )  # fmt: skip
    register = write_register(tmp_path / "licences.toml", licences, string_dates=False)
    log = tmp_path / "audit.jsonl"
    every = (licensed, expired, other_purpose, unlicensed, disallowed)
    batch = [(origin.url(path), {}) for origin in every for path in PAGES]
    settings = {"OPTOUT_LICENCES": str(register), "OPTOUT_AUDIT_LOG": str(log),
                "DOWNLOAD_TIMEOUT": 5}  # fmt: skip
    crawler = await crawl(settings, batch=batch)
    spider = crawler.spider

    expected = {licensed.url(p): LICENSED for p in PAGES}
    for origin in (expired, other_purpose, unlicensed):
        expected.update({origin.url(p): SKIPPED_BY_TDMREP for p in PAGES})
    expected[disallowed.url("/a.html")] = LICENSED
    expected[disallowed.url("/b.html")] = ("skip", "request", "robots_disallow")
    assert spider.failures == {}
    assert crawl_outcomes(spider) == expected
    assert set(spider.responses) == {url for url, e in expected.items() if e == LICENSED}
    for url, decision in spider.responses.items():
        reference = "LIC-ROBOTS" if url.startswith(disallowed.origin) else "LIC-VALID"
        check_licensed(decision, reference, url.rsplit("/", 1)[0])
    for origin in every:
        for path in PAGES:
            wanted = 1 if expected[origin.url(path)] == LICENSED else 0
            assert origin.count(path) == wanted, (origin.origin, path, origin.hits)
    stats = crawler.stats
    assert stats.get_value("optout/skipped/tdmrep_file") == 6
    assert stats.get_value("optout/skipped/robots_disallow") == 1
    assert stats.get_value("optout/skipped") == 7
    references = {url: ("LIC-ROBOTS" if url.startswith(disallowed.origin) else "LIC-VALID")
                  for url, e in expected.items() if e == LICENSED}  # fmt: skip
    check_log(log, expected, references)


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_in_opt_in_mode(site: Site, tmp_path: Path) -> None:
    """OPTOUT_MODE opt-in: the parse callback sees only permitted and licensed pages."""
    pages = opt_in_site(site)
    licences = (
        Licence(licensor="Opt-in Press", scope="url", value=site.url("/licensed.html"),
                purposes=frozenset({"train-ai"}), valid_from=days(-30), valid_until=days(30),
                reference="OPT-IN-7"),
        Licence(licensor="Lapsed Press", scope="url", value=site.url("/plain.html"),
                valid_until=days(-30), reference="LAPSED-1"),
    )  # fmt: skip
    register = write_register(tmp_path / "licences.toml", licences, string_dates=True)
    log = tmp_path / "audit.jsonl"
    settings = {"OPTOUT_MODE": "opt-in", "OPTOUT_LICENCES": str(register),
                "OPTOUT_AUDIT_LOG": str(log), "DOWNLOAD_TIMEOUT": 5}  # fmt: skip
    crawler = await crawl(settings, batch=[(url, {}) for url in pages])
    spider = crawler.spider
    assert spider.failures == {}
    delivered = {url for url, entry in pages.items() if entry.expected[0] == "allow"}
    assert set(spider.responses) == delivered  # what the parse callback saw
    assert set(spider.skipped) == set(pages) - delivered
    check_opt_in_site(site, {**spider.responses, **spider.skipped}, log, "OPT-IN-7")
    stats = crawler.stats
    assert stats.get_value("optout/skipped/no_permission") == 2
    assert stats.get_value("optout/skipped") == len(pages) - len(delivered)


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_with_a_malformed_register_does_not_start(site: Site, tmp_path: Path) -> None:
    """OPTOUT_LICENCES naming a malformed register stops the crawl at start-up, naming it."""
    site.serve("/a.html", page())
    register = tmp_path / "licences.toml"
    register.write_text('[[licence]]\nlicensor = "L"\nscope = "planet"\nvalue = "earth"\n')
    log = tmp_path / "audit.jsonl"
    settings = {"OPTOUT_LICENCES": str(register), "OPTOUT_AUDIT_LOG": str(log)}
    with pytest.raises(ValueError, match=r"^OPTOUT_LICENCES: .*licences\.toml entry 1: scope"):
        await crawl(settings, batch=[(site.url("/a.html"), {})])
    assert site.hits == []
    assert not log.exists()
