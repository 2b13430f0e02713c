"""``scrapy-optout registry …``: build a registry file, look URLs up in it, serve it (DESIGN §7, §8).

* ``registry build INPUT... -o REG.sqlite`` compiles CSV/JSON input files (exit 0, or 2 naming the
  malformed entry).
* ``registry lookup REG URL...`` prints one line per URL: the URL, ``reserved`` or ``free``, and for
  a reserved URL each reserving entry's scope, value and purposes, tab-separated (DESIGN §5.2). REG is
  a registry file or the ``http(s)://`` root of a registry service. Exit 0 when no URL is reserved,
  1 when one is, 2 on an error (including a registry that cannot answer).
* ``registry serve REG --host H --port P`` runs the reference service (needs the ``server`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._core.models import RegistryAnswer, RegistryEntry
from ._core.policy import PURPOSES
from ._core.rules import registry_covers

PROG = "scrapy-optout registry"
_DESCRIPTION = """\
Build, query and serve a central opt-out registry (entries: domain, host, URL prefix or URL).

  registry build INPUT... -o REG.sqlite    compile CSV/JSON entry files
  registry lookup REG URL...               URL, reserved|free[, scope, value, purposes] per line;
                                           exit 0 none reserved, 1 some, 2 error
  registry serve REG --host H --port P     run the reference HTTP service
"""
EXIT_FREE, EXIT_RESERVED, EXIT_ERROR = 0, 1, 2


def _error(command: str, message: str) -> int:
    sys.stderr.write(f"{PROG} {command}: error: {message}\n")
    return EXIT_ERROR


def run_build(args: argparse.Namespace) -> int:
    """Compile the inputs; print how many entries went in."""
    from .registry.local import build

    try:
        count = build(args.inputs, args.output)
    except (ValueError, OSError) as exc:
        return _error("build", str(exc))
    sys.stdout.write(f"{count} entries -> {args.output}\n")
    return EXIT_FREE


def _reserving(answer: RegistryAnswer, purpose: str | None) -> list[RegistryEntry]:
    return [
        entry
        for entry in answer.entries
        if not entry.permits and (purpose is None or registry_covers(entry.purposes, purpose))
    ]


def _line(url: str, reserving: list[RegistryEntry]) -> str:
    fields = [url, "reserved" if reserving else "free"]
    for entry in reserving:
        fields += [entry.scope, entry.value, ";".join(sorted(entry.purposes)) or "all"]
    return "\t".join(fields)


def _record(url: str, answer: RegistryAnswer, reserving: list[RegistryEntry]) -> dict[str, Any]:
    from .registry.protocol import entry_json

    return {
        "url": url,
        "reserved": bool(reserving),
        "entries": [entry_json(entry) for entry in answer.entries],
    }


def run_lookup(args: argparse.Namespace) -> int:
    """Look each URL up; exit 1 if any is reserved."""
    from .registry import HttpRegistry, LocalRegistry

    backend: Any
    try:
        if "://" in args.registry:
            backend = HttpRegistry(args.registry, hashed=args.hashed, user_agent=args.user_agent)
        elif args.hashed:
            return _error("lookup", "--hashed needs a registry service (an http(s):// URL)")
        else:
            backend = LocalRegistry(args.registry)
    except ValueError as exc:
        return _error("lookup", str(exc))
    status = EXIT_FREE
    try:
        for url in args.urls:
            answer = backend.lookup(url, args.timeout)
            if answer is None:
                return _error("lookup", f"the registry could not answer about {url}")
            reserving = _reserving(answer, args.purpose)
            if reserving:
                status = EXIT_RESERVED
            if args.json:
                sys.stdout.write(
                    json.dumps(_record(url, answer, reserving), ensure_ascii=False) + "\n"
                )
            else:
                sys.stdout.write(_line(url, reserving) + "\n")
    finally:
        backend.close()
    return status


def run_serve(args: argparse.Namespace) -> int:
    """Serve the registry until interrupted."""
    try:
        from .registry.server import serve
    except ImportError as exc:
        return _error(
            "serve", f"{exc}: install the server extra (pip install 'scrapy-optout[server]')"
        )
    try:
        serve(args.registry, args.host, args.port)
    except (ValueError, OSError) as exc:
        return _error("serve", str(exc))
    return EXIT_FREE


def add_registry(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``registry build|lookup|serve``."""
    registry = subparsers.add_parser(
        "registry", help="build, query and serve an opt-out registry", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    verbs = registry.add_subparsers(dest="registry_command", required=True, metavar="COMMAND")
    p = verbs.add_parser("build", help="compile CSV/JSON entries into a SQLite registry")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV or JSON files of entries")
    p.add_argument("-o", "--output", required=True, metavar="REG", help="the .sqlite file to write")
    p.set_defaults(handler=run_build)
    p = verbs.add_parser("lookup", help="say whether URLs are reserved (exit 1 if one is)")
    p.add_argument("registry", metavar="REG", help="a registry file, or a service's http(s) root")
    p.add_argument("urls", nargs="+", metavar="URL")
    p.add_argument("--purpose", choices=sorted(PURPOSES),
                   help="only entries reserving this purpose count (default: any)")  # fmt: skip
    p.add_argument("--hashed", action="store_true", help="query a service with hash prefixes")
    p.add_argument("--json", action="store_true", help="one JSON object per URL")
    p.add_argument("--user-agent", default="scrapy-optout-registry", metavar="TOKEN",
                   help="the User-Agent sent to a service")  # fmt: skip
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="seconds a service may take (default 10)")  # fmt: skip
    p.set_defaults(handler=run_lookup)
    p = verbs.add_parser("serve", help="run the reference registry service")
    p.add_argument("registry", metavar="REG", help="the registry file to serve")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8750, help="port (default 8750; 0: any free port)")
    p.set_defaults(handler=run_serve)
