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
  the same batch is retried with capped exponential backoff (tenacity) and nothing is committed
  meanwhile; `Indexer.health()` says "backing_off", and "stuck" once the same batch has been failing
  for longer than `stuck_after_s` (`sweep consume indexer` prints it at every retry), so an operator
  can tell a slow indexer from a blocked one;
* a dead letter is itself bounded: when the bus refuses it for good (larger than the broker's
  message size limit), it is replaced by a small record -- original key, source topic/partition/
  offset, the error, the payload's size and SHA-256 and its first `deadletter_head_bytes` bytes --
  and sent again; it is never retried as is, so an oversized poison message cannot stall the group.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson
from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential

from sweep.bus import envelope
from sweep.bus.base import Bus, BusConsumer, Message, MessageRejectedError, Topics
from sweep.models import LeadEvent, Listing
from sweep.publishing import KIND_LEAD_EVENT, KIND_LISTING
from sweep.recrawl import (
    HEADER_JUDGED_BY,
    HEADER_SEVERITY,
    KIND_LISTING_GONE,
    KIND_LISTING_SEEN,
    ListingGone,
    ListingSeen,
    Observation,
    ObservationStats,
)
from sweep.settings import get_settings
from sweep.store.base import Judged, LeadStore, UpsertStats

log = logging.getLogger("sweep.indexer")

EXPECTED_KIND: dict[str, tuple[str, ...]] = {
    "leads": (KIND_LEAD_EVENT,),
    "listings": (KIND_LISTING, KIND_LISTING_SEEN, KIND_LISTING_GONE),
}
"""What each topic role may carry (whatever the prefix); a listing on the leads topic is a producer bug,
dead-lettered. The listings topic also carries a recrawl's unchanged sightings and removals
(`sweep.recrawl`)."""

DEADLETTER_HEAD_BYTES = 1024
"""Bytes of the original payload a bounded dead letter keeps (with the size and SHA-256 of all of it)."""

Health = Literal["ok", "backing_off", "stuck"]

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call later can succeed (outage, overload) as opposed to a bad message.

    Checked structurally so that this module imports no search or Kafka client: builtin
    ConnectionError/TimeoutError (our search backends raise `search.errors.SearchUnavailable`, a
    ConnectionError), client exceptions whose HTTP status is 429/5xx or that are connection/timeout
    errors by class name, and SQLite's "database is locked".
    """
    if isinstance(exc, MessageRejectedError):  # permanent by definition, even when also a delivery error
        return False
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
    observations: int = 0
    """Unchanged sightings and removals of listings applied (`sweep.recrawl`)."""
    listings_seen: int = 0
    listings_removed: int = 0
    leads_sighted: int = 0
    deadlettered: int = 0
    deadletters_bounded: int = 0
    """Dead letters the bus refused at full size and that were sent as bounded records instead."""
    deadletters_dropped: int = 0
    """Dead letters the bus refused even bounded (a misconfigured dead-letter topic); logged as errors."""
    retries: int = 0
    commit_failures: int = 0
    last_error: str | None = None
    failing_since: float | None = None
    """Monotonic time the batch in hand first failed transiently; None while all is well."""
    failing_attempts: int = 0
    poll_s: float = 0.0
    decode_s: float = 0.0
    store_s: float = 0.0
    wait_s: float = 0.0
    commit_s: float = 0.0
    """Where the time went (seconds, cumulative): fetching, decoding and validating, writing to the store
    (dead letters included; in the writer thread, so it overlaps the others), waiting for the writer
    (near 0 when fetching is the bottleneck, near store_s when the store is), committing offsets."""
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Messages per second since start."""
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def failing_for_s(self) -> float:
        return time.monotonic() - self.failing_since if self.failing_since is not None else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("started")
        data.pop("failing_since")
        data["failing_for_s"] = round(self.failing_for_s, 1)
        for key in ("poll_s", "decode_s", "store_s", "wait_s", "commit_s"):
            data[key] = round(data[key], 3)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["rate"] = round(self.rate, 1)
        return data


@dataclass(slots=True)
class _Dead:
    message: Message
    error: str


@dataclass(slots=True)
class _Batch:
    """One polled batch, decoded: what to write, what to dead-letter, and what to commit afterwards."""

    messages: list[Message]
    events: list[tuple[Message, LeadEvent]] = field(default_factory=list)
    prepared: list[LeadEvent] | None = None
    """The events as the store's `prepare_events` returned them (documents built ahead), if it has one."""
    listings: list[tuple[Message, Listing]] = field(default_factory=list)
    observations: list[tuple[Message, Observation]] = field(default_factory=list)
    """Unchanged sightings and removals of listings (`sweep.recrawl`), in bus order."""
    dead: list[_Dead] = field(default_factory=list)


class Indexer:
    """Moves lead events and listings from the bus into the lead store (see module docstring)."""

    def __init__(
        self,
        bus: Bus,
        store: LeadStore,
        *,
        group: str = "sweep-indexer",
        topics: Sequence[str] | None = None,
        batch: int = 1000,
        deadletter_topic: str | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        stuck_after_s: float = 120.0,
        deadletter_head_bytes: int = DEADLETTER_HEAD_BYTES,
        overlap: bool = True,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """`topics`/`deadletter_topic` default to the configured names (`SWEEP_TOPIC_PREFIX`)."""
        names: Topics | None = None
        if topics is None or deadletter_topic is None:
            names = get_settings().topics
        self.bus = bus
        self.store = store
        self.group = group
        self.topics = tuple(topics) if topics is not None else (names.leads, names.listings)  # type: ignore[union-attr]
        self.batch = batch
        self.deadletter_topic = deadletter_topic or names.deadletter  # type: ignore[union-attr]
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stuck_after_s = stuck_after_s
        self.deadletter_head_bytes = deadletter_head_bytes
        self.overlap = overlap
        self._sleep = sleep
        self._stop = threading.Event()
        self._on_retry: Callable[[dict[str, Any]], None] | None = None
        self.stats = IndexerStats()

    # -- health ---------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """ "ok", "backing_off" (the batch in hand failed transiently and is being retried) or "stuck" (it
        has been failing for longer than `stuck_after_s`), with how long, how many attempts and why.
        Safe to call from another thread."""
        stats = self.stats
        failing_for = stats.failing_for_s
        state: Health = "ok"
        if stats.failing_since is not None:
            state = "stuck" if failing_for >= self.stuck_after_s else "backing_off"
        return {
            "state": state,
            "failing_for_s": round(failing_for, 1),
            "attempts": stats.failing_attempts,
            "stuck_after_s": self.stuck_after_s,
            "last_error": stats.last_error if state != "ok" else None,
        }

    # -- main loop ------------------------------------------------------------------------------
    def run(
        self,
        *,
        stop_when_idle: bool = False,
        idle_s: float = 2.0,
        stop: threading.Event | None = None,
        on_batch: Callable[[IndexerStats], None] | None = None,
        on_retry: Callable[[dict[str, Any]], None] | None = None,
    ) -> IndexerStats:
        """Consume until `stop` is set (or, with `stop_when_idle`, until nothing arrived for `idle_s`).

        `on_batch` gets the live stats after every committed batch, `on_retry` the `health()` before
        every back-off sleep.

        With `overlap` (the default) one batch is written by a worker thread while this thread fetches
        and decodes the next: the store's round trips wait on the network with the GIL released, so
        on a small machine the two halves run side by side. Still only one batch is in flight, batches
        are written in order, and a batch is committed (from this thread: Kafka consumers are not
        thread-safe) only after its write succeeded.
        """
        stop = stop or threading.Event()
        self._stop = stop
        self._on_retry = on_retry
        self.stats = IndexerStats()
        consumer = self.bus.consumer(list(self.topics), self.group)
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexer-writer") if self.overlap else None
        in_flight: tuple[Future[bool], _Batch] | None = None
        last_activity = time.monotonic()
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                messages = consumer.poll(self.batch, timeout_s=min(1.0, idle_s) if stop_when_idle else 1.0)
                self.stats.poll_s += time.perf_counter() - t0
                batch = self._decode(messages) if messages else None
                if in_flight is not None:
                    done, in_flight = in_flight, None
                    if not self._finish(consumer, *done, on_batch):
                        break  # stopped while the store was down: nothing committed, replayed next time
                if batch is None:
                    if stop_when_idle and time.monotonic() - last_activity >= idle_s:
                        break
                    continue
                last_activity = time.monotonic()
                if writer is None:
                    written: Future[bool] = Future()
                    written.set_result(self._write(batch))
                    if not self._finish(consumer, written, batch, on_batch):
                        break
                else:
                    in_flight = (writer.submit(self._write, batch), batch)
            if in_flight is not None:  # stopped or idle with a write in progress: commit it if it succeeds
                self._finish(consumer, *in_flight, on_batch)
        finally:
            if writer is not None:
                writer.shutdown(wait=True)  # a write in progress ends (or is stopped) before we close
            consumer.close()
        return self.stats

    def _decode(self, messages: list[Message]) -> _Batch:
        t0 = time.perf_counter()
        batch = _Batch(messages)
        for message in messages:
            try:
                kind, payload = envelope.decode(message.value)
                allowed = _expected_kind(message.topic)
                if allowed and kind not in allowed:
                    raise envelope.EnvelopeError(f"expected kind {' or '.join(map(repr, allowed))}, got {kind!r}")
                if kind == KIND_LEAD_EVENT:
                    batch.events.append((message, LeadEvent.model_validate(payload)))
                elif kind == KIND_LISTING:
                    batch.listings.append((message, Listing.model_validate(payload)))
                elif kind == KIND_LISTING_SEEN:
                    batch.observations.append((message, ListingSeen.model_validate(payload)))
                elif kind == KIND_LISTING_GONE:
                    batch.observations.append((message, ListingGone.model_validate(payload)))
                else:
                    raise envelope.EnvelopeError(f"unknown kind {kind!r}")
            except (envelope.EnvelopeError, ValidationError) as exc:
                batch.dead.append(_Dead(message, _error_text(exc)))
        prepare = getattr(self.store, "prepare_events", None)
        if prepare is not None and batch.events:
            # work on the events alone that the store offers to do ahead: here it overlaps the write of
            # the previous batch instead of lengthening this one's; a failure only means no head start
            try:
                batch.prepared = prepare([e for _, e in batch.events])
            except Exception as exc:
                log.debug("preparing %d lead events failed (%s); the write does it all", len(batch.events), exc)
        self.stats.decode_s += time.perf_counter() - t0
        return batch

    def _write(self, batch: _Batch) -> bool:
        """Store one decoded batch and flush its dead letters; False if asked to stop before it could."""
        t0 = time.perf_counter()
        dead = batch.dead
        try:
            ok = self._with_retry(lambda: self._store_events(batch.events, dead, batch.prepared))
            ok = ok and self._with_retry(lambda: self._store_listings(batch.listings, dead))
            ok = ok and self._with_retry(lambda: self._store_observations(batch.observations, dead))
            if ok and dead:
                ok = self._with_retry(lambda: self._deadletter(dead))
            return ok
        finally:
            self.stats.store_s += time.perf_counter() - t0

    def _finish(
        self,
        consumer: BusConsumer,
        done: Future[bool],
        batch: _Batch,
        on_batch: Callable[[IndexerStats], None] | None,
    ) -> bool:
        """Wait for a batch's write, then commit it; False (nothing committed) if it was stopped."""
        t0 = time.perf_counter()
        ok = done.result()  # a non-transient error is raised here: crash without commit
        t1 = time.perf_counter()
        self.stats.wait_s += t1 - t0
        if not ok:
            return False
        try:
            consumer.commit(batch.messages)
        except Exception as exc:  # a rebalance after a long outage: others replay it, merges are idempotent
            self.stats.commit_failures += 1
            self.stats.last_error = _error_text(exc)
            log.warning("commit failed (batch will be redelivered; replays are idempotent): %s", exc)
        self.stats.commit_s += time.perf_counter() - t1
        self.stats.batches += 1
        self.stats.messages += len(batch.messages)
        self.stats.lead_events += len(batch.events)
        self.stats.listings += len(batch.listings)
        self.stats.observations += len(batch.observations)
        if on_batch is not None:
            on_batch(self.stats)
        return True

    # -- store calls --------------------------------------------------------------------------
    def _store_events(
        self, events: list[tuple[Message, LeadEvent]], dead: list[_Dead], prepared: list[LeadEvent] | None = None
    ) -> None:
        if not events:
            return
        try:
            self._add(self.store.apply_events(prepared if prepared is not None else [e for _, e in events]))
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
        judged = {item.key: j for m, item in listings if (j := _judged(m))}
        kw = {"judged": judged} if judged else {}  # stores without recrawl states take listings only
        try:
            self.stats.listings_written += self.store.index_listings([item for _, item in listings], **kw)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d listings failed (%s); isolating", len(listings), exc)
            culprits: list[_Dead] = []
            for message, item in listings:
                try:
                    one = {"judged": {item.key: judged[item.key]}} if item.key in judged else {}
                    self.stats.listings_written += self.store.index_listings([item], **one)
                except Exception as one:
                    if is_transient(one):
                        raise
                    culprits.append(_Dead(message, _error_text(one)))
            dead.extend(culprits)

    def _store_observations(self, observations: list[tuple[Message, Observation]], dead: list[_Dead]) -> None:
        """A recrawl's unchanged sightings and removals (`sweep.recrawl`), isolated like listings."""
        if not observations:
            return
        try:
            self._observed(self.store.record_observations([o for _, o in observations]))
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d listing observations failed (%s); isolating", len(observations), exc)
            culprits: list[_Dead] = []
            for message, obs in observations:
                try:
                    self._observed(self.store.record_observations([obs]))
                except Exception as one:
                    if is_transient(one):
                        raise
                    culprits.append(_Dead(message, _error_text(one)))
            dead.extend(culprits)

    def _observed(self, done: ObservationStats) -> None:
        self.stats.listings_seen += done.seen
        self.stats.listings_removed += done.removed
        self.stats.leads_sighted += done.leads_sighted

    # -- dead letters -------------------------------------------------------------------------
    def _deadletter(self, dead: list[_Dead]) -> None:
        """Publish every dead letter and flush (durable before the originals are committed).

        When the bus refuses some of them for good, they are sent again one by one, each falling back
        to its bounded form; the ones that had been accepted may then be in the dead-letter topic twice,
        which is harmless (dead letters are at-least-once like everything else)."""
        try:
            for item in dead:
                self.bus.publish(self.deadletter_topic, *self._full_deadletter(item))
            self.bus.flush()
        except MessageRejectedError as exc:
            log.warning("the bus refused %s; sending the %d dead letter(s) one by one", exc, len(dead))
            for item in dead:
                self._deadletter_one(item)
        for item in dead:
            m = item.message
            log.warning("dead-lettered %s[%d]@%d: %s", m.topic, m.partition, m.offset, item.error)
        self.stats.deadlettered += len(dead)
        dead.clear()

    def _deadletter_one(self, item: _Dead) -> None:
        m = item.message
        builders = (self._full_deadletter, self._bounded_deadletter, self._minimal_deadletter)
        for n, build in enumerate(builders):
            try:
                self.bus.publish(self.deadletter_topic, *build(item))
                self.bus.flush()
            except MessageRejectedError as exc:
                log.warning("dead letter of %s[%d]@%d refused (%s); reducing it", m.topic, m.partition, m.offset, exc)
                continue
            if n:
                self.stats.deadletters_bounded += 1
            return
        # Not even ~1 KB fits: the dead-letter topic is misconfigured. Retrying cannot help and stalling
        # the group would be worse; the log keeps the coordinates of the original, still in its topic.
        self.stats.deadletters_dropped += 1
        log.error(
            "dead letter of %s[%d]@%d (key %r, sha256 %s) refused even bounded; NOT recorded on %s: %s",
            m.topic,
            m.partition,
            m.offset,
            m.key,
            hashlib.sha256(m.value).hexdigest(),
            self.deadletter_topic,
            item.error,
        )

    def _source_headers(self, item: _Dead) -> dict[str, str]:
        m = item.message
        return {
            "error": item.error,
            "source_topic": m.topic,
            "source_partition": str(m.partition),
            "source_offset": str(m.offset),
            "consumer_group": self.group,
        }

    def _full_deadletter(self, item: _Dead) -> tuple[str | None, bytes, dict[str, str]]:
        """The original bytes, key and headers, plus where it came from and why it failed."""
        m = item.message
        return m.key, m.value, {**m.headers, **self._source_headers(item)}

    def _bounded_deadletter(self, item: _Dead) -> tuple[str | None, bytes, dict[str, str]]:
        """A JSON record of a few KB at most: coordinates, error, size, SHA-256 and the payload's head
        (base64, since the payload need not be text). The original headers are dropped (they may be
        what made it too large)."""
        m = item.message
        digest = hashlib.sha256(m.value).hexdigest()
        record = {
            "bounded": True,
            "key": m.key,
            "source_topic": m.topic,
            "source_partition": m.partition,
            "source_offset": m.offset,
            "consumer_group": self.group,
            "error": item.error,
            "payload_bytes": len(m.value),
            "payload_sha256": digest,
            "payload_head_b64": base64.b64encode(m.value[: self.deadletter_head_bytes]).decode(),
        }
        headers = {**self._source_headers(item), "bounded": "true", "payload_sha256": digest}
        headers["error"] = headers["error"][:500]
        return m.key, orjson.dumps(record), headers

    def _minimal_deadletter(self, item: _Dead) -> tuple[str | None, bytes, dict[str, str]]:
        """The bounded record without the payload's head and with a short error: the last resort."""
        key, value, headers = self._bounded_deadletter(item)
        record = orjson.loads(value)
        record.pop("payload_head_b64")
        record["error"] = record["error"][:200]
        headers["error"] = headers["error"][:200]
        return key, orjson.dumps(record), headers

    def _add(self, upsert: UpsertStats) -> None:
        self.stats.created += upsert.created
        self.stats.updated += upsert.updated
        self.stats.unchanged += upsert.unchanged

    # -- retries ------------------------------------------------------------------------------
    def _with_retry(self, call: Callable[[], None]) -> bool:
        """Run `call` until it succeeds, backing off on transient errors; False if stopped meanwhile.

        Non-transient errors propagate: they are bugs of ours (bad messages were isolated already), and
        crashing without commit is the safe reaction.
        """
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential(multiplier=self.backoff_initial_s, max=self.backoff_max_s),
            sleep=self._wait,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    if self._stop.is_set() and attempt.retry_state.attempt_number > 1:
                        return False  # asked to stop during the back-off: leave the batch uncommitted
                    call()
            return True
        finally:
            self.stats.failing_since = None
            self.stats.failing_attempts = 0

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        stats = self.stats
        stats.retries += 1
        stats.failing_attempts = state.attempt_number
        stats.last_error = _error_text(exc) if exc is not None else None
        if stats.failing_since is None:
            stats.failing_since = time.monotonic()
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        health = self.health()
        level = logging.ERROR if health["state"] == "stuck" else logging.WARNING
        log.log(
            level,
            "store unavailable (%s); %s for %.0fs, attempt %d, retrying in %.1fs without committing",
            exc,
            health["state"],
            health["failing_for_s"],
            state.attempt_number,
            delay,
        )
        if self._on_retry is not None:
            self._on_retry(health)

    def _wait(self, seconds: float) -> None:
        """Sleep, waking early when asked to stop (the next attempt then returns without calling)."""
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)


GC_THRESHOLDS = (700, 20, 100)
"""CPython's young-generation threshold, but older generations collected 2x / 10x less often."""


def tune_gc() -> None:
    """Make garbage collection cheap for a long-running indexer process (call once at start).

    The search store keeps the ~20,000 most recently written leads (pydantic objects, each a few dozen
    GC-tracked objects) for its read cache. With CPython's default thresholds (700, 10, 10) the frequent
    older-generation collections walk all of them again and again: profiling showed about 15% of the
    indexer's CPU in collections triggered inside `validate_python` and the cache update. Collecting
    the older generations less often removes nearly all of it; the cache is bounded, so memory is too.
    `gc.freeze()` moves everything loaded at start-up (modules, clients) out of the collector's way.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _expected_kind(topic: str) -> tuple[str, ...] | None:
    role = Topics.role_of(topic)
    return EXPECTED_KIND.get(role) if role else None


def _judged(message: Message) -> Judged | None:
    """The crawler's verdict on a listing it judged (`sweep.recrawl` headers), if it says one."""
    version = message.headers.get(HEADER_JUDGED_BY) if message.headers else None
    if not version:
        return None
    return Judged(version, message.headers.get(HEADER_SEVERITY) or None)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:1997] + "..."
