"""``scrapy-optout registry build|lookup|serve``: outputs and exit codes, on files and the service."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrapy_optout.cli import main
from scrapy_optout.registry import LocalRegistry
from tests.registry.service import Service, run_service, write_registry

ORIGIN = "https://example.org"


@pytest.fixture
def entries(tmp_path: Path) -> Path:
    """The test registry's entries about example.org, as a CSV input file."""
    return write_registry(tmp_path, ORIGIN)


@pytest.fixture
def registry(tmp_path: Path, entries: Path) -> Path:
    """The entries compiled by ``registry build``."""
    output = tmp_path / "registry.sqlite"
    assert main(["registry", "build", str(entries), "-o", str(output)]) == 0
    return output


@pytest.fixture
def service(registry: Path) -> Iterator[Service]:
    """The reference service on 127.0.0.1, serving :func:`registry`."""
    yield from run_service(registry)


def test_build_reports_the_entries_it_compiled(tmp_path, entries, capsys):
    """Build prints the number of entries written, and the file holds exactly them."""
    output = tmp_path / "out.sqlite"
    assert main(["registry", "build", str(entries), "-o", str(output)]) == 0
    assert capsys.readouterr().out == f"5 entries -> {output}\n"
    registry = LocalRegistry(output)
    assert len(registry) == 5
    registry.close()


def test_build_merges_several_inputs(tmp_path, entries, capsys):
    """Build compiles CSV and JSON inputs into one registry."""
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"scope": "url", "value": "https://b.test/x"}]))
    output = tmp_path / "both.sqlite"
    assert main(["registry", "build", str(entries), str(extra), "-o", str(output)]) == 0
    assert capsys.readouterr().out.startswith("6 entries")


def test_build_names_a_malformed_entry_and_writes_nothing(tmp_path, capsys):
    """A malformed input exits 2 with a message naming the file, and leaves no output."""
    bad = tmp_path / "bad.csv"
    bad.write_text("scope,value\nplanet,earth\n")
    output = tmp_path / "never.sqlite"
    assert main(["registry", "build", str(bad), "-o", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("scrapy-optout registry build: error:")
    assert "bad.csv" in error
    assert not output.exists()
    assert list(tmp_path.glob(".registry-*")) == []


@pytest.mark.parametrize("source", ["sqlite", "csv"])
def test_lookup_lines_and_exit_code(source, registry, entries, capsys):
    """Lookup prints a tab-separated line per URL and exits 1 when one is reserved."""
    target = registry if source == "sqlite" else entries
    urls = [f"{ORIGIN}/archive/2020/x.html", f"{ORIGIN}/free.html", "https://www.reserved.test/"]
    assert main(["registry", "lookup", str(target), *urls]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{ORIGIN}/archive/2020/x.html\treserved\tprefix\t{ORIGIN}/archive/\ttrain-ai",
        f"{ORIGIN}/free.html\tfree",
        "https://www.reserved.test/\treserved\tdomain\treserved.test\tall",
    ]


def test_lookup_of_free_urls_exits_0(registry, capsys):
    """Lookup exits 0 when no URL is reserved; a permit (opt-in) entry is not a reservation."""
    assert main(["registry", "lookup", str(registry), f"{ORIGIN}/granted.html"]) == 0
    assert capsys.readouterr().out == f"{ORIGIN}/granted.html\tfree\n"


def test_lookup_purpose_filters_entries(registry, capsys):
    """--purpose counts only entries reserving that purpose."""
    url = f"{ORIGIN}/search/ai"
    assert main(["registry", "lookup", str(registry), "--purpose", "train-ai", url]) == 0
    assert main(["registry", "lookup", str(registry), "--purpose", "ai-input", url]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{url}\tfree", f"{url}\treserved\tprefix\t{url}\tai-input"]


def test_lookup_json_lists_every_entry(registry, capsys):
    """--json writes one object per URL with every covering entry, permits included."""
    urls = [f"{ORIGIN}/granted.html", f"{ORIGIN}/one.html"]
    assert main(["registry", "lookup", "--json", str(registry), *urls]) == 1
    granted, one = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert granted["reserved"] is False
    assert [e["permits"] for e in granted["entries"]] == [True]
    assert one == {
        "url": f"{ORIGIN}/one.html",
        "reserved": True,
        "entries": [{"scope": "url", "value": f"{ORIGIN}/one.html", "purposes": [],
                     "policy": None, "registered": None, "source": None, "permits": False}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lookup", "{missing}", "https://a.test/"], "no such registry file"),
        (["lookup", "--hashed", "{registry}", "https://a.test/"], "--hashed needs"),
        (["lookup", "http://127.0.0.1:9/", "--timeout", "1", "https://a.test/"], "could not answer"),
    ],
)
def test_lookup_errors_exit_2(argv, message, registry, tmp_path, capsys):
    """A missing file, --hashed on a file, or a service that cannot answer: exit 2, said why."""
    names = {"missing": str(tmp_path / "none.sqlite"), "registry": str(registry)}
    assert main(["registry", *(a.format(**names) for a in argv)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("scrapy-optout registry lookup: error:")
    assert message in error


@pytest.mark.parametrize("hashed", [False, True])
def test_lookup_against_the_service_matches_the_file(hashed, service, registry, capsys):
    """Lookup over HTTP (plain or hashed) prints what the file answers."""
    urls = [f"{ORIGIN}/archive/a", f"{ORIGIN}/free.html", "https://reserved.test/x"]
    assert main(["registry", "lookup", str(registry), *urls]) == 1
    from_file = capsys.readouterr().out
    extra = ["--hashed"] if hashed else []
    assert main(["registry", "lookup", *extra, service.root, *urls]) == 1
    assert capsys.readouterr().out == from_file


def test_serve_prints_its_address_and_stops_on_sigterm(registry):
    """Serve prints the address it listens on, answers there, and exits cleanly on SIGTERM."""
    import httpx

    service = Service(registry)
    try:
        answer = httpx.post(service.root + "/v1/lookup", json={"urls": [f"{ORIGIN}/one.html"]})
        assert answer.status_code == 200
        assert answer.json()["results"][0]["entries"][0]["value"] == f"{ORIGIN}/one.html"
        service.process.terminate()
        assert service.process.wait(10) == 0
    finally:
        service.stop()


def test_serve_a_missing_file_exits_2(tmp_path):
    """Serve on a missing registry exits 2 naming the file."""
    missing = tmp_path / "none.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "scrapy_optout.cli", "registry", "serve", str(missing),
         "--port", "0"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert str(missing) in done.stderr
    assert "no such registry file" in done.stderr
