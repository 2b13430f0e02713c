"""Signals inside files (DESIGN §5.2 "Embedded signals"): where, how many bytes, what they say.

* Images (JPEG, PNG, WebP, TIFF): the C2PA/CAWG training-mining assertion (``c2pa``) and IPTC
  ``plus:DataMining`` in XMP (``iptc``).
* PDF: TDMRep in XMP (``tdmrep_pdf``; both namespace spellings), and IPTC in the same XMP.
* EPUB 2 and 3: TDMRep in the OPF package metadata (``tdmrep_epub``).

The TDMRep values come back as a layer for ``rules.tdm_layers``, after header and meta (TDMRep
§1.7 step 4: embedded metadata supersedes both). A found but unreadable C2PA store or XMP packet is
an unavailable source (``on_unavailable`` governs), never a silent allow; a file cut short is
read as far as it goes, and the cut is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from . import rules
from .c2pa import C2paManifest, training_mining
from .containers import read_image_metadata
from .epub import TDMREP_IRIS, read_epub
from .iptc import data_mining
from .models import Code, Reason, Signal, Verdict
from .pdf import is_pdf, read_pdf_metadata
from .tdmrep import UNSET, TdmValue, tdm_from_meta
from .xmp import read_xmp

C2paReader = Callable[[bytes, str, "bytes | None"], C2paManifest]
"""``read(store, media type, whole file or None) -> C2paManifest``: the shells' C2PA reader."""

_TYPES = {
    "image/jpeg": "image",
    "image/jpg": "image",
    "image/pjpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "image/tiff": "image",
    "application/pdf": "pdf",
    "application/epub+zip": "epub",
}
_EXTENSIONS = {
    "jpg": "image", "jpeg": "image", "png": "image", "webp": "image", "tif": "image",
    "tiff": "image", "pdf": "pdf", "epub": "epub",
}  # fmt: skip
_UNTYPED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_MEDIA = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff"}
WHOLE = 1 << 62
"""What :func:`bytes_needed` says of a file that must be read to its end."""
EMBEDDED_SIGNALS = frozenset({Signal.C2PA, Signal.IPTC, Signal.TDMREP})
_PDF_SIGNALS = frozenset({Signal.TDMREP, Signal.IPTC})
"""The signals a PDF's XMP carries."""


def embedded_kind(content_type: str | None, url: str) -> str:
    """``image``, ``pdf``, ``epub``, or ``""``: by Content-Type, or by extension when untyped."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in _UNTYPED:
        return _TYPES.get(media, "")
    path = url.split("?", 1)[0].split("#", 1)[0]
    dot = path.rfind(".")
    return _EXTENSIONS.get(path[dot + 1 :].lower(), "") if dot > path.rfind("/") else ""


def bytes_needed(kind: str, data: bytes) -> int:
    """0 when *data* holds all the metadata a *kind* file can have here; else the prefix wanted.

    A PDF is scanned whole (its metadata may be anywhere): it wants :data:`WHOLE`.
    """
    if kind == "image":
        return read_image_metadata(data).need
    if kind == "epub":
        return read_epub(data, complete=False).need
    if kind == "pdf":
        return WHOLE
    return 0


@dataclass(slots=True)
class EmbeddedFindings:
    """What a file's own metadata says, for ``response.py`` to merge into its findings."""

    reservations: list[Reason] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    unavailable: list[Reason] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tdm: tuple[str, TdmValue] | None = None

    def __bool__(self) -> bool:
        return bool(
            self.reservations or self.permissions or self.unavailable or self.errors or self.tdm
        )


def read_embedded(
    kind: str,
    url: str,
    body: bytes,
    purpose: str,
    checks: frozenset[str],
    *,
    complete: bool,
    read_c2pa: C2paReader | None,
) -> EmbeddedFindings:
    """Read the signals inside a *kind* file (module docstring); *complete*: body is whole."""
    out = EmbeddedFindings()
    if kind == "image":
        _image(url, body, purpose, checks, complete, read_c2pa, out)
    elif kind == "pdf" and is_pdf(body) and not checks.isdisjoint(_PDF_SIGNALS):
        pdf = read_pdf_metadata(body)
        out.errors.extend(pdf.errors)
        if not complete:
            out.errors.append(f"pdf.scan_cut: read the first {len(body)} bytes")
        packets = [(f"object {number}", packet) for number, packet in pdf.packets]
        # A broken packet fails a signal that runs: TDMRep, else IPTC (never a disabled one).
        owner = Signal.TDMREP if Signal.TDMREP in checks else Signal.IPTC
        _xmp(url, packets, purpose, checks, owner, out)
    elif kind == "epub" and Signal.TDMREP in checks:
        epub = read_epub(body, complete=True)
        out.errors.extend(epub.errors)
        if epub.tdm is not UNSET:
            out.tdm = (Code.TDMREP_EPUB, epub.tdm)
    return out


def _image(
    url: str,
    body: bytes,
    purpose: str,
    checks: frozenset[str],
    complete: bool,
    read_c2pa: C2paReader | None,
    out: EmbeddedFindings,
) -> None:
    meta = read_image_metadata(body)
    out.errors.extend(meta.errors)
    if meta.need:
        cut = "truncated" if complete else "scan_cut"
        out.errors.append(f"image.{cut}: metadata continues past byte {len(body)}")
    if Signal.IPTC in checks and meta.xmp:
        _xmp(url, [(meta.kind, p) for p in meta.xmp], purpose, checks, Signal.IPTC, out)
    if meta.c2pa is None or Signal.C2PA not in checks:
        return
    media = _MEDIA[meta.kind]
    if read_c2pa is None:
        manifest = C2paManifest(error="c2pa.not_read: no C2PA reader in this context")
    else:
        manifest = read_c2pa(meta.c2pa, media, body if complete and not meta.need else None)
    if manifest.error:
        detail = f"C2PA manifest unreadable: {manifest.error}"
        out.unavailable.append(Reason(Code.SIGNAL_UNAVAILABLE, Signal.C2PA, url, detail))
        return
    if not manifest.validated:
        out.errors.append("c2pa.not_validated: permissions in it are not relied on")
    entries, errors = training_mining(manifest)
    out.errors.extend(errors)
    verdict, detail = rules.c2pa_verdict(entries, manifest.validated, purpose)
    if verdict is Verdict.RESERVED:
        out.reservations.append(
            Reason(Code.C2PA, Signal.C2PA, url, f"training-mining assertion: {detail}")
        )
    elif verdict is Verdict.ALLOW:
        out.permissions.append(f"c2pa: training-mining assertion: {detail}")


def _xmp(
    url: str,
    packets: list[tuple[str, bytes]],
    purpose: str,
    checks: frozenset[str],
    owner: str,
    out: EmbeddedFindings,
) -> None:
    """IPTC (and, in a PDF, TDMRep) from XMP packets; *owner* is the signal a broken one fails."""
    pairs: list[tuple[str, str]] = []
    where: list[str] = []
    for place, packet in packets:
        xmp = read_xmp(packet)
        out.errors.extend(xmp.errors)
        if not xmp.properties and xmp.errors:
            out.unavailable.append(
                Reason(Code.SIGNAL_UNAVAILABLE, owner, url, f"XMP unreadable ({place})")
            )
            continue
        if Signal.IPTC in checks:
            terms, constraints = data_mining(xmp)
            verdict, term, errors = rules.iptc_verdict(terms, purpose)
            out.errors.extend(errors)
            detail = f"plus:DataMining {term} ({place})" + (
                f"; plus:OtherConstraints {constraints}" if constraints else ""
            )
            if verdict is Verdict.RESERVED:
                out.reservations.append(Reason(Code.IPTC, Signal.IPTC, url, detail))
            elif verdict is Verdict.ALLOW:
                out.permissions.append(f"iptc: {detail}")
        if owner == Signal.TDMREP and Signal.TDMREP in checks:
            for name in ("reservation", "policy"):
                for value in xmp.values(TDMREP_IRIS, name):
                    pairs.append(("tdm-" + name, value))
                    where.append(f"tdm:{name} {value[:100]} ({place})")
    if pairs:
        layer = tdm_from_meta(pairs)
        out.errors.extend(layer.errors)
        out.tdm = (
            Code.TDMREP_PDF,
            dataclasses.replace(layer, detail="XMP " + "; ".join(where), errors=()),
        )
