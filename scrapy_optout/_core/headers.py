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
from dataclasses import dataclass
from typing import Any

MAX_VALUE_BYTES = 65_536
MAX_TOTAL_BYTES = 262_144

# Only these fields carry signals; everything else is skipped without decoding.
SIGNAL_FIELDS = frozenset(
    {
        "tdm-reservation",
        "tdm-policy",
        "x-robots-tag",
        "content-usage",
        "content-signal",
        "content-type",
        "link",
    }
)


@dataclass(frozen=True, slots=True)
class SignalHeaders:
    """The signal-bearing field lines of a response.

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


def _field_name(raw: Any) -> str | None:
    """The lower-case name of a non-``str`` field name if it names a signal field, else None."""
    if isinstance(raw, bytes | bytearray):
        name = bytes(raw).strip().lower().decode("latin-1")
    else:
        name = str(raw).strip().lower()
    return name if name in SIGNAL_FIELDS else None


def read_signal_headers(headers: Any) -> SignalHeaders:
    """Collect the signal field lines of *headers*. Never raises on odd containers or values."""
    found: dict[str, list[str]] | None = None
    errors: list[str] = []
    total = 0
    try:
        for raw_name, raw_value in _pairs(headers):
            if type(raw_name) is str:  # the hot path: most fields are not signal fields
                name = raw_name.lower()
                if name not in SIGNAL_FIELDS:
                    continue
            elif (name := _field_name(raw_name)) is None:  # type: ignore[assignment]
                continue
            values = raw_value if isinstance(raw_value, list | tuple) else (raw_value,)
            for item in values:
                value = item if type(item) is str else _text(item)
                if len(value) > MAX_VALUE_BYTES:
                    errors.append(f"headers.value_too_long: {name}")
                    value = value[:MAX_VALUE_BYTES]
                total += len(value)
                if total > MAX_TOTAL_BYTES:
                    errors.append("headers.too_large: signal headers beyond 256 KiB were not read")
                    raise _Full
                if found is None:
                    found = {}
                found.setdefault(name, []).append(value.strip())
    except _Full:
        pass
    except (TypeError, ValueError) as exc:
        errors.append(f"headers.unreadable: {type(exc).__name__}")
    if found is None and not errors:
        return NO_HEADERS
    fields = {k: tuple(v) for k, v in found.items()} if found else {}
    return SignalHeaders(fields=fields, errors=tuple(errors))


class _Full(Exception):
    """The header budget is spent: stop reading."""
