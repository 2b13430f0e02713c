"""What a log says about one URL or host (``scrapy-optout log prove``), with its evidence.

The answer to a rights holder's "did you honour my opt-out?": every decision about their URL or
host, and the documents that decided (robots.txt, tdmrep.json, ai.txt…) as they were fetched,
read back from ``<log>.evidence/`` and checked against their digests (DESIGN §5.1, §7).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy_optout.audit.record import evidence_hex

_DEFAULT_PORTS = {"http": 80, "https": 443}


def matcher(target: str) -> Callable[[str], bool]:
    """A test of record URLs for ``prove``'s argument (DESIGN §5.1).

    ``HOST`` matches every port of that host; ``HOST:PORT`` only that port (a default port also
    matches URLs that leave it out); an absolute URL is a prefix.

    Raises:
        ValueError: the argument is empty or not a host, host:port or URL.
    """
    text = target.strip()
    if not text:
        raise ValueError("give a URL, a host or host:port")
    if "://" in text:
        return lambda url: url.startswith(text)
    try:
        parts = urlsplit("//" + text)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise ValueError(f"{target!r} is not a URL, a host or host:port") from None
    if not host or parts.path or parts.query:
        raise ValueError(f"{target!r} is not a URL, a host or host:port")

    def about(url: str) -> bool:
        try:
            seen = urlsplit(url)
            if (seen.hostname or "").lower() != host:
                return False
            return port is None or (seen.port or _DEFAULT_PORTS.get(seen.scheme)) == port
        except ValueError:
            return False

    return about


@dataclass(frozen=True)
class Evidence:
    """One evidence document cited by the log, as read back from its file.

    Attributes:
        digest: ``sha256:<hex>`` as cited.
        path: where its copy lives.
        body: the bytes, or None when the file is missing or the digest malformed.
        intact: the bytes match the digest (None: missing).
    """

    digest: str
    path: str
    body: bytes | None
    intact: bool | None

    def to_json(self) -> dict[str, Any]:
        """The document for ``prove --json`` (its text decoded as UTF-8, bad bytes replaced)."""
        return {
            "digest": self.digest,
            "path": self.path,
            "intact": self.intact,
            "text": None if self.body is None else self.body.decode("utf-8", "replace"),
        }


def evidence_of(log: str | os.PathLike[str], digest: str) -> Evidence:
    """Read back the evidence document *digest* of the log *log*."""
    name = evidence_hex(digest)
    folder = os.fspath(log) + ".evidence"
    if name is None:
        return Evidence(digest, folder, None, None)
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            body = f.read()
    except OSError:
        return Evidence(digest, path, None, None)
    return Evidence(digest, path, body, hashlib.sha256(body).hexdigest() == name)
