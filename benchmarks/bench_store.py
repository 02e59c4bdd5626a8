"""The embedded SQLite lead store as it grows: write and search costs at 10k, 100k and 1M leads.

Grows one store to each size in turn with synthetic but realistic Chinese leads (the generator of
`bench_query.py`: per-family vocabularies, 31 provinces, 6 platforms, 20k shops) and measures, at
each size, every figure over at least three runs (min / median / max, `repeat.Series`):

* upsert rate of new leads (batches of 500, as the indexer writes them),
* cost per re-sighted lead in ms (existing leads seen again later: read, merge, rewrite),
* faceted search p50 / p95 in ms: random queries as staff type them (1-2 terms, 0-2 filters, all
  seven facets, highlighting, recency or priority order, 20 per page), plus the landing page (no
  search, no filter, all facets) and a filter-only page (one region, all facets).

Targets: re-sighting cost at 1M within 2x of that at 10k; faceted search p95 < 300 ms at 1M.

    python benchmarks/bench_store.py                      # 10k, 100k, 1M (about 20 minutes)
    python benchmarks/bench_store.py --sizes 10000,100000 # quick check

Writes benchmarks/out/bench_store.json. The store file goes to a temporary directory (or --dir) and
is deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_query import REGIONS, pct, random_query, synthetic_event  # noqa: E402
from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402

from adapters.store.sqlite import SqliteLeadStore  # noqa: E402
from sweep.models import LeadEvent  # noqa: E402
from sweep.store.base import LeadQuery  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
BATCH = 500
PROBE_BASE = 500_000_000
"""Lead numbers of the leads created by the upsert-rate probes, far from the loaded ones."""


def load(store: SqliteLeadStore, start: int, stop: int) -> float:
    """Create leads start..stop-1 (first sightings) in indexer-sized batches; returns leads/s."""
    t0 = time.perf_counter()
    batch: list[LeadEvent] = []
    for i in range(start, stop):
        batch.append(synthetic_event(i))
        if len(batch) == BATCH:
            store.apply_events(batch)
            batch = []
        if (i + 1) % 100_000 == 0:
            print(f"  loaded {i + 1:,} ({(i + 1 - start) / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    if batch:
        store.apply_events(batch)
    return (stop - start) / (time.perf_counter() - t0)


def timed_apply(store: SqliteLeadStore, events: list[LeadEvent]) -> float:
    """Seconds to apply events in batches, with the cyclic GC paused (it would bill one run for
    garbage made by another)."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for k in range(0, len(events), BATCH):
            store.apply_events(events[k : k + BATCH])
        return time.perf_counter() - t0
    finally:
        gc.enable()


class Probe:
    """Measurements at one size; each method adds one run to its series."""

    def __init__(self, store: SqliteLeadStore, size: int, rnd: random.Random) -> None:
        self.store, self.size, self.rnd = store, size, rnd

    def new_leads(self, n: int, first: int) -> float:
        events = [synthetic_event(PROBE_BASE + first + k) for k in range(n)]
        seconds = timed_apply(self.store, events)
        return n / seconds

    def resightings(self, n: int, minutes_later: int) -> float:
        ids = self.rnd.sample(range(self.size), n)
        events = [synthetic_event(i, minutes_later=minutes_later) for i in ids]
        seconds = timed_apply(self.store, events)
        return seconds / n * 1000

    def queries(self, make: Any, n: int) -> tuple[float, float]:
        ms: list[float] = []
        for _ in range(n):
            q = make()
            t0 = time.perf_counter()
            self.store.search(q)
            ms.append((time.perf_counter() - t0) * 1000)
        return pct(ms, 50), pct(ms, 95)


def measure(store: SqliteLeadStore, size: int, args: argparse.Namespace, probe_offset: list[int]) -> dict[str, Any]:
    rnd = random.Random(size)
    probe = Probe(store, size, rnd)
    upsert = Series("leads/s")
    resight = Series("ms/lead")
    series: dict[str, tuple[Series, Series]] = {
        name: (Series("ms p50"), Series("ms p95")) for name in ("random queries", "landing page", "region filter")
    }
    qrnd = random.Random(11)
    landing_sorts = iter(["recent", "priority"] * 10_000)
    for run in range(args.runs):
        upsert.add(probe.new_leads(args.probe, probe_offset[0]))
        probe_offset[0] += args.probe
        # each run sees every sampled lead later than any earlier run did, so each is a real update
        resight.add(probe.resightings(args.probe, minutes_later=400_000 * (1 + run + 10 * len(str(size)))))
        for _ in range(20):  # warm the page cache for this run's queries
            store.search(random_query(qrnd))
        runs = {
            "random queries": probe.queries(lambda: random_query(qrnd), args.queries),
            "landing page": probe.queries(lambda: LeadQuery(sort=next(landing_sorts)), 20),  # type: ignore[arg-type]
            "region filter": probe.queries(lambda: LeadQuery(regions=[qrnd.choice(REGIONS)]), 20),
        }
        for name, (p50, p95) in runs.items():
            series[name][0].add(p50)
            series[name][1].add(p95)
        print(
            f"  run {run + 1}: {upsert.values[-1]:,.0f} new leads/s, {resight.values[-1]:.2f} ms/re-sighting, "
            + ", ".join(f"{name} p50 {p50:.1f} p95 {p95:.1f} ms" for name, (p50, p95) in runs.items()),
            flush=True,
        )
    return {
        "leads": store.count(),
        "upsert_new": upsert.stats(),
        "resighting_ms": resight.stats(),
        "search": {name: {"p50": a.stats(), "p95": b.stats()} for name, (a, b) in series.items()},
        "load_average": list(machine()["load_average"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated store sizes")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument("--probe", type=int, default=2000, help="new / re-sighted leads per run")
    parser.add_argument("--queries", type=int, default=200, help="random queries per run")
    parser.add_argument("--dir", type=Path, default=None, help="where the store file goes (default: a temp dir)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    workdir = Path(tempfile.mkdtemp(prefix="bench-store-", dir=args.dir))
    print(machine_line(), flush=True)
    report: dict[str, Any] = {
        "benchmark": "embedded SQLite lead store",
        "targets": {"resighting_1m_vs_10k": "<= 2x", "faceted_search_p95_ms_at_1m": 300},
        "machine_start": machine(),
        "sizes": {},
    }
    store = SqliteLeadStore(workdir / "leads.sqlite")
    loaded = 0
    probe_offset = [0]
    try:
        for size in sizes:
            print(f"growing the store to {size:,} leads ...", flush=True)
            rate = load(store, loaded, size)
            loaded = size
            print(f"measuring at {size:,} leads ({args.runs} runs) ...", flush=True)
            result = measure(store, size, args, probe_offset)
            result["load_leads_per_s"] = round(rate)
            result["file_mib"] = round(sum(p.stat().st_size for p in workdir.iterdir()) / 2**20)
            report["sizes"][str(size)] = result
            print(machine_line(), flush=True)
    finally:
        store.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    report["machine_end"] = machine()
    report["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print_table(report)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "bench_store.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"wrote {out}")


def _cell(stats: dict[str, Any], fmt: str) -> str:
    return f"{fmt.format(stats['median'])} ({fmt.format(stats['min'])}–{fmt.format(stats['max'])})"


def print_table(report: dict[str, Any]) -> None:
    """The README table: median (min–max) of the runs at each size."""
    sizes = list(report["sizes"])
    print()
    print("| per size (median, min–max of runs) | " + " | ".join(f"{int(s):,} leads" for s in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    rows = [
        ("new leads upserted / s", lambda r: _cell(r["upsert_new"], "{:,.0f}")),
        ("re-sighted lead, ms", lambda r: _cell(r["resighting_ms"], "{:.2f}")),
    ]
    for name in ("random queries", "landing page", "region filter"):
        for p in ("p50", "p95"):
            rows.append((f"{name}, {p} ms", lambda r, n=name, p=p: _cell(r["search"][n][p], "{:.1f}")))
    rows.append(("file size, MiB", lambda r: f"{r['file_mib']:,}"))
    rows.append(("load average (1 min) after", lambda r: f"{r['load_average'][0]:.2f}"))
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(report["sizes"][s]) for s in sizes) + " |")
    print()
    print(machine_line())


if __name__ == "__main__":
    main()
