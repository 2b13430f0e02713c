"""The CAWG/C2PA training-and-data-mining assertion (standards.md §8.1-8.3).

The C2PA manifest itself is read by ``c2pa-python`` in the shells (a native library has no place
in the pure core); this module takes the active manifest's assertions and says, for each
training-mining entry, what it says: ``allowed``, or ``notAllowed``/``constrained`` ("constrained
is treated as notAllowed in the absence of additional information", CAWG 1.1 §"use").

Read leniently, as the spec's own history requires: labels ``cawg.training-mining`` (CAWG 1.x)
and ``c2pa.training-mining`` (C2PA ≤ 1.4), with a version suffix (``.v2``) or an instance suffix
(``__1``); entries inside ``entries`` or, as the 1.0 CDDL inadvertently allowed, at the top level;
keys ``cawg.X`` or ``c2pa.X``; ``constraint_info`` or ``constraints_info``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LABELS = ("cawg.training-mining", "c2pa.training-mining")
USES = frozenset({"allowed", "notAllowed", "constrained"})
MAX_ENTRIES = 100


@dataclass(frozen=True, slots=True)
class C2paManifest:
    """What the shell's C2PA reader found in a file.

    Attributes:
        assertions: the active manifest's ``(label, data)`` pairs; () when it has none.
        validated: whether the manifest validated against the whole file (signature and hard
            binding); a store read without the rest of the file, or one that failed, is not.
        error: why no manifest could be read (corrupt store, reader unavailable), if so.
    """

    assertions: tuple[tuple[str, object], ...] = ()
    validated: bool = False
    error: str | None = None


def _is_training_mining(label: str) -> bool:
    return any(label == base or label.startswith((base + ".v", base + "__")) for base in LABELS)


def training_mining(manifest: C2paManifest) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """The training-mining entries: ``{key without prefix: (use, constraint text)}``, errors.

    Keys are ``data_mining``, ``ai_inference``, ``ai_training``, ``ai_generative_training`` or a
    custom key; an entry whose ``use`` is not one of :data:`USES` is an error, and left out. When
    a key comes twice (``cawg.`` and ``c2pa.`` prefixes, or two assertions), a restriction is
    never replaced by a permission.
    """
    entries: dict[str, tuple[str, str]] = {}
    errors: list[str] = []
    for label, data in manifest.assertions:
        if not _is_training_mining(label) or not isinstance(data, Mapping):
            continue
        inner = data.get("entries")
        table = inner if isinstance(inner, Mapping) else data
        for key, entry in list(table.items())[:MAX_ENTRIES]:
            if not isinstance(key, str) or key == "metadata" or not isinstance(entry, Mapping):
                continue
            use = entry.get("use")
            if not isinstance(use, str) or use not in USES:  # a list or dict is unhashable
                errors.append(f"c2pa.invalid_entry: {key[:60]} use {str(use)[:40]!r}")
                continue
            info = entry.get("constraint_info", entry.get("constraints_info", ""))
            name = key.split(".", 1)[1] if key.startswith(("cawg.", "c2pa.")) else key
            if use == "allowed" and entries.get(name, (use,))[0] != "allowed":
                continue  # a restriction already read (other prefix or assertion) stands
            entries[name] = (use, str(info)[:200] if info else "")
    return entries, errors
