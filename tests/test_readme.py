"""Every Python code block of the README runs, in order, as a user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    """The README's examples run as written, and the documented outcomes hold."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    _write_registry_file(tmp_path)
    _run_registry_commands()
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    printed = capsys.readouterr().out.splitlines()
    assert "[('domain', 'example.com')]" in printed  # the registry example's lookup
    assert "registry" in printed  # and its skip
    decision = namespace["decision"]
    assert decision.action == "skip"  # type: ignore[attr-defined]
    assert (tmp_path / "optout-audit.jsonl").exists()
    _run_log_commands(tmp_path)


def _write_registry_file(folder: Path) -> None:
    """The README's CSV example, saved as the ``registry.csv`` its commands and code use."""
    (block,) = re.findall(r"```csv\n(.*?)```", README.read_text(), flags=re.DOTALL)
    (folder / "registry.csv").write_text(block)


def _run_registry_commands() -> None:
    """The README's ``scrapy-optout registry`` lines exit as their comments say."""
    import shlex

    from scrapy_optout.cli import main

    block = next(
        b for b in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
        if "scrapy-optout registry build" in b
    )  # fmt: skip
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        expected = int(m.group(1)) if (m := re.search(r"exit (\d)", comment)) else 0
        assert main(shlex.split(command)[1:]) == expected, line


def _run_log_commands(folder: Path) -> None:
    """The README's ``scrapy-optout log`` lines, run on the log its Python examples wrote."""
    import shlex

    from scrapy_optout.cli import main

    block = next(
        b for b in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
        if "scrapy-optout log" in b
    )  # fmt: skip
    for line in block.splitlines():
        command = shlex.split(line.split("#", 1)[0].replace("[--json]", ""))
        assert command[0] == "scrapy-optout"
        assert main(command[1:]) == 0, line  # the examples decided on example.org: all found
    assert (folder / "report.html").exists()


def test_readme_toml_blocks_are_licence_registers(tmp_path):
    """Each TOML example is a licence register file that loads as documented."""
    from scrapy_optout.licences import load_licences

    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks
    for n, block in enumerate(blocks):
        path = tmp_path / f"licences-{n}.toml"
        path.write_text(block)
        licences = load_licences(path)
        assert licences
        assert all(entry.licensor and entry.value for entry in licences)
