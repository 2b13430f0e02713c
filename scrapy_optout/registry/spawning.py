"""An adapter for the Spawning "Do Not Train" API (peers.md §1.7), as a registry backend.

The API takes newline-separated URLs (``text/plain``, ``Authorization: API <key>``) and answers
``{"urls": [{"url": ..., "optOut": bool, "optIn": bool}, ...]}``. Answers are matched to the URLs
asked **by URL** (exactly, else by canonical form), never by position: datadiligence maps them by
position and so gives a shorter or reordered answer to the wrong URLs (peers.md §1.7). A URL the
answer leaves out is unavailable (``on_unavailable`` decides), never "allowed".

An ``optOut`` is a reservation of :data:`PURPOSES` for that exact URL; an ``optIn`` a permission for
them (what opt-in mode collects). Spawning's registry is about AI training, which EU law counts as
text and data mining, so ``train-ai`` and ``tdm``; ``ai-input`` and ``search`` are not concerned.

The key is read from ``SPAWNING_OPTS_KEY`` (the name datadiligence uses); without one, opening the
registry fails (a ``ValueError``), never silently allowing everything as datadiligence does.
"""

from __future__ import annotations

import json
import os
from typing import Any

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout._fetch import Post
from scrapy_optout.registry.entries import canonical_url
from scrapy_optout.registry.protocol import ProtocolError
from scrapy_optout.registry.remote import RemoteRegistry

KEY_VARIABLE = "SPAWNING_OPTS_KEY"
PREFIX = "spawning+"
"""``OPTOUT_REGISTRY = "spawning+https://…"`` selects this adapter for that endpoint."""
PURPOSES = frozenset({"train-ai", "tdm"})
MAX_BATCH = 1000


class SpawningCodec:
    """The Spawning API's request and answer formats."""

    max_batch = MAX_BATCH

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self._headers = {"Content-Type": "text/plain; charset=utf-8", "Authorization": f"API {key}"}

    def encode(self, urls: list[str]) -> Post:
        """The URLs, one per line."""
        return "\n".join(urls).encode("utf-8"), self._headers

    def decode(self, urls: list[str], body: bytes) -> dict[str, RegistryAnswer]:
        """Each URL's answer, matched by URL."""
        try:
            message: Any = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"not JSON: {exc}") from None
        items = message.get("urls") if isinstance(message, dict) else None
        if not isinstance(items, list):
            raise ProtocolError("expected an object with a list 'urls'")
        asked = set(urls)
        answers: dict[str, RegistryAnswer] = {}
        for n, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                raise ProtocolError(f"urls[{n}]: expected an object with a string 'url'")
            # optOut is the answer itself: an item without it says nothing (never "not opted out").
            opt_out, opt_in = item.get("optOut"), item.get("optIn", False)
            if not isinstance(opt_out, bool) or not isinstance(opt_in, bool):
                raise ProtocolError(f"urls[{n}]: optOut and optIn must be true or false (optOut is required)")
            url = item["url"]
            key = url if url in asked else canonical_url(url)
            if key not in asked:
                continue  # an answer about a URL we did not ask about
            entries = answers.get(key, RegistryAnswer()).entries
            if opt_out or opt_in:
                entries = tuple(dict.fromkeys((*entries, _entry(key, permits=not opt_out))))
            answers[key] = RegistryAnswer(entries)
        return answers


def _entry(url: str, *, permits: bool) -> RegistryEntry:
    return RegistryEntry(
        scope="url", value=url, purposes=PURPOSES, source="Spawning", permits=permits
    )


class SpawningRegistry(RemoteRegistry):
    """The Spawning API at *url*, with the key from ``SPAWNING_OPTS_KEY`` unless given.

    Raises:
        ValueError: no key (naming the ``registry`` setting and the variable).
    """

    def __init__(self, url: str, *, key: str | None = None, **options: Any) -> None:
        key = key if key is not None else os.environ.get(KEY_VARIABLE, "")
        if not key.strip():
            raise ValueError(f"registry: the Spawning API ({url}) needs a key: set {KEY_VARIABLE}")
        if not key.strip().isascii() or not key.strip().isprintable():
            raise ValueError(f"registry: the {KEY_VARIABLE} key must be printable ASCII")
        super().__init__(SpawningCodec(url, key.strip()), **options)
