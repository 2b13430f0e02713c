"""The ``scrapy-optout`` command (DESIGN §7 ★).

One ``argparse`` parser with a subcommand per verb. Each subcommand is added by a function of
:data:`SUBCOMMANDS` that builds its sub-parser and sets ``handler`` (a function from the parsed
arguments to an exit code): ``check`` here, ``log ...`` in ``cli_log.py``, ``registry ...`` in
``cli_registry.py`` (DESIGN §7). Heavy imports (httpx, the client) happen inside handlers:
``scrapy-optout --help`` and the log commands stay light.

``scrapy-optout check URL`` evaluates one URL live with :class:`~scrapy_optout.OptOutClient` (a GET
whose body is discarded unread) and prints the decision. Exit codes (DESIGN §7, §5.2): 0 allowed,
1 skipped, 2 error (a URL that is not absolute http(s) with a host, bad options, an origin that cannot
be connected to, a network error on the page).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from . import __version__
from ._core.models import Code, Decision
from ._core.policy import PURPOSES, Policy

if TYPE_CHECKING:
    import httpx

PROG = "scrapy-optout"
DEFAULT_CHECK_AGENT = "scrapy-optout-check"
"""The product token ``check`` uses without ``--user-agent`` (DESIGN §5.2: a documented default).

It names no real crawler on purpose: robots.txt groups for your own token only apply when you pass
``--user-agent YourBot``."""
DEFAULT_TIMEOUT = 10.0
"""Seconds allowed to each network operation of ``check`` (also bounds each side-document fetch)."""

EXIT_ALLOWED, EXIT_SKIPPED, EXIT_ERROR = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


# --- argument types -------------------------------------------------------------------------------


def http_url(text: str) -> str:
    """Accept only an absolute http(s) URL with a host (DESIGN §5.2); argparse maps errors to exit 2.

    Raises:
        argparse.ArgumentTypeError: for anything else (relative, ``ftp:``, host-less, bad port...).
    """
    problem = f"not an absolute http(s) URL with a host: {text!r}"
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in text):
        raise argparse.ArgumentTypeError(problem)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise argparse.ArgumentTypeError(problem) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(problem)
    return text


def seconds(text: str) -> float:
    """A positive, finite number of seconds.

    Raises:
        argparse.ArgumentTypeError: for anything else.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


# --- output ---------------------------------------------------------------------------------------


def printable(text: str) -> str:
    """*text* with control and format characters escaped, so remote data cannot drive a terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def decision_json(
    decision: Decision, *, requested: str, status: int | None, policy: Policy
) -> dict[str, Any]:
    """The ``--json`` object of one ``check`` (reason fields as in DESIGN §3)."""
    return {
        "url": decision.url,
        "requested": requested,
        "status": status,
        "agent": policy.user_agent,
        "purpose": policy.purpose,
        "allowed": decision.allowed,
        "action": decision.action,
        "stage": decision.stage,
        "reasons": [
            {
                "code": reason.code,
                "signal": reason.signal,
                "source": reason.source,
                "detail": reason.detail,
                "policy_url": reason.policy_url,
                "evidence": reason.evidence,
            }
            for reason in decision.reasons
        ],
        "licensing": list(decision.licensing),
        "errors": list(decision.errors),
    }


def decision_text(decision: Decision, *, status: int | None, policy: Policy) -> str:
    """The human-readable report of one ``check``: action, stage, then one line per reason."""
    lines = [
        f"url: {printable(decision.url)}",
        f"agent: {policy.user_agent}  purpose: {policy.purpose}",
        f"action: {decision.action}",
        f"stage: {decision.stage}"
        + (" (nothing was sent)" if decision.stage == "request" and not decision.allowed else ""),
    ]
    if status is not None:
        lines.append(f"status: HTTP {status}")
    for reason in decision.reasons:
        line = f"reason: {reason.code} [{reason.signal}] {printable(reason.source)}"
        line += f": {printable(reason.detail)}"
        if reason.policy_url:
            line += f" (policy: {printable(reason.policy_url)})"
        lines.append(line)
    lines.extend(f"licensing: {printable(url)}" for url in decision.licensing)
    lines.extend(f"error: {printable(error)}" for error in decision.errors)
    return "\n".join(lines) + "\n"


# --- check ----------------------------------------------------------------------------------------


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class _Seen:
    """What the wrapped transport saw: origins it could not connect to, and response statuses."""

    def __init__(self) -> None:
        self.unreachable: dict[tuple[str, str, int | None], str] = {}
        self.status: dict[str, int] = {}


def _recorder(inner: httpx.BaseTransport, seen: _Seen) -> httpx.BaseTransport:
    """Wrap *inner* to note in *seen* the origins that could not be connected to at all.

    Why: a robots.txt that cannot be fetched makes the client skip the page (RFC 9309 §2.3.1.4,
    ``robots_unreachable``), which would be exit 1; but when the origin refuses the connection (or
    its name does not resolve, or TLS fails) ``check`` could not evaluate anything, so it reports an
    error (exit 2), as a network error on the page itself would be.

    The statuses are kept because a response-stage skip raises before the caller sees the response.
    """
    import httpx

    class Recorder(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response = inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                seen.unreachable.setdefault(_origin(request.url), f"{type(exc).__name__}: {exc}")
                raise
            seen.status[str(request.url)] = response.status_code
            return response

        def close(self) -> None:
            inner.close()

    return Recorder()


def _error(message: str) -> int:
    sys.stderr.write(f"{PROG} check: error: {printable(message)}\n")
    return EXIT_ERROR


def run_check(args: argparse.Namespace) -> int:
    """Evaluate ``args.url`` live and print the decision; return the exit code."""
    import httpx

    from .client import OptedOutError, OptOutClient

    try:
        policy = Policy(user_agent=args.user_agent, purpose=args.purpose)
        target = httpx.URL(args.url)
    except (ValueError, httpx.InvalidURL) as exc:
        return _error(str(exc))
    seen = _Seen()
    try:
        with OptOutClient(
            policy=policy,
            transport=_recorder(httpx.HTTPTransport(), seen),
            timeout=args.timeout,
            follow_redirects=True,
            headers={"User-Agent": policy.user_agent},
        ) as client:
            try:
                # A streamed GET closed unread: the transport has already read the HTML head it
                # needs (DESIGN §5.2 "Head scan"), and the body is of no use to a check.
                with client.stream("GET", target) as response:
                    decision: Decision = response.extensions["optout"]
            except OptedOutError as skipped:
                decision = skipped.decision
    except httpx.HTTPError as exc:  # the page itself: refused, reset, timed out, bad redirect...
        return _error(f"cannot fetch {args.url}: {type(exc).__name__}: {exc}")
    # The origin of the URL decided on: the page's, or a redirect target's (each hop is checked).
    origin_down = seen.unreachable.get(_origin(httpx.URL(decision.url)))
    if origin_down and any(r.code == Code.ROBOTS_UNREACHABLE for r in decision.reasons):
        return _error(f"cannot connect to {args.url}: {origin_down}")
    status = seen.status.get(decision.url) if decision.stage == "response" else None
    if args.json:
        report = decision_json(decision, requested=args.url, status=status, policy=policy)
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(decision_text(decision, status=status, policy=policy))
    return EXIT_ALLOWED if decision.allowed else EXIT_SKIPPED


def add_check(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check URL [--user-agent T] [--purpose P] [--json] [--timeout S]``."""
    parser = subparsers.add_parser(
        "check",
        help="evaluate one URL live and print the decision",
        description=(
            "Fetch URL's origin documents (robots.txt, tdmrep.json, ai.txt) and the page's headers "
            "and HTML head, exactly as OptOutClient would, and print the decision with its "
            "reasons. The page body is not downloaded. Exit 0 allowed, 1 skipped, 2 error."
        ),
    )
    parser.add_argument("url", type=http_url, metavar="URL", help="an absolute http(s) URL")
    parser.add_argument(
        "--user-agent",
        default=DEFAULT_CHECK_AGENT,
        metavar="TOKEN",
        help="your crawler's product token, matched against robots.txt groups and bot-scoped "
        f"directives, and sent as the User-Agent (default: {DEFAULT_CHECK_AGENT})",
    )
    parser.add_argument(
        "--purpose",
        default="train-ai",
        choices=sorted(PURPOSES),
        help="what the crawl is for (default: train-ai)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds per network operation and per side document (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.set_defaults(handler=run_check)


def _add_log(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .cli_log import add_log

    add_log(subparsers)


def _add_registry(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .cli_registry import add_registry

    add_registry(subparsers)


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_check,
    _add_log,
    _add_registry,
)
"""The functions that add each subcommand."""


def build_parser() -> argparse.ArgumentParser:
    """The ``scrapy-optout`` parser with every subcommand of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Honour creators' AI-training and TDM opt-outs: check URLs live, review "
        "compliance logs, build and serve opt-out registries.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _safe_output(stream: TextIO) -> None:
    # Remote text may not fit a narrow locale's encoding: escape it rather than crash mid-report.
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line *argv* (default ``sys.argv[1:]``) and return the exit code.

    Usage errors (unknown option, bad ``--purpose``, a URL that is not absolute http(s)) exit 2
    through ``argparse``, as does every other error.
    """
    _safe_output(sys.stdout)
    _safe_output(sys.stderr)
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
