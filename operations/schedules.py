"""Cron schedules on targets, and the scheduler that fires them.

Two rules make several schedulers safe side by side and after downtime:

* **Claim, then launch.** A run is identified by (schedule, fire time). A scheduler launches a job only
  after `OperationsStore.claim_fire` inserted that pair; the store's primary key lets one claimer win,
  whatever the number of scheduler processes. Fire times are computed from the cron expression alone,
  so every scheduler names the same run the same way.
* **Catch-up: once, not once per miss.** A scheduler that wakes after downtime fires only the *latest*
  fire time that is due and newer than the schedule's last claimed one; the runs missed in between are
  not replayed (a crawl shows the site as it is now; ten back-to-back crawls of the same pages would
  show nothing more). A schedule never fires for a time before it was created. A paused schedule
  fires nothing; on resume its pause counts like downtime: the latest missed run fires once, at once.

Time zone: cron expressions are read in the schedule's zone (default Asia/Shanghai), so "0 8 * * *"
is 08:00 Beijing time on every machine; stored times are UTC.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from sweep.store.operations import DEFAULT_TIMEZONE, CrawlJob, OperationsStore, Schedule

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Launcher = Callable[[Schedule, datetime], CrawlJob | None]
"""Starts the job of one claimed run (schedule, fire time); returns it (None: the target is gone)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def validate_cron(expr: str, timezone: str = DEFAULT_TIMEZONE) -> None:
    """Raises ValueError for an expression croniter cannot read or an unknown time zone."""
    if not croniter.is_valid(expr):
        raise ValueError(f"not a cron expression: {expr!r} (five fields: minute hour day month weekday)")
    ZoneInfo(timezone)


def due_fire(schedule: Schedule, now: datetime) -> datetime | None:
    """The fire time to run now, or None: the latest cron time <= now that is after both the schedule's
    creation and its last claimed run (the catch-up policy: one run however many were missed)."""
    if schedule.paused:
        return None
    tz = ZoneInfo(schedule.timezone)
    local_now = now.astimezone(tz)
    # croniter's get_prev excludes its start; a second later includes a fire time equal to now
    latest: datetime = croniter(schedule.cron, local_now + timedelta(seconds=1)).get_prev(datetime)
    latest = latest.astimezone(UTC)
    floors = [t for t in (schedule.created_at, schedule.last_fire) if t is not None]
    if floors and latest <= max(floors):
        return None
    return latest


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    tz = ZoneInfo(schedule.timezone)
    return croniter(schedule.cron, after.astimezone(tz)).get_next(datetime).astimezone(UTC)


def default_claimer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass
class Fired:
    schedule_id: int
    fire_time: datetime
    job: CrawlJob | None


class Scheduler:
    """Fires due schedules through `launch`; the clock is injected (tests run it accelerated)."""

    def __init__(
        self, store: OperationsStore, launch: Launcher, *, clock: Clock = utcnow, claimer: str | None = None
    ) -> None:
        self.store = store
        self.launch = launch
        self.clock = clock
        self.claimer = claimer or default_claimer()

    def tick(self) -> list[Fired]:
        """One pass over every schedule: claim and launch what is due. Returns what *this* scheduler fired."""
        now = self.clock()
        fired: list[Fired] = []
        for schedule in self.store.list_schedules():
            when = due_fire(schedule, now)
            if when is None or schedule.id is None:
                continue
            if not self.store.claim_fire(schedule.id, when, self.claimer):
                continue  # another scheduler has this run
            try:
                job = self.launch(schedule, when)
            except Exception:
                logger.exception("schedule %s: launching the run of %s failed", schedule.id, when.isoformat())
                job = None
            if job is not None:
                self.store.attach_job_to_fire(schedule.id, when, job.id)
            fired.append(Fired(schedule.id, when, job))
        return fired

    def run(self, *, interval_s: float = 15.0, stop: threading.Event | None = None) -> None:
        """Tick every `interval_s` until `stop` is set (SIGTERM in `sweep scheduler`)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                for f in self.tick():
                    logger.info(
                        "schedule %s fired for %s: job %s", f.schedule_id, f.fire_time.isoformat(), f.job and f.job.id
                    )
            except Exception:
                logger.exception("scheduler pass failed; retrying")
            stop.wait(interval_s)
