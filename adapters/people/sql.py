"""The PeopleStore port on a relational database through SQLAlchemy Core: SQLite embedded, PostgreSQL in
production (the same statements; dialect differences are confined to locking and triggers here).

Every change commits together with its audit records. The audit table is append-only in the database
itself (triggers refuse UPDATE and DELETE) and hash-chained: each record stores the previous record's
hash, and `prev_hash` is UNIQUE, so two writers can never fork the chain. Appends are serialised by
the write transaction (SQLite `BEGIN IMMEDIATE`) or a transaction-scoped advisory lock (PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from sweep.audit import GENESIS, AuditEvent, AuditRecord, chain_hash
from sweep.casework import (
    CASE_TRANSITIONS,
    Attachment,
    Case,
    CaseNote,
    CaseStatus,
    Decision,
    Dismissal,
    DismissalScope,
    Job,
    PeopleStore,
    SavedSearch,
    Session,
    User,
    VersionConflict,
)

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_ADVISORY_LOCK = 0x5357_4550  # "SWEP": serialises audit appends on PostgreSQL


class UtcTime(TypeDecorator):
    """UTC times as fixed-width ISO text: exact (the audit hash covers them), ordered as text, and the
    same on SQLite and PostgreSQL."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime(_TIME_FORMAT)

    def process_result_value(self, value: str | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)


metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(32), nullable=False),
    Column("jurisdiction", String(6), nullable=False),
    Column("display_name", String(128), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", UtcTime),
    Column("token_hash", String(64), unique=True),
    Column("created_at", UtcTime),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("expires_at", UtcTime, nullable=False),
    Column("idle_until", UtcTime, nullable=False),
    Column("source", String(128), nullable=False, default=""),
)

decisions = Table(
    "decisions",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("assignee", String(64)),
    Column("note", Text),
    Column("version", Integer, nullable=False),
    Column("updated_by", String(64)),
    Column("updated_at", UtcTime),
    Column("region", String(256)),
    Column("pending", Boolean, nullable=False, default=False),
    Index("decisions_assignee", "assignee", "updated_at"),
    Index("decisions_pending", "pending"),
)

dismissals = Table(
    "dismissals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),
    Column("platform", String(64), nullable=False),
    Column("listing_id", String(256)),
    Column("shop_id", String(256)),
    Column("shop_name", String(256)),
    Column("rule_id", String(128)),
    Column("family", String(64)),
    Column("until", UtcTime),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("region", String(256)),
    Column("source_lead", String(64)),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("suppressed", Integer, nullable=False, default=0),
)

suppressed = Table(
    "suppressed",
    metadata,
    Column("dismissal_id", Integer, ForeignKey("dismissals.id"), primary_key=True),
    Column("lead_id", String(64), primary_key=True),
    Column("at", UtcTime, nullable=False),
)

markers = Table(
    "markers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(32), unique=True, nullable=False),
    Column("title", String(256), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("region", String(6), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_date", UtcTime),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("merged_into", Integer),
)

case_leads = Table(
    "case_leads",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("lead_id", String(64), primary_key=True),
    Index("case_leads_lead", "lead_id"),
)

case_notes = Table(
    "case_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("author", String(64), nullable=False),
    Column("at", UtcTime, nullable=False),
    Column("text", Text, nullable=False),
)

case_complaints = Table(
    "case_complaints",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("complaint_id", String(256), primary_key=True),
    Index("case_complaints_complaint", "complaint_id"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(256), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", Integer, nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("uploaded_at", UtcTime, nullable=False),
    Index("attachments_case", "case_id", "id"),
)

saved_searches = Table(
    "saved_searches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("query", Text, nullable=False),
    Column("shared", Boolean, nullable=False, default=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("created_at", UtcTime),
    Column("finished_at", UtcTime),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("resource_id", String(256), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("source", String(128), nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False),
    Index("audit_resource", "resource_id", "seq"),
    Index("audit_actor", "actor", "seq"),
    Index("audit_action", "action", "seq"),
    sqlite_autoincrement=True,
)

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
)
_PG_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION sweep_audit_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_append_only ON audit",
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION sweep_audit_append_only()",
)


def _now() -> datetime:
    return datetime.now(UTC)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    """pysqlite's own transaction handling is off so that SQLAlchemy's BEGIN is the one that counts:
    IMMEDIATE for the writer (takes the write lock up front, so read-check-write is atomic across
    processes), deferred for readers (WAL lets them run beside a writer)."""
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an audit record survives a power cut
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class SqlPeopleStore(PeopleStore):
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, immediate=True)
            self._reader = _sqlite_engine(url, immediate=False)
        else:
            self._writer = self._reader = create_engine(url, pool_pre_ping=True)
        self._local = threading.local()
        self._create()

    def _create(self) -> None:
        with self._writer.begin() as conn:
            metadata.create_all(conn)
            for statement in _SQLITE_TRIGGERS if self.is_sqlite else _PG_TRIGGERS:
                conn.exec_driver_sql(statement)

    def close(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    # -- audit ---------------------------------------------------------------------------------
    def _append(self, conn: Connection, events: Sequence[AuditEvent]) -> None:
        if not events:
            return
        if not self.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
        prev = conn.execute(select(audit.c.hash).order_by(audit.c.seq.desc()).limit(1)).scalar() or GENESIS
        rows = []
        for e in events:
            digest = chain_hash(prev, e)
            rows.append(
                {
                    "at": e.at,
                    "actor": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "resource_type": e.resource_type,
                    "resource_id": e.resource_id,
                    "allowed": e.allowed,
                    "detail": e.detail,
                    "before": e.before,
                    "after": e.after,
                    "source": e.source,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        for start in range(0, len(rows), 1000):
            conn.execute(insert(audit), rows[start : start + 1000])

    def record(self, event: AuditEvent) -> None:
        with self._writer.begin() as conn:
            self._append(conn, [event])

    @staticmethod
    def _audit_record(row: Any) -> AuditRecord:
        return AuditRecord(
            seq=row.seq,
            event=AuditEvent(
                actor=row.actor,
                role=row.role,
                action=row.action,
                resource_type=row.resource_type,
                resource_id=row.resource_id,
                at=row.at,
                allowed=row.allowed,
                detail=row.detail,
                before=row.before,
                after=row.after,
                source=row.source,
            ),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    def audit_search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_id: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        q = select(audit)
        if actor:
            q = q.where(audit.c.actor == actor)
        if action:
            q = q.where(audit.c.action.startswith(action, autoescape=True))
        if resource_id:
            q = q.where(audit.c.resource_id == resource_id)
        if text:
            like = f"%{text}%"
            q = q.where(
                or_(
                    audit.c.detail.like(like),
                    audit.c.before.like(like),
                    audit.c.after.like(like),
                    audit.c.resource_id.like(like),
                )
            )
        if since:
            q = q.where(audit.c.at >= since)
        if until:
            q = q.where(audit.c.at < until)
        if before_seq:
            q = q.where(audit.c.seq < before_seq)
        q = q.order_by(audit.c.seq.desc()).limit(limit)
        with self._reader.connect() as conn:
            return [self._audit_record(r) for r in conn.execute(q)]

    def audit_records(self, *, after_seq: int = 0, batch: int = 5000) -> Iterator[AuditRecord]:
        last = after_seq
        while True:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    select(audit).where(audit.c.seq > last).order_by(audit.c.seq).limit(batch)
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield self._audit_record(r)
            last = rows[-1].seq

    def audit_count(self, *, action: str | None = None) -> int:
        q = select(func.count()).select_from(audit)
        if action:
            q = q.where(audit.c.action == action)
        with self._reader.connect() as conn:
            return conn.execute(q).scalar_one()

    # -- users and sessions --------------------------------------------------------------------
    @staticmethod
    def _user(row: Any) -> User:
        return User(**{k: getattr(row, k) for k in _names(users)})

    def add_user(self, user: User, audit_event: AuditEvent) -> None:
        values = {k: getattr(user, k) for k in _names(users)}
        values["created_at"] = values["created_at"] or _now()
        with self._writer.begin() as conn:
            conn.execute(insert(users).values(**values))
            self._append(conn, [audit_event])

    def update_user(self, username: str, changes: dict[str, Any], audit_event: AuditEvent | None) -> None:
        with self._writer.begin() as conn:
            result = conn.execute(update(users).where(users.c.username == username).values(**changes))
            if result.rowcount != 1:
                raise KeyError(username)
            if "password_hash" in changes or changes.get("active") is False:
                conn.execute(delete(sessions).where(sessions.c.username == username))
            if audit_event is not None:
                self._append(conn, [audit_event])

    def get_user(self, username: str) -> User | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return self._user(row) if row else None

    def list_users(self) -> list[User]:
        with self._reader.connect() as conn:
            return [self._user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def user_by_token(self, token_hash: str) -> User | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(users).where(users.c.token_hash == token_hash)).first()
        return self._user(row) if row else None

    def login_failed(self, username: str, now: datetime, max_failures: int, lockout_until: datetime) -> User | None:
        with self._writer.begin() as conn:
            row = conn.execute(select(users).where(users.c.username == username).with_for_update()).first()
            if row is None:
                return None
            failures = row.failed_logins + 1
            changes: dict[str, Any] = {"failed_logins": failures}
            if failures >= max_failures:
                changes |= {"locked_until": lockout_until, "failed_logins": 0}
            conn.execute(update(users).where(users.c.username == username).values(**changes))
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return self._user(row)

    def create_session(self, session: Session, audit_event: AuditEvent) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(sessions).values(**{k: getattr(session, k) for k in _names(sessions)}))
            conn.execute(
                update(users).where(users.c.username == session.username).values(failed_logins=0, locked_until=None)
            )
            self._append(conn, [audit_event])

    def get_session(self, token_hash: str) -> Session | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.token_hash == token_hash)).first()
        return Session(**{k: getattr(row, k) for k in _names(sessions)}) if row else None

    def touch_session(self, token_hash: str, idle_until: datetime) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(idle_until=idle_until))

    def delete_session(self, token_hash: str, audit_event: AuditEvent | None) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))
            if audit_event is not None:
                self._append(conn, [audit_event])

    def purge_sessions(self, now: datetime) -> int:
        with self._writer.begin() as conn:
            return conn.execute(
                delete(sessions).where(or_(sessions.c.expires_at < now, sessions.c.idle_until < now))
            ).rowcount

    # -- decisions -----------------------------------------------------------------------------
    @staticmethod
    def _decision(row: Any) -> Decision:
        return Decision(**{k: getattr(row, k) for k in _names(decisions)})

    def decisions(self, lead_ids: Sequence[str]) -> dict[str, Decision]:
        found: dict[str, Decision] = {}
        with self._reader.connect() as conn:
            for start in range(0, len(lead_ids), 500):
                chunk = list(lead_ids[start : start + 500])
                for row in conn.execute(select(decisions).where(decisions.c.lead_id.in_(chunk))):
                    found[row.lead_id] = self._decision(row)
        return found

    def decide(
        self, new: Sequence[Decision], audit_events: Sequence[AuditEvent], *, check_versions: bool = True
    ) -> list[Decision]:
        now = _now()
        written: list[Decision] = []
        try:
            with self._writer.begin() as conn:
                current: dict[str, Any] = {}
                ids = [d.lead_id for d in new]
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    rows = conn.execute(
                        select(decisions).where(decisions.c.lead_id.in_(chunk)).with_for_update()
                    ).fetchall()
                    current.update({r.lead_id: r for r in rows})
                inserts, updates = [], []
                for d in new:
                    row = current.get(d.lead_id)
                    version = row.version if row else 0
                    if check_versions and version != d.version:
                        raise VersionConflict(
                            d.lead_id, version, row.updated_by if row else None, row.updated_at if row else None
                        )
                    values = {
                        "lead_id": d.lead_id,
                        "status": d.status,
                        "assignee": d.assignee,
                        "note": d.note,
                        "version": version + 1,
                        "updated_by": d.updated_by,
                        "updated_at": d.updated_at or now,
                        "region": d.region,
                        "pending": True,
                    }
                    (updates if row else inserts).append(values)
                    written.append(Decision(**values))
                if inserts:
                    conn.execute(insert(decisions), inserts)
                for values in updates:
                    conn.execute(update(decisions).where(decisions.c.lead_id == values["lead_id"]).values(**values))
                self._append(conn, audit_events)
        except IntegrityError as exc:  # a concurrent first decision on the same lead
            raise VersionConflict(new[0].lead_id if new else "?", -1, None, None) from exc
        return written

    def applied(self, lead_ids: Sequence[str]) -> None:
        with self._writer.begin() as conn:
            for start in range(0, len(lead_ids), 500):
                chunk = list(lead_ids[start : start + 500])
                conn.execute(update(decisions).where(decisions.c.lead_id.in_(chunk)).values(pending=False))

    def pending_decisions(self, limit: int = 1000) -> list[Decision]:
        with self._reader.connect() as conn:
            rows = conn.execute(select(decisions).where(decisions.c.pending.is_(True)).limit(limit)).fetchall()
        return [self._decision(r) for r in rows]

    def assigned_to(self, username: str, *, offset: int = 0, limit: int = 50) -> tuple[int, list[str]]:
        with self._reader.connect() as conn:
            total = conn.execute(
                select(func.count()).select_from(decisions).where(decisions.c.assignee == username)
            ).scalar_one()
            ids = conn.execute(
                select(decisions.c.lead_id)
                .where(decisions.c.assignee == username)
                .order_by(decisions.c.updated_at.desc(), decisions.c.lead_id)
                .offset(offset)
                .limit(limit)
            ).scalars()
            return total, list(ids)

    def assignee_counts(self, lead_ids: Sequence[str] | None = None) -> dict[str, int]:
        q = select(decisions.c.assignee, func.count()).where(decisions.c.assignee.is_not(None))
        if lead_ids is not None:
            q = q.where(decisions.c.lead_id.in_(list(lead_ids)))
        with self._reader.connect() as conn:
            return {a: n for a, n in conn.execute(q.group_by(decisions.c.assignee))}

    # -- dismissals ----------------------------------------------------------------------------
    @staticmethod
    def _dismissal(row: Any) -> Dismissal:
        values = {k: getattr(row, k) for k in _names(dismissals)}
        values["scope"] = DismissalScope(values["scope"])
        return Dismissal(**values)

    def add_dismissal(self, dismissal: Dismissal, audit_event: AuditEvent) -> Dismissal:
        values = {k: getattr(dismissal, k) for k in _names(dismissals) if k != "id"}
        values["scope"] = dismissal.scope.value
        with self._writer.begin() as conn:
            new_id = conn.execute(insert(dismissals).values(**values)).inserted_primary_key[0]
            self._append(conn, [audit_event])
        dismissal.id = new_id
        return dismissal

    def dismissals(self, *, active_at: datetime | None = None) -> list[Dismissal]:
        q = select(dismissals).order_by(dismissals.c.id.desc())
        if active_at is not None:
            q = q.where(or_(dismissals.c.until.is_(None), dismissals.c.until > active_at))
        with self._reader.connect() as conn:
            return [self._dismissal(r) for r in conn.execute(q)]

    def count_suppressed(self, dismissal_id: int, lead_ids: Sequence[str]) -> None:
        now = _now()
        with self._writer.begin() as conn:
            known = set(
                conn.execute(
                    select(suppressed.c.lead_id).where(
                        suppressed.c.dismissal_id == dismissal_id, suppressed.c.lead_id.in_(list(lead_ids))
                    )
                ).scalars()
            )
            fresh = [i for i in dict.fromkeys(lead_ids) if i not in known]
            if fresh:
                conn.execute(
                    insert(suppressed), [{"dismissal_id": dismissal_id, "lead_id": i, "at": now} for i in fresh]
                )
                conn.execute(
                    update(dismissals)
                    .where(dismissals.c.id == dismissal_id)
                    .values(suppressed=dismissals.c.suppressed + len(fresh))
                )

    def get_marker(self, name: str) -> str | None:
        with self._reader.connect() as conn:
            return conn.execute(select(markers.c.value).where(markers.c.name == name)).scalar()

    def set_marker(self, name: str, value: str) -> None:
        with self._writer.begin() as conn:
            if conn.execute(update(markers).where(markers.c.name == name).values(value=value)).rowcount == 0:
                conn.execute(insert(markers).values(name=name, value=value))

    # -- cases ---------------------------------------------------------------------------------
    def _next_number(self, conn: Connection, year: int) -> str:
        """One atomic upsert: concurrent first cases of a year cannot both insert the counter (a
        SELECT … FOR UPDATE locks nothing while the row does not exist yet)."""
        value = conn.execute(
            text(
                "INSERT INTO counters (name, value) VALUES (:name, 1) "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
            ),
            {"name": f"case-{year}"},
        ).scalar_one()
        return f"{year}-{value:05d}"

    def _load_case(self, conn: Connection, case_id: int) -> Case | None:
        row = conn.execute(select(cases).where(cases.c.id == case_id)).first()
        if row is None:
            return None
        values = {k: getattr(row, k) for k in _names(cases)}
        values["status"] = CaseStatus(values["status"])
        case = Case(**values)
        case.lead_ids = list(
            conn.execute(
                select(case_leads.c.lead_id).where(case_leads.c.case_id == case_id).order_by(case_leads.c.lead_id)
            ).scalars()
        )
        case.notes = [
            CaseNote(author=r.author, at=r.at, text=r.text)
            for r in conn.execute(select(case_notes).where(case_notes.c.case_id == case_id).order_by(case_notes.c.id))
        ]
        case.complaint_ids = list(
            conn.execute(
                select(case_complaints.c.complaint_id)
                .where(case_complaints.c.case_id == case_id)
                .order_by(case_complaints.c.complaint_id)
            ).scalars()
        )
        return case

    def create_case(self, case: Case, audit_events: Sequence[AuditEvent]) -> Case:
        with self._writer.begin() as conn:
            number = self._next_number(conn, case.created_at.year)
            case_id = conn.execute(
                insert(cases).values(
                    number=number,
                    title=case.title,
                    owner=case.owner,
                    region=case.region,
                    status=case.status.value,
                    due_date=case.due_date,
                    created_by=case.created_by,
                    created_at=case.created_at,
                    version=1,
                )
            ).inserted_primary_key[0]
            if case.lead_ids:
                conn.execute(
                    insert(case_leads), [{"case_id": case_id, "lead_id": i} for i in dict.fromkeys(case.lead_ids)]
                )
            events = [
                AuditEvent(
                    **{
                        **_event_fields(e),
                        "resource_id": e.resource_id or str(case_id),
                        "detail": e.detail.replace("{number}", number),
                    }
                )
                for e in audit_events
            ]
            self._append(conn, events)
            created = self._load_case(conn, case_id)
        assert created is not None
        return created

    def get_case(self, case_id: int) -> Case | None:
        with self._reader.connect() as conn:
            return self._load_case(conn, case_id)

    def list_cases(self, *, regions: Sequence[str] | None = None, limit: int = 200) -> list[Case]:
        q = select(cases.c.id).where(cases.c.merged_into.is_(None)).order_by(cases.c.id.desc()).limit(limit)
        with self._reader.connect() as conn:
            ids = list(conn.execute(q).scalars())
            found = [c for i in ids if (c := self._load_case(conn, i)) is not None]
        if regions is not None:
            found = [c for c in found if any(c.region.startswith(p) for p in regions)]
        return found

    def update_case(self, case_id: int, version: int, changes: dict[str, Any], audit_event: AuditEvent) -> Case:
        with self._writer.begin() as conn:
            row = conn.execute(select(cases).where(cases.c.id == case_id).with_for_update()).first()
            if row is None:
                raise KeyError(case_id)
            if row.version != version:
                raise VersionConflict(str(case_id), row.version, None, None)
            moving = "status" in changes and changes["status"] != row.status
            if moving and changes["status"] not in CASE_TRANSITIONS[row.status]:
                raise ValueError(
                    f"case {row.number}: {row.status} -> {changes['status']} is not a step of the procedure"
                )
            values = {k: (v.value if isinstance(v, CaseStatus) else v) for k, v in changes.items()}
            conn.execute(update(cases).where(cases.c.id == case_id).values(**values, version=row.version + 1))
            self._append(conn, [audit_event])
            case = self._load_case(conn, case_id)
        assert case is not None
        return case

    def add_case_note(self, case_id: int, note: CaseNote, audit_event: AuditEvent) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(case_notes).values(case_id=case_id, author=note.author, at=note.at, text=note.text))
            conn.execute(update(cases).where(cases.c.id == case_id).values(version=cases.c.version + 1))
            self._append(conn, [audit_event])

    def link_leads(
        self,
        case_id: int,
        lead_ids: Sequence[str],
        audit_event: AuditEvent | Sequence[AuditEvent],
        *,
        unlink: bool = False,
    ) -> None:
        with self._writer.begin() as conn:
            have = set(conn.execute(select(case_leads.c.lead_id).where(case_leads.c.case_id == case_id)).scalars())
            if unlink:
                gone = [i for i in lead_ids if i in have]
                if gone:
                    conn.execute(
                        delete(case_leads).where(case_leads.c.case_id == case_id, case_leads.c.lead_id.in_(gone))
                    )
            else:
                fresh = [i for i in dict.fromkeys(lead_ids) if i not in have]
                if fresh:
                    conn.execute(insert(case_leads), [{"case_id": case_id, "lead_id": i} for i in fresh])
            conn.execute(update(cases).where(cases.c.id == case_id).values(version=cases.c.version + 1))
            self._append(conn, [audit_event] if isinstance(audit_event, AuditEvent) else list(audit_event))

    def cases_of_lead(self, lead_id: str) -> list[Case]:
        with self._reader.connect() as conn:
            ids = list(conn.execute(select(case_leads.c.case_id).where(case_leads.c.lead_id == lead_id)).scalars())
            return [c for i in ids if (c := self._load_case(conn, i)) is not None]

    def merge_cases(self, target_id: int, source_id: int, audit_event: AuditEvent) -> Case:
        with self._writer.begin() as conn:
            source = self._load_case(conn, source_id)
            target = self._load_case(conn, target_id)
            if source is None or target is None or source_id == target_id:
                raise KeyError(source_id if source is None else target_id)
            fresh = [i for i in source.lead_ids if i not in set(target.lead_ids)]
            if fresh:
                conn.execute(insert(case_leads), [{"case_id": target_id, "lead_id": i} for i in fresh])
            conn.execute(delete(case_leads).where(case_leads.c.case_id == source_id))
            moving = [i for i in source.complaint_ids if i not in set(target.complaint_ids)]
            if moving:
                conn.execute(insert(case_complaints), [{"case_id": target_id, "complaint_id": i} for i in moving])
            conn.execute(delete(case_complaints).where(case_complaints.c.case_id == source_id))
            conn.execute(
                update(cases)
                .where(cases.c.id == source_id)
                .values(merged_into=target_id, status=CaseStatus.closed.value, version=cases.c.version + 1)
            )
            conn.execute(update(cases).where(cases.c.id == target_id).values(version=cases.c.version + 1))
            self._append(conn, [audit_event])
            merged = self._load_case(conn, target_id)
        assert merged is not None
        return merged

    # -- saved searches, jobs ------------------------------------------------------------------
    # -- attachments and complaints of cases ----------------------------------------------------
    def add_attachment(self, attachment: Attachment, audit_event: AuditEvent) -> Attachment:
        with self._writer.begin() as conn:
            values = {k: getattr(attachment, k) for k in _names(attachments) if k != "id"}
            attachment_id = conn.execute(insert(attachments).values(**values)).inserted_primary_key[0]
            conn.execute(update(cases).where(cases.c.id == attachment.case_id).values(version=cases.c.version + 1))
            self._append(conn, [audit_event])
        return Attachment(**{**values, "id": attachment_id})

    def attachments(self, case_id: int) -> list[Attachment]:
        with self._reader.connect() as conn:
            rows = conn.execute(select(attachments).where(attachments.c.case_id == case_id).order_by(attachments.c.id))
            return [Attachment(**{k: getattr(r, k) for k in _names(attachments)}) for r in rows]

    def get_attachment(self, attachment_id: int) -> Attachment | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
            return Attachment(**{k: getattr(row, k) for k in _names(attachments)}) if row else None

    def link_complaints(
        self, case_id: int, complaint_ids: Sequence[str], audit_event: AuditEvent, *, unlink: bool = False
    ) -> None:
        with self._writer.begin() as conn:
            have = set(
                conn.execute(
                    select(case_complaints.c.complaint_id).where(case_complaints.c.case_id == case_id)
                ).scalars()
            )
            if unlink:
                gone = [i for i in complaint_ids if i in have]
                if gone:
                    conn.execute(
                        delete(case_complaints).where(
                            case_complaints.c.case_id == case_id, case_complaints.c.complaint_id.in_(gone)
                        )
                    )
            else:
                fresh = [i for i in dict.fromkeys(complaint_ids) if i not in have]
                if fresh:
                    conn.execute(insert(case_complaints), [{"case_id": case_id, "complaint_id": i} for i in fresh])
            conn.execute(update(cases).where(cases.c.id == case_id).values(version=cases.c.version + 1))
            self._append(conn, [audit_event])

    def cases_of_complaint(self, complaint_id: str) -> list[Case]:
        with self._reader.connect() as conn:
            ids = list(
                conn.execute(
                    select(case_complaints.c.case_id).where(case_complaints.c.complaint_id == complaint_id)
                ).scalars()
            )
            return [c for i in ids if (c := self._load_case(conn, i)) is not None]

    def save_search(self, search: SavedSearch, audit_event: AuditEvent) -> SavedSearch:
        with self._writer.begin() as conn:
            search.id = conn.execute(
                insert(saved_searches).values(
                    owner=search.owner, name=search.name, query=search.query, shared=search.shared
                )
            ).inserted_primary_key[0]
            self._append(conn, [audit_event])
        return search

    def saved_searches(self, username: str) -> list[SavedSearch]:
        q = (
            select(saved_searches)
            .where(or_(saved_searches.c.owner == username, saved_searches.c.shared.is_(True)))
            .order_by(saved_searches.c.name)
        )
        with self._reader.connect() as conn:
            return [SavedSearch(**{k: getattr(r, k) for k in _names(saved_searches)}) for r in conn.execute(q)]

    def create_job(self, job: Job) -> None:
        with self._writer.begin() as conn:
            conn.execute(insert(jobs).values(**{k: getattr(job, k) for k in _names(jobs)}))

    def update_job(self, job_id: str, **changes: Any) -> None:
        with self._writer.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**changes))

    def get_job(self, job_id: str) -> Job | None:
        with self._reader.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return Job(**{k: getattr(row, k) for k in _names(jobs)}) if row else None


def _names(table: Table) -> list[str]:
    return [column.name for column in table.columns]


def _event_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AuditEvent.__dataclass_fields__}
