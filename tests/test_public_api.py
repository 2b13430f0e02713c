"""The public surface: exports, and an import that loads no framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

import scrapy_optout


def test_all_is_sorted_and_importable():
    """__all__ is sorted and every name in it exists."""
    assert scrapy_optout.__all__ == sorted(scrapy_optout.__all__)
    for name in scrapy_optout.__all__:
        assert getattr(scrapy_optout, name) is not None


@pytest.mark.parametrize("module", ["scrapy_optout", "scrapy_optout._core", "scrapy_optout.audit"])
def test_import_loads_no_framework(module):
    """Importing the package or the core loads neither scrapy, httpx, twisted nor asyncio."""
    code = (
        f"import sys, {module}, scrapy_optout._core.engine\n"
        "heavy = [m for m in ('scrapy', 'httpx', 'twisted', 'asyncio') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
