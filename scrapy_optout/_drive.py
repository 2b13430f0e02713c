"""Run a pre-request flow with a resolver: the only code that exists twice, sync and async.

The core's :func:`~scrapy_optout._core.engine.check_request` is a generator that yields
:class:`~scrapy_optout._core.models.Need` and receives :class:`~scrapy_optout._core.documents.Document`
(the httpx ``auth_flow`` pattern). A shell supplies the resolver that fetches and caches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ._core.documents import Document
from ._core.engine import Flow
from ._core.models import Decision, Need


def drive(flow: Flow, resolve: Callable[[Need], Document]) -> Decision:
    """Run *flow* to its decision, answering each need with ``resolve(need)``."""
    try:
        need = next(flow)
        while True:
            need = flow.send(resolve(need))
    except StopIteration as stop:
        decision: Decision = stop.value
        return decision


async def adrive(flow: Flow, resolve: Callable[[Need], Awaitable[Document]]) -> Decision:
    """Run *flow* to its decision, answering each need with ``await resolve(need)``."""
    try:
        need = next(flow)
        while True:
            need = flow.send(await resolve(need))
    except StopIteration as stop:
        decision: Decision = stop.value
        return decision
