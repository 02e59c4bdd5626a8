"""Evidence capture overhead and storage on the static demo mall.

    python benchmarks/bench_evidence.py [--listings 2000] [--runs 3]

Each crawl runs `python -m spiders.run demo_mall --no-js --no-publish` (detection on: findings decide
what is captured) in its own subprocess against a mall served from a thread of this one, with a fresh
data directory. Scenarios, interleaved run by run so a busy minute hits each alike:
  off        SWEEP_EVIDENCE_CAPTURE=off: the crawl without capture
  findings   the default: the page of every listing with a finding (WARC + manifest, fsync'd)
  all        every page (listings, categories, shops, robots.txt)
  recrawl    `all` again into the store the previous `all` run filled: unchanged pages become
             revisit records; its figure is the growth of the store
Pages/s is Scrapy's responses over the spider's open-to-close time (as bench_crawl.py). Storage per
1,000 listings is the evidence folder's file bytes (WARC, manifests, payload index) divided by the
listings crawled. Results: a rich table and benchmarks/out/evidence.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import MIN_RUNS, Series, load_average, machine, machine_line  # noqa: E402

from demomall.generator import generate  # noqa: E402
from demomall.server import run_in_thread  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "evidence.json"
SCENARIOS = ("off", "findings", "all", "recrawl")


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def crawl(url: str, data_dir: Path, mode: str) -> dict:
    env = os.environ | {"SWEEP_DATA_DIR": str(data_dir), "SWEEP_EVIDENCE_CAPTURE": mode}
    for name in ("SWEEP_KAFKA", "SWEEP_EVIDENCE_DIR"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "demo_mall", "--base-url", url, "--no-js", "--no-publish"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"crawl ({mode}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs per scenario (at least {MIN_RUNS})")
    args = ap.parse_args()
    if args.runs < MIN_RUNS:
        ap.error(f"--runs must be at least {MIN_RUNS}: fewer runs give no range worth quoting")
    console = Console(width=150)
    console.print(f"before: {machine_line()}")
    load_before = [round(x, 2) for x in load_average()]
    rates = {s: Series("pages/s") for s in SCENARIOS}
    per_1000 = {s: Series("bytes per 1,000 listings") for s in SCENARIOS}
    captures: dict[str, int] = {}
    mall = generate(args.listings, args.seed)
    with tempfile.TemporaryDirectory(prefix="sweep-bench-evidence-") as tmp:
        url, stop = run_in_thread(mall)
        try:
            for run in range(1, args.runs + 1):
                all_dir: Path | None = None
                for name in SCENARIOS:
                    if name == "recrawl":
                        assert all_dir is not None
                        data_dir = all_dir
                    else:
                        data_dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
                    before = folder_bytes(data_dir / "evidence")
                    r = crawl(url, data_dir, "all" if name == "recrawl" else name)
                    grown = folder_bytes(data_dir / "evidence") - before
                    if name == "all":
                        all_dir = data_dir
                    pages_s = rates[name].add(round(r["pages"] / r["seconds"], 1))
                    per_1000[name].add(round(grown / r["listings"] * 1000))
                    captures[name] = len(list((data_dir / "evidence").glob("manifests/*/*/0*.json")))
                    console.print(
                        f"  run {run} {name:<9} {r['pages']:>6} pages {r['listings']:>6} listings "
                        f"{r['findings']:>5} findings {r['seconds']:>6.1f}s {pages_s:>6.0f} pages/s "
                        f"+{grown / 1e6:>7.2f} MB  load {os.getloadavg()[0]:.2f}"
                    )
        finally:
            stop()
    load_after = [round(x, 2) for x in load_average()]
    table = Table(
        title=f"evidence capture, static demo mall of {args.listings} listings, {args.runs} runs: median (min–max)",
        caption=f"after: {machine_line()}",
    )
    for col in ("scenario", "pages/s", "vs off", "store growth per 1,000 listings", "manifests in store"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    off = rates["off"].median
    for name in SCENARIOS:
        s, b = rates[name], per_1000[name]
        table.add_row(
            name,
            f"{s.median:.0f} ({min(s.values):.0f}–{max(s.values):.0f})",
            f"{s.median / off:.0%}",
            f"{b.median / 1e6:.2f} MB ({min(b.values) / 1e6:.2f}–{max(b.values) / 1e6:.2f})",
            str(captures.get(name, 0)),
        )
    console.print(table)
    console.print(f"load average (1/5/15 min) before {load_before}, after {load_after}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "machine": machine(),
                "load_before": load_before,
                "load_after": load_after,
                "listings": args.listings,
                "pages_per_second": {k: v.stats() for k, v in rates.items()},
                "bytes_per_1000_listings": {k: v.stats() for k, v in per_1000.items()},
            },
            indent=1,
        )
    )
    console.print(f"written {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
