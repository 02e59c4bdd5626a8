"""End to end: a 300-listing demo mall in a thread, the real spider (with Chromium for the
client-rendered pages) in a subprocess, the output (a Scrapy feed) compared field by field with the
generator's ground truth; a crawl paused and resumed through JOBDIR; a listing with a 5 MB
description. Crawls run in subprocesses because Twisted's reactor starts once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from demomall.generator import Mall, generate
from demomall.server import run_in_thread
from spiders.browser import find_chromium

pytestmark = [pytest.mark.integration, pytest.mark.browser]

N = 300


@pytest.fixture(scope="module")
def mall_url() -> Iterator[tuple[Mall, str]]:
    if not find_chromium(os.environ.get("SWEEP_CHROMIUM")):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no Chromium: `make install-browser` installs Debian's", pytrace=False)
        pytest.skip("no Chromium (set SWEEP_CHROMIUM)")
    mall = generate(N, 2024, malformed=4)
    url, stop = run_in_thread(mall)
    yield mall, url
    stop()


def run_crawl(url: str, out: Path, data_dir: Path, *extra: str) -> dict:
    env = os.environ | {"SWEEP_DATA_DIR": str(data_dir)}
    env.pop("SWEEP_KAFKA", None)
    env.pop("SWEEP_SEARCH_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "demo_mall", "--base-url", url, "-o", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_crawl_matches_ground_truth_and_rerun_has_no_duplicates(mall_url, tmp_path: Path) -> None:
    mall, url = mall_url
    out = tmp_path / "listings.jsonl"
    stats = run_crawl(url, out, tmp_path / "data")

    got = read_jsonl(out)
    ids = [d["listing_id"] for d in got]
    assert len(ids) == len(set(ids)) == N
    expected = {lst.listing_id: lst.model_dump(mode="json") for lst in mall.listings(url)}
    assert set(ids) == set(expected)

    js_ids = {i.listing.listing_id for i in mall.items if i.client_rendered}
    assert js_ids, "the mall should have client-rendered pages"
    mismatches = []
    for doc in got:
        assert doc["crawled_at"] and doc["crawled_at"].endswith("Z")
        want = dict(expected[doc["listing_id"]])
        have = dict(doc)
        want.pop("crawled_at")
        have.pop("crawled_at")
        if have != want:
            fields = [k for k in want if want[k] != have.get(k)]
            mismatches.append((doc["listing_id"], doc["listing_id"] in js_ids, fields))
    assert not mismatches, mismatches[:10]

    assert stats["listings"] == N
    assert stats["browser_pages"] == len(js_ids)
    assert stats["invalid"] == len(mall.malformed)  # broken pages reported and dropped, crawl went on
    assert stats["finish_reason"] == "finished"
    shop_ids = {i.listing.shop.shop_id for i in mall.items} | {m.shop_id for m in mall.malformed}
    assert stats["shops"] == len(shop_ids)  # every shop's facts joined in (the cache holds them all)
    assert stats["truncated"] == 0

    # a rerun into the same output and data dir replaces the file: still one line per listing
    stats2 = run_crawl(url, out, tmp_path / "data")
    ids2 = [d["listing_id"] for d in read_jsonl(out)]
    assert len(ids2) == len(set(ids2)) == N
    assert stats2["listings"] == N


def test_no_js_crawl_skips_client_rendered_pages(mall_url, tmp_path: Path) -> None:
    mall, url = mall_url
    out = tmp_path / "static.jsonl"
    stats = run_crawl(url, out, tmp_path / "data", "--no-js", "--no-publish")
    js_ids = {i.listing.listing_id for i in mall.items if i.client_rendered}
    ids = {d["listing_id"] for d in read_jsonl(out)}
    assert ids == {i.listing.listing_id for i in mall.items} - js_ids
    assert stats["browser_pages"] == 0 and stats["js_skipped"] == len(js_ids)


def test_jobdir_crawl_paused_and_resumed_emits_every_listing_once(mall_url, tmp_path: Path) -> None:
    """Stopped after 100 listings and started again with the same JOBDIR, the crawl goes on where it
    stopped: listings carried to their shop pages in cb_kwargs come back from the disk queue."""
    mall, url = mall_url
    job = ["--no-js", "--no-publish", "-s", f"JOBDIR={tmp_path / 'job'}"]
    first = run_crawl(url, tmp_path / "part1.jsonl", tmp_path / "data", *job, "-s", "CLOSESPIDER_ITEMCOUNT=100")
    assert first["finish_reason"] == "closespider_itemcount"
    second = run_crawl(url, tmp_path / "part2.jsonl", tmp_path / "data", *job)
    assert second["finish_reason"] == "finished"
    part1 = [d["listing_id"] for d in read_jsonl(tmp_path / "part1.jsonl")]
    part2 = [d["listing_id"] for d in read_jsonl(tmp_path / "part2.jsonl")]
    assert 100 <= len(part1) < N and part2
    both = part1 + part2
    js_ids = {i.listing.listing_id for i in mall.items if i.client_rendered}
    assert len(both) == len(set(both))
    assert set(both) == {i.listing.listing_id for i in mall.items} - js_ids


def test_listing_with_a_5_mb_description_is_published_truncated(tmp_path: Path) -> None:
    from adapters.bus.sqlite import SqliteBus
    from sweep.bus import envelope
    from sweep.bus.base import TOPIC_LISTINGS

    mall = generate(40, 11, malformed=0, oversized_description=5_000_000)
    big = mall.items[0]
    assert len(big.served_description.encode()) >= 5_000_000  # type: ignore[union-attr]
    url, stop = run_in_thread(mall)
    try:
        stats = run_crawl(url, tmp_path / "out.jsonl", tmp_path / "data", "--no-js")
    finally:
        stop()
    assert stats["finish_reason"] == "finished" and stats["errors"] == 0
    assert stats["truncated"] == 1
    assert stats["listings"] == 40 - sum(i.client_rendered for i in mall.items)

    exported = {d["listing_id"]: d for d in read_jsonl(tmp_path / "out.jsonl")}
    lid = big.listing.listing_id
    assert exported[lid]["truncated"] == ["description"]
    assert len(exported[lid]["description"]) == 20_000 and exported[lid]["description"].endswith("…[截断]")
    assert exported[lid]["description"] == big.listing.description  # the ground truth, cut the same way
    assert all(d["truncated"] == [] for k, d in exported.items() if k != lid)

    bus = SqliteBus(tmp_path / "data" / "bus.sqlite")
    try:
        consumer = bus.consumer([TOPIC_LISTINGS], group="test-oversized")
        published = {}
        while batch := consumer.poll(max_records=500, timeout_s=0.1):
            for message in batch:
                _, doc = envelope.decode(message.value)
                published[doc["listing_id"]] = (doc, len(message.value))
        consumer.close()
    finally:
        bus.close()
    doc, size = published[lid]
    assert doc["truncated"] == ["description"] and doc["description"] == exported[lid]["description"]
    assert size < 1_000_000  # fits a Kafka message at the broker's default limit
