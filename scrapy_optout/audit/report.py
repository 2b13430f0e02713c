"""A compliance log as one self-contained HTML page (``scrapy-optout log report``, DESIGN §7).

The page loads nothing: CSS, SVG charts and the search script are inline, and its Content-Security-
Policy allows only those two (by hash), so a value that slipped through escaping could neither run
nor fetch anything. Every value from the log is HTML-escaped; the skipped URLs for the search travel
as JSON in a ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, and the script
renders them with ``createTextNode``. Only http(s) URLs become links (DESIGN §5.2 "Report links").
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from scrapy_optout.audit.report_assets import CSS as _CSS
from scrapy_optout.audit.report_assets import JS as _JS
from scrapy_optout.audit.summary import TOP, Summary

MAX_SKIPS = 50_000
"""Skipped URLs kept in the page's search list (the figures count them all)."""

MAX_BARS = 25
"""Bars in a breakdown chart (its table lists every key)."""

MAX_COLUMNS = 24 * 92
"""Hourly columns in the time chart; a longer span is charted per day."""

POLICY_HEAD = ("policy", "agent", "purpose", "records")
"""Columns of the policies table."""
DOMAIN_HEAD = ("host", "records", "skips", "share skipped")
"""Columns of the top-domains table."""

_LINKABLE = re.compile(r"https?://", re.IGNORECASE)


def _digest(text: str) -> str:
    """The CSP source that allows one inline element whose content is *text*."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


_CSP = (
    f"default-src 'none'; style-src {_digest(_CSS)}; script-src {_digest(_JS)}; "
    "base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    """*value* as HTML text, safe in element content and in quoted attributes."""
    return html.escape(str(value), quote=True)


def _n(count: int) -> str:
    return f"{count:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _link(url: str) -> str:
    r"""*url* as a link when it is http(s), else as plain text (DESIGN §5.2).

    The check is on the raw text: browsers drop tabs, newlines and leading spaces before reading a
    scheme (``java\tscript:``), so only a literal ``http://`` / ``https://`` prefix is proof.
    """
    if _LINKABLE.match(url):
        return f'<a class="url" href="{_e(url)}" rel="noopener noreferrer nofollow">{_e(url)}</a>'
    return f'<span class="url">{_e(url)}</span>'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], nums: set[int]) -> str:
    """A table of cells that are already HTML, columns *nums* right-aligned; "" without rows."""

    def cells(tag: str, row: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="num">{c}</{tag}>' if i in nums else f"<{tag}>{c}</{tag}>"
            for i, c in enumerate(row)
        )

    if not rows:
        return ""
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', head)}</tr></thead><tbody>{body}</tbody></table>"


def _bars(counter: Counter[str], label: str) -> str:
    """A horizontal SVG bar chart of *counter*'s largest counts."""
    items = counter.most_common(MAX_BARS)
    width, left, row, peak = 720, 200, 24, items[0][1]
    out = [
        f'<svg viewBox="0 0 {width} {row * len(items) + 8}" role="img" aria-label="{_e(label)}">'
    ]
    for i, (key, n) in enumerate(items):
        y, w = 4 + i * row, max(1.0, (width - left - 70) * n / peak)
        out.append(
            f"<g><title>{_e(key)}: {_n(n)}</title><text x={left - 8} y={y + 16} "
            f'text-anchor="end">{_e(_short(key, 28))}</text><rect class="bar" x={left} y={y + 4} '
            f'width="{w:.1f}" height={row - 8} /><text x="{left + w + 6:.1f}" y={y + 16}>{_n(n)}'
            "</text></g>"
        )
    return "".join(out) + "</svg>"


def _time_axis(hours: Counter[str]) -> tuple[list[tuple[str, int]], str]:
    """(label, skips) per column with empty hours as 0, and the unit: hour, or day if too long."""
    try:
        stamps = sorted(datetime.strptime(k, "%Y-%m-%dT%H") for k in hours)
    except ValueError:  # not the writer's timestamps: chart what is there, in text order
        return sorted(hours.items()), "hour"
    span = int((stamps[-1] - stamps[0]).total_seconds() // 3600) + 1
    if span <= MAX_COLUMNS:
        keys = [(stamps[0] + timedelta(hours=i)).strftime("%Y-%m-%dT%H") for i in range(span)]
        return [(k, hours[k]) for k in keys], "hour"
    days: Counter[str] = Counter()
    for key, n in hours.items():
        days[key[:10]] += n
    return sorted(days.items()), "day"


def _columns(hours: Counter[str]) -> str:
    """An SVG column chart of skips over time, with labelled axes; "" without skips."""
    if not hours:
        return ""
    cols, unit = _time_axis(hours)
    width, height, left, top, pw, ph = 720, 260, 60, 12, 648, 196
    base, peak, step = top + ph, max(n for _, n in cols) or 1, pw / len(cols)
    # Columns thinner than 4 px touch (a gap would hide them); wide ones stay narrow, centred.
    bar = min(step * 0.8, 48.0) if step >= 4 else max(step, 0.5)
    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="skips per {unit}">']
    for tick in sorted({0, peak // 2, peak}):
        y = base - ph * tick / peak
        out.append(
            f'<line class="gridl" x1={left} x2={left + pw} y1="{y:.1f}" y2="{y:.1f}" />'
            f'<text class="tick" x={left - 6} y="{y + 4:.1f}" text-anchor="end">{_n(tick)}</text>'
        )
    for i, (key, n) in enumerate(cols):
        h = ph * n / peak
        out.append(
            f'<rect class="bar" x="{left + (i + 0.5) * step - bar / 2:.2f}" y="{base - h:.2f}" '
            f'width="{bar:.2f}" height="{h:.2f}"><title>{_e(key)}: {_n(n)}'
            "</title></rect>"
        )
    for i in range(0, len(cols), -(-len(cols) // 6)):  # at most 6 labels, the first one included
        key = cols[i][0]
        text = key.replace("T", " ") + (":00" if unit == "hour" and len(key) == 13 else "")
        x = left + (i + 0.5) * step
        out.append(
            f'<text class="tick" x="{x:.1f}" y={base + 16} text-anchor="middle">{_e(text)}</text>'
        )
    return "".join(out) + (
        f'<line class="axis" x1={left} x2={left + pw} y1={base} y2={base} />'
        f'<line class="axis" x1={left} x2={left} y1={top} y2={base} />'
        f'<text x={left + pw // 2} y={height - 8} text-anchor="middle">{unit} (UTC)</text>'
        f'<text transform="translate(14 {top + ph // 2}) rotate(-90)" text-anchor="middle">skips'
        "</text></svg>"
    )


def _section(title: str, body: str, note: str = "", none: str = "None.") -> str:
    """A titled card holding *body*, or *none* when it is empty."""
    note = f'<p class="note">{note}</p>' if note else ""
    return f"<section><h2>{title}</h2>{note}{body or f'<p class=none>{none}</p>'}</section>"


def _breakdown(title: str, key: str, counter: Counter[str], skips: int, chart: bool) -> str:
    """A section: skips per *key*, as a table, after a bar chart if *chart*."""
    rows = [(_e(k), _n(n), _pct(n, skips)) for k, n in counter.most_common()]
    figure = _bars(counter, title) if chart and rows else ""
    return _section(title, figure + _table((key, "skips", "share"), rows, {1, 2}), none="No skips.")


def _header(source: str, generated: str, verified: str | None) -> str:
    """The document's head and the page's header."""
    out = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Compliance report: {_e(source)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>Compliance report</h1><p class="meta">Log <code>{_e(source)}</code>'
        f" · generated {_e(generated)}"
    )
    if verified is not None:
        state = "ok" if verified.startswith("intact") else "bad"
        out += f' · chain <span class="pill {state}" id="verified">{_e(verified)}</span>'
    return out + "</p></header>"


def _cards(s: Summary) -> str:
    """The headline numbers, one card each."""
    span = f"{s.first} → {s.last}" if s.first else "–"
    cards = [("records", s.records), ("allowed", s.actions["allow"]), ("skipped", s.skips)]
    cards += [("bypassed", s.actions["bypass"]), ("hosts", len(s.hosts)), ("runs", len(s.runs))]
    out = "".join(
        f'<div class="card" id="card-{k}"><div class="label">{k}</div>'
        f'<div class="value">{_n(n)}</div></div>'
        for k, n in cards
    )
    out += (
        '<div class="card wide" id="card-span"><div class="label">time span (UTC)</div>'
        f'<div class="value">{_e(span)}</div></div>'
    )
    empty = "" if s.records else '<p class="notice" id="empty">No records in this log.</p>'
    return f'<div class="cards">{out}</div>{empty}'


def _skip_rows(skipped: Iterable[Mapping[str, Any]]) -> tuple[list[list[str]], int]:
    """The search list (url, deciding code, stage, ts) of the first skips, and how many came."""
    rows: list[list[str]] = []
    given = 0
    for record in skipped:
        if record.get("action") != "skip":
            continue
        given += 1
        if len(rows) < MAX_SKIPS:
            reasons = record.get("reasons") or [{}]
            first = reasons[0] if isinstance(reasons[0], Mapping) else {}
            row = (record.get("url"), first.get("code"), record.get("stage"), record.get("ts"))
            rows.append(["" if v is None else str(v) for v in row])
    return rows, given


def _search(skipped: Iterable[Mapping[str, Any]]) -> str:
    """The search over the skipped URLs: its input, the table the script fills, and its data."""
    rows, given = _skip_rows(skipped)
    data = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    # JSON escapes, so that no URL can end the element (``</script>``) or open a comment.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    capped = ""
    if given > len(rows):
        capped = (
            f'<p class="notice" id="capped">{_n(given)} skipped URLs were given; the search lists '
            f"the first {_n(MAX_SKIPS)}.</p>"
        )
    return (
        f'<section class="search"><h2>Search the skipped URLs</h2>{capped}'
        '<input id="q" type="search" placeholder="Filter by URL, code, stage or time" '
        'aria-label="Filter the skipped URLs" autocomplete="off">'
        '<p class="note" id="skip-count"><noscript>The search needs JavaScript.</noscript></p>'
        '<table id="skip-table"><thead><tr><th>url</th><th>deciding code</th><th>stage</th>'
        '<th>time (UTC)</th></tr></thead><tbody id="skip-rows"></tbody></table></section>'
        f'<script type="application/json" id="skips">{data}</script>'
    )


def render_report(
    summary: Summary,
    skipped: Iterable[Mapping[str, Any]],
    *,
    source: str,
    generated: str,
    verified: str | None = None,
) -> str:
    """One self-contained HTML5 page showing a compliance log's figures.

    Args:
        summary: the log's figures (:func:`~scrapy_optout.audit.summary.summarize`).
        skipped: the log's records for the search list (read once); only ``skip`` records are
            kept, the first :data:`MAX_SKIPS` of them, and the page says when there were more.
        source: the log's path, shown in the header.
        generated: when the report was made (a UTC timestamp), shown in the header.
        verified: a one-line verification outcome (``"intact: 1,234 records"``), or None. It shows
            green when it starts with ``intact``, red otherwise.

    Returns:
        The document, as text.
    """
    s = summary
    by_use = sorted(s.policies.items(), key=lambda item: -item[1].records)
    policies = [
        (
            f'<code title="{_e(h)}">{_e(_short(h, 13))}</code>',
            _e(u.agent),
            _e(u.purpose),
            _n(u.records),
        )
        for h, u in by_use
    ]
    domains = [
        (_e(h or "(no host)"), _n(n), _n(s.skipped_hosts[h]), _pct(s.skipped_hosts[h], n))
        for h, n in s.hosts.most_common(TOP)
    ]
    leads = [
        (_e(origin), "<ul>" + "".join(f"<li>{_link(u)}</li>" for u in sorted(urls)) + "</ul>")
        for origin, urls in sorted(s.leads.items())
    ]
    lead_note = (
        "Origins that published a <code>tdm-policy</code>, an RSL licence or a registry URL."
    )
    top_note = f"The {TOP} busiest of {_n(len(s.hosts))} hosts." if len(s.hosts) > TOP else ""
    parts = (
        _header(source, generated, verified),
        "<main>",
        _cards(s),
        _section("Policies in force", _table(POLICY_HEAD, policies, {3})),
        _breakdown("Skips by reason code", "code", s.skips_by_code, s.skips, chart=True),
        '<div class="grid">',
        _breakdown("Skips by signal", "signal", s.skips_by_signal, s.skips, chart=False),
        _breakdown("Skips by stage", "stage", s.skips_by_stage, s.skips, chart=False),
        "</div>",
        _section("Skips over time", _columns(s.skips_by_hour), none="No skips."),
        _section("Top domains", _table(DOMAIN_HEAD, domains, {1, 2, 3}), top_note),
        _section("Licensing leads", _table(("origin", "licensing URLs"), leads, set()), lead_note),
        _search(skipped),
        f"</main><script>{_JS}</script></body></html>\n",
    )
    # A log may hold lone surrogates (valid JSON escapes) that no UTF-8 file can store.
    return "".join(parts).encode("utf-8", "replace").decode("utf-8")
