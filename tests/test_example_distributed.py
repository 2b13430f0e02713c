"""examples/distributed: two real scrapy-redis workers of the example fleet, one real redis-server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from scrapy_optout.audit import read, verify
from scrapy_optout.audit.merge import merge
from tests.httpsite import DISALLOW_PRIVATE, Site, html, page, text
from tests.redis_server import RedisServer

PROJECT = Path(__file__).resolve().parents[1] / "examples" / "distributed"
ORIGINS = 6
WORKERS = 2
LINKS = ("/a", "/b", "/c", "/private/x")


@pytest.fixture
def origins(sites: Callable[[], Site]) -> list[Site]:
    """Origins whose home page links three pages and one page robots.txt disallows."""
    started = [sites() for _ in range(ORIGINS)]
    for site in started:
        site.serve("/robots.txt", text(DISALLOW_PRIVATE))
        links = "".join(f'<a href="{link}">{link}</a>' for link in LINKS)
        site.serve("/", page(body=html(body=links)))
        for link in LINKS:
            site.serve(link, page())
    return started


def test_two_workers_share_the_queue_and_the_opt_out_cache(
    origins: list[Site], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Each page crawled once by the fleet, each robots.txt fetched once, nothing forbidden fetched."""
    redis.Redis.from_url(redis_server.url).lpush("pages:start_urls", *(s.url("/") for s in origins))
    env = {**os.environ, "REDIS_URL": redis_server.url}

    def worker(k: int) -> subprocess.Popen[str]:
        argv = ["crawl", "pages", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=3", "-s", "LOG_LEVEL=WARNING",
                "-s", f"OPTOUT_AUDIT_LOG={tmp_path}/worker-{k}.jsonl",
                "-O", f"{tmp_path}/items-{k}.jsonl"]  # fmt: skip
        return subprocess.Popen([sys.executable, "-m", "scrapy", *argv], cwd=PROJECT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip

    workers = [worker(k) for k in range(WORKERS)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-3000:]
    for site in origins:
        assert site.count("/robots.txt") == 1, site.hits
        assert site.count("/.well-known/tdmrep.json") == 1, site.hits
        assert site.count_under("/private/") == 0
        for path in ("/", "/a", "/b", "/c"):
            assert site.count(path) == 1, (path, site.hits)  # scrapy-redis's shared dupefilter
    items = [json.loads(line) for k in range(WORKERS)
             for line in (tmp_path / f"items-{k}.jsonl").read_text().splitlines()]  # fmt: skip
    assert len(items) == ORIGINS * 4
    assert all(item["allowed"] for item in items)
    logs = [str(tmp_path / f"worker-{k}.jsonl") for k in range(WORKERS)]
    merge(logs, str(tmp_path / "fleet.jsonl"))
    assert verify(tmp_path / "fleet.jsonl").ok
    records = list(read(tmp_path / "fleet.jsonl"))
    named = {(r["src"]["run"], r["worker"]) for r in records}  # each worker's log names it alone
    assert len(named) == len({run for run, _ in named}) == len({w for _, w in named})
    assert all(re.fullmatch(rf"{re.escape(socket.gethostname())}-\d+", w) for _, w in named)
    skips = sorted(r["url"] for r in records if r["action"] == "skip")
    assert skips == sorted(site.url("/private/x") for site in origins)
    assert {r["reasons"][0]["code"] for r in records if r["action"] == "skip"} == {
        "robots_disallow"
    }
