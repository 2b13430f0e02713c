"""Signals inside files through both shells (DESIGN §5.2 "Embedded signals"; issue 7).

Real files made by the tests (C2PA-signed images from ``c2pa-python``'s own signing, XMP packets in
JPEG/PNG/WebP/TIFF, EPUB 2 and 3 packages, PDFs with XMP) are served from a local origin and
fetched by the httpx clients (sync and async) and by a real Scrapy crawl: reserved files are
skipped with their own code at the response stage, unmarked ones pass whole, and corrupt or
truncated ones are decided without a crash, the error recorded.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from scrapy_optout import AsyncOptOutClient, Decision, OptedOutError, OptOutClient, Policy
from scrapy_optout.audit import read, verify
from tests.crawling import crawl
from tests.embedded_c2pa import c2pa_signed
from tests.embedded_files import epub, jpeg, pdf, png, tiff, webp, xmp_packet
from tests.httpsite import AGENT, Reply, Site

TDM_HASH = "http://www.w3.org/ns/tdmrep#"
NOT_ALLOWED = {"use": "notAllowed"}


def _corrupt_store(signed: bytes) -> bytes:
    """A signed PNG whose manifest store (after its box headers) is overwritten with garbage."""
    start = signed.index(b"caBX") + 4 + 64
    return signed[:start] + b"\xa5" * 2000 + signed[start + 2000 :]


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, tuple[bytes, str, tuple[tuple[str, str], ...], str | None, str]]:
    """Path -> (body, Content-Type, extra headers, first reason code or None, error expected)."""
    reserve_pdf = xmp_packet(tdm_reservation="1")
    jpeg_reserved = c2pa_signed("jpeg", {"cawg.ai_generative_training": NOT_ALLOWED})
    zero = (("tdm-reservation", "1"),)
    return {
        "/c2pa.jpg": (jpeg_reserved, "image/jpeg", (), "c2pa", ""),
        "/c2pa-legacy.png": (
            c2pa_signed("png", {"c2pa.ai_training": NOT_ALLOWED}, label="c2pa.training-mining"),
            "image/png", (), "c2pa", "",
        ),
        "/c2pa.webp": (
            c2pa_signed("webp", {"cawg.data_mining": {"use": "constrained"}}),
            "image/webp", (), "c2pa", "",
        ),
        "/c2pa-large.jpg": (
            c2pa_signed("jpeg", {"cawg.ai_training": NOT_ALLOWED}, filler_bytes=100_000),
            "image/jpeg", (), "c2pa", "",
        ),
        "/c2pa-allowed.jpg": (
            c2pa_signed("jpeg", {"cawg.ai_training": {"use": "allowed"}}), "image/jpeg", (), None,
            "",
        ),
        "/c2pa-corrupt.png": (
            _corrupt_store(c2pa_signed("png", {"cawg.ai_training": NOT_ALLOWED})),
            "image/png", (), "signal_unavailable", "",
        ),
        "/c2pa-truncated.jpg": (jpeg_reserved[:1000], "image/jpeg", (), None, "image.truncated"),
        "/iptc.jpg": (
            jpeg(xmp_packet(data_mining="DMI-PROHIBITED-AIMLTRAINING")), "image/jpeg", (), "iptc",
            "",
        ),
        "/iptc.png": (
            png(xmp_packet(data_mining="DMI-PROHIBITED", form="attribute"), compressed=True),
            "image/png", (), "iptc", "",
        ),
        "/iptc.webp": (
            webp(xmp_packet(data_mining="DMI-PROHIBITED-GENAIMLTRAINING")), "image/webp", (),
            "iptc", "",
        ),
        "/iptc.tif": (tiff(xmp_packet(data_mining="DMI-PROHIBITED")), "image/tiff", (), "iptc", ""),
        "/iptc-allowed.jpg": (
            jpeg(xmp_packet(data_mining="DMI-ALLOWED")), "image/jpeg", (), None, "",
        ),
        "/broken-xmp.jpg": (jpeg(b"<x:xmpmeta><unclosed"), "image/jpeg", (), "signal_unavailable",
                            "xmp.invalid"),
        "/plain.png": (png(), "image/png", (), None, ""),
        "/book2.epub": (epub(2, reservation="1"), "application/epub+zip", (), "tdmrep_epub", ""),
        "/book3.epub": (
            epub(3, reservation="1", policy="https://example.org/policy.json", prefix="rights"),
            "application/epub+zip", (), "tdmrep_epub", "",
        ),
        "/streamed.epub": (
            epub(3, reservation="1", streamed=True), "application/epub+zip", (), "tdmrep_epub", "",
        ),
        "/zero.epub": (epub(3, reservation="0"), "application/epub+zip", zero, None, ""),
        "/free.epub": (epub(3), "application/epub+zip", (), None, ""),
        "/truncated.epub": (
            epub(2, reservation="1")[:90], "application/epub+zip", (), None, "epub.truncated",
        ),
        "/doc.pdf": (pdf(reserve_pdf), "application/pdf", (), "tdmrep_pdf", ""),
        "/hash.pdf": (
            pdf(xmp_packet(tdm_reservation="1", tdm_ns=TDM_HASH), compress=True),
            "application/pdf", (), "tdmrep_pdf", "",
        ),
        "/objstm.pdf": (
            pdf(xmp_packet(tdm_reservation="1", form="attribute"), object_streams=True),
            "application/pdf", (), "tdmrep_pdf", "",
        ),
        "/m13.pdf": (pdf(xmp_packet(tdm_reservation="0")), "application/pdf", zero, None, ""),
        "/plain.pdf": (pdf(), "application/pdf", (), None, ""),
        "/untyped.pdf": (pdf(reserve_pdf), "application/octet-stream", (), "tdmrep_pdf", ""),
    }  # fmt: skip


@pytest.fixture
def files(site: Site) -> Site:
    """The site serving every file of :func:`catalogue`."""
    for path, (body, content_type, headers, _, _) in catalogue().items():
        site.serve(path, Reply(body=body, content_type=content_type, headers=headers))
    return site


def check(path: str, decision: Decision) -> None:
    """The decision of *path* is the catalogue's (code or allow, expected error recorded)."""
    _, _, _, code, error = catalogue()[path]
    assert decision.stage == "response", decision
    assert decision.allowed is (code is None), (path, decision)
    if code is not None:
        assert decision.reasons[0].code == code, (path, decision.reasons)
        assert decision.reasons[0].source.endswith(path)
    if error:
        assert any(e.startswith(error) for e in decision.errors), (path, decision.errors)


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_httpx_client_reads_the_signals_inside_files(files: Site, tmp_path: Path) -> None:
    """Sync client: each file is decided as the catalogue says; the log holds one record each."""
    log = tmp_path / "log.jsonl"
    policy = Policy(user_agent=AGENT, audit_log=str(log))
    with OptOutClient(policy=policy, timeout=10.0) as client:
        for path in catalogue():
            try:
                response = client.get(files.url(path))
            except OptedOutError as exc:
                check(path, exc.decision)
                continue
            assert response.content == catalogue()[path][0]  # handed on whole
            check(path, response.extensions["optout"])
    records = list(read(log))
    assert sorted(_path(r["url"]) for r in records) == sorted(catalogue())
    assert verify(log).ok


def test_async_client_reads_the_signals_inside_files(files: Site) -> None:
    """Async client: the same decisions as the sync one."""

    async def run() -> dict[str, Decision]:
        found: dict[str, Decision] = {}
        policy = Policy(user_agent=AGENT)
        async with AsyncOptOutClient(policy=policy, timeout=10.0) as client:
            for path in catalogue():
                try:
                    response = await client.get(files.url(path))
                except OptedOutError as exc:
                    found[path] = exc.decision
                    continue
                assert response.content == catalogue()[path][0]
                found[path] = response.extensions["optout"]
        return found

    for path, decision in asyncio.run(run()).items():
        check(path, decision)


def test_signals_can_be_switched_off(files: Site) -> None:
    """Without the c2pa, iptc and tdmrep signals, the same files all pass."""
    policy = Policy(user_agent=AGENT, signals={"robots", "noai"})
    with OptOutClient(policy=policy, timeout=10.0) as client:
        for path in ("/c2pa.jpg", "/iptc.jpg", "/book2.epub", "/doc.pdf"):
            assert client.get(files.url(path)).extensions["optout"].allowed


def _stalled(head: bytes, sent: threading.Event) -> Iterator[bytes]:
    """The metadata part of a file, then 8 s of silence, then the rest; *sent* set at the end."""
    yield head
    time.sleep(8)
    yield b"\x00" * 1024
    sent.set()


def _get_big(kind: str, url: str, policy: Policy) -> None:
    if kind == "sync":
        with OptOutClient(policy=policy, timeout=30.0) as client:
            client.get(url)
        return

    async def aget() -> None:
        async with AsyncOptOutClient(policy=policy, timeout=30.0) as client:
            await client.get(url)

    asyncio.run(aget())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_httpx_reads_only_the_bytes_the_metadata_needs(site: Site, kind: str) -> None:
    """A reserved JPEG is decided on its metadata alone: before the image data has all come."""
    image = jpeg(xmp_packet(data_mining="DMI-PROHIBITED"), size=(256, 256), noise=True)
    sos = image.index(b"\xff\xda")
    sent = threading.Event()
    site.serve_stream(
        "/big.jpg", lambda: _stalled(image[: sos + 64], sent), content_type="image/jpeg"
    )
    with pytest.raises(OptedOutError) as raised:
        _get_big(kind, site.url("/big.jpg"), Policy(user_agent=AGENT))
    assert not sent.is_set()  # decided while the server was still holding the rest back
    assert raised.value.decision.reasons[0].code == "iptc"


@pytest.mark.crawl
@deferred_f_from_coro_f
async def test_crawl_reads_the_signals_inside_files(files: Site, tmp_path: Path) -> None:
    """Scrapy: reserved files never reach the spider; the others do, with their decision."""
    log = tmp_path / "log.jsonl"
    settings: dict[str, Any] = {"OPTOUT_AUDIT_LOG": str(log)}
    crawler = await crawl(settings, batch=[(files.url(p), {}) for p in catalogue()])
    spider = crawler.spider
    for path in catalogue():
        url = files.url(path)
        decision = spider.skipped.get(url) or spider.responses.get(url)
        assert decision is not None, (path, spider.failures.get(url))
        check(path, decision)
    codes = Counter(code for *_, code, _ in catalogue().values() if code)
    assert crawler.stats.get_value("optout/skipped") == sum(codes.values())
    for code, count in codes.items():
        assert crawler.stats.get_value(f"optout/skipped/{code}") == count, code
    assert verify(log).ok
