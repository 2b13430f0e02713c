"""Known AI-training crawler tokens, for inferring reservations from robots.txt (DESIGN §5 rule 3).

The bundled ``data/ai_agents.json`` keeps the ``robots.json`` shape of
``ai-robots-txt/ai.robots.txt`` (commit 738c80d, 2026-08-22; 166 entries, standards.md §2.8): an
object keyed by token with the original ``operator``, ``respect``, ``function``, ``frequency`` and
``description`` fields, so a user can pass either file as ``OPTOUT_AI_AGENTS``.

Selection criterion (the entries of the source file kept, read from their ``function`` and
``description``): a token is kept when its crawler collects web content **to train AI models or to
supply data for AI**:

1. the record says it trains AI/ML models, LLMs, or builds datasets (``GPTBot``, ``ClaudeBot``,
   ``anthropic-ai``, ``CCBot``, ``Bytespider``, ``img2dataset``...);
2. it is classed as an *AI Data Scraper* or *AI Data Provider* (a crawler that collects content for
   AI systems run by others), or its data is sold for LLM training (``omgili``);
3. it is a robots.txt control token for AI training (``Google-Extended``, ``Applebot-Extended``,
   ``Webzio-Extended``);
4. it is listed as a training / data-collection crawler in standards.md §2.8, or blocked as an AI
   crawler by Cloudflare's managed robots.txt (standards.md §5.2; this adds ``Amazonbot``).

Left out: user-triggered assistants and agents (*AI Assistants*, *AI Agents*, *AI Coding
Agents*, ``ChatGPT-User``, ``Claude-User``...), search-only crawlers (*AI Search Crawlers*,
``OAI-SearchBot``, ``PerplexityBot``...), undocumented agents with no stated use
(``Claude-Web``, ``OpenAI``...), fetchers for a customer's own application (``bedrockbot``,
``Google-Firebase``, ``Cloudflare-AutoRAG``, ``amazon-kendra``), products that use AI as a tool
without collecting data for it (``Panscient``, ``YaK``, ``QuillBot``, ``SemrushBot-*``), link
previews (``facebookexternalhit``) and ``GoogleOther*`` (no AI use stated). 76 of the 166
entries are kept (74 tokens once case variants are merged).
"""

from __future__ import annotations

import functools
import json
from importlib.resources import files


def parse_agents(text: str) -> tuple[str, ...]:
    """Read a token list: a JSON list of tokens, or an object keyed by token (``robots.json``).

    Tokens are trimmed and de-duplicated case-insensitively, first spelling and order kept.

    Raises:
        ValueError: ``"ai_agents: ..."`` when the text is not one of those shapes (this is the
            operator's configuration, not remote input).
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"ai_agents: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        names: list[object] = list(data)
    elif isinstance(data, list):
        names = data
    else:
        raise ValueError("ai_agents: expected a JSON list of tokens or an object keyed by token")
    tokens: list[str] = []
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"ai_agents: every token must be a non-empty string, got {name!r}")
        token = name.strip()
        folded = token.casefold()
        if folded not in seen:
            seen.add(folded)
            tokens.append(token)
    return tuple(tokens)


@functools.cache
def bundled_agents() -> tuple[str, ...]:
    """Return the packaged AI-training token list (read once; static package data only)."""
    resource = files("scrapy_optout") / "data" / "ai_agents.json"
    return parse_agents(resource.read_text(encoding="utf-8"))
