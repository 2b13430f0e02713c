"""Every ``OPTOUT_*`` setting of DESIGN §4, read and validated in one place.

Settings come from ``settings.py``, the add-on, spider ``custom_settings`` or ``-s NAME=VALUE`` on
the command line (where every value is a string), so each is converted here with a message that
names the setting. The values then go through :class:`~scrapy_optout.Policy`, whose own
``ValueError`` (which names the field) is reworded to name the setting, so that a bad value stops
the crawl at start-up saying which setting to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._core.agents import parse_agents
from ._core.models import ALL_SIGNALS
from ._core.policy import Policy
from .licences import load_licences

DEFAULT_AUDIT_LOG = "optout-audit.jsonl"
_FIELD_SETTINGS = {
    "user_agent": "OPTOUT_USER_AGENT",
    "purpose": "OPTOUT_PURPOSE",
    "mode": "OPTOUT_MODE",
    "signals": "OPTOUT_SIGNALS",
    "infer_from_ai_agents": "OPTOUT_INFER_FROM_AI_AGENTS",
    "ai_agents": "OPTOUT_AI_AGENTS",
    "on_unavailable": "OPTOUT_ON_UNAVAILABLE",
    "registry": "OPTOUT_REGISTRY",
    "registry_hashed": "OPTOUT_REGISTRY_HASHED",
    "licences": "OPTOUT_LICENCES",
    "audit_log": "OPTOUT_AUDIT_LOG",
    "audit_allowed": "OPTOUT_AUDIT_ALLOWED",
    "audit_rotate_bytes": "OPTOUT_AUDIT_ROTATE_BYTES",
    "cache_ttl": "OPTOUT_CACHE_TTL",
    "embedded_scan_bytes": "OPTOUT_EMBEDDED_SCAN_BYTES",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_PRODUCT = re.compile(r"[^\s/;()]+")


@dataclass(frozen=True)
class OptOutSettings:
    """What the Scrapy shell runs with.

    Attributes:
        policy: the crawl's policy (audit log included).
        default_token: the token was derived from Scrapy's default ``USER_AGENT``.
        cache_url: the Redis URL of the cache shared by the fleet (``OPTOUT_CACHE_URL``, else
            scrapy-redis's ``REDIS_URL``), or None.
        worker: the worker id every log record carries (``OPTOUT_WORKER_ID``, else the
            ``SCRAPY_JOB`` that Scrapy Cloud and scrapyd set), or None.
    """

    policy: Policy
    default_token: bool = False
    cache_url: str | None = None
    worker: str | None = None


def enabled(settings: Mapping[str, Any]) -> bool:
    """``OPTOUT_ENABLED`` (default True)."""
    return _bool(settings, "OPTOUT_ENABLED", default=True)


def read_settings(settings: Mapping[str, Any]) -> OptOutSettings:
    """Build the policy from the crawler's settings.

    Raises:
        ValueError: a setting is malformed; the message starts with its name.
    """
    token, default_token = _token(settings)
    cache_url = _cache_url(settings)
    values: dict[str, Any] = {
        "user_agent": token,
        "purpose": _text(settings, "OPTOUT_PURPOSE", "train-ai"),
        "mode": _text(settings, "OPTOUT_MODE", "opt-out"),
        "infer_from_ai_agents": _bool(settings, "OPTOUT_INFER_FROM_AI_AGENTS", default=True),
        "on_unavailable": _text(settings, "OPTOUT_ON_UNAVAILABLE", "skip"),
        "audit_allowed": _bool(settings, "OPTOUT_AUDIT_ALLOWED", default=True),
        "cache_ttl": _number(settings, "OPTOUT_CACHE_TTL", 86400.0),
        "audit_log": _audit_log(settings),
    }
    signals = settings.get("OPTOUT_SIGNALS")
    if signals is not None:
        values["signals"] = _names(signals, "OPTOUT_SIGNALS")
    agents = settings.get("OPTOUT_AI_AGENTS")
    if agents is not None:
        values["ai_agents"] = _agents(agents)
    scan = settings.get("OPTOUT_EMBEDDED_SCAN_BYTES")
    if scan is not None:
        values["embedded_scan_bytes"] = _whole(scan, "OPTOUT_EMBEDDED_SCAN_BYTES")
    rotate = settings.get("OPTOUT_AUDIT_ROTATE_BYTES")
    if rotate is not None and rotate != "":
        values["audit_rotate_bytes"] = _whole(rotate, "OPTOUT_AUDIT_ROTATE_BYTES")
    registry = settings.get("OPTOUT_REGISTRY")
    if registry:
        values["registry"] = str(registry)
    values["registry_hashed"] = _bool(settings, "OPTOUT_REGISTRY_HASHED", default=False)
    licences = settings.get("OPTOUT_LICENCES")
    if licences:
        values["licences"] = load_licences(str(licences), setting="OPTOUT_LICENCES")
    try:
        policy = Policy(**values)
    except ValueError as exc:
        raise ValueError(named_error(str(exc))) from None
    return OptOutSettings(policy, default_token, cache_url, _worker(settings))


def _cache_url(settings: Mapping[str, Any]) -> str | None:
    """``OPTOUT_CACHE_URL``, else ``REDIS_URL`` (as scrapy-redis reads it): a Redis URL or None."""
    name = "OPTOUT_CACHE_URL" if settings.get("OPTOUT_CACHE_URL") else "REDIS_URL"
    url = settings.get(name)
    if not url:
        return None
    if not isinstance(url, str) or url.partition("://")[0].lower() not in _REDIS_SCHEMES:
        raise ValueError(f"{name}: {url!r} is not a redis://, rediss:// or unix:// URL")
    return url


_REDIS_SCHEMES = ("redis", "rediss", "unix")
WORKER_MAX = 200
"""Characters of a worker id (it is written in every record)."""


def _worker(settings: Mapping[str, Any]) -> str | None:
    """``OPTOUT_WORKER_ID``, else the ``SCRAPY_JOB`` environment variable, else None."""
    value: object = settings.get("OPTOUT_WORKER_ID")
    name = "OPTOUT_WORKER_ID"
    if value is None or value == "":
        value, name = os.environ.get("SCRAPY_JOB") or None, "SCRAPY_JOB"
        if value is None:
            return None
    if not isinstance(value, str) or not value.strip() or not value.isprintable():
        raise ValueError(f"{name}: expected a worker id of printable characters, got {value!r}")
    if len(value) > WORKER_MAX:
        raise ValueError(f"{name}: at most {WORKER_MAX} characters, got {len(value)}")
    return value.strip()


def named_error(message: str) -> str:
    """Reword a Policy error (``field: ...``) to name the setting (``OPTOUT_FIELD: ...``)."""
    field, sep, rest = message.partition(":")
    setting = _FIELD_SETTINGS.get(field)
    return f"{setting}:{rest}" if sep and setting else message


def _token(settings: Mapping[str, Any]) -> tuple[str, bool]:
    """OPTOUT_USER_AGENT, else ROBOTSTXT_USER_AGENT, else USER_AGENT's first product token."""
    for name in ("OPTOUT_USER_AGENT", "ROBOTSTXT_USER_AGENT"):
        value = settings.get(name)
        if value:
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected a product token such as 'MyAIBot'")
            return value.strip(), value.strip().casefold() == "scrapy"
    user_agent = settings.get("USER_AGENT") or ""
    found = _PRODUCT.search(str(user_agent))
    if found is None:
        raise ValueError(
            "OPTOUT_USER_AGENT: set your crawler's product token (USER_AGENT names none)"
        )
    token = found.group()
    return token, token.casefold() == "scrapy"


def _audit_log(settings: Mapping[str, Any]) -> str | None:
    value = settings.get("OPTOUT_AUDIT_LOG", DEFAULT_AUDIT_LOG)
    if value is None or value == "":
        return None  # the operator turned the log off
    if not isinstance(value, str | Path):
        raise ValueError(f"OPTOUT_AUDIT_LOG: expected a file path, got {value!r}")
    return str(value)


def _bool(settings: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = settings.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{name}: expected True or False, got {value!r}")


def _text(settings: Mapping[str, Any], name: str, default: str) -> str:
    value = settings.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {value!r}")
    return value.strip()


def _number(settings: Mapping[str, Any], name: str, default: float) -> float:
    value = settings.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number of seconds, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number of seconds, got {value!r}") from None


def _whole(value: Any, name: str) -> int:
    """A whole number of bytes (an int, or its digits as the command line gives them)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"{name}: expected a whole number of bytes, got {value!r}")


def _names(value: Any, name: str) -> frozenset[str]:
    """A list of names, or a comma-separated string of them (the command line's form)."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        names = frozenset(str(item).strip() for item in items)
    except TypeError:
        raise ValueError(f"{name}: expected a list of names, got {value!r}") from None
    unknown = names - ALL_SIGNALS - {""}
    if unknown:
        raise ValueError(f"{name}: unknown {sorted(unknown)}; known: {sorted(ALL_SIGNALS)}")
    return names - {""}


def _agents(value: Any) -> tuple[str, ...]:
    """OPTOUT_AI_AGENTS: a list of tokens, or a path to a JSON file of them (DESIGN §5.1)."""
    if isinstance(value, str | Path) and not (isinstance(value, str) and "," in value):
        path = Path(value)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"OPTOUT_AI_AGENTS: cannot read {path}: {exc}") from None
        try:
            return parse_agents(text)
        except ValueError as exc:
            detail = str(exc).removeprefix("ai_agents: ")
            raise ValueError(f"OPTOUT_AI_AGENTS: {path}: {detail}") from None
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(str(item).strip() for item in items if str(item).strip())
    except TypeError:
        raise ValueError(f"OPTOUT_AI_AGENTS: expected a list of tokens, got {value!r}") from None
