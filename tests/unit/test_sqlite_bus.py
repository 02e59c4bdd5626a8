from __future__ import annotations

import multiprocessing as mp

from adapters.bus.sqlite import SqliteBus
from sweep.bus.base import Topics
from sweep.models import Finding
from tests.conftest import make_event, make_listing


def test_messages_are_invisible_until_flushed_and_ordered(tmp_path):
    bus = SqliteBus(tmp_path / "bus.sqlite")
    bus.publish("t", "a", b"1")
    consumer = bus.consumer(["t"], "g")
    assert consumer.poll(timeout_s=0) == []
    bus.publish("t", "b", b"2", {"h": "v"})
    bus.flush()
    got = consumer.poll(timeout_s=0)
    assert [(m.key, m.value) for m in got] == [("a", b"1"), ("b", b"2")]
    assert got[1].headers == {"h": "v"}


def test_uncommitted_messages_are_redelivered_to_the_group(tmp_path):
    bus = SqliteBus(tmp_path / "bus.sqlite")
    for i in range(10):
        bus.publish("t", str(i), str(i).encode())
    bus.flush()
    first = bus.consumer(["t"], "g")
    batch = first.poll(max_records=4, timeout_s=0)
    first.commit(batch)
    first.poll(max_records=4, timeout_s=0)  # read but never committed: the consumer "crashes"
    first.close()
    again = bus.consumer(["t"], "g")
    assert [m.value for m in again.poll(timeout_s=0)] == [str(i).encode() for i in range(4, 10)]
    other_group = bus.consumer(["t"], "other")
    assert len(other_group.poll(timeout_s=0)) == 10


def test_commit_never_moves_backwards(tmp_path):
    bus = SqliteBus(tmp_path / "bus.sqlite")
    for _i in range(5):
        bus.publish("t", None, b"x")
    bus.flush()
    c = bus.consumer(["t"], "g")
    msgs = c.poll(timeout_s=0)
    c.commit(msgs)
    c.commit(msgs[:1])
    assert bus.consumer(["t"], "g").poll(timeout_s=0) == []


def _produce(path, n):
    bus = SqliteBus(path)
    for i in range(n):
        bus.publish("t", str(i), b"p")
    bus.close()


def test_several_processes_share_the_log(tmp_path):
    path = tmp_path / "bus.sqlite"
    SqliteBus(path).close()
    procs = [mp.get_context("spawn").Process(target=_produce, args=(path, 1500)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert len(SqliteBus(path).consumer(["t"], "g").poll(max_records=10_000, timeout_s=0)) == 3000


def test_embedded_pipeline_with_a_topic_prefix(tmp_path, monkeypatch, later):
    """The embedded path of `sweep demo`: Publisher -> SQLite bus -> Indexer (writer thread) -> SQLite
    store, all on the topics of SWEEP_TOPIC_PREFIX; another prefix's messages stay unread."""
    from adapters.store.sqlite import SqliteLeadStore
    from consumers.indexer import Indexer
    from sweep.publishing import Publisher
    from sweep.settings import get_settings

    monkeypatch.setenv("SWEEP_TOPIC_PREFIX", "demo1")
    get_settings.cache_clear()
    bus = SqliteBus(tmp_path / "bus.sqlite")
    other = Publisher(bus, Topics("demo0"))
    mine = Publisher(bus)
    for n in range(40):
        ev = make_event(listing_id=f"L{n}", at=later(n % 2))
        listing = make_listing(f"L{n}")
        finding = Finding(**ev.finding.model_dump())
        mine.publish_listing(listing)
        mine.publish_findings(listing, [finding], observed_at=ev.observed_at)
        other.publish_findings(listing, [finding], observed_at=ev.observed_at)
    mine.flush()
    store = SqliteLeadStore(tmp_path / "leads.sqlite")
    stats = Indexer(bus, store, batch=16).run(stop_when_idle=True, idle_s=0.05)
    assert (mine.topics.leads, mine.topics.listings) == ("demo1.leads", "demo1.listings")
    assert stats.messages == 80 and stats.lead_events == 40 and stats.listings == 40
    assert stats.created == 40 and stats.deadlettered == 0
    assert store.count() == 40
    store.close()
    bus.close()
    get_settings.cache_clear()
