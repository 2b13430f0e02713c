"""Reading a C2PA manifest with ``c2pa-python`` for the core (``_core.embedded.C2paReader``).

The core finds the manifest store's bytes in the file; this shell hands them to the C2PA library.
With the whole file, the manifest is validated against it (signature and hard binding); with the
store alone (a shell that read only the file's metadata), it cannot be, and the core then relies
on its restrictions only (standards.md §8.3). ``c2pa`` is imported on the first manifest met, so
that crawls meeting none never load its native library.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ._core.c2pa import C2paManifest

STORE_MEDIA_TYPE = "application/c2pa"
"""How ``c2pa-python`` is told that a stream holds a bare manifest store (JUMBF)."""
_VALID = frozenset({"Valid", "Trusted"})
_MAX_ASSERTIONS = 200


def _assertions(manifest: Mapping[str, Any] | None) -> tuple[tuple[str, object], ...]:
    if not isinstance(manifest, Mapping):
        return ()
    found = manifest.get("assertions")
    if not isinstance(found, list):
        return ()
    return tuple(
        (str(item.get("label", "")), item.get("data"))
        for item in found[:_MAX_ASSERTIONS]
        if isinstance(item, Mapping)
    )


def read_c2pa(store: bytes, media_type: str, whole: bytes | None) -> C2paManifest:
    """Read the active manifest of *store*, validating it against *whole* when given."""
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - c2pa-python is a dependency
        return C2paManifest(error=f"c2pa.reader_unavailable: {exc}")
    try:
        if whole is not None:
            reader = c2pa.Reader(media_type, io.BytesIO(whole))
        else:
            reader = c2pa.Reader(STORE_MEDIA_TYPE, io.BytesIO(store))
        with reader:
            manifest = reader.get_active_manifest()
            state = reader.get_validation_state()
    except Exception as exc:  # noqa: BLE001 - a native library: any failure is a corrupt store
        return C2paManifest(error=f"c2pa.invalid: {type(exc).__name__}: {str(exc)[:160]}")
    return C2paManifest(_assertions(manifest), whole is not None and state in _VALID)
