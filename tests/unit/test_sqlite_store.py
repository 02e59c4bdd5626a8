from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Lead, TriageStatus
from sweep.store import LeadQuery
from tests.conftest import make_event


def test_upsert_is_idempotent_and_counts_sightings(tmp_path, t0, later):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    stats = store.apply_events([make_event("A", at=t0), make_event("A", at=t0), make_event("B", at=t0)])
    assert (stats.created, stats.unchanged) == (2, 1)
    assert store.count() == 2
    store.apply_events([make_event("A", at=t0)])  # a replay
    assert store.get(make_event("A").lead_id).times_seen == 1
    stats = store.apply_events([make_event("A", at=later(24))])
    lead = store.get(make_event("A").lead_id)
    assert (stats.updated, lead.times_seen, lead.last_seen, lead.first_seen) == (1, 2, later(24), t0)


def test_triage_survives_new_sightings(tmp_path, t0, later):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    lead_id = make_event("A").lead_id
    store.apply_events([make_event("A", at=t0)])
    store.set_status(lead_id, TriageStatus.confirmed, assignee="张科员", note="已核实，移送执法")
    store.apply_events([make_event("A", at=later(2), title="更新后的标题 氰化钠")])
    lead = store.get(lead_id)
    assert lead.status == TriageStatus.confirmed and lead.assignee == "张科员"
    assert lead.listing.title == "更新后的标题 氰化钠" and lead.times_seen == 2


def test_chinese_full_text_search_with_filters_and_facets(tmp_path, t0):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events(
        [
            make_event("A", at=t0, title="出售高纯氰化钠 98%"),
            make_event("B", at=t0, title="氰化物检测仪 便携式"),
            make_event("C", at=t0, title="出售氰化鈉 工业级"),  # traditional characters
            make_event("E", at=t0, title="氰 * 化-钠 现货"),  # separators between the characters
            make_event("D", family="ad.absolute_terms", at=t0, title="国家级 顶级枸杞", severity="low"),
        ]
    )
    hits = store.search(LeadQuery(text="氰化钠"))
    assert {lead.listing_id for lead in hits.leads} == {"A", "C", "E"}
    assert hits.facets["family"] == {"chem.toxic": 3}
    assert hits.highlights[make_event("A").lead_id]["title"] == ["出售高纯<em>氰化钠</em> 98%"]
    assert hits.highlights[make_event("C").lead_id]["title"] == ["出售<em>氰化鈉</em> 工业级"]
    only_ads = store.search(LeadQuery(families=["ad.absolute_terms"]))
    assert [lead.listing_id for lead in only_ads.leads] == ["D"]
    assert store.search(LeadQuery(text="氰化钠", families=["ad.absolute_terms"])).total == 0


def test_highlights_escape_hostile_text(tmp_path, t0):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events([make_event("X", at=t0, title="<script>alert(1)</script>氰化钠")])
    fragments = store.search(LeadQuery(text="氰化钠")).highlights[make_event("X").lead_id]["title"]
    assert "<script>" not in fragments[0] and "&lt;script&gt;" in fragments[0]


def test_deep_paging_with_cursor_visits_every_lead_once(tmp_path, later):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events([make_event(f"L{i:03d}", at=later(i % 7)) for i in range(95)])
    for sort in ("recent", "priority"):
        seen, cursor = [], None
        while True:
            page = store.search(LeadQuery(sort=sort, size=10, search_after=cursor))
            seen.extend(lead.listing_id for lead in page.leads)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(f"L{i:03d}" for i in range(95))
    recent = store.search(LeadQuery(size=95)).leads
    assert [lead.last_seen for lead in recent] == sorted((lead.last_seen for lead in recent), reverse=True)


def test_set_status_on_unknown_lead_raises(tmp_path):
    import pytest

    with pytest.raises(KeyError):
        SqliteLeadStore(tmp_path / "s.sqlite").set_status("nope", TriageStatus.dismissed)


def _titles(store: SqliteLeadStore, text: str) -> set[str]:
    return {lead.listing.title for lead in store.search(LeadQuery(text=text, size=100)).leads}


def test_exclusion_excludes(tmp_path, t0):
    """`-word` removes leads containing it (it once required the word on this store)."""
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events([make_event("A", at=t0, title="出售氰化钠 现货"), make_event("B", at=t0, title="氰化钠检测仪")])
    assert _titles(store, "氰化钠 -检测") == {"出售氰化钠 现货"}
    assert _titles(store, "-检测") == {"出售氰化钠 现货"}
    assert _titles(store, "氰化钠 OR 砒霜 -现货") == {"氰化钠检测仪"}


def test_changed_text_replaces_the_indexed_text(tmp_path, t0, later):
    """The old words of a lead stop matching once a newer sighting changes the title (the FTS row is
    deleted with its old values), and a re-sighting with the same text keeps it findable."""
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events([make_event("A", at=t0, title="出售氰化钠")])
    store.apply_events([make_event("A", at=later(1), title="出售氰化钠")])
    assert _titles(store, "氰化钠") == {"出售氰化钠"}
    store.apply_events([make_event("A", at=later(2), title="出售砒霜")])
    assert _titles(store, "氰化钠") == set() and _titles(store, "砒霜") == {"出售砒霜"}
    assert store.get(make_event("A").lead_id).times_seen == 3
    store.apply_events([make_event("A", at=later(3), title="出售氰化钠")])
    assert _titles(store, "砒霜") == set() and _titles(store, "氰化钠") == {"出售氰化钠"}


def test_note_is_searched_and_facets_follow_triage(tmp_path, t0):
    store = SqliteLeadStore(tmp_path / "s.sqlite")
    store.apply_events([make_event("A", at=t0), make_event("B", at=t0, family="food.sanwu", severity="low")])
    lead_id = make_event("A").lead_id
    store.set_status(lead_id, TriageStatus.confirmed, note="已电话核实")
    assert [lead.lead_id for lead in store.search(LeadQuery(text="电话核实")).leads] == [lead_id]
    store.set_status(lead_id, TriageStatus.referred, note="移送公安")
    assert store.search(LeadQuery(text="电话核实")).total == 0
    landing = store.search(LeadQuery())
    assert landing.total == 2
    assert landing.facets == {
        "family": {"chem.toxic": 1, "food.sanwu": 1},
        "severity": {"high": 1, "low": 1},
        "status": {"new": 1, "referred": 1},
        "platform": {"demo-mall": 2},
        "region": {"河北省石家庄市": 2},
        "shop": {"鑫达化工商行": 2},
        "category": {},
    }
    # the same counts computed over the matching rows (a filter every lead passes)
    assert store.search(LeadQuery(seen_from=datetime(2000, 1, 1, tzinfo=UTC))).facets == landing.facets


def test_opens_a_store_written_by_the_first_schema(tmp_path, t0):
    """A file from before the narrow table (documents inline, FTS keyed by lead id) is upgraded on open."""
    path = tmp_path / "old.sqlite"
    lead = Lead.from_event(make_event("A", at=t0, title="出售氰化钠 现货"))
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE leads (lead_id TEXT PRIMARY KEY, doc BLOB NOT NULL, family TEXT NOT NULL,
            severity TEXT NOT NULL, status TEXT NOT NULL, platform TEXT NOT NULL, region TEXT, shop_id TEXT,
            shop_name TEXT, neg_severity INTEGER NOT NULL, neg_times_seen INTEGER NOT NULL,
            neg_last_seen REAL NOT NULL, last_seen REAL NOT NULL);
        CREATE INDEX leads_recent ON leads (neg_last_seen, lead_id);
        CREATE INDEX leads_priority ON leads (neg_severity, neg_times_seen, neg_last_seen, lead_id);
        CREATE INDEX leads_family ON leads (family);
        CREATE VIRTUAL TABLE leads_fts USING fts5 (lead_id UNINDEXED, body, tokenize = 'unicode61');
        CREATE TABLE listings (key TEXT PRIMARY KEY, doc BLOB NOT NULL, crawled_at TEXT);
        """
    )
    conn.execute(
        "INSERT INTO leads VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            lead.lead_id,
            lead.model_dump_json().encode(),
            "chem.toxic",
            "high",
            "new",
            "demo-mall",
            None,
            "S1",
            "鑫达化工商行",
            -3,
            -1,
            -t0.timestamp(),
            t0.timestamp(),
        ),
    )
    conn.commit()
    conn.close()
    store = SqliteLeadStore(path)
    assert store.count() == 1 and store.get(lead.lead_id) == lead
    assert _titles(store, "氰化钠 -检测") == {"出售氰化钠 现货"}
    assert store.search(LeadQuery()).facets["family"] == {"chem.toxic": 1}
    store.close()
    store = SqliteLeadStore(path)  # opening again changes nothing
    assert store.count() == 1 and _titles(store, "现货") == {"出售氰化钠 现货"}


def test_full_text_index_is_rebuilt_when_tokenization_changed(tmp_path, t0):
    """Rows are deleted by recomputing their tokens, so an index made by other tokenization rules
    must not be reused: a different fingerprint rebuilds it from the documents."""
    path = tmp_path / "s.sqlite"
    SqliteLeadStore(path).apply_events([make_event("A", at=t0, title="出售氰化钠")])
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO leads_fts (leads_fts) VALUES ('delete-all')")  # as if built otherwise
    conn.execute("UPDATE meta SET value = 'cjk0' WHERE key = 'fts'")
    conn.commit()
    conn.close()
    store = SqliteLeadStore(path)
    assert _titles(store, "氰化钠") == {"出售氰化钠"}
