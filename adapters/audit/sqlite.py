"""Embedded AuditLog: an append-only, hash-chained SQLite table, committed before `record` returns.

Each row stores the previous row's hash and its own (`sweep.audit.chain_hash`), so `verify_chain`
over `records()` shows a changed, removed or reordered row. Triggers refuse UPDATE and DELETE.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sweep.audit import GENESIS, AuditEvent, AuditLog, AuditRecord, chain_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    at_text TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    detail TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    source TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_resource ON audit (resource_id, seq);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_COLUMNS = (
    "seq, at_text, actor, role, action, resource_type, resource_id, allowed, detail, before, after, source, "
    "prev_hash, hash"
)


def _record(row: tuple[Any, ...]) -> AuditRecord:
    seq, at, actor, role, action, rtype, rid, ok, detail, before, after, source, prev_hash, digest = row
    event = AuditEvent(
        at=datetime.fromisoformat(at),
        actor=actor,
        role=role,
        action=action,
        resource_type=rtype,
        resource_id=rid,
        allowed=bool(ok),
        detail=detail,
        before=before,
        after=after,
        source=source,
    )
    return AuditRecord(seq=seq, event=event, prev_hash=prev_hash, hash=digest)


class SqliteAuditLog(AuditLog):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # an audit record must survive a power cut
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def record(self, event: AuditEvent) -> None:
        at = event.at.astimezone(UTC)
        event = AuditEvent(**{**{f: getattr(event, f) for f in AuditEvent.__dataclass_fields__}, "at": at})
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")  # the chain's tail is read and extended atomically
            row = self._conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev_hash = row[0] if row else GENESIS
            self._conn.execute(
                "INSERT INTO audit (at, at_text, actor, role, action, resource_type, resource_id, allowed, detail, "
                "before, after, source, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    at.timestamp(),
                    at.isoformat(),
                    event.actor,
                    event.role,
                    event.action,
                    event.resource_type,
                    event.resource_id,
                    int(event.allowed),
                    event.detail,
                    event.before,
                    event.after,
                    event.source,
                    prev_hash,
                    chain_hash(prev_hash, event),
                ),
            )

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> Sequence[AuditRecord]:
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("actor", actor), ("action", action), ("resource_id", resource_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(since.timestamp())
        sql = f"SELECT {_COLUMNS} FROM audit"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq DESC LIMIT ?"
        return [_record(row) for row in self._conn.execute(sql, [*args, limit]).fetchall()]

    def records(self, batch: int = 5000) -> Iterator[AuditRecord]:
        """Every record in chain order, in bounded pages (for `verify_chain` and export)."""
        last = 0
        while True:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield from (_record(row) for row in rows)

    def close(self) -> None:
        self._conn.close()
