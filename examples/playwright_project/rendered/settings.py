"""Settings of a browser crawl: scrapy-playwright renders, scrapy_optout decides.

Every request with ``meta["playwright"] = True`` is rendered by headless Chromium. scrapy_optout
needs nothing more than its add-on: a page is checked before the browser navigates to it, its
rendered head (meta tags that scripts inserted included) after, and every image, script or frame
the browser loads for it before the browser sends the request. Side documents (robots.txt,
tdmrep.json, ai.txt) go through Scrapy's plain HTTP handler: no page is opened for them.

The browser is Debian's ``chromium`` package (``apt install chromium``), launched through
Playwright's ``executable_path``: ``playwright install`` (a browser download) is not needed.
"""

import os

BOT_NAME = "rendered"
SPIDER_MODULES = ["rendered.spiders"]
NEWSPIDER_MODULE = "rendered.spiders"

ADDONS = {"scrapy_optout.Addon": 0}
OPTOUT_USER_AGENT = "MyAIBot"
OPTOUT_AUDIT_LOG = os.environ.get("OPTOUT_AUDIT_LOG", "optout-audit.jsonl")
USER_AGENT = "MyAIBot/1.0 (+https://example.org/bot)"  # sent by the browser too
ROBOTSTXT_OBEY = False  # scrapy_optout reads robots.txt itself

DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
    "headless": True,
}

CONCURRENT_REQUESTS = 4
DOWNLOAD_TIMEOUT = 30
LOG_LEVEL = "INFO"
