"""Benchmark the rulebook: load time, scan throughput, and the ratio to plain JSON decoding.

    python benchmarks/bench_rules.py                 # 200,000 listings (generated once, cached)
    python benchmarks/bench_rules.py -n 20000 --json

Listings come from the dev-set templates (tests/data/make_devset.py: every family, evasions, hard
negatives) and are written to benchmarks/out/ (git-ignored). Timings, in one process:
  * load      - `load_rulebook()` of the full packaged book, fresh (median of 5, first one reported too)
  * decode    - orjson.loads of every line
  * validate  - decode + `Listing.model_validate` (what `sweep scan` does before scanning)
  * scan      - `book.scan(listing)` on already-validated listings (the rulebook's own cost)
  * pipeline  - decode + validate + scan

Rates are computed from CPU time of this process (time.process_time), which is what the rulebook
costs; on a busy machine wall-clock rates are lower and are reported alongside (`*_wall_per_s`).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))


def corpus(n: int, seed: int) -> Path:
    out = ROOT / "benchmarks" / "out" / f"bench_listings_{n}_{seed}.jsonl"
    if out.exists():
        return out
    from make_devset import generate  # type: ignore[import-not-found]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        for row in generate(n, seed):
            row.pop("families", None)
            fh.write(orjson.dumps(row) + b"\n")
    tmp.rename(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    path = corpus(args.n, args.seed)
    lines = path.read_bytes().splitlines()

    t0 = time.perf_counter()
    from rules import load_rulebook

    t_import = time.perf_counter() - t0
    loads = []
    for _ in range(5):
        t = time.perf_counter()
        book = load_rulebook()
        loads.append(time.perf_counter() - t)
    from sweep.models import Listing

    # Holding 200,000 decoded listings is the benchmark's artefact, not the scanner's (`sweep scan`
    # streams): the cyclic GC is paused while timing so it does not re-walk that pile in every phase.
    gc.collect()
    gc.disable()
    w, t = time.perf_counter(), time.process_time()
    rows = [orjson.loads(line) for line in lines]
    t_decode, w_decode = time.process_time() - t, time.perf_counter() - w

    w, t = time.perf_counter(), time.process_time()
    listings = [Listing.model_validate(orjson.loads(line)) for line in lines]
    t_validate, w_validate = time.process_time() - t, time.perf_counter() - w
    del rows

    w, t = time.perf_counter(), time.process_time()
    n_findings = 0
    scan = book.scan
    for listing in listings:
        n_findings += len(scan(listing))
    t_scan, w_scan = time.process_time() - t, time.perf_counter() - w
    gc.enable()

    n = len(lines)
    result = {
        "listings": n,
        "findings": n_findings,
        "import_s": round(t_import, 3),
        "load_first_s": round(loads[0], 3),
        "load_median_s": round(statistics.median(loads), 3),
        "decode_per_s": round(n / t_decode),
        "decode_validate_per_s": round(n / t_validate),
        "scan_per_s": round(n / t_scan),
        "pipeline_per_s": round(n / (t_validate + t_scan)),
        "scan_wall_per_s": round(n / w_scan),
        "decode_wall_per_s": round(n / w_decode),
        "decode_validate_wall_per_s": round(n / w_validate),
        "scan_vs_decode": round(t_scan / t_decode, 2),
        "pipeline_vs_decode": round((t_validate + t_scan) / t_decode, 2),
        "rules": len(book.rules),
    }
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    print(f"corpus            {n:,} listings ({path.name}), {n_findings:,} findings, {len(book.rules)} rules")
    print(
        f"load rulebook     first {loads[0] * 1000:.0f} ms, median {statistics.median(loads) * 1000:.0f} ms "
        f"(package import {t_import * 1000:.0f} ms)"
    )
    print(f"orjson decode     {result['decode_per_s']:>10,} listings/s")
    print(f"decode+validate   {result['decode_validate_per_s']:>10,} listings/s")
    print(f"scan              {result['scan_per_s']:>10,} listings/s   ({result['scan_vs_decode']}x decode time)")
    print(
        f"decode+val+scan   {result['pipeline_per_s']:>10,} listings/s   ({result['pipeline_vs_decode']}x decode time)"
    )
    print(
        f"(rates from CPU time; wall clock: decode {result['decode_wall_per_s']:,}/s, "
        f"scan {result['scan_wall_per_s']:,}/s)"
    )


if __name__ == "__main__":
    main()
