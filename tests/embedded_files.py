"""Builders of real files, in memory, carrying opt-out metadata: XMP, images, EPUB and PDF."""

from __future__ import annotations

import io
import posixpath
import random
import zipfile
import zlib
from xml.sax.saxutils import escape, quoteattr

import pikepdf
from PIL import Image, TiffImagePlugin, TiffTags

XMP_TDM_SLASH = "http://www.w3.org/ns/tdmrep/"
XMP_TDM_HASH = "http://www.w3.org/ns/tdmrep#"
PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"
PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC_NS = "http://purl.org/dc/elements/1.1/"
XMP_APP1_PREFIX = b"http://ns.adobe.com/xap/1.0/\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
EPUB_MIMETYPE = b"application/epub+zip"
BOOK_ID = "urn:uuid:6f1c2d3e-0000-4000-8000-000000000001"
_ZIP_DATE = (2026, 1, 1, 0, 0, 0)
_WEBP_IMAGE_CHUNKS = (b"ALPH", b"VP8 ", b"VP8L")


def _alt(name: str, text: str) -> str:
    """An XMP language alternative property with one x-default item."""
    item = f'<rdf:li xml:lang="x-default">{escape(text)}</rdf:li>'
    return f"   <{name}>\n    <rdf:Alt>\n     {item}\n    </rdf:Alt>\n   </{name}>"


def xmp_packet(
    *,
    data_mining: str | None = None,
    other_constraints: str | None = None,
    tdm_reservation: str | None = None,
    tdm_policy: str | None = None,
    tdm_ns: str = XMP_TDM_SLASH,
    form: str = "element",
    data_mining_resource: bool = False,
    padding: int = 200,
) -> bytes:
    """A complete UTF-8 XMP packet with PLUS data mining and TDMRep properties."""
    if form not in ("element", "attribute"):
        raise ValueError(f"form must be 'element' or 'attribute', not {form!r}")
    if data_mining_resource and form != "element":
        raise ValueError("data_mining_resource needs form='element'")
    simple: list[tuple[str, str]] = []
    if data_mining is not None:
        uri = data_mining if data_mining.startswith("http") else PLUS_VOCAB + data_mining
        simple.append(("plus:DataMining", uri))
    if tdm_reservation is not None:
        simple.append(("tdm:reservation", tdm_reservation))
    if tdm_policy is not None:
        simple.append(("tdm:policy", tdm_policy))
    attributes = ['rdf:about=""', f'xmlns:dc="{DC_NS}"', f'xmlns:plus="{PLUS_NS}"']
    attributes.append(f"xmlns:tdm={quoteattr(tdm_ns)}")
    children = [_alt("dc:title", "Test image")]
    for name, value in simple:
        if form == "attribute":
            attributes.append(f"{name}={quoteattr(value)}")
        elif name == "plus:DataMining" and data_mining_resource:
            children.append(f"   <{name} rdf:resource={quoteattr(value)}/>")
        else:
            children.append(f"   <{name}>{escape(value)}</{name}>")
    if other_constraints is not None:
        children.append(_alt("plus:OtherConstraints", other_constraints))
    body = "\n".join(children)
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f' <rdf:RDF xmlns:rdf="{RDF_NS}">\n'
        f"  <rdf:Description {' '.join(attributes)}>\n{body}\n  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        f"{' ' * padding}\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def _picture(size: tuple[int, int], *, noise: bool = False) -> Image.Image:
    """An RGB test picture: one colour, or seeded random pixels when noise is set."""
    if noise:
        pixels = random.Random(0).randbytes(size[0] * size[1] * 3)
        return Image.frombytes("RGB", size, pixels)
    return Image.new("RGB", size, (200, 120, 40))


def _saved(image: Image.Image, fmt: str, **params: object) -> bytes:
    """The bytes of image saved by Pillow in fmt."""
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(
    xmp: bytes | None = None, *, size: tuple[int, int] = (64, 64), noise: bool = False
) -> bytes:
    """A baseline JPEG with the XMP packet in an APP1 segment right after the JFIF APP0."""
    data = _saved(_picture(size, noise=noise), "JPEG", quality=85)
    if xmp is None:
        return data
    if data[2:4] != b"\xff\xe0":
        raise AssertionError("Pillow did not start the JPEG with a JFIF APP0 segment")
    payload = XMP_APP1_PREFIX + xmp
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"an XMP packet of {len(xmp)} bytes does not fit in one APP1 segment")
    after_app0 = 4 + int.from_bytes(data[4:6], "big")
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:after_app0] + segment + data[after_app0:]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC-32 of type and data."""
    crc = zlib.crc32(kind + data).to_bytes(4, "big")
    return len(data).to_bytes(4, "big") + kind + data + crc


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) of every chunk of a PNG file, in file order."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    chunks: list[tuple[bytes, bytes]] = []
    offset = len(PNG_SIGNATURE)
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        chunks.append((data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def png(xmp: bytes | None = None, *, compressed: bool = False, after_idat: bool = False) -> bytes:
    """A PNG with the XMP packet in an iTXt chunk before the first IDAT (or before IEND)."""
    data = _saved(_picture((32, 32)), "PNG")
    if xmp is None:
        return data
    text = zlib.compress(xmp) if compressed else xmp
    itxt = png_chunk(b"iTXt", PNG_XMP_KEYWORD + bytes([0, int(compressed), 0, 0, 0]) + text)
    chunks = [png_chunk(kind, body) for kind, body in png_chunks(data)]
    kinds = [kind for kind, _ in png_chunks(data)]
    at = kinds.index(b"IEND") if after_idat else kinds.index(b"IDAT")
    chunks.insert(at, itxt)
    return PNG_SIGNATURE + b"".join(chunks)


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (FourCC, payload) of every chunk of a RIFF WebP file, in file order."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a RIFF WebP file")
    chunks: list[tuple[bytes, bytes]] = []
    offset = 12
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        chunks.append((data[offset : offset + 4], data[offset + 8 : offset + 8 + size]))
        offset += 8 + size + (size & 1)
    return chunks


def _riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    """One RIFF chunk: FourCC, little-endian size, payload and a pad byte when odd."""
    return fourcc + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1)


def webp(xmp: bytes | None = None) -> bytes:
    """An extended-format WebP: VP8X (XMP flag set when xmp is given), the image, then 'XMP '."""
    width, height = 32, 32
    simple = _saved(_picture((width, height)), "WEBP", quality=80)
    image = [_riff_chunk(k, p) for k, p in riff_chunks(simple) if k in _WEBP_IMAGE_CHUNKS]
    flags = 0x04 if xmp is not None else 0
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = _riff_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + canvas) + b"".join(image)
    if xmp is not None:
        body += _riff_chunk(b"XMP ", xmp)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def tiff(xmp: bytes | None = None) -> bytes:
    """A little-endian TIFF with the XMP packet in tag 700 (XMLPacket, type BYTE)."""
    directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if xmp is not None:
        directory[700] = xmp
        directory.tagtype[700] = TiffTags.BYTE
    return _saved(_picture((16, 16)), "TIFF", tiffinfo=directory)


class _WriteOnly:
    """A write-only stream that cannot tell or seek, like a socket."""

    def __init__(self, sink: io.BytesIO) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        """Append data to the sink."""
        return self._sink.write(data)

    def flush(self) -> None:
        """Nothing to flush."""

    def close(self) -> None:
        """Leave the sink open for reading."""


def _opf(version: int, metas: list[str], prefix_attribute: str) -> str:
    """The OPF package document of a one-chapter book."""
    items = '<item id="chapter" href="chapter.xhtml" media-type="application/xhtml+xml"'
    if version == 2:
        items += '/>\n    <item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
    else:
        items += ' properties="nav"/>'
    lines = "\n    ".join(metas)
    spine = ' toc="ncx"' if version == 2 else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0"'
        f' unique-identifier="id"{prefix_attribute}>\n'
        f'  <metadata xmlns:dc="{DC_NS}" xmlns:opf="http://www.idpf.org/2007/opf">\n'
        "    <dc:title>Test book</dc:title>\n"
        f'    <dc:identifier id="id">{BOOK_ID}</dc:identifier>\n'
        "    <dc:language>en</dc:language>\n"
        f"    {lines}\n  </metadata>\n"
        f"  <manifest>\n    {items}\n  </manifest>\n"
        f'  <spine{spine}>\n    <itemref idref="chapter"/>\n  </spine>\n</package>\n'
    )


_CONTAINER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    '  <rootfiles>\n    <rootfile full-path="{path}"'
    ' media-type="application/oebps-package+xml"/>\n  </rootfiles>\n</container>\n'
)
_CHAPTER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">\n'
    "<head><title>Chapter 1</title></head>\n<body>\n"
    '{nav}<h1 id="c1">Chapter 1</h1>\n<p>Text.</p>\n</body>\n</html>\n'
)
_NAV = '<nav epub:type="toc"><ol><li><a href="#c1">Chapter 1</a></li></ol></nav>\n'
_NCX = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">\n'
    f'  <head><meta name="dtb:uid" content="{BOOK_ID}"/></head>\n'
    "  <docTitle><text>Test book</text></docTitle>\n"
    '  <navMap><navPoint id="c1" playOrder="1"><navLabel><text>Chapter 1</text></navLabel>'
    '<content src="chapter.xhtml"/></navPoint></navMap>\n</ncx>\n'
)


def epub(
    version: int,
    *,
    reservation: str | None = None,
    policy: str | None = None,
    prefix: str = "tdm",
    iri: str = "http://www.w3.org/ns/tdmrep#",
    declare_prefix: bool = True,
    streamed: bool = False,
    opf_first: bool = False,
    opf_path: str = "OEBPS/content.opf",
) -> bytes:
    """A valid EPUB 2 or 3 zip with optional TDMRep reservation and policy metadata in the OPF."""
    metas: list[str] = []
    if version == 2:
        if reservation is not None:
            metas.append(f'<meta name="tdm:reservation" content={quoteattr(reservation)}/>')
        if policy is not None:
            metas.append(f'<meta name="tdm:policy" content={quoteattr(policy)}/>')
        prefix_attribute = ""
    elif version == 3:
        metas.append('<meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>')
        if reservation is not None:
            metas.append(f'<meta property="{prefix}:reservation">{escape(reservation)}</meta>')
        if policy is not None:
            metas.append(f'<meta property="{prefix}:policy">{escape(policy)}</meta>')
        prefix_attribute = f' prefix="{prefix}: {iri}"' if declare_prefix else ""
    else:
        raise ValueError(f"EPUB version must be 2 or 3, not {version!r}")
    folder = posixpath.dirname(opf_path)
    entries = [
        ("META-INF/container.xml", _CONTAINER.format(path=opf_path)),
        (opf_path, _opf(version, metas, prefix_attribute)),
    ]
    if opf_first:
        entries.reverse()
    chapter = _CHAPTER.format(nav="" if version == 2 else _NAV)
    entries.append((posixpath.join(folder, "chapter.xhtml"), chapter))
    if version == 2:
        entries.append((posixpath.join(folder, "toc.ncx"), _NCX))
    sink = io.BytesIO()
    with zipfile.ZipFile(_WriteOnly(sink) if streamed else sink, "w") as archive:
        mimetype = zipfile.ZipInfo("mimetype", _ZIP_DATE)
        mimetype.compress_type = zipfile.ZIP_STORED
        archive.writestr(mimetype, EPUB_MIMETYPE)
        for name, text in entries:
            info = zipfile.ZipInfo(name, _ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"))
    return sink.getvalue()


def pdf(
    xmp: bytes | None = None,
    *,
    compress: bool = False,
    object_streams: bool = False,
    pages: int = 1,
) -> bytes:
    """A PDF with blank pages and, given xmp, exactly that packet as the catalog's /Metadata."""
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(200, 200))
    # qpdf always writes the catalog's /Metadata stream uncompressed; a filter name it does not
    # know (same length as /FlateDecode) keeps the deflated bytes as they are, patched after.
    placeholder = b"/FlateDecodX"
    if xmp is not None:
        stream = pikepdf.Stream(document, zlib.compress(xmp) if compress else xmp)
        stream.Type = pikepdf.Name.Metadata
        stream.Subtype = pikepdf.Name.XML
        if compress:
            stream.Filter = pikepdf.Name(placeholder.decode())
        document.Root.Metadata = document.make_indirect(stream)
    out = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    document.save(
        out,
        compress_streams=object_streams,
        object_stream_mode=mode,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        fix_metadata_version=False,
        deterministic_id=True,
    )
    data = out.getvalue()
    if compress and xmp is not None:
        if data.count(placeholder) != 1:
            raise AssertionError("the metadata filter placeholder is not in the file exactly once")
        data = data.replace(placeholder, b"/FlateDecode")
    return data
