"""``make demo``: the whole story on the bundled example web, in under a minute, offline.

1. Serve the example web (``examples/site/``: thirteen origins on 127.0.0.1, every signal).
2. Crawl it with the example Scrapy project (``examples/scrapy_project/``, the add-on), following
   every link and image from the portal, with the example registry and licence register.
3. Fetch a few of its URLs again with the httpx example (``examples/httpx_sync.py``), appending to
   the same compliance log.
4. Stop the site, then review the log as a compliance team would: ``scrapy-optout log summary``,
   ``log verify`` and ``log report``.

Usage: ``python examples/demo.py [OUT]`` (``demo-output/`` by default). Every file it writes is in
OUT, replaced on each run: the log, its evidence, the crawl's items and output, ``report.html``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
sys.path.insert(0, str(EXAMPLES / "site"))
import web
from serve import ExampleWeb

from scrapy_optout.audit import read
from scrapy_optout.cli import main as scrapy_optout


def run(title: str, command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    """Print *title* and the command, run it, and stop the demo if it fails."""
    shown = " ".join(Path(part).name if part == sys.executable else part for part in command)
    print(f"\n== {title}\n$ {shown}", flush=True)
    done = subprocess.run(command, text=True, check=False, **options)  # type: ignore[call-overload]  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"demo: {command[1]} exited with {done.returncode}")
    return done  # type: ignore[no-any-return]


def cli(*args: str) -> int:
    """Run one ``scrapy-optout`` command, printing it first."""
    print(f"\n$ scrapy-optout {' '.join(args)}", flush=True)
    return scrapy_optout(list(args))


def clean(out: Path) -> dict[str, Path]:
    """The demo's output files in *out*, with those of an earlier run removed."""
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / name for name in ("optout-audit.jsonl", "items.jsonl", "crawl.log",
                                           "report.html")}  # fmt: skip
    for stale in (*files.values(), out / "optout-audit.jsonl.torn"):
        stale.unlink(missing_ok=True)
    shutil.rmtree(out / "optout-audit.jsonl.evidence", ignore_errors=True)
    return files


def main(argv: list[str]) -> int:
    """Run the demo; exit 0 when the log verifies and holds what the example web should give."""
    started = time.monotonic()
    out = Path(argv[0] if argv else "demo-output").resolve()
    files = clean(out)
    log = str(files["optout-audit.jsonl"])
    with ExampleWeb(port=0) as site:
        registry, licences = site.write_config(out)
        print("== the example web (examples/site/web.py says what each origin shows)")
        for origin in site.origins:
            print(f"  {site.url(origin.name):<24} {origin.name:<10} {origin.about}")
        config = ["-s", f"OPTOUT_AUDIT_LOG={log}", "-s", f"OPTOUT_REGISTRY={registry}",
                  "-s", f"OPTOUT_LICENCES={licences}"]  # fmt: skip
        with files["crawl.log"].open("w") as crawl_log:
            run("crawl it with the example Scrapy project (its output: crawl.log)",
                [sys.executable, "-m", "scrapy", "crawl", "pages", "-a",
                 f"start={site.url('portal')}", "-O", str(files["items.jsonl"]), *config],
                cwd=EXAMPLES / "scrapy_project", stdout=crawl_log, stderr=subprocess.STDOUT)
        collected = Counter(json.loads(line)["kind"]
                            for line in files["items.jsonl"].read_text().splitlines())
        print("collected: " + ", ".join(f"{n} {kind}s" for kind, n in sorted(collected.items())))
        run("fetch a few URLs again with the httpx example",
            [sys.executable, str(EXAMPLES / "httpx_sync.py"), "--log", log, "--registry",
             str(registry), "--licences", str(licences),
             *(site.url(name, path) for name, path in web.HTTPX_SAMPLE)])
    print("\n== the site is stopped; review the compliance log")
    status = cli("log", "summary", log)
    status |= cli("log", "verify", log)
    status |= cli("log", "report", log, "-o", str(files["report.html"]))
    status |= check(log, site.origins)
    print(f"\nreport: {files['report.html']}\nlog:    {log}")
    print(f"demo finished in {time.monotonic() - started:.1f} s")
    return status


def check(log: str, origins: list[web.Origin]) -> int:
    """Compare the log with what the example web was built to produce (``web.expected``)."""
    found: Counter[str] = Counter()
    for record in read(log):
        reasons: list[dict[str, str]] = record["reasons"]  # type: ignore[assignment]
        codes = [reason["code"] for reason in reasons]
        if record["action"] == "skip":
            found[codes[0]] += 1  # the deciding reason comes first
        else:
            found["licence" if "licence" in codes else "allow"] += 1
    wanted = web.expected(origins, web.HTTPX_SAMPLE)
    if found == wanted:
        print(f"\nas built: every one of the {sum(wanted.values())} decisions is the one the "
              "example web was built to produce")
        return 0
    for code in sorted(set(found) | set(wanted)):
        if found[code] != wanted[code]:
            print(f"MISMATCH {code}: logged {found[code]}, expected {wanted[code]}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
