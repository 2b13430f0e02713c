"""RSL licences through both shells (standards.md §6; DESIGN §5 rule 5, §5.1; issue 7).

Local origins publish RSL licence documents, named by a robots.txt ``License:`` line (decided at
the request stage: nothing is sent) or by a ``Link: <…>; rel="license"; type="application/rsl+xml"``
header (decided on the response). A licence prohibiting AI training skips with ``rsl_licence``; one
permitting it, free, lets the page through; a licence register entry lifts the skip; a licence
document that cannot be fetched leaves the page unlicensed (skipped). Every licence URL is kept as a
licensing lead, and the document is fetched once however many pages it covers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
)
from scrapy_optout.audit import verify
from tests.crawling import crawl
from tests.httpsite import AGENT, Reply, Site, html, page, status, text

RSL = "application/rsl+xml"


def rsl(usage: str, *, prohibit: bool, payment: str = "") -> bytes:
    """An RSL document covering the whole site: *usage* permitted (or prohibited), *payment*."""
    element = "prohibits" if prohibit else "permits"
    return (
        '<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
        f'<{element} type="usage">{usage}</{element}>{payment}</license></content></rsl>'
    ).encode()


PROHIBITS = rsl("ai-train", prohibit=True)
PERMITS = rsl("all", prohibit=False)
PAID = rsl("ai-all", prohibit=False, payment='<payment type="crawl"><amount currency="EUR">'
           "0.01</amount></payment>")  # fmt: skip


def by_robots(site: Site, licence: Reply | None) -> Site:
    """robots.txt names /licence.xml (served as *licence*, or not at all); two pages."""
    robots = f"License: {site.origin}/licence.xml\nUser-agent: *\nAllow: /\n"
    site.serve("/robots.txt", text(robots))
    if licence is not None:
        site.serve("/licence.xml", licence)
    for path in ("/a.html", "/b.html"):
        site.serve(path, page())
    return site


def by_link(site: Site, licence: bytes) -> Site:
    """Two pages whose Link header names the RSL licence /terms.xml."""
    site.serve("/terms.xml", Reply(body=licence, content_type=RSL))
    link = ("Link", f'</terms.xml>; rel="license"; type="{RSL}"')
    for path in ("/a.html", "/b.html"):
        site.serve(path, page(link))
    return site


def by_html_link(site: Site, licence: bytes) -> Site:
    """A page whose HTML head names the RSL licence /terms.xml with a <link> tag."""
    site.serve("/terms.xml", Reply(body=licence, content_type=RSL))
    head = (
        '<link rel="stylesheet" href="/s.css">'
        f'<link rel="license" type="{RSL}" href="/terms.xml">'
    )
    site.serve("/a.html", Reply(body=html(head)))
    return site


def get(kind: str, policy: Policy, urls: list[str]) -> dict[str, Decision]:
    """Fetch *urls* with the sync or async client; URL -> its decision (raised or delivered)."""

    def one_sync(client: OptOutClient, url: str) -> Decision:
        try:
            return client.get(url).extensions["optout"]  # type: ignore[no-any-return]
        except OptedOutError as exc:
            return exc.decision

    async def one_async(client: AsyncOptOutClient, url: str) -> Decision:
        try:
            return (await client.get(url)).extensions["optout"]  # type: ignore[no-any-return]
        except OptedOutError as exc:
            return exc.decision

    async def run() -> dict[str, Decision]:
        async with AsyncOptOutClient(policy=policy, timeout=5.0) as client:
            return {url: await one_async(client, url) for url in urls}

    if kind == "async":
        return asyncio.run(run())
    with OptOutClient(policy=policy, timeout=5.0) as client:
        return {url: one_sync(client, url) for url in urls}


def outcome(decision: Decision) -> tuple[str, str, str | None]:
    """``(action, stage, first reason code)``."""
    return decision.action, decision.stage, decision.reasons[0].code if decision.reasons else None


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_licences_named_by_robots_txt(sites: Callable[[], Site], kind: str) -> None:
    """Prohibits → skipped before sending; permits → allowed; paid or unreachable → skipped."""
    prohibits = by_robots(sites(), Reply(body=PROHIBITS, content_type=RSL))
    permits = by_robots(sites(), Reply(body=PERMITS, content_type=RSL))
    paid = by_robots(sites(), Reply(body=PAID, content_type=RSL))
    missing = by_robots(sites(), None)
    down = by_robots(sites(), status(503))
    origins = (prohibits, permits, paid, missing, down)
    urls = [s.url(p) for s in origins for p in ("/a.html", "/b.html")]
    decisions = get(kind, Policy(user_agent=AGENT), urls)
    expected = {
        prohibits: ("skip", "request", "rsl_licence"),
        permits: ("allow", "response", None),
        paid: ("skip", "request", "rsl_licence"),
        missing: ("skip", "request", "rsl_licence"),
        down: ("skip", "request", "rsl_licence"),
    }
    for site, want in expected.items():
        for path in ("/a.html", "/b.html"):
            decision = decisions[site.url(path)]
            assert outcome(decision) == want, (site.origin, decision)
            assert site.url("/licence.xml") in decision.licensing  # always a licensing lead
        assert site.count("/licence.xml") == 1  # fetched once, cached for both pages
    assert prohibits.count("/a.html") == 0  # request stage: nothing sent
    assert "prohibits" in decisions[prohibits.url("/a.html")].reasons[0].detail
    assert "unlicensed" in decisions[missing.url("/a.html")].reasons[0].detail
    assert decisions[down.url("/a.html")].reasons[0].source == down.url("/licence.xml")


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_licences_named_by_link_headers(sites: Callable[[], Site], kind: str) -> None:
    """A Link rel=license RSL header decides on the response; a Creative Commons link is a lead."""
    prohibits = by_link(sites(), PROHIBITS)
    permits = by_link(sites(), PERMITS)
    cc = sites()
    cc_link = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'
    cc.serve("/a.html", page(("Link", cc_link)))
    urls = [prohibits.url("/a.html"), prohibits.url("/b.html"), permits.url("/a.html")]
    urls.append(cc.url("/a.html"))
    decisions = get(kind, Policy(user_agent=AGENT), urls)
    assert outcome(decisions[urls[0]]) == ("skip", "response", "rsl_licence")
    assert outcome(decisions[urls[1]]) == ("skip", "response", "rsl_licence")
    assert outcome(decisions[urls[2]]) == ("allow", "response", None)
    assert outcome(decisions[urls[3]]) == ("allow", "response", None)  # not RSL (vector L8)
    assert "https://creativecommons.org/licenses/by/4.0/" in decisions[urls[3]].licensing
    assert prohibits.count("/terms.xml") == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_licences_named_by_html_link_tags(sites: Callable[[], Site], kind: str) -> None:
    """An HTML <link rel=license type=application/rsl+xml> is applied like the Link header."""
    prohibits = by_html_link(sites(), PROHIBITS)
    permits = by_html_link(sites(), PERMITS)
    urls = [prohibits.url("/a.html"), permits.url("/a.html")]
    decisions = get(kind, Policy(user_agent=AGENT), urls)
    assert outcome(decisions[urls[0]]) == ("skip", "response", "rsl_licence")
    assert decisions[urls[0]].reasons[0].source == prohibits.url("/terms.xml")
    assert outcome(decisions[urls[1]]) == ("allow", "response", None)
    assert permits.url("/terms.xml") in decisions[urls[1]].licensing


def test_a_licence_register_entry_lifts_an_rsl_skip(sites: Callable[[], Site]) -> None:
    """The operator's licence covering the origin lifts rsl_licence, logged as a licence."""
    site = by_robots(sites(), Reply(body=PAID, content_type=RSL))
    licence = Licence(licensor="Example Press", scope="host", value="127.0.0.1", reference="RSL-1")
    decisions = get("sync", Policy(user_agent=AGENT, licences=(licence,)), [site.url("/a.html")])
    decision = decisions[site.url("/a.html")]
    assert outcome(decision) == ("allow", "response", "licence")
    assert [r.code for r in decision.reasons] == ["licence", "rsl_licence"]


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_applies_rsl_licences(sites: Callable[[], Site], tmp_path: Path) -> None:
    """Scrapy: prohibited, Link- and <link>-licensed pages never reach the spider; permitted do."""
    prohibits = by_robots(sites(), Reply(body=PROHIBITS, content_type=RSL))
    permits = by_robots(sites(), Reply(body=PERMITS, content_type=RSL))
    linked = by_link(sites(), PROHIBITS)
    tagged = by_html_link(sites(), PROHIBITS)
    log = tmp_path / "log.jsonl"
    settings: dict[str, Any] = {"OPTOUT_AUDIT_LOG": str(log)}
    batch = [(s.url(p), {}) for s in (prohibits, permits, linked) for p in ("/a.html", "/b.html")]
    batch.append((tagged.url("/a.html"), {}))
    crawler = await crawl(settings, batch=batch)
    spider = crawler.spider
    assert sorted(spider.responses) == sorted([permits.url("/a.html"), permits.url("/b.html")])
    assert {outcome(d) for d in spider.skipped.values()} == {
        ("skip", "request", "rsl_licence"),
        ("skip", "response", "rsl_licence"),
    }
    assert crawler.stats.get_value("optout/skipped/rsl_licence") == 5
    assert crawler.stats.get_value("optout/fetch/licence/status/200") == 4
    assert prohibits.count("/a.html") == 0
    assert verify(log).ok
