"""TDMRep in EPUB packages (TDMRep §"EPUB", standards.md §1.6), read from the front of the zip.

An EPUB is a zip whose first entry is ``mimetype``; ``META-INF/container.xml`` names the package
(OPF) document, whose ``<metadata>`` carries the reservation:

* EPUB 2: ``<meta name="tdm:reservation" content="1"/>`` and ``<meta name="tdm:policy" .../>``;
* EPUB 3: ``<meta property="P:reservation">1</meta>`` where ``P`` is bound by the package's
  ``prefix`` attribute to the TDMRep IRI (``http://www.w3.org/ns/tdmrep#``, or the slash spelling
  the PDF section uses): the prefix is resolved by IRI, so any name bound to it counts, and
  ``tdm:`` bound to another IRI does not. An undeclared ``tdm:`` is read, with an error noted.

The zip is walked by its local file headers, in order, so that a streaming shell need read only up
to the package document, never the central directory at the end (APPNOTE 6.3 §4.3.7). Entries
written with data descriptors (bit 3, sizes unknown) are inflated to find their end. Inflated
sizes are capped: no zip bomb gets past :data:`MAX_OPF_BYTES`. Nothing here raises on input.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from dataclasses import dataclass

from lxml import etree

from .safexml import parse_xml
from .tdmrep import UNSET, TdmValue, tdm_from_meta

TDMREP_IRIS = ("http://www.w3.org/ns/tdmrep#", "http://www.w3.org/ns/tdmrep/")
MAX_OPF_BYTES = 1024 * 1024
MAX_ENTRIES = 10_000
MAX_INFLATED = 64 * 1024 * 1024
"""Bytes an entry may inflate to while its end is looked for (more is a zip bomb)."""
MORE = 64 * 1024
"""Bytes asked for when an entry's size is unknown (a data descriptor follows it)."""
_STEP = 64 * 1024
_LOCAL = b"PK\x03\x04"
_CONTAINER = "META-INF/container.xml"


@dataclass(frozen=True, slots=True)
class EpubMetadata:
    """What the front of an EPUB says.

    Attributes:
        tdm: the package's TDMRep values (UNSET when it has none or none could be read).
        need: 0 when the walk is over; else the size of prefix it needs to go on.
        errors: what could not be read.
    """

    tdm: TdmValue = UNSET
    need: int = 0
    errors: tuple[str, ...] = ()


def _inflate(data: bytes, start: int, limit: int) -> tuple[bytes, int] | str | None:
    """Inflate the raw deflate stream at *start*, keeping its first *limit* bytes.

    Returns ``(kept bytes, offset just past the stream)``; None when *data* ends first; an error
    string for a corrupt stream or one inflating past :data:`MAX_INFLATED` (a zip bomb).
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    total = 0
    pos, n = start, len(data)
    try:
        while pos < n and not inflater.eof:
            chunk = data[pos : pos + _STEP]
            pos += len(chunk)
            while not inflater.eof:
                piece = inflater.decompress(chunk, _STEP)
                total += len(piece)
                if total > MAX_INFLATED:
                    return f"epub.too_large: an entry inflates past {MAX_INFLATED} bytes"
                if len(out) < limit:
                    out += piece[: limit - len(out)]
                chunk = inflater.unconsumed_tail
                if not chunk and len(piece) < _STEP:
                    break  # all input taken, no output held back: on to the next chunk
    except zlib.error:
        return "epub.invalid: corrupt deflate data"
    if not inflater.eof:
        return None
    return bytes(out), pos - len(inflater.unused_data)


def _stored_end(data: bytes, start: int) -> int:
    """The end of a stored entry followed by a signed data descriptor, or -1.

    A candidate data descriptor signature counts only if its size and CRC-32 match the bytes
    before it.
    """
    at = data.find(b"PK\x07\x08", start, start + MAX_OPF_BYTES + 4)
    while at >= 0:
        crc, size = struct.unpack("<II", data[at + 4 : at + 12]) if at + 12 <= len(data) else (0, -1)
        if size == at - start and zlib.crc32(data[start:at]) == crc:
            return at + 16
        at = data.find(b"PK\x07\x08", at + 1, start + MAX_OPF_BYTES + 4)
    return -1


def read_epub(data: bytes, *, complete: bool) -> EpubMetadata:
    """Read the TDMRep metadata of an EPUB prefix *data* (*complete*: it is the whole file)."""
    if not data.startswith(_LOCAL):
        if len(data) < 4 and not complete:
            return EpubMetadata(need=4)
        return EpubMetadata(errors=("epub.invalid: not a zip",))
    entries: dict[str, bytes] = {}
    errors: list[str] = []
    i, n = 0, len(data)
    for _ in range(MAX_ENTRIES):
        if data[i : i + 4] != _LOCAL:
            break  # the central directory, or the end
        if i + 30 > n:
            return _more(i + 30, complete, entries, errors)
        flags, method, _t, _d, _crc, csize, _usize, nlen, xlen = struct.unpack(
            "<HHHHIIIHH", data[i + 6 : i + 30]
        )
        start = i + 30 + nlen + xlen
        if start > n:
            return _more(start, complete, entries, errors)
        name = data[i + 30 : i + 30 + nlen].decode("utf-8", "replace")
        wanted = name == _CONTAINER or name.lower().endswith(".opf")
        if flags & 8 and method == 8:  # sizes follow the data: inflate to find its end
            inflated = _inflate(data, start, MAX_OPF_BYTES if wanted else 0)
            if inflated is None:
                return _more(n + MORE, complete, entries, errors)
            if isinstance(inflated, str):
                errors.append(inflated)
                break
            body, end = inflated
            end += 16 if data[end : end + 4] == b"PK\x07\x08" else 12
        elif flags & 8:  # stored, sizes after the data: find the descriptor that fits
            end = _stored_end(data, start)
            if end < 0:
                if n - start < MAX_OPF_BYTES:  # no descriptor before the end: cut short
                    return _more(n + MORE, complete, entries, errors)
                errors.append(f"epub.unreadable: {name[:80]} stored with a data descriptor")
                break
            body = data[start : end - 16] if wanted else b""
        else:
            end = start + csize
            if end > n:
                return _more(end, complete, entries, errors)
            body = data[start:end] if wanted else b""
            if wanted and method == 8:
                inflated = _inflate(data[:end], start, MAX_OPF_BYTES)
                if not isinstance(inflated, tuple):
                    errors.append(inflated or f"epub.invalid: {name[:80]} is cut short")
                    inflated = (b"", end)
                body = inflated[0]
            elif wanted and method != 0:
                errors.append(f"epub.unreadable: {name[:80]} uses compression method {method}")
        if i == 0 and name != "mimetype":
            errors.append("epub.invalid: the first entry is not mimetype")
        if wanted:
            entries[name] = body
            found = _package(entries, errors)
            if found is not None:
                return EpubMetadata(found, 0, tuple(errors))
        i = end
    if i + 4 > n and _LOCAL.startswith(data[i:]):
        # The data ends at an entry boundary (or inside the next signature): a prefix, or a zip
        # cut short (no central directory), never one found to hold no package.
        return _more(i + 30, complete, entries, errors)
    return EpubMetadata(UNSET, 0, (*errors, "epub.no_package: no OPF package document found"))


def _more(need: int, complete: bool, entries: dict[str, bytes], errors: list[str]) -> EpubMetadata:
    if complete:
        return EpubMetadata(UNSET, 0, (*errors, "epub.truncated: the zip ends inside an entry"))
    return EpubMetadata(UNSET, need, tuple(errors))


def _package(entries: dict[str, bytes], errors: list[str]) -> TdmValue | None:
    """The package's TDMRep values once container.xml and the OPF it names are both read."""
    container = entries.get(_CONTAINER)
    if container is None:
        return None
    try:
        root = parse_xml(container)
    except etree.XMLSyntaxError as exc:
        errors.append(f"epub.invalid_container: {str(exc)[:100]}")
        return UNSET
    paths = [e.get("full-path") for e in root.iter("{*}rootfile") if e.get("full-path")]
    if not paths:
        errors.append("epub.invalid_container: no rootfile")
        return UNSET
    opf = entries.get(str(paths[0]))
    return None if opf is None else read_opf(opf, errors)


def _prefixes(declared: str) -> dict[str, str]:
    """``prefix`` attribute (EPUB 3.3 §D.3): ``name: IRI`` pairs separated by whitespace."""
    tokens = declared.split()
    return {
        tokens[k][:-1]: tokens[k + 1]
        for k in range(len(tokens) - 1)
        if tokens[k].endswith(":") and len(tokens[k]) > 1
    }


def read_opf(opf: bytes, errors: list[str]) -> TdmValue:
    """The TDMRep values of an OPF package document (EPUB 2 and 3 forms; module docstring)."""
    try:
        root = parse_xml(opf)
    except etree.XMLSyntaxError as exc:
        errors.append(f"epub.invalid_package: {str(exc)[:100]}")
        return UNSET
    prefixes = _prefixes(root.get("prefix") or "")
    bound = {name for name, iri in prefixes.items() if iri in TDMREP_IRIS}
    if "tdm" not in prefixes:
        bound.add("tdm")  # the spec's own example prefix, read even when undeclared
    pairs: list[tuple[str, str]] = []
    forms: set[str] = set()
    for meta in root.iter("{*}meta"):
        name, prop = meta.get("name"), meta.get("property")
        if name in ("tdm:reservation", "tdm:policy"):  # EPUB 2
            pairs.append(("tdm-" + name[4:], meta.get("content") or ""))
            forms.add("EPUB 2 meta name")
            continue
        prefix, _, local = (prop or "").partition(":")
        if prefix in bound and local in ("reservation", "policy"):
            pairs.append(("tdm-" + local, "".join(str(t) for t in meta.itertext())))
            forms.add(f"EPUB 3 meta property {prefix}:{local}")
            if prefix not in prefixes:
                errors.append(f"epub.undeclared_prefix: {prefix}: used without a prefix binding")
    if not pairs:
        return UNSET
    value = tdm_from_meta(pairs)
    errors.extend(value.errors)
    shown = ", ".join(f"{k[4:]} {v.strip()[:100]}" for k, v in pairs)
    return dataclasses.replace(value, detail=f"OPF {'; '.join(sorted(forms))}: {shown}", errors=())
