"""Registry entries: reading input files, and the canonical forms lookups compare (DESIGN §8).

An input file is CSV with a header row, or JSON (a list of objects with the same keys):

* ``scope``: ``domain`` (the host and all its subdomains), ``host`` (exactly that host, any port),
  ``prefix`` (a URL prefix) or ``url`` (an exact URL);
* ``value``: the domain, host, URL prefix or URL;
* ``purposes``: ``;``-separated purposes reserved (``train-ai;ai-input``), empty for all (in JSON,
  a list is accepted too);
* ``policy``: an optional policy or contact URL, kept as a licensing lead;
* ``registered``: an optional ISO date; ``source``: optional free text (who registered it);
* ``permits`` (an extension of DESIGN §8's columns): ``true`` for an opt-in, a permission rather
  than a reservation (what opt-in mode collects); absent or ``false`` otherwise.

Hosts compare lower-case without a trailing dot; URLs and prefixes with their scheme and host
lower-cased, the default port and the fragment dropped (:func:`canonical_url`). The operator's own
data: anything malformed raises ``ValueError`` naming the file, the entry and the column.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy_optout._core.models import RegistryEntry
from scrapy_optout._core.policy import PURPOSES, SCOPES

COLUMNS = ("scope", "value", "purposes", "policy", "registered", "source", "permits")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


# The common case, answered without urlsplit (every lookup canonicalises its URL): a plain ASCII
# host, an optional port, and a path of printable ASCII. Anything else takes the general road;
# tests/registry/test_entries.py checks both give the same answers.
_PLAIN = re.compile(r"(?i:(https?))://([a-z0-9-]+(?:\.[a-z0-9-]+)*\.?)(?::(\d{0,5}))?([/?][!-~]*)?")


def canonical_url(url: str) -> str:
    """*url* with scheme and host lower-cased, the default port and the fragment dropped.

    An empty path is ``/``, so a prefix ``https://e.org`` covers the whole host.

    A text that is not an absolute http(s) URL is returned as it is (it matches only itself).
    """
    plain = _PLAIN.fullmatch(url)
    if plain:
        scheme, host, port, rest = plain.groups()
        scheme = scheme.lower()
        if not port or int(port) == _DEFAULT_PORTS[scheme]:
            netloc = host.lower().rstrip(".")
        elif int(port) <= 65535:
            netloc = f"{host.lower().rstrip('.')}:{int(port)}"
        else:
            return url  # as urlsplit's port check would have it
        rest = (rest or "/").partition("#")[0]
        return f"{scheme}://{netloc}{rest if rest[0] == '/' else '/' + rest}"
    return _canonical_url(url)


def _canonical_url(url: str) -> str:
    """:func:`canonical_url` by urlsplit, for any URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host = parts.hostname.rstrip(".")
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    rest = parts.path or "/"
    if parts.query or "?" in url.split("#", 1)[0]:
        rest += "?" + parts.query
    return f"{scheme}://{netloc}{rest}"


def host_of(canon: str) -> str:
    """The host of an http(s) URL from :func:`canonical_url`, as :func:`canonical_host` gives it.

    Faster than urlsplit; it reads the authority as urlsplit's ``hostname`` does (after any
    ``user@``, inside IPv6 brackets, before the port), for the URLs canonical_url left as given.
    """
    netloc = canon[canon.find("://") + 3 : origin_end(canon)].rpartition("@")[2]
    # An IPv6 literal's host is inside the brackets.
    host = netloc[1 : netloc.find("]")] if netloc.startswith("[") else netloc.partition(":")[0]
    return host.lower().rstrip(".")


def canonical_host(value: str) -> str:
    """A host or domain as compared: lower-case, no trailing dot; a URL stands for its host."""
    text = value.strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return ""
    return text.lower().rstrip(".")


def key_of(scope: str, value: str) -> str:
    """The lookup key of an entry: ``d:``, ``h:``, ``p:`` or ``u:`` and its canonical value."""
    if scope in ("domain", "host"):
        return f"{scope[0]}:{canonical_host(value)}"
    return f"{scope[0]}:{canonical_url(value)}"


def origin_end(url: str) -> int:
    """Where the path of a canonical URL starts (after ``scheme://authority``)."""
    slash = url.find("/", url.find("://") + 3)
    return len(url) if slash < 0 else slash


def load_entries(path: str | Path) -> Iterator[RegistryEntry]:
    """The entries of one input file (``.csv`` or ``.json``), checked.

    Raises:
        ValueError: the file cannot be read, or an entry is malformed (naming it).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            with file.open(newline="", encoding="utf-8-sig") as stream:
                reader = csv.DictReader(stream)
                unknown = set(reader.fieldnames or ()) - set(COLUMNS)
                if unknown:
                    raise ValueError(f"{file}: unknown columns {sorted(unknown)}")
                for n, row in enumerate(reader, 1):
                    yield entry_from(row, f"{file} row {n}")
            return
        if suffix != ".json":
            raise ValueError(f"{file}: a registry input must end in .csv or .json")
        rows = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise ValueError(f"{file}: cannot read: {exc}") from None
    if not isinstance(rows, list):
        raise ValueError(f"{file}: expected a JSON list of entries")
    for n, row in enumerate(rows, 1):
        yield entry_from(row, f"{file} entry {n}")


def entry_from(row: Any, where: str) -> RegistryEntry:
    """One entry from a CSV row or JSON object; ``ValueError`` naming *where* if malformed."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object with keys {list(COLUMNS)}")
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    scope = _text(row.get("scope"), where, "scope")
    if scope not in SCOPES:
        raise ValueError(f"{where}: scope must be one of {sorted(SCOPES)}, got {scope!r}")
    value = _text(row.get("value"), where, "value")
    if not value or (scope in ("domain", "host") and not canonical_host(value)):
        raise ValueError(f"{where}: value must name a {scope}")
    if scope in ("prefix", "url") and not _absolute(value):
        raise ValueError(f"{where}: value must be an absolute http(s) URL, got {value!r}")
    registered = _text(row.get("registered"), where, "registered")
    if registered:
        try:
            date.fromisoformat(registered)
        except ValueError:
            raise ValueError(
                f"{where}: registered must be an ISO date, got {registered!r}"
            ) from None
    return RegistryEntry(
        scope=scope,
        value=value,
        purposes=_purposes(row.get("purposes"), where),
        policy=_text(row.get("policy"), where, "policy") or None,
        registered=registered or None,
        source=_text(row.get("source"), where, "source") or None,
        permits=_flag(row.get("permits"), where),
    )


def _absolute(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def _text(value: Any, where: str, column: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: {column} must be text, got {value!r}")
    return value.strip()


def _purposes(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"{where}: purposes must be ';'-separated text or a list, got {value!r}")
    purposes = frozenset(i.strip() for i in items if i.strip())
    if purposes - PURPOSES:
        raise ValueError(f"{where}: unknown purposes {sorted(purposes - PURPOSES)}")
    return purposes


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{where}: permits must be true or false, got {value!r}")
