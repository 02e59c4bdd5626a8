"""The whole embedded pipeline as a newcomer runs it: `sweep demo` (mall -> Scrapy with chromium ->
rules -> SQLite bus -> indexer -> SQLite lead store), run twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Lead
from sweep.store import LeadQuery

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LISTINGS = 300
SEED = 11


def _stored_leads(store: SqliteLeadStore) -> dict[str, Lead]:
    """Every lead, read page by page through search (the store offers no unbounded load)."""
    leads: dict[str, Lead] = {}
    cursor = None
    while True:
        page = store.search(LeadQuery(size=200, search_after=cursor))
        leads.update((lead.lead_id, lead) for lead in page.leads)
        if (cursor := page.next_cursor) is None:
            break
    assert len(leads) == store.count()
    return leads


def _run_demo(data_dir: Path) -> subprocess.CompletedProcess:
    env = os.environ.copy() | {"SWEEP_DATA_DIR": str(data_dir), "COLUMNS": "160"}
    env.pop("SWEEP_KAFKA", None)
    env.pop("SWEEP_SEARCH_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli.main", "demo", "--listings", str(LISTINGS), "--seed", str(SEED)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    first = _run_demo(data_dir)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    with SqliteLeadStore(data_dir / "leads.sqlite") as store:
        after_first = _stored_leads(store)
    second = _run_demo(data_dir)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    with SqliteLeadStore(data_dir / "leads.sqlite") as store:
        after_second = _stored_leads(store)
        listings_stored = store.count_listings()
    return data_dir, first, after_first, after_second, listings_stored


def _truth(data_dir: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in (data_dir / "demo-truth.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        pairs.update((row["listing_id"], family) for family in row["families"])
    return pairs


def test_demo_crawls_every_listing_and_indexes_them(demo_runs):
    data_dir, first, *_rest, listings_stored = demo_runs
    crawled = [orjson.loads(line) for line in (data_dir / "demo-listings.jsonl").read_bytes().splitlines()]
    assert len(crawled) == LISTINGS
    assert len({item["listing_id"] for item in crawled}) == LISTINGS
    assert listings_stored == LISTINGS
    assert "sweep leads search" in first.stdout


def test_lead_store_holds_the_findings_the_rulebook_makes_of_the_crawl(demo_runs):
    from rules import load_rulebook
    from sweep.models import Listing

    data_dir, _first, after_first, _second, _ = demo_runs
    book = load_rulebook()
    expected = set()
    for line in (data_dir / "demo-listings.jsonl").read_bytes().splitlines():
        listing = Listing.model_validate_json(line)
        expected.update((f.listing_id, f.family) for f in book.scan(listing))
    stored = {(lead.listing_id, lead.family) for lead in after_first.values()}
    assert stored == expected


def test_lead_store_agrees_with_the_marketplace_ground_truth(demo_runs):
    data_dir, _first, after_first, _second, _ = demo_runs
    truth = _truth(data_dir)
    stored = {(lead.listing_id, lead.family) for lead in after_first.values()}
    missed, extra = truth - stored, stored - truth
    recall = 1 - len(missed) / len(truth)
    precision = 1 - len(extra) / len(stored)
    assert recall >= 0.95, sorted(missed)[:20]
    assert precision >= 0.97, sorted(extra)[:20]


def test_rerun_updates_leads_instead_of_duplicating_them(demo_runs):
    _data_dir, _first, after_first, after_second, _ = demo_runs
    assert set(after_second) == set(after_first)
    for lead_id, lead in after_second.items():
        before = after_first[lead_id]
        assert lead.times_seen == before.times_seen + 1
        assert lead.first_seen == before.first_seen
        assert lead.last_seen > before.last_seen
