"""The registry HTTP protocol's messages (``docs/registry-protocol.md``), for client and server.

* ``POST /v1/lookup``: ``{"urls": [URL, ...]}`` (at most :data:`MAX_BATCH`) answered by
  ``{"results": [{"url": URL, "entries": [ENTRY, ...]}, ...]}``, one result per URL asked, each
  naming its URL (clients match results by URL, never by position).
* ``POST /v1/lookup-hashed``: ``{"prefixes": [HEX8, ...]}`` (at most :data:`MAX_PREFIXES`) answered by
  ``{"matches": [{"digest": HEX64, "entry": ENTRY}, ...]}``.
* ``GET /v1/snapshot``: every entry, as a JSON list of input-file objects (so ``registry build``
  reads it back), with an ``ETag``.

An ENTRY is an object with the input-file keys (``scope``, ``value``, ``purposes`` as a list,
``policy``, ``registered``, ``source``, ``permits``). Decoding checks everything: a malformed message
raises :class:`ProtocolError`, which a client treats as "registry unavailable".
"""

from __future__ import annotations

import json
from typing import Any

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout.registry.entries import entry_from

MAX_BATCH = 1000
"""URLs in one ``/v1/lookup`` request."""
MAX_PREFIXES = 16_000
"""Hash prefixes in one ``/v1/lookup-hashed`` request (a batch of URLs sends about a dozen each)."""
MAX_BODY = 4 * 1024 * 1024
"""Bytes of a request body the reference service reads."""


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


def entry_json(entry: RegistryEntry) -> dict[str, Any]:
    """An entry as the protocol (and a JSON input file) writes it."""
    return {
        "scope": entry.scope,
        "value": entry.value,
        "purposes": sorted(entry.purposes),
        "policy": entry.policy,
        "registered": entry.registered,
        "source": entry.source,
        "permits": entry.permits,
    }


def answer_json(answer: RegistryAnswer) -> bytes:
    """An answer as canonical JSON bytes: what the log keeps as the registry's evidence."""
    entries = [entry_json(e) for e in answer.entries]
    return json.dumps({"entries": entries}, sort_keys=True, separators=(",", ":")).encode()


def read_answer_json(body: bytes) -> RegistryAnswer:
    """The answer :func:`answer_json` wrote; raises :class:`ProtocolError` on anything else."""
    entries = _list(_load(body), "entries", 1 << 20)  # our own value: no batch limit applies
    return RegistryAnswer(tuple(_entry(e, f"entries[{i}]") for i, e in enumerate(entries)))


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # not UTF-8 or JSON, a 5000-digit int, too deep
        raise ProtocolError(f"not JSON: {str(exc)[:200]}") from None


def _entry(value: Any, where: str) -> RegistryEntry:
    try:
        return entry_from(value, where)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None


def _list(message: Any, key: str, limit: int) -> list[Any]:
    items = message.get(key) if isinstance(message, dict) else None
    if not isinstance(items, list):
        raise ProtocolError(f"expected an object with a list {key!r}")
    if len(items) > limit:
        raise ProtocolError(f"{key}: at most {limit} per request, got {len(items)}")
    return items


def lookup_request(urls: list[str]) -> bytes:
    """The body of a ``/v1/lookup`` request."""
    return json.dumps({"urls": urls}, separators=(",", ":")).encode()


def read_lookup_request(body: bytes) -> list[str]:
    """The URLs of a ``/v1/lookup`` request body."""
    urls = _list(_load(body), "urls", MAX_BATCH)
    if not all(isinstance(url, str) for url in urls):
        raise ProtocolError("urls: every item must be a string")
    if not all(url.isascii() or _is_unicode(url) for url in urls):
        raise ProtocolError("urls: every item must be valid Unicode (no lone surrogate)")
    return urls


def _is_unicode(text: str) -> bool:
    r"""Whether *text* can be written as UTF-8 (a JSON ``\ud800`` escape gives one that cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lookup_response(results: list[tuple[str, RegistryAnswer]]) -> bytes:
    """The body answering a ``/v1/lookup`` request."""
    out = [{"url": url, "entries": [entry_json(e) for e in a.entries]} for url, a in results]
    return json.dumps({"results": out}, separators=(",", ":")).encode()


def read_lookup_response(body: bytes) -> dict[str, RegistryAnswer]:
    """URL -> answer from a ``/v1/lookup`` response body."""
    answers: dict[str, RegistryAnswer] = {}
    for n, result in enumerate(_list(_load(body), "results", MAX_BATCH)):
        if not isinstance(result, dict) or not isinstance(result.get("url"), str):
            raise ProtocolError(f"results[{n}]: expected an object with a string 'url'")
        entries = result.get("entries")
        if not isinstance(entries, list):
            raise ProtocolError(f"results[{n}]: expected a list 'entries'")
        found = tuple(_entry(e, f"results[{n}].entries[{i}]") for i, e in enumerate(entries))
        answers[result["url"]] = RegistryAnswer(found)
    return answers


def hashed_request(prefixes: list[str]) -> bytes:
    """The body of a ``/v1/lookup-hashed`` request."""
    return json.dumps({"prefixes": prefixes}, separators=(",", ":")).encode()


def read_hashed_request(body: bytes) -> list[str]:
    """The hash prefixes of a ``/v1/lookup-hashed`` request body."""
    prefixes = _list(_load(body), "prefixes", MAX_PREFIXES)
    if not all(isinstance(p, str) for p in prefixes):
        raise ProtocolError("prefixes: every item must be a string")
    return prefixes


def hashed_response(matches: list[tuple[str, RegistryEntry]]) -> bytes:
    """The body answering a ``/v1/lookup-hashed`` request."""
    out = [{"digest": d, "entry": entry_json(e)} for d, e in matches]
    return json.dumps({"matches": out}, separators=(",", ":")).encode()


def read_hashed_response(body: bytes) -> list[RegistryEntry]:
    """The entries of a ``/v1/lookup-hashed`` response body (the client checks their digests)."""
    matches = _list(_load(body), "matches", 10 * MAX_PREFIXES)
    out: list[RegistryEntry] = []
    for n, match in enumerate(matches):
        if not isinstance(match, dict):
            raise ProtocolError(f"matches[{n}]: expected an object")
        out.append(_entry(match.get("entry"), f"matches[{n}].entry"))
    return out
