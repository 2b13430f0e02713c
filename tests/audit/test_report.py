"""Tests for scrapy_optout.audit.report: the self-contained HTML report of a compliance log."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from scrapy_optout._core.models import Decision, Reason
from scrapy_optout.audit import AuditWriter, read
from scrapy_optout.audit.report import MAX_COLUMNS, MAX_SKIPS, render_report
from scrapy_optout.audit.summary import Summary, summarize_records

POLICY_A = "a" * 64
POLICY_B = "b" * 64
VOID = {"meta", "input", "br", "img", "link", "hr", "wbr", "source", "area", "base", "col"}


class Page(HTMLParser):
    """The parts of a rendered report the tests look at, read the way a browser tokenizes them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.values: dict[str, str] = {}  # card id -> its value's text
        self.tables: dict[str, list[list[str]]] = {}  # section title -> body rows' cell texts
        self.texts: dict[str, str] = {}  # section title -> all its text
        self.title = ""
        self._stack: list[tuple[str, dict[str, str | None]]] = []
        self._section = ""
        self._row: list[str] | None = None
        self._in: str | None = None  # "script", "style", "h2", "title" or "td"
        self._buffer = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in VOID:
            return
        self._stack.append((tag, attributes))
        if tag in {"script", "style", "h2", "title", "td"}:
            self._in, self._buffer = tag, ""
        if tag == "section":
            self._section = ""
        elif tag == "tr":
            self._row = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        attributes = self._stack.pop()[1] if self._stack else {}
        if tag == self._in:
            if tag == "script":
                self.scripts.append((attributes, self._buffer))
            elif tag == "style":
                self.styles.append(self._buffer)
            elif tag == "h2":
                self._section = self._buffer
            elif tag == "title" and not self.title:
                self.title = self._buffer
            elif tag == "td" and self._row is not None:
                self._row.append(self._buffer)
            self._in = None
        if tag == "tr" and self._row:
            self.tables.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._buffer += data
        if self._section:
            self.texts[self._section] = self.texts.get(self._section, "") + data
        if self._stack and self._stack[-1][1].get("class") == "value":
            card = next(a["id"] for _, a in reversed(self._stack) if a.get("id"))
            self.values[str(card)] = data

    def attr_values(self, name: str) -> list[str]:
        """Every value of attribute *name*, on any element."""
        return [str(a[name]) for _, a in self.tags if a.get(name) is not None]

    def skips_data(self) -> Any:
        """The search list, parsed from its JSON script element."""
        return json.loads(next(data for a, data in self.scripts if a.get("id") == "skips"))

    def column(self, section: str, i: int = 0) -> list[str]:
        """Column *i* of the table in *section*."""
        return [row[i] for row in self.tables.get(section, [])]


def number(text: str) -> int:
    return int(text.replace(",", ""))


def reason(code: str, signal: str, policy_url: str | None = None) -> Reason:
    return Reason(code, signal, "https://example.org/robots.txt", "matched", policy_url)


def skip(url: str, code: str = "robots_disallow", stage: str = "request", **kw: Any) -> Decision:
    signal = {"robots_disallow": "robots", "tdmrep_file": "tdmrep", "noai_meta": "noai"}.get(code)
    policy_url = kw.pop("policy_url", None)
    return Decision(url, False, "skip", stage, (reason(code, signal or code, policy_url),), **kw)


def allow(url: str) -> Decision:
    return Decision(url, True, "allow", "request")


def bypass(url: str) -> Decision:
    return Decision(url, True, "bypass", "request", (reason("bypass", "bypass"),))


def write_log(path: Path) -> list[dict[str, Any]]:
    """A log of two runs (two policies) over three hosts, with every action and both stages."""
    with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy=POLICY_A) as w:
        for i in range(7):
            w.write(allow(f"https://example.org/ok/{i}"))
        for i in range(5):
            w.write(skip(f"https://example.org/private/{i}"))
        for i in range(3):
            w.write(skip(f"https://news.test:8443/a/{i}", "tdmrep_file", "response"))
        w.write(bypass("https://example.org/forced"))
    with AuditWriter(path, agent="OtherBot", purpose="ai-input", policy=POLICY_B) as w:
        w.write(skip("https://Shop.Test/item", "noai_meta", "response"))
        w.write(allow("https://shop.test/"))
        w.write(bypass("https://shop.test/x"))
    return list(read(path))


def report(records: list[dict[str, Any]], **kw: Any) -> str:
    return render_report(
        summarize_records(records),
        records,
        source=kw.pop("source", "audit.jsonl"),
        generated=kw.pop("generated", "2026-11-29T10:00:00Z"),
        **kw,
    )


def synthetic(n: int, **fields: Any) -> Iterator[dict[str, Any]]:
    """*n* skip records as the reader yields them (only the fields the report reads)."""
    for i in range(n):
        yield {
            "ts": "2026-11-29T10:00:00Z",
            "url": f"https://example.org/p/{i}",
            "stage": "request",
            "action": "skip",
            "reasons": [{"code": "robots_disallow", "signal": "robots"}],
        } | fields


@pytest.fixture
def records(tmp_path: Path) -> list[dict[str, Any]]:
    return write_log(tmp_path / "audit.jsonl")


# --- figures ----------------------------------------------------------------------------------------


def test_headline_numbers_match_the_raw_records(records: list[dict[str, Any]]) -> None:
    """The cards show the records, actions, hosts, runs and time span counted from the records."""
    page = Page(report(records))
    actions = Counter(r["action"] for r in records)
    hosts = {urlsplit(r["url"]).hostname for r in records}
    assert number(page.values["card-records"]) == len(records) == 19
    assert number(page.values["card-allowed"]) == actions["allow"] == 8
    assert number(page.values["card-skipped"]) == actions["skip"] == 9
    assert number(page.values["card-bypassed"]) == actions["bypass"] == 2
    assert number(page.values["card-hosts"]) == len(hosts) == 3
    assert number(page.values["card-runs"]) == len({r["run"] for r in records}) == 2
    stamps = sorted(r["ts"] for r in records)
    assert page.values["card-span"] == f"{stamps[0]} → {stamps[-1]}"


def test_breakdowns_match_the_raw_records(records: list[dict[str, Any]]) -> None:
    """Skips per deciding code, signal and stage, and their shares, are those of the records."""
    page = Page(report(records))
    skips = [r for r in records if r["action"] == "skip"]
    for title, key in (("code", "code"), ("signal", "signal"), ("stage", None)):
        counts = Counter(r["reasons"][0][key] if key else r["stage"] for r in skips)
        rows = page.tables[f"Skips by {'reason code' if title == 'code' else title}"]
        assert {row[0]: number(row[1]) for row in rows} == counts
        assert {row[0]: row[2] for row in rows} == {
            k: f"{100 * n / len(skips):.1f} %" for k, n in counts.items()
        }


def test_policies_and_domains_match_the_raw_records(records: list[dict[str, Any]]) -> None:
    """Policies list agent, purpose and records; domains their records, skips and share skipped."""
    page = Page(report(records))
    assert page.tables["Policies in force"] == [
        [POLICY_A[:12] + "…", "MyAIBot", "train-ai", "16"],
        [POLICY_B[:12] + "…", "OtherBot", "ai-input", "3"],
    ]
    per_host = Counter(str(urlsplit(r["url"]).hostname) for r in records)
    skipped = Counter(str(urlsplit(r["url"]).hostname) for r in records if r["action"] == "skip")
    expected = [
        [h, str(n), str(skipped[h]), f"{100 * skipped[h] / n:.1f} %"] for h, n in per_host.items()
    ]
    assert sorted(page.tables["Top domains"]) == sorted(expected)
    busiest_first = [number(n) for n in page.column("Top domains", 1)]
    assert busiest_first == sorted(busiest_first, reverse=True)


def test_search_list_holds_every_skip_with_its_deciding_code(records: list[dict[str, Any]]) -> None:
    """The search data is one [url, deciding code, stage, ts] per skip record, and only those."""
    page = Page(report(records))
    expected = [
        [r["url"], r["reasons"][0]["code"], r["stage"], r["ts"]]
        for r in records
        if r["action"] == "skip"
    ]
    assert page.skips_data() == expected
    assert "capped" not in page.attr_values("id")


def test_verification_outcome_is_shown_only_when_given(records: list[dict[str, Any]]) -> None:
    """``verified`` shows in the header (green when intact, red otherwise); None shows nothing."""
    assert 'id="verified"' not in report(records)
    ok = Page(report(records, verified="intact: 19 records"))
    assert ("span", {"class": "pill ok", "id": "verified"}) in ok.tags
    bad = Page(report(records, verified="broken at line 3: hash mismatch"))
    assert ("span", {"class": "pill bad", "id": "verified"}) in bad.tags


# --- charts -----------------------------------------------------------------------------------------


def chart_columns(text: str) -> list[str]:
    """The titles of the time chart's columns, in order."""
    chart = text.split("<h2>Skips over time</h2>", 1)[1].split("</section>", 1)[0]
    return re.findall(r"<title>([^<]*)</title></rect>", chart)


def test_time_chart_without_skips_says_so() -> None:
    """A log with no skip has no time chart, only a note."""
    records = [{"ts": "2026-11-29T10:00:00Z", "url": "https://a.test/", "action": "allow"}]
    text = report(records)
    assert chart_columns(text) == []
    assert Page(text).texts["Skips over time"].endswith("No skips.")


def test_time_chart_of_one_hour_has_one_labelled_column() -> None:
    """All skips in one hour make one column, with the hour and both axis titles shown."""
    text = report(list(synthetic(4)))
    assert chart_columns(text) == ["2026-11-29T10: 4"]
    chart = Page(text).texts["Skips over time"]
    assert "2026-11-29 10:00" in chart
    assert "hour (UTC)" in chart
    assert "skips" in chart


def test_time_chart_fills_empty_hours_with_zero() -> None:
    """Hours without skips between the first and last are columns of 0, in time order."""
    records = [*synthetic(2, ts="2026-11-29T23:59:59Z"), *synthetic(1, ts="2026-11-30T02:00:00Z")]
    assert chart_columns(report(records)) == [
        "2026-11-29T23: 2",
        "2026-11-30T00: 0",
        "2026-11-30T01: 0",
        "2026-11-30T02: 1",
    ]


def test_time_chart_of_a_long_span_is_daily() -> None:
    """Past MAX_COLUMNS hours the chart has one column per day that had skips."""
    late = datetime(2026, 1, 1, 5, tzinfo=timezone.utc) + timedelta(hours=MAX_COLUMNS)
    records = [*synthetic(1, ts="2026-01-01T05:00:00Z"), *synthetic(3, ts="2026-01-01T07:00:00Z")]
    records += synthetic(1, ts=late.strftime("%Y-%m-%dT%H:%M:%SZ"))
    columns = chart_columns(report(records))
    assert columns == ["2026-01-01: 4", f"{late:%Y-%m-%d}: 1"]
    assert "day (UTC)" in report(records)


def test_reason_chart_has_one_bar_per_code(records: list[dict[str, Any]]) -> None:
    """The reason-code chart has a bar per deciding code, titled with the code and its count."""
    text = report(records)
    chart = text.split("<h2>Skips by reason code</h2>", 1)[1].split("<table>", 1)[0]
    assert re.findall(r"<title>([^<]*)</title>", chart) == [
        "robots_disallow: 5",
        "tdmrep_file: 3",
        "noai_meta: 1",
    ]


# --- escaping and links -----------------------------------------------------------------------------

EVIL_URL = "https://evil.test/<script>alert(1)</script>"
NOT_LINKS: tuple[str, ...] = ("javascript:alert(1)", "JaVaScRiPt:alert(2)", " javascript:alert(3)")
NOT_LINKS += ("java\tscript:alert(4)", "data:text/html,<script>alert(5)</script>", "//evil.test/x")
LINKS = ("https://example.org/tdm-policy.json", "HTTP://example.org/licence?a=1&b=2")
QUOTE_LINK = 'https://example.org/"><script>alert(6)</script>'


@pytest.fixture
def hostile(tmp_path: Path) -> str:
    path = tmp_path / "a<b>.jsonl"
    with AuditWriter(
        path, agent="<img src=x onerror=alert(7)>", purpose="train-ai", policy="p" * 64
    ) as w:
        w.write(skip(EVIL_URL, licensing=(*NOT_LINKS, *LINKS, QUOTE_LINK)))
        w.write(skip("https://example.org/c", code="<script>alert(8)</script>"))
        w.write(skip("https://example.org/d", policy_url="javascript:alert(9)"))
    records = list(read(path))
    return report(records, source=str(path), verified="intact: <b>3</b>")


def test_log_values_are_only_ever_escaped_text(hostile: str) -> None:
    """Markup in URLs, codes, agents and paths never becomes an element or an attribute."""
    page = Page(hostile)
    assert re.search(r"<script>alert|<img|<b>", hostile, re.IGNORECASE) is None
    assert [t for t, _ in page.tags if t in {"img", "b", "iframe", "object"}] == []
    assert [a for _, a in page.tags for k in a if k.startswith("on")] == []
    assert [a for a, _ in page.scripts] == [{"type": "application/json", "id": "skips"}, {}]
    assert "&lt;script&gt;alert(8)&lt;/script&gt;" in hostile  # the code, as text
    assert page.column("Skips by reason code") == ["robots_disallow", "<script>alert(8)</script>"]
    assert page.column("Policies in force", 1) == ["<img src=x onerror=alert(7)>"]
    assert page.title.endswith("a<b>.jsonl")


def test_only_http_leads_are_links(hostile: str) -> None:
    """Leads link only when they start with http(s)://; javascript:, data: and others are text."""
    page = Page(hostile)
    assert sorted(page.attr_values("href")) == sorted([*LINKS, QUOTE_LINK])
    assert re.search(r"href\s*=\s*\"?\s*(javascript|data|//)", hostile, re.IGNORECASE) is None
    leads = page.texts["Licensing leads"]
    for text in [*NOT_LINKS, "javascript:alert(9)"]:
        assert text in leads
    anchors = [a for t, a in page.tags if t == "a"]
    assert all(a["rel"] == "noopener noreferrer nofollow" for a in anchors)


def test_document_has_no_external_reference(hostile: str) -> None:
    """Nothing is loaded: no src, no link element, no CSS url() or @import; only leads have hrefs."""
    page = Page(hostile)
    assert page.attr_values("src") == []
    assert [t for t, _ in page.tags if t in {"link", "img", "iframe", "embed", "base"}] == []
    for style in page.styles:
        assert re.search(r"url\(|@import|@font-face", style, re.IGNORECASE) is None
    assert all(re.match(r"https?://", h, re.IGNORECASE) for h in page.attr_values("href"))
    assert "xmlns" not in hostile  # inline SVG needs no namespace URL


def test_content_security_policy_admits_exactly_the_inline_style_and_script(hostile: str) -> None:
    """The CSP forbids every load and allows the page's own style and script by their hashes."""
    page = Page(hostile)
    csp = next(
        str(a["content"]) for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    )

    def source(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert csp.startswith("default-src 'none';")
    assert f"style-src {source(page.styles[0])};" in csp
    assert f"script-src {source(page.scripts[1][1])};" in csp
    assert "unsafe" not in csp


def test_skips_json_cannot_end_its_script_element(tmp_path: Path) -> None:
    """A URL holding </script>, <!-- or & stays inside the JSON and parses back unchanged."""
    urls = ["https://e.test/</script><script>alert(1)</script>", "https://e.test/<!--<script>x"]
    urls += ["https://e.test/?a=1&b=<\u2028>\u00e9"]
    path = tmp_path / "audit.jsonl"
    with AuditWriter(path, agent="MyAIBot", purpose="train-ai", policy="p" * 64) as w:
        for url in urls:
            w.write(skip(url))
    text = report(list(read(path)))
    data = next(d for a, d in Page(text).scripts if a.get("id") == "skips")
    assert re.search("[<>&]", data) is None
    assert [row[0] for row in json.loads(data)] == urls
    assert text.count("</script>") == 2


def test_lone_surrogates_do_not_stop_the_report() -> None:
    """A log value that no UTF-8 file can hold (a lone surrogate) is replaced, not an error."""
    text = report(list(synthetic(1, url="https://e.test/\ud800")))
    assert text.encode("utf-8")
    assert Page(text).skips_data()[0][0] == "https://e.test/?"


# --- limits and the empty log -----------------------------------------------------------------------


def test_search_list_is_capped_with_a_notice() -> None:
    """More than MAX_SKIPS skips: the first MAX_SKIPS are listed and the page says how many came."""
    records = list(synthetic(MAX_SKIPS + 7))
    page = Page(render_report(Summary(), records, source="a", generated="g"))
    rows = page.skips_data()
    assert len(rows) == MAX_SKIPS
    assert rows[-1][0] == f"https://example.org/p/{MAX_SKIPS - 1}"
    notice = page.texts["Search the skipped URLs"]
    assert (
        f"{MAX_SKIPS + 7:,} skipped URLs were given; the search lists the first 50,000." in notice
    )


def test_search_list_at_the_cap_has_no_notice() -> None:
    """Exactly MAX_SKIPS skips are all listed, without a notice."""
    page = Page(render_report(Summary(), synthetic(MAX_SKIPS), source="a", generated="g"))
    assert len(page.skips_data()) == MAX_SKIPS
    assert "capped" not in page.attr_values("id")


def test_empty_log_renders() -> None:
    """An empty log gives a whole page saying there are no records, with zeros and no data."""
    text = render_report(summarize_records([]), [], source="empty.jsonl", generated="g")
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>")
    assert text.rstrip().endswith("</html>")
    assert "No records in this log." in text
    assert page.values["card-records"] == "0"
    assert page.values["card-span"] == "–"
    assert page.skips_data() == []
    assert page.tables == {}
    assert page.texts["Skips by reason code"].endswith("No skips.")
