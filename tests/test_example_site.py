"""The example web (examples/site): well formed, served as described, and never over-fetched."""

from __future__ import annotations

import socket
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest
from lxml import html as lxml_html

from scrapy_optout.audit import read, verify
from tests.example_web import EXAMPLES, ExampleWeb, free_base, web

ORIGINS = web.build(lambda name: f"http://127.0.0.1:1/{name}")
VISITED_EXPECTS = {None, "licence"}


def references(resource: web.Resource) -> set[str]:
    """The link targets and image sources of an HTML resource."""
    tree = lxml_html.fromstring(resource.body)
    return {str(v) for v in tree.xpath("//a/@href | //img/@src")}


@pytest.mark.parametrize("origin", ORIGINS, ids=lambda o: o.name)
def test_every_image_and_file_hangs_off_a_collected_page(origin):
    """Each visited non-HTML resource is referenced by an allowed page of its origin."""
    allowed_refs = set().union(*(references(r) for r in origin.resources
                                 if r.content_type == web.HTML and r.expect in VISITED_EXPECTS))
    for resource in origin.resources:
        if resource.visited and resource.content_type != web.HTML:
            assert resource.path in allowed_refs, resource.path


def test_the_portal_links_every_page_of_every_origin():
    """The portal's home links every visited HTML page, so one start URL reaches them all."""
    portal = ORIGINS[0]
    home = portal.find("/")
    assert home is not None
    links = {urlsplit(u).path if u.startswith("/") else u for u in references(home)}
    for origin in ORIGINS[1:]:
        base = f"http://127.0.0.1:1/{origin.name}"
        for resource in origin.resources:
            if resource.visited and resource.content_type == web.HTML:
                assert base + resource.path in links, (origin.name, resource.path)


def test_expectations_cover_every_reason_code_a_site_can_show():
    """The declared outcomes span the request- and response-stage codes and a licence."""
    codes = set(web.expected(ORIGINS))
    assert codes >= {"robots_disallow", "robots_ai_agents", "robots_unreachable", "tdmrep_file",
                     "tdmrep_header", "tdmrep_meta", "noai_header", "noai_meta", "noimageai",
                     "content_usage", "content_signal", "ai_txt", "registry", "rsl_licence",
                     "iptc", "tdmrep_pdf", "licence", "allow"}  # fmt: skip


def test_expected_refuses_a_sample_that_is_not_a_page():
    """A sample URL the web does not have is named in a ValueError."""
    with pytest.raises(ValueError, match="HTTPX_SAMPLE: portal/nowhere"):
        web.expected(ORIGINS, [("portal", "/nowhere")])


def test_served_as_described_with_404_elsewhere(tmp_path):
    """Each origin answers its resources with their status, type and headers; 404 otherwise."""
    with ExampleWeb() as site, httpx.Client() as client:
        for origin in site.origins:
            for resource in origin.resources:
                response = client.get(site.url(origin.name, resource.path))
                assert response.status_code == resource.status
                assert response.content == resource.body
                assert response.headers["content-type"] == resource.content_type
                for name, value in resource.headers:
                    assert response.headers[name] == value
        assert client.get(site.url("portal", "/missing")).status_code == 404
        registry, licences = site.write_config(tmp_path)
        assert site.url("registry", "/portfolio/") in registry.read_text()
        assert site.url("licensed", "/") in licences.read_text()
        assert ("portal", "/missing") in site.requests


def test_a_fixed_first_port_gives_consecutive_ports_and_all_close_on_exit():
    """ExampleWeb(port=P) serves on P, P+1…; leaving the context frees every port."""
    base = free_base(len(web.ORIGINS))
    with ExampleWeb(base) as site:
        ports = [urlsplit(site.urls[name]).port for name in web.ORIGINS]
        assert ports == list(range(base, base + len(web.ORIGINS)))
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)


def test_a_crawl_sends_nothing_that_was_skipped_before_the_request(tmp_path):
    """The project's crawl sends no request-stage skip, each side document once, as declared."""
    log = tmp_path / "audit.jsonl"
    with ExampleWeb() as site:
        registry, licences = site.write_config(tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "pages", "-a",
             f"start={site.url('portal')}", "-s", f"OPTOUT_AUDIT_LOG={log}",
             "-s", f"OPTOUT_REGISTRY={registry}", "-s", f"OPTOUT_LICENCES={licences}"],
            cwd=EXAMPLES / "scrapy_project", capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        names = {url: name for name, url in site.urls.items()}
        requested = [(name, path) for name, path in site.requests]
    records = list(read(str(log)))
    assert verify(str(log)).ok
    for record in records:
        parts = urlsplit(record["url"])
        key = (names[f"{parts.scheme}://{parts.netloc}"], parts.path)
        sent = requested.count(key)
        if record["stage"] == "request":
            assert sent == 0, key  # decided before anything was sent
        else:
            assert sent == 1, key
        declared = next(o for o in site.origins if o.name == key[0]).find(key[1])
        assert declared is not None
        codes = [reason["code"] for reason in record["reasons"]]
        assert (codes[0] if record["action"] == "skip" else None) == (
            None if declared.expect in VISITED_EXPECTS else declared.expect), key
    for name in web.ORIGINS:  # one fetch per origin and document at most (Scrapy retries a 503)
        assert requested.count((name, "/robots.txt")) == (3 if name == "down" else 1), name
        for document in ("/.well-known/tdmrep.json", "/ai.txt"):
            assert requested.count((name, document)) <= 1, (name, document)


def test_origins_list_names_each_built_origin_once():
    """ORIGINS (the port order) names exactly the origins build() describes, portal first."""
    assert [o.name for o in ORIGINS] == list(web.ORIGINS)
