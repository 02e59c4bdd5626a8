"""The production path end to end: demo mall -> Scrapy (+chromium) -> rules -> real Kafka -> indexer
process -> real OpenSearch, crawled twice.

The crawler and the indexer processes get a topic prefix (`SWEEP_TOPIC_PREFIX`) and an index prefix
unique to the test session, so they read only this run's messages: a second run against the same
servers starts from empty topics (before topic prefixes, it re-read every earlier run's sightings
from the shared `sweep.leads` and counted them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.store.searchengine import open_search_store
from demomall.generator import generate
from demomall.server import run_in_thread
from rules import load_rulebook
from sweep.settings import Settings
from sweep.store import LeadQuery

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LISTINGS = 120
SEED = 31


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"


def _indexed_pairs(settings: Settings, listing_ids: set[str]) -> dict[tuple[str, str], int]:
    """(listing_id, family) -> times_seen for this mall's leads, once the index stops changing."""
    with open_search_store(settings, ensure=False) as store:
        previous: dict[tuple[str, str], int] | None = None
        for _ in range(20):
            store.refresh()
            found: dict[tuple[str, str], int] = {}
            cursor = None
            while True:
                page = store.search(LeadQuery(platforms=["demo-mall"], size=500, search_after=cursor))
                for lead in page.leads:
                    if lead.listing_id in listing_ids:
                        found[(lead.listing_id, lead.family)] = lead.times_seen
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            if found == previous:
                return found
            previous = found
            time.sleep(0.5)
        return found


def test_demo_crawl_through_kafka_into_opensearch(kafka_bootstrap, opensearch_url, run_prefix, tmp_path: Path):
    mall = generate(LISTINGS, SEED)
    listing_ids = {item.listing.listing_id for item in mall.items}
    book = load_rulebook()
    expected = {(f.listing_id, f.family) for item in mall.items for f in book.scan(item.listing)}
    assert expected, "the mall must contain violations"

    base_url, stop = run_in_thread(mall)
    env = os.environ.copy() | {
        "SWEEP_KAFKA": kafka_bootstrap,
        "SWEEP_SEARCH_URL": opensearch_url,
        "SWEEP_INDEX_PREFIX": f"{run_prefix}demo",
        "SWEEP_TOPIC_PREFIX": f"{run_prefix}demo",
        "SWEEP_DATA_DIR": str(tmp_path / "data"),
    }
    settings = Settings(search_url=opensearch_url, index_prefix=f"{run_prefix}demo")
    crawl = ["spiders.run", "demo_mall", "--base-url", base_url, "-o", str(tmp_path / "out.jsonl")]
    indexer = ["app.cli.main", "consume", "indexer", "--group", f"{run_prefix}-demo", "--until-idle"]
    indexer += ["--idle", "8", "-q"]
    try:
        _run(crawl, env)
        _run(indexer, env)
        first = _indexed_pairs(settings, listing_ids)
        assert set(first) == expected
        assert set(first.values()) == {1}

        _run(crawl, env)  # the same mall seen again: same leads, one more sighting each
        _run(indexer, env)
        second = _indexed_pairs(settings, listing_ids)
    finally:
        stop()
    assert set(second) == expected
    assert set(second.values()) == {2}
