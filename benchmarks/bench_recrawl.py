"""Incremental recrawl: a recrawl of an unchanged mall against a first crawl, wall time and CPU time.

    python benchmarks/bench_recrawl.py [--listings 5000] [--runs 3]

Each run starts from an empty embedded data directory (SQLite bus and lead store) and does, against a
static demo mall of `--listings` listings served from a thread of this process:

  first      `python -m spiders.run demo_mall --no-js` in a subprocess: every listing judged by the
             rulebook and published, then the indexer (in this process) until the bus is drained;
  recrawl    the same crawl again of the same, unchanged mall: every listing's fingerprint matches its
             kept state, so no detection runs and only `listing_seen` messages are published; then the
             indexer applies them (listing states and every lead's sighting).

Crawl time is the crawler process's wall time (start-up included) and CPU time (user + system, from
the child's rusage); indexer time is the wall and CPU time of `Indexer.run` here, including its 0.3 s
idle wait before it stops. Every figure is the median of `--runs` runs (at least 3) with its min and
max, printed beside the load average, and written to benchmarks/out/recrawl.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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

from adapters.bus.sqlite import SqliteBus  # noqa: E402
from adapters.store.sqlite import SqliteLeadStore  # noqa: E402
from consumers.indexer import Indexer  # noqa: E402
from demomall.generator import generate  # noqa: E402
from demomall.server import serve_in_thread  # noqa: E402
from sweep.bus.base import Topics  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "recrawl.json"
PREFIX = "bench"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def crawl(url: str, data: Path) -> dict:
    """One crawl in a fresh subprocess; its stats plus wall and CPU seconds."""
    env = os.environ | {"SWEEP_DATA_DIR": str(data), "SWEEP_TOPIC_PREFIX": PREFIX}
    for name in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL"):
        env.pop(name, None)
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "demo_mall", "--base-url", url, "--no-js"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed:\n{proc.stderr[-3000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return stats | {"wall_s": wall, "cpu_s": cpu}


def index(data: Path) -> dict:
    """Drain the bus into the lead store with the indexer, here; wall and CPU seconds."""
    topics = Topics(PREFIX)
    cpu0, t0 = time.process_time(), time.perf_counter()
    with SqliteBus(data / "bus.sqlite") as bus, SqliteLeadStore(data / "leads.sqlite") as store:
        stats = Indexer(bus, store, topics=[topics.leads, topics.listings], deadletter_topic=topics.deadletter).run(
            stop_when_idle=True, idle_s=0.3
        )
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - cpu0,
        "messages": stats.messages,
        "leads_sighted": stats.leads_sighted,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs (at least {MIN_RUNS})")
    args = ap.parse_args()
    if args.runs < MIN_RUNS:
        ap.error(f"--runs must be at least {MIN_RUNS}: fewer runs give no range worth quoting")
    console = Console(width=150)
    console.print(f"[b]bench_recrawl[/b] {args.listings:,} listings, {args.runs} runs — {machine_line()}")
    load_before = load_average()
    mall = generate(args.listings, args.seed, client_rendered_share=0.0)
    server = serve_in_thread(mall)
    series = {
        name: Series("s")
        for name in (
            "first crawl wall",
            "first crawl cpu",
            "recrawl wall",
            "recrawl cpu",
            "first index wall",
            "first index cpu",
            "recrawl index wall",
            "recrawl index cpu",
        )
    }
    ratios = {"crawl wall": Series("x"), "crawl cpu": Series("x"), "total wall": Series("x"), "total cpu": Series("x")}
    runs: list[dict] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-recrawl-"))
    try:
        for n in range(args.runs):
            data = workdir / f"run{n}"
            first = crawl(server.base_url, data)
            first_ix = index(data)
            again = crawl(server.base_url, data)
            again_ix = index(data)
            if again["detections"] != 0 or again["listings_unchanged"] != first["listings"]:
                raise SystemExit(f"the recrawl was not incremental: {again}")
            runs.append({"first": first, "first_index": first_ix, "recrawl": again, "recrawl_index": again_ix})
            series["first crawl wall"].add(first["wall_s"])
            series["first crawl cpu"].add(first["cpu_s"])
            series["recrawl wall"].add(again["wall_s"])
            series["recrawl cpu"].add(again["cpu_s"])
            series["first index wall"].add(first_ix["wall_s"])
            series["first index cpu"].add(first_ix["cpu_s"])
            series["recrawl index wall"].add(again_ix["wall_s"])
            series["recrawl index cpu"].add(again_ix["cpu_s"])
            ratios["crawl wall"].add(again["wall_s"] / first["wall_s"])
            ratios["crawl cpu"].add(again["cpu_s"] / first["cpu_s"])
            ratios["total wall"].add((again["wall_s"] + again_ix["wall_s"]) / (first["wall_s"] + first_ix["wall_s"]))
            ratios["total cpu"].add((again["cpu_s"] + again_ix["cpu_s"]) / (first["cpu_s"] + first_ix["cpu_s"]))
            console.print(
                f"run {n + 1}: first {first['wall_s']:.1f}s wall / {first['cpu_s']:.1f}s cpu "
                f"({first['detections']} detections), index {first_ix['wall_s']:.1f}s; "
                f"recrawl {again['wall_s']:.1f}s / {again['cpu_s']:.1f}s ({again['detections']} detections, "
                f"{again['listings_unchanged']} unchanged), index {again_ix['wall_s']:.1f}s "
                f"({again_ix['leads_sighted']} leads sighted)"
            )
            shutil.rmtree(data, ignore_errors=True)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = load_average()

    table = Table(
        title=f"recrawl of an unchanged {args.listings:,}-listing mall vs a first crawl", title_justify="left"
    )
    table.add_column("measure")
    table.add_column("median (min, max)", justify="right")
    for name, s in series.items():
        table.add_row(name, s.summary("{:.2f}"))
    for name, s in ratios.items():
        table.add_row(f"recrawl / first, {name}", s.summary("{:.2f}"))
    console.print(table)
    loads = " / ".join(f"{x:.2f}" for x in load_before), " / ".join(f"{x:.2f}" for x in load_after)
    console.print(f"load average (1/5/15 min) before {loads[0]}, after {loads[1]}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "listings": args.listings,
                "machine": machine(),
                "load_before": load_before,
                "load_after": load_after,
                "series": {name: s.stats() for name, s in series.items()},
                "ratios": {name: s.stats() for name, s in ratios.items()},
                "runs": runs,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    console.print(f"written {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
