"""The per-signal readers of the response stage (``response_signals.py``)."""

from __future__ import annotations

import pytest

from scrapy_optout import Policy
from scrapy_optout._core import rules
from scrapy_optout._core.models import Decision, Reason
from scrapy_optout._core.response_signals import is_image, looks_like_image, page_images


def test_looks_like_image():
    """Image URLs are recognised by their extension, case-insensitively, query ignored."""
    assert looks_like_image("https://e.org/a/B.JPG?x=1")
    assert looks_like_image("/a.webp")
    assert not looks_like_image("https://e.org/jpg")
    assert not looks_like_image("https://e.org/a.html")


@pytest.mark.parametrize(
    ("content_type", "url", "expected"),
    [
        ("image/png", "https://e.org/a.html", True),
        ("IMAGE/JPEG; q=1", "https://e.org/a", True),
        ("text/html", "https://e.org/a.jpg", False),  # the type says otherwise
        (None, "https://e.org/a.jpg", True),  # no type: the URL decides
        (None, "https://e.org/a.html", False),
    ],
)
def test_is_image(content_type, url, expected):
    """An image by its Content-Type, or by its URL when it has none."""
    assert is_image(content_type, url) is expected


def test_page_images_reserve_with_noimageai_unless_noai_is_off():
    """A page's noimageai reason reserves its image; with the noai signal off, nothing."""
    mark = Reason("noai_meta", "noai", "https://e.org/p", "meta robots: noimageai")
    page = Decision("https://e.org/p", True, "allow", "response", image_reasons=(mark,))
    found = rules.Findings()
    page_images(page, Policy(user_agent="MyAIBot"), found)
    assert [(r.code, r.source) for r in found.reservations] == [("noimageai", "https://e.org/p")]
    quiet = rules.Findings()
    page_images(page, Policy(user_agent="MyAIBot", signals={"robots"}), quiet)
    assert quiet.reservations == []
