"""`Bus.status` (what `sweep status` and /metrics show): messages held per topic and each group's
lag, the same on the embedded SQLite bus and on a real Kafka broker. A group that read five of eight
messages and committed them has committed 5 and lags 3; a topic nobody reads has no lag rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bus.kafka import KafkaBus
from adapters.bus.sqlite import SqliteBus
from sweep.bus.base import Bus, GroupLag, Message
from sweep.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "kafka"])
def bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bus]:
    if request.param == "sqlite":
        b: Bus = SqliteBus(tmp_path / "bus.sqlite")
    else:
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        b = KafkaBus(Settings(kafka=bootstrap, kafka_partitions=3, kafka_replication=1))
    yield b
    b.close()


def test_messages_and_lag_per_group(bus: Bus, run_prefix: str) -> None:
    prefix = f"{run_prefix}.{uuid.uuid4().hex[:6]}"
    leads, dead, group = f"{prefix}.leads", f"{prefix}.deadletter", f"{prefix}.indexer"
    if isinstance(bus, KafkaBus):
        bus.ensure_topics([leads, dead])
    for i in range(8):
        bus.publish(leads, f"k{i}", f"线索 {i}".encode())
    for i in range(2):
        bus.publish(dead, f"d{i}", b"not json")
    bus.flush()
    consumer = bus.consumer([leads], group)
    got: list[Message] = []
    deadline = time.monotonic() + 60
    while len(got) < 8 and time.monotonic() < deadline:
        got += consumer.poll(max_records=8 - len(got), timeout_s=0.5)
    assert len(got) == 8
    chosen = _prefix_of_partitions(sorted(got, key=lambda m: (m.partition, m.offset)), 5)
    consumer.commit(chosen)
    consumer.close()

    status = bus.status([leads, dead])
    assert status.messages == {leads: 8, dead: 2}
    assert [lag for lag in status.lags if lag.group == group] == [GroupLag(group, leads, 5, 3)]
    assert not [lag for lag in status.lags if lag.topic == dead]


def _prefix_of_partitions(messages: list[Message], n: int) -> list[Message]:
    """n messages that are, in every partition, a prefix of its offsets (so committing them commits
    exactly n): whole partitions first, then the head of one more."""
    parts: dict[int, list[Message]] = {}
    for m in messages:
        parts.setdefault(m.partition, []).append(m)
    chosen: list[Message] = []
    for msgs in sorted(parts.values(), key=len):
        take = msgs[: n - len(chosen)]
        chosen += take
        if len(chosen) == n:
            break
    return chosen
