"""`sweep status --json` against real Kafka and OpenSearch: dead letters and a group's lag on the
deployment's own topics (a prefix of its own), the cluster's health, and exit code 1 while dead
letters wait."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from adapters.bus.kafka import KafkaBus
from sweep.settings import Settings

pytestmark = pytest.mark.integration


def test_status_on_kafka_and_opensearch(
    kafka_bootstrap: str, opensearch_url: str, run_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import status
    from app.cli.main import app

    prefix = f"{run_prefix}-st-{uuid.uuid4().hex[:6]}"
    settings = Settings(
        data_dir=tmp_path,
        kafka=kafka_bootstrap,
        kafka_partitions=2,
        kafka_replication=1,
        search_url=opensearch_url,
        index_prefix=prefix,
        topic_prefix=prefix,
        people_url=None,
    )
    topics = settings.topics
    bus = KafkaBus(settings)
    bus.ensure_topics([topics.leads, topics.deadletter])
    for i in range(6):
        bus.publish(topics.leads, f"k{i}", b"{}")
    for i in range(3):
        bus.publish(topics.deadletter, f"d{i}", b"bad")
    bus.flush()
    consumer = bus.consumer([topics.leads], f"{prefix}-indexer")
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 6 and time.monotonic() < deadline:
        got += consumer.poll(max_records=6, timeout_s=0.5)
    consumer.commit(got)
    consumer.close()
    bus.close()

    monkeypatch.setattr(status, "get_settings", lambda: settings)
    result = CliRunner().invoke(app, ["status", "--sample", "0", "--json"])
    assert result.exit_code == 1, result.output  # dead letters wait
    doc = orjson.loads(result.output)
    assert doc["dead_letters"] == {topics.deadletter: 3}
    assert doc["topics"][topics.leads] == 6
    assert {"group": f"{prefix}-indexer", "topic": topics.leads, "committed": 6, "lag": 0, "per_second": None} in doc[
        "groups"
    ]
    assert doc["search"]["status"] in ("green", "yellow")  # a one-node cluster may be yellow
    assert doc["problems"] == ["死信队列有待处理消息"]
