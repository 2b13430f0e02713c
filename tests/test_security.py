"""Security checks of issue 11 D: no shell or SQL injection, a strict service, an escaped report.

* Static: the AST of every module of the package has no ``subprocess``/``os.system``/``eval``/
  ``exec`` on anything but constants, no ``shell=True``, and every SQLite ``execute`` gets SQL
  built from constants and ``?`` marks only.
* The registry service (``scrapy-optout registry serve``) answers hostile requests with 4xx, never
  5xx (what ``tests/registry/test_server.py`` already covers is not repeated here).
* The HTML report (``scrapy-optout log report``) renders script injection in URLs, header values,
  reasons, sources, policy and licensing URLs and errors as text, and links only http(s).
* Side-document redirects to ``file:``, ``ftp:``, ``data:``, ``gopher:``... are never followed, by
  the httpx fetch layer (``_fetch.py``) or the Scrapy one (``_scrapy_fetch.py``).
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from scrapy import Request
from scrapy.http import Response

import scrapy_optout
from scrapy_optout import _scrapy_fetch
from scrapy_optout._core.documents import State, document_from_fetch
from scrapy_optout._core.models import Decision, Doc, Need, Reason
from scrapy_optout._core.policy import Policy
from scrapy_optout._core.response import evaluate_response
from scrapy_optout._fetch import afetch, fetch
from scrapy_optout.audit import AuditWriter
from scrapy_optout.cli import main as cli_main
from scrapy_optout.registry.local import build
from tests.registry.service import Service, write_registry

PACKAGE = Path(scrapy_optout.__file__).parent

# --- static: shells, eval and SQL ----------------------------------------------------------------------

_SHELL_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
                ("os", "execl"), ("os", "spawnl"), ("os", "spawnv"), ("os", "startfile")}  # fmt: skip
_EVALS = {"eval", "exec", "compile", "__import__"}
_SPAWNS = {"Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}
_SQL_METHODS = {"execute", "executemany", "executescript"}
_MARKS = re.compile(r"[?, ()]*")


def _constant_names(tree: ast.Module) -> set[str]:
    """Module-level names bound to string constants (or to text built only from such constants)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) for t in targets) and _constant(node.value, names):
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _constant(node: ast.AST, names: set[str], marks: frozenset[str] = frozenset()) -> bool:
    """Whether *node* is text fixed by the code: literals, module constants, ``?`` mark lists."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes | int | float | bool) or node.value is None
    if isinstance(node, ast.Name):
        return node.id in names or node.id in marks
    if isinstance(node, ast.JoinedStr):
        return all(_constant(v, names, marks) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        return node.format_spec is None and _constant(node.value, names, marks)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _constant(node.left, names, marks) and _constant(node.right, names, marks)
    if isinstance(node, ast.List | ast.Tuple):
        return all(_constant(e, names, marks) for e in node.elts)
    return False


def _question_marks(node: ast.AST) -> bool:
    """Whether *node* builds placeholders only: ``",".join("?" * n)`` or ``", ".join(["?"] * n)``."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "join"
        and isinstance(node.func.value, ast.Constant)
        and _MARKS.fullmatch(str(node.func.value.value))
        and len(node.args) == 1
    ):
        return False
    arg = node.args[0]
    if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mult):
        mark = arg.left
        if isinstance(mark, ast.List) and len(mark.elts) == 1:
            mark = mark.elts[0]
        return isinstance(mark, ast.Constant) and mark.value == "?"
    if isinstance(arg, ast.GeneratorExp | ast.ListComp):
        return isinstance(arg.elt, ast.Constant) and arg.elt.value == "?"
    return False


def _marks_in(function: ast.AST) -> frozenset[str]:
    """Local names of *function* assigned once, to a placeholder list (see :func:`_question_marks`)."""
    bound: dict[str, list[ast.AST]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    bound.setdefault(t.id, []).append(node.value)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound.setdefault(node.target.id, []).append(node)  # re-bound: not a constant
    return frozenset(n for n, vs in bound.items() if len(vs) == 1 and _question_marks(vs[0]))


def violations(source: str, where: str = "<source>") -> list[str]:
    """Every shell, eval/exec and SQL call of *source* on anything but fixed text."""
    tree = ast.parse(source)
    names = _constant_names(tree)
    found: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    scope: dict[int, frozenset[str]] = {}
    for function in functions:  # innermost wins: walk order visits outer functions first
        marks = _marks_in(function)
        for node in ast.walk(function):
            scope[id(node)] = marks
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if any(m and m.split(".")[0] in {"subprocess", "pty", "commands"} for m in modules):
                found.append(f"{where}:{node.lineno}: imports a process-spawning module")
        if not isinstance(node, ast.Call):
            continue
        line = f"{where}:{node.lineno}"
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        for k in node.keywords:  # shell=True anywhere; shell=<data> on a process call
            literal = isinstance(k.value, ast.Constant)
            spawns = callee in _SPAWNS
            if k.arg == "shell" and ((literal and k.value.value) or (spawns and not literal)):
                found.append(f"{line}: {callee}(shell=...)")
        args_fixed = all(_constant(a, names) for a in node.args)
        if isinstance(func, ast.Name) and func.id in _EVALS and not args_fixed:
            found.append(f"{line}: {func.id}() of a non-constant")
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if (owner, func.attr) in _SHELL_CALLS:
                found.append(f"{line}: {owner}.{func.attr}()")
            if owner == "subprocess" and not args_fixed:
                found.append(f"{line}: subprocess.{func.attr}() of a non-constant")
            if func.attr in _SQL_METHODS and node.args:
                marks = scope.get(id(node), frozenset())
                if not _constant(node.args[0], names, marks):
                    found.append(f"{line}: {func.attr}() of SQL built from data: {ast.unparse(node.args[0])}")
            if func.attr == "eval" and node.args and not _constant(node.args[0], names):
                found.append(f"{line}: .eval() of a non-constant script")
    return found


def test_the_package_spawns_no_shell_and_builds_sql_from_constants_and_marks_only():
    """Every module: no shell or eval on data, SQL text only from constants and ``?`` marks."""
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 40
    found = [v for path in modules for v in violations(path.read_text("utf-8"), str(path))]
    assert found == []
    local = (PACKAGE / "registry" / "local.py").read_text("utf-8")
    assert "f\"SELECT {_COLUMNS} FROM entries WHERE key IN ({marks})\"" in local  # still checked


@pytest.mark.parametrize(
    "code",
    [
        'def f(db, value):\n    db.execute(f"SELECT * FROM t WHERE k = {value}")',
        'def f(db, value):\n    db.execute("SELECT * FROM t WHERE k = " + value)',
        'def f(db, value):\n    db.execute("SELECT * FROM t WHERE k = %s" % value)',
        'def f(cursor, name):\n    cursor.executemany(f"INSERT INTO {name} VALUES (?)", [])',
        'def f(db, keys):\n    marks = ",".join(keys)\n    db.execute(f"SELECT 1 WHERE k IN ({marks})")',
        'def f(db, n, v):\n    marks = ",".join("?" * n)\n    marks += v\n    db.execute(f"{marks}")',
        "import subprocess\nsubprocess.run(['ls', path])",
        "import os\nos.system('ls ' + path)",
        "import os\nos.popen('ls')",
        "subprocess.call('ls', shell=True)",
        "eval(text)",
        "exec(compile(text, 'x', 'exec'))",
    ],
)
def test_the_static_check_catches_injection(code):
    """The checker flags SQL from data, shells and eval (so the package test cannot pass vacuously)."""
    assert violations(code)


def test_the_static_check_allows_constants_and_placeholder_lists():
    """Constant SQL, module constants and ``?`` lists pass, as registry/local.py writes them."""
    code = (
        'COLS = "a, b"\nSCHEMA = """CREATE TABLE t(a)"""\n'
        "def f(db, keys, prefix):\n"
        '    marks = ",".join("?" * len(keys))\n'
        '    db.execute(f"SELECT {COLS} FROM t WHERE k IN ({marks})", keys)\n'
        '    db.execute("SELECT a FROM t WHERE b = ?", (prefix,))\n'
        "    db.executescript(SCHEMA)\n"
        "    pipe.execute()\n"
    )
    assert violations(code) == []


# --- the registry service: hostile requests are 4xx ------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``scrapy-optout registry serve`` over a small registry; its root URL."""
    folder = tmp_path_factory.mktemp("registry")
    compiled = folder / "registry.sqlite"
    build([write_registry(folder, "https://pages.test")], compiled)
    running = Service(compiled)
    yield running.root
    running.stop()


def _raw(root: str, request: bytes) -> bytes:
    """Send *request* as it is and return the status line of the answer."""
    host, port = root.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10.0) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/lookup", b'{"urls":' + DEEP + b"}"),
        ("/v1/lookup-hashed", b'{"prefixes":' + DEEP + b"}"),
        ("/v1/lookup", b'{"urls": [], "n": ' + b"7" * 5000 + b"}"),
        ("/v1/lookup-hashed", b'{"prefixes": [' + b"7" * 5000 + b"]}"),
        ("/v1/lookup", b'{"urls": ["https://a.test/\\ud800"]}'),
        ("/v1/lookup", b'{"urls": ["https://\\udfff.test/"]}'),
        ("/v1/lookup", b'{"urls": [{"$ne": 1}]}'),
        ("/v1/lookup", b'{"urls": [true, null]}'),
        ("/v1/lookup", b'{"urls": {"0": "https://a.test/"}}'),
        ("/v1/lookup", b'{"urls": ["https://a.test/"], "urls": 5}'),
        ("/v1/lookup", b"\x00\x01\x02"),
        ("/v1/lookup", b""),
        ("/v1/lookup-hashed", b'{"prefixes": "abcdef01"}'),
    ],
    ids=["deep", "deep-hashed", "long-int", "long-int-hashed", "surrogate", "surrogate-host",
         "object-url", "bool-url", "object-list", "duplicate-key", "binary", "empty",
         "prefixes-string"],
)  # fmt: skip
def test_malformed_bodies_are_400_never_5xx(service, path, body):
    """Too deep, 5000-digit numbers, lone surrogates, wrong types: a JSON 400, never a 500/503."""
    response = httpx.post(service + path, content=body, timeout=30.0)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]
    assert httpx.post(service + "/v1/lookup", json={"urls": []}, timeout=10.0).status_code == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_other_methods_are_405(service, method):
    """Every method but the protocol's is a 405 naming the method, on every path."""
    for path in ("/v1/lookup", "/v1/lookup-hashed", "/v1/snapshot"):
        response = httpx.request(method, service + path, timeout=10.0)
        assert response.status_code == 405, (method, path, response.status_code)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"POST /v1/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /v1/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"GARBAGE\r\n\r\n",
    ],
    ids=["length-words", "length-negative", "two-lengths", "bad-chunk", "huge-header",
         "huge-path", "huge-length", "garbage"],
)  # fmt: skip
def test_malformed_http_is_4xx_never_5xx(service, request_bytes):
    """Bad lengths, bad chunks, oversized header lines and paths: a 4xx status line, never 5xx."""
    status = _raw(service, request_bytes)
    assert re.fullmatch(rb"HTTP/1\.[01] 4\d\d .*", status), status
    assert httpx.post(service + "/v1/lookup", json={"urls": []}, timeout=10.0).status_code == 200


# --- the HTML report: every value escaped, only http(s) linked -------------------------------------------

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
JS = "javascript:alert(1)"
PAYLOADS = (SCRIPT, BREAKOUT, JS)


class _Tags(HTMLParser):
    """The tags and attributes of a page, as a browser's tokenizer reads them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text += data


def _hostile_log(path: Path) -> None:
    """A log whose every text field holds script injection, written as a crawl would write it."""
    policy = Policy(user_agent="MyAIBot")
    headers = [
        ("X-Robots-Tag", f"noai, {SCRIPT}"),
        ("tdm-reservation", "1"),
        ("tdm-policy", f"https://e.test/{BREAKOUT.replace(' ', '')}"),
        ("Link", f'<{JS}>; rel="license"'),
        ("Link", f'<https://e.test/{SCRIPT}>; rel="license"; type="application/rsl+xml"'),
        ("Content-Usage", f"train-ai=n, x={SCRIPT}"),
        ("Content-Type", "text/html"),
    ]
    body = (
        f'<head><meta name="tdm-policy" content="{JS}"><link rel="license" href="{JS}">'
        f'<meta name="robots" content="noai, {SCRIPT.replace("<", "&lt;")}"></head>'
    ).encode()
    from_headers = evaluate_response(f"https://e.test/{SCRIPT}", 200, headers, body, policy)
    assert not from_headers.allowed
    crafted = Decision(
        f"https://e.test/p?q={BREAKOUT}",
        False,
        "skip",
        SCRIPT,
        (
            Reason(SCRIPT, BREAKOUT, JS, f"{SCRIPT}{BREAKOUT}", JS),
            Reason("registry", "registry", f"https://e.test/{SCRIPT}", JS, f"data:text/html,{SCRIPT}"),
        ),
        licensing=(JS, f" {JS}", "java\tscript:alert(1)", f"https://e.test/{BREAKOUT}", "//e.test/x"),
        errors=(SCRIPT, BREAKOUT),
    )
    with AuditWriter(path, agent=BREAKOUT, purpose=SCRIPT, policy="p" * 64, run=SCRIPT,
                     worker=BREAKOUT) as writer:  # fmt: skip
        writer.write(from_headers)
        writer.write(crafted)
        writer.write(Decision(JS, False, "skip", "request", (Reason(SCRIPT, JS, JS, JS),)))


@pytest.fixture
def report(tmp_path: Path) -> str:
    """``scrapy-optout log report`` of the hostile log."""
    log = tmp_path / f"{SCRIPT.replace('/', '')}.jsonl"
    _hostile_log(log)
    out = tmp_path / "report.html"
    assert cli_main(["log", "report", str(log), "-o", str(out)]) == 0
    return out.read_text("utf-8")


def test_report_renders_script_injection_as_text(report):
    """No tag, event handler or script from the data: the page's two scripts are its own."""
    page = _Tags(report)
    assert len(re.findall(r"<script\b", report, re.IGNORECASE)) == 2
    assert [t for t, _ in page.tags if t == "script"] == ["script", "script"]
    assert [t for t, _ in page.tags if t in {"img", "iframe", "object", "embed", "base", "form"}] == []
    assert [(t, k) for t, a in page.tags for k in a if k.startswith("on")] == []
    assert re.search(r"<img|<script>alert", report, re.IGNORECASE) is None
    assert SCRIPT in page.text  # the values are there, as text
    assert BREAKOUT in page.text


def test_report_links_only_http_urls(report):
    """Every href/src is http(s): javascript:, data:, // and disguised schemes stay text."""
    page = _Tags(report)
    links = [str(v) for _, a in page.tags for k, v in a.items() if k in {"href", "src", "action"}]
    assert links, "the report should link its http(s) licensing leads"
    assert all(re.match(r"https?://", v, re.IGNORECASE) for v in links), links
    assert re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|data|//)", report, re.IGNORECASE) is None
    assert JS in page.text
    assert f"data:text/html,{SCRIPT}" in page.text


def test_report_json_keeps_its_script_element_closed(report):
    """The skipped-URL JSON cannot end its element: no ``<``, ``>`` or ``&`` inside it."""
    data = report.split('<script type="application/json" id="skips">', 1)[1].split("</script>")[0]
    assert re.search("[<>&]", data) is None
    assert any(SCRIPT in row[0] for row in json.loads(data))


# --- side documents never leave HTTP(S) -----------------------------------------------------------------

ELSEWHERE = [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    " file:///etc/passwd",
    "\tfile:///etc/passwd",
    "file:/etc/passwd",
    "ftp://127.0.0.1/robots.txt",
    "data:text/plain,User-agent: *%0AAllow: /",
    "gopher://127.0.0.1:70/1",
    "javascript:alert(1)",
    "jar:file:///x.jar!/robots.txt",
    "s3://bucket/robots.txt",
]
DOCS = [
    Need(Doc.ROBOTS, "https://e.org/robots.txt", "https://e.org:443"),
    Need(Doc.TDMREP, "https://e.org/.well-known/tdmrep.json", "https://e.org:443"),
    Need(Doc.AI_TXT, "https://e.org/ai.txt", "https://e.org:443"),
]
ALLOW_ALL = b"User-agent: *\nAllow: /\n"


def _hops(location: str) -> dict[str, str]:
    """An http redirect chain ending in a redirect to *location*."""
    return {
        "https://e.org/robots.txt": "https://cdn.e.org/r1",
        "https://e.org/.well-known/tdmrep.json": "https://cdn.e.org/r1",
        "https://e.org/ai.txt": "https://cdn.e.org/r1",
        "https://cdn.e.org/r1": location,
    }


@pytest.mark.parametrize("location", ELSEWHERE)
@pytest.mark.parametrize("need", DOCS, ids=lambda n: n.doc)
def test_httpx_fetch_never_follows_a_redirect_out_of_http(need, location):
    """The httpx fetch layer (sync and async) asks nothing of another scheme: refused, unread."""
    asked: list[str] = []
    hops = _hops(location)

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if str(request.url) in hops:
            return httpx.Response(302, headers={"Location": hops[str(request.url)]})
        return httpx.Response(200, content=ALLOW_ALL)  # reached only if the refusal failed

    sync = fetch(httpx.MockTransport(handler), need, "MyAIBot", 5.0)
    async_ = asyncio.run(afetch(httpx.MockTransport(handler), need, "MyAIBot", 5.0))
    for fetched in (sync, async_):
        assert (fetched.error, fetched.url, fetched.body) == ("scheme", need.url, b"")
        assert document_from_fetch(need.doc, fetched).state is State.UNAVAILABLE
    assert asked == [need.url, "https://cdn.e.org/r1"] * 2


class _Engine:
    """A crawler engine for ``_scrapy_fetch.fetch``: redirects as told, records every request."""

    def __init__(self, hops: dict[str, str]) -> None:
        self.hops = hops
        self.asked: list[str] = []

    async def download_async(self, request: Request) -> Response:
        self.asked.append(request.url)
        if request.url in self.hops:
            headers = {"Location": self.hops[request.url]}
            return Response(request.url, status=302, headers=headers, request=request)
        return Response(request.url, status=200, body=ALLOW_ALL, request=request)


@pytest.mark.parametrize("location", ELSEWHERE)
@pytest.mark.parametrize("need", DOCS, ids=lambda n: n.doc)
def test_scrapy_fetch_never_follows_a_redirect_out_of_http(need, location):
    """The Scrapy fetch layer asks the engine for nothing but http(s): the hop is refused."""
    engine = _Engine(_hops(location))
    crawler: Any = type("Crawler", (), {"engine": engine})()
    fetched, status = asyncio.run(_scrapy_fetch.fetch(crawler, need))
    assert (fetched.error, fetched.url, fetched.body, status) == ("scheme", need.url, b"", 302)
    assert document_from_fetch(need.doc, fetched).state is State.UNAVAILABLE
    assert engine.asked == [need.url, "https://cdn.e.org/r1"]
