"""Sustained end-to-end throughput: producer -> Kafka -> indexer -> OpenSearch, vs a bare bulk index.

A producer process publishes N synthetic Chinese lead events (plus a share of exact duplicates, as
at-least-once producers deliver them) to a fresh topic through `KafkaBus`; indexer processes (the
production `Indexer` over `KafkaBus` + the search store, one consumer group) consume them. The clock
runs from the first publish until every lead is indexed and every offset committed. The baseline is
one process bulk-indexing the same lead documents straight into a fresh index (no Kafka, no
decoding, no read-merge-write) - the ceiling of this engine on this machine.

    python benchmarks/bench_pipeline.py --leads 60000 --indexers 1

Needs SWEEP_KAFKA and SWEEP_SEARCH_URL (or --kafka/--url). Writes benchmarks/out/bench_pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_query import synthetic_event  # noqa: E402

from adapters.store.searchengine import (  # noqa: E402
    admin,
    open_search_store,
    queries,
)
from consumers.indexer import Indexer  # noqa: E402
from sweep.bus import envelope  # noqa: E402
from sweep.models import Lead  # noqa: E402
from sweep.publishing import KIND_LEAD_EVENT  # noqa: E402
from sweep.settings import Settings  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
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


def produce(kafka: str, partitions: int, topic: str, leads: int, dup: float, started: Any) -> None:
    from adapters.bus.kafka import KafkaBus

    bus = KafkaBus(Settings(kafka=kafka, kafka_partitions=partitions))
    bus.ensure_topics([topic])
    # the synthetic data is made before the clock starts: generating it is the harness, not the pipeline
    cache: dict[int, tuple[str, bytes]] = {}
    for i in range(leads):
        event = synthetic_event(i)
        cache[i] = (event.lead_id, envelope.encode(KIND_LEAD_EVENT, event))
    started.value = time.time()
    for k, i in enumerate(_sequence(leads, dup)):
        key, value = cache[i]
        bus.publish(topic, key, value)
        if k % 5000 == 4999:
            bus.flush()
    bus.flush()
    bus.close()


def index(kafka: str, partitions: int, url: str, prefix: str, topic: str, group: str, batch: int, out: Any) -> None:
    from adapters.bus.kafka import KafkaBus

    bus = KafkaBus(Settings(kafka=kafka, kafka_partitions=partitions))
    store = open_search_store(Settings(search_url=url), prefix=prefix, timeout_s=120)
    worker = Indexer(bus, store, group=group, topics=[topic], deadletter_topic=f"{topic}.deadletter", batch=batch)
    stats = worker.run(stop_when_idle=True, idle_s=15.0, on_batch=lambda s: out.put(("batch", s.messages, time.time())))
    out.put(("done", stats.as_dict(), time.time()))
    store.close()
    bus.close()


def bare_bulk(url: str, prefix: str, leads: int, chunk: int = 500) -> float:
    store = open_search_store(Settings(search_url=url), prefix=prefix, timeout_s=120)
    admin.delete_all(store)
    store.ensure_indices()
    docs = [queries.lead_document(Lead.from_event(synthetic_event(i))) for i in range(leads)]
    t0 = time.perf_counter()
    for k in range(0, leads, chunk):
        ops: list[dict[str, Any]] = []
        for doc in docs[k : k + chunk]:
            ops += [{"index": {"_index": store.leads_alias, "_id": doc["lead_id"]}}, doc]
        response = store.bulk(ops)
        assert not response.get("errors"), "bulk errors in baseline"
    store.refresh()
    elapsed = time.perf_counter() - t0
    assert store.count() == leads
    admin.delete_all(store)
    store.close()
    return leads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kafka", default=os.environ.get("SWEEP_KAFKA"))
    parser.add_argument("--url", default=os.environ.get("SWEEP_SEARCH_URL"))
    parser.add_argument("--leads", type=int, default=60_000)
    parser.add_argument("--dup", type=float, default=0.1, help="share of messages that are redeliveries")
    parser.add_argument("--indexers", type=int, default=1, help="indexer processes in the group")
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    if not (args.kafka and args.url):
        parser.error("need --kafka and --url (or SWEEP_KAFKA / SWEEP_SEARCH_URL)")

    run = uuid.uuid4().hex[:6]
    topic, group, prefix = f"bench.{run}.leads", f"bench-{run}", f"bench-pipe-{run}"
    messages = len(_sequence(args.leads, args.dup))
    ctx = mp.get_context("spawn")
    started = ctx.Value("d", 0.0)
    out: Any = ctx.Queue()
    # indices first, so indexers do not race on creating them
    open_search_store(Settings(search_url=args.url), prefix=prefix).close()
    from adapters.bus.kafka import KafkaBus

    with KafkaBus(Settings(kafka=args.kafka, kafka_partitions=args.partitions)) as bus:
        bus.ensure_topics([topic, f"{topic}.deadletter"])
    console.print(
        f"pipeline: {args.leads:,} leads ({messages:,} messages, {args.dup:.0%} redeliveries) -> "
        f"{args.indexers} indexer(s), topic {topic} ({args.partitions} partitions)"
    )
    indexers = [
        ctx.Process(target=index, args=(args.kafka, args.partitions, args.url, prefix, topic, group, args.batch, out))
        for _ in range(args.indexers)
    ]
    for p in indexers:
        p.start()
    producer = ctx.Process(target=produce, args=(args.kafka, args.partitions, topic, args.leads, args.dup, started))
    producer.start()  # the group forms while the producer prepares its data
    last_at, finals = 0.0, []
    while len(finals) < len(indexers):
        kind, value, at = out.get()
        if kind == "batch":
            last_at = max(last_at, at)  # the end of work is the last committed batch, not the idle exit
        else:
            finals.append(value)
    producer.join()
    for p in indexers:
        p.join()
    consumed = sum(f["messages"] for f in finals)
    with open_search_store(Settings(search_url=args.url), prefix=prefix, ensure=False) as store:
        store.refresh()
        indexed = store.count()
        admin.delete_all(store)
    elapsed = last_at - started.value
    pipe_rate = args.leads / elapsed
    console.print(f"pipeline: {indexed:,} leads indexed from {consumed:,} messages in {elapsed:.1f}s")
    base_rate = None if args.skip_baseline else bare_bulk(args.url, f"{prefix}-bare", args.leads)
    report = {
        "benchmark": "end-to-end producer -> Kafka -> indexer -> search",
        "leads": args.leads,
        "messages": messages,
        "consumed": consumed,
        "indexed": indexed,
        "indexers": args.indexers,
        "partitions": args.partitions,
        "elapsed_s": round(elapsed, 2),
        "pipeline_leads_per_s": round(pipe_rate),
        "pipeline_messages_per_s": round(messages / elapsed),
        "bare_bulk_leads_per_s": round(base_rate) if base_rate else None,
        "ratio_to_bare_bulk": round(pipe_rate / base_rate, 2) if base_rate else None,
        "target_leads_per_s": 3000,
        "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "indexer_stats": finals,
    }
    table = Table(title=f"Pipeline throughput ({os.cpu_count()} cores, Kafka + search on the same machine)")
    for col in ("path", "leads/s", "messages/s", "elapsed s"):
        table.add_column(col, justify="right")
    table.add_row(
        "producer → Kafka → indexer → search", f"{pipe_rate:,.0f}", f"{messages / elapsed:,.0f}", f"{elapsed:.1f}"
    )
    if base_rate:
        table.add_row("bare bulk index (baseline)", f"{base_rate:,.0f}", "", f"{args.leads / base_rate:.1f}")
        table.add_row("ratio", f"{pipe_rate / base_rate:.2f}", "", "")
    console.print(table)
    assert indexed == args.leads, f"indexed {indexed} != {args.leads} unique leads"
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_pipeline.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    console.print(f"wrote {OUT / 'bench_pipeline.json'}")


if __name__ == "__main__":
    main()
