"""Crawl frontier throughput: pages/s of one and of two `sweep crawl-worker` processes sharing a job on
real Kafka, against the static demo mall (no JavaScript pages).

    set -a; . .services/env; set +a
    python benchmarks/bench_frontier.py [--listings 3000] [--runs 3] [--shards 6]

Each run, for 1 then 2 workers: a fresh topic prefix and operations store, the workers started and
given a few seconds to join the consumer group, then one job launched for the whole mall (split into
`--shards` host streams, since the demo mall allows parallel crawlers). Pages/s = the job's pages (every
page of the site, shop pages included, each counted once) over the job's own running time (first
batch taken to last request confirmed, from the job record); CPU = user+system seconds of the worker
processes. The mall is served from a thread of this process, so on a 2-core machine the mall, two
workers and the broker share two cores: the ratio shows what a second worker buys here, not on a
cluster. Results: a table and benchmarks/out/frontier.json, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from repeat import MIN_RUNS, Series, load_average, machine, machine_line  # noqa: E402

from adapters.bus.kafka import KafkaBus  # noqa: E402
from adapters.people.operations_sql import SqlOperationsStore  # noqa: E402
from demomall.generator import generate  # noqa: E402
from demomall.server import run_in_thread  # noqa: E402
from operations.jobs import launch  # noqa: E402
from sweep.settings import Settings  # noqa: E402
from sweep.store.operations import Target, Trigger  # noqa: E402


def one_run(url: str, kafka: str, workers: int, shards: int, batch: int) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-frontier-") as tmp:
        data = Path(tmp)
        settings = Settings(kafka=kafka, topic_prefix=prefix, data_dir=data)
        store = SqlOperationsStore(f"sqlite:///{data / 'people.sqlite'}")
        env = os.environ | {"SWEEP_KAFKA": kafka, "SWEEP_TOPIC_PREFIX": prefix, "SWEEP_DATA_DIR": str(data)}
        env.pop("SWEEP_SEARCH_URL", None)
        bus = KafkaBus(settings)
        bus.ensure_topics([settings.topics.crawl_requests, settings.topics.listings, settings.topics.leads])
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "app", "crawl-worker", "--no-js", "--batch", str(batch), "--group", prefix],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(data / f"w{i}.log").open("wb"),
            )
            for i in range(workers)
        ]
        time.sleep(8.0)  # let every worker join the group before the work arrives
        target = store.add_target(
            Target(name="mall", spider="demo_mall", base_url=url, settings={"frontier_shards": shards})
        )
        job = launch(store, bus, settings.topics.crawl_requests, target, trigger=Trigger.PERSON)
        bus.close()
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            j = store.get_job(job.id)
            if j is not None and j.state.final:
                break
            time.sleep(0.5)
        cpu = 0.0
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            _, _, usage = os.wait4(p.pid, 0)
            p.returncode = 0
            cpu += usage.ru_utime + usage.ru_stime
        j = store.get_job(job.id)
        store.close()
        assert j is not None and j.duration_s, f"job did not finish: {j}"
        return {
            "pages": j.stats.pages,
            "listings": j.stats.listings,
            "seconds": j.duration_s,
            "pages_per_second": j.stats.pages / j.duration_s,
            "cpu_seconds": cpu,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listings", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=MIN_RUNS)
    ap.add_argument("--shards", type=int, default=6)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--kafka", default=os.environ.get("SWEEP_KAFKA"))
    args = ap.parse_args()
    if not args.kafka:
        sys.exit("needs Kafka: SWEEP_KAFKA (set -a; . .services/env; set +a)")
    runs = max(args.runs, MIN_RUNS)
    mall = generate(args.listings, 7, client_rendered_share=0.0)
    url, stop = run_in_thread(mall)
    before = load_average()
    series = {w: Series("pages/s") for w in (1, 2)}
    cpu = {w: Series("cpu s") for w in (1, 2)}
    raw: list[dict[str, object]] = []
    try:
        for i in range(runs):
            for w in (1, 2):  # interleaved, so a change of load hits both alike
                r = one_run(url, args.kafka, w, args.shards, args.batch)
                assert r["listings"] == args.listings, r
                series[w].add(r["pages_per_second"])
                cpu[w].add(r["cpu_seconds"])
                raw.append({"run": i, "workers": w, **r, "load_average": [round(x, 2) for x in load_average()]})
                rate, secs, used = r["pages_per_second"], r["seconds"], r["cpu_seconds"]
                print(f"run {i} workers {w}: {rate:.0f} pages/s, {secs:.1f} s, cpu {used:.1f} s")
    finally:
        stop()
    after = load_average()
    ratio = series[2].median / series[1].median
    print(f"1 worker : {series[1].summary()}  cpu {cpu[1].summary('{:.1f}')}")
    print(f"2 workers: {series[2].summary()}  cpu {cpu[2].summary('{:.1f}')}")
    print(f"ratio 2/1 (medians): {ratio:.2f}")
    print(machine_line())
    b, a = "/".join(f"{x:.2f}" for x in before), "/".join(f"{x:.2f}" for x in after)
    print(f"load average (1/5/15 min) before {b}, after {a}")
    out = ROOT / "benchmarks" / "out" / "frontier.json"
    out.write_text(
        json.dumps(
            {
                "listings": args.listings,
                "shards": args.shards,
                "one_worker": series[1].stats(),
                "two_workers": series[2].stats(),
                "cpu_one": cpu[1].stats(),
                "cpu_two": cpu[2].stats(),
                "ratio": round(ratio, 3),
                "runs": raw,
                "machine": machine(),
                "load_before": before,
                "load_after": after,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
