"""``HttpRegistry``: a client of the open registry protocol (``docs/registry-protocol.md``).

Plain mode POSTs the URLs to ``<root>/v1/lookup``. Hashed mode POSTs only 32-bit prefixes of the
SHA-256 digests of each URL's expressions to ``<root>/v1/lookup-hashed`` and keeps, from the entries
returned, those whose own digest is one of the URL's and which really cover it (``hashing.py``), so
the service never learns which URLs are crawled. Batching, caching, retries and the "down" state are
:class:`~.remote.RemoteRegistry`'s.
"""

from __future__ import annotations

from typing import Any

from scrapy_optout._core.models import RegistryAnswer, RegistryEntry
from scrapy_optout._fetch import Post
from scrapy_optout.registry.entries import canonical_url
from scrapy_optout.registry.hashing import PREFIX_HEX, covers, digest, expressions, hash_key
from scrapy_optout.registry.protocol import (
    MAX_BATCH,
    hashed_request,
    lookup_request,
    read_hashed_response,
    read_lookup_response,
)
from scrapy_optout.registry.remote import RemoteRegistry

_JSON = {"Content-Type": "application/json"}


class LookupCodec:
    """``POST <root>/v1/lookup`` with the URLs in clear."""

    max_batch = MAX_BATCH

    def __init__(self, root: str) -> None:
        self.url = root.rstrip("/") + "/v1/lookup"

    def encode(self, urls: list[str]) -> Post:
        """The JSON batch of *urls*."""
        return lookup_request(urls), _JSON

    def decode(self, urls: list[str], body: bytes) -> dict[str, RegistryAnswer]:
        """The answers, matched to the URLs asked by URL (the service may canonicalise them)."""
        asked = set(urls)
        answers: dict[str, RegistryAnswer] = {}
        for url, answer in read_lookup_response(body).items():
            key = url if url in asked else canonical_url(url)
            if key in asked:
                answers[key] = answer
        return answers


class HashedCodec:
    """``POST <root>/v1/lookup-hashed`` with digest prefixes only."""

    max_batch = MAX_BATCH

    def __init__(self, root: str) -> None:
        self.url = root.rstrip("/") + "/v1/lookup-hashed"

    def encode(self, urls: list[str]) -> Post:
        """The sorted, distinct prefixes of every expression of every URL of the batch."""
        prefixes = {digest(key)[:PREFIX_HEX] for url in urls for key in expressions(url)}
        return hashed_request(sorted(prefixes)), _JSON

    def decode(self, urls: list[str], body: bytes) -> dict[str, RegistryAnswer]:
        """Each URL's answer: the entries returned whose digest is one of its own and cover it."""
        by_digest: dict[str, list[RegistryEntry]] = {}
        for entry in read_hashed_response(body):
            # The digest is recomputed, never taken from the service's word.
            by_digest.setdefault(digest(hash_key(entry.scope, entry.value)), []).append(entry)
        answers: dict[str, RegistryAnswer] = {}
        for url in urls:
            found = [
                entry
                for key in expressions(url)
                for entry in by_digest.get(digest(key), ())
                if covers(entry, url)
            ]
            answers[url] = RegistryAnswer(tuple(dict.fromkeys(found)))
        return answers


class HttpRegistry(RemoteRegistry):
    """A registry service at *root* (``https://registry.example``), in plain or hashed mode.

    Args:
        root: the service root; requests go to ``<root>/v1/lookup`` (``/v1/lookup-hashed``).
        hashed: send digest prefixes instead of URLs.
        **options: as for :class:`~.remote.RemoteRegistry` (``user_agent`` is required).
    """

    def __init__(self, root: str, *, hashed: bool = False, **options: Any) -> None:
        codec = HashedCodec(root) if hashed else LookupCodec(root)
        super().__init__(codec, **options)
        self.root = self.source = root
        self.hashed = hashed
