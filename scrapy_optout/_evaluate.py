"""``evaluate_response`` for users with their own fetcher: the core check plus today's date."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ._c2pa import read_c2pa
from ._core import engine
from ._core.models import Decision
from ._core.policy import Policy


def evaluate_response(
    url: str,
    status: int,
    headers: Any,
    body: bytes,
    policy: Policy,
    *,
    page: Decision | None = None,
) -> Decision:
    """Check a response you fetched yourself against *policy* (DESIGN §3).

    Reads the signal headers (``tdm-reservation``/``tdm-policy``, ``X-Robots-Tag``,
    ``Content-Usage``, ``Content-Signal``), the bounded HTML ``<head>``, and the metadata inside
    images (C2PA, IPTC), PDFs and EPUBs (TDMRep); origin documents (robots.txt, tdmrep.json,
    ai.txt) are not fetched here.

    Args:
        url: the response URL.
        status: its HTTP status.
        headers: a dict, ``httpx.Headers``, Scrapy ``Headers``, ``http.client.HTTPMessage`` or an
            iterable of ``(name, value)`` pairs; ``str`` or ``bytes``; repeated names all count.
        body: the body as bytes (only its first bytes are read); pass an image's, PDF's or
            EPUB's whole body for its embedded metadata to count.
        policy: the crawl's policy.
        page: the decision of the page an image was requested from, so that the page's
            ``noimageai``/``noai`` reserves it.

    Returns:
        a :class:`Decision` with stage ``"response"``.

    Example:
        >>> from scrapy_optout import Policy, evaluate_response
        >>> d = evaluate_response("https://example.org/a", 200, {"tdm-reservation": "1"}, b"",
        ...                       Policy(user_agent="MyAIBot"))
        >>> d.action, d.reasons[0].code
        ('skip', 'tdmrep_header')
    """
    # Only licences need the date; the core reads no clock, so this shell supplies it.
    today = datetime.now(timezone.utc).date() if policy.licences else None
    return engine.evaluate_response(
        url, status, headers, body, policy, page=page, today=today, read_c2pa=read_c2pa
    )
