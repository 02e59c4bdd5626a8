"""Embedded LeadStore on SQLite: upsert by lead id, CJK full-text search (FTS5 over bigrams), facets.

Layout, chosen so that a write costs the same at 10 thousand leads as at a million:

* `leads` is narrow: the lead id, the facet and filter columns and the sort keys, keyed by an integer
  `id`. Counting facets and walking sort indexes reads only these small rows.
* `lead_docs` holds the lead document (JSON) under the same `id`; only the leads of a page are read.
* `leads_fts` is a *contentless* FTS5 table whose rowid is that `id`. Removing a lead's old text is the
  FTS5 'delete' command with the old values, which are recomputed from the old document (the document
  is the source of truth); no scan of the FTS table. A re-sighting that does not change the text does
  not touch the FTS table at all. `cjk.fingerprint()` is stored beside the index: if tokenization
  changes between versions the FTS table is rebuilt on open, because deleting with tokens other than
  the inserted ones would corrupt it.
* `facet_counts` keeps the facet counts over all leads, updated in the same transaction as the leads,
  so the triage landing page (no search, no filter) reads 7 x 50 rows instead of counting a million.
  `region_facet_counts` keeps the same counts per region and triage status (leads without a region are
  in none), so a landing page restricted to a jurisdiction (a list of region names, perhaps statuses,
  and nothing else) sums a few thousand counters instead of counting the tens of thousands of leads
  inside it. `status_facet_counts` keeps them per triage status over all leads, for the same page of a
  nationwide account narrowed to statuses.

* `listing_state` keeps each listing's recrawl state (`sweep.recrawl.ListingState`: content fingerprint,
  history, interval) beside `listings`, with the columns that `listings_in_category` and `due_listings`
  select on; it is written with the listing copy (or by `record_observations`) in one transaction, and
  with the listing's leads when they get its state.

Detection updates go through `Lead.sighted` (the same merge the search-engine backends use), so a
replayed sighting changes nothing and triage fields are never touched by detection. The search string
is parsed by `sweep.query` and translated to an FTS5 MATCH here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.store import cjk
from sweep.models import SEVERITY_RANK, Lead, LeadEvent, Listing, TriageStatus, parse_time, utcnow
from sweep.query import SearchQuery, parse
from sweep.recrawl import (
    ListingGone,
    ListingSeen,
    ListingState,
    Observation,
    ObservationStats,
    RecrawlPolicy,
    candidate_lead_ids,
    leads_after,
)
from sweep.store.base import (
    FACET_SIZE,
    FACETS,
    Judged,
    LeadAggregates,
    LeadQuery,
    LeadSearchResult,
    LeadStore,
    StatusChange,
    StatusResult,
    UpsertStats,
    aggregate_rows,
    lead_priority_key,
    priority_sort_key,
)

SCHEMA_VERSION = 7
"""`PRAGMA user_version` of the layout below; 0 with a `leads.doc` column is the first layout. 3 adds
`leads.rulebook_version` and `leads.retired_at` (added in place to a layout 2 file, see `_ADDED_COLUMNS`).
4 adds `leads.neg_priority` (`priority_sort_key`, negated), added in place and filled on open.
5 adds the `listing_state` table (incremental recrawl), created empty in place. 6 adds
`region_facet_counts`, created and filled from `leads` in place (`_fill_region_counts`); 7 adds
`status_facet_counts` the same way."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY,
    lead_id TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    platform TEXT NOT NULL,
    region TEXT,
    category TEXT,
    shop_id TEXT,
    shop_name TEXT,
    neg_severity INTEGER NOT NULL,
    neg_times_seen INTEGER NOT NULL,
    neg_last_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    rulebook_version TEXT,
    retired_at REAL,
    neg_priority REAL
);
CREATE INDEX IF NOT EXISTS leads_recent ON leads (neg_last_seen, lead_id);
CREATE INDEX IF NOT EXISTS leads_priority ON leads (neg_severity, neg_times_seen, neg_last_seen, lead_id);
CREATE INDEX IF NOT EXISTS leads_family ON leads (family);
CREATE INDEX IF NOT EXISTS leads_status ON leads (status);
CREATE INDEX IF NOT EXISTS leads_platform ON leads (platform);
CREATE INDEX IF NOT EXISTS leads_region ON leads (region);
CREATE INDEX IF NOT EXISTS leads_category ON leads (category);
CREATE INDEX IF NOT EXISTS leads_shop_id ON leads (shop_id);
CREATE INDEX IF NOT EXISTS leads_last_seen ON leads (last_seen);
CREATE TABLE IF NOT EXISTS lead_docs (
    id INTEGER PRIMARY KEY,
    doc BLOB NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS leads_fts USING fts5 (
    title, description, shop, evidence, other, content = '', tokenize = 'unicode61'
);
CREATE TABLE IF NOT EXISTS facet_counts (
    facet TEXT NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (facet, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS region_facet_counts (
    facet TEXT NOT NULL,
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (facet, region, status, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS status_facet_counts (
    facet TEXT NOT NULL,
    status TEXT NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (facet, status, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS listings (
    key TEXT PRIMARY KEY,
    doc BLOB NOT NULL,
    crawled_at TEXT
);
CREATE TABLE IF NOT EXISTS listing_state (
    key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    category TEXT,
    state TEXT NOT NULL,
    next_due REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS listing_state_category ON listing_state (platform, category, state);
CREATE INDEX IF NOT EXISTS listing_state_due ON listing_state (next_due);
"""

_ROW_COLUMNS = (
    "lead_id",
    "family",
    "severity",
    "status",
    "platform",
    "region",
    "category",
    "shop_id",
    "shop_name",
    "neg_severity",
    "neg_times_seen",
    "neg_last_seen",
    "last_seen",
    "rulebook_version",
    "retired_at",
    "neg_priority",
)
_ADDED_COLUMNS: dict[str, str] = {"rulebook_version": "TEXT", "retired_at": "REAL", "neg_priority": "REAL"}
"""Columns of layout 3 that a layout 2 file gets by ALTER TABLE (NULL until a lead is written again,
which is what its document says too: it predates rulebook versions)."""
_ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS leads_rulebook_version ON leads (rulebook_version)",
    "CREATE INDEX IF NOT EXISTS leads_retired_at ON leads (retired_at) WHERE retired_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS leads_priority_score ON leads (neg_priority, lead_id)",
)
_FTS_COLUMNS = ("title", "description", "shop", "evidence", "other")
FACET_COLUMNS: dict[str, str] = {
    "family": "family",
    "severity": "severity",
    "status": "status",
    "platform": "platform",
    "region": "region",
    "shop": "shop_name",
    "category": "category",
}
"""Facet name (`sweep.store.base.FACETS`) -> column."""
assert tuple(FACET_COLUMNS) == FACETS

_CountKey = tuple[str | None, str | None, str, str]
_Counts = Counter[_CountKey]
"""Pending changes of the maintained facet counts: (region, status, facet, value) -> delta, where
(None, None, ...) is the count over all leads (`facet_counts`), (None, status, ...) the count among the
leads of that status (`status_facet_counts`) and a region and status the count among the leads of that
region and status (`region_facet_counts`)."""

_FILTER_COLUMNS = {"family": "family", "severity": "severity", "status": "status", "platform": "platform"}
_FILTER_COLUMNS |= {"region": "region", "category": "category"}

SORT_KEYS = {
    "recent": ("neg_last_seen", "lead_id"),
    "priority": ("neg_priority", "lead_id"),
}
"""Sort columns, ascending. "priority" is `priority_sort_key` negated (the documented priority, its
complaints factor from the lead's `seller_complaints`; see `sweep.store.base`)."""
SORT_INDEX = {"recent": "leads_recent", "priority": "leads_priority_score"}
INDEX_WALK_FROM = 5_000
"""Above this many full-text hits a page is read by walking the sort index and keeping hits (a few
rows per hit rate); below it the hits are sorted (cheap, and walking would visit most of the index)."""


def _ts(value: datetime) -> float:
    return value.timestamp()


def _row(lead: Lead) -> tuple[Any, ...]:
    """The `leads` columns of a lead, in `_ROW_COLUMNS` order."""
    return (
        lead.lead_id,
        lead.family,
        lead.severity,
        lead.status.value,
        lead.platform,
        lead.listing.region,
        lead.listing.category,
        lead.listing.shop_id,
        lead.listing.shop_name,
        -SEVERITY_RANK[lead.severity],
        -lead.times_seen,
        -_ts(lead.last_seen),
        _ts(lead.last_seen),
        lead.rulebook_version,
        _ts(lead.retired_at) if lead.retired_at is not None else None,
        -lead_priority_key(lead),
    )


def _fts(lead: Lead) -> tuple[str, ...]:
    """The full-text columns of a lead (`_FTS_COLUMNS`): the fields the search language searches."""
    return (
        cjk.index_text(lead.listing.title),
        cjk.index_text(lead.listing.description),
        cjk.index_text(lead.listing.shop_name),
        cjk.index_text(*(part for e in lead.evidence for part in (e.text, e.matched))),
        cjk.index_text(lead.title_zh, lead.note),
    )


def _facets(lead: Lead) -> dict[str, str | None]:
    row = dict(zip(_ROW_COLUMNS, _row(lead), strict=True))
    return {name: row[column] for name, column in FACET_COLUMNS.items()}


def _count_keys(facets: Mapping[str, str | None]) -> list[_CountKey]:
    """The maintained counters a lead with these facet values adds one to: each value over all leads,
    among the leads of its status, and, when the lead has a region, among the leads of its region and
    status."""
    region, status = facets["region"], facets["status"]
    keys: list[_CountKey] = [(None, None, n, v) for n, v in facets.items() if v is not None]
    if status is None:
        return keys
    scoped = [(None, status, n, v) for _, _, n, v in keys]
    if region is not None:
        scoped += [(region, status, n, v) for _, _, n, v in keys]
    return keys + scoped


def match_expression(query: SearchQuery) -> tuple[str | None, str | None]:
    """(MATCH for the leads to keep, MATCH for the leads to drop) of the query's text part.

    Each word or phrase becomes an FTS5 phrase of its bigrams; OR groups become `( .. OR .. )`, groups
    are ANDed, exclusions become `NOT ( .. OR .. )`. With no positive part the exclusions are returned
    separately (FTS5 has no unary NOT): the caller keeps the leads *not* matching them. Words with
    nothing searchable are dropped, as the search-engine stores drop them.
    """
    groups = []
    for group in query.all_of:
        alternatives = list(dict.fromkeys(p for t in group if (p := cjk.fts_phrase(t.value))))
        if alternatives:
            groups.append(alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})")
    excluded = list(dict.fromkeys(p for t in query.none_of if (p := cjk.fts_phrase(t.value))))
    keep = " AND ".join(groups) or None
    drop = " OR ".join(excluded) or None
    if keep and drop:
        return f"({keep}) NOT ({drop})", None
    return keep, drop


class SqliteLeadStore(LeadStore):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # the narrow table and its indexes at 1M leads stay in memory: 256 MiB of cache, and reads
        # through a memory map (no copy per page) where the OS caches the file
        self._conn.execute("PRAGMA cache_size=-262144")
        self._conn.execute("PRAGMA mmap_size=8589934592")
        self._lock = threading.RLock()
        self.recrawl_policy = RecrawlPolicy.from_settings()
        """Bounds of the per-listing recrawl intervals (`sweep.recrawl`), from the settings."""
        self._open()

    # -- schema ---------------------------------------------------------------------------------
    def _open(self) -> None:
        """Create or upgrade the schema, and rebuild the FTS index if tokenization changed."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                if "status" not in {r[1] for r in self._conn.execute("PRAGMA table_info(region_facet_counts)")}:
                    self._conn.execute("DROP TABLE IF EXISTS region_facet_counts")  # a first draft: per region only
                    version = min(version, 5)
                legacy = "doc" in {r[1] for r in self._conn.execute("PRAGMA table_info(leads)")}
                if legacy:  # schema 1: documents inline, FTS keyed by an UNINDEXED lead id
                    self._conn.execute("ALTER TABLE leads RENAME TO leads_v1")
                    for name in ("leads_recent", "leads_priority", "leads_family"):
                        self._conn.execute(f"DROP INDEX IF EXISTS {name}")
                    self._conn.execute("DROP TABLE IF EXISTS leads_fts")
                for statement in _SCHEMA.split(";"):  # not executescript: it would COMMIT first
                    if statement.strip():
                        self._conn.execute(statement)
                present = {r[1] for r in self._conn.execute("PRAGMA table_info(leads)")}
                for column, kind in _ADDED_COLUMNS.items():
                    if column not in present:
                        self._conn.execute(f"ALTER TABLE leads ADD COLUMN {column} {kind}")
                for statement in _ADDED_INDEXES:
                    self._conn.execute(statement)
                self._fill_priority()
                if version < 6:
                    self._fill_region_counts()
                if version < 7:
                    self._fill_status_counts()
                if legacy:
                    counts: _Counts = Counter()
                    for (doc,) in self._conn.execute("SELECT doc FROM leads_v1"):
                        self._write(Lead.model_validate_json(doc), None, counts)
                    self._flush_counts(counts)
                    self._conn.execute("DROP TABLE leads_v1")
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                fingerprint = cjk.fingerprint()
                stored = self._conn.execute("SELECT value FROM meta WHERE key = 'fts'").fetchone()
                if stored is not None and stored[0] != fingerprint:
                    self._rebuild_fts()
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('fts', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (fingerprint,),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _fill_priority(self) -> None:
        """`neg_priority` of rows written before layout 4, from their own sort columns."""
        rows = self._conn.execute(
            "SELECT id, severity, neg_times_seen, last_seen FROM leads WHERE neg_priority IS NULL"
        ).fetchall()
        self._conn.executemany(
            "UPDATE leads SET neg_priority = ? WHERE id = ?",
            [
                (-priority_sort_key(severity, -neg_times, datetime.fromtimestamp(last_seen, UTC)), row_id)
                for row_id, severity, neg_times, last_seen in rows
            ],
        )

    def _fill_region_counts(self) -> None:
        """`region_facet_counts` of a file written before layout 6, counted from `leads` (a legacy file
        has an empty `leads` here; its leads are counted as they are rewritten)."""
        self._conn.execute("DELETE FROM region_facet_counts")
        for name, column in FACET_COLUMNS.items():
            self._conn.execute(
                "INSERT INTO region_facet_counts (facet, region, status, value, n) "
                f"SELECT ?, region, status, {column}, COUNT(*) FROM leads "
                f"WHERE region IS NOT NULL AND {column} IS NOT NULL GROUP BY region, status, {column}",
                (name,),
            )

    def _fill_status_counts(self) -> None:
        """`status_facet_counts` of a file written before layout 7, counted from `leads`."""
        self._conn.execute("DELETE FROM status_facet_counts")
        for name, column in FACET_COLUMNS.items():
            self._conn.execute(
                "INSERT INTO status_facet_counts (facet, status, value, n) "
                f"SELECT ?, status, {column}, COUNT(*) FROM leads WHERE {column} IS NOT NULL GROUP BY status, {column}",
                (name,),
            )

    def _rebuild_fts(self) -> None:
        self._conn.execute("INSERT INTO leads_fts (leads_fts) VALUES ('delete-all')")
        marks = ",".join("?" * (len(_FTS_COLUMNS) + 1))
        for row_id, doc in self._conn.execute("SELECT id, doc FROM lead_docs").fetchall():
            lead = Lead.model_validate_json(doc)
            self._conn.execute(
                f"INSERT INTO leads_fts (rowid, {', '.join(_FTS_COLUMNS)}) VALUES ({marks})", (row_id, *_fts(lead))
            )

    # -- writes ---------------------------------------------------------------------------------
    def apply_events(self, events: Iterable[LeadEvent]) -> UpsertStats:
        stats = UpsertStats()
        events = list(events)
        if not events:
            return stats
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored = self._load({e.lead_id for e in events})
            pending: dict[str, Lead] = {lead_id: lead for lead_id, (_id, lead) in stored.items()}
            changed: set[str] = set()
            for event in events:
                current = pending.get(event.lead_id)
                if current is None:
                    pending[event.lead_id] = Lead.from_event(event)
                    changed.add(event.lead_id)
                    stats.created += 1
                    continue
                updated = current.sighted(event)
                if updated is current:
                    stats.unchanged += 1
                else:
                    pending[event.lead_id] = updated
                    changed.add(event.lead_id)
                    if event.lead_id in stored:
                        stats.updated += 1
            counts: _Counts = Counter()
            for lead_id in changed:
                self._write(pending[lead_id], stored.get(lead_id), counts)
            self._flush_counts(counts)
        return stats

    def _load(self, lead_ids: Iterable[str]) -> dict[str, tuple[int, Lead]]:
        """lead_id -> (row id, stored lead) for the ids that exist."""
        ids = list(lead_ids)
        out: dict[str, tuple[int, Lead]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row_id, lead_id, doc in self._conn.execute(
                f"SELECT l.id, l.lead_id, d.doc FROM leads l JOIN lead_docs d ON d.id = l.id "
                f"WHERE l.lead_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[lead_id] = (row_id, Lead.model_validate_json(doc))
        return out

    def _write(self, lead: Lead, old: tuple[int, Lead] | None, counts: _Counts) -> None:
        """Insert or update one lead in all tables; only what changed is rewritten (a re-sighting
        touches the sort keys and the document, not the full-text index or the facet counts)."""
        doc = lead.model_dump_json().encode()
        row, text, facets = _row(lead), _fts(lead), _facets(lead)
        fts_cols = ", ".join(_FTS_COLUMNS)
        fts_marks = ",".join("?" * (len(_FTS_COLUMNS) + 1))
        if old is None:
            cur = self._conn.execute(
                f"INSERT INTO leads ({', '.join(_ROW_COLUMNS)}) VALUES ({','.join('?' * len(row))})", row
            )
            row_id = cur.lastrowid
            self._conn.execute("INSERT INTO lead_docs (id, doc) VALUES (?, ?)", (row_id, doc))
            self._conn.execute(f"INSERT INTO leads_fts (rowid, {fts_cols}) VALUES ({fts_marks})", (row_id, *text))
            counts.update(_count_keys(facets))
            return
        row_id, before = old
        changes = [(c, v) for c, v, was in zip(_ROW_COLUMNS, row, _row(before), strict=True) if v != was]
        if changes:
            self._conn.execute(
                f"UPDATE leads SET {', '.join(f'{c} = ?' for c, _ in changes)} WHERE id = ?",
                [v for _, v in changes] + [row_id],
            )
        self._conn.execute("UPDATE lead_docs SET doc = ? WHERE id = ?", (doc, row_id))
        old_text = _fts(before)
        if old_text != text:
            self._conn.execute(
                f"INSERT INTO leads_fts (leads_fts, rowid, {fts_cols}) VALUES ('delete', {fts_marks})",
                (row_id, *old_text),
            )
            self._conn.execute(f"INSERT INTO leads_fts (rowid, {fts_cols}) VALUES ({fts_marks})", (row_id, *text))
        was = _facets(before)
        if was != facets:
            counts.subtract(_count_keys(was))
            counts.update(_count_keys(facets))

    def _flush_counts(self, counts: _Counts) -> None:
        overall = [(facet, value, n) for (region, status, facet, value), n in counts.items() if n and status is None]
        by_status = [
            (facet, status, value, n)
            for (region, status, facet, value), n in counts.items()
            if n and region is None and status is not None
        ]
        regional = [
            (facet, region, status, value, n)
            for (region, status, facet, value), n in counts.items()
            if n and region is not None
        ]
        if overall:
            self._conn.executemany(
                "INSERT INTO facet_counts (facet, value, n) VALUES (?, ?, ?) "
                "ON CONFLICT (facet, value) DO UPDATE SET n = n + excluded.n",
                overall,
            )
            self._conn.execute("DELETE FROM facet_counts WHERE n <= 0")
        if by_status:
            self._conn.executemany(
                "INSERT INTO status_facet_counts (facet, status, value, n) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (facet, status, value) DO UPDATE SET n = n + excluded.n",
                by_status,
            )
            self._conn.executemany(
                "DELETE FROM status_facet_counts WHERE facet = ? AND status = ? AND value = ? AND n <= 0",
                [key for *key, n in by_status if n < 0],
            )
        if regional:
            self._conn.executemany(
                "INSERT INTO region_facet_counts (facet, region, status, value, n) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (facet, region, status, value) DO UPDATE SET n = n + excluded.n",
                regional,
            )
            self._conn.executemany(  # only a counter that went down can have reached 0: no scan of the table
                "DELETE FROM region_facet_counts "
                "WHERE facet = ? AND region = ? AND status = ? AND value = ? AND n <= 0",
                [key for *key, n in regional if n < 0],
            )

    def retire(self, judged: Mapping[str, datetime], *, rulebook_version: str, at: datetime) -> int:
        """`Lead.retired` for each judged lead, in one transaction (so a triage or a sighting of the same
        lead is either before it, and kept, or after it)."""
        if not judged:
            return 0
        retired = 0
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored = self._load(judged)
            counts: _Counts = Counter()
            for lead_id, (row_id, lead) in stored.items():
                updated = lead.retired(rulebook_version, at, judged[lead_id])
                if updated is not lead:
                    self._write(updated, (row_id, lead), counts)
                    retired += 1
            self._flush_counts(counts)
        return retired

    def index_listings(self, listings: Iterable[Listing], *, judged: Mapping[str, Judged] | None = None) -> int:
        """The latest copy of each listing, and its recrawl state (`sweep.recrawl`), in one transaction;
        a listing whose content changed gives its leads the state (changed, history)."""
        listings = list(listings)
        rows = [(item.key, item.model_dump_json().encode(), item.crawled_at) for item in listings]
        judged = judged or {}
        policy = self.recrawl_policy
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO listings (key, doc, crawled_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "doc = excluded.doc, crawled_at = excluded.crawled_at "
                "WHERE excluded.crawled_at IS NULL OR listings.crawled_at IS NULL "
                "OR excluded.crawled_at >= listings.crawled_at",
                rows,
            )
            states = self._load_states(item.key for item in listings)
            written: dict[str, ListingState] = {}
            changed: list[ListingState] = []
            for item in listings:
                at = parse_time(item.crawled_at) or utcnow()
                verdict = judged.get(item.key)
                kw = {
                    "judged_by": verdict.rulebook_version if verdict else None,
                    "severity": verdict.severity if verdict else None,
                }
                before = written.get(item.key) or states.get(item.key)
                if before is None:
                    written[item.key] = ListingState.first(item, at, policy, **kw)
                    continue
                after = before.observed(item, at, policy, judged=verdict is not None, **kw)
                if after is not before:
                    written[item.key] = after
                    if after.content_since != before.content_since or after.state != before.state:
                        changed.append(after)
            self._write_states(written.values())
            if changed:
                self._update_leads({s.key: (s, None) for s in changed})
        return len(rows)

    # -- incremental recrawl ----------------------------------------------------------------------
    def _load_states(self, keys: Iterable[str]) -> dict[str, ListingState]:
        ids = list(dict.fromkeys(keys))
        out: dict[str, ListingState] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for key, doc in self._conn.execute(
                f"SELECT key, doc FROM listing_state WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ):
                out[key] = ListingState.model_validate_json(doc)
        return out

    def _write_states(self, states: Iterable[ListingState]) -> None:
        self._conn.executemany(
            "INSERT INTO listing_state (key, platform, category, state, next_due, doc) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET platform = excluded.platform, category = excluded.category, "
            "state = excluded.state, next_due = excluded.next_due, doc = excluded.doc",
            [
                (st.key, st.platform, st.category, st.state, _ts(st.next_due), st.model_dump_json().encode())
                for st in states
            ],
        )

    def _update_leads(
        self, updates: dict[str, tuple[ListingState, datetime | None]]
    ) -> tuple[int, dict[str, str | None]]:
        """Give each listing's leads its state (and with a time, sight its current leads); inside the
        caller's transaction. Returns (leads sighted, key -> highest severity of its current leads)."""
        wanted: dict[str, str] = {}
        for key, (state, _at) in updates.items():
            for lead_id in candidate_lead_ids(state.platform, state.listing_id):
                wanted[lead_id] = key
        stored = self._load(wanted)
        per_listing: dict[str, dict[str, Lead]] = {key: {} for key in updates}
        for lead_id, (_row_id, lead) in stored.items():
            per_listing[wanted[lead_id]][lead_id] = lead
        counts: _Counts = Counter()
        sighted = 0
        severities: dict[str, str | None] = {}
        for key, (state, at) in updates.items():
            changed, n, severity = leads_after(state, per_listing[key], at)
            sighted += n
            severities[key] = severity
            for lead_id, lead in changed.items():
                self._write(lead, stored[lead_id], counts)
        self._flush_counts(counts)
        return sighted, severities

    def listing_states(self, keys: Iterable[str]) -> dict[str, ListingState]:
        with self._lock:
            return self._load_states(keys)

    def record_observations(self, observations: Iterable[Observation]) -> ObservationStats:
        """All observations in one transaction, in order (a later one sees what an earlier one did)."""
        observations = list(observations)
        stats = ObservationStats()
        if not observations:
            return stats
        policy = self.recrawl_policy
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            states = self._load_states(o.key for o in observations)
            written: dict[str, ListingState] = {}
            leads: dict[str, tuple[ListingState, datetime | None]] = {}
            for obs in observations:
                before = written.get(obs.key) or states.get(obs.key)
                if before is None:
                    stats.unknown += 1
                    continue
                if isinstance(obs, ListingSeen):
                    after = before.seen(obs, policy)
                    if after is before:
                        stats.unchanged += 1
                        continue
                    stats.seen += 1
                    sight = obs.seen_at if obs.fingerprint == after.fingerprint else None
                    previous = leads.get(obs.key)
                    leads[obs.key] = (after, sight or (previous[1] if previous else None))
                else:
                    assert isinstance(obs, ListingGone)
                    after = before.gone(obs, policy)
                    if after is before:
                        stats.unchanged += 1
                        continue
                    stats.removed += 1
                    previous = leads.get(obs.key)
                    leads[obs.key] = (after, previous[1] if previous else None)
                written[obs.key] = after
            if leads:
                sighted, severities = self._update_leads(leads)
                stats.leads_sighted += sighted
                for key, (_state, at) in leads.items():
                    if at is not None:  # the current leads are known: their severity sets the interval
                        written[key] = written[key].with_severity(severities[key], policy)
            self._write_states(written.values())
        return stats

    def listings_in_category(self, platform: str, category: str) -> Iterator[ListingState]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT doc FROM listing_state WHERE platform = ? AND category = ? AND state != 'removed' ORDER BY key",
                (platform, category),
            ).fetchall()
        for (doc,) in rows:
            yield ListingState.model_validate_json(doc)

    def due_listings(
        self, now: datetime, *, platform: str | None = None, limit: int = 1000, include_removed: bool = False
    ) -> list[ListingState]:
        where, args = ["next_due <= ?"], [_ts(now)]
        if platform is not None:
            where.append("platform = ?")
            args.append(platform)
        if not include_removed:
            where.append("state != 'removed'")
        with self._lock:
            rows = self._conn.execute(
                f"SELECT doc FROM listing_state WHERE {' AND '.join(where)} ORDER BY next_due, key LIMIT ?",
                [*args, max(0, limit)],
            ).fetchall()
        return [ListingState.model_validate_json(doc) for (doc,) in rows]

    def count_listing_states(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM listing_state").fetchone()[0]

    def set_status(
        self, lead_id: str, status: TriageStatus, *, assignee: str | None = None, note: str | None = None
    ) -> Lead:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored = self._load([lead_id]).get(lead_id)
            if stored is None:
                raise KeyError(lead_id)
            lead = stored[1].triaged(status, assignee=assignee, note=note)
            counts: _Counts = Counter()
            self._write(lead, stored, counts)
            self._flush_counts(counts)
        return lead

    def set_status_many(self, changes: Iterable[StatusChange]) -> dict[str, StatusResult]:
        """All changes in one transaction (one commit instead of one per lead). Writers are serialized
        by the transaction, so there are no conflicts here, only missing leads."""
        changes = list(changes)
        out: dict[str, StatusResult] = {}
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored = self._load(dict.fromkeys(c.lead_id for c in changes))
            current = {lead_id: lead for lead_id, (_row_id, lead) in stored.items()}
            for c in changes:
                if c.lead_id not in current:
                    out[c.lead_id] = StatusResult(c.lead_id, error="missing")
                    continue
                current[c.lead_id] = current[c.lead_id].triaged(c.status, assignee=c.assignee, note=c.note)
                out[c.lead_id] = StatusResult(c.lead_id, current[c.lead_id])
            counts: _Counts = Counter()
            for lead_id, lead in current.items():
                self._write(lead, stored[lead_id], counts)
            self._flush_counts(counts)
        return out

    def set_seller_complaints(self, counts: Mapping[str, int]) -> int:
        """One transaction: each lead's document and `neg_priority` rewritten where its count changed."""
        wanted = {lead_id: max(0, int(n)) for lead_id, n in counts.items()}
        changed = 0
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            stored = self._load(wanted)
            counts_delta: _Counts = Counter()
            for lead_id, (row_id, lead) in stored.items():
                if lead.seller_complaints == wanted[lead_id]:
                    continue
                self._write(
                    lead.model_copy(update={"seller_complaints": wanted[lead_id]}), (row_id, lead), counts_delta
                )
                changed += 1
            self._flush_counts(counts_delta)
        return changed

    # -- reads ----------------------------------------------------------------------------------
    def get(self, lead_id: str) -> Lead | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT d.doc FROM leads l JOIN lead_docs d ON d.id = l.id WHERE l.lead_id = ?", (lead_id,)
            ).fetchone()
        return Lead.model_validate_json(row[0]) if row else None

    def get_many(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        with self._lock:
            return {lead_id: lead for lead_id, (_row_id, lead) in self._load(dict.fromkeys(lead_ids)).items()}

    def iter_listings(self, since: datetime | None = None, *, batch: int = 500) -> Iterator[Listing]:
        """Pages by key, so no read transaction stays open while the caller works on a page; the crawl
        time is compared parsed (spiders write it as free text), not as a string."""
        after = ""
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT key, doc, crawled_at FROM listings WHERE key > ? ORDER BY key LIMIT ?", (after, batch)
                ).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for _key, doc, crawled_at in rows:
                if since is not None:
                    when = parse_time(crawled_at)
                    if when is None or when < since:
                        continue
                yield Listing.model_validate_json(doc)

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM leads").fetchone()[0]

    def count_listings(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]

    def aggregate(
        self,
        query: LeadQuery,
        *,
        first_from: datetime | None = None,
        first_to: datetime | None = None,
        now: datetime,
        top: int = 10,
    ) -> LeadAggregates:
        """One scan of the matching rows; first_seen lives only in the document, so it is read from there
        (the embedded store is for thousands of leads, not millions)."""
        where, args, _ = self._filters(query, parse(query.text))
        if first_from is not None:  # last_seen >= first_seen: an indexed narrowing that loses nothing
            where.append("last_seen >= ?")
            args.append(_ts(first_from))
        base = " WHERE " + " AND ".join(where) if where else ""
        sql = (
            "SELECT l.family, l.status, l.region, l.shop_name, json_extract(CAST(d.doc AS TEXT), '$.first_seen') "
            f"FROM (SELECT * FROM leads{base}) l JOIN lead_docs d ON d.id = l.id"
        )
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        parsed = ((f, s, r, shop, parse_time(first)) for f, s, r, shop, first in rows)
        return aggregate_rows(
            ((f, s, r, shop, first) for f, s, r, shop, first in parsed if first is not None),
            first_from=first_from,
            first_to=first_to,
            now=now,
            top=top,
        )

    def _filters(self, q: LeadQuery, sq: SearchQuery) -> tuple[list[str], list[Any], bool]:
        """WHERE clauses and arguments of a query, and whether a full-text MATCH is among them."""
        where: list[str] = []
        args: list[Any] = []
        for name, values in (
            ("family", q.families),
            ("severity", q.severities),
            ("status", q.statuses),
            ("platform", q.platforms),
            ("region", q.regions),
            ("category", q.categories),
        ):
            for chosen in (list(values), sq.values(name)):
                if chosen:
                    where.append(f"{_FILTER_COLUMNS[name]} IN ({','.join('?' * len(chosen))})")
                    args.extend(str(v) for v in chosen)
            if excluded := sq.excluded_values(name):
                column = _FILTER_COLUMNS[name]
                where.append(f"({column} IS NULL OR {column} NOT IN ({','.join('?' * len(excluded))}))")
                args.extend(excluded)
        shops = [q.shop] if q.shop else []
        for chosen, negate in ((shops, False), (sq.values("shop"), False), (sq.excluded_values("shop"), True)):
            if chosen:
                clauses = []
                for value in chosen:
                    clause, clause_args = self._shop_clause(value)
                    clauses.append(clause)
                    args.extend(clause_args)
                either = " OR ".join(clauses)
                where.append(f"NOT ({either})" if negate else f"({either})")
        if q.seen_from:
            where.append("last_seen >= ?")
            args.append(_ts(q.seen_from))
        if q.seen_to:
            where.append("last_seen <= ?")
            args.append(_ts(q.seen_to))
        keep, drop = match_expression(sq)
        if keep:
            where.append("id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?)")
            args.append(keep)
        if drop:
            where.append("id NOT IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?)")
            args.append(drop)
        return where, args, keep is not None

    @staticmethod
    def _shop_clause(value: str) -> tuple[str, list[Any]]:
        """A shop id exactly, or a phrase of the shop name; never NULL (so NOT(...) keeps shopless leads)."""
        phrase = cjk.fts_phrase(value)
        if phrase is None:
            return "IFNULL(shop_id = ?, 0)", [value]
        return (
            "(IFNULL(shop_id = ?, 0) OR id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ?))",
            [value, f"shop : {phrase}"],
        )

    def _facet_counts(self, base: str, args: list[Any]) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets over the matching rows, in one statement: the matches are materialised
        once, then grouped twice (by all low-cardinality facet columns together, summed up here, and
        by shop name), because each GROUP BY is a sort and seven sorts of a large match cost more than
        two."""
        low = [c for name, c in FACET_COLUMNS.items() if name != "shop"]
        shop = FACET_COLUMNS["shop"]
        blanks = ", ".join("NULL" for _ in low[1:])
        sql = (
            f"WITH m AS MATERIALIZED (SELECT {', '.join([*low, shop])} FROM leads{base}) "
            f"SELECT 0, {', '.join(low)}, COUNT(*) FROM m GROUP BY {', '.join(low)} "
            f"UNION ALL SELECT * FROM (SELECT 1, {shop}, {blanks}, COUNT(*) AS n FROM m WHERE {shop} IS NOT NULL "
            f"GROUP BY {shop} ORDER BY n DESC, {shop} LIMIT {FACET_SIZE})"
        )
        total = 0
        counts: dict[str, Counter[str]] = {name: Counter() for name in FACET_COLUMNS}
        names = [name for name in FACET_COLUMNS if name != "shop"]
        for kind, *values, n in self._conn.execute(sql, args):
            if kind == 1:
                counts["shop"][str(values[0])] = n
                continue
            total += n
            for name, value in zip(names, values, strict=True):
                if value is not None:
                    counts[name][str(value)] += n
        facets = {
            name: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:FACET_SIZE]) for name, c in counts.items()
        }
        return total, facets

    def _landing_counts(self) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets over all leads, from the maintained counts (no scan)."""
        facets: dict[str, dict[str, int]] = {name: {} for name in FACET_COLUMNS}
        for name in FACET_COLUMNS:
            for value, n in self._conn.execute(
                "SELECT value, n FROM facet_counts WHERE facet = ? AND n > 0 ORDER BY n DESC, value LIMIT ?",
                (name, FACET_SIZE),
            ):
                facets[name][value] = n
        return self._lead_total(), facets

    def _lead_total(self) -> int:
        """How many leads there are, from the maintained counts (every lead has a status)."""
        return self._conn.execute("SELECT IFNULL(SUM(n), 0) FROM facet_counts WHERE facet = 'status'").fetchone()[0]

    def _scoped_counts(self, regions: list[str], statuses: list[str]) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets over the leads of these regions and statuses (either list may be empty: any),
        from the maintained per-region or per-status counts: what `_facet_counts` finds for a query
        whose only filters are the region list and the status list, without the scan."""
        clauses, args = [], [*regions, *statuses]
        if regions:
            clauses.append(f"region IN ({','.join('?' * len(regions))})")
        if statuses:
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        table = "region_facet_counts" if regions else "status_facet_counts"
        where = " AND ".join(clauses)
        facets: dict[str, dict[str, int]] = {}
        for name in FACET_COLUMNS:
            facets[name] = dict(
                self._conn.execute(
                    f"SELECT value, SUM(n) AS total FROM {table} WHERE facet = ? AND {where} "
                    "GROUP BY value HAVING total > 0 ORDER BY total DESC, value LIMIT ?",
                    [name, *args, FACET_SIZE],
                )
            )
        total = self._conn.execute(
            f"SELECT IFNULL(SUM(n), 0) FROM {table} WHERE facet = 'status' AND {where}", args
        ).fetchone()[0]
        return total, facets

    def _counts(
        self, query: LeadQuery, sq: SearchQuery, where: list[str], args: list[Any]
    ) -> tuple[int, dict[str, dict[str, int]]]:
        """Total and facets of a search: from the maintained counts when the search has no filter, or
        only a region list and/or a status list (a jurisdiction's landing page, its 新线索); otherwise
        counted over the matching rows."""
        if not where:
            return self._landing_counts()
        field_filters = any(sq.values(f) or sq.excluded_values(f) for f in ("region", "status"))
        if (query.regions or query.statuses) and not field_filters:
            others, _, _ = self._filters(replace(query, regions=(), statuses=()), sq)
            if not others:
                return self._scoped_counts(
                    [str(r) for r in dict.fromkeys(query.regions)], [str(s) for s in dict.fromkeys(query.statuses)]
                )
        return self._facet_counts(" WHERE " + " AND ".join(where), args)

    def _walk_pays(self, total: int, size: int) -> bool:
        """Whether a filtered page is read by walking the sort index and keeping matches (about
        size x all / total rows read) rather than reading all `total` matches by a filter's index and
        sorting them: only for many matches, and with a margin of 4 for filters that do not spread evenly
        over the sort order (a region whose leads are all old, say)."""
        if total < INDEX_WALK_FROM:
            return False
        return 4 * max(1, size) * self._lead_total() <= total * total

    def search(self, query: LeadQuery) -> LeadSearchResult:
        sq = parse(query.text)
        where, args, has_match = self._filters(query, sq)
        keys = SORT_KEYS[query.sort]
        with self._lock:
            total, facets = self._counts(query, sq, where, args)
            page_where, page_args = list(where), list(args)
            if query.search_after:
                page_where.append(f"({', '.join(keys)}) > ({', '.join('?' * len(keys))})")
                page_args.extend(query.search_after)
            if has_match and total < INDEX_WALK_FROM:
                order = ", ".join(f"+{k}" for k in keys)  # unary +: sort the hits, do not walk the index
                source = "leads"
            elif has_match or self._walk_pays(total, query.size):
                order, source = ", ".join(keys), f"leads INDEXED BY {SORT_INDEX[query.sort]}"
            else:
                order, source = ", ".join(keys), "leads"
            sql = (
                f"SELECT id, {', '.join(keys)} FROM {source}"
                + (" WHERE " + " AND ".join(page_where) if page_where else "")
                + f" ORDER BY {order} LIMIT ?"
            )
            rows = self._conn.execute(sql, [*page_args, max(0, query.size)]).fetchall() if query.size > 0 else []
            docs: dict[int, bytes] = {}
            if rows:
                ids = [r[0] for r in rows]
                docs = dict(
                    self._conn.execute(f"SELECT id, doc FROM lead_docs WHERE id IN ({','.join('?' * len(ids))})", ids)
                )
        leads = [Lead.model_validate_json(docs[r[0]]) for r in rows]
        highlights = {}
        terms = [t.value for t in sq.positive_texts]
        if terms:
            for lead in leads:
                marks = {
                    name: frags
                    for name, value in (("title", lead.listing.title), ("description", lead.listing.description))
                    if (frags := cjk.highlight(value, terms))
                }
                if marks:
                    highlights[lead.lead_id] = marks
        cursor = list(rows[-1][1:]) if rows and len(rows) == query.size else None
        return LeadSearchResult(total=total, leads=leads, facets=facets, highlights=highlights, next_cursor=cursor)

    def close(self) -> None:
        self._conn.close()
