"""The reference registry service (``registry/server.py``), over real HTTP on 127.0.0.1.

Most tests talk with httpx to ``scrapy-optout registry serve`` run as a subprocess, as a user runs
it (``service.py``), and compare its answers with the :class:`LocalRegistry` they come from. Raw
sockets send what httpx will not (a body that stalls, ``Expect: 100-continue``). Cases that need
the registry broken under a running service use :func:`make_app` on a thread of this process.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scrapy_optout.registry.entries import entry_from
from scrapy_optout.registry.hashing import PREFIX_HEX, covers, digest, expressions, hash_key
from scrapy_optout.registry.local import LocalRegistry, build
from scrapy_optout.registry.protocol import MAX_BATCH, MAX_BODY, MAX_PREFIXES, entry_json
from tests.registry.service import Service, serving, write_registry

ORIGIN = "https://pages.test"
BULK = 2500  # more entries than one snapshot chunk
REGISTERED = [
    f"{ORIGIN}/one.html",
    "HTTPS://Pages.TEST:443/one.html#top",  # the same page, not in canonical form
    f"{ORIGIN}/archive/2019/a.html",
    "https://www.reserved.test/any",
    f"{ORIGIN}/granted.html",
    f"{ORIGIN}/search/ai?q=1",
    "https://bulk.test/7.html",
]
UNREGISTERED = [
    f"{ORIGIN}/free.html",
    f"{ORIGIN}/search/a",  # above the prefix /search/ai
    "https://reserved.test.example/",
    "not a url",
]
CLI = [sys.executable, "-m", "scrapy_optout.cli", "registry"]


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite registry: the shared test entries and BULK more, one with non-ASCII text."""
    folder = tmp_path_factory.mktemp("registry")
    bulk = [{"scope": "url", "value": f"https://bulk.test/{n}.html", "purposes": "train-ai"}
            for n in range(BULK)]  # fmt: skip
    bulk[0]["source"] = "Éditions Ünïcode ✓"
    (folder / "bulk.json").write_text(json.dumps(bulk), encoding="utf-8")
    compiled = folder / "registry.sqlite"
    build([write_registry(folder, ORIGIN), folder / "bulk.json"], compiled)
    return compiled


@pytest.fixture(scope="module")
def local(registry_file: Path) -> Iterator[LocalRegistry]:
    """The registry the service serves, read directly."""
    registry = LocalRegistry(registry_file)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def root(registry_file: Path) -> Iterator[str]:
    """The root URL of ``registry serve`` over that registry."""
    service = Service(registry_file)
    yield service.root
    service.stop()


def post(root: str, path: str, body: Any) -> httpx.Response:
    """POST *body* (bytes as they are, anything else as JSON) to the service."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(root + path, content=content, timeout=10.0)


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a JSON error answer with *status*."""
    assert response.status_code == status, response.text[:200]
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    assert isinstance(message, str)
    assert message
    return message


def raw(root: str, head: str, body: bytes = b"") -> socket.socket:
    """A connection to the service on which *head* (and *body*) are sent, nothing more."""
    host, port = root.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10.0)
    sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return sock


def answer_of(sock: socket.socket) -> bytes:
    """Everything received on *sock* until the service closes it or goes quiet."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and received.rstrip().endswith(b"}"):
                break
    except TimeoutError:
        pass
    return received


# --- /v1/lookup ------------------------------------------------------------------------------


def test_lookup_answers_as_the_registry_finds_each_url_named_as_asked(root, local):
    """Each result names its URL exactly as asked and holds the entries LocalRegistry.find gives."""
    urls = REGISTERED + UNREGISTERED + [REGISTERED[0]]  # a URL asked twice is answered twice
    response = post(root, "/v1/lookup", {"urls": urls})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    results = response.json()["results"]
    assert [result["url"] for result in results] == urls
    for url, result in zip(urls, results, strict=True):
        assert result["entries"] == [entry_json(e) for e in local.find(url).entries], url
    found = {r["url"] for r in results if r["entries"]}
    assert found == set(REGISTERED)


def test_a_batch_of_1000_urls_is_answered_and_1001_refused(root):
    """MAX_BATCH URLs get one result each; one more is a 400 saying the limit."""
    urls = [f"https://bulk.test/{n}.html" for n in range(MAX_BATCH)]
    response = post(root, "/v1/lookup", {"urls": urls})
    assert [r["url"] for r in response.json()["results"]] == urls
    message = error_of(post(root, "/v1/lookup", {"urls": [*urls, "https://x.test/"]}), 400)
    assert "at most 1000" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ([], "list 'urls'"),
        ({}, "list 'urls'"),
        ({"url": ["https://a.test/"]}, "list 'urls'"),
        ({"urls": "https://a.test/"}, "list 'urls'"),
        ({"urls": ["https://a.test/", 3]}, "must be a string"),
    ],
)
def test_malformed_lookups_are_400_with_the_protocol_message(root, body, words):
    """Not JSON, the wrong shape, a missing key or wrong item types: 400 saying what is wrong."""
    assert words in error_of(post(root, "/v1/lookup", body), 400)


def test_a_body_over_4_mib_is_413_sent_whole_or_in_chunks(root):
    """A body of MAX_BODY bytes is read; one byte more is 413, declared or chunked."""
    padding = MAX_BODY - len(b'{"urls":[""]}')
    exact = b'{"urls":["' + b"a" * padding + b'"]}'
    assert len(exact) == MAX_BODY
    assert post(root, "/v1/lookup", exact).status_code == 200
    over = exact[:-3] + b'a"]}'
    assert "larger than 4194304 bytes" in error_of(post(root, "/v1/lookup", over), 413)
    chunked = httpx.post(
        root + "/v1/lookup", content=iter([over[:1000], over[1000:]]), timeout=10.0
    )
    assert chunked.request.headers["transfer-encoding"] == "chunked"  # no length announced
    assert "larger than 4194304 bytes" in error_of(chunked, 413)
    assert post(root, "/v1/lookup", {"urls": []}).json() == {"results": []}  # still serving


def test_an_oversized_body_announced_with_expect_100_continue_is_refused_unsent(root):
    """With ``Expect: 100-continue`` and a too-large length, 413 comes before any body is sent."""
    head = (f"POST /v1/lookup HTTP/1.1\nHost: x\nContent-Type: application/json\n"
            f"Content-Length: {MAX_BODY + 1}\nExpect: 100-continue\n")  # fmt: skip
    with raw(root, head) as sock:
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer
    assert b'"error"' in answer


def test_get_on_lookup_is_405_naming_post(root):
    """A GET on /v1/lookup (or a POST on /v1/snapshot) is 405 with the methods allowed."""
    response = httpx.get(root + "/v1/lookup", timeout=10.0)
    assert "GET" in error_of(response, 405)
    assert response.headers["allow"] == "POST"
    assert error_of(post(root, "/v1/snapshot", {}), 405)


def test_an_unknown_path_is_404_naming_it(root):
    """A path the protocol does not have is a JSON 404 naming it."""
    assert "/v2/lookup" in error_of(post(root, "/v2/lookup", {"urls": []}), 404)
    assert "/" in error_of(httpx.get(root + "/", timeout=10.0), 404)


# --- /v1/lookup-hashed -----------------------------------------------------------------------


def prefixes_of(urls: list[str]) -> list[str]:
    """What a hashed client sends for *urls*."""
    return sorted({digest(key)[:PREFIX_HEX] for url in urls for key in expressions(url)})


def test_hashed_lookup_returns_the_entries_whose_digests_match(root, local):
    """The matches are lookup_hashed's, with true digests; kept by digest, they are find's."""
    prefixes = prefixes_of(REGISTERED + UNREGISTERED)
    response = post(root, "/v1/lookup-hashed", {"prefixes": prefixes})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    matches = response.json()["matches"]
    assert matches == [
        {"digest": d, "entry": entry_json(e)} for d, e in local.lookup_hashed(prefixes)
    ]
    for match in matches:
        entry = match["entry"]
        assert match["digest"] == digest(hash_key(entry["scope"], entry["value"]))
        assert match["digest"][:PREFIX_HEX] in prefixes
    for url in REGISTERED + UNREGISTERED:  # what the client keeps is what a plain lookup gives
        own = {digest(key) for key in expressions(url)}
        kept = [entry_from(m["entry"], "match") for m in matches if m["digest"] in own]
        assert {e for e in kept if covers(e, url)} == set(local.find(url).entries), url


def test_bad_prefixes_match_nothing(root):
    """Prefixes not of 8 lower-case hex digits match nothing, even one a real prefix upper-cased."""
    real = digest(hash_key("url", f"{ORIGIN}/one.html"))[:PREFIX_HEX]
    assert post(root, "/v1/lookup-hashed", {"prefixes": [real]}).json()["matches"]
    bad = [real.upper(), real[:-1], real + "0", f" {real}", "", "zzzzzzzz", "d:pages.test"]
    assert any(c.isalpha() for c in real)  # so that upper-casing changes it
    assert post(root, "/v1/lookup-hashed", {"prefixes": bad}).json() == {"matches": []}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"[", "not JSON"),
        ({"urls": ["abcdef01"]}, "list 'prefixes'"),
        ({"prefixes": [12345678]}, "must be a string"),
        ({"prefixes": ["abcdef01"] * (MAX_PREFIXES + 1)}, f"at most {MAX_PREFIXES}"),
    ],
)
def test_malformed_hashed_lookups_are_400(root, body, words):
    """A hashed request that is not JSON, lacks its list, has non-text or too many prefixes: 400."""
    assert words in error_of(post(root, "/v1/lookup-hashed", body), 400)


# --- /v1/snapshot ----------------------------------------------------------------------------


def test_snapshot_streams_every_entry(root, local):
    """The snapshot is a JSON list of every entry, in LocalRegistry.entries order, sent chunked."""
    response = httpx.get(root + "/v1/snapshot", timeout=10.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["transfer-encoding"] == "chunked"  # streamed, not built whole
    entries = response.json()
    assert entries == [entry_json(e) for e in local.entries()]
    assert len(entries) == BULK + 5


def test_snapshot_etag_is_the_files_hash_and_if_none_match_is_304(root, registry_file):
    """The ETag is strong and stable (the file's SHA-256); If-None-Match naming it: an empty 304."""
    etag = f'"sha256-{hashlib.sha256(registry_file.read_bytes()).hexdigest()}"'
    first = httpx.get(root + "/v1/snapshot", timeout=10.0)
    again = httpx.head(root + "/v1/snapshot", timeout=10.0)
    assert first.headers["etag"] == again.headers["etag"] == etag
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = httpx.get(root + "/v1/snapshot", headers={"If-None-Match": header}, timeout=10.0)
        assert (cached.status_code, cached.content, cached.headers["etag"]) == (304, b"", etag)
    stale = httpx.get(root + "/v1/snapshot", headers={"If-None-Match": '"other"'}, timeout=10.0)
    assert stale.status_code == 200
    assert stale.json()


def test_snapshot_builds_back_into_the_same_registry(root, local, tmp_path):
    """``registry build`` reads the snapshot back into a registry with the very same entries."""
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(httpx.get(root + "/v1/snapshot", timeout=10.0).content)
    rebuilt = tmp_path / "x.sqlite"
    done = subprocess.run([*CLI, "build", str(snapshot), "-o", str(rebuilt)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    copy = LocalRegistry(rebuilt)
    try:
        assert list(copy.entries()) == list(local.entries())
    finally:
        copy.close()
    assert build([snapshot], tmp_path / "y.sqlite") == BULK + 5


# --- serve -----------------------------------------------------------------------------------


def test_serve_on_a_missing_file_exits_2_naming_it(tmp_path):
    """``registry serve`` on a file that does not exist exits 2 with an error naming it."""
    missing = tmp_path / "missing.sqlite"
    done = subprocess.run([*CLI, "serve", str(missing), "--port", "0"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert done.stdout == ""


def test_serve_on_a_port_in_use_exits_2(registry_file):
    """An address that cannot be listened on is an error (exit 2), not a traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*CLI, "serve", str(registry_file), "--port", str(port)],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "serve: error" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_serve_prints_one_line_and_stops_cleanly_on_sigterm(tmp_path):
    """One ``serving PATH on URL`` line, nothing more on stdout while serving; SIGTERM exits 0."""
    registry = write_registry(tmp_path, ORIGIN)
    command = [*CLI, "serve", str(registry), "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"serving (.+) on (http://127\.0\.0\.1:\d+)\n", line)
        assert found, line
        assert found.group(1) == str(registry)
        here = found.group(2)
        answer = post(here, "/v1/lookup", {"urls": [f"{ORIGIN}/one.html"]}).json()
        assert answer["results"][0]["entries"]
        assert post(here, "/v1/lookup", b"nope").status_code == 400
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
        process.wait(10)
    assert process.returncode == 0, err
    assert out == ""


def test_a_stalled_client_does_not_hold_up_another(root):
    """While one connection has sent half a body and stalls, another client's lookup is answered."""
    head = (
        "POST /v1/lookup HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 500\n"
    )
    with raw(root, head, b'{"urls": ["https://pa'):
        response = httpx.post(root + "/v1/lookup", json={"urls": [f"{ORIGIN}/one.html"]},
                              timeout=5.0)  # fmt: skip
        assert response.status_code == 200
        assert response.json()["results"][0]["entries"]


# --- in-process: a registry that breaks under the service ---------------------------------


@pytest.fixture
def copy_of(registry_file: Path, tmp_path: Path) -> Path:
    """A copy of the registry file, free to break."""
    return Path(shutil.copy(registry_file, tmp_path / "copy.sqlite"))


@pytest.mark.parametrize("breakage", ["closed", "corrupted"])
def test_an_unreadable_registry_is_503_and_the_service_goes_on(copy_of, breakage):
    """A registry closed or corrupted under the service: lookups and snapshot 503, no crash."""
    registry = LocalRegistry(copy_of)
    for service in serving(registry):
        if breakage == "closed":
            registry.close()
        else:
            copy_of.write_bytes(b"this is not a database" * 1000)
        url = f"{ORIGIN}/one.html"
        assert "cannot be read" in error_of(post(service.root, "/v1/lookup", {"urls": [url]}), 503)
        prefix = digest(hash_key("url", url))[:PREFIX_HEX]
        assert error_of(post(service.root, "/v1/lookup-hashed", {"prefixes": [prefix]}), 503)
        assert error_of(httpx.get(service.root + "/v1/snapshot", timeout=10.0), 503)
        assert error_of(httpx.get(service.root + "/nowhere", timeout=10.0), 404)  # still up


def test_an_empty_registry_has_an_empty_snapshot(tmp_path):
    """A registry without entries answers lookups with no entries and snapshots as ``[]``."""
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    for service in serving(LocalRegistry(empty)):
        assert httpx.get(service.root + "/v1/snapshot", timeout=10.0).json() == []
        answer = post(service.root, "/v1/lookup", {"urls": [f"{ORIGIN}/one.html"]}).json()
        assert answer == {"results": [{"url": f"{ORIGIN}/one.html", "entries": []}]}


def test_a_body_not_sent_in_time_is_408(copy_of):
    """A client that stops sending its body gets 408 after read_timeout, and the service goes on."""
    for service in serving(LocalRegistry(copy_of), read_timeout=0.3):
        head = "POST /v1/lookup HTTP/1.1\nHost: x\nContent-Length: 100\n"
        with raw(service.root, head, b'{"urls": [') as sock:
            answer = answer_of(sock)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b"not received within 0.3 s" in answer
        assert post(service.root, "/v1/lookup", {"urls": []}).status_code == 200
