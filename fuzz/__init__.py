"""Fuzz targets for every parser of ``scrapy_optout._core`` (issue 11 C), run by ``make fuzz``.

Not collected by pytest (``testpaths`` names ``tests`` and the package only): ``fuzz/run.py`` runs
each target of :mod:`fuzz.targets` for a bounded time. A crash found becomes a regression test in
``tests/core/``.
"""
