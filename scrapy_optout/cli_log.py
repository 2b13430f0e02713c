"""``scrapy-optout log …``: verify, summarise, export, prove, report and merge compliance logs (DESIGN §7).

Every command reads the log streaming (constant memory in its length) and treats rotated segments
(``LOG.1.gz``…) as part of it. Exit codes: ``verify`` 0 intact, 1 damaged, 2 error; ``prove`` 0 when
decisions were found, 1 when none, 2 error; ``merge`` 0 merged, 1 an input is damaged (nothing
written), 2 error; the others 0, or 2 on an error (an unreadable log).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

from .audit import read, summarize, verify
from .audit.export import CSV_COLUMNS, csv_row, matching, parse_time
from .audit.prove import Evidence, evidence_of, matcher
from .audit.summary import Summary

PROG = "scrapy-optout log"
EXIT_OK, EXIT_BAD, EXIT_ERROR = 0, 1, 2


def _error(command: str, message: str) -> int:
    sys.stderr.write(f"{PROG} {command}: error: {message}\n")
    return EXIT_ERROR


def _progress_bar(stream: TextIO) -> Callable[[int, int], None] | None:
    """A progress bar on *stream* when it is a terminal (redrawn at most 10 times a second)."""
    if not stream.isatty():
        return None
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and done < total:
            return
        last[0] = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        stream.write(f"\rverifying [{bar:<30}] {share:6.1%}")
        if done >= total:
            stream.write("\r" + " " * 50 + "\r")
        stream.flush()

    return show


def run_verify(args: argparse.Namespace) -> int:
    """Check the chain, hashes and evidence; exit 0 only when the log is intact."""
    result = verify(
        args.log, check_evidence=not args.no_evidence, progress=_progress_bar(sys.stderr)
    )
    if result.ok:
        note = "" if args.no_evidence else ", evidence files checked"
        sys.stdout.write(f"{args.log}: intact, {result.records:,} records{note}\n")
        if result.repaired_tails:
            sys.stdout.write(
                f"{result.repaired_tails} torn tail(s) repaired by the writer on reopening "
                "(the cut bytes are kept in LOG.torn; see the 'repaired' records)\n"
            )
        return EXIT_OK
    if result.first_bad_line is None:  # the log cannot be read at all
        return _error("verify", str(result.problem))
    sys.stdout.write(
        f"{args.log}: DAMAGED: {result.problem}\n{result.records:,} records intact before it\n"
    )
    return EXIT_BAD


def _records(args: argparse.Namespace, command: str) -> Iterator[Mapping[str, Any]] | int:
    try:
        records = read(args.log)
        first = next(records, None)
    except (OSError, ValueError) as exc:
        return _error(command, str(exc))
    if first is None:
        return iter(())

    def chained() -> Iterator[Mapping[str, Any]]:
        yield first
        yield from records

    return chained()


def summary_text(summary: Summary, top: int) -> str:
    """The human-readable summary: totals, then one line per reason code with its count."""
    lines = [
        f"records  {summary.records:,}",
        f"allowed  {summary.actions['allow']:,}",
        f"skipped  {summary.skips:,}",
        f"bypassed {summary.actions['bypass']:,}",
        f"from     {summary.first or '-'}",
        f"to       {summary.last or '-'}",
    ]

    def table(title: str, counts: Mapping[str, int] | list[tuple[str, int]]) -> None:
        items = list(counts.items()) if isinstance(counts, Mapping) else counts
        lines.append(f"{title}:")
        width = max((len(k) for k, _ in items), default=0)
        lines.extend(f"  {k:<{width}}  {n:,}" for k, n in items)
        if not items:
            lines.append("  (none)")

    table("skips by reason code", dict(summary.skips_by_code.most_common()))
    table("skips by signal", dict(summary.skips_by_signal.most_common()))
    table("skips by stage", dict(summary.skips_by_stage.most_common()))
    table(f"top {top} hosts (records)", summary.hosts.most_common(top))
    table(f"top {top} hosts (skips)", summary.skipped_hosts.most_common(top))
    lines.append("policies in force:")
    for digest, use in summary.policies.items():
        lines.append(f"  {digest[:16]}  {use.agent} / {use.purpose}  {use.records:,} records")
    lines.append(f"runs     {len(summary.runs):,}")
    if summary.workers:
        table("records by worker", dict(sorted(summary.workers.items())))
    return "\n".join(lines) + "\n"


def run_summary(args: argparse.Namespace) -> int:
    """Print the log's figures."""
    try:
        summary = summarize(args.log)
    except (OSError, ValueError) as exc:
        return _error("summary", str(exc))
    if args.json:
        sys.stdout.write(json.dumps(summary.to_json(args.top), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(summary_text(summary, args.top))
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    """Write the matching records as CSV or JSON Lines, one at a time."""
    records = _records(args, "export")
    if isinstance(records, int):
        return records
    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until, end=True) if args.until else None
    except ValueError as exc:
        return _error("export", str(exc))
    wanted = matching(records, action=args.action, code=args.code, domain=args.domain,
                      url_prefix=args.url_prefix, since=since, until=until)  # fmt: skip
    out: TextIO = sys.stdout
    if args.output:
        out = open(args.output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    try:
        if args.format == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(CSV_COLUMNS)
            for record in wanted:
                writer.writerow(csv_row(record))
        else:
            for record in wanted:
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    except ValueError as exc:  # a bad line met while streaming
        return _error("export", str(exc))
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK


def _evidence_text(item: Evidence) -> str:
    state = {True: "verified", False: "DOES NOT MATCH its digest", None: "MISSING"}[item.intact]
    head = f"evidence {item.digest} ({state}; {item.path})\n"
    if item.body is None:
        return head
    text = item.body.decode("utf-8", "replace")
    return head + "".join(f"    | {line}\n" for line in text.splitlines()) + "\n"


def run_prove(args: argparse.Namespace) -> int:
    """Print every decision about a URL or host, with the evidence documents as fetched."""
    records = _records(args, "prove")
    if isinstance(records, int):
        return records
    try:
        about = matcher(args.target)
    except ValueError as exc:
        return _error("prove", str(exc))
    found: list[Mapping[str, Any]] = []
    cited: dict[str, None] = {}
    try:
        for record in records:
            if about(str(record.get("url", ""))):
                found.append(record)
                for reason in record.get("reasons") or ():
                    if isinstance(reason, dict) and isinstance(reason.get("evidence"), str):
                        cited[reason["evidence"]] = None
    except ValueError as exc:
        return _error("prove", str(exc))
    evidence = [evidence_of(args.log, digest) for digest in cited]
    if args.json:
        report = {
            "target": args.target,
            "decisions": found,
            "evidence": [e.to_json() for e in evidence],
        }
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        out = [f"{len(found):,} decision(s) about {args.target} in {args.log}\n"]
        for record in found:
            out.append(
                f"\n{record.get('ts')}  seq {record.get('seq')}  {record.get('action')} "
                f"({record.get('stage')} stage)  {record.get('url')}\n"
            )
            for reason in record.get("reasons") or ():
                out.append(
                    f"  {reason.get('code')} [{reason.get('signal')}] from {reason.get('source')}\n"
                    f"    {reason.get('detail')}\n"
                )
                if reason.get("policy_url"):
                    out.append(f"    policy: {reason.get('policy_url')}\n")
                if reason.get("evidence"):
                    out.append(f"    evidence: {reason.get('evidence')}\n")
        if evidence:
            out.append("\nevidence documents, as they were fetched:\n\n")
            out.extend(_evidence_text(item) for item in evidence)
        sys.stdout.write("".join(out))
    return EXIT_OK if found else EXIT_BAD


def run_report(args: argparse.Namespace) -> int:
    """Write the self-contained HTML report."""
    from .audit.report import render_report

    try:
        summary = summarize(args.log)
        result = verify(args.log)
        skipped = (r for r in read(args.log) if r.get("action") == "skip")
        verified = (
            f"intact: {result.records:,} records" if result.ok else f"DAMAGED: {result.problem}"
        )
        generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        page = render_report(summary, skipped, source=os.fspath(args.log), generated=generated,
                             verified=verified)  # fmt: skip
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(page)
    except (OSError, ValueError) as exc:
        return _error("report", str(exc))
    sys.stdout.write(f"wrote {args.output}: {summary.records:,} records, {summary.skips:,} skips\n")
    return EXIT_OK


def run_merge(args: argparse.Namespace) -> int:
    """Verify the workers' logs and write them as one chain (nothing when one is damaged)."""
    from .audit.merge import DamagedInput, MergeError, merge

    try:
        result = merge(args.logs, args.output)
    except DamagedInput as exc:
        sys.stdout.write(f"{exc}\n")
        return EXIT_BAD
    except MergeError as exc:
        return _error("merge", str(exc))
    counts = ", ".join(f"{log}: {records:,}" for log, records in result.inputs)
    sys.stdout.write(
        f"wrote {result.output}: {result.records:,} records from {len(result.inputs)} logs "
        f"({counts}); {result.evidence:,} evidence files copied\n"
    )
    return EXIT_OK


def add_log(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``log verify|summary|export|prove|report|merge``."""
    log = subparsers.add_parser("log", help="review a compliance log", description=__doc__)
    verbs = log.add_subparsers(dest="log_command", required=True, metavar="LOG_COMMAND")

    def verb(name: str, help_: str, handler: Callable[[argparse.Namespace], int]) -> Any:
        parser = verbs.add_parser(name, help=help_, description=help_)
        parser.add_argument(
            "log", metavar="LOG", help="the compliance log (its .N.gz segments too)"
        )
        parser.set_defaults(handler=handler)
        return parser

    p = verb("verify", "check the chain, the hashes and the evidence files (exit 0 only if intact)",
             run_verify)  # fmt: skip
    p.add_argument("--no-evidence", action="store_true", help="do not check the evidence files")
    p = verb("summary", "totals, skips by reason, signal and stage, top hosts, time span, policies",
             run_summary)  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--top", type=int, default=20, metavar="N", help="hosts listed (default 20)")
    p = verb("export", "write the matching records as CSV or JSON Lines", run_export)
    p.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    p.add_argument("--action", choices=("allow", "skip", "bypass"))
    p.add_argument("--code", metavar="C", help="records with a reason of this code")
    p.add_argument("--domain", metavar="D", help="records of this host and its subdomains")
    p.add_argument("--url-prefix", metavar="P", help="records whose URL starts with P")
    p.add_argument("--since", metavar="T", help="records at or after T (ISO date or time, UTC)")
    p.add_argument("--until", metavar="T", help="records at or before T (a date: its whole day)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p = verb("prove", "every decision about a URL or host, with the evidence as fetched", run_prove)
    p.add_argument("target", metavar="URL-OR-HOST",
                   help="a host (every port), HOST:PORT, or a URL prefix")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = verb("report", "write a self-contained HTML report", run_report)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    help_ = "verify several workers' logs and write them as one time-ordered chain"
    p = verbs.add_parser("merge", help=help_, description=help_)
    p.add_argument("logs", metavar="LOG", nargs="+", help="the workers' compliance logs")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="the merged log to write")
    p.set_defaults(handler=run_merge)
