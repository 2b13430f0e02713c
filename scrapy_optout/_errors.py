"""Exceptions raised by scrapy_optout.

* ``RequestSkipped``: a request was not sent, or its response not returned, because the policy
  reserves it. ``.decision`` tells why. The shells raise subclasses that also belong to their host's
  hierarchy (Scrapy's ``IgnoreRequest``, httpx's ``RequestError``).
* Bad configuration raises the built-in ``ValueError`` with a message naming the setting.
"""

from __future__ import annotations

from ._core.models import Decision


class RequestSkipped(Exception):  # an event, not an error (style.md §4.8)
    """A request or response was skipped by the opt-out policy.

    Attributes:
        decision: the :class:`~scrapy_optout.Decision` with its reasons.
    """

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        self.decision = decision
        codes = ", ".join(r.code for r in decision.reasons) or "no reason"
        super().__init__(message or f"skipped {decision.url} ({decision.stage}: {codes})")
