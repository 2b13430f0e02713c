"""The central opt-out registry (DESIGN §8): a local file by default, or a service over HTTP.

``OPTOUT_REGISTRY`` / ``Policy(registry=...)`` names the backend, which :func:`open_registry` opens:

* a path to a ``.sqlite`` file built by ``scrapy-optout registry build``, or a ``.csv``/``.json``
  input compiled on open (:class:`~.local.LocalRegistry`);
* an ``http(s)://`` service root speaking the open protocol (:class:`~.http.HttpRegistry`; hashed
  mode with ``OPTOUT_REGISTRY_HASHED`` / ``Policy(registry_hashed=True)``);
* ``spawning+https://…``: the Spawning "Do Not Train" API at that endpoint
  (:class:`~.spawning.SpawningRegistry`, key in ``SPAWNING_OPTS_KEY``).

Every backend answers :meth:`Backend.lookup` (and ``alookup``) with the entries covering a URL, or
None when it cannot say; :func:`registry_document` turns that into what the core reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from scrapy_optout._core.documents import Document, registry_document
from scrapy_optout._core.models import Evidence, RegistryAnswer
from scrapy_optout._core.policy import Policy
from scrapy_optout.registry.http import HttpRegistry
from scrapy_optout.registry.local import LocalRegistry, build
from scrapy_optout.registry.protocol import answer_json
from scrapy_optout.registry.spawning import PREFIX as SPAWNING_PREFIX
from scrapy_optout.registry.spawning import SpawningRegistry

__all__ = [
    "Backend",
    "HttpRegistry",
    "LocalRegistry",
    "SpawningRegistry",
    "answer_document",
    "build",
    "open_registry",
]


class Backend(Protocol):
    """What the shells need from a registry."""

    source: str
    """The registry's file or URL: ``Reason.source`` of its reasons (DESIGN §5.1)."""

    def lookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """The entries covering *url*; None when the registry cannot say."""

    async def alookup(self, url: str, timeout: float | None = None) -> RegistryAnswer | None:
        """The async twin of :meth:`lookup`."""

    def close(self) -> None:
        """Release what the sync side holds."""

    async def aclose(self) -> None:
        """Release everything."""


def open_registry(
    policy: Policy, *, on_status: Callable[[int], object] | None = None
) -> Backend | None:
    """The backend *policy* names, or None when it names none or the registry signal is off.

    Args:
        policy: gives ``registry``, ``registry_hashed``, ``user_agent`` and ``cache_ttl``.
        on_status: called with the HTTP status of each request to a remote registry (stats).

    Raises:
        ValueError: the registry cannot be opened (the message starts with ``registry:``).
    """
    spec = policy.registry
    if not spec or "registry" not in policy.checks:
        return None
    options: dict[str, Any] = {
        "user_agent": policy.user_agent,
        "cache_ttl": policy.cache_ttl,
        "on_status": on_status,
    }
    if spec.startswith(SPAWNING_PREFIX):
        if policy.registry_hashed:
            raise ValueError("registry_hashed: the Spawning API takes URLs, not hash prefixes")
        return SpawningRegistry(_http_url(spec[len(SPAWNING_PREFIX) :]), **options)
    if "://" in spec:
        return HttpRegistry(_http_url(spec), hashed=policy.registry_hashed, **options)
    try:
        return LocalRegistry(spec)
    except ValueError as exc:
        raise ValueError(f"registry: {exc}") from None


def _http_url(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"registry: expected a path or an http(s):// URL, got {url!r}")
    return url


_NOTHING = Evidence.of(answer_json(RegistryAnswer()))


def answer_document(answer: RegistryAnswer | None, backend: Backend) -> Document:
    """The document the core reads for a registry answer, its JSON kept as evidence (DESIGN §7)."""
    if answer is None:
        return registry_document(None, source=backend.source)
    evidence = Evidence.of(answer_json(answer)) if answer.entries else _NOTHING
    return registry_document(answer, source=backend.source, evidence=evidence)
