from __future__ import annotations

from adapters.store.sqlite import SqliteLeadStore
from sweep.models import TriageStatus
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
