"""`sweep crawl-worker`: one member of the crawl frontier's consumer group, running Scrapy.

Start as many as the hosts being crawled allow (per-host politeness keeps one host's requests in one
partition, so at one worker at a time). Every worker runs every job: the demo mall's, product_pages'
and site profiles' (`spiders.frontier.JobSpiders`). Stop with Ctrl-C/SIGTERM; a killed worker loses nothing: what it
had not confirmed goes to the others.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from app.cli.targets import alert_policy, frontier_bus, ops_store
from operations.jobs import job_completed_handler
from sweep.settings import get_settings


def crawl_worker(
    spider: Annotated[
        str,
        typer.Option(
            help="The worker's own spider; a job of another spider (product_pages, a site profile) runs too, "
            "built from the spider name and arguments its requests carry."
        ),
    ] = "demo_mall",
    batch: Annotated[int, typer.Option(help="Pages taken from the frontier per batch.")] = 200,
    idle_exit: Annotated[
        float, typer.Option(help="Exit after this many seconds with an empty frontier (0: run until stopped).")
    ] = 0.0,
    group: Annotated[str | None, typer.Option(help="Consumer group (default sweep-crawl-workers).")] = None,
    js: Annotated[bool, typer.Option("--js/--no-js", help="Render client-side pages with Chromium.")] = True,
) -> None:
    """Crawl requests from the shared frontier; prints the worker's stats as JSON when it stops."""
    from spiders.run import work

    settings = get_settings()
    lock = None
    if not settings.kafka:
        # the SQLite bus does not balance a group: two workers would both take every request
        import fcntl

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = (settings.data_dir / "crawl-worker.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("embedded mode runs one crawl-worker per data dir (use Kafka for more)", file=sys.stderr)
            raise typer.Exit(2) from None
    store = ops_store(settings)
    bus = frontier_bus(settings)
    if settings.kafka:
        _wait_for_partitions(bus, settings.topics.crawl_requests)
    try:
        stats = work(
            spider,
            bus=bus,
            store=store,
            topic=settings.topics.crawl_requests,
            on_job_done=job_completed_handler(alert_policy(settings)),
            group=group,
            batch=batch,
            idle_exit_s=idle_exit,
            render_js=js,
        )
    except Exception as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"crawl-worker failed: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    finally:
        bus.close()
        store.close()
        if lock is not None:
            lock.close()
    print(json.dumps(stats.to_dict(), ensure_ascii=False))


def _wait_for_partitions(bus: object, topic: str, timeout_s: float = 30.0) -> None:
    """Create the frontier topic and wait until the broker reports its partitions: a consumer that joins
    its group while a new topic has no partition metadata yet is assigned nothing and may sit idle for
    minutes (seen with a worker started before any job was launched)."""
    import time

    from kafka import KafkaConsumer

    ensure = getattr(bus, "ensure_topics", None)
    if ensure is None:
        return
    ensure([topic])
    probe = KafkaConsumer(**bus.client_config)  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + timeout_s
        while not probe.partitions_for_topic(topic) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        probe.close()
