"""The seller directory, fed from what the pipeline already carries.

Lead events (`sweep.leads`) name the shop of every flagged listing and the lead's id; listings
(`sweep.listings`) add the shop's URL, its licence holder and USCC. `SellerSync` reads both topics as
its own consumer group, merges the shops into the `SellerDirectory`, and re-matches the complaints
whose keys the new or changed sellers carry — "matching runs again when new leads arrive for a seller
that has complaints". Offsets are committed after the directory and the matches are written, so a
crash replays (the merge is idempotent). Messages it cannot read are skipped and counted: the indexer,
which reads the same topics, dead-letters them.

`bootstrap_from_leads` fills the directory from a lead store page by page, for a directory started
after the bus has dropped old messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from complaints.matching import valid_uscc
from sweep.bus import envelope
from sweep.bus.base import Bus
from sweep.models import LeadEvent, Listing
from sweep.publishing import KIND_LEAD_EVENT, KIND_LISTING
from sweep.store.base import LeadQuery, LeadStore
from sweep.store.complaints import Seller, SellerDirectory

log = logging.getLogger("sweep.complaints.sellers")

GROUP = "sweep-complaint-sellers"


def seller_from_event(event: LeadEvent) -> Seller | None:
    summary = event.listing
    shop_id = summary.shop_id or (f"name:{summary.shop_name}" if summary.shop_name else None)
    if not shop_id:
        return None
    return Seller(
        platform=event.finding.platform,
        shop_id=shop_id,
        name=summary.shop_name,
        uscc=valid_uscc(summary.shop_licence_no),
        region=summary.region,
        urls=[summary.url] if summary.url else [],
        lead_ids=[event.lead_id],
    )


def seller_from_listing(listing: Listing) -> Seller | None:
    shop = listing.shop
    if shop is None:
        return None
    shop_id = shop.shop_id or (f"name:{shop.name}" if shop.name else None)
    if not shop_id:
        return None
    return Seller(
        platform=listing.platform,
        shop_id=shop_id,
        name=shop.name,
        company=shop.licence_company,
        uscc=valid_uscc(shop.licence_no),
        region=shop.region,
        urls=[u for u in (shop.url, listing.url) if u],
    )


@dataclass(slots=True)
class SyncStats:
    messages: int = 0
    sellers_changed: int = 0
    complaints_rematched: int = 0
    unreadable: int = 0


class SellerSync:
    """Bus -> seller directory -> re-matching (see the module doc)."""

    def __init__(
        self,
        bus: Bus,
        directory: SellerDirectory,
        topics: Sequence[str],
        on_sellers: Callable[[list[Seller]], int],
        group: str = GROUP,
    ) -> None:
        """`topics`: the leads and listings topics as configured. `on_sellers` re-matches the complaints
        of changed sellers and returns how many it re-matched."""
        self.bus = bus
        self.directory = directory
        self.topics = list(topics)
        self.on_sellers = on_sellers
        self.group = group
        self.stats = SyncStats()

    def _sellers(self, values: Iterable[bytes]) -> list[Seller]:
        out: list[Seller] = []
        for value in values:
            try:
                kind, payload = envelope.decode(value)
                if kind == KIND_LEAD_EVENT:
                    seller = seller_from_event(LeadEvent.model_validate(payload))
                elif kind == KIND_LISTING:
                    seller = seller_from_listing(Listing.model_validate(payload))
                else:
                    seller = None
            except (envelope.EnvelopeError, ValidationError):
                self.stats.unreadable += 1
                continue
            if seller is not None:
                out.append(seller)
        return out

    def drain(self, max_batches: int | None = None, timeout_s: float = 1.0) -> SyncStats:
        """Process what is on the topics now; returns when a poll brings nothing (or after max_batches)."""
        with self.bus.consumer(self.topics, self.group) as consumer:
            batches = 0
            while max_batches is None or batches < max_batches:
                messages = consumer.poll(max_records=1000, timeout_s=timeout_s)
                if not messages:
                    break
                self.apply(self._sellers(m.value for m in messages))
                self.stats.messages += len(messages)
                consumer.commit(messages)
                batches += 1
        return self.stats

    def apply(self, sellers: list[Seller]) -> None:
        changed = self.directory.observe(sellers)
        self.stats.sellers_changed += len(changed)
        if changed:
            self.stats.complaints_rematched += self.on_sellers(changed)


def bootstrap_from_leads(store: LeadStore, directory: SellerDirectory, page_size: int = 500) -> int:
    """Observe the shop of every lead in `store`, one page at a time; returns the leads read."""
    read = 0
    cursor = None
    while True:
        result = store.search(LeadQuery(size=page_size, search_after=cursor))
        sellers = []
        for lead in result.leads:
            summary = lead.listing
            shop_id = summary.shop_id or (f"name:{summary.shop_name}" if summary.shop_name else None)
            if shop_id:
                sellers.append(
                    Seller(
                        platform=lead.platform,
                        shop_id=shop_id,
                        name=summary.shop_name,
                        uscc=valid_uscc(summary.shop_licence_no),
                        region=summary.region,
                        urls=[summary.url] if summary.url else [],
                        lead_ids=[lead.lead_id],
                    )
                )
        directory.observe(sellers)
        read += len(result.leads)
        cursor = result.next_cursor
        if not cursor or not result.leads:
            return read
