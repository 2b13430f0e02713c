"""The c2pa-python shell: the active manifest's assertions, and whether it validated."""

from __future__ import annotations

import functools
import random

import pytest

from scrapy_optout._c2pa import STORE_MEDIA_TYPE, read_c2pa
from scrapy_optout._core import rules
from scrapy_optout._core.c2pa import C2paManifest, training_mining
from scrapy_optout._core.containers import read_image_metadata
from scrapy_optout._core.models import Verdict
from tests.embedded_c2pa import FORMATS, TRAINING_MINING, c2pa_signed
from tests.embedded_files import jpeg, png, png_chunks, riff_chunks, webp

ENTRIES: dict[str, object] = {
    "cawg.ai_generative_training": {"use": "notAllowed"},
    "cawg.ai_inference": {"use": "allowed"},
}
FMTS = sorted(FORMATS)


@functools.cache
def signed(fmt: str, entries: tuple[tuple[str, str], ...] | None = None) -> bytes:
    """A signed image (once per session); *entries* as ``(key, use)`` pairs, default ENTRIES."""
    table = ENTRIES if entries is None else {k: {"use": u} for k, u in entries}
    return c2pa_signed(fmt, table)


def store_of(data: bytes) -> bytes:
    """The manifest store the core's walker finds in *data*."""
    store = read_image_metadata(data).c2pa
    assert store is not None
    return store


def mime(fmt: str) -> str:
    return FORMATS[fmt][0]


def assertion(found: C2paManifest, label: str) -> object:
    """The data of the assertion labelled *label*, or None."""
    return next((data for name, data in found.assertions if name == label), None)


def image_data_offset(fmt: str, data: bytes) -> int:
    """An offset inside the compressed image data (hashed by the hard binding, not the store)."""
    if fmt == "jpeg":
        i = 2
        while data[i + 1] != 0xDA:  # walk to SOS; its header, then entropy-coded data
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        return i + 2 + int.from_bytes(data[i + 2 : i + 4], "big") + 10
    kind, chunks = (b"IDAT", png_chunks(data)) if fmt == "png" else (b"VP8 ", riff_chunks(data))
    assert kind in [k for k, _ in chunks]
    return data.index(kind) + 4 + 4 + 10


def tampered(fmt: str, data: bytes) -> bytes:
    """*data* with one byte of the image data flipped (never into a JPEG marker)."""
    out = bytearray(data)
    at = image_data_offset(fmt, data)
    while out[at] in (0xFF, 0xFE, 0x00):
        at += 1
    out[at] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("fmt", FMTS)
def test_whole_signed_file_validates(fmt: str) -> None:
    """With the whole file, the assertions are read and the manifest validates."""
    data = signed(fmt)
    found = read_c2pa(store_of(data), mime(fmt), data)
    assert found.error is None
    assert found.validated is True
    assert assertion(found, TRAINING_MINING) == {"entries": ENTRIES}
    assert found.assertions[0][0].startswith("c2pa.actions")


@pytest.mark.parametrize("fmt", FMTS)
def test_store_alone_reads_but_does_not_validate(fmt: str) -> None:
    """With the store only, the assertions are read, but nothing was validated."""
    found = read_c2pa(store_of(signed(fmt)), mime(fmt), None)
    assert found.error is None
    assert found.validated is False
    assert assertion(found, TRAINING_MINING) == {"entries": ENTRIES}


@pytest.mark.parametrize("fmt", FMTS)
def test_tampered_file_does_not_validate_but_is_read(fmt: str) -> None:
    """A byte of image data flipped: the hard binding fails, the assertions still come back."""
    data = signed(fmt)
    bad = tampered(fmt, data)
    assert bad != data
    assert store_of(bad) == store_of(data)  # the store itself is intact
    found = read_c2pa(store_of(bad), mime(fmt), bad)
    assert found.error is None
    assert found.validated is False
    assert assertion(found, TRAINING_MINING) == {"entries": ENTRIES}


@pytest.mark.parametrize("fmt", FMTS)
def test_tampered_file_keeps_restrictions_and_drops_permissions(fmt: str) -> None:
    """Through the rules: a failed validation still reserves, but no longer allows (§8.3)."""
    data = signed(fmt)
    results = {}
    for name, whole in (("whole", data), ("tampered", tampered(fmt, data))):
        found = read_c2pa(store_of(whole), mime(fmt), whole)
        entries, errors = training_mining(found)
        assert errors == []
        results[name] = {
            p: rules.c2pa_verdict(entries, found.validated, p)[0] for p in ("train-ai", "ai-input")
        }
    assert results["whole"] == {"train-ai": Verdict.RESERVED, "ai-input": Verdict.ALLOW}
    assert results["tampered"] == {"train-ai": Verdict.RESERVED, "ai-input": Verdict.UNKNOWN}


def test_manifest_without_training_mining_assertion() -> None:
    """A signed file without the assertion reads, validates, and has no training-mining entries."""
    data = c2pa_signed("png", None)
    found = read_c2pa(store_of(data), "image/png", data)
    assert (found.error, found.validated) == (None, True)
    assert assertion(found, TRAINING_MINING) is None
    assert training_mining(found) == ({}, [])


def _garbage() -> list[tuple[str, bytes]]:
    store = store_of(signed("jpeg"))
    return [
        ("empty", b""),
        ("text", b"garbage"),
        ("random", random.Random(7).randbytes(4096)),
        ("truncated-store", store[:100]),
        ("store-half", store[: len(store) // 2]),
        ("not-c2pa-jumbf", b"\x00\x00\x00\x28jumb\x00\x00\x00\x20jumd" + b"json" + bytes(20)),
        ("not-c2pa-uuid", store[:12] + b"XXXX" + store[16:]),
        ("not-a-jumb-box", store[:4] + b"junk" + store[8:]),
        ("zeroed-tail", store[:200] + bytes(len(store) - 200)),
    ]


@pytest.mark.parametrize(("store"), [pytest.param(s, id=i) for i, s in _garbage()])
def test_garbage_store_is_an_error_never_an_exception(store: bytes) -> None:
    """A store c2pa cannot read gives ``c2pa.invalid``, no assertions, and no exception."""
    found = read_c2pa(store, "image/jpeg", None)
    assert found.error is not None
    assert found.error.startswith("c2pa.invalid")
    assert len(found.error) < 240
    assert (found.assertions, found.validated) == ((), False)


@pytest.mark.parametrize(
    ("media", "whole"),
    [("image/jpeg", b"garbage"), ("image/jpeg", jpeg()), ("image/png", png()),
     ("image/webp", webp()), ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
     ("image/jpeg", jpeg()[:100])],
    ids=["garbage", "unsigned-jpeg", "unsigned-png", "unsigned-webp", "broken-png", "cut-jpeg"],
)  # fmt: skip
def test_unreadable_whole_file_is_an_error(media: str, whole: bytes) -> None:
    """A whole file with no readable manifest is ``c2pa.invalid`` too, never an exception."""
    found = read_c2pa(b"", media, whole)
    assert found.error is not None
    assert found.error.startswith("c2pa.invalid")
    assert found.validated is False


def test_store_media_type() -> None:
    """c2pa-python is told a bare store is ``application/c2pa``."""
    assert STORE_MEDIA_TYPE == "application/c2pa"
