"""`LeadQuery(sort="priority")` orders by the documented priority (`workspace.priority`), on SQLite;
the same fixture runs on the search engines in tests/integration/test_store_batch.py.

Five leads, last seen relative to T (the newest sighting), scored by hand with the formula
severity × (1 + log2(times_seen)) × 0.5 ** (days since last seen / 14), at T:

    C  high   8 sightings, 14 days before T   3 × 4 × 0.5    = 6.0
    B  low    8 sightings, at T               1 × 4 × 1      = 4.0
    A  high   1 sighting,  at T               3 × 1 × 1      = 3.0
    D  medium 2 sightings,  7 days before T   2 × 2 × 0.7071 = 2.83
    E  high   4 sightings, 28 days before T   3 × 3 × 0.25   = 2.25

The old order (severity, then sightings, then recency) was C, E, A, D, B.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Evidence, Finding, LeadEvent, ListingSummary
from sweep.store.base import LeadQuery, LeadStore
from workspace.priority import priority

T = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FIXTURE = {  # name: (severity, times seen, days before T)
    "A": ("high", 1, 0),
    "B": ("low", 8, 0),
    "C": ("high", 8, 14),
    "D": ("medium", 2, 7),
    "E": ("high", 4, 28),
}
EXPECTED = ["C", "B", "A", "D", "E"]
SCORES = {"C": 6.0, "B": 4.0, "A": 3.0, "D": 2.83, "E": 2.25}


def fixture_events() -> list[LeadEvent]:
    out = []
    for name, (severity, times, days) in FIXTURE.items():
        finding = Finding(
            platform="demomall",
            listing_id=f"P{name}",
            family="chem.toxic",
            rule_id="chem.toxic/r1",
            severity=severity,  # type: ignore[arg-type]
            evidence=[Evidence(field="title", text="氰化钠", start=0, end=3)],
        )
        last = T - timedelta(days=days)
        for k in range(times):  # `times` distinct sightings, the last one at `last`
            out.append(
                LeadEvent(
                    lead_id=finding.lead_id,
                    observed_at=last - timedelta(minutes=k),
                    finding=finding,
                    listing=ListingSummary(title=f"氰化钠 {name}", region="上海", shop_name="华东化工", shop_id="S1"),
                )
            )
    return out


def names(store: LeadStore, query: LeadQuery) -> list[str]:
    return [lead.listing_id[1:] for lead in store.search(query).leads]


def paged_names(store: LeadStore, size: int, **filters) -> list[str]:
    out: list[str] = []
    query = LeadQuery(sort="priority", size=size, **filters)
    while True:
        page = store.search(query)
        out += [lead.listing_id[1:] for lead in page.leads]
        if not page.next_cursor:
            return out
        query.search_after = page.next_cursor


def check_store(store: LeadStore) -> None:
    store.apply_events(fixture_events())
    if hasattr(store, "refresh"):
        store.refresh()
    leads = store.search(LeadQuery(sort="priority", size=10)).leads
    assert [(lead.listing_id[1:], lead.times_seen) for lead in leads] == [(name, FIXTURE[name][1]) for name in EXPECTED]
    assert [priority(lead, now=T) for lead in leads] == [SCORES[n] for n in EXPECTED]
    assert paged_names(store, 2) == EXPECTED  # the cursor walks the same order
    assert names(store, LeadQuery(sort="priority", text="氰化钠", size=10)) == EXPECTED
    assert names(store, LeadQuery(sort="priority", severities=["high"], size=10)) == ["C", "A", "E"]


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteLeadStore(tmp_path / "leads.sqlite")
    yield s
    s.close()


def test_sqlite_sorts_by_documented_priority(store: SqliteLeadStore) -> None:
    check_store(store)


def test_order_does_not_depend_on_when_it_is_asked() -> None:
    """The stored key orders as the score does at any later moment (the time term is common)."""
    from sweep.models import Lead

    leads = {}
    for e in fixture_events():
        name = e.finding.listing_id[1:]
        leads[name] = leads[name].sighted(e) if name in leads else Lead.from_event(e)
    for later in (timedelta(0), timedelta(days=3), timedelta(days=30)):  # (priority() rounds to 0.01)
        by_score = sorted(leads, key=lambda n: -priority(leads[n], now=T + later))
        assert by_score == EXPECTED


def test_layout_3_file_gets_priority_keys_on_open(tmp_path: Path) -> None:
    path = tmp_path / "leads.sqlite"
    s = SqliteLeadStore(path)
    s.apply_events(fixture_events())
    s._conn.execute("UPDATE leads SET neg_priority = NULL")  # as a file written before layout 4
    s.close()
    reopened = SqliteLeadStore(path)
    try:
        assert paged_names(reopened, 3) == EXPECTED
    finally:
        reopened.close()
