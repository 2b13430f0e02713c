"""Every code block of the README is run by a test here, as a user would run it."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scrapy_optout.audit import read, verify
from scrapy_optout.cli import main as cli
from tests.example_web import ExampleWeb, free_base, web

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", README,
                                                        re.MULTILINE | re.DOTALL)]  # fmt: skip
SITE_PORT = 8700  # the README's example web, as `make site` serves it
SCRIPTS = Path(sys.executable).parent  # the console scripts installed beside this interpreter


def blocks(kind: str, marker: str = "") -> list[str]:
    """The README's code blocks of language *kind* containing *marker*, in order."""
    return [text for lang, text in BLOCKS if lang == kind and marker in text]


def command_lines(block: str) -> Iterator[tuple[str, int, str]]:
    """Each command of a shell block: (command, the exit status its comment states, comment)."""
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        if command.strip():
            status = re.search(r"exit (\d)", comment)
            yield command.strip(), int(status.group(1)) if status else 0, comment


@pytest.fixture(scope="module")
def example_web() -> Iterator[tuple[ExampleWeb, int]]:
    """The example web on free ports, and the first of them (standing in for 8700)."""
    base = free_base(len(web.ORIGINS))
    with ExampleWeb(base) as site:
        yield site, base


def on_example_web(text: str, base: int) -> str:
    """*text* with the README's ports 8700–8712 moved to the ports the test serves on."""
    return re.sub(r"127\.0\.0\.1:(87\d\d)", lambda m: f"127.0.0.1:{base + int(m[1]) - SITE_PORT}",
                  text)  # fmt: skip


HANDLED = {  # (language, marker) -> the test below that runs such a block
    ("sh", "make demo"): "test_the_two_commands_are_the_makefiles",
    ("sh", "scrapy startproject"): "test_a_new_scrapy_project_following_the_readme",
    ("python", "# mycrawl/"): "test_a_new_scrapy_project_following_the_readme",
    ("sh", "scrapy crawl site"): "test_a_new_scrapy_project_following_the_readme",
    ("sh", "scrapy-optout check"): "test_check_commands_exit_as_documented",
    ("python", ""): "test_readme_python_blocks_run",
    ("csv", ""): "test_readme_python_blocks_run",
    ("sh", "scrapy-optout registry"): "test_readme_python_blocks_run",
    ("sh", "scrapy-optout log merge"): "test_the_merge_lines_run_on_two_workers_logs",
    ("sh", "scrapy-optout log"): "test_readme_python_blocks_run",
    ("toml", ""): "test_readme_toml_blocks_are_licence_registers",
    ("json", ""): "test_the_log_record_example_has_a_real_records_fields",
}
# test_relative_links_name_files_of_the_repository checks the links between the blocks.


def test_every_code_block_is_run_by_a_test():
    """No README block is left untested: each matches a handler whose test exists."""
    assert len(BLOCKS) >= 15
    for lang, text in BLOCKS:
        handler = next((name for (kind, marker), name in HANDLED.items()
                        if kind == lang and marker in text), None)  # fmt: skip
        assert handler is not None, f"no test runs this {lang} block: {text[:60]!r}"
        assert handler in globals(), handler


def test_the_two_commands_are_the_makefiles():
    """The first block is exactly `make demo` and `make test`, and CI runs `make test`.

    Both are run from scratch on every CI run (.ci/run calls make test; test_demo.py runs the
    demo script make demo calls); here they are checked to be what the README says.
    """
    (first_lang, first), *_ = BLOCKS
    assert first_lang == "sh"
    assert [command for command, _, _ in command_lines(first)] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: .*\n\t\$\(BIN\)/python examples/demo\.py", makefile, re.MULTILINE)
    assert re.search(r"^test: lint\n(\t.*\n)*\t\$\(BIN\)/pytest", makefile, re.MULTILINE)
    assert re.search(r"^site: .*\n\t\$\(BIN\)/python examples/site/serve\.py --port 8700",
                     makefile, re.MULTILINE)  # fmt: skip
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def run_line(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one README shell command with this virtualenv's scrapy and scrapy-optout."""
    argv = shlex.split(command)
    programs = {"scrapy": [sys.executable, "-m", "scrapy"],
                "scrapy-optout": [str(SCRIPTS / "scrapy-optout")]}  # fmt: skip
    return subprocess.run([*programs[argv[0]], *argv[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip


def test_a_new_scrapy_project_following_the_readme(tmp_path, example_web):
    """`scrapy startproject`, the README's settings and spider, its crawl: skips in the log."""
    site, base = example_web
    (setup,) = blocks("sh", "scrapy startproject")
    cwd = tmp_path
    for command, _, _ in command_lines(setup):
        if command.startswith("cd "):
            cwd = cwd / command[3:]
            continue
        done = run_line(command, cwd)
        assert done.returncode == 0, done.stderr
    files = blocks("python", "# mycrawl/")
    assert len(files) == 2
    for text in files:
        name, _, how = text.splitlines()[0].removeprefix("# ").partition(" ")
        target = cwd / name
        with target.open("a" if "add at the end" in how else "x") as out:
            out.write("\n" + text)
    before = len(site.requests)
    (crawl,) = blocks("sh", "scrapy crawl site")
    outputs = []
    for command, status, comment in command_lines(on_example_web(crawl, base)):
        done = run_line(command, cwd)
        assert done.returncode == status, (command, done.stdout, done.stderr)
        outputs.append((done.stdout, comment))
    log = cwd / "optout-audit.jsonl"
    assert verify(str(log)).ok
    skipped = {r["url"] for r in read(str(log)) if r["action"] == "skip"}
    assert site.url("blocks-us", "/news/1") in skipped
    assert ("blocks-us", "/news/1") not in site.requests[before:]  # never sent
    summary, comment = outputs[1]
    code, count = re.findall(r"(\w+) (\d+)", comment)[0]  # "robots_disallow 3, ..."
    assert re.search(rf"^  {code} +{count}$", summary, re.MULTILINE), summary
    items = [json.loads(line) for line in (cwd / "items.jsonl").read_text().splitlines()]
    assert {"url": site.url("portal", "/articles/1"), "action": "allow"} in items


def test_check_commands_exit_as_documented(example_web, capsys):
    """Each `scrapy-optout check` line exits as its comment says and names the reason it gives."""
    _, base = example_web
    (block,) = blocks("sh", "scrapy-optout check")
    for command, status, comment in command_lines(on_example_web(block, base)):
        argv = shlex.split(command)
        assert argv[0] == "scrapy-optout"
        assert cli(argv[1:]) == status, command
        printed = capsys.readouterr().out
        said = comment.rsplit(":", 1)[1].strip()
        assert said in printed or (said == "allowed" and '"allowed": true' in printed), printed


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    """The README's Python examples run in order as written, and the documented outcomes hold."""
    python = blocks("python")
    assert len(python) >= 6
    monkeypatch.chdir(tmp_path)
    _write_registry_file(tmp_path)
    _run_registry_commands()
    namespace: dict[str, object] = {}
    for block in python:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    printed = capsys.readouterr().out.splitlines()
    assert "[('domain', 'example.com')]" in printed  # the registry example's lookup
    assert "registry" in printed  # and its skip
    assert "False skip" in printed  # evaluate_response's example
    assert "/private/report request robots_disallow" in printed  # the httpx example
    decision = namespace["decision"]
    assert decision.action == "skip"  # type: ignore[attr-defined]
    assert (tmp_path / "optout-audit.jsonl").exists()
    _run_log_commands(tmp_path)


def _write_registry_file(folder: Path) -> None:
    """The README's CSV example, saved as the ``registry.csv`` its commands and code use."""
    (block,) = blocks("csv")
    (folder / "registry.csv").write_text(block)


def _run_registry_commands() -> None:
    """The README's ``scrapy-optout registry`` lines exit as their comments say."""
    (block,) = blocks("sh", "scrapy-optout registry build")
    for command, status, _ in command_lines(block):
        assert cli(shlex.split(command)[1:]) == status, command


def _run_log_commands(folder: Path) -> None:
    """The README's ``scrapy-optout log`` lines, run on the log its Python examples wrote."""
    (block,) = blocks("sh", "scrapy-optout log report")
    for command, status, _ in command_lines(block.replace("[--json]", "")):
        argv = shlex.split(command)
        assert argv[0] == "scrapy-optout"
        assert cli(argv[1:]) == status, command  # the examples decided on example.org: all found
    assert (folder / "report.html").exists()


def test_the_merge_lines_run_on_two_workers_logs(tmp_path, monkeypatch):
    """The "Distributed crawls" lines merge two workers' real logs, verify and summarise them."""
    from scrapy_optout._core.models import Decision, Reason
    from scrapy_optout.audit import AuditWriter

    monkeypatch.chdir(tmp_path)
    for worker in (1, 2):
        with AuditWriter(f"worker-{worker}.jsonl", agent="MyAIBot", purpose="train-ai",
                         policy="p" * 64) as writer:  # fmt: skip
            for n in range(3):
                reason = Reason(
                    "robots_disallow", "robots", "https://e.org/robots.txt", "Disallow: /"
                )
                writer.write(
                    Decision(f"https://e.org/{worker}/{n}", False, "skip", "request", (reason,))
                )
    (block,) = blocks("sh", "scrapy-optout log merge")
    for command, status, _ in command_lines(block):
        assert cli(shlex.split(command)[1:]) == status, command
    assert len((tmp_path / "fleet.jsonl").read_text().splitlines()) == 6
    Path("worker-2.jsonl").write_text(Path("worker-2.jsonl").read_text().replace("/2/1", "/2/7"))
    assert cli(["log", "merge", "worker-1.jsonl", "worker-2.jsonl", "-o", "again.jsonl"]) == 1


def test_readme_toml_blocks_are_licence_registers(tmp_path):
    """Each TOML example is a licence register file that loads as documented."""
    from scrapy_optout.licences import load_licences

    toml = blocks("toml")
    assert toml
    for n, block in enumerate(toml):
        path = tmp_path / f"licences-{n}.toml"
        path.write_text(block)
        licences = load_licences(path)
        assert licences
        assert all(entry.licensor and entry.value for entry in licences)


def test_the_log_record_example_has_a_real_records_fields(tmp_path):
    """The README's record example has exactly the fields a real skip record with evidence has."""
    from scrapy_optout import Policy, evaluate_response
    from scrapy_optout.audit import AuditWriter

    (block,) = blocks("json")
    example = json.loads(block)
    policy = Policy(user_agent="MyAIBot")
    decision = evaluate_response("https://example.org/a", 200, {"X-Robots-Tag": "noai"}, b"",
                                 policy)  # fmt: skip
    log = tmp_path / "log.jsonl"
    with AuditWriter(log, agent="MyAIBot", purpose="train-ai", policy=policy.digest) as writer:
        writer.write(decision)
    (record,) = read(str(log))
    assert set(example) == set(record)
    assert set(example["reasons"][0]) - {"evidence"} == set(record["reasons"][0]) - {"evidence"}


def test_relative_links_name_files_of_the_repository():
    """Every relative link of the README names a file or folder that exists."""
    links = re.findall(r"\]\(([^)#:]+)\)", README)
    assert len(links) >= 3
    for link in links:
        assert (ROOT / link).exists(), link


def test_the_settings_table_lists_every_setting_the_middleware_reads():
    """The README's settings table names exactly the OPTOUT_* settings the Scrapy shell reads."""
    source = (ROOT / "scrapy_optout" / "_scrapy_settings.py").read_text()
    read_by_shell = set(re.findall(r'"(OPTOUT_[A-Z_]+)"', source))
    table = set(re.findall(r"^\| `(OPTOUT_[A-Z_]+)` \|", README, re.MULTILINE))
    assert table == read_by_shell
