"""The Bus port on Apache Kafka (kafka-python).

Delivery contract, and why each setting is there:

* Producer: ``acks="all"`` + idempotence + retries, so a retried send neither loses nor duplicates a
  record inside a partition; records are batched (linger, batch size, compression) because crawlers
  publish in bursts. ``publish`` only queues; ``flush`` waits for every queued send and raises
  `BusDeliveryError` if any failed, so a caller that flushed successfully may mark its work done.
* Consumer: manual commits only (``enable_auto_commit=False``) and ``commit`` stores exactly
  ``offset + 1`` of the highest given message per partition, giving at-least-once processing:
  whatever was polled but not committed is delivered again to the next member of the group.
* Topics sweep uses are created on first use with the configured partitions / replication, since
  relying on broker auto-creation would give them the broker's defaults (often 1 partition).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from sweep.bus.base import (
    TOPIC_COMPLAINTS,
    TOPIC_DEADLETTER,
    TOPIC_LEADS,
    TOPIC_LISTINGS,
    Bus,
    BusConsumer,
    Message,
)
from sweep.settings import Settings

log = logging.getLogger(__name__)

SWEEP_TOPICS = (TOPIC_LISTINGS, TOPIC_LEADS, TOPIC_DEADLETTER, TOPIC_COMPLAINTS)
REQUEST_TIMEOUT_MS = 30_000
BOOTSTRAP_TIMEOUT_MS = 10_000
_COMPACT_AT = 50_000

# kafka-python 2.x raises NoBrokersAvailable for an unreachable bootstrap; 3.x raises KafkaTimeoutError
# ("Unable to bootstrap from ...") after `bootstrap_timeout_ms`.
_UNREACHABLE: tuple[type[Exception], ...] = tuple(
    {getattr(kafka.errors, "NoBrokersAvailable", KafkaTimeoutError), KafkaTimeoutError, KafkaConnectionError}
)


def _bootstrap_config(cls: type) -> dict[str, Any]:
    """Fail fast (10 s instead of 30 s) on clients that know the setting (kafka-python 3)."""
    return {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS} if "bootstrap_timeout_ms" in cls.DEFAULT_CONFIG else {}


class BusUnavailableError(ConnectionError):
    """Kafka cannot be reached; the message names the bootstrap address that was tried."""


class BusDeliveryError(RuntimeError):
    """At least one published message was not acknowledged by Kafka."""


def _unreachable(bootstrap: str, exc: BaseException) -> BusUnavailableError:
    return BusUnavailableError(
        f"Kafka is unreachable at {bootstrap!r} (SWEEP_KAFKA): {exc}. Is the broker running? "
        "For local development: services/up.sh kafka"
    )


def _headers_out(headers: dict[str, str] | None) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in (headers or {}).items()]


def _headers_in(raw: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", errors="replace") for k, v in (raw or ())}


class KafkaBus(Bus):
    """One producer per bus (thread-safe in kafka-python) plus consumers created on demand."""

    def __init__(self, settings: Settings, *, client_id: str = "sweep", **producer_overrides: Any) -> None:
        if not settings.kafka:
            raise ValueError("KafkaBus needs settings.kafka (SWEEP_KAFKA=host:port)")
        self.bootstrap = settings.kafka
        self.partitions = settings.kafka_partitions
        self.replication = settings.kafka_replication
        self.client_id = client_id
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._pending: list[Any] = []  # FutureRecordMetadata of sends not yet confirmed by flush
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap.split(","),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "retries": 2**31 - 1,  # bounded by delivery_timeout_ms instead
            "delivery_timeout_ms": 120_000,
            "max_in_flight_requests_per_connection": 5,  # the maximum idempotence keeps ordered
            "linger_ms": 20,
            "batch_size": 256 * 1024,
            "compression_type": "gzip",  # pure Python, no native codec needed
            "request_timeout_ms": REQUEST_TIMEOUT_MS,
            "key_serializer": lambda k: k.encode() if k is not None else None,
            **_bootstrap_config(KafkaProducer),
        }
        config.update(producer_overrides)
        try:
            self._producer = KafkaProducer(**config)
        except _UNREACHABLE as exc:
            raise _unreachable(self.bootstrap, exc) from exc

    # ------------------------------------------------------------------ topics

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured partitions and replication (idempotent)."""
        missing = [t for t in topics if t not in self._created]
        if not missing:
            return
        with self._lock:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap.split(","),
                    client_id=f"{self.client_id}-admin",
                    request_timeout_ms=REQUEST_TIMEOUT_MS,
                    **_bootstrap_config(KafkaAdminClient),
                )
            except _UNREACHABLE as exc:
                raise _unreachable(self.bootstrap, exc) from exc
            try:
                existing = set(admin.list_topics())
                new = [
                    NewTopic(t, num_partitions=self.partitions, replication_factor=self.replication)
                    for t in missing
                    if t not in existing
                ]
                for topic in new:  # one by one: a race with another creator must not hide the rest
                    try:
                        admin.create_topics([topic], timeout_ms=REQUEST_TIMEOUT_MS)
                        log.info("created Kafka topic %s (%d partitions)", topic.name, self.partitions)
                    except TopicAlreadyExistsError:
                        pass
            finally:
                admin.close()
            self._created.update(missing)

    # ---------------------------------------------------------------- producing

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"value must be bytes, got {type(value).__name__} (encode with sweep.bus.envelope)")
        self.ensure_topics([topic])
        try:
            future = self._producer.send(topic, value=bytes(value), key=key, headers=_headers_out(headers))
        except KafkaError as exc:
            raise BusDeliveryError(f"could not queue a message for {topic!r} on {self.bootstrap}: {exc}") from exc
        with self._lock:
            self._pending.append(future)
            if len(self._pending) >= _COMPACT_AT:
                # a long publisher that rarely flushes: forget sends already acknowledged, keep failures
                self._pending = [f for f in self._pending if not (f.is_done and f.succeeded())]

    def flush(self, timeout_s: float = 60.0) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            raise BusDeliveryError(
                f"flush of {len(pending)} message(s) to {self.bootstrap} did not finish in {timeout_s}s: {exc}"
            ) from exc
        failed: list[str] = []
        for future in pending:
            if not future.is_done:
                failed.append("not acknowledged in time")
            elif future.failed():
                failed.append(repr(future.exception))
        if failed:
            raise BusDeliveryError(
                f"{len(failed)} of {len(pending)} message(s) were not delivered to Kafka at {self.bootstrap}: "
                + "; ".join(sorted(set(failed))[:5])
            )

    # ---------------------------------------------------------------- consuming

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        self.ensure_topics(topics)
        return KafkaBusConsumer(self.bootstrap, topics, group, client_id=self.client_id)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()


class KafkaBusConsumer(BusConsumer):
    def __init__(self, bootstrap: str, topics: Sequence[str], group: str, *, client_id: str = "sweep") -> None:
        self.bootstrap = bootstrap
        self.group = group
        try:
            self._consumer = KafkaConsumer(
                *topics,
                bootstrap_servers=bootstrap.split(","),
                client_id=f"{client_id}-{group}",
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=500,
                # a batch may take long to index; stay in the group meanwhile
                max_poll_interval_ms=600_000,
                session_timeout_ms=30_000,
                heartbeat_interval_ms=3_000,
                request_timeout_ms=REQUEST_TIMEOUT_MS + 5_000,
                **_bootstrap_config(KafkaConsumer),
            )
        except _UNREACHABLE as exc:
            raise _unreachable(bootstrap, exc) from exc

    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out: list[Message] = []
        for records in batches.values():
            for r in records:
                out.append(
                    Message(
                        topic=r.topic,
                        partition=r.partition,
                        offset=r.offset,
                        key=r.key.decode("utf-8", errors="replace") if r.key is not None else None,
                        value=r.value if r.value is not None else b"",
                        headers=_headers_in(r.headers),
                    )
                )
        return out

    def commit(self, messages: Sequence[Message]) -> None:
        """Commit offset+1 of the highest message per partition (never beyond what was given)."""
        if not messages:
            return
        upto: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            upto[tp] = max(upto.get(tp, -1), m.offset + 1)
        offsets = {tp: OffsetAndMetadata(off, "", -1) for tp, off in upto.items()}
        self._consumer.commit(offsets=offsets)

    def close(self) -> None:
        self._consumer.close(autocommit=False)
