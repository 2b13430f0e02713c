"""XMP metadata streams of a PDF (ISO 32000-1 §14.3.2), found by a bounded lexical scan.

TDMRep puts ``tdm:reservation``/``tdm:policy`` in the document's XMP (standards.md §1.6). The
scan finds every stream whose dictionary says ``/Type /Metadata /Subtype /XML`` and decodes it
through its filter (none, or FlateDecode: DESIGN §5.2), without the cross-reference table, so a
truncated file or one still arriving is read as far as it goes. Every metadata stream found
counts, the catalog's and those of pages or images alike: a reservation anywhere in the file is
a reservation on content of the file (the most restrictive reading).

Nothing here raises on input; an object that does not add up is a ``pdf.*`` error.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from .xmp import MAX_PACKET_BYTES

MAX_STREAMS = 100
"""Metadata streams read per file, decoded or not (a hostile file may declare thousands)."""
MAX_DICT_BYTES = 4096
"""How far before ``stream`` the object's dictionary is looked for."""
# One forward pass over object headers ("N G obj", group 1: N) and stream starts (">> stream"):
# the bounded counts keep a run of digits from backtracking, so the scan stays linear.
_TOKEN = re.compile(rb"(?<!\d)(\d{1,10})\s+\d{1,5}\s+obj\b|>>\s*stream(?:\r\n|\n|\r)")
_TYPE = re.compile(rb"/Type\s*/Metadata\b")
_SUBTYPE = re.compile(rb"/Subtype\s*/XML\b")
_LENGTH = re.compile(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R)")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")


@dataclass(frozen=True, slots=True)
class PdfMetadata:
    """The metadata streams of a PDF (prefix).

    Attributes:
        packets: ``(object number, XMP packet)`` pairs, in file order.
        errors: what could not be read.
    """

    packets: tuple[tuple[int, bytes], ...] = ()
    errors: tuple[str, ...] = ()


def is_pdf(data: bytes) -> bool:
    """Whether *data* starts like a PDF (the header may follow up to 1 KiB of junk, §7.5.2)."""
    return b"%PDF-" in data[:1024]


def _decode(raw: bytes, filters: list[bytes], number: int) -> bytes | str:
    """The stream's data through its filters, or an error."""
    data = raw
    for name in filters:
        if name not in (b"FlateDecode", b"Fl"):
            return f"pdf.filter_unsupported: object {number} uses /{name.decode('latin-1')}"
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(data, MAX_PACKET_BYTES + 1)
        except zlib.error:
            return f"pdf.invalid_stream: object {number} is not valid FlateDecode data"
        if len(data) > MAX_PACKET_BYTES:
            return f"pdf.stream_too_large: object {number} inflates past {MAX_PACKET_BYTES} bytes"
    return data


def read_pdf_metadata(data: bytes) -> PdfMetadata:
    """Every XMP metadata stream in *data*, decoded (see the module docstring)."""
    packets: list[tuple[int, bytes]] = []
    errors: list[str] = []
    streams = 0
    number, head_start, head_end = 0, -1, -1  # the object header last seen, if it has no stream
    for match in _TOKEN.finditer(data):
        if match.group(1) is not None:
            number, head_start, head_end = int(match.group(1)), match.start(), match.end()
            continue
        if head_start < 0 or head_start < match.start() - MAX_DICT_BYTES:
            continue
        dictionary = data[head_end : match.start() + 2]
        head_start = -1  # one stream per object: a later ">> stream" is not this object's
        if not (_TYPE.search(dictionary) and _SUBTYPE.search(dictionary)):
            continue
        if streams >= MAX_STREAMS:
            errors.append(f"pdf.too_many_metadata_streams: read the first {MAX_STREAMS}")
            break
        streams += 1
        start = match.end()
        length = _LENGTH.search(dictionary)
        if length is not None and start + int(length.group(1)) <= len(data):
            end = start + int(length.group(1))
        else:  # an indirect /Length, or a wrong one: the data ends at "endstream"
            end = data.find(b"endstream", start, start + MAX_PACKET_BYTES + 64)
            if end < 0:
                errors.append(f"pdf.truncated: metadata object {number} has no end in view")
                continue
        found = _FILTER.search(dictionary)
        filters = _NAME.findall(found.group(1)) if found else []
        decoded = _decode(data[start:end], filters, number)
        if isinstance(decoded, str):
            errors.append(decoded)
        else:
            packets.append((number, decoded))
    if b"/Encrypt" in data[-4096:] and not packets:
        errors.append("pdf.encrypted: its metadata may be encrypted and was not read")
    return PdfMetadata(tuple(packets), tuple(errors))
