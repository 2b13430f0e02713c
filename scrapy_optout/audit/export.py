"""Filtering and flattening log records for ``scrapy-optout log export`` (streaming)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, time, timezone
from typing import Any

from scrapy_optout.audit.summary import host_of

CSV_COLUMNS = (
    "seq", "ts", "run", "agent", "purpose", "url", "stage", "action", "codes", "signals",
    "sources", "details", "policy_urls", "evidence", "licensing", "errors", "policy", "hash",
)  # fmt: skip
"""The CSV header: one row per record; a record's several reasons are joined with `` | ``."""

JOIN = " | "


def parse_time(text: str, *, end: bool = False) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime (a date: its start, or its end).

    Raises:
        ValueError: naming the text, when it is neither.
    """
    value = text.strip()
    try:
        if len(value) == 10:  # a date
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if end else time.min, timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or time") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def record_time(ts: object) -> datetime | None:
    """The ``ts`` of a record as an aware datetime (fractions beyond microseconds dropped)."""
    if not isinstance(ts, str) or not ts.endswith("Z"):
        return None
    body = ts[:-1]
    if "." in body:
        whole, fraction = body.split(".", 1)
        body = f"{whole}.{fraction[:6]}"
    try:
        return datetime.fromisoformat(body).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def matching(
    records: Iterable[Mapping[str, Any]],
    *,
    action: str | None = None,
    code: str | None = None,
    domain: str | None = None,
    url_prefix: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[Mapping[str, Any]]:
    """The records that pass every filter given (a domain matches its subdomains too)."""
    domain = domain.lower().strip(".") if domain else None
    for record in records:
        if action is not None and record.get("action") != action:
            continue
        url = str(record.get("url", ""))
        if url_prefix is not None and not url.startswith(url_prefix):
            continue
        if domain is not None:
            host = host_of(url)
            if host != domain and not host.endswith("." + domain):
                continue
        if code is not None and not any(
            isinstance(r, dict) and r.get("code") == code for r in record.get("reasons") or ()
        ):
            continue
        if since is not None or until is not None:
            moment = record_time(record.get("ts"))
            if moment is None or (since and moment < since) or (until and moment > until):
                continue
        yield record


def csv_row(record: Mapping[str, Any]) -> list[str]:
    """One CSV row of :data:`CSV_COLUMNS` for *record*."""
    reasons = [r for r in record.get("reasons") or () if isinstance(r, dict)]

    def each(key: str) -> str:
        return JOIN.join("" if r.get(key) is None else str(r.get(key)) for r in reasons)

    def listed(key: str) -> str:
        return JOIN.join(str(v) for v in record.get(key) or ())

    return [
        str(record.get("seq", "")), str(record.get("ts", "")), str(record.get("run", "")),
        str(record.get("agent", "")), str(record.get("purpose", "")), str(record.get("url", "")),
        str(record.get("stage", "")), str(record.get("action", "")), each("code"),
        each("signal"), each("source"), each("detail"), each("policy_url"), each("evidence"),
        listed("licensing"), listed("errors"), str(record.get("policy", "")),
        str(record.get("hash", "")),
    ]  # fmt: skip
