"""`LeadStore.set_status_many`: the embedded SQLite store (one transaction) and the port's default loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Evidence, Finding, Lead, LeadEvent, ListingSummary, TriageStatus
from sweep.store.base import LeadQuery, LeadSearchResult, LeadStore, StatusChange, UpsertStats

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


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


@pytest.fixture
def store(tmp_path: Path):
    s = SqliteLeadStore(tmp_path / "leads.sqlite")
    yield s
    s.close()


def test_all_applied_triage_fields_only(store: SqliteLeadStore) -> None:
    events = [event(n) for n in range(5)]
    store.apply_events(events)
    before = {e.lead_id: store.get(e.lead_id) for e in events}
    ids = [e.lead_id for e in events]
    results = store.set_status_many(
        [StatusChange(i, TriageStatus.triaged, assignee="officer", note=f"批量 {k}") for k, i in enumerate(ids)]
    )
    assert list(results) == ids
    assert all(r.ok for r in results.values())
    for k, lead_id in enumerate(ids):
        lead = store.get(lead_id)
        assert lead is not None and results[lead_id].lead == lead
        assert (lead.status, lead.assignee, lead.note) == (TriageStatus.triaged, "officer", f"批量 {k}")
        old = before[lead_id]
        assert old is not None
        untouched = set(Lead.model_fields) - set(Lead.TRIAGE_FIELDS)
        assert {f: getattr(lead, f) for f in untouched} == {f: getattr(old, f) for f in untouched}
    # the facet counts moved with the statuses (same transaction)
    facets = store.search(LeadQuery()).facets
    assert facets["status"] == {"triaged": 5}
    assert store.search(LeadQuery(statuses=["triaged"])).total == 5


def test_missing_lead_reported_alone_and_none_keeps_values(store: SqliteLeadStore) -> None:
    a, b = event(1), event(2)
    store.apply_events([a, b])
    store.set_status(a.lead_id, TriageStatus.triaged, assignee="officer", note="已看")
    results = store.set_status_many(
        [
            StatusChange(a.lead_id, TriageStatus.confirmed),
            StatusChange("demomall:nope", TriageStatus.dismissed),
            StatusChange(b.lead_id, TriageStatus.dismissed, note="排除"),
        ]
    )
    assert [(i, r.error) for i, r in results.items()] == [
        (a.lead_id, None),
        ("demomall:nope", "missing"),
        (b.lead_id, None),
    ]
    lead_a, lead_b = store.get(a.lead_id), store.get(b.lead_id)
    assert lead_a is not None and (lead_a.status, lead_a.assignee, lead_a.note) == ("confirmed", "officer", "已看")
    assert lead_b is not None and (lead_b.status, lead_b.note) == ("dismissed", "排除")


def test_same_lead_twice_applies_in_order(store: SqliteLeadStore) -> None:
    a = event(1)
    store.apply_events([a])
    results = store.set_status_many(
        [StatusChange(a.lead_id, TriageStatus.triaged, assignee="x"), StatusChange(a.lead_id, TriageStatus.confirmed)]
    )
    lead = store.get(a.lead_id)
    assert lead is not None and (lead.status, lead.assignee) == ("confirmed", "x")
    assert results[a.lead_id].lead == lead


def test_detection_after_batch_keeps_triage(store: SqliteLeadStore) -> None:
    a = event(1)
    store.apply_events([a])
    store.set_status_many([StatusChange(a.lead_id, TriageStatus.referred, assignee="officer")])
    store.apply_events([event(1, minutes=60)])
    lead = store.get(a.lead_id)
    assert lead is not None and (lead.status, lead.assignee, lead.times_seen) == ("referred", "officer", 2)


class LoopingStore(LeadStore):
    """A fake with only the abstract methods: the port's default `set_status_many` must serve it."""

    def __init__(self, leads: dict[str, Lead]) -> None:
        self.leads = leads
        self.calls: list[str] = []

    def apply_events(self, events) -> UpsertStats:  # pragma: no cover - not used
        raise NotImplementedError

    def index_listings(self, listings) -> int:  # pragma: no cover - not used
        raise NotImplementedError

    def get(self, lead_id: str) -> Lead | None:
        return self.leads.get(lead_id)

    def set_status(self, lead_id, status, *, assignee=None, note=None) -> Lead:
        self.calls.append(lead_id)
        if lead_id not in self.leads:
            raise KeyError(lead_id)
        self.leads[lead_id] = self.leads[lead_id].triaged(status, assignee=assignee, note=note)
        return self.leads[lead_id]

    def search(self, query: LeadQuery) -> LeadSearchResult:  # pragma: no cover - not used
        raise NotImplementedError

    def count(self) -> int:
        return len(self.leads)


def test_port_default_loops_over_set_status() -> None:
    a = event(1)
    fake = LoopingStore({a.lead_id: Lead.from_event(a)})
    results = fake.set_status_many(
        [StatusChange(a.lead_id, TriageStatus.dismissed), StatusChange("demomall:nope", TriageStatus.dismissed)]
    )
    assert fake.calls == [a.lead_id, "demomall:nope"]
    assert results[a.lead_id].ok and results[a.lead_id].lead == fake.leads[a.lead_id]
    assert results["demomall:nope"].error == "missing"
    assert fake.leads[a.lead_id].status == "dismissed"


# -- the workspace's bulk actions write through set_status_many ------------------------------------
def bulk_env(tmp_path: Path, n: int):
    from tests.unit.test_workspace_support import event as ws_event
    from tests.unit.test_workspace_support import make_env

    env = make_env(tmp_path)
    env.add(*(ws_event(f"B{i}", f"三无食品 {i}", family="food.sanwu", rule_id="food.sanwu.r") for i in range(n)))
    calls: dict[str, list[int]] = {"many": [], "one": []}
    many, one = env.store.set_status_many, env.store.set_status

    def counting_many(changes):
        changes = list(changes)
        calls["many"].append(len(changes))
        return many(changes)

    def counting_one(lead_id, *a, **k):
        calls["one"].append(lead_id)
        return one(lead_id, *a, **k)

    env.store.set_status_many = counting_many  # type: ignore[method-assign]
    env.store.set_status = counting_one  # type: ignore[method-assign]
    return env, calls


def test_bulk_action_writes_each_progress_chunk_in_one_call(tmp_path: Path) -> None:
    from sweep.people import Actor, Role
    from workspace.service import QueueParams

    env, calls = bulk_env(tmp_path, 250)
    ws = env.app.state.workspace
    before = env.people.audit_count()
    job = ws.bulk_start(
        Actor("supervisor", Role.supervisor, ("540000",)),
        source="t",
        action="assign",
        params=QueueParams(families=["food.sanwu"]),
        assignee="officer",
        background=False,
    )
    done = env.people.get_job(job.id)
    assert done is not None and (done.state, done.done, done.failed) == ("done", 250, 0)
    assert calls == {"many": [100, 100, 50], "one": []}
    assert env.people.audit_count() - before == 250
    leads = env.store.search(LeadQuery(families=["food.sanwu"], size=300)).leads
    assert len(leads) == 250 and {lead.assignee for lead in leads} == {"officer"}
    ids = [lead.lead_id for lead in leads]
    assert not any(d.pending for d in env.people.decisions(ids).values())


def test_bulk_conflict_falls_back_to_set_status_for_that_lead(tmp_path: Path) -> None:
    from sweep.people import Actor, Role
    from sweep.store.base import StatusResult
    from workspace.service import QueueParams

    env, calls = bulk_env(tmp_path, 5)
    target = env.store.search(LeadQuery(families=["food.sanwu"], size=1)).leads[0].lead_id
    counting_many = env.store.set_status_many

    def one_conflict(changes):
        changes = [c for c in changes]
        results = counting_many([c for c in changes if c.lead_id != target])
        return {c.lead_id: results.get(c.lead_id) or StatusResult(c.lead_id, error="conflict") for c in changes}

    env.store.set_status_many = one_conflict  # type: ignore[method-assign]
    ws = env.app.state.workspace
    ws.bulk_start(
        Actor("supervisor", Role.supervisor, ("540000",)),
        source="t",
        action="status",
        params=QueueParams(families=["food.sanwu"]),
        status="triaged",
        background=False,
    )
    assert calls == {"many": [4], "one": [target]}
    leads = env.store.search(LeadQuery(families=["food.sanwu"], size=10)).leads
    assert {lead.status.value for lead in leads} == {"triaged"}
    assert not env.people.decisions([target])[target].pending
