"""Records shared by the core and the shells: verdicts, reasons, decisions, needs, fetches.

Everything here is a frozen value. Parsers turn bytes into documents; ``rules.py`` turns documents
into a :class:`Decision`; the shells only translate and do I/O.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Final


class Verdict(enum.Enum):
    """What one signal says about one purpose (standards.md §0.2)."""

    ALLOW = "allow"
    """An explicit permission (``tdm-reservation: 0``, ``train-ai=y``, ``ai-train=yes``)."""
    RESERVED = "reserved"
    """An explicit reservation of rights (DSM art. 4(3) opt-out)."""
    UNKNOWN = "unknown"
    """No statement, an unknown label, or a statement that could not be parsed."""


class Purpose(str, enum.Enum):
    """What the crawl is for (DESIGN §3)."""

    TRAIN_AI = "train-ai"
    AI_INPUT = "ai-input"
    SEARCH = "search"
    TDM = "tdm"


class Signal:
    """Signal names exactly as spelled in ``OPTOUT_SIGNALS`` (DESIGN §5.2).

    Plain ``str`` constants rather than an ``Enum``: they are compared and hashed on every decision,
    and an ``Enum`` member's hash is a Python-level call.
    """

    ROBOTS: Final = "robots"
    AI_AGENTS: Final = "ai-agents"
    TDMREP: Final = "tdmrep"
    NOAI: Final = "noai"
    CONTENT_USAGE: Final = "content-usage"
    CONTENT_SIGNAL: Final = "content-signal"
    AI_TXT: Final = "ai-txt"
    REGISTRY: Final = "registry"
    C2PA: Final = "c2pa"
    IPTC: Final = "iptc"
    RSL: Final = "rsl"


ALL_SIGNALS: frozenset[str] = frozenset(
    value for name, value in vars(Signal).items() if name.isupper()
)
"""Every signal name; the default of ``Policy.signals``."""


class Code:
    """Reason codes (DESIGN §6): the stable, public spelling, as plain ``str`` constants."""

    ROBOTS_DISALLOW: Final = "robots_disallow"
    ROBOTS_UNREACHABLE: Final = "robots_unreachable"
    ROBOTS_AI_AGENTS: Final = "robots_ai_agents"
    TDMREP_FILE: Final = "tdmrep_file"
    TDMREP_HEADER: Final = "tdmrep_header"
    TDMREP_META: Final = "tdmrep_meta"
    NOAI_HEADER: Final = "noai_header"
    NOAI_META: Final = "noai_meta"
    NOIMAGEAI: Final = "noimageai"
    CONTENT_USAGE: Final = "content_usage"
    CONTENT_SIGNAL: Final = "content_signal"
    AI_TXT: Final = "ai_txt"
    REGISTRY: Final = "registry"
    SIGNAL_UNAVAILABLE: Final = "signal_unavailable"
    NO_PERMISSION: Final = "no_permission"
    LICENCE: Final = "licence"
    BYPASS: Final = "bypass"
    C2PA: Final = "c2pa"
    IPTC: Final = "iptc"
    TDMREP_EPUB: Final = "tdmrep_epub"
    TDMREP_PDF: Final = "tdmrep_pdf"
    RSL_LICENCE: Final = "rsl_licence"


ALL_CODES: frozenset[str] = frozenset(value for name, value in vars(Code).items() if name.isupper())
"""Every reason code of DESIGN §6."""


class Doc:
    """Origin documents the pre-request flow may need; also the ``<document>`` of fetch stats.

    Plain ``str`` constants, like :class:`Signal`: a document name is part of every cache key, and
    an ``Enum`` member's hash is a Python-level call.
    """

    ROBOTS: Final = "robots"
    TDMREP: Final = "tdmrep"
    AI_TXT: Final = "ai-txt"
    REGISTRY: Final = "registry"
    LICENCE: Final = "licence"


ALL_DOCS: frozenset[str] = frozenset(value for name, value in vars(Doc).items() if name.isupper())
"""Every document name (the ``<document>`` of ``optout/fetch/<document>/status/<n>``)."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One piece of evidence behind a decision (DESIGN §3).

    Attributes:
        code: a reason code of DESIGN §6 (``Code`` value).
        signal: the deciding signal as spelled in ``OPTOUT_SIGNALS`` (or ``licence``, ``policy``,
            ``bypass``).
        source: URL of the document that decided (robots.txt, tdmrep.json, the response URL...).
        detail: the matched line, header value or meta content, in words.
        policy_url: a ``tdm-policy`` or licence URL, when the signal named one.
        evidence: ``sha256:<hex>`` of the document that decided, when there is one.
    """

    code: str
    signal: str
    source: str
    detail: str
    policy_url: str | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A document body kept so that the audit log can store a content-addressed copy."""

    digest: str
    """``sha256:<hex>`` of :attr:`body`."""
    body: bytes = field(repr=False)

    @classmethod
    def of(cls, body: bytes) -> Evidence:
        """Wrap *body* with its SHA-256 digest."""
        return cls(digest="sha256:" + hashlib.sha256(body).hexdigest(), body=body)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of checking one URL (DESIGN §3).

    Attributes:
        url: the URL decided on.
        allowed: whether the URL may be collected for the policy's purpose.
        action: ``"allow"``, ``"skip"`` or ``"bypass"``.
        stage: ``"request"`` (before sending) or ``"response"`` (after the response arrived).
        reasons: the evidence, deciding reasons first.
        licensing: policy and licence URLs seen (leads for a licensing team).
        errors: problems met while reading signals (malformed documents, oversized headers...).
        evidence: document bodies behind the reasons, for the audit log (not compared).
        permissions: explicit permissions seen (``tdm-reservation: 0``, ``train-ai=y``...), which
            opt-in mode needs (not compared).
        image_reasons: for a page, the ``noai``/``noimageai`` reasons that reserve the images
            requested from it (DESIGN §5 rule 4); the shells keep them for the page's lifetime.
    """

    url: str
    allowed: bool
    action: str
    stage: str
    reasons: tuple[Reason, ...] = ()
    licensing: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = field(default=(), compare=False, repr=False)
    permissions: tuple[str, ...] = field(default=(), compare=False, repr=False)
    image_reasons: tuple[Reason, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Need:
    """What the pre-request flow asks its driver for: one origin document (or registry answer).

    Attributes:
        doc: which document.
        url: the document's URL (``<origin>/robots.txt``...); for the registry, the URL looked up.
        origin: ``scheme://host:port`` the document belongs to (the cache key with ``doc``).
    """

    doc: str
    url: str
    origin: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a shell got when it fetched a side document. Failures are data, never exceptions.

    Attributes:
        url: the URL requested.
        status: the final HTTP status, or 0 when no response came (network error, timeout...).
        body: the body read, at most the cap for that document.
        error: ``"timeout"``, ``"network"``, ``"redirects"`` (too many), ``"scheme"`` (redirect to a
            non-http(s) scheme), ``"too_large"`` (body cut by its cap), or ``None``.
        final_url: the URL the body came from after redirects.
        content_type: the ``Content-Type`` of the final response, if any.
        max_age: freshness the server announced (seconds), if any.
    """

    url: str
    status: int
    body: bytes = b""
    error: str | None = None
    final_url: str | None = None
    content_type: str | None = None
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """A registry entry that covers the URL looked up (DESIGN §8).

    Attributes:
        scope: ``domain``, ``host``, ``prefix`` or ``url``.
        value: the domain, host, prefix or URL registered.
        purposes: the purposes reserved; empty means all purposes.
        policy: a policy or contact URL (a licensing lead), if any.
        registered: the registration date (ISO 8601), if any.
        source: who registered it, if known.
        permits: True for an opt-in permission rather than a reservation.
    """

    scope: str
    value: str
    purposes: frozenset[str] = frozenset()
    policy: str | None = None
    registered: str | None = None
    source: str | None = None
    permits: bool = False


@dataclass(frozen=True, slots=True)
class RegistryAnswer:
    """What a registry says about one URL: the entries covering it (possibly none)."""

    entries: tuple[RegistryEntry, ...] = ()
