"""The complaints consumer: `{prefix}.complaints` -> the complaint store, and re-matching on new sellers.

It is the indexer's loop with another decode and write step (`ComplaintConsumer` extends `Indexer`, as
the detector does), so it shares its guarantees, its console, signal handling, progress and health:

* offsets are committed only after the batch's complaints were upserted and matched, its sellers
  observed and its dead letters flushed: a crash replays, never loses;
* a replay changes nothing: complaints are upserted by complaint id (`ComplaintWriter.apply` lays a
  record over the stored one, so replaying an import's messages in order ends in the same records),
  and an updated record (a new 办理状态) updates the stored one;
* a complaint message that cannot be read goes to the dead-letter topic with the reason; the batch goes on;
* a store that is unavailable is retried with capped exponential backoff, nothing committed meanwhile.

It also reads the leads and listings topics (its own consumer group, so it sees every message): the
shops they name go into the seller directory, and the complaints whose keys a new or changed seller
carries are matched again — matching runs when a complaint arrives and again when leads arrive for a
seller that has complaints. A lead event or listing it cannot read is only counted: the indexer, which
reads the same topics, dead-letters it.

Personal data: what the import publishes is masked already (the protected values are sealed in the
store, never sent). As a second line, whatever this consumer stores or dead-letters is masked again —
free text through `sweep.privacy.mask_text`, complainant fields that carry no mask through their
masking functions — so a producer that forgot to mask cannot put a phone number into the index or the
dead-letter topic (a dead letter keeps the message's bytes with personal data masked, and a reason
that quotes no input value).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from complaints.sellers import seller_from_event, seller_from_listing
from complaints.service import KIND_COMPLAINT, ComplaintWriter
from consumers.indexer import Indexer, IndexerStats, _Batch, _Dead, _error_text, is_transient
from sweep.bus import envelope
from sweep.bus.base import Bus, Message, Topics
from sweep.models import Complaint, LeadEvent, Listing
from sweep.privacy import mask_address, mask_id_number, mask_name, mask_phone, mask_text
from sweep.publishing import KIND_LEAD_EVENT, KIND_LISTING
from sweep.settings import get_settings
from sweep.store.complaints import Seller

log = logging.getLogger("sweep.consumers.complaints")

GROUP = "sweep-complaints"

_MASKERS: dict[str, Callable[[str], str]] = {
    "complainant_name": mask_name,
    "complainant_phone": mask_phone,
    "complainant_id_number": mask_id_number,
    "complainant_address": mask_address,
}


def masked(complaint: Complaint) -> Complaint:
    """The complaint with nothing personal left in clear: free text masked again (masking masked text
    changes nothing), a complainant field without any mask character masked by its function."""
    update: dict[str, Any] = {}
    for name in ("text", "demand", "result", "seller_name", "shop_name", "product"):
        value = getattr(complaint, name)
        if value and (again := mask_text(value)) != value:
            update[name] = again
    for name, mask in _MASKERS.items():
        value = getattr(complaint, name)
        if value and "*" not in value:
            update[name] = mask(value)
    return complaint.model_copy(update=update) if update else complaint


def _masked_message(message: Message) -> Message:
    """The message as a dead letter may keep it: its text with personal data masked (bytes that are
    not UTF-8 are kept as replacement characters: a dead letter is for reading, not for replaying)."""
    text = message.value.decode("utf-8", errors="replace")
    value = mask_text(text).encode()
    return dataclasses.replace(message, value=value, headers={**message.headers, "masked": "true"})


def _reason(exc: BaseException) -> str:
    """Why a complaint message was refused, without the input values pydantic would quote."""
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:10]]
        return mask_text(f"ValidationError: {'; '.join(parts)}")[:2000]
    return mask_text(_error_text(exc))


@dataclass(slots=True)
class ComplaintCounts:
    """The consumer's own totals, beside the indexer's `IndexerStats` (messages, dead letters, retries)."""

    complaints: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    matched: int = 0
    seller_messages: int = 0
    sellers_changed: int = 0
    rematched: int = 0
    unreadable: int = 0
    """Lead events and listings that could not be read (the indexer dead-letters those)."""


@dataclass(slots=True)
class ComplaintStats:
    """What `on_batch` and `run` hand out: the loop's stats and the complaint counts in one `as_dict`."""

    loop: IndexerStats
    counts: ComplaintCounts

    def as_dict(self) -> dict[str, Any]:
        return {**self.loop.as_dict(), **dataclasses.asdict(self.counts)}


@dataclass(slots=True)
class _ComplaintBatch(_Batch):
    complaints: list[tuple[Message, Complaint]] = field(default_factory=list)
    sellers: list[Seller] = field(default_factory=list)
    seller_messages: int = 0
    unreadable: int = 0


class ComplaintConsumer(Indexer):
    """Complaints topic -> `ComplaintWriter`; leads and listings -> sellers -> re-matching."""

    def __init__(
        self,
        bus: Bus,
        writer: ComplaintWriter,
        *,
        topics: Topics | None = None,
        group: str = GROUP,
        batch: int = 1000,
        rematch: bool = True,
        **options: Any,
    ) -> None:
        """Reads `topics.complaints` (and with `rematch`, `topics.leads` and `topics.listings`),
        dead-letters to `topics.deadletter`; `topics` defaults to the configured names. `options` are
        the indexer's (backoff, stuck_after_s, overlap ...)."""
        names = topics or get_settings().topics
        read = (names.complaints, names.leads, names.listings) if rematch else (names.complaints,)
        # the complaint store is this loop's only store: `_write` replaces the indexer's lead writes
        super().__init__(
            bus,
            None,  # type: ignore[arg-type]
            group=group,
            topics=read,
            batch=batch,
            deadletter_topic=names.deadletter,
            **options,
        )
        self.writer = writer
        self.complaints_topic = names.complaints
        self.counts = ComplaintCounts()

    def run(  # type: ignore[override]
        self,
        *,
        stop_when_idle: bool = False,
        idle_s: float = 2.0,
        stop: threading.Event | None = None,
        on_batch: Callable[[ComplaintStats], None] | None = None,
        on_retry: Callable[[dict[str, Any]], None] | None = None,
    ) -> ComplaintStats:
        """The indexer's loop (see `Indexer.run`); `on_batch` and the result carry both sets of totals."""
        self.counts = ComplaintCounts()
        report = None if on_batch is None else (lambda loop: on_batch(ComplaintStats(loop, self.counts)))
        loop = super().run(stop_when_idle=stop_when_idle, idle_s=idle_s, stop=stop, on_batch=report, on_retry=on_retry)
        return ComplaintStats(loop, self.counts)

    # -- decoding ---------------------------------------------------------------------------------
    def _decode(self, messages: list[Message]) -> _Batch:
        t0 = time.perf_counter()
        batch = _ComplaintBatch(messages)
        for message in messages:
            if message.topic == self.complaints_topic:
                try:
                    _, payload = envelope.decode(message.value, KIND_COMPLAINT)
                    batch.complaints.append((message, masked(Complaint.model_validate(payload))))
                except (envelope.EnvelopeError, ValidationError) as exc:
                    batch.dead.append(_Dead(_masked_message(message), _reason(exc)))
                continue
            batch.seller_messages += 1
            try:
                kind, payload = envelope.decode(message.value)
                if kind == KIND_LEAD_EVENT:
                    seller = seller_from_event(LeadEvent.model_validate(payload))
                elif kind == KIND_LISTING:
                    seller = seller_from_listing(Listing.model_validate(payload))
                else:
                    seller = None
            except (envelope.EnvelopeError, ValidationError):
                batch.unreadable += 1
                continue
            if seller is not None:
                batch.sellers.append(seller)
        self.stats.decode_s += time.perf_counter() - t0
        return batch

    # -- writing ----------------------------------------------------------------------------------
    def _write(self, batch: _Batch) -> bool:
        """Store the complaints, observe the sellers (re-matching), flush dead letters; False if asked
        to stop before it could (nothing is committed then)."""
        assert isinstance(batch, _ComplaintBatch)
        t0 = time.perf_counter()
        try:
            ok = self._with_retry(lambda: self._store_complaints(batch))
            ok = ok and self._with_retry(lambda: self._observe(batch))
            if ok and batch.dead:
                ok = self._with_retry(lambda: self._deadletter(batch.dead))
            if ok:
                self.counts.seller_messages += batch.seller_messages
                self.counts.unreadable += batch.unreadable
            return ok
        finally:
            self.stats.store_s += time.perf_counter() - t0

    def _store_complaints(self, batch: _ComplaintBatch) -> None:
        if not batch.complaints:
            return
        counts = self.counts
        try:
            done = self.writer.apply([c for _, c in batch.complaints])
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch of %d complaints failed (%s); isolating", len(batch.complaints), exc)
            done = None
            culprits: list[_Dead] = []
            good: list[tuple[Message, Complaint]] = []
            for message, complaint in batch.complaints:
                try:
                    self._count(self.writer.apply([complaint]), 1)
                    good.append((message, complaint))
                except Exception as one:
                    if is_transient(one):
                        raise
                    culprits.append(_Dead(_masked_message(message), _reason(one)))
            batch.dead.extend(culprits)
            batch.complaints = good  # a transient retry of this call re-applies the good ones only
        if done is not None:
            self._count(done, len(batch.complaints))
        counts.complaints = counts.created + counts.updated + counts.unchanged
        batch.complaints = []  # written: a retry of a later step must not count them again

    def _count(self, done: Any, n: int) -> None:
        self.counts.created += done.created
        self.counts.updated += done.updated
        self.counts.unchanged += done.unchanged
        self.counts.matched += done.matched

    def _observe(self, batch: _ComplaintBatch) -> None:
        if not batch.sellers:
            return
        changed, rematched = self.writer.observe_sellers(batch.sellers)
        self.counts.sellers_changed += changed
        self.counts.rematched += rematched
        batch.sellers = []


def drain(
    bus: Bus,
    writer: ComplaintWriter,
    *,
    topics: Topics | None = None,
    group: str = GROUP,
    idle_s: float = 0.5,
    rematch: bool = True,
) -> ComplaintStats:
    """Run the consumer until nothing arrives for `idle_s`: what `sweep complaints import` does inline
    when the bus is embedded (as `sweep demo` drains the indexer), under the consumer's own group so a
    later `sweep consume complaints` does not do it again."""
    consumer = ComplaintConsumer(bus, writer, topics=topics, group=group, rematch=rematch, overlap=False)
    return consumer.run(stop_when_idle=True, idle_s=idle_s)


__all__ = ["GROUP", "ComplaintConsumer", "ComplaintCounts", "ComplaintStats", "drain", "masked"]
