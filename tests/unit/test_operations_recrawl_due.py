"""Recrawl-due targets on a schedule: each fire of an hourly schedule, on an accelerated clock, launches
a job over the listings due at its fire time (at most max_per_run, the rest next time) or records that
nothing was due; `sweep targets add --recrawl-due` makes such a target and refuses what cannot work."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.bus.sqlite import SqliteBus
from adapters.people.operations_sql import SqlOperationsStore
from adapters.store.sqlite import SqliteLeadStore
from operations.jobs import launch
from operations.recrawl import RECRAWL_DUE, recrawl_due_settings
from operations.schedules import Scheduler
from spiders.frontier import FrontierRequest
from sweep.bus.base import Topics
from sweep.models import Listing
from sweep.recrawl import ListingSeen, RecrawlPolicy, fingerprint
from sweep.store.operations import CrawlJob, JobState, Schedule, Target, Trigger

T0 = datetime(2026, 6, 1, 0, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
IDS = ["L1", "L2", "L3", "L4", "L5"]
MALL = "http://127.0.0.1:8000"


def _listing(listing_id: str) -> Listing:
    return Listing.model_validate(
        {
            "platform": "demo-mall",
            "listing_id": listing_id,
            "title": f"商品 {listing_id}",
            "price": 10.0,
            "url": f"{MALL}/item/{listing_id}.html",
            "crawled_at": T0.isoformat(),
        }
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _seeded_ids(bus: SqliteBus, topic: str, consumer_group: str) -> dict[str, list[str]]:
    """Listing ids of the frontier's new messages, by job (the demo mall rechecks /item/<id>.html)."""
    out: dict[str, list[str]] = {}
    with bus.consumer([topic], consumer_group) as consumer:
        while batch := consumer.poll(1000, timeout_s=0.1):
            for m in batch:
                fr = FrontierRequest.decode(m.value)
                out.setdefault(fr.job, []).append(fr.url.rsplit("/", 1)[-1].removesuffix(".html"))
            consumer.commit(batch)
    return out


def test_an_hourly_recrawl_due_schedule_over_thirty_accelerated_hours(tmp_path: Path) -> None:
    leads = SqliteLeadStore(tmp_path / "leads.sqlite")
    leads.recrawl_policy = RecrawlPolicy(min_s=6 * 3600, max_s=14 * 86400, initial_s=86400)
    listings = [_listing(i) for i in IDS]
    leads.index_listings([*listings, _listing("X").model_copy(update={"platform": "other"})])  # due too, elsewhere
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    target = ops.add_target(
        Target(name="mall-due", spider="demo_mall", base_url=MALL, settings=recrawl_due_settings("demo-mall", 2))
    )
    assert target.id is not None
    ops.add_schedule(Schedule(target_id=target.id, cron="0 * * * *", created_at=T0))
    bus = SqliteBus(tmp_path / "bus.sqlite")
    topic = Topics("t").crawl_requests

    def start(schedule: Schedule, fire_time: datetime) -> CrawlJob | None:
        t = ops.get_target(schedule.target_id)
        assert t is not None
        return launch(
            ops, bus, topic, t, trigger=Trigger.SCHEDULE, schedule_id=schedule.id, fire_time=fire_time, leads=leads
        )

    clock = Clock(T0)
    scheduler = Scheduler(ops, start, clock=clock)
    runs: list[tuple[datetime, str, list[str]]] = []
    while clock.now < T0 + 30 * HOUR:
        clock.now += timedelta(minutes=10)
        for fired in scheduler.tick():
            assert fired.job is not None
            seeded = _seeded_ids(bus, topic, "check").get(fired.job.id, [])
            runs.append((fired.fire_time, fired.job.id, seeded))
            # what a worker would record: the rechecked listings seen unchanged at the fire time
            seen = [
                ListingSeen(platform="demo-mall", listing_id=i, fingerprint=fingerprint(listings[IDS.index(i)]),
                            seen_at=fired.fire_time)
                for i in seeded
            ]  # fmt: skip
            if seen:
                leads.record_observations(seen)

    assert [t for t, _, _ in runs] == [datetime(2026, 6, 1, h, tzinfo=UTC) for h in range(1, 24)] + [
        datetime(2026, 6, 2, h, tzinfo=UTC) for h in range(0, 7)
    ]  # every hour once
    by_hour = {t.hour if t.day == 2 else t.hour - 24: ids for t, _, ids in runs}
    # listings first seen at 00:00:30 are due 24 h later: the 01:00 run of day 2 is the first with any
    assert all(by_hour[h] == [] for h in range(-23, 1))
    assert [len(by_hour[h]) for h in (1, 2, 3, 4, 5, 6)] == [2, 2, 1, 0, 0, 0]  # at most 2 a run; the rest next
    assert sorted(by_hour[1] + by_hour[2] + by_hour[3]) == IDS  # each due listing once, none of "other"
    jobs = {job_id: ops.get_job(job_id) for _, job_id, _ in runs}
    empty = [j for j in jobs.values() if j is not None and j.stats.pages == 0 and ops.frontier_count(j.id) == 0]
    assert len(empty) == len(runs) - 3
    assert all(j.state == JobState.FINISHED and j.target_id == target.id for j in empty)
    assert "no listing is due" in ops.job_log(empty[0].id)[-1].message
    busy = [j for j in jobs.values() if j is not None and ops.frontier_count(j.id) > 0]
    assert [ops.frontier_count(j.id) for j in busy] == [2, 2, 1]
    assert all(j.state == JobState.QUEUED and j.trigger == Trigger.SCHEDULE for j in busy)
    bus.close()
    leads.close()


def test_product_pages_rechecks_by_page_address_without_following_links(tmp_path: Path) -> None:
    leads = SqliteLeadStore(tmp_path / "leads.sqlite")
    leads.index_listings([_listing("L1")])
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    target = ops.add_target(
        Target(name="pp", spider="product_pages", base_url=MALL, settings=recrawl_due_settings("demo-mall"))
    )
    bus = SqliteBus(tmp_path / "bus.sqlite")
    topic = Topics("t").crawl_requests
    job = launch(ops, bus, topic, target, trigger=Trigger.PERSON, fire_time=T0 + 25 * HOUR, leads=leads)
    with bus.consumer([topic], "check") as consumer:
        [message] = consumer.poll(10, timeout_s=0.1)
    fr = FrontierRequest.decode(message.value)
    assert (fr.job, fr.url, fr.request["callback"]) == (job.id, f"{MALL}/item/L1.html", "parse_page")
    assert fr.args == {"base_url": MALL, "follow": "false"} and fr.request["meta"] == {}
    bus.close()
    leads.close()


def _sweep(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "app", *argv],
        env=env | {"SWEEP_DATA_DIR": str(data), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_targets_add_recrawl_due(tmp_path: Path) -> None:
    ok = _sweep(tmp_path, "targets", "add", "due", "--base-url", MALL, "--recrawl-due", "--platform", "demo-mall",
                "--max-per-run", "50")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    target = ops.get_target("due")
    assert target is not None and target.settings[RECRAWL_DUE] == {"platform": "demo-mall", "max_per_run": 50}
    assert "listings due on demo-mall, at most 50" in _sweep(tmp_path, "targets", "list").stdout


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--recrawl-due"], "needs --platform"),
        (["--recrawl-due", "--platform", "p", "--category", "c"], "listings due at each run"),
        (["--recrawl-due", "--platform", "p", "--spider", "demo_mall_profile"], "cannot recheck"),
        (["--recrawl-due", "--platform", "p", "--max-per-run", "0"], "at least 1"),
        (["--platform", "p"], "go with --recrawl-due"),
    ],
)
def test_targets_add_recrawl_due_refusals(tmp_path: Path, argv: list[str], says: str) -> None:
    bad = _sweep(tmp_path, "targets", "add", "due", "--base-url", MALL, *argv)
    assert bad.returncode == 2
    assert says in " ".join(bad.stderr.split())
