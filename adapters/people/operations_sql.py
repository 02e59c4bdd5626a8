"""The OperationsStore port on SQLAlchemy Core, in the people's-state database (SQLite embedded,
PostgreSQL in production): the same URL, the same engine set-up (`adapters.people.sql`), its own
tables (prefixed `crawl_`, beside the bulk-action `jobs` table of people's state).

Concurrency rests on primary keys, not on locks held by a process: `crawl_fires` (schedule_id,
fire_time) makes a schedule's run claimable once; `crawl_frontier` (job_id, key) makes a request
enqueued once per job. On SQLite every write transaction is `BEGIN IMMEDIATE` (serialised across
processes); on PostgreSQL the conflicting inserts use ON CONFLICT DO NOTHING and the job row is locked
(SELECT ... FOR UPDATE) while a batch's stats are added.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from adapters.people import people_url
from adapters.people.sql import UtcTime, _sqlite_engine
from sweep.settings import Settings, get_settings
from sweep.store.operations import (
    Alert,
    CrawlJob,
    FrontierEntry,
    JobLogLine,
    JobState,
    JobStats,
    OperationsStore,
    Schedule,
    TakedownCheck,
    TakedownOutcome,
    Target,
    TargetExistsError,
    Trigger,
)

metadata = MetaData()

crawl_targets = Table(
    "crawl_targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("spider", String(64), nullable=False),
    Column("base_url", Text, nullable=False),
    Column("spec", Text, nullable=False),  # JSON: start_urls, categories, keywords, shops, listings, settings
    Column("created_at", UtcTime),
    sqlite_autoincrement=True,
)

crawl_schedules = Table(
    "crawl_schedules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_id", Integer, nullable=False),
    Column("cron", String(128), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("created_at", UtcTime, nullable=False),
    Column("last_fire", UtcTime),
    sqlite_autoincrement=True,
)

crawl_fires = Table(
    "crawl_fires",
    metadata,
    Column("schedule_id", Integer, primary_key=True),
    Column("fire_time", UtcTime, primary_key=True),
    Column("claimer", String(128), nullable=False),
    Column("claimed_at", UtcTime, nullable=False),
    Column("job_id", String(40)),
)

crawl_jobs = Table(
    "crawl_jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("target_id", Integer),
    Column("target_name", String(128), nullable=False),
    Column("spider", String(64), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("requested_by", String(64), nullable=False, default=""),
    Column("schedule_id", Integer),
    Column("fire_time", UtcTime),
    Column("created_at", UtcTime, nullable=False),
    Column("started_at", UtcTime),
    Column("finished_at", UtcTime),
    Column("message", Text, nullable=False, default=""),
    Column("pages", Integer, nullable=False, default=0),
    Column("listings", Integer, nullable=False, default=0),
    Column("findings", Integer, nullable=False, default=0),
    Column("bytes", Integer, nullable=False, default=0),
    Column("leads_new", Integer, nullable=False, default=0),
    Column("leads_updated", Integer, nullable=False, default=0),
    Column("leads_unchanged", Integer, nullable=False, default=0),
    Column("listings_removed", Integer, nullable=False, default=0),
    Column("errors", Text, nullable=False, default="{}"),
    Index("crawl_jobs_target", "target_id", "created_at"),
    Index("crawl_jobs_created", "created_at"),
)

crawl_job_log = Table(
    "crawl_job_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), nullable=False),
    Column("at", UtcTime, nullable=False),
    Column("level", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Index("crawl_job_log_job", "job_id", "seq"),
    sqlite_autoincrement=True,
)

crawl_frontier = Table(
    "crawl_frontier",
    metadata,
    Column("job_id", String(40), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("parent", String(64), nullable=False),
    Column("done", Boolean, nullable=False, default=False),
    Index("crawl_frontier_pending", "job_id", "done"),
)

crawl_alerts = Table(
    "crawl_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("job_id", String(40), nullable=False),
    Column("target_name", String(128), nullable=False),
    Column("message", Text, nullable=False),
    Column("delivered", Text, nullable=False, default=""),
    sqlite_autoincrement=True,
)

crawl_takedown_checks = Table(
    "crawl_takedown_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(128), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("listing_id", String(128), nullable=False),
    Column("url", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("checked_at", UtcTime, nullable=False),
    Column("job_id", String(40), nullable=False, default=""),
    Column("http_status", Integer),
    Column("relisted_id", String(128)),
    Column("relisted_url", Text),
    Column("similarity", Float),
    Column("detail", Text, nullable=False, default=""),
    Column("case_ids", Text, nullable=False, default="[]"),
    Index("crawl_takedown_checks_lead", "lead_id", "id"),
    sqlite_autoincrement=True,
)

_STAT_COLUMNS = (
    "pages",
    "listings",
    "findings",
    "bytes",
    "leads_new",
    "leads_updated",
    "leads_unchanged",
    "listings_removed",
)
_SPEC_FIELDS = ("start_urls", "categories", "keywords", "shops", "listings", "settings")
_CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class SqlOperationsStore(OperationsStore):
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, immediate=True)
            self._reader = _sqlite_engine(url, immediate=False)
        else:
            self._writer = self._reader = create_engine(url, pool_pre_ping=True)
        with self._writer.begin() as conn:
            metadata.create_all(conn)

    def close(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    def _insert_ignore(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING in the dialect at hand."""
        return (sqlite.insert(table) if self.is_sqlite else postgresql.insert(table)).on_conflict_do_nothing()

    # -- targets ---------------------------------------------------------------------------------
    @staticmethod
    def _target(row: Any) -> Target:
        spec = json.loads(row.spec)
        return Target(
            name=row.name,
            spider=row.spider,
            base_url=row.base_url,
            created_at=row.created_at,
            id=row.id,
            **{k: spec.get(k, {} if k == "settings" else []) for k in _SPEC_FIELDS},
        )

    def add_target(self, target: Target) -> Target:
        spec = json.dumps({k: getattr(target, k) for k in _SPEC_FIELDS}, ensure_ascii=False)
        created = target.created_at or _now()
        with self._writer.begin() as conn:
            if conn.execute(select(crawl_targets.c.id).where(crawl_targets.c.name == target.name)).first():
                raise TargetExistsError(f"a target named {target.name!r} exists")
            result = conn.execute(
                insert(crawl_targets).values(
                    name=target.name, spider=target.spider, base_url=target.base_url, spec=spec, created_at=created
                )
            )
            target.id = int(result.inserted_primary_key[0])
        target.created_at = created
        return target

    def get_target(self, name_or_id: str | int) -> Target | None:
        if isinstance(name_or_id, int) or str(name_or_id).isdigit():
            where = crawl_targets.c.id == int(name_or_id)
        else:
            where = crawl_targets.c.name == name_or_id
        with self._reader.connect() as conn:
            row = conn.execute(select(crawl_targets).where(where)).first()
        return self._target(row) if row else None

    def list_targets(self) -> list[Target]:
        with self._reader.connect() as conn:
            return [self._target(r) for r in conn.execute(select(crawl_targets).order_by(crawl_targets.c.name))]

    def remove_target(self, target_id: int) -> bool:
        with self._writer.begin() as conn:
            conn.execute(delete(crawl_schedules).where(crawl_schedules.c.target_id == target_id))
            return conn.execute(delete(crawl_targets).where(crawl_targets.c.id == target_id)).rowcount > 0

    # -- schedules -------------------------------------------------------------------------------
    @staticmethod
    def _schedule(row: Any) -> Schedule:
        return Schedule(
            target_id=row.target_id,
            cron=row.cron,
            timezone=row.timezone,
            paused=bool(row.paused),
            created_at=row.created_at,
            last_fire=row.last_fire,
            id=row.id,
        )

    def add_schedule(self, schedule: Schedule) -> Schedule:
        schedule.created_at = schedule.created_at or _now()
        with self._writer.begin() as conn:
            result = conn.execute(
                insert(crawl_schedules).values(
                    target_id=schedule.target_id,
                    cron=schedule.cron,
                    timezone=schedule.timezone,
                    paused=schedule.paused,
                    created_at=schedule.created_at,
                    last_fire=schedule.last_fire,
                )
            )
            schedule.id = int(result.inserted_primary_key[0])
        return schedule

    def get_schedule(self, schedule_id: int) -> Schedule | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(crawl_schedules).where(crawl_schedules.c.id == schedule_id)).first()
        return self._schedule(row) if row else None

    def list_schedules(self) -> list[Schedule]:
        with self._reader.connect() as conn:
            return [self._schedule(r) for r in conn.execute(select(crawl_schedules).order_by(crawl_schedules.c.id))]

    def set_paused(self, schedule_id: int, paused: bool) -> bool:
        with self._writer.begin() as conn:
            q = update(crawl_schedules).where(crawl_schedules.c.id == schedule_id).values(paused=paused)
            return conn.execute(q).rowcount > 0

    def claim_fire(self, schedule_id: int, fire_time: datetime, claimer: str) -> bool:
        with self._writer.begin() as conn:
            won = (
                conn.execute(
                    self._insert_ignore(crawl_fires).values(
                        schedule_id=schedule_id, fire_time=fire_time, claimer=claimer, claimed_at=_now()
                    )
                ).rowcount
                == 1
            )
            if won:
                s = crawl_schedules.c
                conn.execute(
                    update(crawl_schedules)
                    .where(s.id == schedule_id)
                    .where((s.last_fire.is_(None)) | (s.last_fire < fire_time))
                    .values(last_fire=fire_time)
                )
        return won

    def attach_job_to_fire(self, schedule_id: int, fire_time: datetime, job_id: str) -> None:
        with self._writer.begin() as conn:
            f = crawl_fires.c
            conn.execute(
                update(crawl_fires).where(f.schedule_id == schedule_id, f.fire_time == fire_time).values(job_id=job_id)
            )

    def fires(self, schedule_id: int) -> list[tuple[datetime, str, str | None]]:
        f = crawl_fires.c
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(f.fire_time, f.claimer, f.job_id).where(f.schedule_id == schedule_id).order_by(f.fire_time)
            )
            return [(r.fire_time, r.claimer, r.job_id) for r in rows]

    # -- jobs ------------------------------------------------------------------------------------
    @staticmethod
    def _job(row: Any) -> CrawlJob:
        stats = JobStats(**{c: getattr(row, c) for c in _STAT_COLUMNS}, errors=json.loads(row.errors or "{}"))
        return CrawlJob(
            id=row.id,
            target_id=row.target_id,
            target_name=row.target_name,
            spider=row.spider,
            trigger=Trigger(row.trigger),
            state=JobState(row.state),
            requested_by=row.requested_by,
            schedule_id=row.schedule_id,
            fire_time=row.fire_time,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            message=row.message,
            stats=stats,
        )

    def create_job(self, job: CrawlJob) -> None:
        job.created_at = job.created_at or _now()
        values = {
            "id": job.id,
            "target_id": job.target_id,
            "target_name": job.target_name,
            "spider": job.spider,
            "trigger": str(job.trigger),
            "state": str(job.state),
            "requested_by": job.requested_by,
            "schedule_id": job.schedule_id,
            "fire_time": job.fire_time,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "message": job.message,
            "errors": json.dumps(job.stats.errors),
            **{c: getattr(job.stats, c) for c in _STAT_COLUMNS},
        }
        with self._writer.begin() as conn:
            conn.execute(insert(crawl_jobs).values(**values))

    def get_job(self, job_id: str) -> CrawlJob | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(crawl_jobs).where(crawl_jobs.c.id == job_id)).first()
        return self._job(row) if row else None

    def list_jobs(
        self, *, target_id: int | None = None, state: JobState | None = None, limit: int = 50
    ) -> list[CrawlJob]:
        q = select(crawl_jobs).order_by(crawl_jobs.c.created_at.desc(), crawl_jobs.c.id.desc()).limit(limit)
        if target_id is not None:
            q = q.where(crawl_jobs.c.target_id == target_id)
        if state is not None:
            q = q.where(crawl_jobs.c.state == str(state))
        with self._reader.connect() as conn:
            return [self._job(r) for r in conn.execute(q)]

    def set_job_state(
        self, job_id: str, state: JobState, *, message: str | None = None, only_from: Sequence[JobState] = ()
    ) -> bool:
        values: dict[str, Any] = {"state": str(state)}
        now = _now()
        if state == JobState.RUNNING:
            values["started_at"] = now
        if state.final:
            values["finished_at"] = now
        if message is not None:
            values["message"] = message
        q = update(crawl_jobs).where(crawl_jobs.c.id == job_id)
        if only_from:
            q = q.where(crawl_jobs.c.state.in_([str(s) for s in only_from]))
        with self._writer.begin() as conn:
            return conn.execute(q.values(**values)).rowcount > 0

    def append_log(self, job_id: str, lines: Sequence[tuple[str, str]], *, keep: int = 2000) -> None:
        if not lines:
            return
        with self._writer.begin() as conn:
            have = conn.execute(
                select(func.count()).select_from(crawl_job_log).where(crawl_job_log.c.job_id == job_id)
            ).scalar_one()
            room = max(0, keep - int(have))
            if room:
                now = _now()
                conn.execute(
                    insert(crawl_job_log),
                    [{"job_id": job_id, "at": now, "level": lv, "message": msg[:4000]} for lv, msg in lines[:room]],
                )

    def job_log(self, job_id: str, *, limit: int = 200) -> list[JobLogLine]:
        c = crawl_job_log.c
        with self._reader.connect() as conn:
            rows = conn.execute(select(crawl_job_log).where(c.job_id == job_id).order_by(c.seq).limit(limit))
            return [JobLogLine(r.job_id, r.at, r.level, r.message) for r in rows]

    # -- frontier ledger -------------------------------------------------------------------------
    def enqueue(self, entries: Sequence[FrontierEntry]) -> list[FrontierEntry]:
        if not entries:
            return []
        out: list[FrontierEntry] = []
        by_job: dict[str, list[FrontierEntry]] = {}
        for e in entries:
            by_job.setdefault(e.job_id, []).append(e)
        with self._writer.begin() as conn:
            for job_id, group in by_job.items():
                for chunk in _chunks(group):
                    conn.execute(
                        self._insert_ignore(crawl_frontier),
                        [{"job_id": job_id, "key": e.key, "parent": e.parent, "done": False} for e in chunk],
                    )
                    owners = dict(
                        conn.execute(
                            select(crawl_frontier.c.key, crawl_frontier.c.parent).where(
                                crawl_frontier.c.job_id == job_id, crawl_frontier.c.key.in_([e.key for e in chunk])
                            )
                        ).all()
                    )
                    seen: set[str] = set()
                    for e in chunk:
                        if owners.get(e.key) == e.parent and e.key not in seen:
                            seen.add(e.key)
                            out.append(e)
        return out

    def complete(self, job_id: str, keys: Sequence[str], stats: JobStats) -> int:
        fresh = 0
        with self._writer.begin() as conn:
            if not self.is_sqlite:  # serialise stats of one job across workers
                conn.execute(select(crawl_jobs.c.id).where(crawl_jobs.c.id == job_id).with_for_update())
            f = crawl_frontier.c
            for chunk in _chunks(list(keys)):
                fresh += conn.execute(
                    update(crawl_frontier)
                    .where(f.job_id == job_id, f.key.in_(chunk), f.done.is_(False))
                    .values(done=True)
                ).rowcount
            if fresh or not keys:
                self._add_stats(conn, job_id, stats)
        return fresh

    @staticmethod
    def _add_stats(conn: Connection, job_id: str, stats: JobStats) -> None:
        row = conn.execute(select(crawl_jobs.c.errors).where(crawl_jobs.c.id == job_id)).first()
        if row is None:
            return
        errors = json.loads(row.errors or "{}")
        for kind, n in stats.errors.items():
            errors[kind] = errors.get(kind, 0) + n
        j = crawl_jobs.c
        conn.execute(
            update(crawl_jobs)
            .where(j.id == job_id)
            .values(errors=json.dumps(errors), **{c: getattr(j, c) + getattr(stats, c) for c in _STAT_COLUMNS})
        )

    def done_keys(self, job_id: str, keys: Sequence[str]) -> set[str]:
        f = crawl_frontier.c
        out: set[str] = set()
        with self._reader.connect() as conn:
            for chunk in _chunks(list(keys)):
                rows = conn.execute(select(f.key).where(f.job_id == job_id, f.key.in_(chunk), f.done.is_(True)))
                out.update(r.key for r in rows)
        return out

    def pending_count(self, job_id: str) -> int:
        f = crawl_frontier.c
        with self._reader.connect() as conn:
            q = select(func.count()).select_from(crawl_frontier).where(f.job_id == job_id, f.done.is_(False))
            return int(conn.execute(q).scalar_one())

    def frontier_count(self, job_id: str) -> int:
        with self._reader.connect() as conn:
            q = select(func.count()).select_from(crawl_frontier).where(crawl_frontier.c.job_id == job_id)
            return int(conn.execute(q).scalar_one())

    # -- alerts ----------------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> Alert:
        alert.at = alert.at or _now()
        with self._writer.begin() as conn:
            result = conn.execute(
                insert(crawl_alerts).values(
                    at=alert.at,
                    kind=alert.kind,
                    job_id=alert.job_id,
                    target_name=alert.target_name,
                    message=alert.message,
                    delivered=alert.delivered,
                )
            )
            alert.id = int(result.inserted_primary_key[0])
        return alert

    def set_alert_delivered(self, alert_id: int, delivered: str) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(crawl_alerts).where(crawl_alerts.c.id == alert_id).values(delivered=delivered))

    # -- takedown checks -------------------------------------------------------------------------
    def add_takedown_checks(self, checks: Sequence[TakedownCheck]) -> None:
        with self._writer.begin() as conn:
            for c in checks:
                result = conn.execute(
                    insert(crawl_takedown_checks).values(
                        lead_id=c.lead_id,
                        platform=c.platform,
                        listing_id=c.listing_id,
                        url=c.url,
                        outcome=str(c.outcome),
                        checked_at=c.checked_at,
                        job_id=c.job_id,
                        http_status=c.http_status,
                        relisted_id=c.relisted_id,
                        relisted_url=c.relisted_url,
                        similarity=c.similarity,
                        detail=c.detail,
                        case_ids=json.dumps(c.case_ids),
                    )
                )
                c.id = int(result.inserted_primary_key[0])

    def takedown_checks(self, lead_ids: Sequence[str], *, per_lead: int = 10) -> dict[str, list[TakedownCheck]]:
        t = crawl_takedown_checks.c
        out: dict[str, list[TakedownCheck]] = {}
        with self._reader.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(lead_ids))):
                rows = conn.execute(select(crawl_takedown_checks).where(t.lead_id.in_(chunk)).order_by(t.id.desc()))
                for r in rows:
                    found = out.setdefault(r.lead_id, [])
                    if len(found) < per_lead:
                        found.append(
                            TakedownCheck(
                                lead_id=r.lead_id,
                                platform=r.platform,
                                listing_id=r.listing_id,
                                url=r.url,
                                outcome=TakedownOutcome(r.outcome),
                                checked_at=r.checked_at,
                                job_id=r.job_id,
                                http_status=r.http_status,
                                relisted_id=r.relisted_id,
                                relisted_url=r.relisted_url,
                                similarity=r.similarity,
                                detail=r.detail,
                                case_ids=json.loads(r.case_ids or "[]"),
                                id=r.id,
                            )
                        )
        return out

    def list_alerts(self, *, limit: int = 50) -> list[Alert]:
        c = crawl_alerts.c
        with self._reader.connect() as conn:
            rows = conn.execute(select(crawl_alerts).order_by(c.id.desc()).limit(limit))
            return [Alert(r.kind, r.job_id, r.target_name, r.message, r.at, r.delivered, r.id) for r in rows]


def open_operations_store(settings: Settings | None = None) -> SqlOperationsStore:
    """The operations store beside people's state (`SWEEP_PEOPLE_URL`, default {data_dir}/people.sqlite)."""
    return SqlOperationsStore(people_url(settings or get_settings()))
