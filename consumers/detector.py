"""The detector: `{prefix}.listings` -> rulebook -> `{prefix}.leads`, as a consumer group.

Detection then scales with the listings topic's partitions, apart from crawling: crawlers only publish
listings (setting `detect_in_crawler = false`) and as many `sweep consume detector` processes as there
are partitions judge them. Embedded and small deployments keep detecting in the crawler (the default);
both paths publish the same LeadEvents (`Publisher`, observed at the listing's crawl time), so running
both at once only produces replays, which the lead store ignores.

It is the indexer's loop with another write step (`Detector` extends `Indexer`), so it has the same
guarantees:

* offsets are committed only after the lead events of the whole batch were flushed (and dead letters
  too): a crash replays, never loses;
* a message that is not a listing, or a listing the rulebook fails on, goes to the dead-letter topic
  with its original bytes and the reason (the indexer's bounded dead letters), and the batch goes on;
* a bus that cannot confirm delivery is retried with capped exponential backoff and nothing is
  committed meanwhile (`health()` says "backing_off", then "stuck").

A listing is scanned once per delivery: a retried publish re-sends the same events (replays).

A recrawl publishes a listing whose content is unchanged as a small `listing_seen` message, and a
listing found gone as `listing_gone` (`sweep.recrawl`), on the same topic: the detector decodes them
and leaves them alone (there is nothing to judge; the indexer applies them to the lead store), so only
new and changed listings are judged here as in the crawler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from consumers.indexer import Indexer, _Batch, _Dead, _error_text
from rules.book import Rulebook
from sweep.bus.base import Bus, Message, MessageRejectedError, Topics
from sweep.models import Finding, Listing
from sweep.publishing import Publisher
from sweep.settings import get_settings

log = logging.getLogger("sweep.detector")

_Verdict = tuple[Message, Listing, list[Finding]]


class Detector(Indexer):
    """Runs `book` over the listings topic and publishes what it finds (see the module docstring).

    `stats.listings` counts the listings judged, `stats.lead_events` the events published; `store_s`
    is the time spent scanning and publishing."""

    def __init__(
        self,
        bus: Bus,
        book: Rulebook,
        *,
        topics: Topics | None = None,
        group: str = "sweep-detector",
        batch: int = 500,
        **options: Any,
    ) -> None:
        """Reads `topics.listings`, publishes to `topics.leads`, dead-letters to `topics.deadletter`;
        `topics` defaults to the configured names (`SWEEP_TOPIC_PREFIX`). `options` are the indexer's
        (backoff, stuck_after_s, overlap ...)."""
        names = topics or get_settings().topics
        # the detector writes no lead store: its `_write` replaces the indexer's, the only store user
        super().__init__(
            bus,
            None,  # type: ignore[arg-type]
            group=group,
            topics=(names.listings,),
            batch=batch,
            deadletter_topic=names.deadletter,
            **options,
        )
        self.book = book
        self.publisher = Publisher(bus, names)

    def _write(self, batch: _Batch) -> bool:
        """Scan the batch's listings, publish and flush their findings, flush its dead letters; False if
        asked to stop before it could (nothing is committed then)."""
        t0 = time.perf_counter()
        try:
            verdicts = self._judge(batch.listings, batch.dead)
            published: list[int] = [0]
            ok = self._with_retry(lambda: self._publish(verdicts, batch.dead, published))
            if ok:
                self.stats.lead_events += published[0]
            if ok and batch.dead:
                ok = self._with_retry(lambda: self._deadletter(batch.dead))
            return ok
        finally:
            self.stats.store_s += time.perf_counter() - t0

    def _judge(self, listings: Sequence[tuple[Message, Listing]], dead: list[_Dead]) -> list[_Verdict]:
        """Findings per listing; a listing the rulebook raises on is dead-lettered (an engine bug must
        not stall the group, and the listing stays retrievable with the reason)."""
        verdicts: list[_Verdict] = []
        for message, listing in listings:
            try:
                verdicts.append((message, listing, self.book.scan(listing)))
            except Exception as exc:
                log.exception("detection failed for %s", listing.key)
                dead.append(_Dead(message, "detection failed: " + _error_text(exc)))
        return verdicts

    def _publish(self, verdicts: list[_Verdict], dead: list[_Dead], published: list[int]) -> None:
        """Publish every finding, then flush. If the bus refuses some event for good (too large), the
        listings are sent again one by one and the ones whose events are refused are dead-lettered."""
        published[0] = 0
        culprits: list[_Dead] = []  # local, so a transient retry of this call does not double them
        try:
            for message, listing, findings in verdicts:
                published[0] += self._send(message, listing, findings, culprits)
            self.publisher.flush()
        except MessageRejectedError as exc:
            log.warning("the bus refused a lead event (%s); publishing listing by listing", exc)
            published[0] = 0
            culprits = []
            for message, listing, findings in verdicts:
                try:
                    sent = self._send(message, listing, findings, culprits)
                    self.publisher.flush()
                    published[0] += sent
                except MessageRejectedError as one:
                    culprits.append(_Dead(message, "lead event refused: " + _error_text(one)))
        dead.extend(culprits)

    def _send(self, message: Message, listing: Listing, findings: list[Finding], culprits: list[_Dead]) -> int:
        if not findings:
            return 0
        try:
            self.publisher.publish_findings(listing, findings)
        except MessageRejectedError as exc:
            culprits.append(_Dead(message, "lead event refused: " + _error_text(exc)))
            return 0
        return len(findings)
