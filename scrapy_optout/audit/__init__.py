"""The compliance log (DESIGN §7): a hash-chained JSON Lines writer, reader, verifier and summary.

Importing this package stays light: no scrapy, httpx, twisted or asyncio.
"""

from __future__ import annotations

from scrapy_optout.audit.record import (
    ZERO_HASH,
    canonical_json,
    decision_to_fields,
    record_hash,
)
from scrapy_optout.audit.summary import Summary, summarize
from scrapy_optout.audit.verify import VerifyResult, read, verify
from scrapy_optout.audit.writer import AuditWriter

__all__ = (
    "ZERO_HASH",
    "AuditWriter",
    "Summary",
    "VerifyResult",
    "canonical_json",
    "decision_to_fields",
    "read",
    "record_hash",
    "summarize",
    "verify",
)
