"""The file builders make what they claim, read back with the real libraries."""

from __future__ import annotations

import io
import zipfile
import zlib

import c2pa
import pikepdf
import pytest
from lxml import etree
from PIL import Image, TiffImagePlugin, TiffTags

from tests.embedded_c2pa import FORMATS, TRAINING_MINING, c2pa_signed
from tests.embedded_files import (
    EPUB_MIMETYPE,
    PLUS_NS,
    PLUS_VOCAB,
    PNG_XMP_KEYWORD,
    RDF_NS,
    XMP_APP1_PREFIX,
    XMP_TDM_HASH,
    XMP_TDM_SLASH,
    epub,
    jpeg,
    pdf,
    png,
    png_chunks,
    riff_chunks,
    tiff,
    webp,
    xmp_packet,
)

PROHIBITED = "DMI-PROHIBITED-AIMLTRAINING"
POLICY = "https://example.com/tdm-policy.json"
OPF_NS = "http://www.idpf.org/2007/opf"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
ENTRIES: dict[str, object] = {
    "cawg.ai_generative_training": {"use": "notAllowed"},
    "cawg.data_mining": {"use": "constrained", "constraint_info": "see https://example.com/tdm"},
}
PACKET = xmp_packet(data_mining=PROHIBITED, tdm_reservation="1", tdm_policy=POLICY)


def _description(packet: bytes) -> etree._Element:
    """The rdf:Description of an XMP packet, parsed from <x:xmpmeta to </x:xmpmeta>."""
    start = packet.index(b"<x:xmpmeta")
    end = packet.index(b"</x:xmpmeta>") + len(b"</x:xmpmeta>")
    description = etree.fromstring(packet[start:end]).find(
        f"{{{RDF_NS}}}RDF/{{{RDF_NS}}}Description"
    )
    assert description is not None
    return description


def _property(description: etree._Element, namespace: str, name: str) -> str | None:
    """A simple XMP property as an attribute, element text or rdf:resource, or None."""
    qualified = f"{{{namespace}}}{name}"
    if qualified in description.attrib:
        return description.get(qualified)
    element = description.find(qualified)
    if element is None:
        return None
    return element.get(f"{{{RDF_NS}}}resource", element.text)


def _jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) of every JPEG segment up to and including SOS (payload empty)."""
    segments: list[tuple[int, bytes]] = []
    offset = 2
    while data[offset + 1] != 0xDA:
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        segments.append((data[offset + 1], data[offset + 4 : offset + 2 + length]))
        offset += 2 + length
    segments.append((0xDA, b""))
    return segments


def test_xmp_packet_wrapper() -> None:
    """The packet has the xpacket header with a UTF-8 BOM, padding and a writable trailer."""
    packet = xmp_packet(padding=300)
    assert packet.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'.encode())
    assert packet.endswith(b'<?xpacket end="w"?>')
    assert b" " * 300 in packet
    assert _property(_description(packet), PLUS_NS, "DataMining") is None


@pytest.mark.parametrize("form", ["element", "attribute"])
@pytest.mark.parametrize("tdm_ns", [XMP_TDM_SLASH, XMP_TDM_HASH])
def test_xmp_packet_properties(form: str, tdm_ns: str) -> None:
    """Both forms: lxml finds plus:DataMining and the TDMRep properties by namespace."""
    packet = xmp_packet(
        data_mining=PROHIBITED, tdm_reservation="1", tdm_policy=POLICY, tdm_ns=tdm_ns, form=form
    )
    description = _description(packet)
    assert _property(description, PLUS_NS, "DataMining") == PLUS_VOCAB + PROHIBITED
    assert _property(description, tdm_ns, "reservation") == "1"
    assert _property(description, tdm_ns, "policy") == POLICY
    in_attribute = f"{{{PLUS_NS}}}DataMining" in description.attrib
    assert in_attribute is (form == "attribute")


def test_xmp_packet_resource_and_constraints() -> None:
    """rdf:resource holds a full URI unchanged; OtherConstraints is an x-default rdf:Alt."""
    uri = PLUS_VOCAB + "DMI-ALLOWED"
    packet = xmp_packet(data_mining=uri, data_mining_resource=True, other_constraints="Ask <us>")
    description = _description(packet)
    element = description.find(f"{{{PLUS_NS}}}DataMining")
    assert element is not None
    assert element.get(f"{{{RDF_NS}}}resource") == uri
    assert element.text is None
    items = description.findall(f"{{{PLUS_NS}}}OtherConstraints/{{{RDF_NS}}}Alt/{{{RDF_NS}}}li")
    assert [item.text for item in items] == ["Ask <us>"]
    assert items[0].get("{http://www.w3.org/XML/1998/namespace}lang") == "x-default"
    title = description.find("{http://purl.org/dc/elements/1.1/}title")
    assert title is not None


def test_xmp_packet_bad_form() -> None:
    """Unknown forms and rdf:resource in attribute form are refused."""
    with pytest.raises(ValueError, match="form must be"):
        xmp_packet(form="json")
    with pytest.raises(ValueError, match="data_mining_resource"):
        xmp_packet(data_mining=PROHIBITED, form="attribute", data_mining_resource=True)


def test_jpeg_xmp_segment() -> None:
    """The XMP APP1 follows the JFIF APP0 and comes before SOS; Pillow reads it."""
    data = jpeg(PACKET)
    segments = _jpeg_segments(data)
    assert segments[0][0] == 0xE0
    assert segments[1] == (0xE1, XMP_APP1_PREFIX + PACKET)
    assert segments[-1][0] == 0xDA
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert image.info["xmp"] == PACKET


def test_jpeg_plain_and_noise() -> None:
    """Without XMP there is no APP1; noise makes a far larger file; oversize XMP is refused."""
    plain = jpeg(size=(128, 128))
    assert 0xE1 not in [marker for marker, _ in _jpeg_segments(plain)]
    assert Image.open(io.BytesIO(plain)).size == (128, 128)
    assert len(jpeg(size=(128, 128), noise=True)) > 4 * len(plain)
    with pytest.raises(ValueError, match="does not fit"):
        jpeg(xmp_packet(padding=70_000))


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("after_idat", [False, True])
def test_png_itxt(compressed: bool, after_idat: bool) -> None:
    """The iTXt XMP chunk sits before the first IDAT or after the last one; Pillow reads it."""
    data = png(PACKET, compressed=compressed, after_idat=after_idat)
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    position = kinds.index(b"iTXt")
    if after_idat:
        assert kinds[position - 1 :] == [b"IDAT", b"iTXt", b"IEND"]
    else:
        assert kinds[position + 1] == b"IDAT"
    keyword, rest = chunks[position][1].split(b"\x00", 1)
    assert keyword == PNG_XMP_KEYWORD
    assert rest[:4] == bytes([int(compressed), 0, 0, 0])
    text = zlib.decompress(rest[4:]) if compressed else rest[4:]
    assert text == PACKET
    assert (PACKET in data) is not compressed
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.info["xmp"] == PACKET


def test_png_plain() -> None:
    """Without XMP the PNG is Pillow's own, with no iTXt chunk."""
    data = png()
    assert b"iTXt" not in [kind for kind, _ in png_chunks(data)]
    assert Image.open(io.BytesIO(data)).format == "PNG"


@pytest.mark.parametrize("xmp", [None, PACKET])
def test_webp_layout(xmp: bytes | None) -> None:
    """An extended WebP: VP8X first, the XMP flag and chunk only with XMP, a right RIFF size."""
    data = webp(xmp)
    chunks = riff_chunks(data)
    assert int.from_bytes(data[4:8], "little") == len(data) - 8
    assert chunks[0][0] == b"VP8X"
    assert chunks[1][0] in (b"VP8 ", b"VP8L")
    assert bool(chunks[0][1][0] & 0x04) is (xmp is not None)
    expected = [b"VP8X", chunks[1][0]] + ([b"XMP "] if xmp else [])
    assert [kind for kind, _ in chunks] == expected
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.size == (32, 32)
    assert image.info.get("xmp") == xmp


def test_tiff_tag_700() -> None:
    """A little-endian TIFF whose tag 700 (type BYTE) is the packet."""
    data = tiff(PACKET)
    assert data.startswith(b"II*\x00")
    assert PACKET in data
    image = Image.open(io.BytesIO(data))
    image.load()
    assert isinstance(image, TiffImagePlugin.TiffImageFile)
    assert image.tag_v2[700] == PACKET
    assert image.tag_v2.tagtype[700] == TiffTags.BYTE
    assert image.info["xmp"] == PACKET
    plain = Image.open(io.BytesIO(tiff()))
    assert isinstance(plain, TiffImagePlugin.TiffImageFile)
    assert 700 not in plain.tag_v2


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_c2pa_signed_valid(fmt: str) -> None:
    """c2pa reads a valid manifest with the training-mining entries; Pillow opens the image."""
    data = c2pa_signed(fmt, ENTRIES, xmp=PACKET)
    mime = FORMATS[fmt][0]
    reader = c2pa.Reader(mime, io.BytesIO(data))
    assert reader.get_validation_state() == "Valid"
    assertions = {
        item["label"]: item["data"] for item in reader.get_active_manifest()["assertions"]
    }
    assert assertions[TRAINING_MINING] == {"entries": ENTRIES}
    assert PACKET in data
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.info["xmp"] == PACKET


def test_c2pa_manifest_places() -> None:
    """The manifest store is an APP11 before SOS, a caBX chunk before IDAT, a trailing C2PA chunk."""
    assert 0xEB in [marker for marker, _ in _jpeg_segments(c2pa_signed("jpeg", ENTRIES))]
    kinds = [kind for kind, _ in png_chunks(c2pa_signed("png", ENTRIES))]
    assert kinds.index(b"caBX") < kinds.index(b"IDAT")
    data = c2pa_signed("webp", ENTRIES)
    assert riff_chunks(data)[-1][0] == b"C2PA"
    assert int.from_bytes(data[4:8], "little") == len(data) - 8


def test_c2pa_label_unwrapped_and_absent() -> None:
    """Another label, unwrapped data, and no entries at all are signed as asked."""
    data = c2pa_signed(
        "jpeg", {"use": "notAllowed"}, label="org.example.rights", wrap_entries=False
    )
    found = c2pa.Reader("image/jpeg", io.BytesIO(data)).get_active_manifest()["assertions"]
    assert {"label": "org.example.rights", "data": {"use": "notAllowed"}} in found
    bare = c2pa.Reader("image/png", io.BytesIO(c2pa_signed("png", None)))
    labels = [item["label"] for item in bare.get_active_manifest()["assertions"]]
    assert TRAINING_MINING not in labels
    with pytest.raises(ValueError, match="fmt must be"):
        c2pa_signed("gif", ENTRIES)


def test_c2pa_filler_spans_app11_segments() -> None:
    """A 100 kB filler assertion spreads the JUMBF store over several APP11 segments."""
    data = c2pa_signed("jpeg", ENTRIES, filler_bytes=100_000)
    app11 = [marker for marker, _ in _jpeg_segments(data) if marker == 0xEB]
    assert len(app11) >= 2
    reader = c2pa.Reader("image/jpeg", io.BytesIO(data))
    assert reader.get_validation_state() == "Valid"


def _opf_metas(archive: zipfile.ZipFile, opf_path: str) -> list[etree._Element]:
    """The <meta> elements of the OPF named by container.xml (which must be opf_path)."""
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    rootfile = container.find(f"{{{CONTAINER_NS}}}rootfiles/{{{CONTAINER_NS}}}rootfile")
    assert rootfile is not None
    assert rootfile.get("full-path") == opf_path
    assert rootfile.get("media-type") == "application/oebps-package+xml"
    package = etree.fromstring(archive.read(opf_path))
    return package.findall(f"{{{OPF_NS}}}metadata/{{{OPF_NS}}}meta")


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize(("streamed", "opf_first"), [(False, False), (True, False), (False, True)])
def test_epub_layout(version: int, streamed: bool, opf_first: bool) -> None:
    """The mimetype entry is first and stored, then container and OPF in the asked order, all else deflated."""
    data = epub(version, reservation="1", policy=POLICY, streamed=streamed, opf_first=opf_first)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        infos = archive.infolist()
        assert infos[0].filename == "mimetype"
        assert infos[0].compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == EPUB_MIMETYPE
        names = [info.filename for info in infos[1:3]]
        expected = ["META-INF/container.xml", "OEBPS/content.opf"]
        assert names == (expected[::-1] if opf_first else expected)
        assert {info.compress_type for info in infos[1:]} == {zipfile.ZIP_DEFLATED}
        assert infos[3].filename == "OEBPS/chapter.xhtml"
        opf = archive.getinfo("OEBPS/content.opf")
        metas = _opf_metas(archive, "OEBPS/content.opf")
    local = data[opf.header_offset : opf.header_offset + 30]
    assert local[:4] == b"PK\x03\x04"
    assert bool(int.from_bytes(local[6:8], "little") & 0x08) is streamed
    assert (local[18:26] == bytes(8)) is streamed
    if version == 2:
        pairs = [(meta.get("name"), meta.get("content")) for meta in metas]
        assert pairs == [("tdm:reservation", "1"), ("tdm:policy", POLICY)]
    else:
        pairs = [(meta.get("property"), meta.text) for meta in metas]
        assert ("tdm:reservation", "1") in pairs
        assert ("tdm:policy", POLICY) in pairs
        assert ("dcterms:modified", "2026-01-01T00:00:00Z") in pairs


def test_epub3_prefix_options() -> None:
    """EPUB 3 declares the asked prefix for the asked IRI, or none at all."""
    data = epub(3, reservation="0", prefix="tr", iri=XMP_TDM_SLASH, opf_path="book/package.opf")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        package = etree.fromstring(archive.read("book/package.opf"))
        metas = _opf_metas(archive, "book/package.opf")
        assert "book/chapter.xhtml" in archive.namelist()
    assert package.get("version") == "3.0"
    assert package.get("prefix") == f"tr: {XMP_TDM_SLASH}"
    assert ("tr:reservation", "0") in [(meta.get("property"), meta.text) for meta in metas]
    with zipfile.ZipFile(io.BytesIO(epub(3, reservation="1", declare_prefix=False))) as archive:
        assert etree.fromstring(archive.read("OEBPS/content.opf")).get("prefix") is None
    with pytest.raises(ValueError, match="version must be"):
        epub(4)


def test_epub2_without_metadata() -> None:
    """An EPUB 2 without reservation or policy has no <meta> and a version 2.0 package."""
    with zipfile.ZipFile(io.BytesIO(epub(2))) as archive:
        package = etree.fromstring(archive.read("OEBPS/content.opf"))
        assert _opf_metas(archive, "OEBPS/content.opf") == []
    assert package.get("version") == "2.0"


@pytest.mark.parametrize("object_streams", [False, True])
def test_pdf_plain_metadata(object_streams: bool) -> None:
    """The catalog's /Metadata is exactly the packet, stored as-is; object streams when asked."""
    data = pdf(PACKET, object_streams=object_streams, pages=3)
    assert PACKET in data
    assert (b"/ObjStm" in data) is object_streams
    with pikepdf.open(io.BytesIO(data)) as document:
        metadata = document.Root.Metadata
        assert len(document.pages) == 3
        assert metadata.read_bytes() == PACKET
        assert metadata.Type == pikepdf.Name.Metadata
        assert metadata.Subtype == pikepdf.Name.XML
        assert "/Filter" not in metadata


@pytest.mark.parametrize("object_streams", [False, True])
def test_pdf_compressed_metadata(object_streams: bool) -> None:
    """A FlateDecode /Metadata stream: the packet text is nowhere in the raw file."""
    data = pdf(PACKET, compress=True, object_streams=object_streams)
    assert b"xmpmeta" not in data
    assert (b"/ObjStm" in data) is object_streams
    with pikepdf.open(io.BytesIO(data)) as document:
        metadata = document.Root.Metadata
        assert metadata.Filter == pikepdf.Name.FlateDecode
        assert metadata.read_raw_bytes() == zlib.compress(PACKET)
        assert metadata.read_bytes() == PACKET


def test_pdf_without_metadata() -> None:
    """Without xmp the catalog has no /Metadata."""
    with pikepdf.open(io.BytesIO(pdf())) as document:
        assert "/Metadata" not in document.Root
        assert len(document.pages) == 1
