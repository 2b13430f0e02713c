"""_drive.py: the sync and async drivers give the same decision."""

from __future__ import annotations

import asyncio

from scrapy_optout._core.documents import Document
from scrapy_optout._core.engine import check_request
from scrapy_optout._core.models import Doc, Need
from scrapy_optout._drive import adrive, drive

from .core.site import answer

SITE = {Doc.ROBOTS: b"User-agent: *\nAllow: /\n", Doc.AI_TXT: b"User-agent: *\nDisallow: /\n"}


def test_drive_and_adrive_agree(make_policy):
    """Both drivers answer every need and return the flow's decision."""
    policy = make_policy()
    asked: list[Need] = []

    def resolve(need: Need) -> Document:
        asked.append(need)
        return answer(need, SITE)

    async def aresolve(need: Need) -> Document:
        return resolve(need)

    sync = drive(check_request("https://e.org/p", policy), resolve)
    async_ = asyncio.run(adrive(check_request("https://e.org/p", policy), aresolve))
    assert sync == async_
    assert sync.reasons[0].code == "ai_txt"
    assert len(asked) == 6


def test_drive_flow_without_needs(make_policy):
    """A flow that needs nothing (a non-http URL) returns at once."""
    decision = drive(check_request("mailto:a@b", make_policy()), lambda need: answer(need, {}))
    assert not decision.allowed
