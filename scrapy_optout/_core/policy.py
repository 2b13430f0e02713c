"""The crawl's policy: who we are, what we collect for, which signals count (DESIGN §3).

``Policy`` is a frozen, keyword-only value: equal values compare and hash equal and give the same
:attr:`Policy.digest` in the compliance log (DESIGN §5.2 "Policy values"). Bad values raise
``ValueError`` naming the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .agents import bundled_agents
from .models import ALL_SIGNALS, Purpose, Signal
from .robots import agent_token
from .rules import bears_on

PURPOSES = frozenset(p.value for p in Purpose)
MODES = frozenset({"opt-out", "opt-in"})
ON_UNAVAILABLE = frozenset({"skip", "allow"})
SCOPES = frozenset({"domain", "host", "prefix", "url"})
DEFAULT_HEAD_SCAN_BYTES = 1_048_576
MIN_HEAD_SCAN_BYTES = 65_536
DEFAULT_EMBEDDED_SCAN_BYTES = 16 * 1024 * 1024
MIN_ROTATE_BYTES = 65_536
"""The smallest log segment (``audit_rotate_bytes``); the writer checks the same bound."""
# Fields added after the first release: at these defaults they are left out of the digest, so that
# the policies of earlier logs keep their digest.
_LATER_DEFAULTS: dict[str, object] = {
    "audit_rotate_bytes": None,
    "registry_hashed": False,
    "embedded_scan_bytes": DEFAULT_EMBEDDED_SCAN_BYTES,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Licence:
    """One entry of the operator's licence register (DESIGN §8).

    Attributes:
        licensor: who granted the licence.
        scope: ``domain`` (host and subdomains), ``host`` (that host, any port), ``prefix`` (URL
            prefix) or ``url`` (exact URL).
        value: the domain, host, prefix or URL.
        purposes: the purposes licensed; empty means all.
        valid_from: first day of validity (UTC), or None.
        valid_until: last day of validity (UTC), or None.
        reference: the contract's identifier, copied into the log.
    """

    licensor: str
    scope: str
    value: str
    purposes: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None
    reference: str = ""

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"licences: scope must be one of {sorted(SCOPES)}, got {self.scope!r}")
        if not self.licensor.strip():
            raise ValueError("licences: licensor must not be empty")
        if not self.value:
            raise ValueError("licences: value must not be empty")
        if self.scope in ("prefix", "url"):
            object.__setattr__(self, "value", _licensed_url(self.value))
        object.__setattr__(self, "purposes", frozenset(self.purposes))
        unknown = self.purposes - PURPOSES
        if unknown:
            raise ValueError(f"licences: unknown purposes {sorted(unknown)}")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError(
                f"licences: valid_from {self.valid_from} is after valid_until {self.valid_until}"
            )


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _licensed_url(value: str) -> str:
    """A licence's prefix or URL as requests spell it: scheme and host lower-case, no default port.

    A relative or non-http(s) value would never match a request, so it is refused.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    scheme = parts.scheme.lower() if parts else ""
    if parts is None or scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"licences: value must be an absolute http(s) URL, got {value!r}")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    rest = value.strip()[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{scheme}://{netloc}{rest}"


def _tokens(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        raise ValueError(f"{name}: expected a sequence of tokens, got a single string")
    out: list[str] = []
    for token in value:
        if not isinstance(token, str) or not agent_token(token):
            raise ValueError(f"{name}: {token!r} is not a product token")
        out.append(token)
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What the crawler is, what it collects for, and how signals are honoured.

    Attributes:
        user_agent: our product token (``MyAIBot``), matched against robots.txt groups and
            bot-scoped directives. Required: there is no safe default token.
        purpose: ``train-ai`` (default), ``ai-input``, ``search`` or ``tdm``.
        mode: ``opt-out`` (collect unless reserved) or ``opt-in`` (collect only with an explicit
            permission or a licence).
        signals: the signal names honoured (DESIGN §4 ``OPTOUT_SIGNALS``); all by default.
        infer_from_ai_agents: a robots.txt group disallowing a known AI-training token reserves.
        ai_agents: the tokens used for that inference; None means the bundled list.
        on_unavailable: ``skip`` or ``allow`` when a signal source other than robots.txt cannot be
            read (robots.txt unreachable always skips, RFC 9309 §2.3.1.4).
        registry: path of a local registry or ``http(s)://`` root of a registry service.
        registry_hashed: query the service with hash prefixes only (it never sees the URLs).
        licences: the operator's licence register entries.
        audit_log: compliance log path (used by the shells).
        audit_allowed: also log allowed decisions (skips are always logged).
        audit_rotate_bytes: rotate the compliance log when its segment reaches this size (at
            least 64 KiB): closed segments are gzipped, the chain goes on; None: never.
        cache_ttl: seconds a fetched origin document is trusted (RFC 9309 §2.4: at most a day is
            advised for robots.txt).
        head_scan_bytes: how much of an HTML body the head scan reads (at least 64 KiB).
        embedded_scan_bytes: how much of an image, PDF or EPUB is read for the metadata inside
            it (at least 64 KiB; 16 MiB by default). Images and EPUBs are read only as far as
            their metadata goes; a PDF is read whole, up to this size.
    """

    user_agent: str
    purpose: str = Purpose.TRAIN_AI.value
    mode: str = "opt-out"
    signals: frozenset[str] = ALL_SIGNALS
    infer_from_ai_agents: bool = True
    ai_agents: tuple[str, ...] | None = None
    on_unavailable: str = "skip"
    registry: str | None = None
    registry_hashed: bool = False
    licences: tuple[Licence, ...] = ()
    audit_log: str | None = None
    audit_allowed: bool = True
    audit_rotate_bytes: int | None = None
    cache_ttl: float = 86400.0
    head_scan_bytes: int = DEFAULT_HEAD_SCAN_BYTES
    embedded_scan_bytes: int = DEFAULT_EMBEDDED_SCAN_BYTES
    token: str = field(init=False, repr=False)
    """Our token as compared (Google-style truncation, lower-case)."""
    ai_tokens: frozenset[str] = field(init=False, repr=False, compare=False)
    """The inference tokens as compared (truncated, lower-case)."""
    ai_names: Mapping[str, str] = field(init=False, repr=False, compare=False)
    """Each inference token -> the crawler name as listed (``gptbot`` -> ``GPTBot``), for reasons."""
    checks: frozenset[str] = field(init=False, repr=False, compare=False)
    """The signals that run: enabled, bearing on the purpose (``rules.bears_on``), and for
    ``ai-agents`` only with ``infer_from_ai_agents`` (DESIGN §5.2 "Inference switch")."""
    digest: str = field(init=False, repr=False, compare=False)
    """SHA-256 of the policy's canonical JSON: the ``policy`` field of every log record."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        # Users pass anything; validate the values as given, not as annotated.
        raw: Any = self
        if not isinstance(raw.user_agent, str) or not agent_token(raw.user_agent.strip()):
            raise ValueError(
                f"user_agent: a product token such as 'MyAIBot' is required, got {raw.user_agent!r}"
            )
        set_(self, "user_agent", raw.user_agent.strip())
        set_(self, "token", agent_token(raw.user_agent))
        purpose: str = getattr(raw.purpose, "value", raw.purpose)
        if purpose not in PURPOSES:
            raise ValueError(f"purpose: must be one of {sorted(PURPOSES)}, got {raw.purpose!r}")
        set_(self, "purpose", purpose)
        if raw.mode not in MODES:
            raise ValueError(f"mode: must be one of {sorted(MODES)}, got {raw.mode!r}")
        if isinstance(raw.signals, str) or not isinstance(raw.signals, Iterable):
            raise ValueError(f"signals: expected a collection of signal names, got {raw.signals!r}")
        signals: frozenset[str] = frozenset(str(getattr(s, "value", s)) for s in raw.signals)
        if signals - ALL_SIGNALS:
            raise ValueError(
                f"signals: unknown {sorted(map(str, signals - ALL_SIGNALS))}; "
                f"known: {sorted(ALL_SIGNALS)}"
            )
        set_(self, "signals", signals)
        if not isinstance(raw.infer_from_ai_agents, bool):
            raise ValueError("infer_from_ai_agents: must be True or False")
        agents = bundled_agents() if raw.ai_agents is None else _tokens(raw.ai_agents, "ai_agents")
        set_(self, "ai_agents", agents)
        set_(self, "ai_tokens", frozenset(agent_token(t) for t in agents))
        set_(self, "ai_names", MappingProxyType({agent_token(t): t for t in agents}))
        if raw.on_unavailable not in ON_UNAVAILABLE:
            raise ValueError(
                f"on_unavailable: must be 'skip' or 'allow', got {raw.on_unavailable!r}"
            )
        if raw.registry is not None and (not isinstance(raw.registry, str) or not raw.registry):
            raise ValueError(f"registry: expected a path or an http(s) URL, got {raw.registry!r}")
        if not isinstance(raw.registry_hashed, bool):
            raise ValueError("registry_hashed: must be True or False")
        if raw.registry_hashed and not (raw.registry and "://" in raw.registry):
            raise ValueError("registry_hashed: needs an http(s):// registry service as registry")
        if isinstance(raw.licences, str | bytes) or not isinstance(raw.licences, Iterable):
            raise ValueError("licences: expected a sequence of Licence entries")
        licences = tuple(raw.licences)
        if not all(isinstance(entry, Licence) for entry in licences):
            raise ValueError("licences: every entry must be a scrapy_optout.Licence")
        set_(self, "licences", licences)
        if raw.audit_log is not None and not isinstance(raw.audit_log, str):
            set_(self, "audit_log", str(raw.audit_log))
        if not isinstance(raw.audit_allowed, bool):
            raise ValueError("audit_allowed: must be True or False")
        rotate = raw.audit_rotate_bytes
        if rotate is not None and (
            isinstance(rotate, bool) or not isinstance(rotate, int) or rotate < MIN_ROTATE_BYTES
        ):
            raise ValueError(
                f"audit_rotate_bytes: expected a size of at least {MIN_ROTATE_BYTES} bytes, "
                f"or None, got {rotate!r}"
            )
        if isinstance(raw.cache_ttl, bool) or not isinstance(raw.cache_ttl, int | float):
            raise ValueError(f"cache_ttl: expected seconds, got {raw.cache_ttl!r}")
        if not 0 < raw.cache_ttl <= 30 * 86400:
            raise ValueError(f"cache_ttl: must be in (0, 2592000] seconds, got {raw.cache_ttl!r}")
        set_(self, "cache_ttl", float(raw.cache_ttl))
        if isinstance(raw.head_scan_bytes, bool) or not isinstance(raw.head_scan_bytes, int):
            raise ValueError(f"head_scan_bytes: expected an int, got {raw.head_scan_bytes!r}")
        if raw.head_scan_bytes < MIN_HEAD_SCAN_BYTES:
            raise ValueError(f"head_scan_bytes: must be at least {MIN_HEAD_SCAN_BYTES}")
        scan = raw.embedded_scan_bytes
        if isinstance(scan, bool) or not isinstance(scan, int) or scan < MIN_HEAD_SCAN_BYTES:
            raise ValueError(
                f"embedded_scan_bytes: expected a size of at least {MIN_HEAD_SCAN_BYTES} bytes, "
                f"got {scan!r}"
            )
        checks = {s for s in signals if bears_on(s, purpose)}
        if not raw.infer_from_ai_agents:
            checks.discard(Signal.AI_AGENTS)
        set_(self, "checks", frozenset(checks))
        set_(self, "digest", self._canonical_digest())

    def uses(self, signal: str) -> bool:
        """Whether *signal* (an ``OPTOUT_SIGNALS`` name) is honoured."""
        return signal in self.signals

    def _canonical_digest(self) -> str:
        values: dict[str, object] = {}
        for f in fields(self):
            if not f.init or (
                f.name in _LATER_DEFAULTS
                and type(getattr(self, f.name)) is type(_LATER_DEFAULTS[f.name])
                and getattr(self, f.name) == _LATER_DEFAULTS[f.name]
            ):
                continue
            value = getattr(self, f.name)
            if isinstance(value, frozenset):
                value = sorted(value)
            elif f.name == "licences":
                value = [_licence_json(entry) for entry in value]
            values[f.name] = value
        text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _licence_json(entry: Licence) -> dict[str, object]:
    return {
        "licensor": entry.licensor,
        "scope": entry.scope,
        "value": entry.value,
        "purposes": sorted(entry.purposes),
        "valid_from": entry.valid_from.isoformat() if entry.valid_from else None,
        "valid_until": entry.valid_until.isoformat() if entry.valid_until else None,
        "reference": entry.reference,
    }
