"""Turns listings and findings into bus messages. Used by the spider's publish pipeline and by
`sweep scan --publish`, so both speak the same envelope, keys and topic names. This is where a listing
becomes a lead event, so the lead's region is normalised here to its GB/T 2260 full name
(`sweep.regions.normalise`: 浙江 -> 浙江省), whatever spelling the page or feed used."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sweep import regions as divisions
from sweep.bus import envelope
from sweep.bus.base import Bus, Topics
from sweep.models import Finding, LeadEvent, Listing
from sweep.recrawl import KIND_LISTING_GONE, KIND_LISTING_SEEN, ListingGone, ListingSeen
from sweep.settings import get_settings

KIND_LISTING = "listing"
KIND_LEAD_EVENT = "lead_event"


class Publisher:
    def __init__(self, bus: Bus, topics: Topics | None = None) -> None:
        """`topics` defaults to the configured ones (`SWEEP_TOPIC_PREFIX`), so callers that only hold a bus
        (the spiders' pipeline) publish where this deployment's indexer reads."""
        self.bus = bus
        self.topics = topics or get_settings().topics
        self.listings = 0
        self.lead_events = 0
        self.observations = 0

    def publish_listing(self, listing: Listing, headers: dict[str, str] | None = None) -> None:
        """A listing (new or changed content); `headers` carry the crawler's verdict (`sweep.recrawl`)."""
        self.bus.publish(self.topics.listings, listing.key, envelope.encode(KIND_LISTING, listing), headers)
        self.listings += 1

    def publish_observation(self, observation: ListingSeen | ListingGone) -> None:
        """An unchanged sighting or a removal (`sweep.recrawl`), keyed like the listing so it stays in
        order with the listing's copies on the listings topic."""
        kind = KIND_LISTING_SEEN if isinstance(observation, ListingSeen) else KIND_LISTING_GONE
        self.bus.publish(self.topics.listings, observation.key, envelope.encode(kind, observation))
        self.observations += 1

    def publish_findings(
        self, listing: Listing, findings: Iterable[Finding], observed_at: datetime | None = None
    ) -> None:
        for finding in findings:
            event = LeadEvent.of(finding, listing, observed_at)
            region = divisions.normalise(event.listing.region)
            if region != event.listing.region:  # 浙江 -> 浙江省: the queue's filter and reports count it
                event = event.model_copy(update={"listing": event.listing.model_copy(update={"region": region})})
            self.bus.publish(self.topics.leads, event.lead_id, envelope.encode(KIND_LEAD_EVENT, event))
            self.lead_events += 1

    def flush(self) -> None:
        """Confirm delivery; a crawl reports success only after this returns."""
        self.bus.flush()
