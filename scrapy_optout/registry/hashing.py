"""Hashed lookups: what a URL could match, as SHA-256 digests, so a service never sees the URL.

As Google Safe Browsing does (its "URL expressions" and hash prefixes), a client lists the keys a URL
could be covered by — its host and each domain above it, the URL itself, and its path cut after each
``/`` — hashes each, and sends only the first :data:`PREFIX_HEX` hex digits. The service answers
with every entry whose *hash key* has a digest starting with one of them, and the client keeps the
entries whose full digest is one of its own.

An entry's hash key is its lookup key (``entries.key_of``), except that a prefix entry is filed under
its value cut after the last ``/`` of its path (``https://e.org/art/19`` under ``https://e.org/art/``),
one of the cuts every URL it covers sends; the client then checks the whole prefix itself
(:func:`covers`). So a hashed lookup finds every entry a plain one finds.
"""

from __future__ import annotations

import hashlib

from scrapy_optout._core.models import RegistryEntry
from scrapy_optout.registry.entries import canonical_url, host_of, key_of, origin_end

PREFIX_HEX = 8
"""Hex digits of a digest sent to the service (32 bits: ambiguous among millions of keys)."""


def digest(key: str) -> str:
    """The SHA-256 (hex) of a hash key (``d:example.org``, ``p:https://e.org/art/``…)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _path_cuts(canon: str) -> list[int]:
    """The ends of *canon*'s prefixes that stop just after a ``/`` of its path."""
    start = origin_end(canon)
    end = canon.find("?", start)
    end = len(canon) if end < 0 else end
    cuts = []
    at = canon.find("/", start, end)
    while at >= 0:
        cuts.append(at + 1)
        at = canon.find("/", at + 1, end)
    return cuts


def hash_key(scope: str, value: str) -> str:
    """The key an entry is filed under for hashed lookups (see the module docstring)."""
    key = key_of(scope, value)
    if scope != "prefix":
        return key
    canon = key[2:]
    cuts = _path_cuts(canon)
    return f"p:{canon[: cuts[-1]]}" if cuts else f"p:{canon}"


def expressions(url: str) -> list[str]:
    """The hash keys of every entry that could cover *url*."""
    canon = canonical_url(url)
    host = host_of(canon) if canon.startswith(("http://", "https://")) else ""
    if not host:
        return [f"u:{canon}"]
    keys = [f"d:{host}"]
    dot = host.find(".")
    while dot >= 0:  # each domain above the host, down to its last label
        keys.append(f"d:{host[dot + 1 :]}")
        dot = host.find(".", dot + 1)
    keys += [f"h:{host}", f"u:{canon}"]
    keys += [f"p:{canon[:cut]}" for cut in _path_cuts(canon)]
    return keys


def covers(entry: RegistryEntry, url: str) -> bool:
    """Whether *entry*, found by a digest of one of *url*'s expressions, really covers *url*.

    Digests of domain, host and URL keys are the keys themselves; a prefix entry shares its hash key
    with every URL below its last ``/``, so its whole value is compared here.
    """
    if entry.scope != "prefix":
        return True
    return canonical_url(url).startswith(key_of("prefix", entry.value)[2:])
