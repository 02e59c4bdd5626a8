"""Embedded LeadStore on SQLite: upsert by lead id, CJK full-text search (FTS5 over bigrams), facets.

The lead document is kept whole as JSON; the columns beside it exist only to filter, sort and count.
Detection updates go through `Lead.sighted` (the same merge the search-engine backends use), so a
replayed sighting changes nothing and triage fields are never touched by detection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.store import cjk
from sweep.models import SEVERITY_RANK, Lead, LeadEvent, Listing, TriageStatus
from sweep.store.base import LeadQuery, LeadSearchResult, LeadStore, UpsertStats

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    lead_id TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    family TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    platform TEXT NOT NULL,
    region TEXT,
    shop_id TEXT,
    shop_name TEXT,
    neg_severity INTEGER NOT NULL,
    neg_times_seen INTEGER NOT NULL,
    neg_last_seen REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS leads_recent ON leads (neg_last_seen, lead_id);
CREATE INDEX IF NOT EXISTS leads_priority ON leads (neg_severity, neg_times_seen, neg_last_seen, lead_id);
CREATE INDEX IF NOT EXISTS leads_family ON leads (family);
CREATE VIRTUAL TABLE IF NOT EXISTS leads_fts USING fts5 (lead_id UNINDEXED, body, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS listings (
    key TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    crawled_at TEXT
);
"""

FACET_FIELDS = ("family", "severity", "status", "platform", "region")
SORT_KEYS = {
    "recent": ("neg_last_seen", "lead_id"),
    "priority": ("neg_severity", "neg_times_seen", "neg_last_seen", "lead_id"),
}


def _ts(value: datetime) -> float:
    return value.timestamp()


class SqliteLeadStore(LeadStore):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    # -- writes ---------------------------------------------------------------------------------
    def apply_events(self, events: Iterable[LeadEvent]) -> UpsertStats:
        stats = UpsertStats()
        pending: dict[str, Lead] = {}
        origin: dict[str, str] = {}  # lead_id -> "created" | "existing"
        events = list(events)
        if not events:
            return stats
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            ids = list({e.lead_id for e in events})
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                marks = ",".join("?" * len(chunk))
                for lead_id, doc in self._conn.execute(
                    f"SELECT lead_id, doc FROM leads WHERE lead_id IN ({marks})", chunk
                ):
                    pending[lead_id] = Lead.model_validate_json(doc)
                    origin[lead_id] = "existing"
            changed: set[str] = set()
            for event in events:
                current = pending.get(event.lead_id)
                if current is None:
                    pending[event.lead_id] = Lead.from_event(event)
                    origin[event.lead_id] = "created"
                    changed.add(event.lead_id)
                    stats.created += 1
                    continue
                updated = current.sighted(event)
                if updated is current:
                    stats.unchanged += 1
                else:
                    pending[event.lead_id] = updated
                    changed.add(event.lead_id)
                    if origin[event.lead_id] == "existing":
                        stats.updated += 1
            for lead_id in changed:
                self._write(pending[lead_id])
        return stats

    def _write(self, lead: Lead) -> None:
        doc = lead.model_dump_json().encode()
        self._conn.execute(
            "INSERT INTO leads (lead_id, doc, family, severity, status, platform, region, shop_id, shop_name, "
            "neg_severity, neg_times_seen, neg_last_seen, last_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (lead_id) DO UPDATE SET doc=excluded.doc, family=excluded.family, "
            "severity=excluded.severity, status=excluded.status, platform=excluded.platform, "
            "region=excluded.region, shop_id=excluded.shop_id, shop_name=excluded.shop_name, "
            "neg_severity=excluded.neg_severity, neg_times_seen=excluded.neg_times_seen, "
            "neg_last_seen=excluded.neg_last_seen, last_seen=excluded.last_seen",
            (
                lead.lead_id,
                doc,
                lead.family,
                lead.severity,
                lead.status.value,
                lead.platform,
                lead.listing.region,
                lead.listing.shop_id,
                lead.listing.shop_name,
                -SEVERITY_RANK[lead.severity],
                -lead.times_seen,
                -_ts(lead.last_seen),
                _ts(lead.last_seen),
            ),
        )
        self._conn.execute("DELETE FROM leads_fts WHERE lead_id = ?", (lead.lead_id,))
        body = cjk.index_text(
            lead.listing.title,
            lead.listing.description,
            lead.listing.shop_name,
            " ".join(f"{e.text} {e.matched or ''}" for e in lead.evidence),
            lead.title_zh,
        )
        self._conn.execute("INSERT INTO leads_fts (lead_id, body) VALUES (?, ?)", (lead.lead_id, body))

    def index_listings(self, listings: Iterable[Listing]) -> int:
        rows = [(item.key, item.model_dump_json().encode(), item.crawled_at) for item in listings]
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO listings (key, doc, crawled_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "doc = excluded.doc, crawled_at = excluded.crawled_at "
                "WHERE excluded.crawled_at IS NULL OR listings.crawled_at IS NULL "
                "OR excluded.crawled_at >= listings.crawled_at",
                rows,
            )
        return len(rows)

    def set_status(
        self, lead_id: str, status: TriageStatus, *, assignee: str | None = None, note: str | None = None
    ) -> Lead:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute("SELECT doc FROM leads WHERE lead_id = ?", (lead_id,)).fetchone()
            if row is None:
                raise KeyError(lead_id)
            lead = Lead.model_validate_json(row[0]).triaged(status, assignee=assignee, note=note)
            self._write(lead)
        return lead

    # -- reads ----------------------------------------------------------------------------------
    def get(self, lead_id: str) -> Lead | None:
        row = self._conn.execute("SELECT doc FROM leads WHERE lead_id = ?", (lead_id,)).fetchone()
        return Lead.model_validate_json(row[0]) if row else None

    def count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM leads").fetchone()[0]

    def count_listings(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]

    def _filters(self, q: LeadQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for column, values in (
            ("family", q.families),
            ("severity", q.severities),
            ("status", q.statuses),
            ("platform", q.platforms),
            ("region", q.regions),
        ):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if q.shop:
            where.append("(shop_id = ? OR shop_name LIKE ?)")
            args.extend([q.shop, f"%{q.shop}%"])
        if q.seen_from:
            where.append("last_seen >= ?")
            args.append(_ts(q.seen_from))
        if q.seen_to:
            where.append("last_seen <= ?")
            args.append(_ts(q.seen_to))
        if q.text and (match := cjk.match_query(q.text)):
            where.append("lead_id IN (SELECT lead_id FROM leads_fts WHERE leads_fts MATCH ?)")
            args.append(match)
        return where, args

    def search(self, query: LeadQuery) -> LeadSearchResult:
        where, args = self._filters(query)
        base = " WHERE " + " AND ".join(where) if where else ""
        total = self._conn.execute(f"SELECT COUNT(*) FROM leads{base}", args).fetchone()[0]
        facets = {}
        for field in FACET_FIELDS:
            rows = self._conn.execute(
                f"SELECT {field}, COUNT(*) FROM leads{base} GROUP BY {field} ORDER BY COUNT(*) DESC LIMIT 50", args
            ).fetchall()
            facets[field] = {str(k): n for k, n in rows if k is not None}
        keys = SORT_KEYS[query.sort]
        page_where, page_args = list(where), list(args)
        if query.search_after:
            page_where.append(f"({', '.join(keys)}) > ({', '.join('?' * len(keys))})")
            page_args.extend(query.search_after)
        sql = (
            f"SELECT doc, {', '.join(keys)} FROM leads"
            + (" WHERE " + " AND ".join(page_where) if page_where else "")
            + f" ORDER BY {', '.join(keys)} LIMIT ?"
        )
        rows = self._conn.execute(sql, [*page_args, query.size]).fetchall()
        leads = [Lead.model_validate_json(r[0]) for r in rows]
        highlights = {}
        if query.text:
            for lead in leads:
                marks = {
                    name: frags
                    for name, value in (("title", lead.listing.title), ("description", lead.listing.description))
                    if (frags := cjk.highlight(value, query.text))
                }
                if marks:
                    highlights[lead.lead_id] = marks
        cursor = list(rows[-1][1:]) if len(rows) == query.size else None
        return LeadSearchResult(total=total, leads=leads, facets=facets, highlights=highlights, next_cursor=cursor)

    def all_leads(self) -> list[Lead]:
        return [Lead.model_validate_json(r[0]) for r in self._conn.execute("SELECT doc FROM leads ORDER BY lead_id")]

    def close(self) -> None:
        self._conn.close()
