"""``scrapy-optout check``: real runs of the command against a local site (DESIGN §5.2, §7)."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from scrapy_optout.cli import DEFAULT_CHECK_AGENT, build_parser, http_url, printable, seconds

HTML = "text/html; charset=utf-8"
PAGE = "<!doctype html><html><head><title>t</title></head><body><p>hello</p></body></html>"


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    """One threaded local server on 127.0.0.1 for this module."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


@pytest.fixture
def site(server: HTTPServer) -> HTTPServer:
    """A fresh site: robots.txt allowing all, no tdmrep.json, no ai.txt.

    Each run of the command is a new process, so nothing is cached between tests.
    """
    server.clear()
    serve_origin(server)
    return server


def serve_origin(
    server: HTTPServer, robots: str = "User-agent: *\nAllow: /\n", robots_status: int = 200
) -> None:
    """Serve the origin documents the check fetches before the page."""
    server.expect_request("/robots.txt").respond_with_data(
        robots, status=robots_status, content_type="text/plain"
    )
    server.expect_request("/.well-known/tdmrep.json").respond_with_data("", status=404)
    server.expect_request("/ai.txt").respond_with_data("", status=404)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scrapy_optout.cli ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy_optout.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def paths(server: HTTPServer) -> list[str]:
    """The paths the server was asked for, in order."""
    return [request.path for request, _ in server.log]


def free_port() -> int:
    """A local port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_allowed_page_exits_0(site: HTTPServer) -> None:
    """An allowed page prints action allow at the response stage with its status, and exits 0."""
    site.expect_request("/article").respond_with_data(PAGE, content_type=HTML)
    out = run("check", site.url_for("/article"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"url: {site.url_for('/article')}" in lines
    assert "action: allow" in lines
    assert "stage: response" in lines
    assert "status: HTTP 200" in lines
    assert not any(line.startswith("reason:") for line in lines)
    assert out.stderr == ""


def test_robots_disallowed_page_exits_1_and_is_never_requested(server: HTTPServer) -> None:
    """A robots.txt Disallow skips at the request stage with robots_disallow; the page is not sent."""
    server.clear()
    serve_origin(server, robots="User-agent: *\nDisallow: /private/\n")
    server.expect_request("/private/page").respond_with_data(PAGE, content_type=HTML)
    out = run("check", server.url_for("/private/page"))
    assert out.returncode == 1, out.stderr
    assert "action: skip" in out.stdout
    assert "stage: request (nothing was sent)" in out.stdout
    reason = next(line for line in out.stdout.splitlines() if line.startswith("reason:"))
    assert reason.startswith("reason: robots_disallow [robots] ")
    assert server.url_for("/robots.txt") in reason
    assert "Disallow: /private/" in reason
    assert "/private/page" not in paths(server)


def test_json_output_has_the_decision_fields(site: HTTPServer) -> None:
    """--json prints one object with url, allowed, action, stage, reasons, licensing, errors."""
    site.expect_request("/noai").respond_with_data(
        PAGE, content_type=HTML, headers={"X-Robots-Tag": "noai"}
    )
    url = site.url_for("/noai")
    out = run("check", url, "--json")
    assert out.returncode == 1, out.stderr
    assert len(out.stdout.splitlines()) == 1
    data = json.loads(out.stdout)
    assert data["url"] == url
    assert data["allowed"] is False
    assert data["action"] == "skip"
    assert data["stage"] == "response"
    assert data["status"] == 200
    assert data["agent"] == DEFAULT_CHECK_AGENT
    assert data["purpose"] == "train-ai"
    assert data["licensing"] == []
    assert data["errors"] == []
    [reason] = data["reasons"]
    assert {"code", "signal", "source", "detail", "policy_url"} <= reason.keys()
    assert reason["code"] == "noai_header"
    assert reason["signal"] == "noai"
    assert reason["source"] == url
    assert "noai" in reason["detail"]
    assert reason["policy_url"] is None


def test_json_allowed_page(site: HTTPServer) -> None:
    """--json on an allowed page: allowed true, action allow, no reasons, exit 0."""
    site.expect_request("/ok").respond_with_data(PAGE, content_type=HTML)
    out = run("check", site.url_for("/ok"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["allowed"], data["action"], data["reasons"]) == (True, "allow", [])


def test_policy_url_is_printed_and_listed_as_licensing(site: HTTPServer) -> None:
    """A tdm-reservation header with a tdm-policy prints the reason's policy URL and a licensing lead."""
    policy = "https://rights.example/tdm-policy.json"
    site.expect_request("/reserved").respond_with_data(
        PAGE, content_type=HTML, headers={"tdm-reservation": "1", "tdm-policy": policy}
    )
    out = run("check", site.url_for("/reserved"))
    assert out.returncode == 1, out.stderr
    reason = next(line for line in out.stdout.splitlines() if line.startswith("reason:"))
    assert reason.startswith("reason: tdmrep_header [tdmrep] ")
    assert reason.endswith(f"(policy: {policy})")
    assert f"licensing: {policy}" in out.stdout.splitlines()
    assert "status: HTTP 200" in out.stdout


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "example.org/page",
        "/relative/path",
        "relative/path",
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "mailto:someone@example.org",
        "http:///no-host",
        "http://:8080/no-host",
        "https://",
        "http://127.0.0.1:99999/bad-port",
        "",
    ],
    ids=["words", "no-scheme", "relative", "relative-bare", "ftp", "file", "mailto", "hostless",
         "hostless-port", "scheme-only", "bad-port", "empty"],
)
def test_not_an_absolute_http_url_exits_2(url: str) -> None:
    """A URL that is not absolute http(s) with a host exits 2 with a message, printing nothing."""
    out = run("check", url)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "not an absolute http(s) URL with a host" in out.stderr


def test_unreachable_port_exits_2() -> None:
    """An origin that refuses the connection is an error (exit 2), not a skip."""
    url = f"http://127.0.0.1:{free_port()}/page"
    out = run("check", url, "--timeout", "5")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "cannot connect" in out.stderr
    assert "ConnectError" in out.stderr


def test_redirect_to_an_unreachable_origin_exits_2(site: HTTPServer) -> None:
    """A redirect hop to an origin that refuses connections is an error too."""
    target = f"http://127.0.0.1:{free_port()}/moved"
    site.expect_request("/old").respond_with_data("", status=302, headers={"Location": target})
    out = run("check", site.url_for("/old"), "--timeout", "5")
    assert out.returncode == 2
    assert "cannot connect" in out.stderr


def test_network_error_on_the_page_exits_2(site: HTTPServer) -> None:
    """A page whose connection drops without a response: exit 2 with the error on stderr."""

    def hang_up(request: Request) -> Response:
        request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return Response(b"")

    site.expect_request("/drop").respond_with_handler(hang_up)
    out = run("check", site.url_for("/drop"))
    assert out.returncode == 2
    assert out.stdout == ""
    assert "cannot fetch" in out.stderr
    assert "RemoteProtocolError" in out.stderr
    # The server logs the request after hanging up: wait for it, so no later test's log sees it.
    deadline = time.monotonic() + 5
    while "/drop" not in paths(site) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "/drop" in paths(site)


def test_page_timeout_exits_2() -> None:
    """A page that does not answer within --timeout is an error (exit 2)."""

    def stall(request: Request) -> Response:
        time.sleep(1.5)
        return Response(PAGE, content_type=HTML)

    # A server of its own: the stalled answer is logged late and must not reach other tests' logs.
    slow = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    slow.start()
    try:
        serve_origin(slow)
        slow.expect_request("/slow").respond_with_handler(stall)
        out = run("check", slow.url_for("/slow"), "--timeout", "0.5")
    finally:
        slow.clear()
        slow.stop()
    assert out.returncode == 2
    assert out.stdout == ""
    assert "ReadTimeout" in out.stderr


def test_robots_503_is_a_skip_not_an_error(server: HTTPServer) -> None:
    """A reachable origin whose robots.txt answers 503 is skipped (robots_unreachable, exit 1)."""
    server.clear()
    serve_origin(server, robots="busy", robots_status=503)
    server.expect_request("/page").respond_with_data(PAGE, content_type=HTML)
    out = run("check", server.url_for("/page"))
    assert out.returncode == 1, out.stderr
    assert "reason: robots_unreachable [robots]" in out.stdout
    assert "/page" not in paths(server)


def test_default_token_is_documented_sent_and_matched(server: HTTPServer) -> None:
    """Without --user-agent the documented default token is matched in robots.txt and sent."""
    server.clear()
    serve_origin(server, robots=f"User-agent: {DEFAULT_CHECK_AGENT}\nDisallow: /\n")
    assert run("check", server.url_for("/a")).returncode == 1
    agents = {request.headers.get("User-Agent") for request, _ in server.log}
    assert agents == {DEFAULT_CHECK_AGENT}
    assert DEFAULT_CHECK_AGENT in run("check", "--help").stdout


def test_default_token_reaches_the_page(site: HTTPServer) -> None:
    """The page request itself carries the default token as its User-Agent."""
    site.expect_request("/page").respond_with_data(PAGE, content_type=HTML)
    assert run("check", site.url_for("/page")).returncode == 0
    [page] = [request for request, _ in site.log if request.path == "/page"]
    assert page.headers.get("User-Agent") == DEFAULT_CHECK_AGENT


def test_user_agent_selects_its_robots_group(server: HTTPServer) -> None:
    """--user-agent T is the token robots.txt groups are matched against, and is sent."""
    server.clear()
    serve_origin(server, robots="User-agent: MyAIBot\nDisallow: /\n")
    server.expect_request("/page").respond_with_data(PAGE, content_type=HTML)
    mine = run("check", server.url_for("/page"), "--user-agent", "MyAIBot")
    assert mine.returncode == 1, mine.stderr
    assert "robots_disallow" in mine.stdout
    assert "agent: MyAIBot" in mine.stdout
    assert "/page" not in paths(server)
    assert {request.headers.get("User-Agent") for request, _ in server.log} == {"MyAIBot"}
    assert run("check", server.url_for("/page")).returncode == 0


def test_bad_user_agent_exits_2(site: HTTPServer) -> None:
    """A --user-agent that is not a product token exits 2 naming the field."""
    out = run("check", site.url_for("/page"), "--user-agent", "***")
    assert out.returncode == 2
    assert "user_agent" in out.stderr
    assert paths(site) == []  # refused before any network use


@pytest.mark.parametrize(("purpose", "code"), [("train-ai", 1), ("search", 0)])
def test_purpose_changes_the_decision(site: HTTPServer, purpose: str, code: int) -> None:
    """--purpose is applied: noai reserves train-ai but not search."""
    site.expect_request("/noai").respond_with_data(
        PAGE, content_type=HTML, headers={"X-Robots-Tag": "noai"}
    )
    out = run("check", site.url_for("/noai"), "--purpose", purpose, "--json")
    assert out.returncode == code, out.stderr
    assert json.loads(out.stdout)["purpose"] == purpose


@pytest.mark.parametrize(
    "args",
    [
        ["check", "http://127.0.0.1/", "--purpose", "training"],
        ["check", "http://127.0.0.1/", "--timeout", "0"],
        ["check", "http://127.0.0.1/", "--timeout", "-1"],
        ["check", "http://127.0.0.1/", "--timeout", "soon"],
        ["check", "http://127.0.0.1/", "--timeout", "nan"],
        ["check"],
        [],
        ["frobnicate"],
    ],
    ids=["bad-purpose", "zero-timeout", "negative-timeout", "word-timeout", "nan-timeout",
         "no-url", "no-command", "unknown-command"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    """Bad options and missing arguments exit 2 with a usage message, before any network use."""
    out = run(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "usage: scrapy-optout" in out.stderr


def test_remote_text_cannot_drive_the_terminal(site: HTTPServer) -> None:
    """Control characters from the site are printed escaped, never raw."""
    head = '<meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="x&#27;[31m">'
    site.expect_request("/esc").respond_with_data(
        PAGE.replace("<title>", head + "<title>"), content_type=HTML
    )
    out = run("check", site.url_for("/esc"))
    assert out.returncode == 1, out.stderr
    assert "tdmrep_meta" in out.stdout
    assert "\x1b" not in out.stdout
    assert "\\x1b[31m" in out.stdout


def test_console_script_is_installed() -> None:
    """The scrapy-optout console script exists (setup.cfg entry point) and answers --version."""
    script = Path(sys.executable).with_name("scrapy-optout")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert out.stdout.startswith("scrapy-optout ")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("http://example.org/", True),
        ("HTTPS://Example.org:8443/a?b=c", True),
        ("http://[::1]:8080/", True),
        ("http://xn--bcher-kva.example/", True),
        ("http://exa mple.org/", False),
        ("http://example.org/\n", False),
        ("ws://example.org/", False),
        ("//example.org/a", False),
        ("http://[::1/", False),
    ],
    ids=["plain", "upper-scheme-port", "ipv6", "idna", "space", "newline", "ws",
         "scheme-relative", "broken-ipv6"],
)
def test_http_url_type(text: str, ok: bool) -> None:
    """The URL argument type accepts absolute http(s) URLs with a host and nothing else."""
    if ok:
        assert http_url(text) == text
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            http_url(text)


@pytest.mark.parametrize(
    ("text", "value"), [("1", 1.0), ("0.25", 0.25), ("0", None), ("inf", None), ("x", None)]
)
def test_seconds_type(text: str, value: float | None) -> None:
    """--timeout takes a positive finite number of seconds."""
    if value is None:
        with pytest.raises(argparse.ArgumentTypeError):
            seconds(text)
    else:
        assert seconds(text) == value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text", "plain text"),
        ("red\x1b[31m", "red\\x1b[31m"),
        ("bidi\u202eevil", "bidi\\u202eevil"),
        ("tab\there", "tab\\there"),
        ("café", "café"),
    ],
    ids=["plain", "escape", "bidi", "tab", "unicode"],
)
def test_printable(text: str, shown: str) -> None:
    """Control and format characters are escaped; other text is kept as is."""
    assert printable(text) == shown


def test_parser_has_check_subcommand() -> None:
    """The parser routes `check` to its handler and keeps the documented defaults."""
    args = build_parser().parse_args(["check", "http://example.org/"])
    assert args.command == "check"
    assert callable(args.handler)
    assert (args.user_agent, args.purpose, args.json) == (DEFAULT_CHECK_AGENT, "train-ai", False)
    assert args.timeout > 0
