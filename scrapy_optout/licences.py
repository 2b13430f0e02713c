"""The operator's licence register, read from a file (DESIGN §8, "Licence register files").

One entry per licence, with the keys ``licensor``, ``scope`` and ``value`` (``domain``, ``host``,
``prefix`` or ``url``, as in registry files), ``purposes``, ``valid_from``, ``valid_until`` (ISO 8601
dates, optional) and ``reference`` (the contract's identifier, copied into the log). Three forms,
chosen by the file's suffix:

* ``.csv``: a header row, then one row per licence; ``purposes`` is ``;``-separated;
* ``.json``: a list of objects; ``purposes`` a list or a ``;``-separated string;
* ``.toml``: a top-level ``licence`` array of tables; dates as TOML dates or strings.

An empty ``purposes`` means every purpose. This is the operator's own configuration, so anything
wrong raises ``ValueError`` naming the file, the entry and the key, before any crawling starts.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ._core.policy import Licence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["load_licences"]

_KEYS = frozenset(
    {"licensor", "scope", "value", "purposes", "valid_from", "valid_until", "reference"}
)


def load_licences(path: str | Path, *, setting: str = "licences") -> tuple[Licence, ...]:
    """Read a licence register file (CSV, JSON or TOML, by suffix).

    Args:
        path: the file.
        setting: the name the error messages start with (``OPTOUT_LICENCES`` in Scrapy).

    Raises:
        ValueError: the file cannot be read, or an entry is malformed.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            with file.open(newline="", encoding="utf-8-sig") as stream:
                rows: Any = list(csv.DictReader(stream))
        elif suffix == ".json":
            rows = json.loads(file.read_text(encoding="utf-8-sig"))
        elif suffix == ".toml":
            rows = tomllib.loads(file.read_text(encoding="utf-8-sig")).get("licence")
        else:
            raise ValueError(f"{setting}: {file} must end in .csv, .json or .toml")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{setting}: cannot read {file}: {exc}") from None
    except csv.Error as exc:
        raise ValueError(f"{setting}: {file} is not valid CSV: {exc}") from None
    if not isinstance(rows, list):
        shape = "a top-level 'licence' array" if suffix == ".toml" else "a list of entries"
        raise ValueError(f"{setting}: {file} must hold {shape}")
    return tuple(_entry(row, f"{setting}: {file} entry {n}") for n, row in enumerate(rows, 1))


def _entry(row: Any, where: str) -> Licence:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected an object with keys {sorted(_KEYS)}")
    unknown = set(row) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(map(str, unknown))}")
    text = {key: _text(row.get(key), f"{where}: {key}") for key in ("licensor", "scope", "value")}
    try:
        return Licence(
            licensor=text["licensor"],
            scope=text["scope"],
            value=text["value"],
            purposes=_purposes(row.get("purposes"), f"{where}: purposes"),
            valid_from=_date(row.get("valid_from"), f"{where}: valid_from"),
            valid_until=_date(row.get("valid_until"), f"{where}: valid_until"),
            reference=_text(row.get("reference"), f"{where}: reference"),
        )
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}: {str(exc).removeprefix('licences: ')}") from None


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected text, got {value!r}")
    return value.strip()


def _purposes(value: Any, where: str) -> frozenset[str]:
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        items: list[Any] = value.split(";")
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"{where}: expected a list or a ';'-separated string, got {value!r}")
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"{where}: every purpose must be text, got {value!r}")
    return frozenset(item.strip() for item in items if item.strip())


def _date(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # a TOML datetime: a date is expected
        raise ValueError(f"{where}: expected a date, got a date and time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: expected an ISO 8601 date (YYYY-MM-DD), got {value!r}")
