"""From a fetch to a document: RFC 9309 and TDMRep status-code outcomes as data.

The shells fetch origin documents and report a :class:`~.models.Fetched`; this module turns it into
a :class:`Document` the rules can read. It decides nothing about the URL being checked.

* robots.txt (RFC 9309 §2.3.1): 2xx -> parsed rules; 4xx except 429 -> "absent", no restrictions
  (401/403 included, as the RFC says; DESIGN §5.1); 429, 5xx, network errors, timeouts and redirects
  to a non-http(s) scheme -> "unavailable" (the RFC's "unreachable": complete disallow); more than 5
  redirects -> "absent" (§2.3.1.2 allows treating it as unavailable = no restrictions).
* RSL licence documents: 2xx -> parsed; anything else leaves the URL unlicensed (``licensing.py``).
* tdmrep.json (TDMRep §3.2) and ai.txt: 2xx -> parsed; 4xx except 429 -> "absent" (the protocol is
  not implemented); 429, 5xx, network errors, timeouts, too many redirects and a body cut by its size
  cap -> "unavailable", which ``Policy.on_unavailable`` governs (standards.md §1.3 [I]).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from .aitxt import AiTxt, parse_ai_txt
from .models import Doc, Evidence, Fetched, RegistryAnswer
from .robots import RobotsTxt, parse_robots
from .rsl import RslDocument, parse_rsl
from .tdmrep import TdmrepFile, parse_tdmrep


class State(enum.Enum):
    """Whether an origin document could be read."""

    OK = "ok"
    ABSENT = "absent"
    UNAVAILABLE = "unavailable"


Parsed = RobotsTxt | TdmrepFile | AiTxt | RegistryAnswer | RslDocument

MAX_REDIRECTS = 5
"""Consecutive redirects followed for a side document (RFC 9309 §2.3.1.2, DESIGN §5.2)."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def redirect_target(
    first_url: str, url: str, status: int, location: str | None
) -> str | Fetched | None:
    """Where a side document's response at *url* redirects to, if it does (DESIGN §5.2).

    Returns the next URL to fetch; a :class:`Fetched` refusal (``error="scheme"``) for a redirect
    to a scheme other than http(s), which is not followed (``error="network"`` for a ``Location``
    that is not a URL at all, as the fetch of it would fail); or None when the response is the
    document itself (not a redirect, or one without a ``Location``). *first_url* is the URL the
    fetch began with, which the refusal reports.
    """
    if status not in REDIRECT_STATUSES or not location:
        return None
    try:
        target = urljoin(url, location.strip())
        scheme = urlsplit(target).scheme.lower()
    except ValueError:  # not a URL (an unclosed "http://[" IPv6 literal): nothing to follow
        return Fetched(url=first_url, status=0, error="network")
    if scheme not in ("http", "https"):
        return Fetched(url=first_url, status=status, error="scheme")
    return target


@dataclass(frozen=True, slots=True)
class Document:
    """An origin document as the rules see it.

    Attributes:
        doc: which document.
        url: the URL it was fetched from (the first URL, before redirects).
        state: OK (parsed), ABSENT (no document: no restrictions) or UNAVAILABLE.
        parsed: the parsed document when state is OK.
        status: the HTTP status (0 when no response came).
        detail: why it is absent or unavailable, in words (``"HTTP 503"``, ``"timeout"``).
        evidence: the body that was parsed, for the audit log.
    """

    doc: str
    url: str
    state: State
    parsed: Parsed | None = None
    status: int = 0
    detail: str = ""
    evidence: Evidence | None = None


_PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    Doc.ROBOTS: parse_robots,
    Doc.TDMREP: parse_tdmrep,
    Doc.AI_TXT: parse_ai_txt,
    Doc.LICENCE: parse_rsl,
}


def _failure(fetched: Fetched) -> str:
    if fetched.error == "redirects":
        return "more than 5 redirects"
    if fetched.error == "scheme":
        return "redirected to a non-HTTP scheme"
    if fetched.error == "too_large":
        return f"HTTP {fetched.status}, body cut at its size cap"
    if fetched.error:
        return fetched.error
    return _http(fetched.status)


@lru_cache(maxsize=1024)
def _http(status: int) -> str:
    """``"HTTP <status>"``, one string per status: a cache holds one per absent document."""
    return f"HTTP {status}"


def document_from_fetch(doc: str, fetched: Fetched) -> Document:
    """Classify and parse one fetched origin document (never raises)."""
    status = fetched.status
    detail = _failure(fetched)
    if fetched.error == "redirects":
        state = State.ABSENT if doc == Doc.ROBOTS else State.UNAVAILABLE
        return Document(doc=doc, url=fetched.url, state=state, status=status, detail=detail)
    if fetched.error and not (fetched.error == "too_large" and doc == Doc.ROBOTS):
        # robots.txt is parsed on its first 500 KiB whatever its size (RFC 9309 §2.5); any other
        # document cut short is unavailable, never parsed as if complete (DESIGN §5.2).
        return Document(
            doc=doc, url=fetched.url, state=State.UNAVAILABLE, status=status, detail=detail
        )
    if 200 <= status < 300:
        parser = _PARSERS.get(doc)
        if parser is None:
            return Document(
                doc=doc,
                url=fetched.url,
                state=State.UNAVAILABLE,
                status=status,
                detail=f"no parser for {doc}",
            )
        if doc == Doc.ROBOTS and fetched.error == "too_large":
            parsed: Parsed = parse_robots(fetched.body, cut=True)  # a prefix: drop its last line
        else:
            parsed = parser(fetched.body)
        return Document(
            doc=doc,
            url=fetched.url,
            state=State.OK,
            parsed=parsed,
            status=status,
            evidence=Evidence.of(fetched.body),
        )
    if 400 <= status < 500 and status != 429:
        return Document(doc=doc, url=fetched.url, state=State.ABSENT, status=status, detail=detail)
    return Document(doc=doc, url=fetched.url, state=State.UNAVAILABLE, status=status, detail=detail)


def registry_document(
    answer: RegistryAnswer | None,
    *,
    source: str,
    detail: str = "",
    evidence: Evidence | None = None,
) -> Document:
    """Wrap a registry backend's answer (None: the registry could not be read).

    *evidence* is the answer as the log should keep it (the shells keep its JSON).
    """
    if answer is None:
        return Document(
            doc=Doc.REGISTRY,
            url=source,
            state=State.UNAVAILABLE,
            detail=detail or "registry unavailable",
        )
    return Document(
        doc=Doc.REGISTRY, url=source, state=State.OK, parsed=answer, status=200, evidence=evidence
    )
