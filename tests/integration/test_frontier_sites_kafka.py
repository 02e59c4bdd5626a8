"""Real-site spiders on the frontier over real Kafka: a product_pages job on a tiny JSON-LD shop and a
demo mall job, launched together, are both crawled by one `sweep crawl-worker` (started for the demo
mall) to exactly their listings, each shop page fetched once and robots.txt's disallowed page never."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bus.kafka import KafkaBus
from adapters.people.operations_sql import SqlOperationsStore
from demomall.generator import Mall, generate
from demomall.server import run_in_thread
from operations.jobs import SPIDER_ARGS, launch
from sweep.bus import envelope
from sweep.settings import Settings
from sweep.store.operations import JobState, Target, Trigger
from tests.integration.tiny_shop import SECRET, TinyShop

pytestmark = [pytest.mark.integration]

N = 30


@pytest.fixture
def sites() -> Iterator[tuple[Mall, str, TinyShop]]:
    mall = generate(N, 5, client_rendered_share=0.0)
    url, stop = run_in_thread(mall)
    shop = TinyShop.start(host="127.0.0.2")  # its own host: product_pages' 1 s pace is not the mall's
    yield mall, url, shop
    shop.stop()
    stop()


def _listings(settings: Settings, expect: int) -> list[tuple[str, str]]:
    """(platform, listing id) of every listing on the bus, read until it stops growing."""
    out: list[tuple[str, str]] = []
    bus = KafkaBus(settings)
    with bus.consumer([settings.topics.listings], "check-sites") as consumer:
        empty = 0
        while empty < (3 if len(out) >= expect else 30):
            batch = consumer.poll(2000, timeout_s=1.0)
            empty = 0 if batch else empty + 1
            for m in batch:
                doc = envelope.decode(m.value)[1]
                out.append((doc["platform"], doc["listing_id"]))
    bus.close()
    return out


def test_one_worker_crawls_a_product_pages_job_and_a_demo_mall_job(
    sites: tuple[Mall, str, TinyShop], kafka_bootstrap: str, run_prefix: str, tmp_path: Path
) -> None:
    mall, mall_url, shop = sites
    prefix = f"{run_prefix}.sites"
    settings = Settings(kafka=kafka_bootstrap, topic_prefix=prefix, data_dir=tmp_path)
    store = SqlOperationsStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    shop_target = store.add_target(
        Target(name="shop", spider="product_pages", base_url=shop.url, settings={SPIDER_ARGS: {"follow": "false"}})
    )
    mall_target = store.add_target(Target(name="mall", spider="demo_mall", base_url=mall_url))
    bus = KafkaBus(settings)
    topic = settings.topics.crawl_requests
    jobs = [
        launch(store, bus, topic, t, trigger=Trigger.PERSON, requested_by="test") for t in (shop_target, mall_target)
    ]
    bus.close()

    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL")} | {
        "SWEEP_KAFKA": kafka_bootstrap,
        "SWEEP_TOPIC_PREFIX": prefix,
        "SWEEP_DATA_DIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "crawl-worker", "--no-js", "--group", f"{prefix}-w"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states = [store.get_job(j.id) for j in jobs]
            if all(s is not None and s.state.final for s in states):
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    shop_job, mall_job = (store.get_job(j.id) for j in jobs)
    assert shop_job is not None and shop_job.state == JobState.FINISHED, shop_job
    assert mall_job is not None and mall_job.state == JobState.FINISHED, mall_job
    assert shop_job.stats.listings == 3
    assert mall_job.stats.listings == N
    on_bus = _listings(settings, 3 + N)
    host = "127.0.0.2"
    assert sorted(i for p, i in on_bus if p == host) == ["SKU-1", "SKU-2", "SKU-3"]
    assert sorted(i for p, i in on_bus if p != host) == sorted(i.listing.listing_id for i in mall.items)
    for path in ("/sitemap.xml", "/p/1.html", "/p/2.html", "/p/3.html"):
        assert shop.fetched(path) == 1, shop.hits
    assert shop.fetched(SECRET) == 0
