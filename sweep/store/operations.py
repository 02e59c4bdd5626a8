"""The OperationsStore port: crawl targets, schedules, jobs, alerts and the shared frontier's ledger.

Why one port for all of it: a scheduler, the CLI, the workspace and every crawl worker must agree on
the same facts (which run of a schedule was already fired, which requests of a job were already
enqueued or done, what a job found), and those facts must survive restarts. A relational database is
the shared, durable place for them (SQLite embedded, PostgreSQL in production, beside people's state),
and its unique keys are what make two schedulers or two workers safe side by side:

* a schedule's run is *claimed* by inserting the row (schedule_id, fire_time): only one claimer wins;
* a job's request is *enqueued* by inserting the row (job_id, request key): a second discovery of the
  same page is a duplicate, and a replay by the same parent is recognised as a replay, not a duplicate;
* a request is *done* when its row is flipped in the same transaction that adds the batch's stats to
  its job, so a replayed batch adds nothing twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_TIMEZONE = "Asia/Shanghai"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    PERSON = "person"
    COMPLAINT = "complaint"
    TAKEDOWN = "takedown"


@dataclass(slots=True)
class Target:
    """What to crawl: a spider, a site, and the parts of it (any of them may be empty)."""

    name: str
    spider: str
    base_url: str
    start_urls: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    shops: list[str] = field(default_factory=list)
    listings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    """Per-target crawl settings, e.g. {"frontier_shards": 4} (see operations.frontier)."""
    created_at: datetime | None = None
    id: int | None = None


@dataclass(slots=True)
class Schedule:
    target_id: int
    cron: str
    timezone: str = DEFAULT_TIMEZONE
    paused: bool = False
    created_at: datetime | None = None
    last_fire: datetime | None = None
    """The newest fire time claimed (by any scheduler); the catch-up policy starts after it."""
    id: int | None = None


@dataclass(slots=True)
class JobStats:
    """What a job did; each field is summed over the job's batches, each batch counted once."""

    pages: int = 0
    listings: int = 0
    findings: int = 0
    bytes: int = 0
    leads_new: int = 0
    leads_updated: int = 0
    leads_unchanged: int = 0
    listings_removed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    """Errors by kind: "http_404", "timeout", "malformed", "invalid", ..."""

    def add(self, other: JobStats) -> None:
        for name in ("pages", "listings", "findings", "bytes", "leads_new", "leads_updated", "leads_unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.listings_removed += other.listings_removed
        for kind, n in other.errors.items():
            self.errors[kind] = self.errors.get(kind, 0) + n

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(slots=True)
class CrawlJob:
    id: str
    target_id: int | None
    target_name: str
    spider: str
    trigger: Trigger
    state: JobState = JobState.QUEUED
    requested_by: str = ""
    schedule_id: int | None = None
    fire_time: datetime | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""
    stats: JobStats = field(default_factory=JobStats)

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at
        return (end - self.started_at).total_seconds() if end else None


@dataclass(slots=True)
class JobLogLine:
    job_id: str
    at: datetime
    level: str
    message: str


@dataclass(slots=True)
class Alert:
    kind: str
    """"failed" or "empty"."""
    job_id: str
    target_name: str
    message: str
    at: datetime | None = None
    delivered: str = ""
    """The webhook's outcome ("", "ok 200", "error: ...")."""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class FrontierEntry:
    """One request of a job as the ledger knows it."""

    job_id: str
    key: str
    parent: str


class TargetExistsError(ValueError):
    pass


class TakedownOutcome(StrEnum):
    """What a takedown recheck found where a confirmed listing was."""

    ONLINE = "online"
    """Still offered: the page answers and is not a 下架 page."""
    REMOVED = "removed"
    """404/410 or a 下架 page, and no near-duplicate found in the same shop or company."""
    RELISTED = "relisted"
    """Removed, but the same content is offered under a new listing id in the same shop or company."""
    UNREACHABLE = "unreachable"
    """The page could not be fetched (network error, 5xx): nothing is concluded."""


@dataclass(slots=True)
class TakedownCheck:
    """One recheck of one confirmed lead's listing (`operations.takedown`)."""

    lead_id: str
    platform: str
    listing_id: str
    url: str
    outcome: TakedownOutcome
    checked_at: datetime
    job_id: str = ""
    http_status: int | None = None
    relisted_id: str | None = None
    relisted_url: str | None = None
    similarity: float | None = None
    """0-100, how alike the relisted listing is (normalised title + description, price checked apart)."""
    detail: str = ""
    case_ids: list[int] = field(default_factory=list)
    """Cases the lead belonged to when checked (the check is shown on those cases too)."""
    id: int | None = None


class OperationsStore(ABC):
    # -- targets ---------------------------------------------------------------------------------
    @abstractmethod
    def add_target(self, target: Target) -> Target: ...

    @abstractmethod
    def get_target(self, name_or_id: str | int) -> Target | None: ...

    @abstractmethod
    def list_targets(self) -> list[Target]: ...

    @abstractmethod
    def remove_target(self, target_id: int) -> bool:
        """Removes the target and its schedules; its jobs stay in the history."""

    # -- schedules -------------------------------------------------------------------------------
    @abstractmethod
    def add_schedule(self, schedule: Schedule) -> Schedule: ...

    @abstractmethod
    def get_schedule(self, schedule_id: int) -> Schedule | None: ...

    @abstractmethod
    def list_schedules(self) -> list[Schedule]: ...

    @abstractmethod
    def set_paused(self, schedule_id: int, paused: bool) -> bool: ...

    @abstractmethod
    def claim_fire(self, schedule_id: int, fire_time: datetime, claimer: str) -> bool:
        """Claim one run of a schedule; True for exactly one caller per (schedule, fire time), across
        processes. Moves the schedule's `last_fire` forward (never back)."""

    @abstractmethod
    def attach_job_to_fire(self, schedule_id: int, fire_time: datetime, job_id: str) -> None: ...

    @abstractmethod
    def fires(self, schedule_id: int) -> list[tuple[datetime, str, str | None]]:
        """(fire_time, claimer, job_id) of a schedule's claimed runs, oldest first."""

    # -- jobs ------------------------------------------------------------------------------------
    @abstractmethod
    def create_job(self, job: CrawlJob) -> None: ...

    @abstractmethod
    def get_job(self, job_id: str) -> CrawlJob | None: ...

    @abstractmethod
    def list_jobs(
        self, *, target_id: int | None = None, state: JobState | None = None, limit: int = 50
    ) -> list[CrawlJob]:
        """Newest first."""

    @abstractmethod
    def set_job_state(
        self, job_id: str, state: JobState, *, message: str | None = None, only_from: Sequence[JobState] = ()
    ) -> bool:
        """Move a job to `state` (if it is in one of `only_from`, when given); sets started/finished
        times. True if the row changed: the caller that wins a race is the one that acts on it."""

    @abstractmethod
    def append_log(self, job_id: str, lines: Sequence[tuple[str, str]], *, keep: int = 2000) -> None:
        """(level, message) lines; a job keeps at most `keep` lines (the first ones: the cause of a
        failure is usually at the start)."""

    @abstractmethod
    def job_log(self, job_id: str, *, limit: int = 200) -> list[JobLogLine]: ...

    # -- frontier ledger -------------------------------------------------------------------------
    @abstractmethod
    def enqueue(self, entries: Sequence[FrontierEntry]) -> list[FrontierEntry]:
        """Record requests of a job; returns those that must be published: new keys, and keys this same
        parent enqueued before (a replay after a crash, whose first publish may have been lost)."""

    @abstractmethod
    def complete(self, job_id: str, keys: Sequence[str], stats: JobStats) -> int:
        """Mark requests done and add `stats` to the job in one transaction; returns how many were not
        done before (0: a replay, nothing added)."""

    @abstractmethod
    def done_keys(self, job_id: str, keys: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def pending_count(self, job_id: str) -> int:
        """Requests enqueued and not done: the job is complete at 0."""

    @abstractmethod
    def frontier_count(self, job_id: str) -> int: ...

    # -- takedown checks -------------------------------------------------------------------------
    @abstractmethod
    def add_takedown_checks(self, checks: Sequence[TakedownCheck]) -> None:
        """Store the results of a recheck (sets each check's `id`)."""

    @abstractmethod
    def takedown_checks(self, lead_ids: Sequence[str], *, per_lead: int = 10) -> dict[str, list[TakedownCheck]]:
        """The latest checks of each lead, newest first (leads never checked are absent)."""

    # -- alerts ----------------------------------------------------------------------------------
    @abstractmethod
    def add_alert(self, alert: Alert) -> Alert: ...

    @abstractmethod
    def set_alert_delivered(self, alert_id: int, delivered: str) -> None: ...

    @abstractmethod
    def list_alerts(self, *, limit: int = 50) -> list[Alert]: ...

    @abstractmethod
    def close(self) -> None: ...
