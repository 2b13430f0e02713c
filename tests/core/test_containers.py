"""Image structure walkers: XMP packets and the C2PA store in JPEG, PNG, WebP and TIFF."""

from __future__ import annotations

import functools
import io
import random
import struct
import zlib
from collections.abc import Callable

import c2pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.containers import (
    MAX_INFLATED,
    MAX_SEGMENTS,
    ImageMetadata,
    image_kind,
    read_image_metadata,
)
from scrapy_optout._core.xmp import read_xmp
from tests.embedded_c2pa import TRAINING_MINING, c2pa_signed
from tests.embedded_files import (
    PNG_SIGNATURE,
    XMP_TDM_SLASH,
    jpeg,
    png,
    png_chunk,
    png_chunks,
    riff_chunks,
    tiff,
    webp,
    xmp_packet,
)

PACKET = xmp_packet(tdm_reservation="1", data_mining="DMI-PROHIBITED")
ENTRIES: dict[str, object] = {
    "cawg.ai_generative_training": {"use": "notAllowed"},
    "cawg.data_mining": {"use": "constrained", "constraint_info": "see https://example.com/tdm"},
}
SIGNATURES = {
    "jpeg": b"\xff\xd8",
    "png": PNG_SIGNATURE,
    "webp": b"RIFF\x00\x10\x00\x00WEBP",
    "tiff-le": b"II*\x00",
    "tiff-be": b"MM\x00*",
}
BUILDERS: dict[str, Callable[[bytes | None], bytes]] = {
    "jpeg": jpeg,
    "png": png,
    "png-zlib": functools.partial(png, compressed=True),
    "webp": webp,
    "tiff": tiff,
}


def check(meta: ImageMetadata, data: bytes) -> None:
    """The invariants every walk keeps, whatever the input."""
    assert isinstance(meta, ImageMetadata)
    assert meta.kind == image_kind(data)
    assert all(isinstance(p, bytes) for p in meta.xmp)
    assert meta.c2pa is None or isinstance(meta.c2pa, bytes)
    assert meta.need >= 0
    assert meta.need == 0 or meta.need > len(data)
    assert all(e.startswith("image.") for e in meta.errors)


@functools.cache
def signed(fmt: str, filler: int = 0) -> bytes:
    """A C2PA-signed image (made once per test session: signing takes a few milliseconds)."""
    return c2pa_signed(fmt, ENTRIES, filler_bytes=filler)


def store_assertions(store: bytes) -> dict[str, object]:
    """The active manifest's assertions of a bare manifest store, read by c2pa-python."""
    with c2pa.Reader("application/c2pa", io.BytesIO(store)) as reader:
        manifest = reader.get_active_manifest()
    return {item["label"]: item.get("data") for item in manifest["assertions"]}


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """The ``(offset, marker, length)`` of each JPEG segment before SOS (SOS included)."""
    found, i = [], 2
    while True:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        found.append((i, marker, length))
        if marker == 0xDA:
            return found
        i += 2 + length


def sos_offset(data: bytes) -> int:
    """Where a JPEG's SOS marker is (by walking the segments: its bytes may occur earlier)."""
    return jpeg_segments(data)[-1][0]


# --- image_kind -------------------------------------------------------------------------------

KINDS = [
    ("jpeg", b"\xff\xd8\xff\xe0", "jpeg"),
    ("jpeg-bare-soi", b"\xff\xd8", "jpeg"),
    ("png", PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR", "png"),
    ("webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
    ("tiff-le", b"II*\x00\x08\x00\x00\x00", "tiff"),
    ("tiff-be", b"MM\x00*\x00\x00\x00\x08", "tiff"),
    ("riff-wave", b"RIFF\x24\x00\x00\x00WAVEfmt ", ""),
    ("png-damaged", b"\x89PNG\r\n\x1a\x00", ""),
    ("bigtiff", b"II+\x00\x08\x00\x00\x00", ""),
    ("tiff-mixed-order", b"II\x00*", ""),
    ("gif", b"GIF89a\x01\x00\x01\x00", ""),
    ("one-byte", b"\xff", ""),
    ("empty", b"", ""),
    ("html", b"<!doctype html>", ""),
]


@pytest.mark.parametrize(("data", "kind"), [pytest.param(*v[1:], id=v[0]) for v in KINDS])
def test_image_kind_by_signature(data: bytes, kind: str) -> None:
    """The format is told by the file's signature alone."""
    assert image_kind(data) == kind


@pytest.mark.parametrize(
    ("build", "kind"), [(jpeg, "jpeg"), (png, "png"), (webp, "webp"), (tiff, "tiff")]
)
def test_image_kind_of_real_files(build: Callable[[bytes | None], bytes], kind: str) -> None:
    """Real files made by Pillow are told apart."""
    assert image_kind(build(None)) == kind
    assert image_kind(build(PACKET)) == kind


@pytest.mark.parametrize(("data", "need"), [(b"", 12), (b"GIF8", 12), (b"GIF89a" + bytes(20), 0)])
def test_unknown_bytes_ask_for_enough_to_tell_the_format(data: bytes, need: int) -> None:
    """Under 12 bytes the format cannot be told, so 12 are asked for; beyond, nothing is."""
    meta = read_image_metadata(data)
    assert meta == ImageMetadata("", need=need)


# --- XMP --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BUILDERS))
def test_xmp_packet_is_found(name: str) -> None:
    """The XMP packet of each container comes back byte for byte, with the walk complete."""
    data = BUILDERS[name](PACKET)
    meta = read_image_metadata(data)
    check(meta, data)
    assert meta.xmp == (PACKET,)
    assert (meta.c2pa, meta.need, meta.errors) == (None, 0, ())
    assert read_xmp(meta.xmp[0]).values((XMP_TDM_SLASH,), "reservation") == ("1",)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_no_metadata_is_no_metadata(name: str) -> None:
    """A file without metadata gives no packet, no store, and no error."""
    data = BUILDERS[name](None)
    assert read_image_metadata(data) == ImageMetadata(name.split("-")[0])


def test_other_app1_segments_are_not_xmp() -> None:
    """An APP1 segment of Exif (or the extended-XMP namespace) is not taken for the packet."""
    data = jpeg(PACKET)
    exif = b"Exif\x00\x00" + bytes(40)
    extended = b"http://ns.adobe.com/xmp/extension/\x00" + bytes(40)
    extra = b"".join(b"\xff\xe1" + (len(p) + 2).to_bytes(2, "big") + p for p in (exif, extended))
    meta = read_image_metadata(data[:2] + extra + data[2:])
    assert meta.xmp == (PACKET,)
    assert meta.errors == ()


def test_png_itxt_with_another_keyword_is_not_xmp() -> None:
    """Only the iTXt keyword ``XML:com.adobe.xmp`` is XMP."""
    data = png(None)
    chunk = png_chunk(b"iTXt", b"Comment\x00\x00\x00\x00\x00" + PACKET)
    meta = read_image_metadata(data[:33] + chunk + data[33:])
    assert meta.xmp == ()
    assert meta.errors == ()


def test_png_xmp_after_the_image_data_is_not_read() -> None:
    """Documented limit: an iTXt packet placed after IDAT is past where the walk stops."""
    data = png(PACKET, after_idat=True)
    kinds = [kind for kind, _ in png_chunks(data)]
    assert kinds.index(b"iTXt") > kinds.index(b"IDAT")  # the packet really is in the file
    meta = read_image_metadata(data)
    assert meta.xmp == ()
    assert (meta.need, meta.errors) == (0, ())


def test_webp_xmp_follows_the_image_data() -> None:
    """In WebP the 'XMP ' chunk comes after the image, and is still found."""
    data = webp(PACKET)
    kinds = [kind for kind, _ in riff_chunks(data)]
    assert kinds[-1] == b"XMP "
    assert read_image_metadata(data).xmp == (PACKET,)


def test_tiny_tiff_xmp_value_inline_in_the_entry() -> None:
    """A TIFF value of 4 bytes or fewer sits in the entry's offset field, and is read there."""
    entry = struct.pack("<HHI", 700, 1, 3) + b"<x/\x00"  # tag, BYTE, count 3, inline value
    data = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + entry + bytes(4)
    meta = read_image_metadata(data)
    assert meta.xmp == (b"<x/",)
    assert meta.need == 0


# --- C2PA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_c2pa_store_is_found_and_reads_with_c2pa(fmt: str) -> None:
    """The store found in a signed image is one whole JUMBF box that c2pa-python reads."""
    data = signed(fmt)
    meta = read_image_metadata(data)
    check(meta, data)
    assert (meta.need, meta.errors) == (0, ())
    store = meta.c2pa
    assert store is not None
    assert store[4:8] == b"jumb"
    assert int.from_bytes(store[:4], "big") == len(store)
    assert store_assertions(store)[TRAINING_MINING] == {"entries": ENTRIES}


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_c2pa_and_xmp_together(fmt: str) -> None:
    """A signed image with XMP gives both the packet and the store."""
    data = c2pa_signed(fmt, ENTRIES, xmp=PACKET)
    meta = read_image_metadata(data)
    assert meta.c2pa is not None
    assert [read_xmp(p).values((XMP_TDM_SLASH,), "reservation") for p in meta.xmp] == [("1",)]


def test_jpeg_manifest_over_64_kib_is_reassembled() -> None:
    """A store spread over several APP11 segments is put back together, and c2pa reads it."""
    data = signed("jpeg", 100_000)
    app11 = [length for _, marker, length in jpeg_segments(data) if marker == 0xEB]
    assert len(app11) >= 2
    meta = read_image_metadata(data)
    check(meta, data)
    store = meta.c2pa
    assert store is not None
    assert len(store) > 0xFFFF
    assert int.from_bytes(store[:4], "big") == len(store)
    assertions = store_assertions(store)
    assert assertions[TRAINING_MINING] == {"entries": ENTRIES}
    assert assertions["org.example.filler"] == {"filler": "x" * 100_000}


def test_jumbf_box_that_is_not_c2pa_is_ignored() -> None:
    """An APP11 JUMBF box whose description is not the C2PA UUID is not taken for the store."""
    box = b"\x00\x00\x00\x30jumb\x00\x00\x00\x28jumd" + b"json" + bytes(28)
    segment = b"JP" + struct.pack(">HI", 1, 1) + box
    data = jpeg(None)
    marked = data[:2] + b"\xff\xeb" + (len(segment) + 2).to_bytes(2, "big") + segment + data[2:]
    meta = read_image_metadata(marked)
    assert meta.c2pa is None
    assert meta.errors == ()


# --- need: how many bytes the walk wants ------------------------------------------------------


def step_prefixes(data: bytes, found: Callable[[ImageMetadata], bool], step: int = 1) -> int:
    """Walk every *step*-th prefix of *data*: need 0 with the metadata *found*, or need > prefix.

    Returns the first prefix length with need 0.
    """
    first = None
    for n in [*range(0, len(data), step), len(data)]:
        meta = read_image_metadata(data[:n])
        check(meta, data[:n])  # need == 0 or need > n
        if meta.need == 0:
            assert found(meta), n
            first = n if first is None else first
    assert first is not None
    return first


def has_packet(meta: ImageMetadata) -> bool:
    return meta.xmp == (PACKET,) and meta.errors == ()


def has_store(meta: ImageMetadata) -> bool:
    return meta.c2pa is not None and int.from_bytes(meta.c2pa[:4], "big") == len(meta.c2pa)


def test_jpeg_need_for_every_prefix() -> None:
    """Every JPEG prefix either holds the packet (need 0) or asks for more than it has."""
    data = jpeg(PACKET)
    sos = sos_offset(data)
    assert step_prefixes(data, has_packet) <= sos + 4  # the SOS marker and its length field


def test_png_need_for_every_prefix() -> None:
    """Every PNG prefix either holds the packet (need 0) or asks for more than it has."""
    for data in (png(PACKET), png(PACKET, compressed=True)):
        idat = data.index(b"IDAT") - 4
        assert step_prefixes(data, has_packet) <= idat + 8  # the first IDAT's length and type


def test_need_never_goes_backwards() -> None:
    """Feeding a JPEG exactly the sizes the walker asks for reaches the packet before the image."""
    data = jpeg(PACKET)
    have = 0
    while (need := read_image_metadata(data[:have]).need) != 0:
        assert need > have
        have = need
    assert read_image_metadata(data[:have]).xmp == (PACKET,)
    assert have <= sos_offset(data) + 4


def test_need_over_a_multi_segment_c2pa_store() -> None:
    """A large manifest keeps asking until its last APP11 segment is in, then reads whole."""
    data = signed("jpeg", 100_000)
    last = max(off + 2 + length for off, marker, length in jpeg_segments(data) if marker == 0xEB)
    assert read_image_metadata(data[: last - 1]).need == last
    sos = sos_offset(data)
    assert has_store(read_image_metadata(data[: sos + 4]))
    assert step_prefixes(data, has_store, 997) < sos + 4 + 997


def test_jpeg_walk_stops_at_sos() -> None:
    """Nothing past SOS is read: the bytes after it are never asked for."""
    data = jpeg(PACKET)
    sos = sos_offset(data)
    meta = read_image_metadata(data[: sos + 4] + b"\xff\xe1\xff\xff")
    assert (meta.need, meta.xmp) == (0, (PACKET,))


# --- corrupt input ----------------------------------------------------------------------------


def _noise(prefix: bytes, seed: int, size: int = 4096) -> bytes:
    return prefix + random.Random(seed).randbytes(size)


def _jpeg_with_length(length: int) -> bytes:
    data = jpeg(PACKET)
    return data[:2] + b"\xff\xfe" + length.to_bytes(2, "big") + data[2:]


def _png_empty_chunks(count: int) -> bytes:
    data = png(PACKET)
    return data[:33] + png_chunk(b"tEXt", b"") * count + data[33:]


def _webp_empty_chunks(count: int) -> bytes:
    body = b"VP8X" + (10).to_bytes(4, "little") + bytes(10) + b"JUNK\x00\x00\x00\x00" * count
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def _tiff_pointing(order: bytes, ifd: int) -> bytes:
    fmt = "<I" if order == b"II" else ">I"
    return order + (b"*\x00" if order == b"II" else b"\x00*") + struct.pack(fmt, ifd) + bytes(64)


def _tiff_tag_far(tag: int) -> bytes:
    entry = struct.pack("<HHII", tag, 7, 0xFFFFFFFF, 0xFFFFFFF0)
    return b"II*\x00" + struct.pack("<IH", 8, 1) + entry + bytes(4)


def _png_itxt(text: bytes, compressed: bool) -> bytes:
    data = png(None)
    chunk = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00" + bytes([int(compressed), 0, 0, 0]) + text)
    return data[:33] + chunk + data[33:]


CORRUPT = [
    *[(f"jpeg-noise-{s}", _noise(b"\xff\xd8", s), None) for s in range(4)],
    *[(f"jpeg-marker-noise-{s}", _noise(b"\xff\xd8\xff\xe1", s), None) for s in range(4)],
    *[(f"png-noise-{s}", _noise(PNG_SIGNATURE, s), None) for s in range(4)],
    *[(f"tiff-noise-{s}", _noise(b"II*\x00", s), None) for s in range(4)],
    *[(f"tiff-be-noise-{s}", _noise(b"MM\x00*", s), None) for s in range(4)],
    *[(f"webp-noise-{s}", _noise(SIGNATURES["webp"], s), None) for s in range(4)],
    ("jpeg-length-0", _jpeg_with_length(0), "image.jpeg_invalid: no marker at byte 4"),
    ("jpeg-length-1", _jpeg_with_length(1), "image.jpeg_invalid: no marker at byte 5"),
    ("jpeg-no-marker", b"\xff\xd8\x00\x00\x00\x00", "image.jpeg_invalid: no marker at byte 2"),
    ("jpeg-empty-segments", b"\xff\xd8" + b"\xff\xfe\x00\x02" * (MAX_SEGMENTS + 5),
     f"image.jpeg_invalid: over {MAX_SEGMENTS} segments"),
    ("jpeg-fill-bytes", b"\xff\xd8" + b"\xff" * 100_000 + b"\xd9", None),
    ("jpeg-restart-markers", b"\xff\xd8" + b"\xff\xd0" * (MAX_SEGMENTS + 5),
     f"image.jpeg_invalid: over {MAX_SEGMENTS} segments"),
    ("png-empty-chunks", _png_empty_chunks(MAX_SEGMENTS + 5),
     f"image.png_invalid: over {MAX_SEGMENTS} chunks"),
    ("webp-empty-chunks", _webp_empty_chunks(MAX_SEGMENTS + 5),
     f"image.webp_invalid: over {MAX_SEGMENTS} chunks"),
    ("png-corrupt-zlib", _png_itxt(b"\x78\x9cnot zlib at all", True),
     "image.png_invalid: corrupt compressed XMP"),
    ("png-zlib-bomb", _png_itxt(zlib.compress(b" " * (MAX_INFLATED + 1), 9), True),
     f"image.xmp_too_large: over {MAX_INFLATED} bytes inflated"),
    ("png-itxt-short", png(None)[:33] + png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01"), None),
    ("tiff-ifd-past-4gb-le", _tiff_pointing(b"II", 0xFFFFFFFF), None),
    ("tiff-ifd-past-4gb-be", _tiff_pointing(b"MM", 0xFFFFFFFE), None),
    ("tiff-ifd-in-header", _tiff_pointing(b"II", 0), None),
    ("tiff-xmp-past-4gb", _tiff_tag_far(700), None),
    ("tiff-c2pa-past-4gb", _tiff_tag_far(0xCD41), None),
    ("tiff-header-only", b"II*\x00", None),
]  # fmt: skip


@pytest.mark.parametrize(("data", "error"), [pytest.param(*v[1:], id=v[0]) for v in CORRUPT])
def test_corrupt_input_never_raises(data: bytes, error: str | None) -> None:
    """Structures that do not add up give ``image.*`` errors or a need, never an exception."""
    meta = read_image_metadata(data)
    check(meta, data)
    if error is not None:
        assert error in meta.errors
    assert meta.xmp == () or all(isinstance(p, bytes) for p in meta.xmp)


def test_tiff_offsets_past_4_gb_ask_for_what_they_point_at() -> None:
    """An IFD or a value at the end of the 32-bit range is asked for, not read or raised on."""
    assert read_image_metadata(_tiff_pointing(b"II", 0xFFFFFFFF)).need == 0xFFFFFFFF + 2
    assert read_image_metadata(_tiff_tag_far(700)).need == 0xFFFFFFF0 + 0xFFFFFFFF


def test_thousands_of_empty_segments_under_the_limit_still_reach_the_packet() -> None:
    """Many empty segments are walked through while they stay under MAX_SEGMENTS."""
    data = jpeg(PACKET)
    padded = data[:2] + b"\xff\xfe\x00\x02" * (MAX_SEGMENTS - 10) + data[2:]
    meta = read_image_metadata(padded)
    assert meta.xmp == (PACKET,)
    assert meta.errors == ()


def test_segment_length_below_two_is_an_error_once_enough_bytes_are_in() -> None:
    """A JPEG length field of 0 or 1 (less than itself) never makes the walk loop or raise."""
    for length in (0, 1):
        meta = read_image_metadata(_jpeg_with_length(length))
        assert meta.xmp == ()
        assert meta.need == 0
        assert meta.errors[0].startswith("image.jpeg_invalid: no marker at byte")


@given(st.sampled_from(sorted(SIGNATURES.values())), st.binary(max_size=4096))
def test_never_raises_on_any_bytes_after_a_signature(signature: bytes, rest: bytes) -> None:
    """Any bytes after a JPEG, PNG, WebP or TIFF signature give a result, never an exception."""
    data = signature + rest
    check(read_image_metadata(data), data)


@given(
    st.sampled_from(sorted(BUILDERS)),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_never_raises_on_a_damaged_real_file(name: str, edits: list[tuple[int, int]]) -> None:
    """A real file with a few bytes overwritten (lengths, offsets, markers) never raises."""
    data = bytearray(BUILDERS[name](PACKET))
    for at, value in edits:
        data[at % len(data)] = value
    check(read_image_metadata(bytes(data)), bytes(data))
