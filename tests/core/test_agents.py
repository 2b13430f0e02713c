"""agents.py: the bundled AI-training token list and user-supplied lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scrapy_optout._core.agents import bundled_agents, parse_agents

SHARED = Path(__file__).resolve().parents[3] / "shared/data/ai-robots.json"
BUNDLED = Path(__file__).resolve().parents[2] / "scrapy_optout/data/ai_agents.json"
REQUIRED = [
    "GPTBot",
    "CCBot",
    "Google-Extended",
    "ClaudeBot",
    "anthropic-ai",
    "Bytespider",
    "meta-externalagent",
]


@pytest.mark.parametrize("token", REQUIRED)
def test_required_tokens_are_bundled(token):
    """DESIGN §5.2: the bundled list includes these training tokens."""
    assert token in bundled_agents()


@pytest.mark.parametrize(
    "token",
    ["ChatGPT-User", "Claude-User", "OAI-SearchBot", "PerplexityBot", "facebookexternalhit"],
)
def test_assistants_and_search_bots_are_not_bundled(token):
    """User-triggered fetchers and search-only crawlers are not training reservations."""
    assert token.casefold() not in {t.casefold() for t in bundled_agents()}


def test_bundled_file_keeps_the_robots_json_shape():
    """The packaged file is an object keyed by token with the robots.json fields."""
    data = json.loads(BUNDLED.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    for record in data.values():
        assert {"operator", "respect", "function", "frequency", "description"} <= set(record)
    assert bundled_agents() == parse_agents(BUNDLED.read_text(encoding="utf-8"))
    assert bundled_agents() is bundled_agents()


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/ai-robots.json is not present")
def test_every_bundled_token_comes_from_ai_robots_json():
    """Each bundled entry is copied unchanged from the ai.robots.txt source list."""
    source = json.loads(SHARED.read_text(encoding="utf-8"))
    bundled = json.loads(BUNDLED.read_text(encoding="utf-8"))
    assert {name: source.get(name) for name in bundled} == bundled


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ('["GPTBot", "CCBot"]', ("GPTBot", "CCBot")),
        ('{"GPTBot": {"operator": "OpenAI"}, "CCBot": {}}', ("GPTBot", "CCBot")),
        ('["meta-externalagent", "Meta-ExternalAgent", " GPTBot ", "gptbot"]',
         ("meta-externalagent", "GPTBot")),
        ("[]", ()),
        ("{}", ()),
    ],
    ids=["list", "object", "dedupe", "empty-list", "empty-object"],
)
def test_parse_agents_shapes(text, tokens):
    """A list or a robots.json object; de-duplicated case-insensitively, order kept."""
    assert parse_agents(text) == tokens


@pytest.mark.parametrize(
    "text",
    ["not json", "42", '"GPTBot"', "null", "[1]", '[""]', '["  "]', '{"": {}}', "[[]]", "[" * 5000],
)
def test_bad_shapes_raise_value_error_naming_ai_agents(text):
    """Configuration errors raise ValueError naming the setting."""
    with pytest.raises(ValueError, match=r"^ai_agents: "):
        parse_agents(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), st.lists(st.text(max_size=10)).map(json.dumps)))
def test_any_text_gives_tokens_or_value_error(text):
    """Any text yields unique non-empty tokens, or a ValueError naming ai_agents; nothing else."""
    error = None
    try:
        tokens = parse_agents(text)
    except ValueError as exc:
        error = str(exc)
    if error is not None:
        assert error.startswith("ai_agents: ")
        return
    assert isinstance(tokens, tuple)
    assert all(isinstance(t, str) and t and t == t.strip() for t in tokens)
    assert len({t.casefold() for t in tokens}) == len(tokens)
