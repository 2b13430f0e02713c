"""The Scrapy shell (issue 4): OptOutMiddleware and Addon in real crawls of local servers.

Every crawl runs on the asyncio reactor against pytest-httpserver sites (``tests/httpsite.py``):
the same table of cases as the httpx client, plus what only a crawl shows — concurrency, retries,
stats, signals, the log writer's lifetime and the settings.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_f_from_coro_f

from scrapy_optout import Decision, OptOutMiddleware, RequestSkipped
from scrapy_optout import signals as optout_signals
from scrapy_optout.audit import read, verify
from tests.crawling import crawl
from tests.httpsite import (
    CASE_PARAMS,
    DISALLOW_PRIVATE,
    Case,
    Site,
    check_decision,
    closed_origin,
    html,
    install,
    page,
    text,
    url_of,
)

pytestmark = pytest.mark.crawl


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """Where the crawl's compliance log goes."""
    return tmp_path / "optout-audit.jsonl"


_POLICY_SETTINGS = {"on_unavailable": "OPTOUT_ON_UNAVAILABLE", "purpose": "OPTOUT_PURPOSE"}


def case_settings(case: Case, log: Path) -> dict[str, Any]:
    """The crawl settings of a table case."""
    settings: dict[str, Any] = {
        "OPTOUT_AUDIT_LOG": str(log),
        "DOWNLOAD_TIMEOUT": case.timeout,
    }
    for name, value in case.policy.items():
        settings[_POLICY_SETTINGS[name]] = value
    return settings


def case_steps(case: Case, site: Site, other: Site) -> list[tuple[str, dict[str, Any]]]:
    """The requests of a table case, in order: the pages got before, then the case's URL."""
    meta: dict[str, Any] = {}
    if case.bypass:
        meta["dont_obey_optout"] = True
    if case.page:
        meta["optout_page"] = site.url(case.page)
    before = [(url_of(spec, site, other), {}) for spec in case.before]
    return [*before, (url_of(case.path, site, other), meta)]


# --- the shared table ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASE_PARAMS)
@deferred_f_from_coro_f
async def test_table_case(case: Case, site: Site, other: Site, log: Path) -> None:
    """Each case of the shared table, as a crawl: the spider sees only what may be collected."""
    install(case, site, other)
    crawler = await crawl(case_settings(case, log), steps=case_steps(case, site, other))
    spider = crawler.spider
    decided = url_of(case.decided or case.path, site, other)
    assert spider.failures == {}
    if case.action == "skip":
        assert decided not in spider.responses, "a reserved page reached the spider"
        decision = spider.skipped[decided]
    else:
        decision = spider.responses[decided]
    check_decision(case, decision, site, other, side_fetches=3)  # RetryMiddleware: 3 attempts
    stats = crawler.stats
    skips = len(spider.skipped)
    assert stats.get_value("optout/skipped", 0) == skips
    if case.action == "skip":
        assert stats.get_value(f"optout/skipped/{case.code}") == 1
    records = [r for r in read(log) if r["url"] == decided]
    assert [r["action"] for r in records] == [case.action]
    if case.code is not None:
        assert records[0]["reasons"][0]["code"] == case.code
    assert verify(log).ok


# --- concurrency and unreachable origins --------------------------------------------------------


@deferred_f_from_coro_f
async def test_forty_concurrent_requests_to_a_disallowed_path_send_nothing(
    site: Site, log: Path
) -> None:
    """40 start URLs that robots.txt disallows, 32 at a time on a fresh origin: none is sent."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.3))  # all 40 wait on one fetch
    batch = [(site.url(f"/private/{i}"), {}) for i in range(40)]
    settings = {"OPTOUT_AUDIT_LOG": str(log), "CONCURRENT_REQUESTS": 32,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 32}  # fmt: skip
    crawler = await crawl(settings, batch=batch)
    assert site.count_under("/private/") == 0, site.hits
    assert site.count("/robots.txt") == 1
    assert len(crawler.spider.skipped) == 40
    assert crawler.stats.get_value("optout/skipped/robots_disallow") == 40
    assert sum(1 for r in read(log) if r["action"] == "skip") == 40


@deferred_f_from_coro_f
async def test_fifty_concurrent_allowed_pages_share_one_fetch_of_each_document(
    site: Site, log: Path
) -> None:
    """Fifty pages of one origin at once: robots.txt, tdmrep.json and ai.txt are fetched once."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE, delay=0.2))
    for i in range(50):
        site.serve(f"/page/{i}", page())
    batch = [(site.url(f"/page/{i}"), {}) for i in range(50)]
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log), "CONCURRENT_REQUESTS": 32}, batch=batch)
    assert len(crawler.spider.responses) == 50
    assert all(d is not None and d.allowed for d in crawler.spider.responses.values())
    for document in ("/robots.txt", "/.well-known/tdmrep.json", "/ai.txt"):
        assert site.count(document) == 1, document
    assert crawler.stats.get_value("optout/fetch/robots/status/200") == 1
    assert crawler.stats.get_value("optout/fetch/tdmrep/status/404") == 1
    assert crawler.stats.get_value("optout/allowed") == 50


@deferred_f_from_coro_f
async def test_origin_refusing_connections_is_unreachable(log: Path) -> None:
    """An origin that refuses connections: every page skipped as robots_unreachable, none sent."""
    origin = closed_origin()
    batch = [(f"{origin}/page/{i}", {}) for i in range(5)]
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log), "RETRY_TIMES": 0}, batch=batch)
    spider = crawler.spider
    assert spider.failures == {}, "a page request was sent (and refused)"
    assert {d.reasons[0].code for d in spider.skipped.values()} == {"robots_unreachable"}
    assert len(spider.skipped) == 5
    assert crawler.stats.get_value("optout/fetch/robots/status/0") == 1


# --- the two ways of enabling it, and the off switch --------------------------------------------


@deferred_f_from_coro_f
async def test_downloader_middlewares_form_works(site: Site, log: Path) -> None:
    """DOWNLOADER_MIDDLEWARES = {"scrapy_optout.OptOutMiddleware": 120} works like the add-on."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/public", page())
    settings = {"ADDONS": {}, "OPTOUT_AUDIT_LOG": str(log),
                "DOWNLOADER_MIDDLEWARES": {"scrapy_optout.OptOutMiddleware": 120}}  # fmt: skip
    crawler = await crawl(settings, batch=[(site.url("/private/x"), {}), (site.url("/public"), {})])
    assert isinstance(crawler.get_downloader_middleware(OptOutMiddleware), OptOutMiddleware)
    assert list(crawler.spider.skipped) == [site.url("/private/x")]
    assert list(crawler.spider.responses) == [site.url("/public")]
    assert site.count("/private/x") == 0


@pytest.mark.parametrize(
    "path", ["scrapy_optout.OptOutMiddleware", "scrapy_optout.middleware.OptOutMiddleware"]
)
@deferred_f_from_coro_f
async def test_addon_keeps_the_priority_the_project_chose(site: Site, log: Path, path: str) -> None:
    """With the add-on and the project's own entry, the middleware is loaded once, where placed."""
    site.serve("/page", page())
    settings = {"OPTOUT_AUDIT_LOG": str(log), "DOWNLOADER_MIDDLEWARES": {path: 130}}
    crawler = await crawl(settings, batch=[(site.url("/page"), {})])
    assert crawler.settings.getdict("DOWNLOADER_MIDDLEWARES") == {path: 130}
    loaded = crawler.engine.downloader.middleware.middlewares
    assert sum(isinstance(mw, OptOutMiddleware) for mw in loaded) == 1
    assert [r["action"] for r in read(log)] == ["allow"]


@deferred_f_from_coro_f
async def test_disabled_loads_nothing(site: Site, log: Path) -> None:
    """OPTOUT_ENABLED=False: no side document fetched, no log written, no decision attached."""
    site.serve("/robots.txt", text("User-agent: *\nDisallow: /\n"))
    site.serve("/page", page(("X-Robots-Tag", "noai")))
    settings = {"OPTOUT_ENABLED": "False", "OPTOUT_AUDIT_LOG": str(log)}
    crawler = await crawl(settings, batch=[(site.url("/page"), {})])
    assert crawler.spider.responses == {site.url("/page"): None}
    assert [path for path, _ in site.hits] == ["/page"]
    assert not log.exists()
    assert crawler.stats.get_value("optout/request_count") is None


# --- what the spider, its errbacks and other components see ------------------------------------


@pytest.mark.parametrize(
    ("route", "path", "stage", "code", "requested"),
    [
        ("/robots.txt", "/private/x", "request", "robots_disallow", 0),
        ("/page", "/page", "response", "tdmrep_header", 1),
    ],
)
@deferred_f_from_coro_f
async def test_errback_gets_an_ignore_request_with_the_decision(
    site: Site, log: Path, route: str, path: str, stage: str, code: str, requested: int
) -> None:
    """The errback's failure is an IgnoreRequest and a RequestSkipped carrying the decision."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page(("tdm-reservation", "1")))
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log)}, batch=[(site.url(path), {})])
    failure = crawler.spider.skip_failures[site.url(path)]
    assert failure.check(IgnoreRequest)
    assert isinstance(failure.value, IgnoreRequest)
    assert isinstance(failure.value, RequestSkipped)
    decision = failure.value.decision
    assert (decision.stage, decision.reasons[0].code) == (stage, code)
    assert site.count(path) == requested  # request stage: never sent; response stage: dropped
    assert crawler.spider.responses == {}


@deferred_f_from_coro_f
async def test_signal_sent_for_every_decision(site: Site, other: Site, log: Path) -> None:
    """optout_decision is sent once per decision: allows, skips at both stages, and bypasses."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    site.serve("/ok", page())
    site.serve("/bypassed", page(("X-Robots-Tag", "noai")))
    received: list[tuple[str, str]] = []

    class Listener:
        def on_decision(self, decision: Decision, request: Any, spider: Any) -> None:
            received.append((decision.url, decision.action))

    listener = Listener()
    from scrapy.utils.test import get_crawler

    from tests.crawling import BASE_SETTINGS, Recorder

    crawler = get_crawler(Recorder, {**BASE_SETTINGS, "OPTOUT_AUDIT_LOG": str(log)})
    crawler.signals.connect(listener.on_decision, signal=optout_signals.optout_decision)
    batch = [(site.url(p), {}) for p in ("/private/x", "/noai", "/ok")]
    batch.append((site.url("/bypassed"), {"dont_obey_optout": True}))
    await crawler.crawl_async(batch=batch)
    assert sorted(received) == sorted([
        (site.url("/private/x"), "skip"),
        (site.url("/noai"), "skip"),
        (site.url("/ok"), "allow"),
        (site.url("/bypassed"), "bypass"),
    ])  # fmt: skip
    assert crawler.spider.responses[site.url("/bypassed")].action == "bypass"
    assert [r["action"] for r in read(log) if r["url"] == site.url("/bypassed")] == ["bypass"]
    assert crawler.stats.get_value("optout/bypassed") == 1


@deferred_f_from_coro_f
async def test_images_of_a_noimageai_page_found_by_referer(site: Site, log: Path) -> None:
    """An image requested from a page that carried noimageai (its Referer) is never sent."""
    site.serve("/art", page(body=html('<meta name="robots" content="noimageai">')))
    site.serve("/a.jpg", page(body=b"\xff\xd8\xff\xe0", content_type="image/jpeg"))
    site.serve("/text", page())
    steps = [(site.url("/art"), {}), (site.url("/a.jpg"), {}), (site.url("/text"), {})]
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log)}, steps=steps)
    spider = crawler.spider
    assert site.url("/art") in spider.responses  # noimageai does not reserve the page itself
    assert spider.skipped[site.url("/a.jpg")].reasons[0].code == "noimageai"
    assert site.count("/a.jpg") == 0
    assert site.url("/text") in spider.responses  # not an image: not reserved by the page


@deferred_f_from_coro_f
async def test_compressed_page_is_checked_after_decompression(site: Site, log: Path) -> None:
    """A gzip-encoded page's noai meta is seen: the check runs after HttpCompressionMiddleware."""
    import gzip

    body = gzip.compress(html('<meta name="robots" content="noai">'))
    site.serve("/zipped", page(("Content-Encoding", "gzip"), body=body))
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log)}, batch=[(site.url("/zipped"), {})])
    assert crawler.spider.skipped[site.url("/zipped")].reasons[0].code == "noai_meta"


# --- hostile origins ----------------------------------------------------------------------------


@deferred_f_from_coro_f
async def test_hostile_origin_crawl_finishes_with_every_decision_logged(
    site: Site, other: Site, log: Path
) -> None:
    """A 5 MB robots.txt, a stalled tdmrep.json and an endless head: the crawl ends, all logged."""
    from tests.httpsite import big_robots, endless_head_page, stalled_robots

    site.serve("/robots.txt", page(body=big_robots(), content_type="text/plain"))
    site.serve("/late", page())
    site.serve("/endless", page(body=endless_head_page()))
    other.serve_stream("/.well-known/tdmrep.json", stalled_robots, content_type="application/json")
    batch = [(site.url("/private/a"), {}), (site.url("/late"), {}), (site.url("/endless"), {}),
             (other.url("/page"), {})]  # fmt: skip
    settings = {"OPTOUT_AUDIT_LOG": str(log), "DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0}
    crawler = await crawl(settings, batch=batch)
    spider = crawler.spider
    assert spider.skipped[site.url("/private/a")].reasons[0].code == "robots_disallow"
    assert site.url("/late") in spider.responses  # beyond robots.txt's first 500 KiB
    assert any(
        e.startswith("robots.truncated") for e in spider.responses[site.url("/late")].errors
    )
    endless = spider.responses[site.url("/endless")]
    assert endless is not None
    assert endless.allowed
    assert spider.skipped[other.url("/page")].reasons[0].code == "signal_unavailable"
    assert other.count("/page") == 0
    logged = {r["url"] for r in read(log)}
    assert logged == {url for url, _ in batch}
    assert verify(log).ok


# --- the compliance log's lifetime --------------------------------------------------------------


@deferred_f_from_coro_f
async def test_log_is_opened_at_spider_open_and_closed_at_spider_close(log: Path) -> None:
    """The log exists from the start of the crawl and is released at its end."""
    from scrapy_optout.audit import AuditWriter

    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log)}, batch=[("data:,hello", {})])
    assert crawler.spider.responses == {"data:,hello": None}  # data: has no origin: not checked
    assert log.exists()
    with AuditWriter(str(log), agent="other", purpose="train-ai", policy="p"):
        pass  # the crawl's writer let go of the log (a second writer is refused while one holds it)


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("OPTOUT_PURPOSE", "advertising"),
        ("OPTOUT_MODE", "opt-maybe"),
        ("OPTOUT_SIGNALS", "robots,telepathy"),
        ("OPTOUT_ON_UNAVAILABLE", "panic"),
        ("OPTOUT_CACHE_TTL", "a day"),
        ("OPTOUT_CACHE_TTL", -5),
        ("OPTOUT_AUDIT_ALLOWED", "sometimes"),
        ("OPTOUT_INFER_FROM_AI_AGENTS", 7),
        ("OPTOUT_ENABLED", "perhaps"),
        ("OPTOUT_AI_AGENTS", "/nonexistent/agents.json"),
        ("OPTOUT_LICENCES", "/nonexistent/licences.toml"),
        ("OPTOUT_REGISTRY", "registry.sqlite"),
        ("OPTOUT_CACHE_URL", "memcached://127.0.0.1:11211"),
        ("REDIS_URL", "http://127.0.0.1:6379/0"),
        ("OPTOUT_AUDIT_ROTATE_BYTES", "1000"),
        ("OPTOUT_AUDIT_ROTATE_BYTES", "large"),
        ("OPTOUT_EMBEDDED_SCAN_BYTES", "1000"),
        ("OPTOUT_EMBEDDED_SCAN_BYTES", "big"),
        ("OPTOUT_USER_AGENT", "   "),
        ("OPTOUT_WORKER_ID", "worker\n2"),
        ("OPTOUT_WORKER_ID", "w" * 201),
        ("OPTOUT_WORKER_ID", 7),
    ],
)
@deferred_f_from_coro_f
async def test_bad_setting_stops_the_crawl_naming_it(setting: str, value: Any, log: Path) -> None:
    """A malformed OPTOUT_* value stops the crawl at start-up with a ValueError naming it."""
    with pytest.raises(ValueError, match=f"^{setting}:"):
        await crawl({"OPTOUT_AUDIT_LOG": str(log), setting: value}, batch=[("data:,x", {})])
    assert not log.exists()


@pytest.mark.parametrize(
    ("settings", "job", "worker"),
    [({"OPTOUT_WORKER_ID": "crawler-3"}, None, "crawler-3"),
     ({"OPTOUT_WORKER_ID": "crawler-3"}, "12/3/4", "crawler-3"),
     ({}, "12/3/4", "12/3/4"),  # Scrapy Cloud and scrapyd name the job in SCRAPY_JOB
     ({}, None, None)],
)  # fmt: skip
@deferred_f_from_coro_f
async def test_the_worker_id_is_in_every_record(
    settings: dict[str, str], job: str | None, worker: str | None, site: Site, log: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OPTOUT_WORKER_ID, else SCRAPY_JOB, names the worker in each record; neither: no field."""
    if job is None:
        monkeypatch.delenv("SCRAPY_JOB", raising=False)
    else:
        monkeypatch.setenv("SCRAPY_JOB", job)
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/ok", page())
    batch = [(site.url("/ok"), {}), (site.url("/private/x"), {})]
    await crawl({"OPTOUT_AUDIT_LOG": str(log), **settings}, batch=batch)
    records = list(read(log))
    assert len(records) == 2
    assert [r.get("worker") for r in records] == [worker, worker]
    assert verify(log).ok


@deferred_f_from_coro_f
async def test_a_large_robots_txt_is_asked_uncompressed_and_read_on_its_first_500_kib(
    site: Site, log: Path
) -> None:
    """Side fetches ask for identity, so a 5.6 MB robots.txt a server would gzip is still read."""
    body = b"User-agent: *\nDisallow: /private/\n" + b"# a line of filler text\n" * 240_000

    def robots(request: Any) -> Any:
        from werkzeug import Response

        if "gzip" in request.headers.get("Accept-Encoding", ""):  # decoded past 4x the cap
            return Response(gzip.compress(body), headers={"Content-Encoding": "gzip"})
        return Response(body, content_type="text/plain")

    site.expect_request("/robots.txt").respond_with_handler(robots)
    site.serve("/ok", page())
    site.serve("/private/x", page())
    crawler = await crawl({"OPTOUT_AUDIT_LOG": str(log)},
                          batch=[(site.url("/ok"), {}), (site.url("/private/x"), {})])  # fmt: skip
    assert site.url("/ok") in crawler.spider.responses
    assert crawler.spider.skipped[site.url("/private/x")].reasons[0].code == "robots_disallow"
    assert site.count("/private/x") == 0


@deferred_f_from_coro_f
async def test_default_token_is_warned_about(
    site: Site, log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a token of its own, the crawler is checked as 'Scrapy', with a warning."""
    site.serve("/robots.txt", text("User-agent: Scrapy\nDisallow: /\n"))
    site.serve("/page", page())
    settings = {"OPTOUT_AUDIT_LOG": str(log), "USER_AGENT": "Scrapy/2.19 (+https://scrapy.org)"}
    with caplog.at_level(logging.WARNING, logger="scrapy_optout"):
        crawler = await crawl(settings, batch=[(site.url("/page"), {})])
    assert any("Scrapy's default token" in r.getMessage() for r in caplog.records)
    assert crawler.spider.skipped[site.url("/page")].reasons[0].code == "robots_disallow"


@deferred_f_from_coro_f
async def test_settings_from_the_command_line_are_read(site: Site, log: Path) -> None:
    """String values, as -s NAME=VALUE gives them, are read: signals list, booleans, numbers."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/private/x", page())
    site.serve("/page", page(("X-Robots-Tag", "noai")))
    settings = {"OPTOUT_AUDIT_LOG": str(log), "OPTOUT_SIGNALS": "tdmrep, ai-txt",
                "OPTOUT_AUDIT_ALLOWED": "false", "OPTOUT_CACHE_TTL": "3600"}  # fmt: skip
    crawler = await crawl(settings, batch=[(site.url("/private/x"), {}), (site.url("/page"), {})])
    assert set(crawler.spider.responses) == {site.url("/private/x"), site.url("/page")}
    assert site.count("/robots.txt") == 0  # robots and noai are not among the signals
    assert not log.exists() or list(read(log)) == []  # allows are not logged


# --- reactor modes (each in a process of its own: a process has one reactor) -------------------

ROOT = Path(__file__).resolve().parent.parent


def crawl_in_process(settings: dict[str, Any], *urls: str) -> dict[str, Any]:
    """Run ``tests.crawl_process`` in a subprocess; return what it printed."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tests.crawl_process", json.dumps(settings), *urls],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def test_non_asyncio_reactor_stops_the_crawl_with_a_clear_error(log: Path) -> None:
    """On a reactor without asyncio the crawl does not start, and the error says what to change."""
    settings = {"TWISTED_REACTOR": "twisted.internet.selectreactor.SelectReactor",
                "OPTOUT_AUDIT_LOG": str(log), "LOG_LEVEL": "CRITICAL"}  # fmt: skip
    outcome = crawl_in_process(settings, "data:,x")
    assert len(outcome["errors"]) == 1
    assert outcome["errors"][0].startswith("ValueError: TWISTED_REACTOR: scrapy_optout needs asyncio")
    assert outcome["responses"] == []
    assert not log.exists()


def test_reactorless_crawl_honours_opt_outs(site: Site, log: Path) -> None:
    """With TWISTED_REACTOR_ENABLED=False (asyncio, no Twisted reactor) the checks all hold."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/page", page())
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    settings = {"TWISTED_REACTOR_ENABLED": False, "OPTOUT_AUDIT_LOG": str(log),
                "LOG_LEVEL": "ERROR"}  # fmt: skip
    outcome = crawl_in_process(settings, *(site.url(p) for p in ("/private/x", "/page", "/noai")))
    assert outcome["errors"] == []
    assert outcome["responses"] == [site.url("/page")]
    assert outcome["skipped"] == {
        site.url("/private/x"): "robots_disallow",
        site.url("/noai"): "noai_header",
    }
    assert site.count("/private/x") == 0
    assert outcome["stats"]["optout/skipped"] == 2
    assert [r["action"] for r in read(log)].count("skip") == 2


@deferred_f_from_coro_f
async def test_readme_scrapy_settings_work_as_written(site: Site, log: Path) -> None:
    """The README's settings.py block, as written, enables the checks."""
    import re

    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.DOTALL) if "ADDONS" in b)
    settings: dict[str, Any] = {}
    exec(block, {}, settings)  # noqa: S102 - our own README
    site.serve("/robots.txt", text("User-agent: MyAIBot\nDisallow: /\n"))
    site.serve("/page", page())
    crawler = await crawl({**settings, "OPTOUT_AUDIT_LOG": str(log)}, batch=[(site.url("/page"), {})])
    assert crawler.spider.skipped[site.url("/page")].reasons[0].code == "robots_disallow"
    assert site.count("/page") == 0


@deferred_f_from_coro_f
async def test_one_debug_line_per_skip(
    site: Site, log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each skip is one DEBUG line on the scrapy_optout logger, naming its stage and code."""
    site.serve("/robots.txt", text(DISALLOW_PRIVATE))
    site.serve("/noai", page(("X-Robots-Tag", "noai")))
    site.serve("/ok", page())
    batch = [(site.url(p), {}) for p in ("/private/a", "/private/b", "/noai", "/ok")]
    with caplog.at_level(logging.DEBUG, logger="scrapy_optout"):
        await crawl({"OPTOUT_AUDIT_LOG": str(log)}, batch=batch)
    lines = [r.getMessage() for r in caplog.records if r.name == "scrapy_optout"]
    skips = [line for line in lines if line.startswith("Skipped by opt-out")]
    assert len(skips) == 3
    assert sum("(request, robots_disallow)" in line for line in skips) == 2
    assert sum("(response, noai_header)" in line and "/noai" in line for line in skips) == 1


@deferred_f_from_coro_f
async def test_log_rotates_when_the_setting_says(site: Site, log: Path) -> None:
    """OPTOUT_AUDIT_ROTATE_BYTES rotates the crawl's log; the segments verify as one chain."""
    site.serve(re.compile(r"/page/\d+"), page())
    batch = [(site.url(f"/page/{i}"), {}) for i in range(250)]
    settings = {"OPTOUT_AUDIT_LOG": str(log), "OPTOUT_AUDIT_ROTATE_BYTES": "65536"}
    crawler = await crawl(settings, batch=batch)
    assert len(crawler.spider.responses) == 250
    assert (log.parent / (log.name + ".1.gz")).exists()
    result = verify(log)
    assert result.ok
    assert result.records == 250
