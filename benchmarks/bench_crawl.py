"""Crawl throughput of the demo_mall spider against the local demo mall.

    python benchmarks/bench_crawl.py [--listings 5000] [--js-listings 300]

Scenarios (each crawl runs in its own subprocess, the mall is served from a thread of this one, so
crawler and server each get a core of a 2-core machine):
  static          5,000-listing mall (+1% malformed pages), JavaScript rendering off (shells skipped),
                  listings published to a temporary embedded (SQLite) bus, rulebook on if available
  static-bare     the same without publishing or detection: the spider and Scrapy alone
  browser         a mall whose detail pages are all client-rendered, rendered with Chromium
  mixed           the 5,000-listing mall with ~10% client-rendered pages, everything on
Pages/s counts every HTTP response Scrapy received (home, category, detail, shop, robots) over the
spider's open-to-close time; browser pages/s counts pages rendered by Chromium over the same time.
Target: >= 300 static pages/s. Results: a rich table and benchmarks/out/crawl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demomall.generator import generate  # noqa: E402
from demomall.server import run_in_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "crawl.json"


def rulebook_status() -> str | None:
    """None when the rulebook loads; otherwise why not (the benchmark then runs without detection
    and says so, instead of failing on a colleague's work in progress)."""
    try:
        from rules import load_rulebook

        load_rulebook()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


DETECT_ARGS: list[str] = []


def crawl(url: str, workdir: Path, name: str, *args: str) -> dict:
    env = os.environ | {"SWEEP_DATA_DIR": str(workdir / f"data-{name}")}
    env.pop("SWEEP_KAFKA", None)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spiders.run",
            "demo_mall",
            "--base-url",
            url,
            "-o",
            str(workdir / f"{name}.jsonl"),
            *DETECT_ARGS,
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"crawl {name} failed:\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    stats["wall_seconds"] = round(wall, 2)
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=5000)
    ap.add_argument("--js-listings", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-mixed", action="store_true")
    args = ap.parse_args()
    console = Console()
    problem = rulebook_status()
    if problem:
        console.print(f"[yellow]rulebook not usable ({problem}); crawling without detection[/]")
        DETECT_ARGS.append("--no-detect")

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        workdir = Path(tmp)
        mall = generate(args.listings, args.seed, malformed=args.listings // 100)
        url, stop = run_in_thread(mall)
        try:
            console.print(f"mall of {args.listings} listings at {url}")
            results["static"] = crawl(url, workdir, "static", "--no-js")
            results["static-bare"] = crawl(url, workdir, "static-bare", "--no-js", "--no-publish", "--no-detect")
            if not args.skip_mixed:
                results["mixed"] = crawl(url, workdir, "mixed")
        finally:
            stop()
        js_mall = generate(args.js_listings, args.seed, client_rendered_share=1.0, malformed=0)
        url, stop = run_in_thread(js_mall)
        try:
            results["browser"] = crawl(url, workdir, "browser", "--no-publish")
        finally:
            stop()

    for r in results.values():
        r["browser_pages_per_second"] = round(r["browser_pages"] / r["seconds"], 1) if r["seconds"] else 0.0
        r["static_pages_per_second"] = round(r["static_pages"] / r["seconds"], 1) if r["seconds"] else 0.0

    table = Table(expand=False, title=f"demo_mall crawl ({os.cpu_count()} CPUs, Python {platform.python_version()})")
    for col in (
        "scenario",
        "pages",
        "static",
        "browser",
        "listings",
        "findings",
        "invalid",
        "errors",
        "seconds",
        "pages/s",
        "browser pages/s",
    ):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    for name, r in results.items():
        table.add_row(
            name,
            str(r["pages"]),
            str(r["static_pages"]),
            str(r["browser_pages"]),
            str(r["listings"]),
            str(r["findings"]),
            str(r["invalid"]),
            str(r["errors"]),
            f"{r['seconds']:.1f}",
            f"{r['pages_per_second']:.0f}",
            f"{r['browser_pages_per_second']:.1f}",
        )
    console.print(table)
    static_rate = results["static"]["pages_per_second"]
    verdict = "[green]meets[/]" if static_rate >= 300 else "[red]misses[/]"
    console.print(f"static throughput {static_rate:.0f} pages/s {verdict} the 300 pages/s target")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "crawl",
                "listings": args.listings,
                "js_listings": args.js_listings,
                "seed": args.seed,
                "cpus": os.cpu_count(),
                "detection": problem or "on",
                "python": platform.python_version(),
                "target_static_pages_per_second": 300,
                "results": results,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
