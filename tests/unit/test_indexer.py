"""Indexer logic over tiny in-memory fakes of the Bus and LeadStore ports."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from consumers.indexer import Indexer, is_transient
from sweep.bus import envelope
from sweep.bus.base import TOPIC_DEADLETTER, TOPIC_LEADS, TOPIC_LISTINGS, Bus, BusConsumer, Message
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
