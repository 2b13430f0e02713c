"""scrapy_optout: honour creators' AI-training and TDM opt-outs in Scrapy and httpx.

Importing this package loads neither Scrapy nor httpx: the pure core, the policy, the audit log and
``evaluate_response`` work on their own; the Scrapy and httpx names are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._core.models import Decision, Reason
from ._core.policy import Licence, Policy
from ._errors import RequestSkipped
from ._evaluate import evaluate_response

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .client import (
        AsyncOptOutClient,
        AsyncOptOutTransport,
        OptedOutError,
        OptOutClient,
        OptOutTransport,
    )
    from .middleware import Addon, OptOutMiddleware

_LAZY = {
    "Addon": "middleware",
    "OptOutMiddleware": "middleware",
    "AsyncOptOutClient": "client",
    "AsyncOptOutTransport": "client",
    "OptOutClient": "client",
    "OptOutTransport": "client",
    "OptedOutError": "client",
}


def __getattr__(name: str) -> Any:
    """Load the shells' names on first use, so that importing the package stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scrapy_optout' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "Addon",
    "AsyncOptOutClient",
    "AsyncOptOutTransport",
    "Decision",
    "Licence",
    "OptOutClient",
    "OptOutMiddleware",
    "OptOutTransport",
    "OptedOutError",
    "Policy",
    "Reason",
    "RequestSkipped",
    "__version__",
    "evaluate_response",
]
