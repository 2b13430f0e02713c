"""Scope matching for registry and licence entries (DESIGN §8): domain, host, prefix, url."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """Return the lower-case host of *url* without port or trailing dot ('' when it has none)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def scope_matches(scope: str, value: str, url: str, host: str | None = None) -> bool:
    """Whether an entry of *scope* and *value* covers *url*.

    ``domain`` covers the host and all its subdomains; ``host`` exactly that host on any port;
    ``prefix`` every URL starting with the value; ``url`` that URL exactly. Hosts compare
    case-insensitively; *host* may be passed when the caller already split the URL.
    """
    if scope in ("domain", "host"):
        host = host_of(url) if host is None else host
        wanted = value.strip().lower().rstrip(".")
        if "://" in wanted:  # tolerate an entry written as a URL
            wanted = host_of(wanted)
        if scope == "host":
            return host == wanted
        return host == wanted or host.endswith("." + wanted)
    if scope == "prefix":
        return url.startswith(value)
    if scope == "url":
        return url == value
    return False
