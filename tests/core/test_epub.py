"""TDMRep in EPUB packages, read from the front of the zip (standards.md §1.6-1.7)."""

from __future__ import annotations

import functools
import io
import time
import zipfile
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout._core.epub import MAX_INFLATED, EpubMetadata, read_epub
from scrapy_optout._core.tdmrep import UNSET
from tests.embedded_files import EPUB_MIMETYPE, XMP_TDM_HASH, XMP_TDM_SLASH, _WriteOnly, epub

POLICY = "https://example.org/tdm-policy.json"
OTHER_IRI = "http://example.com/not-tdmrep#"
OPF_NS = "http://www.idpf.org/2007/opf"
CONTAINER = (
    '<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
    '<rootfiles><rootfile full-path="{path}" media-type="application/oebps-package+xml"/>'
    "</rootfiles></container>"
)
UNDECLARED = "epub.undeclared_prefix: tdm: used without a prefix binding"
NOT_A_ZIP = "epub.invalid: not a zip"
LAYOUTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "streamed": {"streamed": True},
    "opf-first": {"opf_first": True},
    "opf-path": {"opf_path": "book/content/package.opf"},
    "streamed-opf-first": {"streamed": True, "opf_first": True},
}


def opf(metas: str, *, version: int = 3, prefix: str = "") -> bytes:
    """A minimal OPF package document whose metadata holds *metas*."""
    attribute = f' prefix="{prefix}"' if prefix else ""
    return (
        f'<package xmlns="{OPF_NS}" version="{version}.0"{attribute}>'
        f"<metadata>{metas}</metadata><manifest/><spine/></package>"
    ).encode()


def book(
    entries: list[tuple[str, bytes]],
    *,
    streamed: bool = False,
    method: int = zipfile.ZIP_DEFLATED,
    mimetype: bool = True,
) -> bytes:
    """A zip, written by zipfile, of a mimetype entry (stored) then *entries* (*method*)."""
    sink = io.BytesIO()
    with zipfile.ZipFile(_WriteOnly(sink) if streamed else sink, "w") as archive:
        if mimetype:
            archive.writestr(zipfile.ZipInfo("mimetype"), EPUB_MIMETYPE)
        for name, data in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            archive.writestr(info, data)
    return sink.getvalue()


def package(metas: str, **params: Any) -> bytes:
    """A zip holding container.xml and an OPF at content.opf carrying *metas*."""
    entries = [("META-INF/container.xml", CONTAINER.format(path="content.opf").encode())]
    entries.append(("content.opf", opf(metas, prefix=f"tdm: {XMP_TDM_HASH}")))
    return book(entries, **params)


def check(meta: EpubMetadata) -> None:
    """The invariants every reading keeps, whatever the input."""
    assert isinstance(meta, EpubMetadata)
    assert meta.need >= 0
    assert meta.tdm.reservation in (None, 0, 1)
    assert isinstance(meta.errors, tuple)
    assert all(e.startswith(("epub.", "tdmrep.")) for e in meta.errors)


@functools.lru_cache(maxsize=2)
def bomb(streamed: bool) -> bytes:
    """An EPUB whose OPF entry inflates to 100 MB of spaces (about 100 KB deflated)."""
    sink = io.BytesIO()
    with zipfile.ZipFile(_WriteOnly(sink) if streamed else sink, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), EPUB_MIMETYPE)
        archive.writestr("META-INF/container.xml", CONTAINER.format(path="content.opf"))
        info = zipfile.ZipInfo("content.opf")
        info.compress_type = zipfile.ZIP_DEFLATED
        spaces = b" " * (1 << 20)
        with archive.open(info, "w") as entry:
            for _ in range(100):
                entry.write(spaces)
    return sink.getvalue()


# --- the two package forms (standards.md §1.6) ------------------------------------------------


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("reservation", [1, 0])
def test_reservation_and_policy_are_read(version: int, reservation: int) -> None:
    """EPUB 2 meta name and EPUB 3 meta property give the reservation and policy."""
    meta = read_epub(epub(version, reservation=str(reservation), policy=POLICY), complete=True)
    check(meta)
    assert (meta.tdm.reservation, meta.tdm.policy) == (reservation, POLICY)
    assert meta.errors == ()
    assert meta.need == 0
    form = "EPUB 2 meta name" if version == 2 else "EPUB 3 meta property tdm:policy"
    assert meta.tdm.detail.startswith(f"OPF {form}")


@pytest.mark.parametrize("version", [2, 3])
def test_a_package_without_tdmrep_metadata_is_unset(version: int) -> None:
    """A package that says nothing gives UNSET and no error."""
    meta = read_epub(epub(version), complete=True)
    assert meta.tdm == UNSET
    assert meta.errors == ()


def test_epub2_detail_names_the_values() -> None:
    """The detail says where the values came from and what they were."""
    meta = read_epub(epub(2, reservation="1", policy=POLICY), complete=True)
    assert meta.tdm.detail == f"OPF EPUB 2 meta name: reservation 1, policy {POLICY}"


# --- the EPUB 3 prefix is resolved by IRI -----------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "iri", "reservation"),
    [
        pytest.param("tdm", XMP_TDM_HASH, 1, id="tdm-hash"),
        pytest.param("tdm", XMP_TDM_SLASH, 1, id="tdm-slash"),
        pytest.param("rights", XMP_TDM_HASH, 1, id="other-prefix-hash"),
        pytest.param("rights", XMP_TDM_SLASH, 1, id="other-prefix-slash"),
        pytest.param("tdm", OTHER_IRI, None, id="tdm-bound-elsewhere"),
        pytest.param("rights", OTHER_IRI, None, id="other-prefix-bound-elsewhere"),
    ],
)
def test_prefix_is_resolved_by_iri(prefix: str, iri: str, reservation: int | None) -> None:
    """Any prefix bound to the TDMRep IRI counts; one bound to another IRI does not."""
    meta = read_epub(epub(3, reservation="1", prefix=prefix, iri=iri), complete=True)
    check(meta)
    assert meta.tdm.reservation == reservation
    assert meta.errors == ()


def test_other_prefix_names_itself_in_the_detail() -> None:
    """The detail names the prefix the package used."""
    meta = read_epub(epub(3, reservation="1", prefix="rights"), complete=True)
    assert meta.tdm.detail == "OPF EPUB 3 meta property rights:reservation: reservation 1"


def test_undeclared_tdm_prefix_is_read_with_an_error() -> None:
    """An undeclared tdm: is the spec's own prefix: read, and epub.undeclared_prefix noted."""
    meta = read_epub(epub(3, reservation="1", declare_prefix=False), complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == (UNDECLARED,)


def test_prefix_among_several_declarations_is_found() -> None:
    """The prefix attribute may bind several names; the TDMRep one is found among them."""
    prefix = f"dc: http://purl.org/dc/terms/  rights: {XMP_TDM_SLASH} x: {OTHER_IRI}"
    data = book(
        [
            ("META-INF/container.xml", CONTAINER.format(path="p.opf").encode()),
            ("p.opf", opf('<meta property="rights:reservation">1</meta>', prefix=prefix)),
        ]
    )
    meta = read_epub(data, complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == ()


# --- zip layouts ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("version", [2, 3])
def test_zip_layouts_are_read(layout: str, version: int) -> None:
    """Data descriptors, OPF before container.xml and a non-default OPF path all read."""
    meta = read_epub(epub(version, reservation="1", **LAYOUTS[layout]), complete=True)
    check(meta)
    assert meta.tdm.reservation == 1
    assert meta.errors == ()


def test_streamed_zip_really_uses_data_descriptors() -> None:
    """The streamed builder sets general-purpose bit 3 on the OPF's local header."""
    data = epub(3, reservation="1", streamed=True)
    at = data.index(b"PK\x03\x04", data.index(b"PK\x03\x04", 4) + 4)
    assert int.from_bytes(data[at + 6 : at + 8], "little") & 8


def test_stored_opf_is_read() -> None:
    """An OPF stored without compression is read as it is."""
    data = package('<meta property="tdm:reservation">1</meta>', method=zipfile.ZIP_STORED)
    assert read_epub(data, complete=True).tdm.reservation == 1


def test_stored_opf_with_data_descriptor_is_read() -> None:
    """A stored entry with a data descriptor is delimited by a descriptor that fits."""
    data = package(
        '<meta property="tdm:reservation">1</meta>', method=zipfile.ZIP_STORED, streamed=True
    )
    meta = read_epub(data, complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == ()


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metas",
    [
        pytest.param(
            '<meta name="tdm:reservation" content="1"/><meta name="tdm:reservation" content="0"/>',
            id="epub2",
        ),
        pytest.param(
            '<meta property="tdm:reservation">0</meta><meta property="tdm:reservation">1</meta>',
            id="epub3",
        ),
    ],
)
def test_conflicting_values_reserve_with_an_error(metas: str) -> None:
    """A package saying both 1 and 0 is read as 1, the conflict recorded."""
    meta = read_epub(package(metas), complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == ("tdmrep.meta_conflict",)


@pytest.mark.parametrize("value", ["yes", "2", "", "true"])
def test_invalid_value_is_unset_with_an_error(value: str) -> None:
    """A reservation other than 1/0 is ignored and recorded."""
    meta = read_epub(epub(3, reservation=value, policy=POLICY), complete=True)
    assert meta.tdm.reservation is None
    assert meta.tdm.policy == POLICY
    assert meta.errors == (f"tdmrep.invalid_meta: tdm-reservation {value!r}",)


def test_values_are_trimmed() -> None:
    """Whitespace around a value does not make it invalid."""
    meta = read_epub(package('<meta property="tdm:reservation">\n 1 \n</meta>'), complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == ()


# --- prefixes of the file (complete=False) -------------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("version", [2, 3])
def test_every_prefix_finds_the_values_or_asks_for_more(layout: str, version: int) -> None:
    """For any prefix, either the values are found or need exceeds the prefix's length."""
    data = epub(version, reservation="1", **LAYOUTS[layout])
    short = []
    for size in range(len(data)):
        meta = read_epub(data[:size], complete=False)
        if meta.tdm.reservation != 1 and meta.need <= size:
            short.append((size, meta))
    assert short == []


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_following_need_reaches_the_package(layout: str) -> None:
    """A reader that fetches what need asks for, from nothing, ends with the values."""
    data = epub(3, reservation="1", policy=POLICY, **LAYOUTS[layout])
    size, steps = 0, 0
    meta = read_epub(b"", complete=False)
    while meta.need and steps < 50:
        assert meta.need > size
        size = meta.need
        meta = read_epub(data[:size], complete=size >= len(data))
        steps += 1
    assert (meta.tdm.reservation, meta.tdm.policy) == (1, POLICY)


def test_prefix_ending_at_an_entry_boundary_asks_for_more() -> None:
    """A prefix cut exactly after the mimetype entry is not taken for a zip without a package."""
    data = epub(3, reservation="1")
    boundary = data.index(b"PK\x03\x04", 4)
    for size in range(boundary, boundary + 4):
        meta = read_epub(data[:size], complete=False)
        assert meta.need > size
        assert meta.errors == ()


def test_short_prefix_asks_for_the_signature() -> None:
    """Fewer than 4 bytes: not yet known to be a zip, so the first 4 are asked for."""
    assert read_epub(b"PK", complete=False) == EpubMetadata(need=4)


# --- truncated and broken files (complete=True) --------------------------------------------


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_truncated_file_reports_truncation(layout: str) -> None:
    """A file cut anywhere before its package is read without a crash: epub.truncated."""
    data = epub(2, reservation="1", **LAYOUTS[layout])
    missing = []
    for size in range(4, len(data)):
        meta = read_epub(data[:size], complete=True)
        check(meta)
        assert meta.need == 0
        if meta.tdm.reservation != 1 and not any(
            e.startswith("epub.truncated") for e in meta.errors
        ):
            missing.append((size, meta.errors))
    assert missing == []


def test_truncated_file_at_90_bytes() -> None:
    """The shells' truncated vector: cut inside container.xml, epub.truncated, UNSET."""
    meta = read_epub(epub(2, reservation="1")[:90], complete=True)
    assert meta.tdm == UNSET
    assert meta.errors == ("epub.truncated: the zip ends inside an entry",)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(b"<html><head></head></html>", id="html"),
        pytest.param(b"PK\x05\x06" + bytes(18), id="empty-zip"),
        pytest.param(b"\x00" * 4096, id="zeros"),
    ],
)
def test_not_a_zip_is_an_error(data: bytes) -> None:
    """Bytes that do not start with a local file header are not a zip."""
    meta = read_epub(data, complete=True)
    assert meta == EpubMetadata(errors=(NOT_A_ZIP,))


def test_zip_without_package_is_an_error() -> None:
    """A complete zip with no container.xml or OPF says so."""
    data = book([("chapter.xhtml", b"<html/>")])
    meta = read_epub(data, complete=True)
    assert meta.tdm == UNSET
    assert meta.errors == ("epub.no_package: no OPF package document found",)


def test_first_entry_not_mimetype_is_noted_and_read() -> None:
    """An EPUB whose first entry is not mimetype is still read, the fault recorded."""
    entries = [
        ("META-INF/container.xml", CONTAINER.format(path="p.opf").encode()),
        ("p.opf", opf('<meta name="tdm:reservation" content="1"/>', version=2)),
    ]
    meta = read_epub(book(entries, mimetype=False), complete=True)
    assert meta.tdm.reservation == 1
    assert meta.errors == ("epub.invalid: the first entry is not mimetype",)


@pytest.mark.parametrize(
    ("container", "error"),
    [
        pytest.param(b"<container", "epub.invalid_container: ", id="not-xml"),
        pytest.param(b"<container/>", "epub.invalid_container: no rootfile", id="no-rootfile"),
    ],
)
def test_unusable_container_is_an_error(container: bytes, error: str) -> None:
    """A container.xml that names no package gives UNSET and its error."""
    entries = [("META-INF/container.xml", container), ("p.opf", opf(""))]
    meta = read_epub(book(entries), complete=True)
    assert meta.tdm == UNSET
    assert meta.errors[0].startswith(error)


def test_unparsable_package_is_an_error() -> None:
    """An OPF that is not XML gives UNSET and epub.invalid_package."""
    entries = [("META-INF/container.xml", CONTAINER.format(path="p.opf").encode())]
    meta = read_epub(book([*entries, ("p.opf", b"<package><metadata>")]), complete=True)
    assert meta.tdm == UNSET
    assert meta.errors[0].startswith("epub.invalid_package: ")


def test_unknown_compression_method_is_an_error() -> None:
    """An OPF compressed with a method other than stored/deflate is recorded unreadable."""
    data = package('<meta property="tdm:reservation">1</meta>', method=zipfile.ZIP_BZIP2)
    meta = read_epub(data, complete=True)
    assert meta.tdm == UNSET
    assert "epub.unreadable: META-INF/container.xml uses compression method 12" in meta.errors


def test_entry_ending_in_a_long_run_is_read_whole() -> None:
    """A deflated entry whose data ends in a long run is inflated to its end, not cut short."""
    container = b'<container><rootfile full-path="p.opf"/></container>' + b" " * 65_490
    entries = [("META-INF/container.xml", container)]
    entries.append(("p.opf", opf('<meta name="tdm:reservation" content="1"/>', version=2)))
    meta = read_epub(book(entries), complete=True)
    assert meta.errors == ()
    assert meta.tdm.reservation == 1


@pytest.mark.parametrize("streamed", [False, True], ids=["sized", "streamed"])
def test_zip_bomb_is_bounded_and_fast(streamed: bool) -> None:
    """An OPF inflating to 100 MB stops at MAX_INFLATED with epub.too_large, quickly."""
    data = bomb(streamed)
    assert len(data) < 200_000
    started = time.perf_counter()
    meta = read_epub(data, complete=True)
    assert time.perf_counter() - started < 2
    assert meta.tdm == UNSET
    assert f"epub.too_large: an entry inflates past {MAX_INFLATED} bytes" in meta.errors


def test_zip_bomb_prefix_is_bounded() -> None:
    """Half a streamed bomb asks for more without inflating past the cap or raising."""
    data = bomb(True)
    half = data[: len(data) // 2]
    meta = read_epub(half, complete=False)
    check(meta)
    assert meta.need > len(half)


# --- hostile input never raises ------------------------------------------------------------


@given(st.binary(max_size=600), st.booleans())
def test_garbage_after_the_signature_never_raises(tail: bytes, complete: bool) -> None:
    """Any bytes after a local header signature give a well-formed reading."""
    meta = read_epub(b"PK\x03\x04" + tail, complete=complete)
    check(meta)
    if complete:
        assert meta.need == 0


@functools.lru_cache(maxsize=1)
def _sample() -> bytes:
    return epub(3, reservation="1", policy=POLICY, streamed=True)


@given(
    st.lists(st.tuples(st.integers(0, 1400), st.integers(0, 255)), min_size=1, max_size=8),
    st.booleans(),
)
def test_corrupted_epub_never_raises(edits: list[tuple[int, int]], complete: bool) -> None:
    """A real EPUB with bytes overwritten anywhere gives a well-formed reading."""
    data = bytearray(_sample())
    for at, value in edits:
        data[at % len(data)] = value
    check(read_epub(bytes(data), complete=complete))
