"""The embedded store's per-region facet counters (layout 6) and the sort-index walk of wide filters:
a jurisdiction's landing page must show the same totals, facets and rows as counting the leads would."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

import adapters.store.sqlite as sqlite_store
from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Evidence, Finding, LeadEvent, Listing, Shop, TriageStatus
from sweep.store import LeadQuery

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
LHASA = "西藏自治区拉萨市城关区"
NAQU = "西藏自治区那曲市"
XINING = "青海省西宁市城中区"
TIBET = [LHASA, NAQU, "西藏自治区日喀则市"]


def event(
    listing_id: str, region: str | None, *, family: str = "chem.toxic", shop: str = "鑫达化工", hours: int = 0
) -> LeadEvent:
    listing = Listing(
        platform="demo-mall",
        listing_id=listing_id,
        title=f"出售氰化钠 {listing_id}",
        category="化工原料",
        shop=Shop(shop_id=f"S-{shop}", name=shop, region=region),
    )
    finding = Finding(
        platform=listing.platform,
        listing_id=listing_id,
        family=family,
        rule_id=f"{family}/test",
        severity="high",
        evidence=[Evidence(field="title", text="氰化钠", start=2, end=5)],
        legal_basis="危险化学品安全管理条例",
    )
    return LeadEvent.of(finding, listing, T0 + timedelta(hours=hours))


def lead_id(listing_id: str) -> str:
    return event(listing_id, None).lead_id


@pytest.fixture
def store(tmp_path) -> SqliteLeadStore:
    store = SqliteLeadStore(tmp_path / "leads.sqlite")
    store.apply_events(
        [
            event("A", LHASA, shop="鑫达化工", hours=1),
            event("B", LHASA, shop="鑫达化工", family="food.sanwu", hours=2),
            event("C", NAQU, shop="雪域商行", hours=3),
            event("D", XINING, shop="鑫达化工", hours=4),
            event("E", None, shop="无名店", hours=5),
        ]
    )
    return store


def test_jurisdiction_landing_counts_only_its_regions(store: SqliteLeadStore) -> None:
    result = store.search(LeadQuery(regions=TIBET, sort="priority", size=10))
    assert result.total == 3
    assert result.facets["region"] == {LHASA: 2, NAQU: 1}
    assert result.facets["family"] == {"chem.toxic": 2, "food.sanwu": 1}
    assert result.facets["shop"] == {"鑫达化工": 2, "雪域商行": 1}
    assert result.facets["status"] == {"new": 3}
    assert [lead.listing_id for lead in result.leads] == ["C", "B", "A"]
    nothing = store.search(LeadQuery(regions=["\x00none"]))
    assert (nothing.total, nothing.leads, nothing.facets["region"]) == (0, [], {})


def test_counts_follow_triage_and_a_shop_that_moves(store: SqliteLeadStore) -> None:
    store.set_status(lead_id("A"), TriageStatus.dismissed)
    store.apply_events([event("C", XINING, shop="雪域商行", hours=6)])  # the shop now lists from Xining
    tibet = store.search(LeadQuery(regions=TIBET))
    assert tibet.total == 2
    assert tibet.facets["status"] == {"dismissed": 1, "new": 1}
    assert tibet.facets["region"] == {LHASA: 2}
    assert tibet.facets["shop"] == {"鑫达化工": 2}
    xining = store.search(LeadQuery(regions=[XINING]))
    assert xining.facets["shop"] == {"雪域商行": 1, "鑫达化工": 1}
    assert xining.total == 2


def test_jurisdiction_and_status_filter_read_the_counters(store: SqliteLeadStore) -> None:
    store.set_status(event("B", LHASA, family="food.sanwu").lead_id, TriageStatus.triaged)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    new = store.search(LeadQuery(regions=TIBET, statuses=["new"], sort="priority"))
    assert (new.total, [lead.listing_id for lead in new.leads]) == (2, ["C", "A"])
    assert new.facets["status"] == {"new": 2}
    assert new.facets["family"] == {"chem.toxic": 2}
    assert new.facets["shop"] == {"雪域商行": 1, "鑫达化工": 1}
    either = store.search(LeadQuery(regions=[LHASA], statuses=["new", "triaged"]))
    assert either.facets["status"] == {"new": 1, "triaged": 1}
    assert not any("MATERIALIZED" in sql for sql in statements)  # no scan of the matching leads


def test_nationwide_status_filter_reads_the_counters(store: SqliteLeadStore) -> None:
    """Without a region list the per-status counters answer, region-less leads included."""
    store.set_status(lead_id("E"), TriageStatus.dismissed)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    new = store.search(LeadQuery(statuses=["new"], sort="priority"))
    assert (new.total, [lead.listing_id for lead in new.leads]) == (4, ["D", "C", "B", "A"])
    assert new.facets["region"] == {LHASA: 2, NAQU: 1, XINING: 1}
    assert new.facets["shop"] == {"鑫达化工": 3, "雪域商行": 1}
    dismissed = store.search(LeadQuery(statuses=["dismissed"]))
    assert (dismissed.total, dismissed.facets["shop"], dismissed.facets["region"]) == (1, {"无名店": 1}, {})
    assert not any("MATERIALIZED" in sql for sql in statements)


def test_counters_match_a_filtered_count(store: SqliteLeadStore) -> None:
    """A region list with another filter is counted over the rows; both ways agree where they overlap."""
    counted = store.search(LeadQuery(regions=TIBET, families=["chem.toxic"]))
    assert counted.total == 2
    assert counted.facets["region"] == {LHASA: 1, NAQU: 1}
    assert store.search(LeadQuery(regions=TIBET, text="region:" + NAQU)).total == 1


def test_a_layout_5_file_gets_its_region_counts_on_open(tmp_path) -> None:
    path = tmp_path / "leads.sqlite"
    first = SqliteLeadStore(path)
    first.apply_events([event("A", LHASA), event("B", NAQU), event("C", LHASA, family="food.sanwu")])
    first.close()
    with sqlite3.connect(path) as conn:  # what a layout 5 file looks like: no region counters
        conn.execute("DROP TABLE region_facet_counts")
        conn.execute("PRAGMA user_version = 5")
    upgraded = SqliteLeadStore(path)
    result = upgraded.search(LeadQuery(regions=[LHASA]))
    assert result.total == 2
    assert result.facets["family"] == {"chem.toxic": 1, "food.sanwu": 1}
    assert upgraded._conn.execute("PRAGMA user_version").fetchone()[0] == 7
    upgraded.close()
    again = SqliteLeadStore(path)  # opening a layout 6 file again counts nothing twice
    assert again.search(LeadQuery(regions=[LHASA, NAQU])).total == 3
    again.close()


def test_a_layout_6_file_gets_its_status_counts_on_open(tmp_path) -> None:
    path = tmp_path / "leads.sqlite"
    first = SqliteLeadStore(path)
    first.apply_events([event("A", LHASA), event("B", None)])
    first.close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE status_facet_counts")
        conn.execute("PRAGMA user_version = 6")
    upgraded = SqliteLeadStore(path)
    result = upgraded.search(LeadQuery(statuses=["new"]))
    assert (result.total, result.facets["region"]) == (2, {LHASA: 1})
    upgraded.close()


def test_a_first_draft_of_the_counters_is_rebuilt(tmp_path) -> None:
    path = tmp_path / "leads.sqlite"
    first = SqliteLeadStore(path)
    first.apply_events([event("A", LHASA), event("B", NAQU)])
    first.close()
    with sqlite3.connect(path) as conn:  # counters per region only, without the status
        conn.execute("DROP TABLE region_facet_counts")
        conn.execute(
            "CREATE TABLE region_facet_counts (region TEXT NOT NULL, facet TEXT NOT NULL, value TEXT NOT NULL, "
            "n INTEGER NOT NULL, PRIMARY KEY (region, facet, value)) WITHOUT ROWID"
        )
    reopened = SqliteLeadStore(path)
    result = reopened.search(LeadQuery(regions=TIBET, statuses=["new"]))
    assert (result.total, result.facets["region"]) == (2, {LHASA: 1, NAQU: 1})
    reopened.close()


def test_wide_filters_walk_the_sort_index_with_the_same_pages(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sqlite_store, "INDEX_WALK_FROM", 2)
    store = SqliteLeadStore(tmp_path / "leads.sqlite")
    regions = [LHASA, NAQU, XINING]
    store.apply_events([event(f"L{i}", regions[i % 3], hours=i) for i in range(12)])
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    walked = []
    cursor = None
    while True:  # 8 of 12 leads match: a page of 1 reads about 1.5 rows of the index, not all 8 matches
        page = store.search(LeadQuery(regions=[LHASA, NAQU], sort="recent", size=1, search_after=cursor))
        walked.extend(lead.listing_id for lead in page.leads)
        if (cursor := page.next_cursor) is None:
            break
    assert walked == ["L10", "L9", "L7", "L6", "L4", "L3", "L1", "L0"]
    assert any("INDEXED BY leads_recent" in sql for sql in statements)
    statements.clear()
    narrow = store.search(LeadQuery(regions=[LHASA], sort="recent", size=3))  # 4 matches: sorted, not walked
    assert [lead.listing_id for lead in narrow.leads] == ["L9", "L6", "L3"]
    assert not any("INDEXED BY" in sql for sql in statements)
