"""Incremental recrawl on the production path: Scrapy -> real Kafka -> `sweep consume indexer` -> real
OpenSearch (listing states kept in the listings index, read back by the next crawl).

* recrawl of an unchanged mall: no detection runs, no listing is published again, every lead's
  sighting count and last_seen move;
* 20 listings changed and 10 removed: exactly those re-detected / marked removed, on the listing
  states and on the leads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.store.searchengine import open_search_store
from demomall.generator import PLATFORM, generate
from demomall.server import serve_in_thread
from sweep.models import Lead
from sweep.settings import Settings
from sweep.store import LeadQuery

pytestmark = [pytest.mark.integration]

N = 200


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _leads(settings: Settings) -> dict[str, Lead]:
    """This run's leads, once the index stops changing."""
    with open_search_store(settings) as store:
        previous: dict[str, Lead] | None = None
        for _ in range(20):
            store.refresh()
            found: dict[str, Lead] = {}
            cursor = None
            while True:
                page = store.search(LeadQuery(size=500, search_after=cursor))
                found.update((lead.lead_id, lead) for lead in page.leads)
                if (cursor := page.next_cursor) is None:
                    break
            if previous is not None and found == previous:
                return found
            previous = found
            time.sleep(0.5)
        return found


def test_recrawl_through_kafka_and_opensearch(kafka_bootstrap, opensearch_url, run_prefix, tmp_path: Path) -> None:
    prefix = f"{run_prefix}recrawl"
    mall = generate(N, 5, client_rendered_share=0.0)
    server = serve_in_thread(mall)
    env = os.environ.copy() | {
        "SWEEP_KAFKA": kafka_bootstrap,
        "SWEEP_SEARCH_URL": opensearch_url,
        "SWEEP_INDEX_PREFIX": prefix,
        "SWEEP_TOPIC_PREFIX": prefix,
        "SWEEP_DATA_DIR": str(tmp_path / "data"),
    }
    settings = Settings(search_url=opensearch_url, index_prefix=prefix)
    crawl = ["spiders.run", "demo_mall", "--base-url", server.base_url, "--no-js"]
    indexer = ["app.cli.main", "consume", "indexer", "--group", f"{prefix}-ix", "--until-idle", "--idle", "6", "-q"]

    def crawled() -> dict:
        return json.loads(_run(crawl, env).strip().splitlines()[-1])

    try:
        first = crawled()
        assert (first["listings"], first["detections"], first["listings_new"]) == (N, N, N)
        _run(indexer, env)
        leads1 = _leads(settings)
        assert leads1

        second = crawled()
        assert (second["detections"], second["findings"], second["listings_unchanged"]) == (0, 0, N)
        _run(indexer, env)
        leads2 = _leads(settings)
        assert set(leads2) == set(leads1)
        for lead_id, lead in leads2.items():
            assert lead.times_seen == leads1[lead_id].times_seen + 1, lead_id
            assert lead.last_seen > leads1[lead_id].last_seen, lead_id
            assert lead.listing == leads1[lead_id].listing and lead.listing_state == "online"

        later = mall.evolve(change=20, remove=10, seed=4)
        server.replace(later)
        third = crawled()
        assert (third["detections"], third["listings_changed"], third["listings_removed"]) == (20, 20, 10)
        assert third["listings_unchanged"] == N - 30
        _run(indexer, env)
        leads3 = _leads(settings)
    finally:
        server.stop()

    changed, removed = set(later.changes.changed), set(later.changes.removed)
    with open_search_store(settings) as store:
        states = store.listing_states(f"{PLATFORM}:{i.listing.listing_id}" for i in mall.items)
    assert len(states) == N
    by_state: dict[str, set[str]] = {}
    for st in states.values():
        by_state.setdefault(st.state, set()).add(st.listing_id)
    assert by_state["changed"] == changed and by_state["removed"] == removed
    for lid in changed:
        entry = states[f"{PLATFORM}:{lid}"].history[-1]
        before, after = later.changes.changed[lid]
        assert entry.kind == "changed" and (entry.price_before, entry.price_after) == (before.price, after.price)
    for lid in removed:
        assert states[f"{PLATFORM}:{lid}"].removed_reason == "missing_from_category"

    assert set(leads3) == set(leads2)
    for lead_id, lead in leads3.items():
        was = leads2[lead_id]
        if lead.listing_id in removed:
            assert lead.listing_state == "removed" and lead.removed_at is not None
            assert lead.times_seen == was.times_seen
        elif lead.listing_id in changed:
            assert lead.listing_state == "changed" and lead.times_seen == was.times_seen + 1
        else:
            assert lead.listing_state == "online" and lead.times_seen == was.times_seen + 1
