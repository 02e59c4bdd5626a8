"""Indexer logic over tiny in-memory fakes of the Bus and LeadStore ports."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from consumers.indexer import Indexer, is_transient
from sweep.bus import envelope
from sweep.bus.base import (
    TOPIC_DEADLETTER,
    TOPIC_LEADS,
    TOPIC_LISTINGS,
    Bus,
    BusConsumer,
    Message,
    MessageRejectedError,
)
from sweep.models import Finding, Lead, LeadEvent, Listing, ListingSummary, TriageStatus
from sweep.publishing import KIND_LEAD_EVENT, KIND_LISTING
from sweep.store.base import LeadQuery, LeadSearchResult, LeadStore, UpsertStats

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class FakeBus(Bus):
    def __init__(self) -> None:
        self.log: dict[str, list[Message]] = {}
        self.committed: dict[tuple[str, str, int], int] = {}
        self.flushes = 0

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        msgs = self.log.setdefault(topic, [])
        msgs.append(Message(topic, 0, len(msgs), key, value, dict(headers or {})))

    def flush(self, timeout_s: float = 60.0) -> None:
        self.flushes += 1

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        return FakeConsumer(self, list(topics), group)

    def close(self) -> None:
        pass


class FakeConsumer(BusConsumer):
    def __init__(self, bus: FakeBus, topics: list[str], group: str) -> None:
        self.bus, self.topics, self.group = bus, topics, group
        self.pos = {t: bus.committed.get((group, t, 0), 0) for t in topics}

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        out: list[Message] = []
        for t in self.topics:
            msgs = self.bus.log.get(t, [])[self.pos[t] :][: max_records - len(out)]
            self.pos[t] += len(msgs)
            out.extend(msgs)
        return out

    def commit(self, messages: Sequence[Message]) -> None:
        for m in messages:
            key = (self.group, m.topic, m.partition)
            self.bus.committed[key] = max(self.bus.committed.get(key, 0), m.offset + 1)

    def close(self) -> None:
        pass


class Down(ConnectionError):
    pass


class FakeStore(LeadStore):
    """Applies Lead.sighted in memory; can be told to fail (transiently or on a poisoned lead)."""

    def __init__(self) -> None:
        self.leads: dict[str, Lead] = {}
        self.listings: dict[str, Listing] = {}
        self.down_calls = 0
        self.poison: set[str] = set()
        self.calls = 0

    def apply_events(self, events: Iterable[LeadEvent]) -> UpsertStats:
        self.calls += 1
        events = list(events)
        if self.down_calls:
            self.down_calls -= 1
            raise Down("connection refused")
        if any(e.lead_id in self.poison for e in events):
            raise ValueError("mapper_parsing_exception")
        stats = UpsertStats()
        for e in events:
            cur = self.leads.get(e.lead_id)
            if cur is None:
                self.leads[e.lead_id] = Lead.from_event(e)
                stats.created += 1
            else:
                new = cur.sighted(e)
                if new is cur:
                    stats.unchanged += 1
                else:
                    self.leads[e.lead_id] = new
                    stats.updated += 1
        return stats

    def index_listings(self, listings: Iterable[Listing]) -> int:
        n = 0
        for item in listings:
            self.listings[item.key] = item
            n += 1
        return n

    def get(self, lead_id: str) -> Lead | None:
        return self.leads.get(lead_id)

    def set_status(self, lead_id: str, status: TriageStatus, *, assignee=None, note=None) -> Lead:
        raise NotImplementedError

    def search(self, query: LeadQuery) -> LeadSearchResult:
        raise NotImplementedError

    def count(self) -> int:
        return len(self.leads)


def event(n: int, minutes: int = 0) -> LeadEvent:
    finding = Finding(
        platform="demomall", listing_id=f"L{n}", family="chem.toxic", rule_id="chem.toxic/cyanide", severity="high"
    )
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=T0 + timedelta(minutes=minutes),
        finding=finding,
        listing=ListingSummary(title=f"出售氰化钠 {n}"),
    )


def publish_event(bus: FakeBus, ev: LeadEvent) -> None:
    bus.publish(TOPIC_LEADS, ev.lead_id, envelope.encode(KIND_LEAD_EVENT, ev))


def test_duplicates_and_replays_count_once() -> None:
    bus, store = FakeBus(), FakeStore()
    for n in range(10):
        publish_event(bus, event(n))
        publish_event(bus, event(n))  # duplicate delivery
    publish_event(bus, event(3, minutes=5))  # a newer sighting
    bus.publish(
        TOPIC_LISTINGS,
        "demomall:L1",
        envelope.encode(KIND_LISTING, Listing(platform="demomall", listing_id="L1", title="x")),
    )
    stats = Indexer(bus, store, batch=7).run(stop_when_idle=True, idle_s=0.01)
    assert store.count() == 10
    assert store.leads[event(3).lead_id].times_seen == 2
    assert stats.messages == 22 and stats.created == 10 and stats.deadlettered == 0
    assert stats.listings_written == 1
    # committed everything: a second run sees nothing
    again = Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert again.messages == 0


def test_poison_messages_go_to_deadletter_with_original_bytes() -> None:
    bus, store = FakeBus(), FakeStore()
    publish_event(bus, event(1))
    garbage = b"\xff\xfe not json"
    bus.publish(TOPIC_LEADS, "k1", garbage)
    wrong_version = orjson.dumps({"kind": "lead_event", "schema_version": 99, "payload": {}})
    bus.publish(TOPIC_LEADS, "k2", wrong_version)
    bad_schema = envelope.encode(KIND_LEAD_EVENT, {"lead_id": "x"})  # fails LeadEvent validation
    bus.publish(TOPIC_LEADS, "k3", bad_schema)
    wrong_kind = envelope.encode(KIND_LISTING, Listing(platform="p", listing_id="1", title="t"))
    bus.publish(TOPIC_LEADS, "k4", wrong_kind)
    publish_event(bus, event(2))
    stats = Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert store.count() == 2
    dead = bus.log[TOPIC_DEADLETTER]
    assert [m.value for m in dead] == [garbage, wrong_version, bad_schema, wrong_kind]
    assert "schema_version 99" in dead[1].headers["error"]
    assert dead[0].headers["source_topic"] == TOPIC_LEADS and dead[0].headers["source_offset"] == "1"
    assert stats.deadlettered == 4
    assert bus.committed[("sweep-indexer", TOPIC_LEADS, 0)] == 6


def test_unindexable_event_is_isolated_and_deadlettered() -> None:
    bus, store = FakeBus(), FakeStore()
    for n in range(5):
        publish_event(bus, event(n))
    store.poison.add(event(2).lead_id)
    stats = Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert store.count() == 4
    assert stats.deadlettered == 1
    assert "mapper_parsing_exception" in bus.log[TOPIC_DEADLETTER][0].headers["error"]


def test_outage_backs_off_and_retries_without_commit() -> None:
    bus, store = FakeBus(), FakeStore()
    for n in range(3):
        publish_event(bus, event(n))
    store.down_calls = 5
    sleeps: list[float] = []
    worker = Indexer(bus, store, backoff_initial_s=1, backoff_max_s=4, sleep=sleeps.append)
    stats = worker.run(stop_when_idle=True, idle_s=0.01)
    assert sleeps == [1, 2, 4, 4, 4]
    assert store.count() == 3 and stats.retries == 5 and stats.deadlettered == 0


def test_stop_during_outage_commits_nothing() -> None:
    bus, store = FakeBus(), FakeStore()
    publish_event(bus, event(1))
    store.down_calls = 10**6
    stop = threading.Event()
    worker = Indexer(bus, store, sleep=lambda s: stop.set())
    worker.run(stop=stop)
    assert bus.committed == {}
    store.down_calls = 0
    Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert store.count() == 1


def test_is_transient() -> None:
    class ApiError(Exception):
        def __init__(self, status: int) -> None:
            self.status_code = status

    assert is_transient(ConnectionRefusedError())
    assert is_transient(TimeoutError())
    assert is_transient(ApiError(503)) and is_transient(ApiError(429))
    assert not is_transient(ApiError(400))
    assert not is_transient(ValueError("bad"))
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


@pytest.mark.parametrize("status", [500, 502])
def test_5xx_is_transient(status: int) -> None:
    class TransportError(Exception):
        status_code = status

    assert is_transient(TransportError())


# -- overlap, topic names, bounded dead letters, health ---------------------------------------------


@pytest.mark.parametrize("overlap", [True, False])
def test_overlapped_and_serial_writes_give_the_same_result(overlap: bool) -> None:
    bus, store = FakeBus(), FakeStore()
    for n in range(30):
        publish_event(bus, event(n))
        publish_event(bus, event(n, minutes=n % 3))  # a later sighting for two thirds of them
    stats = Indexer(bus, store, batch=8, overlap=overlap).run(stop_when_idle=True, idle_s=0.01)
    assert stats.messages == 60 and stats.batches == 8
    assert stats.created == 30 and stats.updated == 20 and stats.unchanged == 10
    assert store.leads[event(1).lead_id].times_seen == 2
    assert store.leads[event(3).lead_id].times_seen == 1
    assert bus.committed[("sweep-indexer", TOPIC_LEADS, 0)] == 60


def test_indexer_and_publisher_use_the_configured_topic_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from sweep.publishing import Publisher
    from sweep.settings import get_settings

    monkeypatch.setenv("SWEEP_TOPIC_PREFIX", "it7")
    get_settings.cache_clear()
    bus, store = FakeBus(), FakeStore()
    ev = event(1)
    Publisher(bus).publish_listing(Listing(platform="demomall", listing_id="L1", title="出售氰化钠"))
    bus.publish("it7.leads", ev.lead_id, envelope.encode(KIND_LEAD_EVENT, ev))
    bus.publish(TOPIC_LEADS, "other", b"an earlier deployment's message, not ours")
    stats = Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert set(bus.log) == {"it7.listings", "it7.leads", TOPIC_LEADS}
    assert stats.messages == 2 and stats.listings_written == 1 and store.count() == 1
    assert stats.deadlettered == 0 and "it7.deadletter" not in bus.log
    get_settings.cache_clear()


class SizeLimitedBus(FakeBus):
    """Refuses (at flush, as Kafka's broker does) any message on `limited` larger than `max_bytes`."""

    def __init__(self, limited: str, max_bytes: int) -> None:
        super().__init__()
        self.limited, self.max_bytes = limited, max_bytes
        self.pending: list[tuple[str, str | None, bytes, dict[str, str]]] = []
        self.refused = 0

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        self.pending.append((topic, key, value, dict(headers or {})))

    def flush(self, timeout_s: float = 60.0) -> None:
        pending, self.pending = self.pending, []
        too_big = 0
        for topic, key, value, headers in pending:
            size = len(value) + sum(len(k) + len(v.encode()) for k, v in headers.items())
            if topic == self.limited and size > self.max_bytes:
                too_big += 1
            else:
                super().publish(topic, key, value, headers)
        if too_big:
            self.refused += too_big
            raise MessageRejectedError(f"{too_big} message(s) larger than {self.max_bytes} bytes")


def test_oversized_dead_letter_is_sent_bounded_and_the_indexer_goes_on() -> None:
    bus, store = SizeLimitedBus(TOPIC_DEADLETTER, max_bytes=4096), FakeStore()
    big_poison = b"\xff" + bytes(range(256)) * 80  # 20 KiB, not JSON
    small_poison = b"not json either"
    publish_event(bus, event(1))
    bus.publish(TOPIC_LEADS, "big", big_poison)
    bus.publish(TOPIC_LEADS, "small", small_poison)
    publish_event(bus, event(2))
    bus.flush()
    stats = Indexer(bus, store, deadletter_head_bytes=100).run(stop_when_idle=True, idle_s=0.01)

    assert store.count() == 2
    assert stats.deadlettered == 2 and stats.deadletters_bounded == 1 and stats.deadletters_dropped == 0
    assert bus.committed[("sweep-indexer", TOPIC_LEADS, 0)] == 4
    dead = bus.log[TOPIC_DEADLETTER]
    # the small one went through at full size (twice: once with the batch, once one by one)
    assert [m.value for m in dead if m.key == "small"] == [small_poison, small_poison]
    (bounded,) = [m for m in dead if m.key == "big"]
    record = orjson.loads(bounded.value)
    assert record["bounded"] is True
    assert record["key"] == "big"
    assert (record["source_topic"], record["source_partition"], record["source_offset"]) == (TOPIC_LEADS, 0, 1)
    assert record["payload_bytes"] == len(big_poison)
    assert record["payload_sha256"] == hashlib.sha256(big_poison).hexdigest()
    assert base64.b64decode(record["payload_head_b64"]) == big_poison[:100]
    assert "not JSON" in record["error"]
    assert bounded.headers["bounded"] == "true" and bounded.headers["source_offset"] == "1"
    assert len(bounded.value) < 4096


def test_dead_letter_refused_even_bounded_is_dropped_with_an_error_not_retried_forever() -> None:
    bus, store = SizeLimitedBus(TOPIC_DEADLETTER, max_bytes=10), FakeStore()
    bus.publish(TOPIC_LEADS, "poison", b"x" * 5000)
    publish_event(bus, event(1))
    bus.flush()
    stats = Indexer(bus, store).run(stop_when_idle=True, idle_s=0.01)
    assert store.count() == 1
    assert stats.deadlettered == 1 and stats.deadletters_dropped == 1 and stats.retries == 0
    assert bus.refused == 4  # the batch, then full, bounded and minimal one by one
    assert TOPIC_DEADLETTER not in bus.log
    assert bus.committed[("sweep-indexer", TOPIC_LEADS, 0)] == 2


def test_health_says_backing_off_then_stuck_and_ok_again() -> None:
    bus, store = FakeBus(), FakeStore()
    publish_event(bus, event(1))
    store.down_calls = 4
    seen: list[tuple[str, int]] = []
    worker = Indexer(bus, store, backoff_initial_s=1, sleep=lambda s: None, stuck_after_s=10**9)
    worker.run(stop_when_idle=True, idle_s=0.01, on_retry=lambda h: seen.append((h["state"], h["attempts"])))
    assert seen == [("backing_off", 1), ("backing_off", 2), ("backing_off", 3), ("backing_off", 4)]
    assert worker.health() == {
        "state": "ok",
        "failing_for_s": 0.0,
        "attempts": 0,
        "stuck_after_s": 10**9,
        "last_error": None,
    }

    publish_event(bus, event(2))
    store.down_calls = 2
    states: list[dict] = []
    stuck = Indexer(bus, store, sleep=lambda s: None, stuck_after_s=0)
    stuck.run(stop_when_idle=True, idle_s=0.01, on_retry=states.append)
    assert [h["state"] for h in states] == ["stuck", "stuck"]
    assert "connection refused" in states[-1]["last_error"]
    assert stuck.health()["state"] == "ok" and store.count() == 2


def test_message_rejected_is_never_transient() -> None:
    class Rejected(MessageRejectedError):
        pass

    assert not is_transient(Rejected("too large"))
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as inner:
            raise Rejected("too large") from inner
    except Rejected as outer:
        assert not is_transient(outer)
