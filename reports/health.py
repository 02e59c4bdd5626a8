"""Operator health: what runs and how far behind it is — messages and dead letters per topic, each
consumer group's lag and throughput, the search cluster, the scheduler's last fire and the crawl jobs.

Read through the ports only (`Bus.status`, `LeadStore.count`, `OperationsStore`), so `sweep status`
and the workspace's /metrics show the same numbers on the embedded stores and on Kafka/OpenSearch.
Throughput is measured, not stored: two bus snapshots `sample_s` apart, committed messages per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sweep.bus.base import Bus, GroupLag
from sweep.store.base import LeadStore
from sweep.store.operations import JobState, OperationsStore

RECENT = timedelta(hours=24)
"""Window of the failed-jobs count."""


@dataclass(slots=True)
class Health:
    at: datetime
    topics: dict[str, int] = field(default_factory=dict)
    """Topic -> messages held."""
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Dead-letter topic -> messages held (a subset of `topics`)."""
    lags: list[GroupLag] = field(default_factory=list)
    throughput: dict[tuple[str, str], float] = field(default_factory=dict)
    """(group, topic) -> committed messages per second over the sample (empty when not sampled)."""
    bus_error: str = ""
    search: dict[str, Any] = field(default_factory=dict)
    """Cluster health as the server gives it (status, number_of_nodes …); empty for the embedded store."""
    search_error: str = ""
    leads: int | None = None
    leads_error: str = ""
    """Why the leads could not be counted (e.g. no index yet): not a cluster failure."""
    schedules: int = 0
    schedules_paused: int = 0
    last_fire: datetime | None = None
    """The newest schedule fire claimed by any scheduler: the scheduler's heartbeat."""
    jobs_running: int = 0
    jobs_failed_recent: int = 0
    last_job_finished: datetime | None = None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bus_health(
    out: Health, bus: Bus, topics: Sequence[str], dead_letter_topics: Sequence[str], sample_s: float
) -> None:
    try:
        first = bus.status(topics)
        if sample_s > 0:
            time.sleep(sample_s)
            second = bus.status(topics)
            before = {(lag.group, lag.topic): lag.committed for lag in first.lags}
            for lag in second.lags:
                key = (lag.group, lag.topic)
                out.throughput[key] = max(0, lag.committed - before.get(key, lag.committed)) / sample_s
            first = second
    except Exception as exc:  # an operator's view reports a broken bus rather than dying of it
        out.bus_error = f"{type(exc).__name__}: {exc}"
        return
    out.topics = first.messages
    out.dead_letters = {t: first.messages.get(t, 0) for t in dead_letter_topics}
    out.lags = first.lags


def operations_health(out: Health, operations: OperationsStore) -> None:
    schedules = operations.list_schedules()
    out.schedules = len(schedules)
    out.schedules_paused = sum(s.paused for s in schedules)
    fires = [f for s in schedules if (f := _aware(s.last_fire)) is not None]
    out.last_fire = max(fires, default=None)
    out.jobs_running = len(operations.list_jobs(state=JobState.RUNNING, limit=10_000))
    since = out.at - RECENT
    for job in operations.list_jobs(limit=1_000):
        finished = _aware(job.finished_at)
        if finished and (out.last_job_finished is None or finished > out.last_job_finished):
            out.last_job_finished = finished
        created = _aware(job.created_at)
        if job.state is JobState.FAILED and created and created >= since:
            out.jobs_failed_recent += 1


def snapshot(
    *,
    bus: Bus | None = None,
    topics: Sequence[str] = (),
    dead_letter_topics: Sequence[str] = (),
    sample_s: float = 0.0,
    leads: LeadStore | None = None,
    search_health: Callable[[], dict[str, Any]] | None = None,
    operations: OperationsStore | None = None,
    now: datetime | None = None,
) -> Health:
    """Everything that is wired; a part that fails is reported in its `*_error` field."""
    out = Health(at=now or datetime.now(UTC))
    if bus is not None:
        bus_health(out, bus, topics, dead_letter_topics, sample_s)
    if search_health is not None:
        try:
            out.search = dict(search_health())
        except Exception as exc:
            out.search_error = f"{type(exc).__name__}: {exc}"
    if leads is not None:
        try:
            out.leads = leads.count()
        except Exception as exc:
            out.leads_error = f"{type(exc).__name__}: {exc}"
    if operations is not None:
        operations_health(out, operations)
    return out
