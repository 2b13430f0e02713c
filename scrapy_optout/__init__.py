"""scrapy_optout: honour creators' AI-training and TDM opt-outs in Scrapy and httpx.

Importing this package loads neither Scrapy nor httpx: the pure core, the policy, the audit log and
``evaluate_response`` work on their own.
"""

from __future__ import annotations

from ._core.models import Decision, Reason
from ._core.policy import Licence, Policy
from ._errors import RequestSkipped
from ._evaluate import evaluate_response

__version__ = "0.1.0"

__all__ = [
    "Decision",
    "Licence",
    "Policy",
    "Reason",
    "RequestSkipped",
    "__version__",
    "evaluate_response",
]
