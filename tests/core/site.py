"""A canned website for driving the pre-request flow by hand (no I/O, no mocks of our code)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from scrapy_optout._core.documents import Document, document_from_fetch, registry_document
from scrapy_optout._core.engine import check_request
from scrapy_optout._core.models import Decision, Doc, Fetched, Need, RegistryAnswer
from scrapy_optout._core.policy import Policy
from scrapy_optout._drive import drive

Answer = bytes | int | Fetched | RegistryAnswer | None


def answer(need: Need, site: Mapping[str, Answer]) -> Document:
    """Answer one need from *site*: bytes = 200 with that body, int = that status, absent = 404."""
    value = site.get(need.doc, 404)
    if need.doc is Doc.REGISTRY:
        assert value is None or isinstance(value, RegistryAnswer)
        return registry_document(value, source="registry.sqlite")
    if isinstance(value, bytes):
        return document_from_fetch(need.doc, Fetched(url=need.url, status=200, body=value))
    if isinstance(value, int):
        return document_from_fetch(need.doc, Fetched(url=need.url, status=value))
    assert isinstance(value, Fetched)
    return document_from_fetch(need.doc, value)


def run(
    url: str,
    policy: Policy,
    site: Mapping[str, Answer],
    *,
    page: Decision | None = None,
    today: date | None = None,
    asked: list[Need] | None = None,
) -> Decision:
    """Drive check_request for *url* against *site*, recording the needs in *asked*."""

    def resolve(need: Need) -> Document:
        if asked is not None:
            asked.append(need)
        return answer(need, site)

    return drive(check_request(url, policy, page=page, today=today), resolve)
