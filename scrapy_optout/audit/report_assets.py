"""The HTML report's inline style sheet and script (``report.py``), kept apart from its markup.

Both are inlined in the page and allowed by hash in its Content-Security-Policy.
"""

from __future__ import annotations

CSS = """
:root{--ink:#1d2433;--mute:#5b6577;--line:#dde2ea;--bg:#f5f7fa;--acc:#2f5fd0}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header{background:#fff;border-bottom:1px solid var(--line);padding:20px 32px}
h1{margin:0 0 4px;font-size:22px}h2{font-size:16px;margin:0 0 12px}.meta{color:var(--mute);margin:0}
.pill{padding:1px 10px;border-radius:10px;font-weight:600}
.ok{background:#e3f4ea;color:#1e7e4a}.bad{background:#fbe6e3;color:#c0392b}
main{padding:24px 32px;max-width:1200px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;margin:0 0 24px}
.card,section{background:#fff;border:1px solid var(--line);border-radius:8px;break-inside:avoid}
.card{padding:12px 16px}.wide{grid-column:span 2}section{padding:16px 20px;margin-bottom:20px}
.label,th{color:var(--mute);font-size:12px;font-weight:600;text-transform:uppercase}
.value{font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}.wide .value{font-size:15px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:0 20px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.url{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.none,.note,.tick{color:var(--mute);fill:var(--mute)}a{color:var(--acc)}ul{margin:0;padding-left:18px}
.notice{background:#fff6dd;border:1px solid #f0d98c;padding:8px 12px;border-radius:6px}
svg{width:100%;height:auto;display:block;margin-bottom:12px}.bar{fill:var(--acc)}
.axis{stroke:var(--mute)}.gridl{stroke:var(--line)}text{font-size:12px;fill:var(--ink)}
#q{width:100%;padding:8px 10px;font:inherit;border:1px solid var(--line);border-radius:6px}
@media print{body{background:#fff}header,main{padding:0 0 12px}.search{display:none}}
"""
"""The page's style sheet: a light dashboard theme that prints well."""

JS = """
(function () {
  "use strict";
  var rows = JSON.parse(document.getElementById("skips").textContent), LIMIT = 500;
  var input = document.getElementById("q"), body = document.getElementById("skip-rows");
  function show() {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean), matched = 0;
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) {
      var hay = r.join(" ").toLowerCase();
      if (!terms.every(function (t) { return hay.indexOf(t) >= 0; }) || ++matched > LIMIT) return;
      var tr = frag.appendChild(document.createElement("tr"));
      r.forEach(function (cell, j) {
        var td = tr.appendChild(document.createElement("td"));
        if (j === 0) td.className = "url";
        td.appendChild(document.createTextNode(cell));
      });
    });
    body.replaceChildren(frag);
    document.getElementById("skip-count").textContent = matched.toLocaleString("en") + " of " +
      rows.length.toLocaleString("en") + " skipped URLs match" +
      (matched > LIMIT ? "; the first " + LIMIT + " are shown" : "");
  }
  function fromHash() {
    var h = location.hash;
    if (h.indexOf("#q=") !== 0) return;
    try { input.value = decodeURIComponent(h.slice(3).replace(/\\+/g, " ")); }
    catch (e) { input.value = h.slice(3); }
  }
  input.addEventListener("input", show);
  window.addEventListener("hashchange", function () { fromHash(); show(); });
  fromHash();
  show();
})();
"""
"""The search: filters the skipped-URL table from ``#q=`` and the input, as text only."""
