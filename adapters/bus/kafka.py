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
  relying on broker auto-creation would give them the broker's defaults (often 1 partition). A
  retriable admin error (controller moving, metadata not yet propagated) is retried with tenacity for
  up to `ADMIN_RETRY_S`.
* A message the broker or client refuses for good (larger than ``message.max.bytes`` /
  ``max_request_size``) raises `MessageRejected` (a `sweep.bus.base.MessageRejectedError`), so callers
  can tell "change the message" from "try again later".
* Security: `kafka_client_config` turns the TLS/SASL settings into the client options shared by the
  producer, the consumers and the admin client; passwords come from the environment only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata
from tenacity import Retrying, before_sleep_log, retry_if_exception, stop_after_delay, wait_exponential

from sweep.bus.base import Bus, BusConsumer, BusStatus, GroupLag, Message, MessageRejectedError
from sweep.settings import Settings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_MS = 30_000
BOOTSTRAP_TIMEOUT_MS = 10_000
ADMIN_RETRY_S = 30.0
_COMPACT_AT = 50_000

_TOO_LARGE: tuple[type[KafkaError], ...] = (kafka.errors.MessageSizeTooLargeError, kafka.errors.RecordListTooLargeError)
"""Errors that no retry can cure: the record itself is too big for the client or the broker."""

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


class MessageRejected(BusDeliveryError, MessageRejectedError):
    """Kafka refused the message(s) for good (too large); publishing the same bytes again is pointless."""


def kafka_client_config(settings: Settings) -> dict[str, Any]:
    """Connection and security options shared by producer, consumers and admin client.

    PLAINTEXT gives just the bootstrap list (kafka-python's defaults apply). SSL/SASL_SSL add the CA
    bundle (brokers' certificates are verified, hostnames checked unless turned off) and, for mutual
    TLS, the client certificate and key; SASL_* add mechanism, username and the password from
    `SWEEP_KAFKA_SASL_PASSWORD` (settings refuse it in sweep.toml).
    """
    if not settings.kafka:
        raise ValueError("Kafka needs settings.kafka (SWEEP_KAFKA=host:port)")
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        config["ssl_check_hostname"] = settings.kafka_ssl_check_hostname
        for key, path in (
            ("ssl_cafile", settings.kafka_ssl_cafile),
            ("ssl_certfile", settings.kafka_ssl_certfile),
            ("ssl_keyfile", settings.kafka_ssl_keyfile),
        ):
            if path is not None:
                config[key] = str(path)
        if settings.kafka_ssl_password is not None:
            config["ssl_password"] = settings.kafka_ssl_password.get_secret_value()
    if settings.kafka_security_protocol.startswith("SASL_"):
        assert settings.kafka_sasl_password is not None  # Settings validates SASL credentials
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_sasl_username
        config["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return config


def _retriable(exc: BaseException) -> bool:
    return isinstance(exc, KafkaError) and bool(getattr(exc, "retriable", False)) and not isinstance(exc, _TOO_LARGE)


def _unreachable(bootstrap: str, exc: BaseException) -> BusUnavailableError:
    return BusUnavailableError(
        f"Kafka is unreachable at {bootstrap!r} (SWEEP_KAFKA): {exc}. Is the broker running? "
        "For local development: services/up.sh kafka"
    )


def _headers_out(headers: dict[str, str] | None) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in (headers or {}).items()]


def _headers_in(raw: Sequence[tuple[str, bytes | None]] | None) -> dict[str, str]:
    if not raw:  # the common case; this runs once per consumed record
        return {}
    return {k: (v or b"").decode("utf-8", errors="replace") for k, v in raw}


class KafkaBus(Bus):
    """One producer per bus (thread-safe in kafka-python) plus consumers created on demand."""

    def __init__(self, settings: Settings, *, client_id: str = "sweep", **producer_overrides: Any) -> None:
        if not settings.kafka:
            raise ValueError("KafkaBus needs settings.kafka (SWEEP_KAFKA=host:port)")
        self.bootstrap = settings.kafka
        self.client_config = kafka_client_config(settings)
        self.partitions = settings.kafka_partitions
        self.replication = settings.kafka_replication
        self.client_id = client_id
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._pending: list[Any] = []  # FutureRecordMetadata of sends not yet confirmed by flush
        config: dict[str, Any] = {
            **self.client_config,
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
        self._producer_config = config
        self._producer = self._new_producer()

    def _new_producer(self) -> KafkaProducer:
        try:
            return KafkaProducer(**self._producer_config)
        except _UNREACHABLE as exc:
            raise _unreachable(self.bootstrap, exc) from exc

    def _replace_producer(self, why: str) -> None:
        """kafka-python's idempotent producer treats a broker's MESSAGE_TOO_LARGE as fatal and fails every
        later send; a fresh producer (new producer id) is the only way on. Nothing is lost: every pending
        send was already accounted for by the flush that saw the error."""
        log.warning("replacing the Kafka producer after %s", why)
        old, self._producer = self._producer, self._new_producer()
        old.close(timeout=5)

    # ------------------------------------------------------------------ topics

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the configured partitions and replication (idempotent)."""
        missing = [t for t in topics if t not in self._created]
        if not missing:
            return
        with self._lock:
            try:
                admin = KafkaAdminClient(
                    **self.client_config,
                    client_id=f"{self.client_id}-admin",
                    request_timeout_ms=REQUEST_TIMEOUT_MS,
                    **_bootstrap_config(KafkaAdminClient),
                )
            except _UNREACHABLE as exc:
                raise _unreachable(self.bootstrap, exc) from exc
            try:
                for attempt in Retrying(
                    retry=retry_if_exception(_retriable),
                    wait=wait_exponential(multiplier=0.2, max=2.0),
                    stop=stop_after_delay(ADMIN_RETRY_S),
                    before_sleep=before_sleep_log(log, logging.WARNING),
                    reraise=True,
                ):
                    with attempt:
                        self._create_missing(admin, missing)
            finally:
                admin.close()
            self._created.update(missing)

    def _create_missing(self, admin: KafkaAdminClient, topics: list[str]) -> None:
        existing = set(admin.list_topics())
        new = [
            NewTopic(t, num_partitions=self.partitions, replication_factor=self.replication)
            for t in topics
            if t not in existing
        ]
        for topic in new:  # one by one: a race with another creator must not hide the rest
            try:
                admin.create_topics([topic], timeout_ms=REQUEST_TIMEOUT_MS)
                log.info("created Kafka topic %s (%d partitions)", topic.name, self.partitions)
            except TopicAlreadyExistsError:
                pass

    # ---------------------------------------------------------------- producing

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"value must be bytes, got {type(value).__name__} (encode with sweep.bus.envelope)")
        self.ensure_topics([topic])
        try:
            future = self._producer.send(topic, value=bytes(value), key=key, headers=_headers_out(headers))
        except _TOO_LARGE as exc:  # checked by the client before sending: max_request_size, buffer_memory
            raise MessageRejected(f"message for {topic!r} (key {key!r}, {len(value)} bytes) refused: {exc}") from exc
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
        deadline = time.monotonic() + timeout_s
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as exc:
            # kafka-python may give up on flush while batches it split (MESSAGE_TOO_LARGE) are still in
            # flight; their futures tell the real outcome, so settle them instead of guessing
            log.info("producer flush ended early (%s); waiting for each pending send", exc)
        failed: list[str] = []
        permanent = 0
        for future in pending:
            if not future.is_done:
                with contextlib.suppress(Exception):  # the outcome is read from the future below
                    future.get(timeout=max(0.0, deadline - time.monotonic()))
            if not future.is_done:
                failed.append(f"not acknowledged within {timeout_s}s")
            elif future.failed():
                failed.append(repr(future.exception))
                permanent += isinstance(future.exception, _TOO_LARGE)
        if permanent:
            self._replace_producer(f"{permanent} message(s) too large for the broker")
        if failed:
            error = MessageRejected if permanent == len(failed) else BusDeliveryError
            raise error(
                f"{len(failed)} of {len(pending)} message(s) were not delivered to Kafka at {self.bootstrap}: "
                + "; ".join(sorted(set(failed))[:5])
            )

    # ---------------------------------------------------------------- consuming

    def status(self, topics: Sequence[str]) -> BusStatus:
        """Messages held per topic (end - beginning offsets, summed over partitions) and, for every
        consumer group with commits on these topics, committed messages and lag; a partition the group
        has not committed yet counts whole (groups start from the earliest offset)."""
        try:
            admin = KafkaAdminClient(
                **self.client_config,
                client_id=f"{self.client_id}-status",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                **_bootstrap_config(KafkaAdminClient),
            )
            reader = KafkaConsumer(
                **self.client_config,
                client_id=f"{self.client_id}-status",
                enable_auto_commit=False,
                **_bootstrap_config(KafkaConsumer),
            )
        except _UNREACHABLE as exc:
            raise _unreachable(self.bootstrap, exc) from exc
        try:
            parts = {t: sorted(reader.partitions_for_topic(t) or ()) for t in topics}
            tps = [TopicPartition(t, p) for t, ps in parts.items() for p in ps]
            end = reader.end_offsets(tps) if tps else {}
            begin = reader.beginning_offsets(tps) if tps else {}
            out = BusStatus(messages={t: sum(end[tp] - begin[tp] for tp in tps if tp.topic == t) for t in topics})
            groups = sorted(g["group_id"] for g in admin.list_groups())
            offsets = admin.list_group_offsets(groups) if groups else {}  # one request per coordinator
            for group in groups:
                committed = {
                    tp: meta.offset
                    for tp, meta in offsets.get(group, {}).items()
                    if tp.topic in parts and meta.offset >= 0
                }
                for topic in sorted({tp.topic for tp in committed}):
                    mine = [tp for tp in tps if tp.topic == topic]
                    done = sum(committed[tp] - begin[tp] for tp in mine if tp in committed)
                    lag = sum(end[tp] - committed.get(tp, begin[tp]) for tp in mine)
                    out.lags.append(GroupLag(group, topic, done, lag))
            return out
        finally:
            reader.close()
            admin.close()

    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer:
        self.ensure_topics(topics)
        return KafkaBusConsumer(self.client_config, topics, group, client_id=self.client_id)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close()


class KafkaBusConsumer(BusConsumer):
    def __init__(
        self, client_config: dict[str, Any], topics: Sequence[str], group: str, *, client_id: str = "sweep"
    ) -> None:
        """`client_config` from `kafka_client_config` (bootstrap servers and security)."""
        bootstrap = ",".join(client_config["bootstrap_servers"])
        self.bootstrap = bootstrap
        self.group = group
        try:
            self._consumer = KafkaConsumer(
                *topics,
                **client_config,
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
