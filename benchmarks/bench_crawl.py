"""Crawl throughput of the demo_mall spider against the local demo mall.

    python benchmarks/bench_crawl.py [--listings 5000] [--js-listings 300] [--runs 3]

Scenarios (each crawl runs in its own subprocess, the mall is served from a thread of this one, so
crawler and server each get a core of a 2-core machine):
  static          5,000-listing mall (+1% malformed pages), JavaScript rendering off (shells skipped),
                  listings published to a temporary embedded (SQLite) bus, rulebook on if available
  static-bare     the same without publishing or detection: the spider and Scrapy alone
  mixed           the 5,000-listing mall with ~10% client-rendered pages, everything on
  browser         a mall whose detail pages are all client-rendered, rendered with Chromium
Every scenario runs `--runs` times (at least 3, interleaved: static, bare, mixed, static, ...) and
reports the median with min and max, beside the load average before and after, so a reader can tell
a quiet measurement from a busy one. Pages/s counts every HTTP response of the site Scrapy received
(home, category, detail, shop, robots; not the in-process data: responses of listings waiting for
their shop page) over the spider's open-to-close time; browser pages/s counts pages rendered by
Chromium over the same time. Target: >= 300 static pages/s. Results: a rich table and
benchmarks/out/crawl.json.
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

sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import MIN_RUNS, Series, load_average, machine, machine_line  # noqa: E402

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
    """One crawl in a fresh subprocess with a fresh data directory (an empty embedded bus)."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    env = os.environ | {"SWEEP_DATA_DIR": str(run_dir / "data")}
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
            str(run_dir / "listings.jsonl"),
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


SCENARIOS = ("static", "static-bare", "mixed", "browser")


def rates(r: dict) -> dict[str, float]:
    seconds = r["seconds"] or float("nan")
    return {
        "pages/s": r["pages"] / seconds,
        "listings/s": r["listings"] / seconds,
        "browser pages/s": r["browser_pages"] / seconds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=5000)
    ap.add_argument("--js-listings", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs per scenario (at least {MIN_RUNS})")
    ap.add_argument("--skip-mixed", action="store_true")
    args = ap.parse_args()
    if args.runs < MIN_RUNS:
        ap.error(f"--runs must be at least {MIN_RUNS}: fewer runs give no range worth quoting")
    console = Console(width=150)  # the table is wider than a default 80-column capture
    problem = rulebook_status()
    if problem:
        console.print(f"[yellow]rulebook not usable ({problem}); crawling without detection[/]")
        DETECT_ARGS.append("--no-detect")

    scenarios = [s for s in SCENARIOS if not (args.skip_mixed and s == "mixed")]
    runs: dict[str, list[dict]] = {s: [] for s in scenarios}
    series: dict[str, dict[str, Series]] = {
        s: {unit: Series(unit) for unit in ("pages/s", "listings/s", "browser pages/s")} for s in scenarios
    }
    load_before = [round(x, 2) for x in load_average()]
    console.print(f"before: {machine_line()}")
    mall = generate(args.listings, args.seed, malformed=args.listings // 100)
    js_mall = generate(args.js_listings, args.seed, client_rendered_share=1.0, malformed=0)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        workdir = Path(tmp)
        url, stop = run_in_thread(mall)
        js_url, js_stop = run_in_thread(js_mall)
        try:
            console.print(
                f"mall of {args.listings} listings at {url}; all-JavaScript mall of {args.js_listings} at {js_url}"
            )
            for run in range(1, args.runs + 1):  # interleaved, so a busy minute hits every scenario alike
                for name in scenarios:
                    if name == "static":
                        r = crawl(url, workdir, name, "--no-js")
                    elif name == "static-bare":
                        r = crawl(url, workdir, name, "--no-js", "--no-publish", "--no-detect")
                    elif name == "mixed":
                        r = crawl(url, workdir, name)
                    else:
                        r = crawl(js_url, workdir, name, "--no-publish")
                    runs[name].append(r)
                    for unit, value in rates(r).items():
                        series[name][unit].add(round(value, 1))
                    console.print(
                        f"  run {run} {name:<12} {r['pages']:>6} pages {r['seconds']:>6.1f}s "
                        f"{rates(r)['pages/s']:>6.0f} pages/s  load {os.getloadavg()[0]:.2f}"
                    )
        finally:
            stop()
            js_stop()
    load_after = [round(x, 2) for x in load_average()]

    table = Table(
        expand=False,
        title=f"demo_mall crawl, {args.runs} runs per scenario: median (min–max)",
        caption=f"after: {machine_line()}",
    )
    for col in (
        "scenario",
        "pages",
        "listings",
        "browser",
        "invalid",
        "errors",
        "pages/s",
        "listings/s",
        "browser pages/s",
    ):
        table.add_column(col, justify="right" if col != "scenario" else "left")

    def cell(s: Series, fmt: str = "{:.0f}") -> str:
        return f"{fmt.format(s.median)} ({fmt.format(min(s.values))}–{fmt.format(max(s.values))})"

    for name in scenarios:
        last = runs[name][-1]
        table.add_row(
            name,
            str(last["pages"]),
            str(last["listings"]),
            str(last["browser_pages"]),
            str(last["invalid"]),
            str(max(r["errors"] for r in runs[name])),
            cell(series[name]["pages/s"]),
            cell(series[name]["listings/s"]),
            cell(series[name]["browser pages/s"], "{:.1f}"),
        )
    console.print(table)
    console.print(f"load average (1/5/15 min) before {load_before}, after {load_after}")
    static = series["static"]["pages/s"]
    verdict = "[green]meets[/]" if static.median >= 300 else "[red]misses[/]"
    console.print(f"static throughput {static.summary()} {verdict} the 300 pages/s target")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "crawl",
                "listings": args.listings,
                "js_listings": args.js_listings,
                "seed": args.seed,
                "runs": args.runs,
                "machine": machine(),
                "load_average_before": load_before,
                "load_average_after": load_after,
                "detection": problem or "on",
                "python": platform.python_version(),
                "target_static_pages_per_second": 300,
                "results": {
                    name: {"rates": {u: s.stats() for u, s in series[name].items()}, "runs": runs[name]}
                    for name in scenarios
                },
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    console.print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
