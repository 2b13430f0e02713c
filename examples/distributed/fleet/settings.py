"""Settings of the fleet: scrapy-redis's shared queue, plus scrapy_optout's add-on.

Every worker runs these same settings. scrapy-redis shares the request queue and the duplicate
filter through Redis; scrapy_optout finds the same ``REDIS_URL`` and shares the side documents
(robots.txt, tdmrep.json, ai.txt) through it too, so the fleet fetches each of them once per
origin, and every worker applies the same answer. Each worker writes its own compliance log;
``scrapy-optout log merge`` makes one chain of them for the review.
"""

import os
import socket

BOT_NAME = "fleet"
SPIDER_MODULES = ["fleet.spiders"]
NEWSPIDER_MODULE = "fleet.spiders"

# One Redis for the fleet: scrapy-redis's queue and scrapy_optout's cache (OPTOUT_CACHE_URL
# would name another server for the cache alone).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SCHEDULER = "scrapy_redis.scheduler.Scheduler"
DUPEFILTER_CLASS = "scrapy_redis.dupefilter.RFPDupeFilter"
SCHEDULER_PERSIST = True  # a worker that stops leaves the queue to the others

# scrapy_optout: the add-on, our token, and one compliance log per worker, each record naming
# its worker (host and process id) so that the merged log says which worker decided what.
ADDONS = {"scrapy_optout.Addon": 0}
OPTOUT_USER_AGENT = "MyAIBot"
OPTOUT_WORKER_ID = os.environ.get("OPTOUT_WORKER_ID", f"{socket.gethostname()}-{os.getpid()}")
OPTOUT_AUDIT_LOG = os.environ.get("OPTOUT_AUDIT_LOG", f"optout-audit-{OPTOUT_WORKER_ID}.jsonl")
USER_AGENT = "MyAIBot/1.0 (+https://example.org/bot)"
ROBOTSTXT_OBEY = False  # scrapy_optout reads robots.txt itself

CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_TIMEOUT = 30
LOG_LEVEL = "INFO"
