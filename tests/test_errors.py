"""_errors.py: RequestSkipped carries its decision and says why."""

from __future__ import annotations

from scrapy_optout import Decision, Reason, RequestSkipped


def test_request_skipped_message_and_decision():
    """The exception keeps the Decision and names the URL, stage and codes."""
    decision = Decision(
        url="https://e.org/a",
        allowed=False,
        action="skip",
        stage="request",
        reasons=(Reason("robots_disallow", "robots", "https://e.org/robots.txt", "Disallow: /"),),
    )
    exc = RequestSkipped(decision)
    assert exc.decision is decision
    assert str(exc) == "skipped https://e.org/a (request: robots_disallow)"
