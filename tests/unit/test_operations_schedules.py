"""Schedules: the catch-up policy, time zones, and two schedulers side by side on an accelerated clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.people.operations_sql import SqlOperationsStore
from operations.schedules import Scheduler, due_fire, next_fire, validate_cron
from sweep.store.operations import CrawlJob, Schedule, Target, Trigger

T0 = datetime(2025, 3, 1, 0, 0, 30, tzinfo=UTC)  # 08:00:30 in Beijing


def test_due_fire_is_the_latest_missed_time_once() -> None:
    s = Schedule(target_id=1, cron="*/5 * * * *", created_at=T0)
    assert due_fire(s, T0) is None  # nothing before creation
    assert due_fire(s, T0 + timedelta(minutes=4, seconds=29)) is None  # 00:04:59
    assert due_fire(s, T0 + timedelta(minutes=4, seconds=30)) == datetime(2025, 3, 1, 0, 5, tzinfo=UTC)
    # three hours of downtime: one run, for the latest time, not 36
    late = T0 + timedelta(hours=3, minutes=2)
    assert due_fire(s, late) == datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    s.last_fire = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
    assert due_fire(s, late) is None


def test_cron_is_read_in_beijing_time_by_default() -> None:
    s = Schedule(target_id=1, cron="0 8 * * *", created_at=T0)
    # next 08:00 Beijing after 08:00:30 Beijing on 1 March is 2 March 00:00 UTC
    assert next_fire(s, T0) == datetime(2025, 3, 2, 0, 0, tzinfo=UTC)
    utc = Schedule(target_id=1, cron="0 8 * * *", timezone="UTC", created_at=T0)
    assert next_fire(utc, T0) == datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_a_paused_schedule_fires_nothing_and_resumes_with_one_run() -> None:
    s = Schedule(target_id=1, cron="* * * * *", created_at=T0, paused=True)
    assert due_fire(s, T0 + timedelta(minutes=30)) is None
    s.paused = False
    assert due_fire(s, T0 + timedelta(minutes=30)) == datetime(2025, 3, 1, 0, 30, tzinfo=UTC)


def test_bad_cron_and_zone_are_refused() -> None:
    with pytest.raises(ValueError):
        validate_cron("every morning")
    with pytest.raises(Exception):  # noqa: B017 (zoneinfo raises its own KeyError subclass)
        validate_cron("0 8 * * *", "Mars/Olympus")


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self.lock:
            self.now += delta


def test_two_schedulers_over_ten_accelerated_minutes_fire_each_run_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    setup = SqlOperationsStore(url)
    target = setup.add_target(Target(name="t", spider="demo_mall", base_url="http://127.0.0.1:1"))
    assert target.id is not None
    every_minute = setup.add_schedule(Schedule(target_id=target.id, cron="* * * * *", created_at=T0))
    every_3 = setup.add_schedule(Schedule(target_id=target.id, cron="*/3 * * * *", created_at=T0))
    clock = FakeClock(T0)
    launched: list[tuple[str, int, datetime]] = []
    lock = threading.Lock()

    def launcher(name: str):  # type: ignore[no-untyped-def]
        def launch(schedule: Schedule, fire_time: datetime) -> CrawlJob:
            with lock:
                launched.append((name, schedule.id or 0, fire_time))
            return CrawlJob(
                id=f"{name}-{schedule.id}-{fire_time:%H%M}",
                target_id=target.id,
                target_name="t",
                spider="demo_mall",
                trigger=Trigger.SCHEDULE,
            )

        return launch

    # each scheduler has its own store (its own connections), as two processes would
    a = Scheduler(SqlOperationsStore(url), launcher("a"), clock=clock, claimer="a")
    b = Scheduler(SqlOperationsStore(url), launcher("b"), clock=clock, claimer="b")
    with ThreadPoolExecutor(2) as pool:
        for _ in range(10 * 60 // 5):  # ten minutes in 5-second steps, both ticking at once each step
            clock.advance(timedelta(seconds=5))
            list(pool.map(lambda s: s.tick(), (a, b)))

    fires = sorted((sid, t) for _, sid, t in launched)
    minute = [datetime(2025, 3, 1, 0, m, tzinfo=UTC) for m in range(1, 11)]
    assert fires == sorted(
        [(every_minute.id, t) for t in minute] + [(every_3.id, t) for t in minute if t.minute % 3 == 0]
    )
    assert len(fires) == 13 == len(set(fires))
    stored = setup.fires(every_minute.id or 0)
    assert [t for t, _, _ in stored] == minute
    assert all(job_id and job_id.startswith(claimer) for _, claimer, job_id in stored)


def test_a_scheduler_back_after_downtime_fires_once(tmp_path: Path) -> None:
    store = SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    target = store.add_target(Target(name="t", spider="demo_mall", base_url="http://127.0.0.1:1"))
    s = store.add_schedule(Schedule(target_id=target.id or 0, cron="0 * * * *", created_at=T0))
    clock = FakeClock(T0 + timedelta(hours=1))
    fired: list[datetime] = []
    sched = Scheduler(store, lambda sc, t: fired.append(t) or None, clock=clock)
    sched.tick()
    clock.advance(timedelta(hours=5))  # down for five hourly runs
    sched.tick()
    sched.tick()
    assert fired == [datetime(2025, 3, 1, 1, 0, tzinfo=UTC), datetime(2025, 3, 1, 6, 0, tzinfo=UTC)]
    assert store.get_schedule(s.id or 0).last_fire == datetime(2025, 3, 1, 6, 0, tzinfo=UTC)  # type: ignore[union-attr]
