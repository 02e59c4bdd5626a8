"""Benchmark the rulebook: load time, scan throughput, and the ratio to plain JSON decoding.

    python benchmarks/bench_rules.py                 # 200,000 listings (generated once, cached)
    python benchmarks/bench_rules.py -n 20000 --json

Listings come from the dev-set templates (tests/data/make_devset.py: every family, evasions, hard
negatives) and are written to benchmarks/out/ (git-ignored). Timings, in one process:
  * load      - `load_rulebook()` of the full packaged book, fresh (5 loads; the first reported too)
  * decode    - orjson.loads of every line
  * validate  - decode + `Listing.model_validate` (what `sweep scan` does before scanning)
  * scan      - `book.scan(listing)` on already-validated listings (the rulebook's own cost)
  * pipeline  - decode + validate + scan

Rates are computed from CPU time of this process (time.process_time), which is what the rulebook
costs; on a busy machine wall-clock rates are lower (the scan's is reported alongside). Every phase
runs `--runs` times (at least 3); min, median and max are printed with the machine's load average.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402


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
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help="repetitions of each timed phase (at least 3)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    path = corpus(args.n, args.seed)
    lines = path.read_bytes().splitlines()

    t0 = time.perf_counter()
    from rules import load_rulebook

    t_import = time.perf_counter() - t0
    loads = Series("ms")
    for _ in range(5):
        t = time.perf_counter()
        book = load_rulebook()
        loads.add((time.perf_counter() - t) * 1000)
    from sweep.models import Listing

    n = len(lines)
    decode, validate, scan_rate, pipeline, scan_wall = (Series("listings/s") for _ in range(5))
    n_findings = 0
    for _ in range(max(args.runs, MIN_RUNS)):
        # Holding 200,000 decoded listings is the benchmark's artefact, not the scanner's (`sweep scan`
        # streams): the cyclic GC is paused while timing so it does not re-walk that pile in every phase.
        gc.collect()
        gc.disable()
        t = time.process_time()
        rows = [orjson.loads(line) for line in lines]
        t_decode = time.process_time() - t
        del rows

        t = time.process_time()
        listings = [Listing.model_validate(orjson.loads(line)) for line in lines]
        t_validate = time.process_time() - t

        w, t = time.perf_counter(), time.process_time()
        n_findings = 0
        scan = book.scan
        for listing in listings:
            n_findings += len(scan(listing))
        t_scan, w_scan = time.process_time() - t, time.perf_counter() - w
        gc.enable()
        del listings
        decode.add(n / t_decode)
        validate.add(n / t_validate)
        scan_rate.add(n / t_scan)
        pipeline.add(n / (t_validate + t_scan))
        scan_wall.add(n / w_scan)

    result = {
        "machine": machine(),
        "listings": n,
        "findings": n_findings,
        "rules": len(book.rules),
        "import_ms": round(t_import * 1000),
        "load_first_ms": round(loads.values[0]),
        "load": loads.stats(),
        "decode": decode.stats(),
        "decode_validate": validate.stats(),
        "scan": scan_rate.stats(),
        "pipeline": pipeline.stats(),
        "scan_wall": scan_wall.stats(),
        "scan_vs_decode": round(decode.median / scan_rate.median, 2),
    }
    out = ROOT / "benchmarks" / "out" / "bench_rules.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    print(machine_line())
    print(f"corpus            {n:,} listings ({path.name}), {n_findings:,} findings, {len(book.rules)} rules")
    print(f"load rulebook     first {loads.values[0]:.0f} ms, then {loads.summary()} (import {t_import * 1000:.0f} ms)")
    print(f"orjson decode     {decode.summary()}")
    print(f"decode+validate   {validate.summary()}")
    print(f"scan              {scan_rate.summary()}   ({result['scan_vs_decode']}x decode time)")
    print(f"decode+val+scan   {pipeline.summary()}")
    print(f"(rates from CPU time of this process; scan by wall clock: {scan_wall.summary()})")


if __name__ == "__main__":
    main()
