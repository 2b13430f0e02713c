"""Response header normalisation: any header container in, the signal fields out (DESIGN §3, §5.2).

``evaluate_response`` accepts a dict, ``httpx.Headers``, Scrapy ``Headers``,
``http.client.HTTPMessage`` or an iterable of ``(name, value)`` pairs, names and values as ``str``
or ``bytes``. Every field line counts (repeated names are kept in order, never folded to the first
one: the datadiligence bug in standards.md §3.3); names compare case-insensitively (RFC 9110 §5.1).

Bounds (DESIGN §5.2 "Headers"): at most :data:`MAX_VALUE_BYTES` per value and
:data:`MAX_TOTAL_BYTES` of signal header data in all; beyond that the excess is dropped, an error
is recorded, and the decision is taken on what was read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

MAX_VALUE_BYTES = 65_536
MAX_TOTAL_BYTES = 262_144

# Only these fields carry signals (or say how to read the body); everything else is skipped
# without decoding.
SIGNAL_FIELDS = frozenset(
    {
        "tdm-reservation",
        "tdm-policy",
        "x-robots-tag",
        "content-usage",
        "content-signal",
        "content-type",
        "content-encoding",
        "link",
    }
)

_NAMES: dict[str | bytes, str] = {}
"""Field names as sent -> the signal field they name, or "" for any other: a crawl meets few
distinct spellings (bounded), and most fields are passed over with this one lookup."""
_MAX_NAMES = 4096


class SignalHeaders(NamedTuple):
    """The signal-bearing field lines of a response (a tuple: built once per response).

    Attributes:
        fields: lower-case field name -> its values, one per field line, in order.
        errors: limits hit while reading (``"headers.value_too_long: x-robots-tag"``...).
    """

    fields: Mapping[str, tuple[str, ...]]
    errors: tuple[str, ...] = ()

    def get(self, name: str) -> tuple[str, ...]:
        """All values of the lower-case field *name* (empty when absent)."""
        return self.fields.get(name, ())

    def first(self, name: str) -> str | None:
        """The first value of *name*, or None."""
        values = self.fields.get(name)
        return values[0] if values else None


NO_HEADERS = SignalHeaders(fields={})


def _pairs(headers: Any) -> Iterable[tuple[Any, Any]]:
    """Every ``(name, value)`` the container holds; a value may be a list of values."""
    kind = type(headers)
    if kind is dict:  # the common cases first: no attribute probing (a miss raises inside)
        return headers.items()  # type: ignore[no-any-return]
    if kind is list or kind is tuple:  # pairs, such as httpx.Headers.raw
        return headers  # type: ignore[no-any-return]
    if headers is None:
        return ()
    multi = getattr(headers, "multi_items", None)  # httpx.Headers
    if callable(multi):
        return multi()  # type: ignore[no-any-return]
    items = getattr(headers, "items", None)
    if callable(items):
        # dict, Scrapy Headers (values are lists of bytes), multidicts, and
        # http.client.HTTPMessage, whose items() lists every field line.
        return items()  # type: ignore[no-any-return]
    return headers  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        # Field values are octets; Latin-1 keeps every byte (RFC 9110 §5.5) and never fails.
        return bytes(value).decode("latin-1")
    return str(value)


def _field_name(raw: Any) -> str:
    """The lower-case name of a field name given as bytes or another type."""
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).strip().lower().decode("latin-1")
    return str(raw).strip().lower()


def _remember(raw: str | bytes) -> str:
    """The signal field *raw* names (lower-case), or "" for any other field; remembered."""
    name = _field_name(raw)
    if name not in SIGNAL_FIELDS:
        name = ""
    if len(_NAMES) >= _MAX_NAMES:
        _NAMES.clear()  # hostile sites sending endless new names: start again, stay bounded
    _NAMES[raw] = name
    return name


def read_signal_headers(headers: Any) -> SignalHeaders:
    """Collect the signal field lines of *headers*. Never raises on odd containers or values.

    ``SignalHeaders`` already read (by a shell that needed ``Content-Type`` first) are returned
    as they are.
    """
    if type(headers) is SignalHeaders:
        return headers
    found: dict[str, tuple[str, ...]] = {}
    # Repeated fields gather their lines here and are joined once at the end: adding tuples
    # line by line would cost O(lines²) for thousands of X-Robots-Tag lines (issue 11).
    repeated: dict[str, list[tuple[str, ...]]] = {}
    errors: list[str] = []
    budget = [MAX_TOTAL_BYTES]
    try:
        for raw_name, raw_value in _pairs(headers):
            # The hot path: most fields are not signal fields and are passed over here, each
            # spelling of a name read once (a dict lookup; other types are read every time).
            kind = type(raw_name)
            if kind is bytes or kind is str:
                name = _NAMES.get(raw_name)
                if name is None:
                    name = _remember(raw_name)
            else:
                name = _field_name(raw_name)
                if name not in SIGNAL_FIELDS:
                    name = ""
            if name:
                values = _values(name, raw_value, budget, errors)
                if name in found:
                    repeated.setdefault(name, [found[name]]).append(values)
                else:
                    found[name] = values
    except _Full:
        errors.append("headers.too_large: signal headers beyond 256 KiB were not read")
    except (TypeError, ValueError) as exc:
        errors.append(f"headers.unreadable: {type(exc).__name__}")
    for name, parts in repeated.items():
        found[name] = tuple(value for part in parts for value in part)
    if not found and not errors:
        return NO_HEADERS
    return SignalHeaders(found, tuple(errors))


def _values(name: str, raw: Any, budget: list[int], errors: list[str]) -> tuple[str, ...]:
    """The field lines of one signal field, each cut to its cap, within the total budget."""
    kind = type(raw)
    if (kind is str or kind is bytes) and len(raw) <= MAX_VALUE_BYTES:  # one short value
        budget[0] -= len(raw)
        if budget[0] < 0:
            raise _Full
        # Field values are octets; Latin-1 keeps every byte (RFC 9110 §5.5) and never fails.
        return ((raw if kind is str else raw.decode("latin-1")).strip(),)
    out: list[str] = []
    for item in raw if isinstance(raw, (list, tuple)) else (raw,):
        value = item if type(item) is str else _text(item)
        if len(value) > MAX_VALUE_BYTES:
            errors.append(f"headers.value_too_long: {name}")
            value = value[:MAX_VALUE_BYTES]
        budget[0] -= len(value)
        if budget[0] < 0:
            raise _Full
        out.append(value.strip())
    return tuple(out)


class _Full(Exception):
    """The header budget is spent: stop reading."""
