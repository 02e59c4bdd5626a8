"""Incremental recrawl on the embedded pipeline (Scrapy -> SQLite bus -> indexer -> SQLite store):

* a recrawl of an unchanged mall runs the rulebook on no listing, publishes no listing (only
  `listing_seen`), and every lead's sighting count and last_seen move;
* after 20 listings changed and 10 removed in the mall, the next crawl re-detects exactly the 20
  (their change is in their history and on their leads) and marks exactly the 10 removed (missing from
  their complete category), and nothing else moves but sightings;
* a recheck job of named listings (the shared frontier, `sweep crawl-worker`) records a 404 and a 下架
  page as removed with their reasons, and a listing still online as seen.

Crawls run in subprocesses (Twisted's reactor starts once per process); the indexer runs here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.bus.sqlite import SqliteBus
from adapters.store.sqlite import SqliteLeadStore
from consumers.indexer import Indexer
from demomall.generator import PLATFORM, Mall, generate
from demomall.server import MallServer, serve_in_thread
from sweep.bus import envelope
from sweep.bus.base import Topics
from sweep.models import Lead
from sweep.store import LeadQuery

pytestmark = [pytest.mark.integration]

N = 300
PREFIX = "rc"
TOPICS = Topics(PREFIX)


def _env(data: Path) -> dict[str, str]:
    drop = ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return env | {"SWEEP_DATA_DIR": str(data), "SWEEP_TOPIC_PREFIX": PREFIX}


def _crawl(data: Path, url: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "demo_mall", "--base-url", url, "--no-js"],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _index(data: Path) -> None:
    with SqliteBus(data / "bus.sqlite") as bus, SqliteLeadStore(data / "leads.sqlite") as store:
        stats = Indexer(bus, store, topics=[TOPICS.leads, TOPICS.listings], deadletter_topic=TOPICS.deadletter).run(
            stop_when_idle=True, idle_s=0.5
        )
    assert stats.deadlettered == 0


def _leads(data: Path) -> dict[str, Lead]:
    out: dict[str, Lead] = {}
    with SqliteLeadStore(data / "leads.sqlite") as store:
        cursor = None
        while True:
            page = store.search(LeadQuery(size=500, search_after=cursor))
            out.update((lead.lead_id, lead) for lead in page.leads)
            if (cursor := page.next_cursor) is None:
                break
        assert len(out) == store.count()
    return out


class _Tail:
    """The listings topic from where the last read stopped: what one crawl published."""

    def __init__(self, data: Path) -> None:
        self.bus = SqliteBus(data / "bus.sqlite")
        self.consumer = self.bus.consumer([TOPICS.listings], "test-tail")

    def read(self) -> dict[str, list[dict]]:
        kinds: dict[str, list[dict]] = {}
        while batch := self.consumer.poll(5000, timeout_s=0.2):
            for m in batch:
                kind, payload = envelope.decode(m.value)
                kinds.setdefault(kind, []).append(payload)
            self.consumer.commit(batch)
        return kinds

    def close(self) -> None:
        self.consumer.close()
        self.bus.close()


@pytest.fixture(scope="module")
def recrawls(tmp_path_factory) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("recrawl")
    mall = generate(N, 7, client_rendered_share=0.0)
    server = serve_in_thread(mall)
    tail = _Tail(data)
    try:
        out: dict = {"data": data, "mall": mall, "server": server}
        out["crawl1"] = _crawl(data, server.base_url)
        out["bus1"] = tail.read()
        _index(data)
        out["leads1"] = _leads(data)
        out["crawl2"] = _crawl(data, server.base_url)
        out["bus2"] = tail.read()
        _index(data)
        out["leads2"] = _leads(data)
        with SqliteLeadStore(data / "leads.sqlite") as store:
            out["states2"] = store.listing_states(f"{PLATFORM}:{i.listing.listing_id}" for i in mall.items)
        later = mall.evolve(change=20, remove=10, seed=3)
        server.replace(later)
        out["later"] = later
        out["crawl3"] = _crawl(data, server.base_url)
        out["bus3"] = tail.read()
        _index(data)
        out["leads3"] = _leads(data)
        out["tail"] = tail
        yield out
    finally:
        tail.close()
        server.stop()


def test_first_crawl_judges_and_publishes_everything(recrawls) -> None:
    c1 = recrawls["crawl1"]
    assert (c1["listings"], c1["listings_new"], c1["detections"]) == (N, N, N)
    assert len(recrawls["bus1"]["listing"]) == N and "listing_seen" not in recrawls["bus1"]
    assert recrawls["leads1"], "the demo mall has violations"
    with SqliteLeadStore(recrawls["data"] / "leads.sqlite") as store:
        assert store.count_listing_states() == N


def test_recrawl_of_an_unchanged_mall_runs_no_detection_and_moves_every_lead(recrawls) -> None:
    c2 = recrawls["crawl2"]
    assert c2["listings"] == N
    assert (c2["detections"], c2["findings"], c2["listings_unchanged"], c2["listings_changed"]) == (0, 0, N, 0)
    assert c2["listings_removed"] == 0
    bus2 = recrawls["bus2"]
    assert "listing" not in bus2 and len(bus2["listing_seen"]) == N  # no listing published again
    before, after = recrawls["leads1"], recrawls["leads2"]
    assert set(after) == set(before)
    for lead_id, lead in after.items():
        assert lead.times_seen == before[lead_id].times_seen + 1, lead_id
        assert lead.last_seen > before[lead_id].last_seen, lead_id
        assert lead.first_seen == before[lead_id].first_seen
        assert lead.evidence == before[lead_id].evidence and lead.listing == before[lead_id].listing
        assert lead.listing_state == "online"
    states = recrawls["states2"]
    assert len(states) == N and {s.times_seen for s in states.values()} == {2}
    assert all(s.interval_s > 86400 for s in states.values())  # stable: the interval grew


def test_changed_and_removed_listings_are_exactly_those_re_detected_and_marked(recrawls) -> None:
    later: Mall = recrawls["later"]
    changed, removed = set(later.changes.changed), set(later.changes.removed)
    c3 = recrawls["crawl3"]
    assert c3["listings"] == N - 10
    assert (c3["detections"], c3["listings_changed"], c3["listings_unchanged"]) == (20, 20, N - 30)
    assert c3["listings_removed"] == 10
    bus3 = recrawls["bus3"]
    assert {p["listing_id"] for p in bus3["listing"]} == changed  # exactly those published and judged
    gone = {p["listing_id"]: p["reason"] for p in bus3["listing_gone"]}
    assert set(gone) == removed and set(gone.values()) == {"missing_from_category"}

    with SqliteLeadStore(recrawls["data"] / "leads.sqlite") as store:
        states = store.listing_states(f"{PLATFORM}:{lid}" for lid in [*changed, *removed])
        for lid in changed:
            st = states[f"{PLATFORM}:{lid}"]
            before, after = later.changes.changed[lid]
            assert st.state == "changed" and st.times_changed == 1
            entry = st.history[-1]
            assert entry.kind == "changed" and "price" in entry.fields
            assert (entry.price_before, entry.price_after) == (before.price, after.price)
            if before.title != after.title:
                assert (entry.title_before, entry.title_after) == (before.title, after.title)
        for lid in removed:
            st = states[f"{PLATFORM}:{lid}"]
            assert st.state == "removed" and st.removed_reason == "missing_from_category"
            assert st.history[-1].kind == "removed"
        assert {s.listing_id for s in store.due_listings(datetime(2100, 1, 1, tzinfo=UTC), limit=N)} == (
            {i.listing.listing_id for i in later.items}
        )

    before, after = recrawls["leads2"], recrawls["leads3"]
    assert set(after) == set(before)  # the changes are neutral: no lead appears or disappears
    for lead_id, lead in after.items():
        was = before[lead_id]
        if lead.listing_id in removed:
            assert lead.listing_state == "removed" and lead.removed_at is not None
            assert (lead.times_seen, lead.last_seen) == (was.times_seen, was.last_seen)
        elif lead.listing_id in changed:
            assert lead.listing_state == "changed" and lead.listing_history[-1].kind == "changed"
            assert lead.times_seen == was.times_seen + 1  # sighted by its re-detection
            assert lead.listing.price == later.item(lead.listing_id).listing.price
        else:
            assert lead.listing_state == "online" and lead.times_seen == was.times_seen + 1
        assert lead.status == was.status


def _recheck(data: Path, server: MallServer, listing_ids: list[str]) -> None:
    """A recheck job of named listings on the embedded frontier, run by one `sweep crawl-worker`."""
    from adapters.people.operations_sql import SqlOperationsStore
    from operations.jobs import launch
    from sweep.store.operations import JobState, Target, Trigger

    ops = SqlOperationsStore(f"sqlite:///{(data / 'people.sqlite').resolve()}")
    target = ops.add_target(Target(name="recheck", spider="demo_mall", base_url=server.base_url, listings=listing_ids))
    with SqliteBus(data / "bus.sqlite") as bus:
        job = launch(ops, bus, TOPICS.crawl_requests, target, trigger=Trigger.PERSON, requested_by="test")
    proc = subprocess.run(
        [sys.executable, "-m", "app", "crawl-worker", "--no-js", "--idle-exit", "2"],
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = ops.get_job(job.id)
    assert done is not None and done.state == JobState.FINISHED, done


def test_a_recheck_records_404_and_delisted_pages_as_removed(recrawls) -> None:
    data, server, tail = recrawls["data"], recrawls["server"], recrawls["tail"]
    later: Mall = recrawls["later"]
    untouched = [i.listing.listing_id for i in later.items if i.listing.listing_id not in later.changes.changed]
    latest = later.evolve(remove=untouched[:4], seed=1)  # 2 x 404, 2 x 下架 ("mixed")
    server.replace(latest)
    _recheck(data, server, [*untouched[:5]])
    published = tail.read()
    _index(data)
    reasons = {p["listing_id"]: p["reason"] for p in published["listing_gone"]}
    assert reasons == {lid: {"404": "http_404", "delisted": "delisted"}[h] for lid, h in latest.changes.removed.items()}
    assert [p["listing_id"] for p in published["listing_seen"]] == [untouched[4]]
    with SqliteLeadStore(data / "leads.sqlite") as store:
        states = store.listing_states(f"{PLATFORM}:{lid}" for lid in untouched[:5])
    assert {states[f"{PLATFORM}:{lid}"].state for lid in untouched[:4]} == {"removed"}
    assert states[f"{PLATFORM}:{untouched[4]}"].state == "online"
    leads = _leads(data)
    for lead in leads.values():
        if lead.listing_id in untouched[:4]:
            assert lead.listing_state == "removed" and lead.removed_reason == reasons[lead.listing_id]
