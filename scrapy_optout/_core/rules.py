"""THE ONLY place where opt-out signals are combined into a decision (DESIGN §5).

Rule 1 — Access: robots.txt for our own token (RFC 9309) is a gate, not a reservation. A disallowed
  path, or an unreachable robots.txt (5xx, 429, timeout, network error: RFC 9309 §2.3.1.4 "MUST
  assume complete disallow"), skips whatever else is said; no licence lifts it.
Rule 2 — Reservations: each protocol is read with its own internal precedence (TDMRep: file < header
  < meta, absence never resets, TDMRep §1.7 / standards.md §1.7; aipref: most restrictive, vocab-07
  §Combining; robots.txt lines: longest path, attach-05), then across protocols the most
  restrictive wins: any reservation for the purpose skips (standards.md §0.3 [I]).
Rule 3 — Inference: a path disallowed to a known AI-training token, in a group naming it
  explicitly, is a reservation (``robots_ai_agents``) for training purposes.
Rule 4 — Images: ``noimageai`` reserves image responses, and images whose referring page carried
  ``noimageai``/``noai``.
Rule 5 — Licences: only an entry of the operator's licence register covering the URL and purpose
  lifts reservations (logged as ``licence``); it never lifts Rule 1.
Rule 6 — Opt-in: in ``opt-in`` mode the final decision needs an explicit permission or a licence
  (``no_permission``).
Rule 7 — Unavailable sources other than robots.txt follow ``on_unavailable``
  (``signal_unavailable``): "skip" makes them reasons, "allow" records them as errors.

Which purposes each signal bears on is also decided here (the tables below), so that no parser or
shell has an opinion about it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .models import Code, Decision, Evidence, Reason, Signal, Verdict
from .scopes import host_of, scope_matches

if TYPE_CHECKING:  # policy.py asks bears_on() which signals to run: no import cycle at run time
    from .policy import Licence, Policy

TRAINING = frozenset({"train-ai", "tdm"})
"""Purposes an AI-training signal (inference, ai.txt) bears on."""
AI_USES = frozenset({"train-ai", "ai-input", "tdm"})
"""Purposes ``noai``/``noimageai`` and TDMRep reserve; not ``search`` (DESIGN §5.1)."""
CONTENT_USAGE_LABEL = {"train-ai": "train-ai", "search": "search"}
"""Purpose -> aipref vocab-07 label; vocab-07 has no label for ai-input or generic TDM."""
CONTENT_SIGNAL_KEY = {"train-ai": "ai-train", "ai-input": "ai-input", "search": "search"}
"""Purpose -> Cloudflare Content Signals key (standards.md §5.3)."""


C2PA_KEYS = {
    "train-ai": ("ai_training", "ai_generative_training", "data_mining"),
    "ai-input": ("ai_inference", "data_mining"),
    "tdm": ("data_mining",),
}
"""Purpose -> the CAWG training-mining keys that bear on it (standards.md §8.3): ``data_mining``
is TDM, which covers AI training and inference input; nothing there is about search."""
_EVERY = frozenset({"train-ai", "ai-input", "tdm", "search"})
IPTC_RESERVES: dict[str, frozenset[str] | None] = {
    "DMI-UNSPECIFIED": frozenset(),
    "DMI-ALLOWED": None,
    "DMI-PROHIBITED-AIMLTRAINING": frozenset({"train-ai"}),
    "DMI-PROHIBITED-GENAIMLTRAINING": frozenset({"train-ai"}),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": frozenset({"train-ai", "ai-input", "tdm"}),
    "DMI-PROHIBITED": _EVERY,
    "DMI-PROHIBITED-SEECONSTRAINT": _EVERY,
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": _EVERY,
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": _EVERY,
}
"""IPTC ``plus:DataMining`` term -> the purposes it reserves (None: a permission; standards.md
§8.5 [I]). Our ``train-ai`` covers generative training, so ``-GENAIMLTRAINING`` reserves it; the
``-SEE…`` terms prohibit unless a constraint we cannot read allows, so they reserve everything."""


def c2pa_verdict(
    entries: dict[str, tuple[str, str]], validated: bool, purpose: str
) -> tuple[Verdict, str]:
    """What training-mining *entries* say about *purpose*, and the entries that said it.

    A restrictive entry always counts; an ``allowed`` one only from a manifest that validated
    against the whole file (standards.md §8.3: on failed validation, honour restrictions only).
    """
    said = [(key, entries[key]) for key in C2PA_KEYS.get(purpose, ()) if key in entries]
    restrictive = [f"{key} {use}" for key, (use, _) in said if use != "allowed"]
    if restrictive:
        return Verdict.RESERVED, ", ".join(restrictive)
    if said and validated:
        return Verdict.ALLOW, ", ".join(f"{key} allowed" for key, _ in said)
    return Verdict.UNKNOWN, ""


def iptc_verdict(terms: tuple[str, ...], purpose: str) -> tuple[Verdict, str, list[str]]:
    """What ``plus:DataMining`` *terms* say about *purpose*: verdict, deciding term, errors.

    The most restrictive term wins; an unknown term is an error, and says nothing.
    """
    errors = [f"iptc.unknown_term: {term[:60]}" for term in terms if term not in IPTC_RESERVES]
    reserving = [t for t in terms if purpose in (IPTC_RESERVES.get(t) or ())]
    if reserving:
        return Verdict.RESERVED, reserving[0], errors
    allowing = [t for t in terms if t in IPTC_RESERVES and IPTC_RESERVES[t] is None]
    if allowing:
        return Verdict.ALLOW, allowing[0], errors
    return Verdict.UNKNOWN, "", errors


def bears_on(signal: str, purpose: str) -> bool:
    """Whether *signal* can say anything about *purpose* (so whether it is worth fetching)."""
    if signal in (Signal.TDMREP, Signal.NOAI):
        return purpose in AI_USES
    if signal in (Signal.AI_AGENTS, Signal.AI_TXT):
        return purpose in TRAINING
    if signal == Signal.CONTENT_USAGE:
        return purpose in CONTENT_USAGE_LABEL
    if signal == Signal.CONTENT_SIGNAL:
        return purpose in CONTENT_SIGNAL_KEY
    if signal == Signal.C2PA:
        return purpose in C2PA_KEYS
    return True


def registry_covers(purposes: frozenset[str], purpose: str) -> bool:
    """Whether a registry entry reserving *purposes* (empty: all) covers *purpose*.

    A reservation of ``tdm`` also covers ``train-ai``: AI training is a form of text and data
    mining (standards.md §0.1).
    """
    if not purposes or purpose in purposes:
        return True
    return purpose == "train-ai" and "tdm" in purposes


class Findings:
    """What the engine found for one URL, before combination (a working record, not a result).

    A plain slotted class: one is made per request and per response, so its construction is kept
    to a few attribute stores.
    """

    __slots__ = ("access", "errors", "evidence", "image_reasons", "licensing", "permissions",
                 "reservations", "unavailable")  # fmt: skip

    def __init__(self) -> None:
        self.access: Reason | None = None
        self.reservations: list[Reason] = []
        self.unavailable: list[Reason] = []
        self.permissions: list[str] = []
        self.licensing: list[str] = []
        self.errors: list[str] = []
        self.evidence: list[Evidence] = []
        self.image_reasons: list[Reason] = []

    def lead(self, url: str | None) -> None:
        """Record a policy or licence URL as a licensing lead (once)."""
        if url and url not in self.licensing:
            self.licensing.append(url)

    def carry(self, pre: Decision) -> None:
        """Start from the request-stage decision *pre*, which the final decision includes.

        Reservations a licence lifted at the request stage stay on the final record, where
        :func:`decide` lifts them again with the same licence.
        """
        if pre.reasons:
            self.reservations.extend(r for r in pre.reasons if r.code != Code.LICENCE)
        if pre.permissions:
            self.permissions.extend(pre.permissions)
        if pre.licensing:
            self.licensing.extend(pre.licensing)
        if pre.errors:
            self.errors.extend(pre.errors)
        if pre.evidence:
            self.evidence.extend(pre.evidence)

    def keep(self, evidence: Evidence | None) -> None:
        """Keep a document body for the audit log (once per digest)."""
        if evidence is None:
            return
        for kept in self.evidence:
            if kept.digest == evidence.digest:
                return
        self.evidence.append(evidence)


def tdm_layers(
    layers: list[tuple[str, int | None, str | None, str]],
) -> tuple[int | None, str | None, str, str]:
    """Combine TDMRep layers (TDMRep §1.7).

    Each later layer supersedes; absence never resets; the two properties are tracked separately.

    Args:
        layers: ``(code, reservation, policy, detail)`` from the earliest layer (file) to the
            latest (meta, then embedded metadata).

    Returns:
        ``(reservation, policy, code, detail)``: the final values and the layer that set the
        reservation.
    """
    reservation: int | None = None
    policy: str | None = None
    code = detail = ""
    for layer_code, layer_reservation, layer_policy, layer_detail in layers:
        if layer_reservation is not None:
            reservation, code, detail = layer_reservation, layer_code, layer_detail
        if layer_policy is not None:
            policy = layer_policy
    return reservation, policy, code, detail


def licence_for(url: str, policy: Policy, today: date | None) -> tuple[Licence | None, str | None]:
    """The first licence register entry covering *url* for the policy's purpose.

    Returns ``(entry, error)``; a dated entry cannot be checked without *today* (the core reads
    no clock), which is reported as an error rather than assumed valid.
    """
    host = host_of(url)
    error = None
    for entry in policy.licences:
        if entry.purposes and not registry_covers(entry.purposes, policy.purpose):
            continue
        if not scope_matches(entry.scope, entry.value, url, host):
            continue
        if entry.valid_from or entry.valid_until:
            if today is None:
                error = f"licence.undated_check: {entry.reference or entry.value}"
                continue
            if entry.valid_from and today < entry.valid_from:
                continue
            if entry.valid_until and today > entry.valid_until:
                continue
        return entry, None
    return None, error


def _licence_reason(entry: Licence, purpose: str) -> Reason:
    return Reason(
        code=Code.LICENCE,
        signal="licence",
        source=entry.value,
        detail=(
            f"licence {entry.reference or '(no reference)'} from {entry.licensor} covers "
            f"{entry.scope} {entry.value} for {purpose}"
        ),
    )


def decide(url: str, stage: str, policy: Policy, found: Findings, today: date | None) -> Decision:
    """Combine the findings for *url* into the final :class:`Decision` of *stage*."""
    if not (found.access or found.reservations or found.unavailable or found.errors) and (
        stage == "request" or policy.mode == "opt-out" or found.permissions
    ):  # the common case: nothing to combine
        return _decision(url, stage, True, [], found, [])
    errors = list(found.errors)
    reasons: list[Reason] = []
    if found.access is not None:  # Rule 1
        return _decision(url, stage, False, [found.access], found, errors)
    reservations = list(found.reservations)
    if found.unavailable:  # Rule 7
        if policy.on_unavailable == "skip":
            reservations.extend(found.unavailable)
        else:
            errors.extend(
                f"signal_unavailable: {r.signal} {r.source} ({r.detail})" for r in found.unavailable
            )
    final = stage == "response"
    needs_licence = bool(reservations) or (
        final and policy.mode == "opt-in" and not found.permissions
    )
    if needs_licence:  # Rule 5
        entry, error = licence_for(url, policy, today)
        if error:
            errors.append(error)
        if entry is not None:
            reasons = [_licence_reason(entry, policy.purpose), *reservations]
            return _decision(url, stage, True, reasons, found, errors)
    if reservations:  # Rules 2-4, 7
        return _decision(url, stage, False, reservations, found, errors)
    if needs_licence:  # Rule 6
        missing = Reason(
            code=Code.NO_PERMISSION,
            signal="policy",
            source=url,
            detail=f"opt-in mode: no explicit permission or licence for {policy.purpose}",
        )
        return _decision(url, stage, False, [missing], found, errors)
    return _decision(url, stage, True, reasons, found, errors)


def restaged(url: str, pre: Decision, policy: Policy) -> Decision | None:
    """The final decision for a response that said nothing, when the request's decision stands.

    That is *pre* (an allow) at the response stage, for the response URL. None when the rules
    must still combine: reasons a licence lifted (Rule 5 records them again) or opt-in mode
    (Rule 6 asks the final stage for a permission).
    """
    if pre.reasons or policy.mode != "opt-out":
        return None
    return Decision(
        url, True, "allow", "response", (), pre.licensing, pre.errors, pre.evidence, pre.permissions
    )


def _decision(
    url: str, stage: str, allowed: bool, reasons: list[Reason], found: Findings, errors: list[str]
) -> Decision:
    # Positional, and no copies of empty lists: this runs once per request and response.
    return Decision(
        url,
        allowed,
        "allow" if allowed else "skip",
        stage,
        tuple(reasons) if reasons else (),
        tuple(found.licensing) if found.licensing else (),
        tuple(dict.fromkeys(errors)) if errors else (),
        tuple(found.evidence) if found.evidence else (),
        tuple(found.permissions) if found.permissions else (),
        tuple(found.image_reasons) if found.image_reasons else (),
    )


def bypass(url: str, note: str = "") -> Decision:
    """The Decision recorded when a request opts out of checking (``dont_obey_optout``)."""
    reason = Reason(
        code=Code.BYPASS,
        signal="bypass",
        source=url,
        detail=note or "checks bypassed for this request",
    )
    return Decision(url=url, allowed=True, action="bypass", stage="request", reasons=(reason,))
