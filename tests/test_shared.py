"""_shared.py: a fleet of real Scrapy processes sharing one real redis-server (issue 10).

Several crawler processes (``tests/crawl_process.py``, each ``AsyncCrawlerProcess`` with the
add-on and ``OPTOUT_CACHE_URL``) crawl one local site of several origins, each process a share of
every origin's pages, as scrapy-redis workers do; the origins count the requests they receive.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scrapy_optout.audit import read, verify
from scrapy_optout.audit.merge import merge
from tests.httpsite import DISALLOW_PRIVATE, Site, page, text
from tests.redis_server import RedisServer, free_port
from tests.registry.service import Recorder, Service, recording

ORIGINS = 40
WORKERS = 4
PATHS = ["/p/0", "/p/1", "/p/2", "/p/3", "/private/0", "/private/1", "/private/2", "/private/3"]


@pytest.fixture
def origins(sites: Callable[[], Site]) -> list[Site]:
    """ORIGINS origins: robots.txt disallowing /private/, pages, and 404 for tdmrep.json and ai.txt."""
    started = [sites() for _ in range(ORIGINS)]
    for site in started:
        site.serve("/robots.txt", text(DISALLOW_PRIVATE))
        for path in PATHS:
            site.serve(path, page())
    return started


@pytest.fixture
def registry(origins: list[Site], tmp_path: Path) -> Iterator[Recorder]:
    """A registry service reserving every origin's /p/1, behind a proxy recording what it is asked."""
    path = tmp_path / "registry.csv"
    rows = [f"url,{site.url('/p/1')},train-ai,,,," for site in origins]
    path.write_text("scope,value,purposes,policy,registered,source,permits\n" + "\n".join(rows))
    service = Service(path)
    try:
        yield from recording(service.root)
    finally:
        service.stop()


def asked(registry: Recorder) -> list[str]:
    """Every URL the registry service was asked about, once per time asked."""
    return [url for body in registry.bodies for url in json.loads(body)["urls"]]


def registry_sources(folder: Path) -> dict[str, str]:
    """URL -> the ``source`` of its registry reason, over the workers' logs in *folder*."""
    records = [r for k in range(WORKERS) for r in read(folder / f"worker-{k}.jsonl")]
    return {r["url"]: reason["source"] for r in records for reason in r["reasons"]
            if reason["code"] == "registry"}  # fmt: skip


def shares(origins: list[Site]) -> list[list[str]]:
    """Each worker's URLs: a share of every origin's pages (so every worker needs every origin)."""
    return [[site.url(path) for site in origins for n, path in enumerate(PATHS) if n % WORKERS == k]
            for k in range(WORKERS)]  # fmt: skip


def fleet(urls: list[list[str]], folder: Path, **settings: Any) -> list[dict[str, Any]]:
    """Run one crawler process per share at once; their outcomes (tests/crawl_process.py)."""
    runs = []
    for k, share in enumerate(urls):
        own = {"OPTOUT_AUDIT_LOG": str(folder / f"worker-{k}.jsonl"), "OPTOUT_WORKER_ID": f"w{k}",
               **settings}  # fmt: skip
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.crawl_process", json.dumps(own), *share],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
    outcomes = []
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        outcome = json.loads(out.strip().splitlines()[-1])
        assert outcome["errors"] == [], outcome
        outcomes.append(outcome)
    return outcomes


def skipped(outcomes: list[dict[str, Any]]) -> dict[str, str]:
    """Every worker's skips together: URL -> reason code."""
    return {url: code for outcome in outcomes for url, code in outcome["skipped"].items()}


def test_the_fleet_fetches_each_side_document_once_and_skips_as_one_process(
    origins: list[Site], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Four processes: each robots.txt, tdmrep.json and ai.txt fetched once in all; same skips."""
    (tmp_path / "single").mkdir()
    (single,) = fleet([[u for share in shares(origins) for u in share]], tmp_path / "single")
    for site in origins:
        site.hits.clear()  # the fleet's requests alone from here
    outcomes = fleet(shares(origins), tmp_path, OPTOUT_CACHE_URL=redis_server.url)
    assert skipped(outcomes) == skipped([single])
    for site in origins:
        assert site.count("/robots.txt") == 1, site.hits
        assert site.count("/.well-known/tdmrep.json") == 1, site.hits
        assert site.count("/ai.txt") == 1, site.hits
        assert site.count_under("/private/") == 0
    expected = {site.url(path): "robots_disallow" for site in origins for path in PATHS
                if path.startswith("/private/")}  # fmt: skip
    assert skipped(outcomes) == expected
    assert sum(len(o["responses"]) for o in outcomes) == ORIGINS * 4
    hits = sum(o["stats"].get("optout/fetch/robots/status/200", 0) for o in outcomes)
    assert hits == ORIGINS  # the other processes parsed the shared fetch, no request made
    logs = [str(tmp_path / f"worker-{k}.jsonl") for k in range(WORKERS)]
    result = merge(logs, str(tmp_path / "fleet.jsonl"))
    assert result.records == ORIGINS * len(PATHS)
    assert verify(tmp_path / "fleet.jsonl").ok
    runs = {next(iter(read(log)))["run"]: f"w{k}" for k, log in enumerate(logs)}
    assert {(r["src"]["run"], r["worker"]) for r in read(tmp_path / "fleet.jsonl")} == set(runs.items())


def test_without_the_shared_cache_each_worker_fetches_for_itself(
    origins: list[Site], tmp_path: Path
) -> None:
    """The control: the same fleet without OPTOUT_CACHE_URL fetches robots.txt once per worker."""
    fleet(shares(origins), tmp_path)
    assert [site.count("/robots.txt") for site in origins] == [WORKERS] * ORIGINS


def test_redis_down_loses_no_decision_and_lets_nothing_forbidden_through(
    origins: list[Site], tmp_path: Path
) -> None:
    """With Redis unreachable every process fetches for itself, says so on the record, skips alike."""
    down = f"redis://127.0.0.1:{free_port()}/0"
    outcomes = fleet(shares(origins), tmp_path, OPTOUT_CACHE_URL=down)
    assert len(skipped(outcomes)) == ORIGINS * 4
    for site in origins:
        assert site.count_under("/private/") == 0
        assert 1 <= site.count("/robots.txt") <= WORKERS  # each process fetched for itself
    assert all(o["stats"].get("optout/cache/unavailable", 0) > 0 for o in outcomes)
    records = [r for k in range(WORKERS) for r in read(tmp_path / f"worker-{k}.jsonl")]
    assert len(records) == ORIGINS * len(PATHS)
    noted = [r for r in records if any("cache.unavailable" in e for e in r.get("errors", []))]
    assert noted, "no decision says that the shared cache was down"


def test_redis_stopped_mid_crawl_loses_no_decision(
    origins: list[Site], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Redis killed once the fleet is under way: every URL still decided, nothing forbidden fetched."""

    def stop_when_under_way() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum(site.count("/robots.txt") for site in origins) >= ORIGINS // 4:
                redis_server.stop()
                return
            time.sleep(0.005)

    stopper = threading.Thread(target=stop_when_under_way)
    stopper.start()
    outcomes = fleet(shares(origins), tmp_path, OPTOUT_CACHE_URL=redis_server.url)
    stopper.join()
    assert sum(site.count("/robots.txt") for site in origins) >= ORIGINS // 4
    for site in origins:
        assert site.count_under("/private/") == 0
    assert len(skipped(outcomes)) == ORIGINS * 4
    assert sum(len(o["responses"]) for o in outcomes) == ORIGINS * 4
    records = [r for k in range(WORKERS) for r in read(tmp_path / f"worker-{k}.jsonl")]
    assert sorted(r["url"] for r in records) == sorted(
        u for share in shares(origins) for u in share
    )
    assert any(o["stats"].get("optout/cache/unavailable", 0) for o in outcomes)


def test_registry_answers_are_shared_by_the_fleet_and_asked_by_each_process_when_redis_is_down(
    origins: list[Site], registry: Recorder, redis_server: RedisServer, tmp_path: Path
) -> None:
    """A second fleet over the same URLs asks the registry nothing; with Redis down it asks again."""
    settings = {"OPTOUT_CACHE_URL": redis_server.url, "OPTOUT_REGISTRY": registry.url("")}
    (tmp_path / "first").mkdir()
    first = fleet(shares(origins), tmp_path / "first", **settings)
    questions = sorted(asked(registry))
    assert questions == sorted(u for share in shares(origins) for u in share)  # each URL once
    reserved = {site.url("/p/1"): "registry" for site in origins}
    assert reserved.items() <= skipped(first).items()
    registry.bodies.clear()
    (tmp_path / "again").mkdir()  # each worker now has another's share: a re-crawl, other frontiers
    again = fleet(shares(origins)[1:] + shares(origins)[:1], tmp_path / "again", **settings)
    assert asked(registry) == []
    assert skipped(again) == skipped(first)
    assert registry_sources(tmp_path / "again") == registry_sources(tmp_path / "first")
    assert set(registry_sources(tmp_path / "again").values()) == {registry.url("")}
    registry.bodies.clear()
    down = f"redis://127.0.0.1:{free_port()}/0"
    alone = fleet(shares(origins), tmp_path, OPTOUT_CACHE_URL=down, OPTOUT_REGISTRY=registry.url(""))
    assert sorted(asked(registry)) == questions  # each process asked the service itself
    assert skipped(alone) == skipped(first)
    records = [r for k in range(WORKERS) for r in read(tmp_path / f"worker-{k}.jsonl")]
    assert any(e.startswith("cache.unavailable: registry fetched by this process")
               for r in records for e in r.get("errors", []))  # fmt: skip
