"""XMP metadata streams of a PDF, found by a bounded lexical scan (standards.md §1.6)."""

from __future__ import annotations

import functools
import io
import time
import zlib

import pikepdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.pdf import MAX_DICT_BYTES, MAX_STREAMS, PdfMetadata, is_pdf
from scrapy_optout._core.pdf import read_pdf_metadata as read
from scrapy_optout._core.xmp import MAX_PACKET_BYTES
from tests.embedded_files import pdf, xmp_packet

PACKET = xmp_packet(tdm_reservation="1", tdm_policy="https://example.org/policy.json")
BUILDS = {
    "plain": {},
    "flate": {"compress": True},
    "object-streams": {"object_streams": True},
    "flate-object-streams": {"compress": True, "object_streams": True},
}
TRUNCATED = "pdf.truncated: metadata object {} has no end in view"


@functools.lru_cache(maxsize=8)
def built(name: str) -> bytes:
    """The BUILDS PDF *name* carrying PACKET."""
    return pdf(PACKET, **BUILDS[name])


def catalog_metadata(data: bytes) -> int:
    """The object number of the catalog's /Metadata, as qpdf reads the file."""
    with pikepdf.open(io.BytesIO(data)) as document:
        return int(document.Root.Metadata.objgen[0])


def metadata_object(number: int, dictionary: bytes, data: bytes) -> bytes:
    """One indirect metadata stream object, written by hand."""
    return b"%d 0 obj\n<< /Type /Metadata /Subtype /XML %s >>\nstream\n%s\nendstream\nendobj\n" % (
        number,
        dictionary,
        data,
    )


def check(meta: PdfMetadata) -> None:
    """The invariants every scan keeps, whatever the input."""
    assert isinstance(meta, PdfMetadata)
    assert len(meta.packets) <= MAX_STREAMS
    assert all(isinstance(n, int) and isinstance(p, bytes) for n, p in meta.packets)
    assert all(len(p) <= MAX_PACKET_BYTES for _, p in meta.packets)
    assert all(e.startswith("pdf.") for e in meta.errors)
    assert len(meta.errors) <= MAX_STREAMS + 2


# --- the catalog's XMP ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BUILDS))
def test_catalog_xmp_is_found_and_decoded(name: str) -> None:
    """Plain, FlateDecode and object-stream PDFs give the packet exactly, under its number."""
    data = built(name)
    meta = read(data)
    assert meta.errors == ()
    assert meta.packets == ((catalog_metadata(data), PACKET),)


def test_object_number_is_the_metadata_objects() -> None:
    """The number reported is the metadata stream's own, not the catalog's (object 1)."""
    assert read(built("plain")).packets[0][0] == 2
    assert read(built("object-streams")).packets[0][0] == 5


def test_compressed_build_really_is_deflated() -> None:
    """The compressed build holds no plain packet, only its FlateDecode form."""
    data = built("flate")
    assert b"tdm:reservation" not in data
    assert b"/Filter /FlateDecode" in data


def test_pdf_without_metadata_gives_nothing() -> None:
    """A PDF without XMP (page content streams only) gives no packet and no error."""
    assert read(pdf(pages=3)) == PdfMetadata()


def test_every_metadata_stream_counts_in_file_order() -> None:
    """Metadata streams of pages or images count too, in file order."""
    data = b"%PDF-1.4\n" + metadata_object(7, b"/Length 3", b"one")
    data += b"8 0 obj\n<< /Length 4 >>\nstream\nnope\nendstream\nendobj\n"
    data += metadata_object(9, b"/Length 3", b"two")
    assert read(data).packets == ((7, b"one"), (9, b"two"))


@pytest.mark.parametrize(
    "dictionary",
    [
        pytest.param(b"<< /Type /Metadata /Length 3 >>", id="no-subtype"),
        pytest.param(b"<< /Subtype /XML /Length 3 >>", id="no-type"),
        pytest.param(b"<< /Type /MetadataX /Subtype /XML /Length 3 >>", id="longer-name"),
    ],
)
def test_other_streams_are_ignored(dictionary: bytes) -> None:
    """Only /Type /Metadata /Subtype /XML streams are read."""
    data = b"%PDF-1.4\n3 0 obj\n" + dictionary + b"\nstream\nabc\nendstream\nendobj\n"
    assert read(data) == PdfMetadata()


def test_dictionary_without_spaces_is_read() -> None:
    """Names written without separating whitespace (/Type/Metadata) are read."""
    data = b"%PDF-1.4\n4 0 obj<</Type/Metadata/Subtype/XML/Length 3>>stream\r\nabc\r\nendstream"
    assert read(data).packets == ((4, b"abc"),)


def test_dictionary_too_far_from_its_object_header_is_not_read() -> None:
    """The dictionary is looked for within MAX_DICT_BYTES before the stream keyword."""
    far = b"/Type /Metadata /Subtype /XML /Length 3 " + b" " * MAX_DICT_BYTES
    data = b"%PDF-1.4\n4 0 obj\n<< " + far + b">>\nstream\nabc\nendstream\n"
    assert read(data) == PdfMetadata()


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        pytest.param(b"/LZWDecode  ", "/LZWDecode", id="lzw"),
        pytest.param(b"/DCTDecode  ", "/DCTDecode", id="dct"),
        pytest.param(b"[/LZWDecode]", "/LZWDecode", id="lzw-array"),
    ],
)
def test_unsupported_filter_is_an_error(replacement: bytes, error: str) -> None:
    """A filter other than FlateDecode gives pdf.filter_unsupported naming it, and no packet."""
    data = built("flate").replace(b"/FlateDecode", replacement)
    assert len(data) == len(built("flate"))
    meta = read(data)
    assert meta.packets == ()
    assert meta.errors == (f"pdf.filter_unsupported: object 2 uses {error}",)


def test_filter_array_of_flate_is_decoded() -> None:
    """/Filter [/FlateDecode] decodes like the bare name."""
    data = built("flate").replace(b"/Filter /FlateDecode", b"/Filter [/FlateDecode]")
    assert read(data).packets == ((2, PACKET),)


def test_chained_flate_filters_are_decoded() -> None:
    """A stream deflated twice under [/FlateDecode /FlateDecode] is inflated twice."""
    twice = zlib.compress(zlib.compress(b"<x/>"))
    dictionary = b"/Filter [/FlateDecode /FlateDecode] /Length %d" % len(twice)
    assert read(b"%PDF-1.4\n" + metadata_object(3, dictionary, twice)).packets == ((3, b"<x/>"),)


def test_corrupt_flate_data_is_an_error() -> None:
    """Bytes that are not a zlib stream give pdf.invalid_stream."""
    data = b"%PDF-1.4\n" + metadata_object(3, b"/Filter /FlateDecode /Length 8", b"notzlib!")
    assert read(data) == PdfMetadata(
        errors=("pdf.invalid_stream: object 3 is not valid FlateDecode data",)
    )


def test_flate_bomb_is_refused() -> None:
    """A stream inflating past MAX_PACKET_BYTES is refused, not inflated whole."""
    bomb = zlib.compress(b" " * (MAX_PACKET_BYTES + 10), 9)
    dictionary = b"/Filter /FlateDecode /Length %d" % len(bomb)
    meta = read(b"%PDF-1.4\n" + metadata_object(3, dictionary, bomb))
    assert meta.packets == ()
    assert meta.errors == (
        f"pdf.stream_too_large: object 3 inflates past {MAX_PACKET_BYTES} bytes",
    )


# --- lengths and truncation ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["plain", "flate"])
def test_indirect_length_is_delimited_by_endstream(name: str) -> None:
    """/Length 12 0 R (an indirect length) is not taken for 12: the data ends at endstream."""
    data = built(name)
    length = data[data.index(b"/Length ", data.index(b"/Type /Metadata") - 40) :].split(b" ")[1]
    edited = data.replace(b"/Length " + length + b" >>", b"/Length 12 0 R >>")
    assert edited != data
    meta = read(edited)
    assert meta.errors == ()
    assert [(n, p.rstrip(b"\r\n")) for n, p in meta.packets] == [(2, PACKET)]


def test_overlong_direct_length_falls_back_to_endstream() -> None:
    """A /Length running past the end of the data is replaced by the endstream keyword."""
    data = b"%PDF-1.4\n" + metadata_object(3, b"/Length 99999", b"<x/>")
    assert read(data).packets == ((3, b"<x/>\n"),)


@pytest.mark.parametrize("name", ["plain", "flate"])
def test_truncated_pdf_never_crashes(name: str) -> None:
    """Cut anywhere: nothing yet, pdf.truncated inside the stream, or the whole packet."""
    data = built(name)
    stream = data.index(b"stream", data.index(b"/Type /Metadata")) + len(b"stream\n")
    outcomes = set()
    for size in range(len(data)):
        meta = read(data[:size])
        check(meta)
        if meta.packets:
            assert meta.packets == ((2, PACKET),)
            assert meta.errors == ()
            outcomes.add("packet")
        elif meta.errors:
            assert meta.errors == (TRUNCATED.format(2),)
            assert stream <= size
            outcomes.add("truncated")
        else:
            assert size < stream
            outcomes.add("before")
    assert outcomes == {"before", "truncated", "packet"}


def test_cut_inside_the_metadata_stream_is_truncated() -> None:
    """The truncated vector: cut in the middle of the packet, pdf.truncated and no packet."""
    data = built("plain")
    cut = data.index(b"tdm:reservation")
    assert read(data[:cut]) == PdfMetadata(errors=(TRUNCATED.format(2),))


def test_encrypted_pdf_without_readable_metadata_says_so() -> None:
    """A trailer naming /Encrypt and no packet found: pdf.encrypted is recorded."""
    data = pdf() + b"trailer\n<< /Encrypt 9 0 R >>\n%%EOF\n"
    assert read(data).errors == ("pdf.encrypted: its metadata may be encrypted and was not read",)


# --- is_pdf --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"%PDF-1.7\n", True, id="header"),
        pytest.param(b"\x00junk\r\n" * 60 + b"%PDF-1.4\n", True, id="junk-before"),
        pytest.param(b" " * 1019 + b"%PDF-1.4", True, id="header-ends-at-1024"),
        pytest.param(b" " * 1020 + b"%PDF-1.4", False, id="header-past-1024"),
        pytest.param(b"%PDF", False, id="incomplete"),
        pytest.param(b"<html>%PDF", False, id="html"),
        pytest.param(b"", False, id="empty"),
    ],
)
def test_is_pdf(data: bytes, expected: bool) -> None:
    """The %PDF- header may follow up to 1 KiB of junk (ISO 32000-1 §7.5.2)."""
    assert is_pdf(data) is expected


def test_built_pdfs_are_pdfs() -> None:
    """Every build starts like a PDF."""
    assert all(is_pdf(built(name)) for name in BUILDS)


# --- bounds --------------------------------------------------------------------------------


def test_metadata_streams_are_capped() -> None:
    """A file with more than MAX_STREAMS metadata streams gives the first ones and an error."""
    count = MAX_STREAMS + 50
    data = b"%PDF-1.4\n" + b"".join(
        metadata_object(n, b"/Length 3", b"abc") for n in range(1, count + 1)
    )
    meta = read(data)
    assert [n for n, _ in meta.packets] == list(range(1, MAX_STREAMS + 1))
    assert meta.errors == (f"pdf.too_many_metadata_streams: read the first {MAX_STREAMS}",)


def test_broken_metadata_streams_count_towards_the_cap() -> None:
    """Streams that fail to decode are read at most MAX_STREAMS times, errors capped too."""
    count = MAX_STREAMS * 10
    data = b"%PDF-1.4\n" + b"".join(
        metadata_object(n, b"/Filter /LZWDecode /Length 3", b"abc") for n in range(count)
    )
    meta = read(data)
    check(meta)
    assert meta.packets == ()
    assert len(meta.errors) == MAX_STREAMS + 1
    assert meta.errors[-1] == f"pdf.too_many_metadata_streams: read the first {MAX_STREAMS}"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.4\n" + b">>stream\n" * 200_000, id="stream-keywords"),
        pytest.param(b"%PDF-1.4\n1 0 obj\n" + b">>stream\n" * 200_000, id="one-object"),
        pytest.param(b"%PDF-1.4\n" + (b"1" * 4000 + b">>stream\n") * 250, id="digit-runs"),
        pytest.param(b"%PDF-1.4\n" + b"1 0 obj " * 200_000 + b">>stream\n", id="headers"),
        pytest.param(
            b"%PDF-1.4\n" + b"1 0 obj <</Type/Metadata/Subtype/XML>>stream\n" * 40_000,
            id="endless-metadata",
        ),
    ],
)
def test_hostile_files_are_scanned_in_linear_time(data: bytes) -> None:
    """Files made of stream keywords, object headers or digits are scanned quickly."""
    started = time.perf_counter()
    check(read(data))
    assert time.perf_counter() - started < 1


# --- hostile input never raises ------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        b"1 0 obj",
        b" 12 0 obj\n",
        b"<< /Type /Metadata /Subtype /XML",
        b"/Length 5",
        b"/Length 3 0 R",
        b"/Filter /FlateDecode",
        b"/Filter [/FlateDecode /LZWDecode]",
        b">>",
        b"stream\n",
        b"stream\r\n",
        b"endstream",
        b"endobj",
        b"/Encrypt",
        zlib.compress(b"<x:xmpmeta/>"),
    ]
)


@given(st.binary())
def test_any_bytes_never_raise(data: bytes) -> None:
    """Arbitrary bytes give a well-formed scan."""
    check(read(data))
    assert is_pdf(data) in (True, False)


@given(st.lists(TOKENS | st.binary(max_size=20), max_size=40))
def test_any_token_soup_never_raises(parts: list[bytes]) -> None:
    """Any sequence of PDF-ish tokens and bytes gives a well-formed scan."""
    check(read(b"%PDF-1.4\n" + b"".join(parts)))
