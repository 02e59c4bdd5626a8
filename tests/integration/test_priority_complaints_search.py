"""The complaints factor of the stored priority sort on the real search engines (OpenSearch and the
minimal Elasticsearch): `set_seller_complaints` rewrites `priority_key`, keeps triage and sightings,
skips unchanged counts, and the priority sort follows at once."""

from __future__ import annotations

from adapters.store.searchengine.base import SearchEngineStore
from sweep.models import TriageStatus
from sweep.store.base import LeadQuery
from tests.integration import test_search_store as engines

backend_url = engines.backend_url  # the servers' fixtures, parametrized over the backends
store = engines.store


def test_complaints_move_a_lead_up_the_priority_sort(store: SearchEngineStore) -> None:
    events = [engines.event(i, f"出售氰化钠 批次{i}", minutes=i) for i in range(6)]  # newest: 5
    store.apply_events(events)
    ids = [e.lead_id for e in events]

    def order() -> list[str]:
        return [lead.lead_id for lead in store.search(LeadQuery(sort="priority", size=10)).leads]

    assert order() == list(reversed(ids))  # same severity, seen once: the most recent first
    store.set_status(ids[0], TriageStatus.triaged, assignee="张三")
    assert store.set_seller_complaints({ids[0]: 1, ids[1]: 3, "no-such-lead": 2}) == 2
    assert store.set_seller_complaints({ids[0]: 1}) == 0  # unchanged: not rewritten
    first = store.get(ids[0])
    assert first is not None
    assert (first.seller_complaints, first.status, first.assignee) == (1, TriageStatus.triaged, "张三")
    # × (1 + 3) and × (1 + 1) outweigh a few minutes of recency
    assert order() == [ids[1], ids[0], ids[5], ids[4], ids[3], ids[2]]
    store.apply_events([engines.event(1, "出售氰化钠 批次1", minutes=30)])  # a later sighting keeps the count
    again = store.get(ids[1])
    assert again is not None and (again.seller_complaints, again.times_seen) == (3, 2)
    assert order()[0] == ids[1]
