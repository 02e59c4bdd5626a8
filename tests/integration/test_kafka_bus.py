"""KafkaBus against a real broker: the delivery guarantees the consumers rely on.

Each test uses its own topics and groups (under the session's `run_prefix`), so the tests neither
depend on each other nor on what other runs left in the broker.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from adapters.bus.kafka import BusDeliveryError, BusUnavailableError, KafkaBus, KafkaBusConsumer, MessageRejected
from sweep.bus.base import Message, MessageRejectedError
from sweep.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def names(run_prefix: str) -> Callable[[str], str]:
    unique = uuid.uuid4().hex[:6]
    return lambda what: f"{run_prefix}.{unique}.{what}"


@pytest.fixture
def make_bus(kafka_bootstrap: str) -> Iterator[Callable[..., KafkaBus]]:
    buses: list[KafkaBus] = []

    def make(partitions: int = 6, **overrides: object) -> KafkaBus:
        bus = KafkaBus(Settings(kafka=kafka_bootstrap, kafka_partitions=partitions, kafka_replication=1), **overrides)
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        # a test that provoked a failed delivery has asserted on it already
        with contextlib.suppress(BusDeliveryError):
            bus.close()


def drain(consumer: KafkaBusConsumer, want: int, timeout_s: float = 30.0) -> list[Message]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += consumer.poll(max_records=500, timeout_s=0.5)
    return got


def test_round_trip_publish_flush_consume_commit(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus()
    topic, group = names("listings"), names("g")
    sent = {f"k{i}": f"value {i} 减肥药".encode() for i in range(40)}
    for key, value in sent.items():
        bus.publish(topic, key, value, {"kind": "listing", "n": key})
    bus.flush()

    with bus.consumer([topic], group) as consumer:
        got = drain(consumer, len(sent))
        assert {m.key: m.value for m in got} == sent
        assert all(m.topic == topic and m.headers == {"kind": "listing", "n": m.key} for m in got)
        consumer.commit(got)
    # everything was committed: the next member of the group starts after it
    with bus.consumer([topic], group) as consumer:
        assert drain(consumer, 1, timeout_s=5) == []
    # another group reads the topic from the beginning
    with bus.consumer([topic], names("other")) as consumer:
        assert len(drain(consumer, len(sent))) == len(sent)


def test_same_key_same_partition_and_order(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=6)
    topic = names("leads")
    keys = [f"shop-{i}" for i in range(12)]
    for round_ in range(5):
        for key in keys:
            bus.publish(topic, key, f"{key}:{round_}".encode())
    bus.flush()
    with bus.consumer([topic], names("g")) as consumer:
        got = drain(consumer, len(keys) * 5)
    assert len(got) == len(keys) * 5
    by_key: dict[str, set[int]] = {}
    for m in got:
        assert m.key is not None
        by_key.setdefault(m.key, set()).add(m.partition)
    assert all(len(parts) == 1 for parts in by_key.values()), by_key
    assert len({p for parts in by_key.values() for p in parts}) > 1, "12 keys all hashed to one partition"
    for key in keys:  # per-key order is publish order
        rounds = [int(m.value.decode().split(":")[1]) for m in got if m.key == key]
        assert rounds == sorted(rounds) == list(range(5))


def test_second_consumer_in_group_shares_partitions(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=4)
    topic, group = names("listings"), names("g")
    bus.ensure_topics([topic])
    c1, c2 = bus.consumer([topic], group), bus.consumer([topic], group)
    try:
        # wait for a stable split: both members assigned, disjoint, covering the 4 partitions
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            c1.poll(timeout_s=0.2)
            c2.poll(timeout_s=0.2)
            a1, a2 = c1._consumer.assignment(), c2._consumer.assignment()
            if a1 and a2 and not (a1 & a2) and len(a1 | a2) == 4:
                break
        else:
            pytest.fail(f"group never split the partitions: {a1} / {a2}")
        for i in range(80):
            bus.publish(topic, f"key-{i}", f"{i}".encode())
        bus.flush()
        got1: list[Message] = []
        got2: list[Message] = []
        deadline = time.monotonic() + 30
        while len(got1) + len(got2) < 80 and time.monotonic() < deadline:
            got1 += c1.poll(timeout_s=0.3)
            got2 += c2.poll(timeout_s=0.3)
        values = sorted(int(m.value) for m in got1 + got2)
        assert values == list(range(80)), "each message exactly once across the group"
        assert got1 and got2, "both members received work"
        assert not ({m.partition for m in got1} & {m.partition for m in got2})
        c1.commit(got1)
        c2.commit(got2)
    finally:
        c1.close()
        c2.close()


def test_uncommitted_messages_are_redelivered_after_restart(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=1)
    topic, group = names("listings"), names("g")
    for i in range(10):
        bus.publish(topic, None, f"m{i}".encode())
    bus.flush()
    with bus.consumer([topic], group) as consumer:
        got = drain(consumer, 10)
        assert [m.value for m in got] == [f"m{i}".encode() for i in range(10)]
        consumer.commit(got[:4])  # crash after processing 4 of 10
    with bus.consumer([topic], group) as consumer:
        again = drain(consumer, 6)
        assert [m.value for m in again] == [f"m{i}".encode() for i in range(4, 10)]
        assert again[0].offset == got[4].offset
        # commit is by exact offset: committing an earlier message does not skip later ones
        consumer.commit(again[:1])
    with bus.consumer([topic], group) as consumer:
        assert [m.value for m in drain(consumer, 5)] == [f"m{i}".encode() for i in range(5, 10)]


def test_headers_keys_and_values_round_trip(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=1)
    topic = names("complaints")
    bus.publish(topic, "键", b"\x00\xffbinary", {"schema": "1", "来源": "投诉 12315", "empty": ""})
    bus.publish(topic, None, b"", None)
    bus.flush()
    with bus.consumer([topic], names("g")) as consumer:
        first, second = drain(consumer, 2)
    assert (first.key, first.value) == ("键", b"\x00\xffbinary")
    assert first.headers == {"schema": "1", "来源": "投诉 12315", "empty": ""}
    assert (second.key, second.value, second.headers) == (None, b"", {})


def test_topics_created_with_configured_partitions(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=3)
    topic = names("deadletter")
    bus.publish(topic, "k", b"v")
    bus.flush()
    bus.ensure_topics([topic])  # idempotent
    with bus.consumer([topic], names("g")) as consumer:
        assert consumer._consumer.partitions_for_topic(topic) == {0, 1, 2}


def test_flush_raises_when_broker_rejects_a_message(make_bus: Callable[..., KafkaBus], names) -> None:
    # the client allows 4 MiB requests but the broker's message.max.bytes is ~1 MiB: the send fails
    bus = make_bus(partitions=1, max_request_size=4 * 2**20, compression_type=None)
    topic = names("listings")
    bus.publish(topic, "ok", b"small")
    bus.flush()
    bus.publish(topic, "big", b"x" * (2 * 2**20))
    with pytest.raises(BusDeliveryError, match="not delivered") as caught:
        bus.flush(timeout_s=60)
    assert isinstance(caught.value, MessageRejectedError), "too large is permanent: the caller must not retry"
    # the same bus goes on publishing (kafka-python's producer would fail every later send)
    bus.publish(topic, "after", b"small again")
    bus.flush()
    with bus.consumer([topic], names("g")) as consumer:
        assert [m.key for m in drain(consumer, 2)] == ["ok", "after"]


def test_client_side_size_check_raises_message_rejected_at_publish(make_bus: Callable[..., KafkaBus], names) -> None:
    bus = make_bus(partitions=1, max_request_size=64 * 1024)
    with pytest.raises(MessageRejected):
        bus.publish(names("listings"), "big", os.urandom(200 * 1024))


def test_unreachable_kafka_names_the_address() -> None:
    with pytest.raises(BusUnavailableError, match=r"127\.0\.0\.1:1"):
        KafkaBus(Settings(kafka="127.0.0.1:1"))


def test_publish_rejects_non_bytes(make_bus: Callable[..., KafkaBus], names) -> None:
    with pytest.raises(TypeError):
        make_bus().publish(names("listings"), "k", "text")  # type: ignore[arg-type]


def test_open_bus_picks_kafka_when_configured(kafka_bootstrap: str) -> None:
    from adapters import open_bus

    with open_bus(Settings(kafka=kafka_bootstrap)) as bus:
        assert isinstance(bus, KafkaBus)
        assert bus.bootstrap == kafka_bootstrap
