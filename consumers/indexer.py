"""The indexer: bus -> lead store, at-least-once, over the PORTS only.

Because it only knows `Bus` and `LeadStore`, the very same loop runs `sweep demo` (SQLite bus, SQLite
store) and production (Kafka, Elasticsearch/OpenSearch). Its guarantees:

* offsets are committed only after the store call for the whole batch succeeded (and dead letters
  were flushed), so a crash at any point replays, never loses; the store's merge (`Lead.sighted`)
  makes replays harmless;
* a message that cannot be decoded or indexed goes to the dead-letter topic with its ORIGINAL bytes
  and the reason in headers, and the rest of the batch goes on: one poison pill must not stall the
  pipeline;
* when the store is unavailable (connection refused, timeouts, HTTP 5xx/429, a locked SQLite file),
  the same batch is retried with capped exponential backoff and nothing is committed meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from sweep.bus import envelope
from sweep.bus.base import TOPIC_DEADLETTER, TOPIC_LEADS, TOPIC_LISTINGS, Bus, BusConsumer, Message
from sweep.models import LeadEvent, Listing
from sweep.publishing import KIND_LEAD_EVENT, KIND_LISTING
from sweep.store.base import LeadStore, UpsertStats

log = logging.getLogger("sweep.indexer")

EXPECTED_KIND: dict[str, str] = {TOPIC_LEADS: KIND_LEAD_EVENT, TOPIC_LISTINGS: KIND_LISTING}
"""What each known topic may carry; a listing on the leads topic is a producer bug, dead-lettered."""

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call later can succeed (outage, overload) as opposed to a bad message.

    Checked structurally so that this module imports no search or Kafka client: builtin
    ConnectionError/TimeoutError (our search backends raise `search.errors.SearchUnavailable`, a
    ConnectionError), client exceptions whose HTTP status is 429/5xx or that are connection/timeout
    errors by class name, and SQLite's "database is locked".
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if isinstance(current, sqlite3.OperationalError) and ("locked" in str(current) or "busy" in str(current)):
            return True
        for attr in ("status_code", "status"):
            status = getattr(current, attr, None)
            if isinstance(status, int) and status in _TRANSIENT_STATUS:
                return True
        names = {cls.__name__ for cls in type(current).__mro__}
        if names & {"BusDeliveryError", "KafkaTimeoutError"}:  # dead letters not acknowledged yet: retry
            return True
        if names & {"ConnectionError", "ConnectionTimeout", "TransportError", "ConnectionTimeoutError"} and not (
            isinstance(getattr(current, "status_code", None), int) and current.status_code < 500  # type: ignore[attr-defined]
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass(slots=True)
class IndexerStats:
    """Running totals; `on_batch` receives the live object after every committed batch."""

    batches: int = 0
    messages: int = 0
    lead_events: int = 0
    listings: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    listings_written: int = 0
    deadlettered: int = 0
    retries: int = 0
    commit_failures: int = 0
    last_error: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Messages per second since start."""
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("started")
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["rate"] = round(self.rate, 1)
        return data


@dataclass(slots=True)
class _Dead:
    message: Message
    error: str


class Indexer:
    """Moves lead events and listings from the bus into the lead store (see module docstring)."""

    def __init__(
        self,
        bus: Bus,
        store: LeadStore,
        *,
        group: str = "sweep-indexer",
        topics: Sequence[str] = (TOPIC_LEADS, TOPIC_LISTINGS),
        batch: int = 500,
        deadletter_topic: str = TOPIC_DEADLETTER,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.group = group
        self.topics = tuple(topics)
        self.batch = batch
        self.deadletter_topic = deadletter_topic
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._stop = threading.Event()
        self.stats = IndexerStats()

    # -- main loop ------------------------------------------------------------------------------
    def run(
        self,
        *,
        stop_when_idle: bool = False,
        idle_s: float = 2.0,
        stop: threading.Event | None = None,
        on_batch: Callable[[IndexerStats], None] | None = None,
    ) -> IndexerStats:
        """Consume until `stop` is set (or, with `stop_when_idle`, until nothing arrived for `idle_s`)."""
        stop = stop or threading.Event()
        self._stop = stop
        self.stats = IndexerStats()
        consumer = self.bus.consumer(list(self.topics), self.group)
        last_activity = time.monotonic()
        try:
            while not stop.is_set():
                messages = consumer.poll(self.batch, timeout_s=min(1.0, idle_s) if stop_when_idle else 1.0)
                if not messages:
                    if stop_when_idle and time.monotonic() - last_activity >= idle_s:
                        break
                    continue
                if not self._process(consumer, messages):
                    break  # stopped while the store was down: nothing committed, replayed next time
                last_activity = time.monotonic()
                if on_batch is not None:
                    on_batch(self.stats)
        finally:
            consumer.close()
        return self.stats

    def _process(self, consumer: BusConsumer, messages: list[Message]) -> bool:
        """Index one polled batch and commit it; False if asked to stop before it could be stored."""
        events: list[tuple[Message, LeadEvent]] = []
        listings: list[tuple[Message, Listing]] = []
        dead: list[_Dead] = []
        for message in messages:
            try:
                kind, payload = envelope.decode(message.value, EXPECTED_KIND.get(message.topic))
                if kind == KIND_LEAD_EVENT:
                    events.append((message, LeadEvent.model_validate(payload)))
                elif kind == KIND_LISTING:
                    listings.append((message, Listing.model_validate(payload)))
                else:
                    raise envelope.EnvelopeError(f"unknown kind {kind!r}")
            except (envelope.EnvelopeError, ValidationError) as exc:
                dead.append(_Dead(message, _error_text(exc)))

        ok = self._with_retry(lambda: self._store_events(events, dead))
        ok = ok and self._with_retry(lambda: self._store_listings(listings, dead))
        if ok and dead:
            ok = self._with_retry(lambda: self._deadletter(dead))
        if not ok:
            return False
        try:
            consumer.commit(messages)
        except Exception as exc:  # a rebalance after a long outage: others replay it, merges are idempotent
            self.stats.commit_failures += 1
            self.stats.last_error = _error_text(exc)
            log.warning("commit failed (batch will be redelivered; replays are idempotent): %s", exc)
        self.stats.batches += 1
        self.stats.messages += len(messages)
        self.stats.lead_events += len(events)
        self.stats.listings += len(listings)
        return True

    # -- store calls --------------------------------------------------------------------------
    def _store_events(self, events: list[tuple[Message, LeadEvent]], dead: list[_Dead]) -> None:
        if not events:
            return
        try:
            self._add(self.store.apply_events([e for _, e in events]))
        except Exception as exc:
            if is_transient(exc):
                raise
            # Something in the batch is unindexable: find it one by one (idempotent, so re-applying the
            # good ones is harmless), dead-letter only the culprits.
            log.warning("batch of %d lead events failed (%s); isolating", len(events), exc)
            culprits: list[_Dead] = []  # local, so a transient retry of this loop does not double them
            for message, event in events:
                try:
                    self._add(self.store.apply_events([event]))
                except Exception as one:
                    if is_transient(one):
                        raise
                    culprits.append(_Dead(message, _error_text(one)))
            dead.extend(culprits)

    def _store_listings(self, listings: list[tuple[Message, Listing]], dead: list[_Dead]) -> None:
        if not listings:
            return
        try:
            self.stats.listings_written += self.store.index_listings([item for _, item in listings])
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d listings failed (%s); isolating", len(listings), exc)
            culprits: list[_Dead] = []
            for message, item in listings:
                try:
                    self.stats.listings_written += self.store.index_listings([item])
                except Exception as one:
                    if is_transient(one):
                        raise
                    culprits.append(_Dead(message, _error_text(one)))
            dead.extend(culprits)

    def _deadletter(self, dead: list[_Dead]) -> None:
        for item in dead:
            m = item.message
            headers = dict(m.headers)
            headers.update(
                {
                    "error": item.error,
                    "source_topic": m.topic,
                    "source_partition": str(m.partition),
                    "source_offset": str(m.offset),
                    "consumer_group": self.group,
                }
            )
            self.bus.publish(self.deadletter_topic, m.key, m.value, headers)
            log.warning("dead-lettered %s[%d]@%d: %s", m.topic, m.partition, m.offset, item.error)
        self.bus.flush()  # durable before the originals are committed
        self.stats.deadlettered += len(dead)
        dead.clear()

    def _add(self, upsert: UpsertStats) -> None:
        self.stats.created += upsert.created
        self.stats.updated += upsert.updated
        self.stats.unchanged += upsert.unchanged

    def _with_retry(self, call: Callable[[], None]) -> bool:
        """Run `call` until it succeeds, backing off on transient errors; False if stopped meanwhile.

        Non-transient errors propagate: they are bugs of ours (bad messages were isolated already), and
        crashing without commit is the safe reaction.
        """
        delay = self.backoff_initial_s
        while True:
            try:
                call()
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.stats.retries += 1
                self.stats.last_error = _error_text(exc)
                log.warning("store unavailable (%s); retrying in %.1fs without committing", exc, delay)
                if self._wait(delay):
                    return False
                delay = min(delay * 2, self.backoff_max_s)

    def _wait(self, seconds: float) -> bool:
        """Sleep, waking early when asked to stop; returns whether we were stopped."""
        if self._sleep is not None:
            self._sleep(seconds)
            return self._stop.is_set()
        return self._stop.wait(seconds)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."
