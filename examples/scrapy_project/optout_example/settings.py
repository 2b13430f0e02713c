"""Settings of the example project: Scrapy's usual ones, plus scrapy_optout's add-on."""

BOT_NAME = "optout_example"
SPIDER_MODULES = ["optout_example.spiders"]
NEWSPIDER_MODULE = "optout_example.spiders"

# scrapy_optout: one line enables the middleware (at priority 120).
ADDONS = {"scrapy_optout.Addon": 0}
# Our crawler's product token: matched against robots.txt groups and bot-scoped directives.
OPTOUT_USER_AGENT = "MyAIBot"
OPTOUT_PURPOSE = "train-ai"
OPTOUT_AUDIT_LOG = "optout-audit.jsonl"  # the compliance log, beside the crawl's output

# The token is also the start of our User-Agent, so that sites can address us by name.
USER_AGENT = "MyAIBot/1.0 (+https://example.org/bot)"
# scrapy_optout reads robots.txt itself (RFC 9309: 5xx and network errors mean "fetch nothing"),
# so Scrapy's own RobotsTxtMiddleware would only fetch robots.txt a second time.
ROBOTSTXT_OBEY = False

CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
LOG_LEVEL = "INFO"
