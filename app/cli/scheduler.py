"""`sweep scheduler`: fires due schedules (any number of these processes may run; each run fires once)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime
from typing import Annotated

import typer

from app.cli.report import launch_report
from app.cli.targets import frontier_bus, ops_store
from operations.jobs import launch
from operations.schedules import Scheduler
from reports.scheduled import REPORT_SPIDER
from sweep.settings import get_settings
from sweep.store.operations import CrawlJob, Schedule, Trigger


def scheduler(
    interval: Annotated[float, typer.Option(help="Seconds between passes over the schedules.")] = 15.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (cron-driven setups).")] = False,
) -> None:
    """Claim and launch due runs until stopped (Ctrl-C / SIGTERM). After downtime each schedule runs
    once for the latest missed time, not once per miss."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    store = ops_store(settings)
    bus = frontier_bus(settings)
    topic = settings.topics.crawl_requests

    def start(schedule: Schedule, fire_time: datetime) -> CrawlJob | None:
        target = store.get_target(schedule.target_id)
        if target is None:
            return None
        if target.spider == REPORT_SPIDER:  # a scheduled report, not a crawl (app/cli/report.py)
            return launch_report(settings, store, target, schedule, fire_time)
        return launch(store, bus, topic, target, trigger=Trigger.SCHEDULE, schedule_id=schedule.id, fire_time=fire_time)

    s = Scheduler(store, start)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if once:
            for f in s.tick():
                typer.echo(f"schedule {f.schedule_id} fired for {f.fire_time.isoformat()}: job {f.job and f.job.id}")
        else:
            s.run(interval_s=interval, stop=stop)
    finally:
        bus.close()
        store.close()
