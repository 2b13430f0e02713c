"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scrapy_optout import Policy


@pytest.fixture
def make_policy() -> Callable[..., Policy]:
    """Build a Policy for the token MyAIBot with overrides."""

    def make(**overrides: Any) -> Policy:
        overrides.setdefault("user_agent", "MyAIBot")
        return Policy(**overrides)

    return make
