"""Benchmark the rulebook: load time, scan throughput, and the ratio to plain JSON decoding.

    python benchmarks/bench_rules.py                 # 200,000 listings (generated once, cached)
    python benchmarks/bench_rules.py -n 20000 --json
    python benchmarks/bench_rules.py --workers 2     # also decode+validate+scan in 2 processes

Listings come from the dev-set templates (tests/data/make_devset.py: every family, evasions, hard
negatives) mixed so that `--positive` (default 0.6) of them truly belong to at least one family, a stream
where most listings carry findings; the share that does carry a finding is measured and printed. The
corpus is written to benchmarks/out/ (git-ignored). Timings, in one process:
  * load      - `load_rulebook()` of the full packaged book, fresh (5 loads; the first reported too), in
                CPU time and wall clock
  * json      - stdlib json.loads of every line (the yardstick of issue 9: scan <= 5x its time)
  * decode    - orjson.loads of every line
  * validate  - decode + `Listing.model_validate` (what `sweep scan` does before scanning)
  * scan      - `book.scan(listing)` on already-validated listings (the rulebook's own cost)
  * pipeline  - decode + validate + scan
With `--workers N`, the file is cut into N chunks of lines and N processes (fork, rulebook loaded before
the fork) decode, validate and scan one chunk each; that rate is wall clock from start to the last result,
so on a busy machine it shows what the machine gave, not what the code can do.

Rates are computed from CPU time of this process (time.process_time), which is what the rulebook
costs; on a busy machine wall-clock rates are lower (the scan's is reported alongside). Every phase
runs `--runs` times (at least 3); min, median and max are printed with the machine's load average.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402


def corpus(n: int, seed: int, positive: float) -> Path:
    """`n` dev-set listings of which a share `positive` truly belong to a family (by the generator's labels,
    written from the taxonomy), in a fixed, seeded order; cached by (n, seed, positive)."""
    out = ROOT / "benchmarks" / "out" / f"bench_listings_{n}_{seed}_p{round(positive * 100)}.jsonl"
    if out.exists():
        return out
    from make_devset import generate  # type: ignore[import-not-found]

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    stream = generate(10 * n + 1000, seed)
    pending: dict[bool, list[dict]] = {True: [], False: []}
    positives = 0
    with tmp.open("wb") as fh:
        for i in range(n):
            want = positives < positive * (i + 1)  # keeps the running share on target
            while not pending[want]:
                row = next(stream)
                pending[bool(row["families"])].append(row)
            row = pending[want].pop()
            positives += want
            row.pop("families", None)
            fh.write(orjson.dumps(row) + b"\n")
    tmp.rename(out)
    return out


_BOOK = None


def _scan_chunk(chunk: list[bytes]) -> tuple[int, int, float]:
    """One worker's share: decode, validate and scan; returns (listings, findings, CPU seconds)."""
    from sweep.models import Listing

    t = time.process_time()
    scan = _BOOK.scan  # type: ignore[union-attr]
    findings = 0
    for line in chunk:
        findings += len(scan(Listing.model_validate(orjson.loads(line))))
    return len(chunk), findings, time.process_time() - t


def run_workers(lines: list[bytes], workers: int) -> tuple[float, float]:
    """Wall-clock rate of decode+validate+scan over `workers` processes, and the summed worker CPU rate."""
    import multiprocessing as mp

    size = -(-len(lines) // workers)
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
    ctx = mp.get_context("fork")  # children inherit the loaded rulebook
    w = time.perf_counter()
    with ctx.Pool(workers) as pool:
        results = pool.map(_scan_chunk, chunks)
    wall = time.perf_counter() - w
    cpu = sum(r[2] for r in results)
    return len(lines) / wall, len(lines) / cpu * workers if cpu else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help="repetitions of each timed phase (at least 3)")
    ap.add_argument("--positive", type=float, default=0.6, help="share of listings that truly belong to a family")
    ap.add_argument("--workers", type=int, default=0, help="also run decode+validate+scan in N processes")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    path = corpus(args.n, args.seed, args.positive)
    lines = path.read_bytes().splitlines()

    t0 = time.perf_counter()
    from rules import load_rulebook

    t_import = time.perf_counter() - t0
    loads, loads_cpu = Series("ms"), Series("ms")
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        book = load_rulebook()
        loads.add((time.perf_counter() - t) * 1000)
        loads_cpu.add((time.process_time() - c) * 1000)
    global _BOOK
    _BOOK = book
    from sweep.models import Listing

    n = len(lines)
    std_json, decode, validate, scan_rate, pipeline, scan_wall = (Series("listings/s") for _ in range(6))
    n_findings = n_with = 0
    for _ in range(max(args.runs, MIN_RUNS)):
        # Holding 200,000 decoded listings is the benchmark's artefact, not the scanner's (`sweep scan`
        # streams): the cyclic GC is paused while timing so it does not re-walk that pile in every phase.
        gc.collect()
        gc.disable()
        t = time.process_time()
        rows = [json.loads(line) for line in lines]
        t_json = time.process_time() - t
        del rows

        t = time.process_time()
        rows = [orjson.loads(line) for line in lines]
        t_decode = time.process_time() - t
        del rows

        t = time.process_time()
        listings = [Listing.model_validate(orjson.loads(line)) for line in lines]
        t_validate = time.process_time() - t

        w, t = time.perf_counter(), time.process_time()
        n_findings = n_with = 0
        scan = book.scan
        for listing in listings:
            k = len(scan(listing))
            n_findings += k
            n_with += k > 0
        t_scan, w_scan = time.process_time() - t, time.perf_counter() - w
        gc.enable()
        del listings
        std_json.add(n / t_json)
        decode.add(n / t_decode)
        validate.add(n / t_validate)
        scan_rate.add(n / t_scan)
        pipeline.add(n / (t_validate + t_scan))
        scan_wall.add(n / w_scan)

    workers = Series("listings/s")
    workers_cpu = Series("listings/s")
    if args.workers > 1:
        for _ in range(max(args.runs, MIN_RUNS)):
            wall_rate, cpu_rate = run_workers(lines, args.workers)
            workers.add(wall_rate)
            workers_cpu.add(cpu_rate)

    result = {
        "machine": machine(),
        "listings": n,
        "findings": n_findings,
        "listings_with_findings": n_with,
        "share_with_findings": round(n_with / n, 3),
        "rules": len(book.rules),
        "import_ms": round(t_import * 1000),
        "load_first_ms": round(loads.values[0]),
        "load_first_cpu_ms": round(loads_cpu.values[0]),
        "load": loads.stats(),
        "load_cpu": loads_cpu.stats(),
        "json_loads": std_json.stats(),
        "decode": decode.stats(),
        "decode_validate": validate.stats(),
        "scan": scan_rate.stats(),
        "pipeline": pipeline.stats(),
        "scan_wall": scan_wall.stats(),
        "scan_vs_json": round(std_json.median / scan_rate.median, 2),
        "scan_vs_decode": round(decode.median / scan_rate.median, 2),
        "workers": args.workers,
        "workers_wall": workers.stats() if workers.values else None,
        "workers_cpu": workers_cpu.stats() if workers_cpu.values else None,
    }
    out = ROOT / "benchmarks" / "out" / "bench_rules.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if args.json:
        print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    print(machine_line())
    print(
        f"corpus            {n:,} listings ({path.name}), {n_with:,} with a finding ({n_with / n:.0%}), "
        f"{n_findings:,} findings, {len(book.rules)} rules"
    )
    print(
        f"load rulebook     first {loads_cpu.values[0]:.0f} ms CPU ({loads.values[0]:.0f} ms wall), then CPU "
        f"{loads_cpu.summary()}, wall {loads.summary()} (import {t_import * 1000:.0f} ms wall)"
    )
    print(f"json.loads        {std_json.summary()}")
    print(f"orjson decode     {decode.summary()}")
    print(f"decode+validate   {validate.summary()}")
    print(
        f"scan              {scan_rate.summary()}   ({result['scan_vs_json']}x json.loads time, "
        f"{result['scan_vs_decode']}x orjson)"
    )
    print(f"decode+val+scan   {pipeline.summary()}")
    print(f"(rates from CPU time of this process; scan by wall clock: {scan_wall.summary()})")
    if workers.values:
        print(
            f"{args.workers} workers         decode+val+scan {workers.summary()} by wall clock "
            f"(per-process CPU rate x {args.workers}: {workers_cpu.summary()})"
        )
    print(machine_line())


if __name__ == "__main__":
    main()
