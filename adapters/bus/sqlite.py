"""Embedded Bus: an append-only message log in SQLite with consumer-group offsets.

It gives the same guarantees the pipeline relies on from Kafka — ordered per topic, durable once
`flush` returns, at-least-once delivery (a consumer that dies before `commit` sees the messages again) —
so `sweep demo` runs the production code paths with no server. Every topic has one partition (0);
offsets are the log's row ids, increasing but not necessarily contiguous, as Kafka's may be.
Several processes may share the file (WAL mode); members of one group are not balanced against each
other, which a laptop demo does not need.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from sweep.bus.base import Bus, BusConsumer, BusStatus, GroupLag, Message

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    offset INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT,
    value BLOB NOT NULL,
    headers BLOB,
    ts REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0)
);
CREATE INDEX IF NOT EXISTS messages_topic ON messages (topic, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp TEXT NOT NULL,
    topic TEXT NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);
"""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


class SqliteBus(Bus):
    AUTO_FLUSH = 1000
    """Buffered messages are written in one transaction at this size, bounding what a crash can lose
    to messages whose delivery was never confirmed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = _connect(self.path)
        self._buffer: list[tuple[str, str | None, bytes, bytes | None]] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._buffer.append((topic, key, value, orjson.dumps(headers) if headers else None))
            full = len(self._buffer) >= self.AUTO_FLUSH
        if full:
            self.flush()

    def flush(self, timeout_s: float = 60.0) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
            if not rows:
                return
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT INTO messages (topic, key, value, headers) VALUES (?, ?, ?, ?)", rows)

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        return SqliteConsumer(self.path, list(topics), group)

    def status(self, topics: Sequence[str]) -> BusStatus:
        """Counted from the messages table and the groups' next offsets (offsets are global, so a count
        of rows below a group's next offset is what it has committed)."""
        wanted = list(topics)
        marks = ",".join("?" * len(wanted))
        out = BusStatus(messages=dict.fromkeys(wanted, 0))
        if not wanted:
            return out
        with self._lock:
            for topic, n in self._conn.execute(
                f"SELECT topic, COUNT(*) FROM messages WHERE topic IN ({marks}) GROUP BY topic", wanted
            ):
                out.messages[topic] = n
            groups = self._conn.execute(
                f"SELECT grp, topic, next_offset FROM group_offsets WHERE topic IN ({marks}) ORDER BY grp, topic",
                wanted,
            ).fetchall()
            for group, topic, next_offset in groups:
                done = self._conn.execute(
                    "SELECT COUNT(*) FROM messages WHERE topic = ? AND offset < ?", (topic, next_offset)
                ).fetchone()[0]
                out.lags.append(GroupLag(group, topic, done, out.messages[topic] - done))
        return out

    def close(self) -> None:
        self.flush()
        self._conn.close()


class SqliteConsumer(BusConsumer):
    def __init__(self, path: Path, topics: list[str], group: str) -> None:
        self._conn = _connect(path)
        self.topics = topics
        self.group = group
        self._position: dict[str, int] = {}
        for topic in topics:
            row = self._conn.execute(
                "SELECT next_offset FROM group_offsets WHERE grp = ? AND topic = ?", (group, topic)
            ).fetchone()
            self._position[topic] = row[0] if row else 0

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        deadline = time.monotonic() + timeout_s
        while True:
            out: list[Message] = []
            for topic in self.topics:
                rows = self._conn.execute(
                    "SELECT offset, key, value, headers FROM messages WHERE topic = ? AND offset >= ? "
                    "ORDER BY offset LIMIT ?",
                    (topic, self._position[topic], max_records - len(out)),
                ).fetchall()
                for offset, key, value, headers in rows:
                    out.append(Message(topic, 0, offset, key, bytes(value), orjson.loads(headers) if headers else {}))
                if rows:
                    self._position[topic] = rows[-1][0] + 1
                if len(out) >= max_records:
                    break
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def commit(self, messages: Sequence[Message]) -> None:
        latest: dict[str, int] = {}
        for m in messages:
            latest[m.topic] = max(latest.get(m.topic, 0), m.offset + 1)
        if not latest:
            return
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO group_offsets (grp, topic, next_offset) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, topic) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
                [(self.group, topic, offset) for topic, offset in latest.items()],
            )

    def close(self) -> None:
        self._conn.close()
