"""Policy: defaults, validation naming the field, equality and the log hash."""

from __future__ import annotations

import re
from datetime import date

import pytest

from scrapy_optout import Licence, Policy
from scrapy_optout._core.models import ALL_SIGNALS


def test_defaults():
    """The documented defaults of DESIGN §3."""
    policy = Policy(user_agent="MyAIBot")
    assert policy.purpose == "train-ai"
    assert policy.mode == "opt-out"
    assert policy.signals == ALL_SIGNALS
    assert policy.infer_from_ai_agents is True
    assert policy.on_unavailable == "skip"
    assert policy.registry is None
    assert policy.licences == ()
    assert policy.audit_allowed is True
    assert policy.cache_ttl == 86400
    assert policy.token == "myaibot"
    assert "GPTBot" in (policy.ai_agents or ())
    assert "gptbot" in policy.ai_tokens


def test_user_agent_is_required():
    """There is no safe default token."""
    with pytest.raises(TypeError):
        Policy()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user_agent": ""}, "user_agent"),
        ({"user_agent": "123"}, "user_agent"),
        ({"purpose": "training"}, "purpose"),
        ({"mode": "strict"}, "mode"),
        ({"signals": {"robots", "tarot"}}, "signals"),
        ({"signals": "robots"}, "signals"),
        ({"on_unavailable": "maybe"}, "on_unavailable"),
        ({"infer_from_ai_agents": "yes"}, "infer_from_ai_agents"),
        ({"ai_agents": "GPTBot"}, "ai_agents"),
        ({"ai_agents": ["GPTBot", "42"]}, "ai_agents"),
        ({"cache_ttl": 0}, "cache_ttl"),
        ({"cache_ttl": "1d"}, "cache_ttl"),
        ({"head_scan_bytes": 1000}, "head_scan_bytes"),
        ({"embedded_scan_bytes": 1000}, "embedded_scan_bytes"),
        ({"embedded_scan_bytes": "16MB"}, "embedded_scan_bytes"),
        ({"embedded_scan_bytes": True}, "embedded_scan_bytes"),
        ({"licences": "licences.toml"}, "licences"),
        ({"licences": [{"scope": "domain"}]}, "licences"),
        ({"registry": ""}, "registry"),
        ({"audit_allowed": None}, "audit_allowed"),
        ({"audit_rotate_bytes": 1000}, "audit_rotate_bytes"),
        ({"audit_rotate_bytes": "1MB"}, "audit_rotate_bytes"),
        ({"audit_rotate_bytes": True}, "audit_rotate_bytes"),
    ],
)
def test_bad_values_raise_value_error_naming_the_field(kwargs, field):
    """Bad configuration raises ValueError whose message starts with the field name."""
    kwargs.setdefault("user_agent", "MyAIBot")
    with pytest.raises(ValueError, match=rf"^{field}:"):
        Policy(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scope": "planet", "value": "earth"}, "scope must be one of"),
        ({"value": "e.org", "purposes": frozenset({"art"})}, "unknown purposes"),
        ({"licensor": " ", "value": "e.org"}, "licensor must not be empty"),
        ({"scope": "prefix", "value": "/news/"}, "absolute http(s) URL"),
        ({"scope": "url", "value": "ftp://e.org/a"}, "absolute http(s) URL"),
        ({"value": "e.org", "valid_from": date(2027, 1, 1), "valid_until": date(2026, 1, 1)},
         "is after valid_until"),
    ],
)  # fmt: skip
def test_bad_licence_entries_raise(kwargs, message):
    """A malformed licence is refused with a message naming licences and what is wrong."""
    entry = {"licensor": "x", "scope": "domain", **kwargs}
    with pytest.raises(ValueError, match=rf"^licences: .*{re.escape(message)}"):
        Licence(**entry)


def test_equal_values_compare_hash_and_digest_equal():
    """DESIGN §5.2: policies built from equal values are equal, hash equal, same log hash."""
    lic = Licence(licensor="L", scope="domain", value="e.org", valid_from=date(2026, 1, 1))
    a = Policy(user_agent="MyAIBot", signals=["robots", "tdmrep"], licences=[lic])
    b = Policy(user_agent="MyAIBot", signals=("tdmrep", "robots"), licences=(lic,))
    assert a == b
    assert hash(a) == hash(b)
    assert a.digest == b.digest
    assert len(a.digest) == 64
    assert Policy(user_agent="MyAIBot", purpose="search").digest != a.digest


def test_custom_ai_agents_replace_the_bundled_list():
    """ai_agents replaces the bundled list (DESIGN §5.1 OPTOUT_AI_AGENTS)."""
    policy = Policy(user_agent="MyAIBot", ai_agents=["SomeBot"])
    assert policy.ai_tokens == frozenset({"somebot"})


def test_policy_is_frozen():
    """Policy is immutable."""
    policy = Policy(user_agent="MyAIBot")
    with pytest.raises(AttributeError):
        policy.purpose = "search"  # type: ignore[misc]


def test_rotation_leaves_digests_of_policies_without_it_alone():
    """audit_rotate_bytes unset keeps the digest policies had before it existed; set, it counts."""
    plain = Policy(user_agent="MyAIBot")
    assert plain.digest == Policy(user_agent="MyAIBot", audit_rotate_bytes=None).digest
    rotated = Policy(user_agent="MyAIBot", audit_rotate_bytes=1 << 20)
    assert rotated.digest != plain.digest
    assert rotated != plain


def test_embedded_scan_bytes_at_its_default_leaves_digests_alone():
    """embedded_scan_bytes at its default (given or not) keeps earlier digests; changed, it counts."""
    plain = Policy(user_agent="MyAIBot")
    assert plain.digest == Policy(user_agent="MyAIBot", embedded_scan_bytes=16 * 1024 * 1024).digest
    smaller = Policy(user_agent="MyAIBot", embedded_scan_bytes=1 << 20)
    assert smaller.digest != plain.digest
    assert smaller != plain
