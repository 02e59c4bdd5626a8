"""`set_status_many` on the search-engine store against real servers (OpenSearch and the minimal
Elasticsearch): one bulk request per chunk, seq_no-guarded, a concurrent write reported for its lead only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.store.searchengine import admin, open_search_store
from adapters.store.searchengine.base import SearchEngineStore
from sweep.models import Evidence, Finding, Lead, LeadEvent, ListingSummary, TriageStatus
from sweep.settings import Settings
from sweep.store.base import LeadQuery, StatusChange

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["opensearch", "es_minimal"])
def store(request: pytest.FixtureRequest, run_prefix: str) -> Iterator[SearchEngineStore]:
    url = request.getfixturevalue("opensearch_url" if request.param == "opensearch" else "es_minimal_url")
    prefix = f"{run_prefix}-batch-{request.param.replace('_', '')}-{uuid.uuid4().hex[:6]}"
    s = open_search_store(Settings(search_url=url), prefix=prefix, refresh="wait_for", ensure=True)
    try:
        yield s
    finally:
        admin.delete_all(s)
        s.close()


def event(n: int, minutes: int = 0) -> LeadEvent:
    finding = Finding(
        platform="demomall",
        listing_id=f"L{n}",
        family="chem.toxic",
        rule_id="chem.toxic/r1",
        severity="high",
        evidence=[Evidence(field="title", text="氰化钠", start=0, end=3)],
    )
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=T0 + timedelta(minutes=minutes),
        finding=finding,
        listing=ListingSummary(title=f"氰化钠 {n}", region="上海", shop_name="华东化工", shop_id="S1"),
    )


def test_all_applied_in_bulk_triage_fields_only(store: SearchEngineStore) -> None:
    events = [event(n) for n in range(7)]
    store.apply_events(events)
    ids = [e.lead_id for e in events]
    before = store.get_many(ids)
    bulks: list[int] = []
    original = store.bulk

    def counting(ops, refresh=False):
        bulks.append(len(ops) // 2)
        return original(ops, refresh=refresh)

    store.bulk = counting  # type: ignore[method-assign]
    changes = [StatusChange(i, TriageStatus.triaged, assignee="officer", note=f"批量 {k}") for k, i in enumerate(ids)]
    changes.append(StatusChange("demomall:nope", TriageStatus.triaged))
    results = store.set_status_many(changes, chunk=3)
    assert bulks == [3, 3, 1]  # one bulk request per chunk, nothing per lead
    assert list(results) == [*ids, "demomall:nope"]
    assert results["demomall:nope"].error == "missing"
    after = store.get_many(ids)
    untouched = set(Lead.model_fields) - set(Lead.TRIAGE_FIELDS)
    for k, lead_id in enumerate(ids):
        lead = after[lead_id]
        assert results[lead_id].ok and results[lead_id].lead == lead
        assert (lead.status, lead.assignee, lead.note) == (TriageStatus.triaged, "officer", f"批量 {k}")
        assert {f: getattr(lead, f) for f in untouched} == {f: getattr(before[lead_id], f) for f in untouched}
    # searchable as soon as the call returns (one refresh at the end)
    assert store.search(LeadQuery(statuses=["triaged"])).total == 7
    # detection after the batch keeps the decisions
    store.apply_events([event(3, minutes=60)])
    lead = store.get(ids[3])
    assert lead is not None and (lead.status, lead.assignee, lead.times_seen) == ("triaged", "officer", 2)


def test_concurrent_write_is_a_conflict_for_that_lead_only(store: SearchEngineStore) -> None:
    events = [event(n) for n in range(5)]
    store.apply_events(events)
    ids = [e.lead_id for e in events]
    middle = ids[2]
    other = open_search_store(
        Settings(search_url=store_url(store)), prefix=store.prefix, refresh="wait_for", ensure=False
    )
    original = store._read_leads

    def read_then_someone_writes(lead_ids, chunk=1000):
        read = original(lead_ids, chunk)
        other.apply_events([event(2, minutes=30)])  # a sighting lands between our read and our write
        return read

    store._read_leads = read_then_someone_writes  # type: ignore[method-assign]
    try:
        results = store.set_status_many([StatusChange(i, TriageStatus.dismissed, note="批量排除") for i in ids])
    finally:
        other.close()
    assert {i: r.error for i, r in results.items()} == {i: ("conflict" if i == middle else None) for i in ids}
    after = store.get_many(ids)
    assert [after[i].status for i in ids] == ["dismissed", "dismissed", "new", "dismissed", "dismissed"]
    assert after[middle].times_seen == 2  # the concurrent sighting is kept, not overwritten
    assert after[middle].note is None


def store_url(store: SearchEngineStore) -> str:
    return store.url  # type: ignore[attr-defined]


def test_priority_sort_is_the_documented_priority(store: SearchEngineStore) -> None:
    """The five leads of tests/unit/test_priority_sort.py, in the same hand-computed order as SQLite."""
    from tests.unit.test_priority_sort import check_store

    check_store(store)
