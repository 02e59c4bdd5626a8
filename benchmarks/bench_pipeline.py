"""Sustained end-to-end throughput: producer -> Kafka -> indexer(s) -> OpenSearch, vs a bare bulk index.

A producer process publishes N synthetic Chinese lead events (plus a share of exact duplicates, as
at-least-once producers deliver them) to a fresh topic through `KafkaBus`; indexer processes (the
production `Indexer` over `KafkaBus` + the search store, one consumer group, set up as `sweep consume
indexer` sets itself up) consume them. The indexers join their group before the clock starts (a
running deployment does not wait for a rebalance per burst). The clock runs from the first publish
until every lead is indexed and every offset committed.

With `--prefill` the pipeline is timed without the producer: the indexers join their group, stop
fetching, the producer publishes everything, and the clock runs from the moment the indexers are let
go until the last commit (indexer-only throughput; end to end, the producer shares the 2 cores).

Two baselines, measured in the same run just before and just after the pipelines (the mean of the
two) so that the machine's load weighs on both, each one process bulk-indexing the same leads straight
into a fresh index in chunks of 500 (no Kafka, no decoding, no read-merge-write):
* "bare bulk": the documents are built before its clock starts, so it times only serialising and the
  engine -- the ceiling of this engine on this machine. The pipeline's ratio to it is the figure that
  travels between machines.
* "bulk incl. building": its clock also covers building each document the way the indexer does
  (`Lead.from_event`, `queries.lead_document`); the pipeline's ratio to it is the share of the cost that
  the pipeline itself (Kafka, decoding, reads, merging, commits) leaves.

    python benchmarks/bench_pipeline.py --leads 60000 --indexers 1 2 --runs 3 [--prefill]

Each run measures every `--indexers` count and one baseline; the summary gives median (min, max) of
each and the load average before and after. Needs SWEEP_KAFKA and SWEEP_SEARCH_URL (or
--kafka/--url). Writes benchmarks/out/bench_pipeline.json (bench_pipeline_prefill.json with `--prefill`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_query import synthetic_event  # noqa: E402
from repeat import MIN_RUNS, Series, machine, machine_line  # noqa: E402

from adapters.store.searchengine import admin, open_search_store, queries  # noqa: E402
from consumers.indexer import Indexer, tune_gc  # noqa: E402
from sweep.bus import envelope  # noqa: E402
from sweep.models import Lead  # noqa: E402
from sweep.publishing import KIND_LEAD_EVENT  # noqa: E402
from sweep.settings import Settings  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
SETTLE_S = 5.0
"""Wait after the indexers' first poll before publishing: longer than the broker's
group.initial.rebalance.delay.ms (3 s by default), so the group has formed and split the partitions."""
console = Console()


def _sequence(leads: int, dup: float) -> list[int]:
    """Lead numbers in publish order: every lead once, plus `dup` of them again a little later."""
    seq = list(range(leads))
    step = max(1, round(1 / dup)) if dup > 0 else 0
    if step:
        out: list[int] = []
        for i in seq:
            out.append(i)
            if i % step == 0 and i >= 50:
                out.append(i - 50)  # a redelivery of a recent message
        return out
    return seq


def produce(kafka: str, partitions: int, topic: str, leads: int, dup: float, go: Any, started: Any, done: Any) -> None:
    from adapters.bus.kafka import KafkaBus

    bus = KafkaBus(Settings(kafka=kafka, kafka_partitions=partitions))
    bus.ensure_topics([topic])
    # the synthetic data is made before the clock starts: generating it is the harness, not the pipeline
    cache: dict[int, tuple[str, bytes]] = {}
    for i in range(leads):
        event = synthetic_event(i)
        cache[i] = (event.lead_id, envelope.encode(KIND_LEAD_EVENT, event))
    go.wait()
    started.value = time.time()
    for k, i in enumerate(_sequence(leads, dup)):
        key, value = cache[i]
        bus.publish(topic, key, value)
        if k % 5000 == 4999:
            bus.flush()
    bus.flush()
    bus.close()
    done.value = time.time()


class _HeldConsumer:
    """A consumer that stops fetching while `hold` is set, until `release` is: the group is formed and
    keeps its partitions (heartbeats run in the background) while the topic fills up (`--prefill`)."""

    def __init__(self, inner: Any, hold: Any, release: Any, out: Any) -> None:
        self.inner, self.hold, self.release, self.out = inner, hold, release, out

    def poll(self, max_records: int, timeout_s: float = 1.0) -> Any:
        if self.hold.is_set() and not self.release.is_set():
            self.out.put(("held", os.getpid(), time.time()))
            self.release.wait()
        return self.inner.poll(max_records, timeout_s=timeout_s)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _HoldingBus:
    def __init__(self, bus: Any, hold: Any, release: Any, out: Any) -> None:
        self.bus, self.hold, self.release, self.out = bus, hold, release, out

    def consumer(self, topics: list[str], group: str) -> Any:
        return _HeldConsumer(self.bus.consumer(topics, group), self.hold, self.release, self.out)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bus, name)


def index(
    kafka: str,
    partitions: int,
    url: str,
    prefix: str,
    topic: str,
    group: str,
    batch: int,
    overlap: bool,
    out: Any,
    hold: Any,
    release: Any,
) -> None:
    """One indexer process, configured as `sweep consume indexer` configures itself."""
    from adapters.bus.kafka import KafkaBus

    bus = KafkaBus(Settings(kafka=kafka, kafka_partitions=partitions))
    store = open_search_store(Settings(search_url=url), prefix=prefix, timeout_s=120)
    tune_gc()
    held: Any = _HoldingBus(bus, hold, release, out)
    worker = Indexer(
        held, store, group=group, topics=[topic], deadletter_topic=f"{topic}.deadletter", batch=batch, overlap=overlap
    )
    out.put(("ready", os.getpid(), time.time()))
    stats = worker.run(stop_when_idle=True, idle_s=15.0, on_batch=lambda s: out.put(("batch", s.messages, time.time())))
    out.put(("done", stats.as_dict(), time.time()))
    store.close()
    bus.close()


def bare_bulk(url: str, prefix: str, leads: int, chunk: int = 500, *, build: bool = False) -> float:
    """Leads/s of one process bulk-indexing the leads into a fresh index; the documents are built before
    the clock starts, or with `build` inside it (as the indexer builds them)."""
    store = open_search_store(Settings(search_url=url), prefix=prefix, timeout_s=120, ensure=True)
    events = [synthetic_event(i) for i in range(leads)]
    docs = [] if build else [queries.lead_document(Lead.from_event(e)) for e in events]
    t0 = time.perf_counter()
    for k in range(0, leads, chunk):
        ops: list[dict[str, Any]] = []
        part = (
            [queries.lead_document(Lead.from_event(e)) for e in events[k : k + chunk]] if build else docs[k : k + chunk]
        )
        for doc in part:
            ops += [{"index": {"_index": store.leads_alias, "_id": doc["lead_id"]}}, doc]
        response = store.bulk(ops)
        assert not response.get("errors"), "bulk errors in baseline"
    store.refresh()
    elapsed = time.perf_counter() - t0
    assert store.count() == leads
    admin.delete_all(store)
    store.close()
    return leads / elapsed


def _next(out: Any, procs: list[Any]) -> tuple[str, Any, float]:
    """The next report of a child process; raises when one died instead of waiting forever."""
    while True:
        try:
            return out.get(timeout=5)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"benchmark process(es) died: {[(p.name, p.exitcode) for p in dead]}") from None


def pipeline(args: argparse.Namespace, indexers: int) -> dict[str, Any]:
    """One end-to-end measurement with `indexers` processes in the group."""
    run = uuid.uuid4().hex[:6]
    topic, group, prefix = f"bench.{run}.leads", f"bench-{run}", f"bench-pipe-{run}"
    ctx = mp.get_context("spawn")
    started, produced, go = ctx.Value("d", 0.0), ctx.Value("d", 0.0), ctx.Event()
    hold, release = ctx.Event(), ctx.Event()
    out: Any = ctx.Queue()
    # indices and topics first, so that indexers do not race on creating them
    open_search_store(Settings(search_url=args.url), prefix=prefix, ensure=True).close()
    from adapters.bus.kafka import KafkaBus

    with KafkaBus(Settings(kafka=args.kafka, kafka_partitions=args.partitions)) as bus:
        bus.ensure_topics([topic, f"{topic}.deadletter"])
    procs = [
        ctx.Process(
            target=index,
            args=(
                *(args.kafka, args.partitions, args.url, prefix, topic, group, args.batch, not args.no_overlap),
                *(out, hold, release),
            ),
        )
        for _ in range(indexers)
    ]
    for p in procs:
        p.start()
    producer = ctx.Process(
        target=produce, args=(args.kafka, args.partitions, topic, args.leads, args.dup, go, started, produced)
    )
    producer.start()  # it prepares its data while the group forms
    ready = 0
    while ready < indexers:
        kind, _value, _at = _next(out, [*procs, producer])
        ready += kind == "ready"
    time.sleep(SETTLE_S)
    produce_s = None
    if args.prefill:  # the group holds its partitions but fetches nothing until the topic is full
        hold.set()
        held = 0
        while held < indexers:
            kind, _value, _at = _next(out, [*procs, producer])
            held += kind == "held"
        go.set()
        producer.join()
        produce_s = produced.value - started.value
        started.value = time.time()
        release.set()
    else:
        go.set()
    first_at, last_at, finals = 0.0, 0.0, []
    while len(finals) < indexers:
        kind, value, at = _next(out, [*procs, producer])
        if kind == "batch":
            first_at = first_at or at
            last_at = max(last_at, at)  # the end of work is the last committed batch, not the idle exit
        elif kind == "done":
            finals.append(value)
    producer.join()
    for p in procs:
        p.join()
    with open_search_store(Settings(search_url=args.url), prefix=prefix) as store:
        store.refresh()
        indexed = store.count()
        admin.delete_all(store)
    assert indexed == args.leads, f"indexed {indexed} != {args.leads} unique leads"
    elapsed = last_at - started.value
    return {
        "indexers": indexers,
        "elapsed_s": round(elapsed, 2),
        "first_commit_s": round(first_at - started.value, 2),
        "leads_per_s": args.leads / elapsed,
        "consumed": sum(f["messages"] for f in finals),
        "prefilled_in_s": round(produce_s, 2) if produce_s is not None else None,
        "indexer_stats": finals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", default=os.environ.get("SWEEP_KAFKA"))
    parser.add_argument("--url", default=os.environ.get("SWEEP_SEARCH_URL"))
    parser.add_argument("--leads", type=int, default=60_000)
    parser.add_argument("--dup", type=float, default=0.1, help="share of messages that are redeliveries")
    parser.add_argument("--indexers", type=int, nargs="+", default=[1, 2], help="indexer processes in the group")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--batch", type=int, default=1000, help="max messages per poll / store call")
    parser.add_argument("--no-overlap", action="store_true", help="write each batch before fetching the next")
    parser.add_argument("--runs", type=int, default=MIN_RUNS)
    parser.add_argument(
        "--prefill", action="store_true", help="fill the topic first, then time the indexers alone (no producer)"
    )
    args = parser.parse_args()
    if not (args.kafka and args.url):
        parser.error("need --kafka and --url (or SWEEP_KAFKA / SWEEP_SEARCH_URL)")

    messages = len(_sequence(args.leads, args.dup))
    before = machine()
    console.print(machine_line())
    console.print(
        f"{args.leads:,} leads ({messages:,} messages, {args.dup:.0%} redeliveries), {args.partitions} partitions, "
        f"batch {args.batch}, overlap {'off' if args.no_overlap else 'on'}, {args.runs} runs, "
        + ("indexers alone on a pre-filled topic" if args.prefill else "end to end (producer running)")
    )
    rates = {n: Series("leads/s") for n in args.indexers}
    ratios = {n: Series("") for n in args.indexers}
    built_ratios = {n: Series("") for n in args.indexers}
    bare = Series("leads/s")
    built = Series("leads/s")
    runs: list[dict[str, Any]] = []
    for r in range(args.runs):
        # the baseline brackets the pipelines: on a shared machine the load drifts within one run
        base_before = bare_bulk(args.url, f"bench-bare-{uuid.uuid4().hex[:6]}", args.leads)
        built_before = bare_bulk(args.url, f"bench-bare-{uuid.uuid4().hex[:6]}", args.leads, build=True)
        results = [pipeline(args, n) for n in args.indexers]
        built_after = bare_bulk(args.url, f"bench-bare-{uuid.uuid4().hex[:6]}", args.leads, build=True)
        base_after = bare_bulk(args.url, f"bench-bare-{uuid.uuid4().hex[:6]}", args.leads)
        base = bare.add((base_before + base_after) / 2)
        base_built = built.add((built_before + built_after) / 2)
        for res in results:
            n = res["indexers"]
            rates[n].add(res["leads_per_s"])
            res["ratio_to_bare_bulk"] = round(ratios[n].add(res["leads_per_s"] / base), 3)
            res["ratio_to_bulk_incl_building"] = round(built_ratios[n].add(res["leads_per_s"] / base_built), 3)
            console.print(
                f"run {r + 1}: {n} indexer(s) {res['leads_per_s']:,.0f} leads/s in {res['elapsed_s']}s "
                f"(first commit after {res['first_commit_s']}s), bare bulk {base:,.0f}/s, "
                f"ratio {res['ratio_to_bare_bulk']:.2f}; bulk incl. building {base_built:,.0f}/s, "
                f"ratio {res['ratio_to_bulk_incl_building']:.2f}; load {os.getloadavg()[0]:.2f}"
            )
        runs.append(
            {
                "bare_bulk_leads_per_s": round(base),
                "bare_bulk_before_after": [round(base_before), round(base_after)],
                "bulk_incl_building_leads_per_s": round(base_built),
                "bulk_incl_building_before_after": [round(built_before), round(built_after)],
                "pipelines": results,
                "load_average": os.getloadavg(),
            }
        )
    after = machine()

    table = Table(title=f"Pipeline throughput, {args.leads:,} leads ({os.cpu_count()} cores, all servers local)")
    cols = ("path", "leads/s median", "min", "max", "ratio to bare bulk (min–max)", "to bulk incl. building")
    for col in cols:
        table.add_column(col, justify="right")
    source = "pre-filled Kafka" if args.prefill else "producer → Kafka"
    for n in args.indexers:
        s, q, qb = rates[n], ratios[n], built_ratios[n]
        table.add_row(
            f"{source} → {n} indexer(s) → search",
            f"{s.median:,.0f}",
            f"{min(s.values):,.0f}",
            f"{max(s.values):,.0f}",
            f"{q.median:.2f} ({min(q.values):.2f}–{max(q.values):.2f})",
            f"{qb.median:.2f} ({min(qb.values):.2f}–{max(qb.values):.2f})",
        )
    for name, series in (("bare bulk index (baseline)", bare), ("bulk index incl. building documents", built)):
        table.add_row(name, f"{series.median:,.0f}", f"{min(series.values):,.0f}", f"{max(series.values):,.0f}", "", "")
    console.print(table)
    console.print(f"load average before: {before['load_average']}, after: {after['load_average']}")
    report = {
        "benchmark": "end-to-end producer -> Kafka -> indexer(s) -> search, vs bare bulk",
        "leads": args.leads,
        "messages": messages,
        "partitions": args.partitions,
        "batch": args.batch,
        "overlap": not args.no_overlap,
        "prefill": args.prefill,
        "machine_before": before,
        "machine_after": after,
        "pipeline": {str(n): {"rate": rates[n].stats(), "ratio": ratios[n].stats()} for n in args.indexers},
        "bare_bulk": bare.stats(),
        "bulk_incl_building": built.stats(),
        "pipeline_ratio_to_bulk_incl_building": {str(n): built_ratios[n].stats() for n in args.indexers},
        "runs": runs,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"bench_pipeline{'_prefill' if args.prefill else ''}.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2)
    )
    console.print(f"wrote {OUT / ('bench_pipeline_prefill.json' if args.prefill else 'bench_pipeline.json')}")


if __name__ == "__main__":
    main()
