"""What a compliance log says, in figures: :func:`summarize` (``scrapy-optout log summary``).

One pass over the records (constant memory in the log's length: the counters grow with the number
of distinct hosts, codes and policies, not of records). A skip is counted under its deciding
reason, the first of its ``reasons`` (DESIGN §3: deciding reasons first).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TOP = 20
"""Domains listed by :meth:`Summary.to_json` (all are counted)."""


@dataclass
class PolicyUse:
    """A policy in force in the log: who crawled, for what, and how many records it decided."""

    agent: str
    purpose: str
    records: int = 0


@dataclass
class Summary:
    """The figures of a log.

    Attributes:
        records: every record.
        actions: records per action (``allow``, ``skip``, ``bypass``).
        skips_by_code / skips_by_signal / skips_by_stage: skips per deciding reason's code and
            signal, and per stage.
        hosts / skipped_hosts: records and skips per host (lower-case, without port).
        skips_by_hour: skips per UTC hour (``2026-11-29T10``).
        first / last: the earliest and latest ``ts``.
        policies: policy hash -> its agent, purpose and record count.
        runs: records per run id.
        workers: records per worker id, for records that name one (``worker``: the fleet's
            crawler processes).
        leads: origin -> the licensing URLs (``tdm-policy``, RSL licences, registry policies) its
            records named, for a licensing team.
    """

    records: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    skips_by_code: Counter[str] = field(default_factory=Counter)
    skips_by_signal: Counter[str] = field(default_factory=Counter)
    skips_by_stage: Counter[str] = field(default_factory=Counter)
    hosts: Counter[str] = field(default_factory=Counter)
    skipped_hosts: Counter[str] = field(default_factory=Counter)
    skips_by_hour: Counter[str] = field(default_factory=Counter)
    first: str | None = None
    last: str | None = None
    policies: dict[str, PolicyUse] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)
    workers: Counter[str] = field(default_factory=Counter)
    leads: dict[str, set[str]] = field(default_factory=dict)

    @property
    def skips(self) -> int:
        """Records with action ``skip``."""
        return self.actions["skip"]

    def add(self, record: Mapping[str, Any]) -> None:
        """Count one record."""
        self.records += 1
        action = str(record.get("action"))
        self.actions[action] += 1
        url = str(record.get("url", ""))
        host = host_of(url)
        self.hosts[host] += 1
        ts = record.get("ts")
        if isinstance(ts, str):
            # RFC 3339 UTC with "Z" and the same length of digits sort as text (the writer's own).
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts
        policy = str(record.get("policy", ""))
        use = self.policies.get(policy)
        if use is None:
            use = self.policies[policy] = PolicyUse(
                str(record.get("agent", "")), str(record.get("purpose", ""))
            )
        use.records += 1
        self.runs[str(record.get("run", ""))] += 1
        worker = record.get("worker")
        if worker is not None:
            self.workers[str(worker)] += 1
        reasons = record.get("reasons") or []
        leads = [str(u) for u in record.get("licensing") or ()]
        leads += [str(r["policy_url"]) for r in reasons if isinstance(r, dict) and r.get("policy_url")]
        if leads:
            self.leads.setdefault(origin_of(url), set()).update(leads)
        if action == "skip":
            deciding = reasons[0] if reasons and isinstance(reasons[0], dict) else {}
            self.skips_by_code[str(deciding.get("code"))] += 1
            self.skips_by_signal[str(deciding.get("signal"))] += 1
            self.skips_by_stage[str(record.get("stage"))] += 1
            self.skipped_hosts[host] += 1
            if isinstance(ts, str):
                self.skips_by_hour[ts[:13]] += 1

    def to_json(self, top: int = TOP) -> dict[str, Any]:
        """The summary as one JSON object (``scrapy-optout log summary --json``)."""
        return {
            "records": self.records,
            "skips": self.skips,
            "actions": dict(sorted(self.actions.items())),
            "skips_by_code": dict(self.skips_by_code.most_common()),
            "skips_by_signal": dict(self.skips_by_signal.most_common()),
            "skips_by_stage": dict(self.skips_by_stage.most_common()),
            "top_domains": [
                {"host": h, "records": n, "skips": self.skipped_hosts[h]}
                for h, n in self.hosts.most_common(top)
            ],
            "top_skipped_domains": [
                {"host": h, "skips": n} for h, n in self.skipped_hosts.most_common(top)
            ],
            "first": self.first,
            "last": self.last,
            "policies": {
                digest: {"agent": use.agent, "purpose": use.purpose, "records": use.records}
                for digest, use in self.policies.items()
            },
            "runs": len(self.runs),
            "workers": dict(sorted(self.workers.items())),
            "licensing_leads": {origin: sorted(urls) for origin, urls in sorted(self.leads.items())},
        }


def host_of(url: str) -> str:
    """The lower-case host of *url* without its port (``""`` when it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of *url*, as written, lower-cased."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}".lower()


def summarize(path: str | os.PathLike[str]) -> Summary:
    """The figures of the log at *path* (its rotated segments included), in one streaming pass."""
    from scrapy_optout.audit.verify import read

    return summarize_records(read(path))


def summarize_records(records: Iterable[Mapping[str, Any]]) -> Summary:
    """The figures of *records*."""
    summary = Summary()
    for record in records:
        summary.add(record)
    return summary
