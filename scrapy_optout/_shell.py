"""State one crawler shell shares across its transports: cache, page memory, the compliance log.

The log is written here and only here for a shell (DESIGN §2: one writer of the audit log): every
skip, every bypass, and every allow when ``Policy.audit_allowed`` (DESIGN §7), one record per
request decision (DESIGN §5.1).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timezone

from ._core.documents import Document, registry_document
from ._core.models import Decision, Need
from ._core.policy import Policy
from ._resolve import DocumentCache
from .audit.writer import AuditWriter
from .cache.memory import MemoryStore
from .registry import answer_document, open_registry

MAX_PAGES = 10_000
"""Pages whose noai/noimageai are remembered for their images (the oldest are forgotten first)."""


class AuditLogFailed(OSError):
    """The compliance log cannot be written (read-only, full disk...): nothing more is collected.

    A crawl that cannot record must not go on collecting (issue 11): once raised, the shell raises
    it again for every later request, before anything is sent.
    """


class Shell:
    """Cache, page memory and log writer of one client (or one crawl).

    Args:
        policy: the crawl's policy.
        store: the document store (a fresh in-memory one by default).
        clock: monotonic seconds, for page lifetimes.
        registry_status: called with the HTTP status of each registry request (stats).
        worker: the worker id its log records carry (``OPTOUT_WORKER_ID``); none when None.

    Raises:
        ValueError: the policy's registry cannot be opened.
    """

    def __init__(
        self,
        policy: Policy,
        store: MemoryStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        registry_status: Callable[[int], object] | None = None,
        worker: str | None = None,
    ) -> None:
        self.policy = policy
        self.worker = worker
        self.registry = open_registry(policy, on_status=registry_status)
        self.cache = DocumentCache(policy, store, clock)
        self.clock = clock
        self._pages: OrderedDict[str, tuple[Decision, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._writer: AuditWriter | None = None
        self._closed = False
        self._failed: str | None = None

    def today(self) -> date | None:
        """Today's UTC date when licences need it (the core reads no clock)."""
        return datetime.now(timezone.utc).date() if self.policy.licences else None

    def page(self, url: object) -> Decision | None:
        """The remembered decision of the page *url*, if its marks are still fresh."""
        if not isinstance(url, str):
            return None
        with self._lock:
            entry = self._pages.get(url)
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def record(self, decision: Decision) -> Decision:
        """Remember a page's image marks and log the decision as DESIGN §7 says; return it."""
        if decision.image_reasons:
            with self._lock:
                self._pages[decision.url] = (decision, self.clock() + self.policy.cache_ttl)
                self._pages.move_to_end(decision.url)
                if len(self._pages) > MAX_PAGES:
                    self._pages.popitem(last=False)
        self.check_log()
        policy = self.policy
        if policy.audit_log and (decision.action != "allow" or policy.audit_allowed):
            try:
                self._log().write(decision)
            except OSError as exc:
                raise self._log_failed(exc) from exc
        return decision

    def check_log(self) -> None:
        """Raise :class:`AuditLogFailed` if the log has failed or cannot be opened: collect nothing.

        The log is opened here, before the first request is sent, not once its response came.
        """
        if self._failed is not None:
            raise AuditLogFailed(self._failed)
        if self._writer is None and self.policy.audit_log and not self._closed:
            self.open()

    def _log_failed(self, exc: OSError) -> AuditLogFailed:
        self._failed = (
            f"compliance log {self.policy.audit_log} cannot be written ({exc}): a crawl that "
            "cannot record must not go on collecting"
        )
        return AuditLogFailed(self._failed)

    def open(self) -> None:
        """Open the compliance log now, when the policy names one (else on the first record)."""
        if self.policy.audit_log:
            try:
                self._log()
            except OSError as exc:
                raise self._log_failed(exc) from exc

    def _log(self) -> AuditWriter:
        with self._lock:
            if self._writer is None:
                if self._closed:
                    raise ValueError("audit_log: the client is closed")
                self._writer = AuditWriter(
                    self.policy.audit_log or "",
                    agent=self.policy.user_agent,
                    purpose=self.policy.purpose,
                    policy=self.policy.digest,
                    rotate_bytes=self.policy.audit_rotate_bytes,
                    worker=self.worker,
                )
            return self._writer

    def registry_answer(self, need: Need, seconds: float) -> Document:
        """The registry's answer about ``need.url``, waiting at most *seconds*."""
        backend = self.registry
        if backend is None:  # not asked for when no registry is open (engine: policy.checks)
            return registry_document(None, source=need.url, detail="no registry is open")
        return answer_document(backend.lookup(need.url, seconds), backend)

    async def aregistry_answer(self, need: Need, seconds: float) -> Document:
        """The async twin of :meth:`registry_answer`."""
        backend = self.registry
        if backend is None:
            return registry_document(None, source=need.url, detail="no registry is open")
        return answer_document(await backend.alookup(need.url, seconds), backend)

    def close(self) -> None:
        """Close the compliance log and the registry's sync side (idempotent)."""
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if self.registry is not None:
            self.registry.close()

    async def aclose(self) -> None:
        """:meth:`close`, and the registry's async side."""
        self.close()
        if self.registry is not None:
            await self.registry.aclose()
