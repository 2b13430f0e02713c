"""The bundled example web (examples/site) for tests: its description, its server, free ports."""

from __future__ import annotations

import socket
import sys
from contextlib import ExitStack
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES / "site"))  # web.py and serve.py are scripts, not a package
import web
from serve import ExampleWeb

__all__ = ["EXAMPLES", "ExampleWeb", "free_base", "web"]


def free_base(count: int) -> int:
    """A first port such that *count* consecutive ports are free right now."""
    for base in range(23000, 60000, 97):
        with ExitStack() as probes:
            try:
                for port in range(base, base + count):
                    probes.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError("no free port range")
