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
_SIGNAL_FIELDS_BYTES = frozenset(name.encode() for name in SIGNAL_FIELDS)


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
    """Yield (name, value) for every field line, whatever the container."""
    if headers is None:
        return ()
    multi = getattr(headers, "multi_items", None)  # httpx.Headers
    if callable(multi):
        return multi()  # type: ignore[no-any-return]
    if hasattr(headers, "get_all") and hasattr(headers, "items"):
        # http.client.HTTPMessage / email.message.Message: items() lists every field line.
        return headers.items()  # type: ignore[no-any-return]
    items = getattr(headers, "items", None)
    if callable(items):
        # dict, Scrapy Headers (values are lists of bytes), multidicts.
        return _expand(items())
    return _expand(headers)


def _expand(pairs: Iterable[Any]) -> Iterable[tuple[Any, Any]]:
    for pair in pairs:
        name, value = pair
        if isinstance(value, list | tuple):
            for item in value:
                yield name, item
        else:
            yield name, value


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        # Field values are octets; Latin-1 keeps every byte (RFC 9110 §5.5) and never fails.
        return bytes(value).decode("latin-1")
    return str(value)


def read_signal_headers(headers: Any) -> SignalHeaders:
    """Collect the signal field lines of *headers*. Never raises on odd containers or values."""
    found: dict[str, list[str]] = {}
    errors: list[str] = []
    total = 0
    try:
        for raw_name, raw_value in _pairs(headers):
            if isinstance(raw_name, bytes):
                key = raw_name.strip().lower()
                if key not in _SIGNAL_FIELDS_BYTES:
                    continue
                name = key.decode("ascii")
            else:
                name = str(raw_name).strip().lower()
                if name not in SIGNAL_FIELDS:
                    continue
            value = _text(raw_value)
            if len(value) > MAX_VALUE_BYTES:
                errors.append(f"headers.value_too_long: {name}")
                value = value[:MAX_VALUE_BYTES]
            total += len(value)
            if total > MAX_TOTAL_BYTES:
                errors.append("headers.too_large: signal headers beyond 256 KiB were not read")
                break
            found.setdefault(name, []).append(value.strip())
    except (TypeError, ValueError) as exc:
        errors.append(f"headers.unreadable: {type(exc).__name__}")
    if not found and not errors:
        return NO_HEADERS
    return SignalHeaders(fields={k: tuple(v) for k, v in found.items()}, errors=tuple(errors))
