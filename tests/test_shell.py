"""_shell.py: what is logged, page memory for images, refusal of an unavailable registry."""

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


def test_registry_is_refused_until_backends_exist(make_policy):
    """A policy naming a registry is refused with a ValueError naming the setting."""
    with pytest.raises(ValueError, match=r"^registry:"):
        Shell(make_policy(registry="reg.sqlite"))


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
