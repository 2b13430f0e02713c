"""Where images keep their metadata (XMP packets, the C2PA manifest store), found by structure.

The walkers read the file's structure from its first byte and never decode the image.

Each walker reads only the structure that precedes the image data, and says how many bytes it
needs when what it has is not enough, so that a shell streaming a 20 MB image stops after the
metadata (DESIGN §5.2, issue 7):

* JPEG (ITU T.81 markers): APP1 ``http://ns.adobe.com/xap/1.0/`` is XMP; APP11 ``JP`` segments
  are JPEG XT boxes (ISO 19566-5), where C2PA puts its JUMBF manifest store; the walk ends at SOS.
* PNG (ISO 15948 chunks): iTXt ``XML:com.adobe.xmp`` is XMP (zlib when flagged); ``caBX`` is the
  C2PA store; the walk ends at the first IDAT. XMP placed after the image data is not read.
* WebP (RIFF): the ``XMP `` and ``C2PA`` chunks, which come after the image data: the whole file.
* TIFF: IFD0 tag 700 (XMP) and tag 0xCD41 (C2PA store), wherever their offsets point.

Nothing here raises on remote input: a structure that does not add up is an ``image.*`` error.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
C2PA_UUID_PREFIX = b"c2pa"
"""The first 4 bytes of the C2PA manifest store's JUMBF UUID (``63327061-0011-...``)."""
MAX_SEGMENTS = 10_000
MAX_INFLATED = 4 * 1024 * 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_TIFF_XMP = 700
_TIFF_C2PA = 0xCD41


@dataclass(frozen=True, slots=True)
class ImageMetadata:
    """What a walk over an image's structure found.

    Attributes:
        kind: ``jpeg``, ``png``, ``webp``, ``tiff``, or ``""`` when the bytes are none of them.
        xmp: the XMP packets found, in file order.
        c2pa: the C2PA manifest store (JUMBF), if any.
        need: 0 when the walk is complete; else the size of prefix it needs to go on.
        errors: what did not add up.
    """

    kind: str
    xmp: tuple[bytes, ...] = ()
    c2pa: bytes | None = None
    need: int = 0
    errors: tuple[str, ...] = ()


class _Walk:
    """Accumulates one walk's findings."""

    __slots__ = ("c2pa", "errors", "kind", "need", "xmp")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.xmp: list[bytes] = []
        self.c2pa: dict[int, bytearray] = {}
        self.need = 0
        self.errors: list[str] = []

    def result(self) -> ImageMetadata:
        store = next(iter(self.c2pa.values()), None)
        return ImageMetadata(
            self.kind,
            tuple(self.xmp),
            bytes(store) if store is not None else None,
            self.need,
            tuple(self.errors),
        )


def image_kind(data: bytes) -> str:
    """The image format by its signature, or ``""``."""
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return ""


def read_image_metadata(data: bytes) -> ImageMetadata:
    """Walk the structure of an image prefix *data* (see the module docstring)."""
    kind = image_kind(data)
    walk = _Walk(kind)
    if kind == "jpeg":
        _jpeg(data, walk)
    elif kind == "png":
        _png(data, walk)
    elif kind == "webp":
        _webp(data, walk)
    elif kind == "tiff":
        _tiff(data, walk)
    elif len(data) < 12:
        walk.need = 12  # too few bytes to tell the format
    return walk.result()


def _jumbf_part(payload: bytes, walk: _Walk) -> None:
    """One APP11 segment: ``JP``, box instance En, sequence Z, then the box (ISO 19566-5 §B)."""
    if len(payload) < 28 or payload[:2] != b"JP":
        return
    instance, sequence = struct.unpack(">HI", payload[2:8])
    if sequence == 1:
        # The first segment carries the box header; the store is the box whose JUMBF
        # description (jumd) has the C2PA UUID.
        if payload[24:28] == C2PA_UUID_PREFIX and not walk.c2pa:
            walk.c2pa[instance] = bytearray(payload[8:])
        return
    store = walk.c2pa.get(instance)
    if store is not None:
        # Later segments repeat LBox/TBox (and XLBox when LBox is 1) before the continuation.
        skip = 24 if payload[8:12] == b"\x00\x00\x00\x01" else 16
        store += payload[skip:]


def _jpeg(data: bytes, walk: _Walk) -> None:
    i, n, count = 2, len(data), 0
    while count < MAX_SEGMENTS:
        count += 1
        while i < n and data[i] == 0xFF and i + 1 < n and data[i + 1] == 0xFF:
            i += 1  # fill bytes (T.81 §B.1.1.2)
        if i + 4 > n:
            walk.need = i + 4
            return
        if data[i] != 0xFF:
            walk.errors.append(f"image.jpeg_invalid: no marker at byte {i}")
            return
        marker = data[i + 1]
        if marker in (0xDA, 0xD9):  # SOS: image data follows; EOI: the end
            return
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > n:
            walk.need = end
            return
        payload = data[i + 4 : end]
        if marker == 0xE1 and payload.startswith(XMP_APP1):
            walk.xmp.append(payload[len(XMP_APP1) :])
        elif marker == 0xEB:
            _jumbf_part(payload, walk)
        i = end
    walk.errors.append(f"image.jpeg_invalid: over {MAX_SEGMENTS} segments")


def _itxt_xmp(data: bytes, walk: _Walk) -> None:
    keyword, _, rest = data.partition(b"\x00")
    if keyword != b"XML:com.adobe.xmp" or len(rest) < 2:
        return
    compressed = rest[0] == 1
    # Skip the language tag and the translated keyword (two NUL-terminated fields).
    _, _, rest = rest[2:].partition(b"\x00")
    _, _, text = rest.partition(b"\x00")
    if not compressed:
        walk.xmp.append(text)
        return
    inflater = zlib.decompressobj()
    try:
        packet = inflater.decompress(text, MAX_INFLATED)
    except zlib.error:
        walk.errors.append("image.png_invalid: corrupt compressed XMP")
        return
    if inflater.unconsumed_tail:
        walk.errors.append(f"image.xmp_too_large: over {MAX_INFLATED} bytes inflated")
        return
    walk.xmp.append(packet)


def _png(data: bytes, walk: _Walk) -> None:
    i, n, count = 8, len(data), 0
    while count < MAX_SEGMENTS:
        count += 1
        if i + 8 > n:
            walk.need = i + 8
            return
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        if kind in (b"IDAT", b"IEND"):
            return
        end = i + 12 + length
        if end > n:
            walk.need = end
            return
        if kind == b"iTXt":
            _itxt_xmp(data[i + 8 : end - 4], walk)
        elif kind == b"caBX" and not walk.c2pa:
            walk.c2pa[0] = bytearray(data[i + 8 : end - 4])
        i = end
    walk.errors.append(f"image.png_invalid: over {MAX_SEGMENTS} chunks")


def _webp(data: bytes, walk: _Walk) -> None:
    total = min(8 + int.from_bytes(data[4:8], "little"), 8 + 0xFFFFFFFF)
    i, n, count = 12, len(data), 0
    while count < MAX_SEGMENTS and i + 8 <= total:
        count += 1
        if i + 8 > n:
            walk.need = i + 8
            return
        fourcc = data[i : i + 4]
        length = int.from_bytes(data[i + 4 : i + 8], "little")
        end = i + 8 + length
        if end > n:
            walk.need = end
            return
        if fourcc == b"XMP ":
            walk.xmp.append(data[i + 8 : end])
        elif fourcc == b"C2PA" and not walk.c2pa:
            walk.c2pa[0] = bytearray(data[i + 8 : end])
        i = end + (length & 1)  # chunks are padded to an even size
    if count >= MAX_SEGMENTS:
        walk.errors.append(f"image.webp_invalid: over {MAX_SEGMENTS} chunks")


def _tiff(data: bytes, walk: _Walk) -> None:
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8:
        walk.need = 8
        return
    ifd = struct.unpack(order + "I", data[4:8])[0]
    if ifd + 2 > len(data):
        walk.need = ifd + 2
        return
    count = struct.unpack(order + "H", data[ifd : ifd + 2])[0]
    end = ifd + 2 + 12 * count
    if end > len(data):
        walk.need = end
        return
    wanted: list[tuple[int, int, int]] = []
    for k in range(count):
        tag, _type, length, offset = struct.unpack(
            order + "HHII", data[ifd + 2 + 12 * k : ifd + 14 + 12 * k]
        )
        if tag in (_TIFF_XMP, _TIFF_C2PA):
            # A BYTE/UNDEFINED value of 4 bytes or fewer sits in the offset field itself.
            start = ifd + 10 + 12 * k if length <= 4 else offset
            wanted.append((tag, start, length))
    need = max((start + length for _, start, length in wanted), default=0)
    if need > len(data):
        walk.need = need
        return
    for tag, start, length in wanted:
        value = data[start : start + length]
        if tag == _TIFF_XMP:
            walk.xmp.append(value)
        elif not walk.c2pa:
            walk.c2pa[0] = bytearray(value)
