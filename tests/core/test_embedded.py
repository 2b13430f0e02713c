"""Signals inside files: which files, how many bytes, what they say (DESIGN §5.2)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from scrapy_optout._c2pa import read_c2pa
from scrapy_optout._core.embedded import (
    WHOLE,
    EmbeddedFindings,
    bytes_needed,
    embedded_kind,
    read_embedded,
)
from scrapy_optout._core.engine import evaluate_response
from scrapy_optout._core.models import ALL_SIGNALS, Code, Reason, Signal
from scrapy_optout._core.policy import Policy
from tests.embedded_c2pa import c2pa_signed
from tests.embedded_files import XMP_TDM_HASH, epub, jpeg, pdf, png, tiff, webp, xmp_packet

SITE = "https://example.org"
POLICY = "https://example.org/tdm-policy.json"
ALL = frozenset(ALL_SIGNALS)
NOT_ALLOWED = {"use": "notAllowed"}
ALLOWED = {"use": "allowed"}
TRAINING_ALLOWED = {
    "cawg.ai_training": ALLOWED,
    "cawg.ai_generative_training": ALLOWED,
    "cawg.data_mining": ALLOWED,
}
BROKEN_XMP = b"<x:xmpmeta><unclosed"
IMAGES: dict[str, Callable[[bytes | None], bytes]] = {
    "jpeg": jpeg,
    "png": png,
    "webp": webp,
    "tiff": tiff,
}
BOT = Policy(user_agent="MyAIBot")


def embedded(
    kind: str,
    body: bytes,
    *,
    checks: frozenset[str] = ALL,
    complete: bool = True,
    reader: bool = True,
    url: str = SITE + "/file",
) -> EmbeddedFindings:
    """read_embedded for train-ai, with the real C2PA reader unless *reader* is False."""
    return read_embedded(
        kind,
        url,
        body,
        "train-ai",
        checks,
        complete=complete,
        read_c2pa=read_c2pa if reader else None,
    )


@functools.lru_cache(maxsize=8)
def signed(fmt: str, use: str) -> bytes:
    """A C2PA-signed *fmt* image whose training-mining entries all say *use*."""
    if use == "allowed":
        return c2pa_signed(fmt, TRAINING_ALLOWED)
    return c2pa_signed(fmt, {"cawg.ai_generative_training": {"use": use}})


def respond(
    body: bytes, content_type: str, policy: Policy = BOT, **headers: str
) -> tuple[bool, str | None, tuple[str, ...]]:
    """(allowed, first reason code, permissions) of evaluate_response on one response."""
    fields = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
    decision = evaluate_response(SITE + "/file", 200, fields, body, policy, read_c2pa=read_c2pa)
    code = decision.reasons[0].code if decision.reasons else None
    return decision.allowed, code, decision.permissions


# --- which files (embedded_kind) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "path", "kind"),
    [
        ("image/jpeg", "/x", "image"),
        ("image/jpeg; charset=binary", "/x", "image"),
        ("IMAGE/PNG", "/x", "image"),
        ("  image/webp ;q=1", "/x", "image"),
        ("image/tiff", "/x", "image"),
        ("image/pjpeg", "/x", "image"),
        ("image/jpg", "/x", "image"),
        ("application/pdf", "/x", "pdf"),
        ('Application/PDF; name="a.pdf"', "/x", "pdf"),
        ("application/epub+zip", "/x", "epub"),
        ("application/octet-stream", "/a.pdf", "pdf"),
        ("binary/octet-stream", "/a.epub", "epub"),
        ("application/octet-stream", "/a.html", ""),
        (None, "/a.JPG", "image"),
        ("", "/a.tif", "image"),
        (None, "/a.jpg?x=1", "image"),
        (None, "/a.png#top", "image"),
        (None, "/a.pdf?as=b.html", "pdf"),
        (None, "/?q=a.pdf", ""),
        (None, "/dir.pdf/file", ""),
        (None, "/file", ""),
        ("text/html", "/a.pdf", ""),
        ("text/html; charset=utf-8", "/a.jpg", ""),
        ("image/gif", "/a.gif", ""),
        ("image/svg+xml", "/a.svg", ""),
    ],
)
def test_embedded_kind(content_type: str | None, path: str, kind: str) -> None:
    """Content-Type decides (parameters and case aside); an untyped body goes by extension."""
    assert embedded_kind(content_type, SITE + path) == kind


# --- how many bytes (bytes_needed) ---------------------------------------------------------


def test_pdf_is_read_whole() -> None:
    """A PDF's metadata may be anywhere: it wants WHOLE, whatever is in hand."""
    assert bytes_needed("pdf", b"") == WHOLE
    assert bytes_needed("pdf", pdf(xmp_packet(tdm_reservation="1"))) == WHOLE


def test_unknown_kind_needs_nothing() -> None:
    """A kind that carries no embedded signal needs no bytes."""
    assert bytes_needed("", b"<html>") == 0


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        pytest.param("image", jpeg(xmp_packet(data_mining="DMI-PROHIBITED")), id="jpeg"),
        pytest.param("image", png(xmp_packet(data_mining="DMI-PROHIBITED")), id="png"),
        pytest.param("image", webp(xmp_packet(data_mining="DMI-PROHIBITED")), id="webp"),
        pytest.param("epub", epub(3, reservation="1"), id="epub3"),
        pytest.param("epub", epub(2, reservation="1", streamed=True), id="epub2-streamed"),
    ],
)
def test_whole_file_needs_nothing_more_and_a_prefix_more(kind: str, data: bytes) -> None:
    """With the whole file in hand nothing more is needed; with its first 20 bytes, more."""
    assert bytes_needed(kind, data) == 0
    assert bytes_needed(kind, data[:20]) > 20


def test_image_too_short_to_tell_asks_for_12_bytes() -> None:
    """Fewer bytes than a signature: the format cannot be told yet."""
    assert bytes_needed("image", b"\x89P") == 12


# --- what images say -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(IMAGES))
def test_iptc_reservation_in_an_image(fmt: str) -> None:
    """plus:DataMining DMI-PROHIBITED-AIMLTRAINING in an image's XMP is an iptc reason."""
    body = IMAGES[fmt](xmp_packet(data_mining="DMI-PROHIBITED-AIMLTRAINING"))
    found = embedded("image", body, url=f"{SITE}/a")
    assert found.reservations == [
        Reason(
            Code.IPTC,
            Signal.IPTC,
            f"{SITE}/a",
            f"plus:DataMining DMI-PROHIBITED-AIMLTRAINING ({fmt})",
        )
    ]
    assert found.errors == []
    assert found.tdm is None


def test_iptc_allowed_is_a_permission() -> None:
    """DMI-ALLOWED is recorded as an explicit permission, not a reservation."""
    found = embedded("image", jpeg(xmp_packet(data_mining="DMI-ALLOWED")))
    assert found.reservations == []
    assert found.permissions == ["iptc: plus:DataMining DMI-ALLOWED (jpeg)"]


def test_iptc_not_checked_is_not_read() -> None:
    """With iptc off, an image's XMP reservation is not read."""
    body = jpeg(xmp_packet(data_mining="DMI-PROHIBITED"))
    assert not embedded("image", body, checks=frozenset({Signal.C2PA}))


def test_tdmrep_in_image_xmp_is_not_a_layer() -> None:
    """TDMRep is read from PDF and EPUB metadata only (standards.md §1.6), not images."""
    assert embedded("image", jpeg(xmp_packet(tdm_reservation="1"))).tdm is None


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_unreadable_xmp_in_an_image_is_unavailable_iptc(fmt: str) -> None:
    """A found but broken XMP packet makes iptc unavailable, never a silent allow."""
    found = embedded("image", IMAGES[fmt](BROKEN_XMP))
    assert [(r.code, r.signal, r.detail) for r in found.unavailable] == [
        (Code.SIGNAL_UNAVAILABLE, Signal.IPTC, f"XMP unreadable ({fmt})")
    ]
    assert found.errors[0].startswith("xmp.invalid")


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_c2pa_without_a_reader_is_unavailable(fmt: str) -> None:
    """A C2PA store and no reader (read_c2pa=None): c2pa is unavailable."""
    found = embedded("image", signed(fmt, "notAllowed"), reader=False)
    assert found.reservations == []
    assert [(r.code, r.signal) for r in found.unavailable] == [
        (Code.SIGNAL_UNAVAILABLE, Signal.C2PA)
    ]
    assert "c2pa.not_read" in found.unavailable[0].detail


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_c2pa_reservation_with_the_real_reader(fmt: str) -> None:
    """A CAWG ai_generative_training notAllowed entry is a c2pa reason."""
    found = embedded("image", signed(fmt, "notAllowed"), url=f"{SITE}/a")
    assert found.reservations == [
        Reason(
            Code.C2PA,
            Signal.C2PA,
            f"{SITE}/a",
            "training-mining assertion: ai_generative_training notAllowed",
        )
    ]
    assert found.unavailable == []
    assert found.errors == []


def test_c2pa_restriction_counts_without_validation() -> None:
    """With only a prefix (not validated), a restrictive entry still reserves."""
    found = embedded("image", signed("jpeg", "notAllowed"), complete=False)
    assert [r.code for r in found.reservations] == [Code.C2PA]
    assert "c2pa.not_validated: permissions in it are not relied on" in found.errors


def test_c2pa_allowed_counts_only_when_validated() -> None:
    """An allowed entry is a permission with the whole file (validated), ignored otherwise."""
    whole = embedded("image", signed("jpeg", "allowed"), complete=True)
    said = "ai_training allowed, ai_generative_training allowed, data_mining allowed"
    assert whole.permissions == [f"c2pa: training-mining assertion: {said}"]
    assert whole.errors == []
    prefix = embedded("image", signed("jpeg", "allowed"), complete=False)
    assert prefix.permissions == []
    assert prefix.reservations == []
    assert prefix.errors == ["c2pa.not_validated: permissions in it are not relied on"]


def test_corrupt_c2pa_store_is_unavailable() -> None:
    """A store the reader cannot read makes c2pa unavailable with its error."""
    data = signed("png", "notAllowed")
    start = data.index(b"caBX") + 4 + 64
    corrupt = data[:start] + b"\xa5" * 2000 + data[start + 2000 :]
    found = embedded("image", corrupt)
    assert [r.signal for r in found.unavailable] == [Signal.C2PA]
    assert "c2pa.invalid" in found.unavailable[0].detail


def test_c2pa_not_checked_is_not_read() -> None:
    """With c2pa off, the store is not handed to the reader."""
    assert not embedded("image", signed("jpeg", "notAllowed"), checks=frozenset({Signal.IPTC}))


@pytest.mark.parametrize(
    ("complete", "error"),
    [(False, "image.scan_cut"), (True, "image.truncated")],
    ids=["prefix", "whole"],
)
def test_cut_image_records_the_cut(complete: bool, error: str) -> None:
    """An image cut inside its metadata: scan_cut for a prefix, truncated for a whole body."""
    found = embedded("image", signed("jpeg", "notAllowed")[:1000], complete=complete)
    assert found.errors == [f"{error}: metadata continues past byte 1000"]
    assert found.reservations == []


# --- what PDFs and EPUBs say ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "number"),
    [
        pytest.param({}, 2, id="plain"),
        pytest.param({"compress": True}, 2, id="flate"),
        pytest.param({"object_streams": True}, 5, id="object-streams"),
    ],
)
def test_tdmrep_in_a_pdf_is_the_pdf_layer(params: dict[str, bool], number: int) -> None:
    """TDMRep in a PDF's XMP is a tdmrep_pdf layer whose detail names the object."""
    body = pdf(xmp_packet(tdm_reservation="1", tdm_policy=POLICY), **params)
    found = embedded("pdf", body)
    assert found.tdm is not None
    code, value = found.tdm
    assert code == Code.TDMREP_PDF
    assert (value.reservation, value.policy) == (1, POLICY)
    assert value.detail == (
        f"XMP tdm:reservation 1 (object {number}); tdm:policy {POLICY} (object {number})"
    )
    assert found.errors == []


def test_tdmrep_hash_namespace_in_a_pdf_counts() -> None:
    """Both TDMRep namespace spellings are read in XMP (standards.md §1.6 DISAGREE)."""
    found = embedded("pdf", pdf(xmp_packet(tdm_reservation="0", tdm_ns=XMP_TDM_HASH)))
    assert found.tdm is not None
    assert found.tdm[1].reservation == 0


def test_iptc_in_a_pdf_is_read() -> None:
    """IPTC plus:DataMining in the same XMP of a PDF is an iptc reason."""
    found = embedded("pdf", pdf(xmp_packet(data_mining="DMI-PROHIBITED")))
    assert [(r.code, r.detail) for r in found.reservations] == [
        (Code.IPTC, "plus:DataMining DMI-PROHIBITED (object 2)")
    ]


def test_unreadable_xmp_in_a_pdf_is_unavailable_tdmrep() -> None:
    """A broken packet in a PDF makes tdmrep unavailable."""
    found = embedded("pdf", pdf(BROKEN_XMP))
    assert [(r.code, r.signal, r.detail) for r in found.unavailable] == [
        (Code.SIGNAL_UNAVAILABLE, Signal.TDMREP, "XMP unreadable (object 2)")
    ]
    assert found.tdm is None


@pytest.mark.parametrize(
    ("checks", "signals"),
    [
        pytest.param(frozenset({Signal.IPTC}), [Signal.IPTC], id="iptc-only"),
        pytest.param(frozenset({Signal.C2PA}), [], id="neither"),
    ],
)
def test_unreadable_xmp_in_a_pdf_fails_only_a_running_signal(
    checks: frozenset[str], signals: list[str]
) -> None:
    """With tdmrep off a broken PDF packet fails iptc if it runs, and no disabled signal."""
    found = embedded("pdf", pdf(BROKEN_XMP), checks=checks)
    assert [r.signal for r in found.unavailable] == signals


def test_pdf_prefix_records_the_scan_cut() -> None:
    """A PDF read only in part says how far it was read."""
    body = pdf(xmp_packet(tdm_reservation="1"))
    found = embedded("pdf", body, complete=False)
    assert f"pdf.scan_cut: read the first {len(body)} bytes" in found.errors
    assert found.tdm is not None


def test_body_that_is_not_a_pdf_says_nothing() -> None:
    """A body served as PDF whose header is not in its first KiB is not scanned."""
    body = b"<html>" + b" " * 1024 + pdf(xmp_packet(tdm_reservation="1"))
    assert not embedded("pdf", body)


@pytest.mark.parametrize("version", [2, 3])
def test_tdmrep_in_an_epub_is_the_epub_layer(version: int) -> None:
    """TDMRep in an EPUB's package is a tdmrep_epub layer."""
    found = embedded("epub", epub(version, reservation="1", policy=POLICY))
    assert found.tdm is not None
    code, value = found.tdm
    assert code == Code.TDMREP_EPUB
    assert (value.reservation, value.policy) == (1, POLICY)
    assert value.detail.startswith("OPF EPUB")


def test_epub_without_tdmrep_check_is_not_read() -> None:
    """With tdmrep off, an EPUB is not read at all."""
    assert not embedded("epub", epub(3, reservation="1"), checks=frozenset({Signal.IPTC}))


def test_truncated_epub_records_the_error() -> None:
    """A cut EPUB gives no layer and epub.truncated."""
    found = embedded("epub", epub(2, reservation="1")[:90])
    assert found.tdm is None
    assert found.errors == ["epub.truncated: the zip ends inside an entry"]


def test_empty_findings_are_falsy() -> None:
    """An unmarked file gives findings that are false (the response-stage fast path)."""
    assert not embedded("image", png())
    assert not embedded("pdf", pdf())
    assert not embedded("epub", epub(3))
    assert embedded("image", jpeg(xmp_packet(data_mining="DMI-ALLOWED")))


# --- through evaluate_response (standards.md Appendix A, §1.7) -----------------------------


def test_m13_pdf_xmp_zero_supersedes_the_header() -> None:
    """M13: XMP tdm:reservation 0 in a PDF beats the header's 1 (TDMRep §1.7 step 4): allow."""
    body = pdf(xmp_packet(tdm_reservation="0"))
    allowed, code, permissions = respond(body, "application/pdf", tdm_reservation="1")
    assert (allowed, code) == (True, None)
    assert permissions == ("tdmrep_pdf: XMP tdm:reservation 0 (object 2)",)


def test_m14_cawg_not_allowed_in_a_jpeg_skips() -> None:
    """M14: CAWG ai_generative_training notAllowed skips with c2pa, a Content-Signal yes aside."""
    body = signed("jpeg", "notAllowed")
    assert respond(body, "image/jpeg", Content_Signal="ai-train=yes")[:2] == (False, Code.C2PA)


def test_pdf_xmp_one_supersedes_a_header_zero() -> None:
    """A PDF whose XMP reserves is skipped with tdmrep_pdf although the header says 0."""
    body = pdf(xmp_packet(tdm_reservation="1"))
    allowed, code, _ = respond(body, "application/pdf", tdm_reservation="0")
    assert (allowed, code) == (False, Code.TDMREP_PDF)


def test_epub_package_one_supersedes_a_header_zero() -> None:
    """An EPUB whose package reserves is skipped with tdmrep_epub although the header says 0."""
    allowed, code, _ = respond(
        epub(3, reservation="1"), "application/epub+zip", tdm_reservation="0"
    )
    assert (allowed, code) == (False, Code.TDMREP_EPUB)


OPT_IN = Policy(user_agent="MyAIBot", mode="opt-in")


@pytest.mark.parametrize(
    ("body", "content_type", "allowed", "code"),
    [
        pytest.param(
            jpeg(xmp_packet(data_mining="DMI-ALLOWED")), "image/jpeg", True, None, id="dmi-allowed"
        ),
        pytest.param(jpeg(), "image/jpeg", False, Code.NO_PERMISSION, id="unmarked"),
        pytest.param(
            pdf(xmp_packet(tdm_reservation="0")), "application/pdf", True, None, id="pdf-zero"
        ),
        pytest.param(pdf(), "application/pdf", False, Code.NO_PERMISSION, id="plain-pdf"),
    ],
)
def test_opt_in_needs_an_embedded_permission(
    body: bytes, content_type: str, allowed: bool, code: str | None
) -> None:
    """Opt-in mode: an explicit permission in the file allows; an unmarked file has none."""
    assert respond(body, content_type, OPT_IN)[:2] == (allowed, code)


def test_opt_in_c2pa_allowed_is_a_permission_only_when_validated() -> None:
    """Opt-in: a validated allowed C2PA manifest allows; a prefix of it does not."""
    body = signed("jpeg", "allowed")
    assert respond(body, "image/jpeg", OPT_IN)[:2] == (True, None)
    decision = evaluate_response(
        SITE + "/a.jpg",
        200,
        {"Content-Type": "image/jpeg"},
        body,
        OPT_IN,
        complete=False,
        read_c2pa=read_c2pa,
    )
    assert decision.allowed is False
    assert decision.reasons[0].code == Code.NO_PERMISSION
