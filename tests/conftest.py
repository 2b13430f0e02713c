"""Shared fixtures."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from scrapy_optout import Policy
from tests.httpsite import Site, serve_site
from tests.redis_server import RedisServer, running_redis


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the Scrapy crawls last.

    pytest-twisted starts the asyncio reactor at the first crawl and keeps its event loop running
    for the rest of the session, after which the anyio tests could not start loops of their own.
    """
    items.sort(key=lambda item: item.get_closest_marker("crawl") is not None)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Call plain tests directly; leave crawls to pytest-twisted and coroutines to anyio.

    pytest-twisted runs every test it is handed inside the reactor, which starts the reactor's
    event loop for good: only the crawls (marker ``crawl``) go to it.
    """
    if pyfuncitem.get_closest_marker("crawl") or inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    funcargs = pyfuncitem.funcargs
    pyfuncitem.obj(**{name: funcargs[name] for name in pyfuncitem._fixtureinfo.argnames})
    return True


@pytest.fixture
def make_policy() -> Callable[..., Policy]:
    """Build a Policy for the token MyAIBot with overrides."""

    def make(**overrides: Any) -> Policy:
        overrides.setdefault("user_agent", "MyAIBot")
        return Policy(**overrides)

    return make


@pytest.fixture
def site() -> Iterator[Site]:
    """A fresh local origin."""
    yield from serve_site()


@pytest.fixture
def sites() -> Iterator[Callable[[], Site]]:
    """Start as many fresh origins as a test asks for; stop them all afterwards."""
    started: list[Site] = []

    def start() -> Site:
        site = Site()
        site.start()
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1, empty for each test (ports of earlier sites may recur)."""
    with running_redis() as running:
        yield running


@pytest.fixture
def other() -> Iterator[Site]:
    """A second fresh local origin."""
    yield from serve_site()
