"""Operator health (`reports.health`, `sweep status`) on the embedded backends: messages and dead
letters per topic, a group's lag, throughput between two readings, the scheduler's last fire and the
jobs — expected values written by hand from what the test puts in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from adapters.bus.sqlite import SqliteBus
from adapters.people.operations_sql import SqlOperationsStore
from reports.health import snapshot
from sweep.bus.base import Bus, BusConsumer, BusStatus, GroupLag
from sweep.settings import Settings
from sweep.store.operations import CrawlJob, JobState, Schedule, Target, Trigger

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class TwoReadings(Bus):
    """A bus whose group committed 100 more messages between the first and the second reading."""

    def __init__(self) -> None:
        self.calls = 0

    def status(self, topics: Sequence[str]) -> BusStatus:
        self.calls += 1
        committed = 1000 if self.calls == 1 else 1100
        return BusStatus({"t.leads": 1500}, [GroupLag("sweep-indexer", "t.leads", committed, 1500 - committed)])

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def flush(self, timeout_s: float = 60.0) -> None:
        pass

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        raise NotImplementedError

    def close(self) -> None:
        pass


def test_throughput_is_committed_messages_per_second_of_the_sample() -> None:
    h = snapshot(bus=TwoReadings(), topics=["t.leads"], sample_s=0.05, now=NOW)
    assert h.throughput == {("sweep-indexer", "t.leads"): pytest.approx(2000.0)}  # 100 messages / 0.05 s
    assert h.lags == [GroupLag("sweep-indexer", "t.leads", 1100, 400)]


def test_embedded_bus_scheduler_and_jobs(tmp_path: Path) -> None:
    bus = SqliteBus(tmp_path / "bus.sqlite")
    for i in range(4):
        bus.publish("s.leads", f"k{i}", b"{}")
    bus.publish("s.deadletter", "bad", b"not json")
    bus.flush()
    consumer = bus.consumer(["s.leads"], "sweep-indexer")
    got = consumer.poll(max_records=3, timeout_s=0.1)
    consumer.commit(got)
    consumer.close()
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    target = ops.add_target(Target(name="mall", spider="demomall", base_url="http://127.0.0.1:1/"))
    assert target.id is not None
    schedule = ops.add_schedule(Schedule(target_id=target.id, cron="0 * * * *"))
    assert schedule.id is not None
    assert ops.claim_fire(schedule.id, datetime(2026, 12, 2, 11, 0, tzinfo=UTC), "a")
    for job_id, state, created in (
        ("j1", JobState.FAILED, datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),  # in the last 24 h
        ("j2", JobState.FAILED, datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),  # older
        ("j3", JobState.RUNNING, datetime(2026, 12, 2, 11, 0, tzinfo=UTC)),
    ):
        ops.create_job(
            CrawlJob(job_id, target.id, "mall", "demomall", Trigger.SCHEDULE, state=state, created_at=created)
        )
    h = snapshot(
        bus=bus, topics=["s.leads", "s.deadletter"], dead_letter_topics=["s.deadletter"], operations=ops, now=NOW
    )
    assert h.topics == {"s.leads": 4, "s.deadletter": 1}
    assert h.dead_letters == {"s.deadletter": 1}
    assert h.lags == [GroupLag("sweep-indexer", "s.leads", 3, 1)]
    assert h.last_fire is not None and h.last_fire.replace(tzinfo=UTC) == datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    assert (h.schedules, h.jobs_running, h.jobs_failed_recent) == (1, 1, 1)
    bus.close()
    ops.close()


def test_cli_status_json_and_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import status
    from app.cli.main import app

    settings = Settings(data_dir=tmp_path, kafka=None, search_url=None, people_url=None, topic_prefix="st")
    monkeypatch.setattr(status, "get_settings", lambda: settings)
    result = CliRunner().invoke(app, ["status", "--sample", "0", "--json"])
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.output)
    assert doc["topics"] == {
        "st.listings": 0,
        "st.leads": 0,
        "st.deadletter": 0,
        "st.complaints": 0,
        "st.crawl.requests": 0,
    }
    assert doc["leads"] == 0 and doc["problems"] == []
    bus = SqliteBus(settings.bus_db)
    bus.publish("st.deadletter", "x", b"\x1b[31mbad")
    bus.close()
    result = CliRunner().invoke(app, ["status", "--sample", "0"])
    assert result.exit_code == 1  # a dead letter is waiting
    assert "死信队列有待处理消息" in result.output
