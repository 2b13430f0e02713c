"""IETF aipref ``Content-Usage`` and Cloudflare ``Content-Signal`` preference values.

* ``Content-Usage`` (draft-ietf-aipref-vocab-07 §Serialization and §Processing, draft-ietf-aipref-
  attach-05): an RFC 9651 Structured Fields Dictionary whose keys are usage labels and whose values
  are the Token ``y`` (allowed) or ``n`` (disallowed); standards.md §4.2-4.5.
* ``Content-Signal`` (Cloudflare Content Signals Policy, draft-romm-aipref-contentsignals-00):
  comma-separated ``key=yes|no`` for ``search``, ``ai-input`` and ``ai-train``; standards.md §5.

Only the value text is read here. Choosing which robots.txt line applies to a path (longest path)
is ``robots.py``'s work; combining signals into a decision is ``rules.py``'s. Nothing here raises
on remote input: an unreadable value states nothing (every label UNKNOWN) and says why in
``errors``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import http_sf

from .models import Verdict

CONTENT_USAGE_LABELS = ("train-ai", "search")
"""The usage labels of draft-ietf-aipref-vocab-07 (2026-08-19); any other label is ignored."""
CONTENT_SIGNAL_KEYS = ("search", "ai-input", "ai-train")
"""The keys of the Content Signals Policy (standards.md §5.2), in their canonical spelling."""
MAX_VALUE_CHARS = 65_536
"""Longest value read (DESIGN §5.2 "Headers": 64 KiB per value); a longer one states nothing."""
MAX_HEADER_CHARS = 131_072
"""Content-Usage field lines read in all (DESIGN §5.2: 128 KiB of header data)."""
MAX_EXTRAS = 32
"""Unknown keys kept for the record; more are dropped (and said so) to keep records small."""
_MAX_EXTRA_CHARS = 256

_CACHED_CHARS = 1_024  # values up to this long are memoised (robots.txt lines repeat per request)
_SF_VERDICTS = {"y": Verdict.ALLOW, "n": Verdict.RESERVED}
_SIGNAL_VERDICTS = {"yes": Verdict.ALLOW, "no": Verdict.RESERVED}
_CASE_ERROR = "content_signal.nonstandard_case"


@dataclass(frozen=True, slots=True)
class Preferences:
    """What one statement (or several, combined) says per label.

    Attributes:
        verdicts: ``(label, ALLOW or RESERVED)`` for each known label stated, in the order of
            :data:`CONTENT_USAGE_LABELS` or :data:`CONTENT_SIGNAL_KEYS`; a label not stated (or
            stated with a value that means nothing) is absent, i.e. UNKNOWN.
        extras: ``(key, value)`` of every member that gave no verdict (unknown labels such as
            ``("use", "reference")``, or a known label with another value, such as
            ``("train-ai", "no")``), kept for the record.
        errors: problems met (``"aipref.parse_error"``, ``"content_signal.nonstandard_case"``...).
    """

    verdicts: tuple[tuple[str, Verdict], ...] = ()
    extras: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()

    def get(self, label: str) -> Verdict:
        """Return the verdict stated for *label*, UNKNOWN when none was."""
        for known, verdict in self.verdicts:
            if known == label:
                return verdict
        return Verdict.UNKNOWN


def most_restrictive(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine statements the way vocab-07 §"Combining Preferences" does.

    Any RESERVED wins; else any ALLOW; else UNKNOWN (also for no statement at all).
    """
    seen_allow = False
    for verdict in verdicts:
        if verdict is Verdict.RESERVED:
            return Verdict.RESERVED
        seen_allow = seen_allow or verdict is Verdict.ALLOW
    return Verdict.ALLOW if seen_allow else Verdict.UNKNOWN


def parse_content_usage(value: str) -> Preferences:
    """Read ONE Content-Usage statement: a robots.txt rule's preference, or one header field line.

    vocab-07 §Processing: parse as an RFC 9651 Dictionary; for a known label the Token ``y`` is
    ALLOW and the Token ``n`` RESERVED; anything else (Boolean, String, Inner List, another
    Token such as ``no`` or ``N``) is UNKNOWN and not an error. Unknown labels and parameters are
    ignored; of duplicate keys the last wins. A value that does not parse (an uppercase key, a
    space before "=", a trailing comma...) states nothing: every label UNKNOWN, error
    ``"aipref.parse_error"``. Legacy labels such as ``train-genai`` are unknown (strict reading,
    standards.md §4.4 V16).
    """
    return _content_usage_cached(value) if len(value) <= _CACHED_CHARS else _content_usage(value)


def _content_usage(value: str) -> Preferences:
    """Parse one Content-Usage value (see :func:`parse_content_usage`)."""
    if len(value) > MAX_VALUE_CHARS:
        return Preferences(errors=(f"aipref.too_long: {len(value)} characters",))
    try:
        # RFC 9651 §4.2: the input is ASCII; anything else fails to parse (and never raises here).
        parsed = http_sf.parse(value.encode("utf-8", "replace"), tltype="dictionary")
    except Exception:  # noqa: BLE001
        # WHY: http_sf raises StructuredFieldError on malformed input, and may raise other types on
        # hostile input (numbers, dates); either way the statement is unreadable: vocab-07 says
        # "every category is unknown", and the house rule says parsers never raise.
        return Preferences(errors=("aipref.parse_error",))
    if not isinstance(parsed, dict):  # pragma: no cover - tltype="dictionary" always gives one
        return Preferences(errors=("aipref.parse_error",))
    verdicts: dict[str, Verdict] = {}
    extras: list[tuple[str, str]] = []
    for key, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        verdict = _SF_VERDICTS.get(str(item)) if isinstance(item, http_sf.Token) else None
        if verdict is not None and key in CONTENT_USAGE_LABELS:
            verdicts[key] = verdict
        else:
            extras.append((key, _serialize(key, member)))
    return _preferences(CONTENT_USAGE_LABELS, verdicts, extras, [])


_content_usage_cached = lru_cache(maxsize=256)(_content_usage)


def parse_content_usage_header(lines: Sequence[str]) -> Preferences:
    """Read every field line of a response's Content-Usage header (standards.md §4.3, A12-A13).

    RFC 9651 would join the lines into one Dictionary, where a later line silently overrides an
    earlier one. [I] Our choice is the conservative reading: each line is a statement of its own,
    and the statements combine most-restrictively (any RESERVED wins, else any ALLOW), with
    ``"aipref.header_conflict"`` when lines disagree. Lines past :data:`MAX_HEADER_CHARS` in all are
    not read (``"aipref.too_long"``), as DESIGN §5.2 "Headers" allows.
    """
    per_label: dict[str, list[Verdict]] = {}
    extras: list[tuple[str, str]] = []
    errors: list[str] = []
    budget = MAX_HEADER_CHARS
    for line in (lines,) if isinstance(lines, str) else lines:  # one line passed bare still counts
        budget -= len(line)
        if budget < 0:
            errors.append("aipref.too_long: header lines past 128 KiB not read")
            break
        prefs = parse_content_usage(line)
        for label, verdict in prefs.verdicts:
            per_label.setdefault(label, []).append(verdict)
        extras.extend(prefs.extras)
        errors.extend(e for e in prefs.errors if e not in errors)
    verdicts = {label: most_restrictive(stated) for label, stated in per_label.items()}
    if any(len(set(stated)) > 1 for stated in per_label.values()):
        errors.append("aipref.header_conflict")
    return _preferences(CONTENT_USAGE_LABELS, verdicts, extras, errors)


def parse_content_signal(value: str) -> Preferences:
    """Read ONE Content-Signal value (the part after the optional path), leniently.

    standards.md §5.3: comma-separated ``key=value``; keys and values trimmed and compared
    case-insensitively (C9: RESERVED, with ``"content_signal.nonstandard_case"`` when not lower
    case); ``yes`` is ALLOW, ``no`` RESERVED, anything else leaves that key UNKNOWN (C10). Keys come
    back in their canonical spelling; other keys go to ``extras`` (C8: ``use=reference``). [I] A key
    stated twice in one value combines most-restrictively (``"content_signal.duplicate_key"``),
    the protective reading of a self-contradicting statement.
    """
    return _content_signal_cached(value) if len(value) <= _CACHED_CHARS else _content_signal(value)


def _content_signal(value: str) -> Preferences:
    """Parse one Content-Signal value (see :func:`parse_content_signal`)."""
    if len(value) > MAX_VALUE_CHARS:
        return Preferences(errors=(f"content_signal.too_long: {len(value)} characters",))
    stated: dict[str, list[Verdict]] = {}
    extras: list[tuple[str, str]] = []
    errors: list[str] = []
    for part in value.split(","):
        raw_key, equals, raw_value = part.partition("=")
        key, text = raw_key.strip(), raw_value.strip()
        if not key and not equals:
            continue  # an empty member, e.g. from a trailing comma: lenient, nothing stated
        folded_key, folded_value = key.lower(), text.lower()
        verdict = _SIGNAL_VERDICTS.get(folded_value)
        if folded_key in CONTENT_SIGNAL_KEYS and verdict is not None:
            if (key, text) != (folded_key, folded_value) and _CASE_ERROR not in errors:
                errors.append(_CASE_ERROR)
            stated.setdefault(folded_key, []).append(verdict)
        else:
            extras.append((folded_key, text))
    verdicts = {key: most_restrictive(found) for key, found in stated.items()}
    if any(len(found) > 1 for found in stated.values()):
        errors.append("content_signal.duplicate_key")
    return _preferences(CONTENT_SIGNAL_KEYS, verdicts, extras, errors)


_content_signal_cached = lru_cache(maxsize=256)(_content_signal)


def _preferences(
    order: tuple[str, ...],
    verdicts: dict[str, Verdict],
    extras: list[tuple[str, str]],
    errors: list[str],
) -> Preferences:
    """Build the record: verdicts in canonical order, extras capped and clipped."""
    if len(extras) > MAX_EXTRAS:
        errors.append(f"aipref.too_many_keys: kept {MAX_EXTRAS} of {len(extras)}")
        extras = extras[:MAX_EXTRAS]
    return Preferences(
        verdicts=tuple((label, verdicts[label]) for label in order if label in verdicts),
        extras=tuple((k[:_MAX_EXTRA_CHARS], v[:_MAX_EXTRA_CHARS]) for k, v in extras),
        errors=tuple(errors),
    )


def _serialize(key: str, member: http_sf.types.ItemOrInnerListType) -> str:
    """Write a Dictionary member's value back as RFC 9651 text, for the record."""
    try:
        text = http_sf.ser({key: member})
    except Exception:  # noqa: BLE001 - WHY: only for the record; an odd member must not raise
        return "?"
    _, equals, value = text.partition("=")
    return value if equals else "?1" + text[len(key) :]  # Boolean true is written as a bare key
