"""Scrapy signals sent by :class:`~scrapy_optout.OptOutMiddleware` (importing this loads no Scrapy).

``optout_decision``: sent for every decision the middleware takes (allow, skip and bypass), with
the arguments ``decision`` (a :class:`~scrapy_optout.Decision`), ``request`` and ``spider``. Connect a
bound method of a long-lived object: Scrapy keeps weak references to signal handlers.

    crawler.signals.connect(self.on_decision, signal=scrapy_optout.signals.optout_decision)
"""

from __future__ import annotations

optout_decision = object()
"""Sent with ``decision``, ``request`` and ``spider`` for every decision."""
