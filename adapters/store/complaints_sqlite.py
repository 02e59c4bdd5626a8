"""Embedded ComplaintStore and SellerDirectory on SQLite (one file, `complaints.sqlite`).

The masked complaint is kept whole as JSON with columns beside it to filter, sort and count, and a
full-text table over CJK bigrams (`adapters.store.cjk`, as the lead store does). Personal data sits in
its own table, encrypted with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`): a copy of the file,
a backup or a `SELECT *` shows ciphertext only. The key is handed in by the opener (`adapters`), which
reads it from `SWEEP_PII_KEY`, or for the embedded development default from a key file it creates.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet

from adapters.store import cjk
from sweep.models import Complaint, ComplaintMatch, PersonalData
from sweep.store.base import UpsertStats
from sweep.store.complaints import (
    ComplaintAggregates,
    ComplaintQuery,
    ComplaintRecord,
    ComplaintSearchResult,
    ComplaintStore,
    Seller,
    SellerDirectory,
    aggregate_complaints,
    merge_seller,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (
    complaint_id TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    digest BLOB NOT NULL,
    platform TEXT,
    status TEXT,
    category_code TEXT,
    region TEXT,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS complaints_recent ON complaints (received_at DESC, complaint_id);
CREATE TABLE IF NOT EXISTS complaint_personal (
    complaint_id TEXT PRIMARY KEY,
    sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS complaint_keys (
    key TEXT NOT NULL,
    complaint_id TEXT NOT NULL,
    PRIMARY KEY (key, complaint_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS complaint_keys_by_id ON complaint_keys (complaint_id);
CREATE TABLE IF NOT EXISTS complaint_matches (
    complaint_id TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS complaints_fts USING fts5 (complaint_id UNINDEXED, body, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS sellers (
    key TEXT PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sellers_uscc ON sellers (json_extract(CAST(doc AS TEXT), '$.uscc'));
"""
_USCC_EXPR = "json_extract(CAST(doc AS TEXT), '$.uscc')"
"""A seller's USCC as `sellers_uscc` indexes it (a query must spell the expression the same way)."""

FACET_FIELDS = ("platform", "status", "category_code", "region")
MONTHS_SHOWN = 24
"""The `month` facet (YYYY-MM of received_at, newest first) counts at most this many months."""


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


class SqliteComplaintStore(ComplaintStore):
    def __init__(self, path: Path, key: bytes) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path)
        self._fernet = Fernet(key)
        self._lock = threading.Lock()

    # -- writes ---------------------------------------------------------------------------------
    def upsert(self, records: Iterable[ComplaintRecord]) -> UpsertStats:
        stats = UpsertStats()
        batch: dict[str, tuple[ComplaintRecord, bytes, bytes]] = {}
        for record in records:  # the last copy of an id in one batch wins, as it would row by row
            doc = record.complaint.model_dump_json(exclude_none=True).encode()
            keys = "\x1e".join(sorted(set(record.match_keys))).encode()
            digest = hashlib.blake2b(doc + b"\x00" + keys, digest_size=16).digest()
            batch[record.complaint.complaint_id] = (record, doc, digest)
        if not batch:
            return stats
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored: dict[str, bytes] = {}
            ids = list(batch)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                stored.update(
                    self._conn.execute(
                        f"SELECT complaint_id, digest FROM complaints WHERE complaint_id IN ({marks})", chunk
                    ).fetchall()
                )
            rows, sealed, keys, fts, replaced = [], [], [], [], []
            for cid, (record, doc, digest) in batch.items():
                if record.personal is not None:
                    sealed.append((cid, self._seal(record.personal)))
                old = stored.get(cid)
                if old == digest:
                    stats.unchanged += 1
                    continue
                if old is None:
                    stats.created += 1
                else:
                    stats.updated += 1
                    replaced.append((cid,))
                c = record.complaint
                rows.append(
                    (cid, doc, digest, c.platform, c.status, c.category_code, c.region, c.received_at.timestamp())
                )
                keys.extend((k, cid) for k in set(record.match_keys))
                fts.append((cid, cjk.index_text(c.text, c.shop_name, c.product, c.demand, c.category)))
            if replaced:
                self._conn.executemany("DELETE FROM complaint_keys WHERE complaint_id = ?", replaced)
                self._conn.executemany("DELETE FROM complaints_fts WHERE complaint_id = ?", replaced)
            self._conn.executemany(
                "INSERT INTO complaints (complaint_id, doc, digest, platform, status, category_code, region, "
                "received_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (complaint_id) DO UPDATE SET doc=excluded.doc, "
                "digest=excluded.digest, platform=excluded.platform, status=excluded.status, "
                "category_code=excluded.category_code, region=excluded.region, received_at=excluded.received_at",
                rows,
            )
            self._conn.executemany(
                "INSERT INTO complaint_personal (complaint_id, sealed) VALUES (?, ?) "
                "ON CONFLICT (complaint_id) DO UPDATE SET sealed = excluded.sealed",
                sealed,
            )
            self._conn.executemany("INSERT OR IGNORE INTO complaint_keys (key, complaint_id) VALUES (?, ?)", keys)
            self._conn.executemany("INSERT INTO complaints_fts (complaint_id, body) VALUES (?, ?)", fts)
        return stats

    def _seal(self, personal: PersonalData) -> bytes:
        return self._fernet.encrypt(personal.model_dump_json(exclude_none=True).encode())

    def put_personal(self, personal: Iterable[PersonalData]) -> None:
        sealed = [(p.complaint_id, self._seal(p)) for p in personal]
        if not sealed:
            return
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO complaint_personal (complaint_id, sealed) VALUES (?, ?) "
                "ON CONFLICT (complaint_id) DO UPDATE SET sealed = excluded.sealed",
                sealed,
            )

    def set_many_matches(self, by_id: dict[str, Sequence[ComplaintMatch]]) -> None:
        put = [
            (cid, orjson.dumps([m.model_dump(mode="json", exclude_none=True) for m in ms]))
            for cid, ms in by_id.items()
            if ms
        ]
        gone = [(cid,) for cid, ms in by_id.items() if not ms]
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO complaint_matches (complaint_id, doc) VALUES (?, ?) "
                "ON CONFLICT (complaint_id) DO UPDATE SET doc = excluded.doc",
                put,
            )
            self._conn.executemany("DELETE FROM complaint_matches WHERE complaint_id = ?", gone)

    # -- reads ----------------------------------------------------------------------------------
    def get(self, complaint_id: str) -> Complaint | None:
        row = self._conn.execute("SELECT doc FROM complaints WHERE complaint_id = ?", (complaint_id,)).fetchone()
        return Complaint.model_validate_json(row[0]) if row else None

    def get_many(self, complaint_ids: Sequence[str]) -> dict[str, Complaint]:
        out: dict[str, Complaint] = {}
        ids = list(complaint_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for cid, doc in self._conn.execute(
                f"SELECT complaint_id, doc FROM complaints WHERE complaint_id IN ({marks})", chunk
            ):
                out[cid] = Complaint.model_validate_json(doc)
        return out

    def personal_data(self, complaint_id: str) -> PersonalData | None:
        row = self._conn.execute(
            "SELECT sealed FROM complaint_personal WHERE complaint_id = ?", (complaint_id,)
        ).fetchone()
        return PersonalData.model_validate_json(self._fernet.decrypt(row[0])) if row else None

    def matches(self, complaint_ids: Sequence[str]) -> dict[str, list[ComplaintMatch]]:
        out: dict[str, list[ComplaintMatch]] = {}
        ids = list(complaint_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for cid, doc in self._conn.execute(
                f"SELECT complaint_id, doc FROM complaint_matches WHERE complaint_id IN ({marks})", chunk
            ):
                out[cid] = [ComplaintMatch.model_validate(m) for m in orjson.loads(doc)]
        return out

    def ids_by_keys(self, keys: Iterable[str], limit: int = 10_000) -> list[str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, None] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for (cid,) in self._conn.execute(
                f"SELECT DISTINCT complaint_id FROM complaint_keys WHERE key IN ({marks}) LIMIT ?", [*chunk, limit]
            ):
                found[cid] = None
                if len(found) >= limit:
                    return list(found)
        return list(found)

    def _filters(self, q: ComplaintQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for column, values in (("platform", q.platforms), ("status", q.statuses), ("category_code", q.category_codes)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if q.region_prefixes:
            where.append("(" + " OR ".join("substr(region, 1, ?) = ?" for _ in q.region_prefixes) + ")")
            for prefix in q.region_prefixes:
                args.extend([len(prefix), prefix])
        if q.received_from:
            where.append("received_at >= ?")
            args.append(q.received_from.timestamp())
        if q.received_to:
            where.append("received_at <= ?")
            args.append(q.received_to.timestamp())
        if q.matched is not None:
            exists = "EXISTS (SELECT 1 FROM complaint_matches m WHERE m.complaint_id = complaints.complaint_id)"
            where.append(exists if q.matched else f"NOT {exists}")
        if q.text:
            phrases = [p for word in q.text.split() if (p := cjk.fts_phrase(word))]
            if phrases:
                where.append("complaint_id IN (SELECT complaint_id FROM complaints_fts WHERE complaints_fts MATCH ?)")
                args.append(" AND ".join(phrases))
        return where, args

    def search(self, query: ComplaintQuery) -> ComplaintSearchResult:
        where, args = self._filters(query)
        base = " WHERE " + " AND ".join(where) if where else ""
        total = self._conn.execute(f"SELECT COUNT(*) FROM complaints{base}", args).fetchone()[0]
        facets = {}
        for name in FACET_FIELDS:
            rows = self._conn.execute(
                f"SELECT {name}, COUNT(*) FROM complaints{base} GROUP BY {name} ORDER BY COUNT(*) DESC LIMIT 50", args
            ).fetchall()
            facets[name] = {str(k): n for k, n in rows if k is not None}
        # months as the complaints' own clock reads them (received_at keeps its offset in the document)
        month = "substr(json_extract(CAST(doc AS TEXT), '$.received_at'), 1, 7)"
        rows = self._conn.execute(
            f"SELECT {month}, COUNT(*) FROM complaints{base} GROUP BY 1 ORDER BY 1 DESC LIMIT {MONTHS_SHOWN}", args
        ).fetchall()
        facets["month"] = {str(k): n for k, n in rows if k is not None}
        page_where, page_args = list(where), list(args)
        if query.cursor:
            ts, _, cid = query.cursor.partition("|")
            page_where.append("(received_at < ? OR (received_at = ? AND complaint_id > ?))")
            page_args.extend([float(ts), float(ts), cid])
        sql = "SELECT doc, received_at, complaint_id FROM complaints"
        sql += (
            " WHERE " + " AND ".join(page_where) if page_where else ""
        ) + " ORDER BY received_at DESC, complaint_id LIMIT ?"
        rows = self._conn.execute(sql, [*page_args, query.size]).fetchall()
        complaints = [Complaint.model_validate_json(r[0]) for r in rows]
        cursor = f"{rows[-1][1]!r}|{rows[-1][2]}" if len(rows) == query.size else None
        return ComplaintSearchResult(
            total=total,
            complaints=complaints,
            matches=self.matches([c.complaint_id for c in complaints]),
            facets=facets,
            next_cursor=cursor,
        )

    def aggregate(self, query: ComplaintQuery, *, top: int = 10) -> ComplaintAggregates:
        """One read of the matching records (the embedded store holds thousands, not millions)."""
        where, args = self._filters(query)
        base = " WHERE " + " AND ".join(where) if where else ""
        rows = self._conn.execute(f"SELECT doc FROM complaints{base}", args)
        return aggregate_complaints((Complaint.model_validate_json(doc) for (doc,) in rows), top=top)

    def iter_all(self, page_size: int = 1000) -> Iterator[list[Complaint]]:
        last = ""
        while True:
            rows = self._conn.execute(
                "SELECT complaint_id, doc FROM complaints WHERE complaint_id > ? ORDER BY complaint_id LIMIT ?",
                (last, page_size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [Complaint.model_validate_json(doc) for _, doc in rows]

    def count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM complaints").fetchone()[0]

    def close(self) -> None:
        self._conn.close()


def _seller_doc(s: Seller) -> bytes:
    return orjson.dumps(
        {
            "platform": s.platform,
            "shop_id": s.shop_id,
            "name": s.name,
            "company": s.company,
            "uscc": s.uscc,
            "region": s.region,
            "urls": s.urls,
            "lead_ids": s.lead_ids,
        }
    )


def _seller(doc: bytes) -> Seller:
    return Seller(**orjson.loads(doc))


class SqliteSellerDirectory(SellerDirectory):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = _connect(self.path)
        self._lock = threading.Lock()

    def observe(self, sellers: Iterable[Seller]) -> list[Seller]:
        merged: dict[str, Seller] = {}
        for s in sellers:
            seen = merged.get(s.key)
            merged[s.key] = s if seen is None else merge_seller(seen, s)
        if not merged:
            return []
        changed: list[Seller] = []
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            keys = list(merged)
            stored: dict[str, Seller] = {}
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, doc in self._conn.execute(f"SELECT key, doc FROM sellers WHERE key IN ({marks})", chunk):
                    stored[key] = _seller(doc)
            writes = []
            for key, obs in merged.items():
                old = stored.get(key)
                new = obs if old is None else merge_seller(old, obs)
                if old is None or new != old:
                    changed.append(new)
                    writes.append((key, _seller_doc(new)))
            self._conn.executemany(
                "INSERT INTO sellers (key, doc) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET doc = excluded.doc",
                writes,
            )
        return changed

    def get(self, platform: str, shop_id: str) -> Seller | None:
        row = self._conn.execute("SELECT doc FROM sellers WHERE key = ?", (f"{platform}\x1f{shop_id}",)).fetchone()
        return _seller(row[0]) if row else None

    def iter_all(self, page_size: int = 5000) -> Iterator[list[Seller]]:
        last = ""
        while True:
            rows = self._conn.execute(
                "SELECT key, doc FROM sellers WHERE key > ? ORDER BY key LIMIT ?", (last, page_size)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [_seller(doc) for _, doc in rows]

    def count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM sellers").fetchone()[0]

    def with_uscc(self, uscc: str, limit: int = 200) -> list[Seller]:
        """From the expression index on the document's `uscc` (`sellers_uscc`)."""
        rows = self._conn.execute(f"SELECT doc FROM sellers WHERE {_USCC_EXPR} = ? ORDER BY key LIMIT ?", (uscc, limit))
        return [_seller(doc) for (doc,) in rows]

    def close(self) -> None:
        self._conn.close()
