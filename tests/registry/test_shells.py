"""The registry in both shells (issue 6): open_registry, and real crawls and clients that consult it.

A registry file, or the reference service run as a subprocess (``service.py``), lists pages of a
local site; registered pages must be skipped with ``registry`` and never requested; a registry that
cannot answer follows ``on_unavailable``, without a crash or a hang.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from scrapy_optout import AsyncOptOutClient, OptedOutError, OptOutClient, Policy
from scrapy_optout.audit import read, verify
from scrapy_optout.registry import HttpRegistry, LocalRegistry, SpawningRegistry, open_registry
from tests.crawling import crawl
from tests.httpsite import Site, page
from tests.registry.service import Recorder, Service, recording, run_service, write_registry

PAGES = ("/one.html", "/archive/2019/a.html", "/free.html", "/granted.html", "/search/ai")
REGISTERED = {"/one.html", "/archive/2019/a.html"}


def policy(**overrides: Any) -> Policy:
    """Our test policy: token MyAIBot, everything else as given."""
    return Policy(user_agent="MyAIBot", **overrides)


def serve_pages(site: Site) -> None:
    """Serve every page of :data:`PAGES` (and no robots.txt: 404, no restrictions)."""
    for path in PAGES:
        site.serve(path, page())


def outcome(client: OptOutClient, url: str) -> str:
    """Get *url*: "allow", or the first reason code of the skip."""
    try:
        client.get(url)
    except OptedOutError as exc:
        return exc.decision.reasons[0].code
    return "allow"


def outcomes(client: OptOutClient, site: Site) -> dict[str, str]:
    """Get every page; path -> "allow" or the first reason code of the skip."""
    return {path: outcome(client, site.url(path)) for path in PAGES}


EXPECTED = {
    "/one.html": "registry",
    "/archive/2019/a.html": "registry",
    "/free.html": "allow",
    "/granted.html": "allow",
    "/search/ai": "allow",  # reserved for ai-input only; the policy collects for train-ai
}


@pytest.fixture
def registry_csv(site: Site, tmp_path: Path) -> Path:
    """A registry file about the site."""
    return write_registry(tmp_path, site.origin)


@pytest.fixture
def service(registry_csv: Path, tmp_path: Path) -> Iterator[Service]:
    """The reference service over that registry, compiled to SQLite as a user would."""
    from scrapy_optout.registry import build

    compiled = tmp_path / "registry.sqlite"
    build([registry_csv], compiled)
    yield from run_service(compiled)


@pytest.fixture
def recorder(service: Service) -> Iterator[Recorder]:
    """A recording proxy in front of the service."""
    yield from recording(service.root)


# --- open_registry --------------------------------------------------------------------------


def test_open_registry_picks_the_backend_the_value_names(registry_csv, monkeypatch):
    """A path opens a LocalRegistry, an http(s) URL an HttpRegistry, spawning+https the adapter."""
    monkeypatch.setenv("SPAWNING_OPTS_KEY", "k")
    local = open_registry(policy(registry=str(registry_csv)))
    assert isinstance(local, LocalRegistry)
    local.close()
    remote = open_registry(policy(registry="http://127.0.0.1:9/", registry_hashed=True))
    assert isinstance(remote, HttpRegistry)
    assert remote.hashed
    spawning = open_registry(policy(registry="spawning+https://127.0.0.1:9/api/v2/query/urls/"))
    assert isinstance(spawning, SpawningRegistry)
    assert open_registry(policy()) is None
    assert open_registry(policy(registry=str(registry_csv), signals={"robots"})) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"registry": "spawning+ftp://x/"}, r"^registry: expected a path or an http\(s\)"),
        ({"registry": "/no/such/reg.sqlite"}, r"^registry: .*no such registry file"),
        ({"registry": "reg.csv", "registry_hashed": True}, r"^registry_hashed: needs an http"),
        ({"registry": "spawning+https://a.test/", "registry_hashed": True}, r"^registry_hashed:"),
    ],
)
def test_bad_registry_values_are_value_errors_naming_the_field(values, message, monkeypatch):
    """A registry value that cannot be opened raises a ValueError naming the field."""
    monkeypatch.setenv("SPAWNING_OPTS_KEY", "k")
    with pytest.raises(ValueError, match=message):
        open_registry(policy(**values))


# --- httpx, local registry ------------------------------------------------------------------


def test_sync_client_skips_registered_pages_without_requesting_them(site, registry_csv, tmp_path):
    """Registered pages are skipped with `registry` before any request; the log keeps the entry."""
    serve_pages(site)
    log = tmp_path / "audit.jsonl"
    with OptOutClient(policy=policy(registry=str(registry_csv), audit_log=str(log))) as client:
        assert outcomes(client, site) == EXPECTED
    for path in REGISTERED:
        assert site.count(path) == 0
    assert site.count("/free.html") == 1
    records = {r["url"].removeprefix(site.origin): r for r in read(log)}
    reason = records["/one.html"]["reasons"][0]
    assert (reason["signal"], reason["source"]) == ("registry", str(registry_csv))
    assert reason["detail"].startswith(f"url {site.origin}/one.html reserved for all purposes")
    evidence = Path(f"{log}.evidence") / reason["evidence"].removeprefix("sha256:")
    kept = json.loads(evidence.read_bytes())
    assert kept["entries"][0]["value"] == f"{site.origin}/one.html"
    assert verify(log).ok


def test_async_client_skips_registered_pages_without_requesting_them(site, registry_csv):
    """The async client consults the same registry the same way."""
    serve_pages(site)

    async def run() -> dict[str, str]:
        async def outcome(client: AsyncOptOutClient, path: str) -> str:
            try:
                await client.get(site.url(path))
            except OptedOutError as exc:
                return exc.decision.reasons[0].code
            return "allow"

        async with AsyncOptOutClient(policy=policy(registry=str(registry_csv))) as client:
            return {path: await outcome(client, path) for path in PAGES}

    assert asyncio.run(run()) == EXPECTED
    assert all(site.count(path) == 0 for path in REGISTERED)


def test_registry_reserving_a_whole_domain_stops_before_robots_txt(site, tmp_path):
    """A host registered as a whole is decided by the registry: not even robots.txt is fetched."""
    registry = tmp_path / "reg.json"
    registry.write_text(json.dumps([{"scope": "host", "value": "127.0.0.1"}]))
    serve_pages(site)
    with OptOutClient(policy=policy(registry=str(registry))) as client:
        assert set(outcomes(client, site).values()) == {"registry"}
    assert site.hits == []


def test_opt_in_mode_collects_only_what_the_registry_permits(site, registry_csv):
    """In opt-in mode only the page the registry explicitly permits is collected."""
    serve_pages(site)
    with OptOutClient(policy=policy(registry=str(registry_csv), mode="opt-in")) as client:
        got = outcomes(client, site)
    assert got["/granted.html"] == "allow"
    assert got["/free.html"] == "no_permission"
    assert got["/one.html"] == "registry"


# --- httpx, the reference service -----------------------------------------------------------


@pytest.mark.parametrize("hashed", [False, True])
def test_sync_client_with_the_service(site, recorder, hashed):
    """Against the service (plain or hashed), registered pages are skipped and never requested."""
    serve_pages(site)
    the_policy = policy(registry=recorder.origin, registry_hashed=hashed)
    with OptOutClient(policy=the_policy, timeout=5.0) as client:
        assert outcomes(client, site) == EXPECTED
    assert all(site.count(path) == 0 for path in REGISTERED)
    assert recorder.bodies  # the service was asked
    if hashed:
        for body in recorder.bodies:
            assert b"127.0.0.1" not in body
            assert b"http" not in body
            assert b".html" not in body
            assert set(json.loads(body)) == {"prefixes"}
    else:
        asked = [url for body in recorder.bodies for url in json.loads(body)["urls"]]
        assert site.url("/free.html") in asked


def test_async_client_batches_concurrent_lookups(site, recorder):
    """Fifty concurrent requests are answered with far fewer requests to the service."""
    paths = [f"/p{n}.html" for n in range(50)]
    for path in paths:
        site.serve(path, page())

    async def run() -> list[int]:
        async with AsyncOptOutClient(policy=policy(registry=recorder.origin), timeout=5.0) as c:
            responses = await asyncio.gather(*(c.get(site.url(p)) for p in paths))
        return [r.status_code for r in responses]

    assert asyncio.run(run()) == [200] * 50
    asked = [url for body in recorder.bodies for url in json.loads(body)["urls"]]
    assert sorted(asked) == sorted(site.url(p) for p in paths)  # each URL asked once
    assert len(recorder.bodies) <= 10


@pytest.mark.parametrize(("on_unavailable", "expected"), [("skip", "signal_unavailable"),
                                                          ("allow", "allow")])  # fmt: skip
def test_service_going_down_follows_on_unavailable(site, service, on_unavailable, expected):
    """Once the service is gone, pages follow on_unavailable, promptly and without a crash."""
    serve_pages(site)
    the_policy = policy(registry=service.root, on_unavailable=on_unavailable)
    with OptOutClient(policy=the_policy, timeout=5.0) as client:
        assert client.get(site.url("/free.html")).status_code == 200
        service.stop()
        started = time.monotonic()
        got = outcomes(client, site)
        elapsed = time.monotonic() - started
    unanswered = {path: code for path, code in got.items() if path != "/free.html"}  # cached
    assert set(unanswered.values()) == {expected}
    assert got["/free.html"] == "allow"
    assert elapsed < 5.0  # retried once, then "down": the other pages do not wait again
    if expected == "signal_unavailable":
        assert all(site.count(path) == 0 for path in unanswered)


# --- Scrapy ---------------------------------------------------------------------------------


def batch(site: Site, paths: tuple[str, ...] = PAGES) -> list[tuple[str, dict[str, Any]]]:
    """Requests for *paths*, all at once."""
    return [(site.url(path), {}) for path in paths]


def crawl_outcomes(recorder: Any, site: Site) -> dict[str, str]:
    """Path -> "allow" or the first reason code, for every page the spider was told about."""
    out = {url.removeprefix(site.origin): "allow" for url in recorder.responses}
    out.update(
        {url.removeprefix(site.origin): d.reasons[0].code for url, d in recorder.skipped.items()}
    )
    return out


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_with_a_registry_file(site: Site, registry_csv: Path, tmp_path: Path) -> None:
    """A crawl with OPTOUT_REGISTRY as a CSV skips registered pages, unrequested, and counts them."""
    serve_pages(site)
    settings = {"OPTOUT_REGISTRY": str(registry_csv), "OPTOUT_AUDIT_LOG": str(tmp_path / "a.jsonl")}
    crawler = await crawl(settings, batch=batch(site))
    assert crawl_outcomes(crawler.spider, site) == EXPECTED
    assert all(site.count(path) == 0 for path in REGISTERED)
    assert crawler.stats.get_value("optout/skipped/registry") == 2


@pytest.mark.crawl
@pytest.mark.parametrize("hashed", [False, True])
@deferred_f_from_coro_f
async def test_crawl_with_the_service(site: Site, recorder: Recorder, hashed: bool) -> None:
    """A crawl against the service skips registered pages; in hashed mode no URL reaches it."""
    serve_pages(site)
    settings = {"OPTOUT_REGISTRY": recorder.origin, "OPTOUT_REGISTRY_HASHED": hashed,
                "OPTOUT_AUDIT_LOG": None}  # fmt: skip
    crawler = await crawl(settings, batch=batch(site))
    assert crawl_outcomes(crawler.spider, site) == EXPECTED
    assert all(site.count(path) == 0 for path in REGISTERED)
    assert crawler.stats.get_value("optout/fetch/registry/status/200") >= 1
    text = b"".join(recorder.bodies)
    assert (b"127.0.0.1" in text) is not hashed


@pytest.mark.crawl
@pytest.mark.parametrize(("on_unavailable", "expected"), [("skip", "signal_unavailable"),
                                                          ("allow", "allow")])  # fmt: skip
@deferred_f_from_coro_f
async def test_crawl_survives_the_service_stopping_midway(
    site: Site, service: Service, on_unavailable: str, expected: str
) -> None:
    """The service killed mid-crawl: later pages follow on_unavailable, and the crawl ends."""
    serve_pages(site)

    def stop_then_page(_request: Any) -> Any:
        service.stop()
        from werkzeug import Response

        return Response(b"<html><head></head><body>stop</body></html>", content_type="text/html")

    site.expect_request("/stop.html").respond_with_handler(stop_then_page)
    steps = [(site.url("/free.html"), {}), (site.url("/stop.html"), {}),
             *[(site.url(p), {}) for p in PAGES if p != "/free.html"]]  # fmt: skip
    settings = {"OPTOUT_REGISTRY": service.root, "OPTOUT_ON_UNAVAILABLE": on_unavailable,
                "OPTOUT_AUDIT_LOG": None, "DOWNLOAD_TIMEOUT": 5}  # fmt: skip
    started = time.monotonic()
    crawler = await crawl(settings, steps=steps)
    assert time.monotonic() - started < 20
    got = crawl_outcomes(crawler.spider, site)
    assert got.pop("/free.html") == "allow"
    assert got.pop("/stop.html") == "allow"
    assert set(got.values()) == {expected}
    assert crawler.stats.get_value("optout/fetch/registry/status/0") >= 1
