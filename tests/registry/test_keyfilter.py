"""The Bloom filter of a registry's keys: no false negatives, few false positives, stable bits."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from scrapy_optout.registry.keyfilter import BITS_PER_KEY, KeyFilter, filter_bits


@given(st.lists(st.text(max_size=40), max_size=200))
def test_every_key_put_in_is_found(keys):
    """A key the filter was built with is always reported present (no false negatives)."""
    found = KeyFilter(filter_bits(keys, len(keys)))
    assert all(key in found for key in keys)


def test_absent_keys_are_almost_always_reported_absent():
    """Of 20,000 keys never put in, about 0.5 % pass (the rate the sizing promises), not more."""
    keys = [f"d:site{i}.example" for i in range(20_000)]
    found = KeyFilter(filter_bits(keys, len(keys)))
    passed = sum(f"u:https://other{i}.test/" in found for i in range(20_000))
    assert passed < 20_000 * 0.012


def test_size_follows_the_number_of_keys():
    """The filter holds BITS_PER_KEY bits per key (and a little more), whatever the keys."""
    assert len(filter_bits([], 0)) == 9
    assert len(filter_bits(["a"] * 1000, 1000)) == 1000 * BITS_PER_KEY // 8 + 1


def test_bits_are_the_same_in_every_process():
    """The bits depend only on the keys (CRC-32, not Python's salted hash): files are portable."""
    code = (
        "from scrapy_optout.registry.keyfilter import filter_bits;"
        "print(filter_bits(['d:example.org', 'h:www.example.org'], 2).hex())"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert seen == {filter_bits(["d:example.org", "h:www.example.org"], 2).hex()}


def test_an_empty_filter_finds_nothing():
    """A registry without entries has a filter that rejects every key."""
    empty = KeyFilter(filter_bits([], 0))
    assert "d:example.org" not in empty
    assert "" not in empty
