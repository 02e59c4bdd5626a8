"""The crawl frontier on real Kafka: a 5,000-listing demo mall crawled by two `sweep crawl-worker`
processes sharing the frontier as a consumer group; one is killed with SIGKILL mid-crawl. Its
partitions move to the other (after Kafka's session timeout), which replays what the dead one had not
confirmed. The job ends with exactly the mall's listings, counted once, and the leads on the bus are
exactly the leads of the mall's listings (replayed sightings carry the same lead ids: no lead is
duplicated).

Topics carry the session's prefix (`run_prefix`); the operations store is an SQLite file both workers
share, as two workers on one host would (PostgreSQL in production)."""

from __future__ import annotations

import os
import signal
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
from operations.jobs import launch
from rules import load_rulebook
from sweep.bus import envelope
from sweep.settings import Settings
from sweep.store.operations import JobState, Target, Trigger

pytestmark = [pytest.mark.integration]

N = 5000
SHARDS = 6


@pytest.fixture(scope="module")
def mall() -> Iterator[tuple[Mall, str]]:
    mall = generate(N, 12, client_rendered_share=0.0)
    url, stop = run_in_thread(mall)
    yield mall, url
    stop()


def _read_topic(settings: Settings, topic: str, group: str, expect_at_least: int) -> list[tuple[str | None, dict]]:
    """Every message of `topic` (envelope payloads with their keys), reading until it stops growing."""
    out: list[tuple[str | None, dict]] = []
    bus = KafkaBus(settings)
    with bus.consumer([topic], group) as consumer:
        empty = 0
        while empty < (3 if len(out) >= expect_at_least else 30):
            batch = consumer.poll(2000, timeout_s=1.0)
            empty = 0 if batch else empty + 1
            out += [(m.key, envelope.decode(m.value)[1]) for m in batch]
    bus.close()
    return out


def test_two_workers_one_killed_crawl_exactly_the_mall(
    mall: tuple[Mall, str], kafka_bootstrap: str, run_prefix: str, tmp_path: Path
) -> None:
    m, url = mall
    prefix = f"{run_prefix}.frontier"
    settings = Settings(kafka=kafka_bootstrap, topic_prefix=prefix, data_dir=tmp_path)
    store = SqlOperationsStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    target = store.add_target(
        Target(name="mall", spider="demo_mall", base_url=url, settings={"frontier_shards": SHARDS})
    )
    bus = KafkaBus(settings)
    job = launch(store, bus, settings.topics.crawl_requests, target, trigger=Trigger.PERSON, requested_by="test")
    bus.close()

    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL")} | {
        "SWEEP_KAFKA": kafka_bootstrap,
        "SWEEP_TOPIC_PREFIX": prefix,
        "SWEEP_DATA_DIR": str(tmp_path),
    }

    def worker(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        return subprocess.Popen(
            [sys.executable, "-m", "app", "crawl-worker", "--no-js", "--batch", "100", "--group", f"{prefix}-w"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    a, b = worker("a"), worker("b")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            j = store.get_job(job.id)
            assert j is not None
            if j.stats.listings >= N // 5:
                break
            assert a.poll() is None and b.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
            time.sleep(0.3)
        a.send_signal(signal.SIGKILL)
        a.wait(timeout=30)
        killed_at = store.get_job(job.id)
        assert killed_at is not None and killed_at.state == JobState.RUNNING and killed_at.stats.listings < N

        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            j = store.get_job(job.id)
            assert j is not None
            if j.state.final:
                break
            assert b.poll() is None, (tmp_path / "b.log").read_text()[-3000:]
            time.sleep(1.0)
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in (a, b):
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    done = store.get_job(job.id)
    assert done is not None and done.state == JobState.FINISHED, (done, (tmp_path / "b.log").read_text()[-3000:])
    assert done.stats.listings == N
    assert store.pending_count(job.id) == 0

    expected_ids = {i.listing.listing_id for i in m.items}
    listings = _read_topic(settings, settings.topics.listings, f"{prefix}-check-l", N)
    assert {p["listing_id"] for _, p in listings} == expected_ids

    rulebook = load_rulebook()
    expected_leads = {f.lead_id for lst in m.listings(url) for f in rulebook.scan(lst)}
    leads = _read_topic(settings, settings.topics.leads, f"{prefix}-check-e", len(expected_leads))
    lead_ids = [p["lead_id"] for _, p in leads]
    assert set(lead_ids) == expected_leads
    assert all(key == p["lead_id"] for key, p in leads)  # keyed by lead: a replayed sighting updates, never adds
