"""The indexer through real Kafka into real OpenSearch: end to end, crash (kill -9), outage, poison.

Each test has its own topics (`{run_prefix}.{id}.leads` ...), consumer group and index prefix, so runs
and parallel developers never see each other's data. The search engine outage is simulated with a
TCP proxy this test controls (the shared OpenSearch is never stopped).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from adapters.store.searchengine import admin, open_search_store
from adapters.store.searchengine.base import SearchEngineStore
from consumers.indexer import Indexer
from sweep.bus import envelope
from sweep.bus.base import Message
from sweep.models import Finding, LeadEvent, ListingSummary
from sweep.publishing import KIND_LEAD_EVENT
from sweep.settings import Settings
from sweep.store.base import LeadQuery

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PARTITIONS = 3


@dataclass
class Pipeline:
    leads: str
    listings: str
    deadletter: str
    group: str
    prefix: str
    kafka: str
    search_url: str

    @property
    def topics(self) -> list[str]:
        return [self.leads, self.listings]

    def bus(self):
        from adapters.bus.kafka import KafkaBus

        return KafkaBus(Settings(kafka=self.kafka, kafka_partitions=PARTITIONS))

    def store(self, url: str | None = None, **kw: object) -> SearchEngineStore:
        """The indices are created up front (as `sweep search init` does), so tests may count at once."""
        kw.setdefault("ensure", True)
        return open_search_store(Settings(search_url=url or self.search_url), prefix=self.prefix, **kw)  # type: ignore[arg-type]

    def indexer(self, bus, store, **kw: object) -> Indexer:
        return Indexer(bus, store, group=self.group, topics=self.topics, deadletter_topic=self.deadletter, **kw)  # type: ignore[arg-type]


@pytest.fixture
def pipeline(kafka_bootstrap: str, opensearch_url: str, run_prefix: str) -> Iterator[Pipeline]:
    tid = uuid.uuid4().hex[:6]
    p = Pipeline(
        leads=f"{run_prefix}.{tid}.leads",
        listings=f"{run_prefix}.{tid}.listings",
        deadletter=f"{run_prefix}.{tid}.deadletter",
        group=f"{run_prefix}-{tid}-indexer",
        prefix=f"{run_prefix}-{tid}",
        kafka=kafka_bootstrap,
        search_url=opensearch_url,
    )
    yield p
    with p.store(ensure=False) as store:
        admin.delete_all(store)  # type: ignore[arg-type]


def lead_event(n: int, minute: int = 0) -> LeadEvent:
    finding = Finding(
        platform="demomall", listing_id=f"L{n:06d}", family="chem.toxic", rule_id="chem.toxic/cyanide", severity="high"
    )
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=T0 + timedelta(minutes=minute),
        finding=finding,
        listing=ListingSummary(title=f"出售氰化钠 第{n}批", shop_name="华东化工旗舰店", region="上海"),
    )


def stream(unique: int, *, seed: int = 1) -> tuple[list[LeadEvent], dict[str, int]]:
    """Sightings of `unique` leads: up to 3 distinct times each, in time order per lead, plus exact
    duplicates (at-least-once redelivery by producers). Returns events and expected times_seen."""
    rnd = random.Random(seed)
    events: list[LeadEvent] = []
    expected: dict[str, int] = {}
    for minute in range(3):
        for n in range(unique):
            if minute and rnd.random() < 0.5:
                continue
            ev = lead_event(n, minute)
            events.append(ev)
            expected[ev.lead_id] = expected.get(ev.lead_id, 0) + 1
            if rnd.random() < 0.2:
                events.append(ev)  # duplicate delivery
    return events, expected


def publish(bus, topic: str, events: list[LeadEvent]) -> None:
    for ev in events:
        bus.publish(topic, ev.lead_id, envelope.encode(KIND_LEAD_EVENT, ev))
    bus.flush()


def check_times_seen(store: SearchEngineStore, expected: dict[str, int]) -> None:
    store.refresh()
    assert store.count() == len(expected)
    wrong = {}
    ids = list(expected)
    for k in range(0, len(ids), 500):
        for doc in store.mget(store.leads_alias, ids[k : k + 500]):
            got = doc["_source"]["times_seen"] if doc.get("found") else None
            if got != expected[doc["_id"]]:
                wrong[doc["_id"]] = (got, expected[doc["_id"]])
    assert not wrong, f"{len(wrong)} leads with wrong times_seen, e.g. {list(wrong.items())[:3]}"


def wait_until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def test_end_to_end_duplicates_count_once(pipeline: Pipeline) -> None:
    events, expected = stream(800)
    with pipeline.bus() as bus, pipeline.store() as store:
        publish(bus, pipeline.leads, events)
        stats = pipeline.indexer(bus, store, batch=250).run(stop_when_idle=True, idle_s=6)
        assert stats.messages == len(events)
        assert stats.created == len(expected) and stats.deadlettered == 0
        check_times_seen(store, expected)
        assert store.search(LeadQuery(text="氰化钠", size=1)).total == len(expected)
        # a second run of the same group has nothing left: everything was committed
        again = pipeline.indexer(bus, store).run(stop_when_idle=True, idle_s=6)
        assert again.messages == 0


def test_group_members_share_partitions(pipeline: Pipeline) -> None:
    events, expected = stream(900, seed=2)
    with pipeline.bus() as bus, pipeline.store() as store:
        publish(bus, pipeline.leads, events)
        results = []

        def member() -> None:
            with pipeline.store() as own:
                results.append(pipeline.indexer(bus, own, batch=100).run(stop_when_idle=True, idle_s=8))

        threads = [threading.Thread(target=member) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert sum(r.messages for r in results) >= len(events)  # a rebalance may redeliver some
        check_times_seen(store, expected)


def _indexer_cmd(p: Pipeline, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "app.cli.main", "consume", "indexer", "--group", p.group, "--batch", "200"]
    for topic in p.topics:
        cmd += ["--topic", topic]
    return [*cmd, "--deadletter-topic", p.deadletter, "--every", "1", *extra]


def _env(p: Pipeline) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SWEEP_KAFKA=p.kafka,
        SWEEP_SEARCH_URL=p.search_url,
        SWEEP_INDEX_PREFIX=p.prefix,
        SWEEP_KAFKA_PARTITIONS=str(PARTITIONS),
        PYTHONPATH=str(REPO),
    )
    return env


def test_crash_kill9_and_restart_loses_and_duplicates_nothing(pipeline: Pipeline, tmp_path: Path) -> None:
    events, expected = stream(15000, seed=3)  # long enough that the kill lands mid-stream
    with pipeline.bus() as bus, pipeline.store() as store:
        bus.ensure_topics([*pipeline.topics, pipeline.deadletter])
        log1 = (tmp_path / "indexer1.log").open("w")
        proc = subprocess.Popen(_indexer_cmd(pipeline), env=_env(pipeline), cwd=tmp_path, stdout=log1, stderr=log1)
        try:
            publisher = threading.Thread(target=publish, args=(bus, pipeline.leads, events))
            publisher.start()
            # kill -9 while it is mid-stream: some leads indexed, not all
            wait_until(lambda: store.count() >= 500, 120, "the first indexer to index something")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            publisher.join(timeout=120)
            indexed_at_crash = store.count()
            assert indexed_at_crash < len(expected), "indexer finished before the kill; make the stream longer"
        finally:
            if proc.poll() is None:
                proc.kill()
        log2 = (tmp_path / "indexer2.log").open("w")
        restarted = subprocess.run(
            # idle > Kafka's session timeout (30 s): the killed member holds its partitions until then
            [*_indexer_cmd(pipeline), "--until-idle", "--idle", "40"],
            env=_env(pipeline),
            cwd=tmp_path,
            stdout=log2,
            stderr=log2,
            timeout=300,
        )
        assert restarted.returncode == 0, (tmp_path / "indexer2.log").read_text()
        check_times_seen(store, expected)
        assert store.search(LeadQuery(size=0)).total == len(expected)  # one document per lead, no duplicates


class Proxy:
    """A TCP proxy in front of the search engine that the test can cut and restore (an outage without
    touching the shared server)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                with contextlib.suppress(OSError):  # wakes the thread blocked in accept() (Linux)
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_search_outage_backs_off_and_loses_nothing(pipeline: Pipeline) -> None:
    host, port = pipeline.search_url.split("://", 1)[1].rstrip("/").split(":")
    proxy = Proxy((host, int(port)))
    events, expected = stream(2000, seed=4)
    half = len(events) // 2
    stop = threading.Event()
    with pipeline.bus() as bus, pipeline.store() as direct, pipeline.store(proxy.url, timeout_s=5) as via_proxy:
        worker = pipeline.indexer(bus, via_proxy, batch=200, backoff_initial_s=0.2, backoff_max_s=1.0)
        runner = threading.Thread(target=worker.run, kwargs={"stop": stop})
        runner.start()
        try:
            publish(bus, pipeline.leads, events[:half])
            wait_until(lambda: direct.count() > 0, 120, "indexing through the proxy")
            proxy.cut()
            publish(bus, pipeline.leads, events[half:])
            wait_until(lambda: worker.stats.retries >= 3, 60, "the indexer to notice the outage")
            direct.refresh()
            during = direct.count()
            time.sleep(2)
            direct.refresh()
            assert direct.count() == during  # nothing gets through while cut
            proxy.restore()
            wait_until(lambda: direct.count() == len(expected), 180, "catching up after the outage")
            wait_until(lambda: worker.stats.messages >= len(events), 60, "all messages committed")
        finally:
            stop.set()
            runner.join(timeout=60)
            proxy.cut()
        assert worker.stats.deadlettered == 0
        assert worker.stats.retries >= 3
        check_times_seen(direct, expected)


def test_poison_messages_land_in_deadletter_with_original_bytes(pipeline: Pipeline) -> None:
    from kafka import KafkaConsumer

    good, expected = stream(50, seed=5)
    garbage = b"\x00\xffthis is not json{"
    wrong_version = orjson.dumps(
        {
            "kind": "lead_event",
            "schema_version": 999,
            "payload": orjson.loads(envelope.encode(KIND_LEAD_EVENT, good[0]))["payload"],
        }
    )
    wrong_shape = envelope.encode(KIND_LEAD_EVENT, {"lead_id": "x", "observed_at": "yesterday"})
    poison = [garbage, wrong_version, wrong_shape]
    with pipeline.bus() as bus, pipeline.store() as store:
        for k, ev in enumerate(good):
            bus.publish(pipeline.leads, ev.lead_id, envelope.encode(KIND_LEAD_EVENT, ev))
            if k in (10, 20, 30):
                bus.publish(pipeline.leads, f"poison-{k}", poison[(k // 10) - 1])
        bus.flush()
        stats = pipeline.indexer(bus, store).run(stop_when_idle=True, idle_s=6)
        assert stats.deadlettered == 3
        check_times_seen(store, expected)

    consumer = KafkaConsumer(
        pipeline.deadletter,
        bootstrap_servers=pipeline.kafka,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    dead: list[Message] = []
    for record in consumer:
        headers = {k: (v or b"").decode() for k, v in record.headers}
        dead.append(Message(record.topic, record.partition, record.offset, record.key.decode(), record.value, headers))
        if len(dead) == 3:
            break
    consumer.close()
    by_key = {m.key: m for m in dead}
    assert {m.value for m in dead} == set(poison)
    assert by_key["poison-10"].value == garbage and "not JSON" in by_key["poison-10"].headers["error"]
    assert "schema_version 999" in by_key["poison-20"].headers["error"]
    assert "ValidationError" in by_key["poison-30"].headers["error"]
    for m in dead:
        assert m.headers["source_topic"] == pipeline.leads
        assert m.headers["source_partition"].isdigit() and m.headers["source_offset"].isdigit()


def _read_all(kafka: str, topic: str, want: int) -> list[Message]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest", consumer_timeout_ms=10_000
    )
    got: list[Message] = []
    for record in consumer:
        headers = {k: (v or b"").decode() for k, v in record.headers}
        key = record.key.decode() if record.key is not None else None
        got.append(Message(record.topic, record.partition, record.offset, key, record.value, headers))
        if len(got) >= want:
            break
    consumer.close()
    return got


def test_oversized_dead_letter_ends_bounded_and_the_indexer_goes_on(pipeline: Pipeline) -> None:
    """A poison message whose dead letter exceeds the dead-letter topic's max.message.bytes (4 KiB here;
    1 MiB by default) is recorded as a bounded dead letter instead of blocking the group."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin_client = KafkaAdminClient(bootstrap_servers=pipeline.kafka)
    admin_client.create_topics(
        [
            NewTopic(
                pipeline.deadletter, num_partitions=1, replication_factor=1, topic_configs={"max.message.bytes": "4096"}
            )
        ]
    )
    admin_client.close()
    good, expected = stream(60, seed=6)
    big_poison = b"\x00" + os.urandom(20_000)  # random: gzip cannot shrink it under the limit
    small_poison = b"{not json"
    with pipeline.bus() as bus, pipeline.store() as store:
        for k, ev in enumerate(good):
            bus.publish(pipeline.leads, ev.lead_id, envelope.encode(KIND_LEAD_EVENT, ev))
            if k == 20:
                bus.publish(pipeline.leads, "poison-big", big_poison)
            if k == 40:
                bus.publish(pipeline.leads, "poison-small", small_poison)
        bus.flush()
        worker = pipeline.indexer(bus, store, deadletter_head_bytes=512)
        stats = worker.run(stop_when_idle=True, idle_s=6)
        assert stats.messages == len(good) + 2
        assert stats.deadlettered == 2 and stats.deadletters_bounded == 1 and stats.deadletters_dropped == 0
        assert worker.health()["state"] == "ok"
        check_times_seen(store, expected)
        assert pipeline.indexer(bus, store).run(stop_when_idle=True, idle_s=6).messages == 0  # all committed

    dead = _read_all(pipeline.kafka, pipeline.deadletter, want=10)
    by_key: dict[str | None, list[Message]] = {}
    for m in dead:
        by_key.setdefault(m.key, []).append(m)
    assert set(by_key) == {"poison-big", "poison-small"}
    assert {m.value for m in by_key["poison-small"]} == {small_poison}  # full size (perhaps twice: at-least-once)
    (bounded,) = by_key["poison-big"]
    record = orjson.loads(bounded.value)
    assert record["bounded"] is True and record["key"] == "poison-big"
    assert record["source_topic"] == pipeline.leads
    assert record["payload_bytes"] == len(big_poison)
    assert record["payload_sha256"] == hashlib.sha256(big_poison).hexdigest()
    assert base64.b64decode(record["payload_head_b64"]) == big_poison[:512]
    assert "not JSON" in record["error"]
    assert bounded.headers["bounded"] == "true"
    assert bounded.headers["source_offset"] == str(record["source_offset"])


# -- writing leads not in the cache without reading them first ("create" first) ---------------------


def test_create_first_on_a_known_lead_merges_and_keeps_triage(pipeline: Pipeline) -> None:
    """An indexer that does not know a lead (a restart, another group member) writes it with `create`
    unread; the lead exists, so that fails with 409 and the lead is read, merged and written guarded:
    the triage stays, the replay is not counted, the new sighting is."""
    with pipeline.store(refresh="wait_for") as first, pipeline.store(refresh="wait_for") as fresh:
        first.apply_events([lead_event(1, 0)])
        first.set_status(lead_event(1).lead_id, "confirmed", assignee="wang", note="已核实")  # type: ignore[arg-type]
        assert fresh._blind_creates()
        bulks: list[int] = []
        real_bulk = fresh.bulk
        fresh.bulk = lambda ops, refresh=False: bulks.append(len(ops)) or real_bulk(ops, refresh)  # type: ignore[method-assign]
        stats = fresh.apply_events([lead_event(1, 0), lead_event(1, 5)])
        assert (stats.created, stats.updated, stats.unchanged) == (0, 1, 1)
        assert bulks == [2, 2]  # the unread create, then the guarded write after the read
        lead = fresh.get(lead_event(1).lead_id)
        assert lead is not None and lead.times_seen == 2
        assert (lead.status, lead.assignee, lead.note) == ("confirmed", "wang", "已核实")


def test_create_first_stops_while_leads_mostly_exist(pipeline: Pipeline) -> None:
    """A batch whose unread creates mostly conflicted makes the next batch read first (one bulk, no
    409s); a batch whose reads find mostly new leads makes the one after it create unread again."""
    with pipeline.store(refresh="wait_for") as first, pipeline.store(refresh="wait_for") as fresh:
        first.apply_events([lead_event(n) for n in range(20)])
        calls: list[str] = []
        real_bulk, real_mget = fresh.bulk, fresh.mget
        fresh.bulk = lambda ops, refresh=False: calls.append("bulk") or real_bulk(ops, refresh)  # type: ignore[method-assign]
        fresh.mget = lambda index, ids: calls.append("mget") or real_mget(index, ids)  # type: ignore[method-assign]
        fresh.apply_events([lead_event(n, 1) for n in range(10)])
        assert calls == ["bulk", "mget", "bulk"] and not fresh._blind_creates()
        calls.clear()
        fresh.apply_events([lead_event(n, 1) for n in range(10, 20)])
        assert calls == ["mget", "bulk"]
        calls.clear()
        stats = fresh.apply_events([lead_event(n) for n in range(100, 110)])  # new leads, read first
        assert calls == ["mget", "bulk"] and stats.created == 10 and fresh._blind_creates()
        calls.clear()
        fresh.apply_events([lead_event(n) for n in range(200, 210)])
        assert calls == ["bulk"]
        fresh.refresh()
        assert fresh.count() == 40
        assert all(fresh.get(lead_event(n).lead_id).times_seen == 2 for n in range(20))  # type: ignore[union-attr]


def test_triage_between_the_conflict_and_the_rewrite_is_kept(pipeline: Pipeline) -> None:
    """A person triages the lead after our unread `create` failed and again after our re-read: each
    time the guarded write loses (409), the lead is read again, and the triage is never overwritten."""
    lead_id = lead_event(7).lead_id
    with pipeline.store(refresh="wait_for") as first, pipeline.store(refresh="wait_for") as fresh:
        first.apply_events([lead_event(7, 0)])
        with pipeline.store(refresh="wait_for") as person:
            real_bulk, real_mget = fresh.bulk, fresh.mget
            statuses = iter(["triaged", "confirmed"])

            def bulk(ops, refresh=False):  # type: ignore[no-untyped-def]
                response = real_bulk(ops, refresh)
                if next(iter(response["items"][0].values()))["status"] == 409 and "create" in ops[0]:
                    person.set_status(lead_id, next(statuses), note="看过")  # type: ignore[arg-type]
                return response

            def mget(index, ids):  # type: ignore[no-untyped-def]
                docs = real_mget(index, ids)
                status = next(statuses, None)
                if status is not None:  # after our re-read, before our guarded write
                    person.set_status(lead_id, status, assignee="li")  # type: ignore[arg-type]
                return docs

            fresh.bulk, fresh.mget = bulk, mget  # type: ignore[method-assign]
            stats = fresh.apply_events([lead_event(7, 3)])
        assert stats.updated == 1
        lead = first.get(lead_id)
        assert lead is not None and lead.times_seen == 2
        assert (lead.status, lead.assignee, lead.note) == ("confirmed", "li", "看过")


def test_two_indexers_racing_on_the_same_new_leads_count_each_sighting_once(pipeline: Pipeline) -> None:
    """Two stores (two indexer processes) write the same new leads at the same moment, both unread:
    one `create` wins, the other gets 409, reads, and finds its sighting already counted. Distinct
    sightings written concurrently are both counted."""
    with pipeline.store() as a, pipeline.store() as b:
        for attempt in range(3):
            base = 1000 * (attempt + 1)
            same = [lead_event(base + n) for n in range(200)]
            later = [lead_event(base + n, 9) for n in range(200, 300)]
            earlier = [lead_event(base + n, 0) for n in range(200, 300)]
            barrier = threading.Barrier(2)
            results: dict[str, object] = {}

            threads = [
                threading.Thread(target=_race, args=(barrier, results, "a", a, same + earlier)),
                threading.Thread(target=_race, args=(barrier, results, "b", b, same + later)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            ra, rb = results["a"], results["b"]
            assert ra.created + rb.created == 300  # type: ignore[attr-defined]
            assert ra.unchanged + rb.unchanged == 200  # type: ignore[attr-defined]
            assert ra.updated + rb.updated == 100  # type: ignore[attr-defined]
            check_times_seen(a, {e.lead_id: 1 for e in same} | {e.lead_id: 2 for e in later} | _earlier(attempt))


def _race(
    barrier: threading.Barrier, results: dict[str, object], name: str, store: SearchEngineStore, events: list[LeadEvent]
) -> None:
    barrier.wait()
    results[name] = store.apply_events(events)


def _earlier(attempt: int) -> dict[str, int]:
    """Leads of the racing test's earlier attempts, still in the index."""
    return {lead_event(1000 * (k + 1) + n).lead_id: 1 if n < 200 else 2 for k in range(attempt) for n in range(300)}


def test_documents_built_ahead_are_used_only_for_leads_still_new(pipeline: Pipeline) -> None:
    """`prepare_events` builds the document of each uncached lead as if it were new; when another
    writer created one of them meanwhile, the `create` fails and that lead is read and merged (its
    prepared document is not written over it); with other events than prepared, it is rebuilt."""
    with pipeline.store(refresh="wait_for") as other, pipeline.store(refresh="wait_for") as store:
        events = [lead_event(n, 2) for n in range(5)] + [lead_event(0, 4)]
        prepared = store.prepare_events(events)
        assert set(prepared.new_docs) == {e.lead_id for e in events}
        other.apply_events([lead_event(1, 0)])
        other.set_status(lead_event(1).lead_id, "dismissed")  # type: ignore[arg-type]
        stats = store.apply_events(prepared)
        assert (stats.created, stats.updated, stats.unchanged) == (4, 1, 0)
        assert store.get(lead_event(0).lead_id).times_seen == 2  # type: ignore[union-attr]
        merged = store.get(lead_event(1).lead_id)
        assert merged is not None and merged.times_seen == 2 and merged.status == "dismissed"
        assert store._blind_creates()
        stale = store.prepare_events([lead_event(10, 1)])
        stale.append(lead_event(10, 6))  # not what was prepared: the lead is built from what is applied
        assert store.apply_events(stale).created == 1
        assert store.get(lead_event(10).lead_id).times_seen == 2  # type: ignore[union-attr]
        assert not store.prepare_events([lead_event(10, 8)]).new_docs  # cached leads are not built ahead
