"""A scripted tour of the decision engine and the compliance log (``make demo``).

A small bundled example web (canned robots.txt, tdmrep.json, ai.txt, headers and pages for a few
origins, no network) is checked URL by URL, exactly as a crawler would: the request-stage flow asks for
the origin documents it needs, then the response stage reads headers and the HTML head. Every decision
goes to a hash-chained compliance log, which is then verified and summarised.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from scrapy_optout import Licence, Policy
from scrapy_optout._core.documents import Document, document_from_fetch
from scrapy_optout._core.engine import check_request, evaluate_response
from scrapy_optout._core.models import Decision, Doc, Fetched, Need
from scrapy_optout._drive import drive
from scrapy_optout.audit import AuditWriter, verify

HTML = {"Content-Type": "text/html; charset=utf-8"}

# Origin documents per origin: bytes are served with 200; an int is that status; absent is 404.
ORIGINS: dict[str, dict[Doc, bytes | int]] = {
    "https://blocks-us.example": {Doc.ROBOTS: b"User-agent: MyAIBot\nDisallow: /\n"},
    "https://blocks-ai.example": {
        Doc.ROBOTS: b"User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    },
    "https://tdmrep.example": {
        Doc.TDMREP: b'[{"location":"/research/","tdm-reservation":1,'
        b'"tdm-policy":"https://tdmrep.example/policy.json"},'
        b'{"location":"/open/","tdm-reservation":0}]'
    },
    "https://signals.example": {
        Doc.ROBOTS: b"User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
    },
    "https://aitxt.example": {Doc.AI_TXT: b"User-agent: *\nAllow: *.html\nDisallow: /\n"},
    "https://down.example": {Doc.ROBOTS: 503},
    "https://licensed.example": {Doc.TDMREP: b'[{"location":"/","tdm-reservation":1}]'},
    "https://open.example": {Doc.ROBOTS: b"User-agent: *\nDisallow: /admin/\n"},
}

# (url, response headers, body)
PAGES: list[tuple[str, dict[str, str], bytes]] = [
    ("https://blocks-us.example/article", HTML, b"<html>"),
    ("https://blocks-ai.example/article", HTML, b"<html>"),
    ("https://tdmrep.example/research/paper", HTML, b"<html>"),
    ("https://tdmrep.example/open/paper", HTML, b"<html>"),
    ("https://signals.example/post", HTML, b"<html>"),
    ("https://aitxt.example/gallery", HTML, b"<html>"),
    ("https://aitxt.example/index.html", HTML, b"<html>"),
    ("https://down.example/news", HTML, b"<html>"),
    ("https://licensed.example/archive/1", HTML, b"<html>"),
    ("https://open.example/", {**HTML, "X-Robots-Tag": "noai"}, b"<html>"),
    ("https://open.example/art", HTML,
     b'<html><head><meta name="robots" content="noimageai"></head><body><img src="/a.jpg">'),
    ("https://open.example/a.jpg", {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff"),
    ("https://open.example/tdm-header", {**HTML, "tdm-reservation": "1"}, b"<html>"),
    ("https://open.example/usage", {**HTML, "Content-Usage": "train-ai=n"}, b"<html>"),
    ("https://open.example/about", HTML, b"<html><head><title>About</title></head>"),
    ("https://open.example/blog/1", HTML, b"<html><head></head><body>Hello</body>"),
]


def resolve(need: Need) -> Document:
    """Serve an origin document from the bundled example web."""
    origin = need.url.split("/", 3)
    value = ORIGINS.get("/".join(origin[:3]), {}).get(need.doc, 404)
    body = value if isinstance(value, bytes) else b""
    status = 200 if isinstance(value, bytes) else value
    return document_from_fetch(need.doc, Fetched(url=need.url, status=status, body=body))


def main() -> int:
    """Check every bundled URL, log each decision, verify and summarise the log."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output")
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "demo-audit.jsonl"
    for stale in (log_path, out / "demo-audit.jsonl.torn"):
        stale.unlink(missing_ok=True)
    licence = Licence(licensor="Licensed Example Ltd", scope="domain", value="licensed.example",
                      purposes=frozenset({"train-ai"}), reference="LIC-2026-001")
    policy = Policy(user_agent="MyAIBot", licences=[licence])
    today = datetime.now(timezone.utc).date()
    pages: dict[str, Decision] = {}
    with AuditWriter(log_path, agent=policy.user_agent, purpose=policy.purpose,
                     policy=policy.digest) as log:
        for url, headers, body in PAGES:
            page = pages.get("https://open.example/art") if url.endswith(".jpg") else None
            decision = drive(check_request(url, policy, page=page, today=today), resolve)
            if decision.allowed:  # the request would be sent; decide on its response
                decision = evaluate_response(url, 200, headers, body, policy, pre=decision,
                                             page=page, today=today)
            pages[url] = decision
            log.write(decision)
            why = "; ".join(f"{r.code} ({r.detail})" for r in decision.reasons) or "no reservation"
            print(f"{decision.action:5} {decision.stage:8} {url}\n      {why}")
    result = verify(log_path)
    codes = Counter(r.code for d in pages.values() if not d.allowed for r in d.reasons[:1])
    print(f"\ncompliance log: {log_path} ({result.records} records)")
    print(f"verify: {'intact' if result.ok else 'BROKEN: ' + str(result.problem)}")
    print(f"skipped {sum(codes.values())} of {len(pages)}:")
    for code, count in sorted(codes.items()):
        print(f"  {code:<20}{count}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
