"""_shell.py: what is logged, page memory for images, the registry it opens and answers from."""

from __future__ import annotations

import json

import pytest

from scrapy_optout._core.models import Decision, Reason
from scrapy_optout._core.rules import bypass
from scrapy_optout._shell import Shell

NOAI = Reason("noai_meta", "noai", "https://e.org/p", "meta robots: noimageai")


def decision(action: str, *, image_reasons: tuple[Reason, ...] = ()) -> Decision:
    reasons = (NOAI,) if action == "skip" else ()
    return Decision(
        "https://e.org/p",
        action != "skip",
        action,
        "response",
        reasons,
        image_reasons=image_reasons,
    )


@pytest.mark.parametrize(
    ("audit_allowed", "logged"), [(True, ["skip", "bypass", "allow"]), (False, ["skip", "bypass"])]
)
def test_logs_skips_and_bypasses_always_allows_on_request(
    make_policy, tmp_path, audit_allowed, logged
):
    """Skips and bypasses are always logged; allows only with audit_allowed (DESIGN §7)."""
    log = tmp_path / "a.jsonl"
    shell = Shell(make_policy(audit_log=str(log), audit_allowed=audit_allowed))
    for d in (decision("skip"), bypass("https://e.org/b"), decision("allow")):
        assert shell.record(d) is d
    shell.close()
    shell.close()
    assert [json.loads(line)["action"] for line in log.read_text().splitlines()] == logged


def test_no_log_without_audit_log(make_policy, tmp_path, monkeypatch):
    """Without audit_log nothing is written anywhere."""
    monkeypatch.chdir(tmp_path)
    Shell(make_policy()).record(decision("skip"))
    assert list(tmp_path.iterdir()) == []


def test_pages_with_image_marks_are_remembered_for_cache_ttl(make_policy):
    """A page that carried noimageai is remembered for its images for cache_ttl."""
    now = [0.0]
    shell = Shell(make_policy(cache_ttl=10), clock=lambda: now[0])
    shell.record(decision("allow", image_reasons=(NOAI,)))
    assert shell.page("https://e.org/p") is not None
    assert shell.page("https://e.org/other") is None
    assert shell.page(None) is None
    now[0] = 10.0
    assert shell.page("https://e.org/p") is None


def test_missing_registry_file_is_a_value_error_naming_the_setting(make_policy, tmp_path):
    """A policy naming a registry file that does not exist is refused at start, naming it."""
    with pytest.raises(ValueError, match=r"^registry: .*nope.sqlite: no such registry file"):
        Shell(make_policy(registry=str(tmp_path / "nope.sqlite")))


def test_registry_answers_come_from_the_backend_with_evidence(make_policy, tmp_path):
    """A registry need is answered from the policy's registry, its answer kept as evidence."""
    from scrapy_optout._core.documents import State
    from scrapy_optout._core.models import Doc, Need

    source = tmp_path / "reg.csv"
    source.write_text("scope,value,purposes\ndomain,e.org,train-ai\n")
    shell = Shell(make_policy(registry=str(source)))
    found = shell.registry_answer(Need(Doc.REGISTRY, "https://www.e.org/a", ""), 5.0)
    free = shell.registry_answer(Need(Doc.REGISTRY, "https://f.org/a", ""), 5.0)
    shell.close()
    assert found.state is State.OK
    assert found.url == str(source)
    assert [e.value for e in found.parsed.entries] == ["e.org"]
    assert found.evidence is not None
    assert b'"value":"e.org"' in found.evidence.body
    assert free.state is State.OK
    assert free.parsed.entries == ()
    assert free.evidence is not None
    assert free.evidence.body == b'{"entries":[]}'
    closed = shell.registry_answer(Need(Doc.REGISTRY, "https://www.e.org/b", ""), 5.0)
    assert closed.state is State.UNAVAILABLE  # a closed registry cannot answer: never "free"


def test_log_rotates_as_the_policy_says(make_policy, tmp_path):
    """audit_rotate_bytes reaches the writer: the log rotates, and reads as one chain."""
    from scrapy_optout.audit import read, verify

    log = tmp_path / "a.jsonl"
    shell = Shell(make_policy(audit_log=str(log), audit_rotate_bytes=65_536))
    for _ in range(400):
        shell.record(decision("skip"))
    shell.close()
    assert (tmp_path / "a.jsonl.1.gz").exists()
    assert verify(log).ok
    assert len(list(read(log))) == 400
