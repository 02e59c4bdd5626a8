"""Re-applying the rulebook to listings already kept, after the rules changed (`sweep rules rescan`).

Where the listings come from: the lead store's listings (`LeadStore.iter_listings`), which the indexer
fills from `{prefix}.listings` in every deployment -- the SQLite store embedded, the `{prefix}-listings`
index on a search engine. It holds the latest copy of each listing, for as long as the store is kept,
so a rescan works the same embedded and on servers, does not depend on Kafka's retention, and judges
each listing once (the topic would replay every crawl of it).

What a rescan does, per listing crawled since `since` (its copy's crawl time is "the judged sighting"):

* every finding of the current book is published as a LeadEvent at the judged sighting's time,
  through the `Publisher` -- the same path and the same merge (`Lead.sighted`) as a crawl. A lead that
  did not exist is created by the indexer; for an existing one it is a re-judgement of its latest
  sighting (rule, evidence and `rulebook_version` follow the new book, nothing is counted twice), and
  a retired lead is un-retired;
* every lead of the listing (one per family, so its ids are known without a query) that the book no
  longer finds is retired through `LeadStore.retire`: kept, with its triage state, marked with
  `retired_at` and the version that retired it. A lead with a sighting newer than the judged copy is
  left alone (a newer finding outranks a rescan of an older copy).

Events are flushed before the retirements of their batch are written; rescanning again with the same
book changes nothing (replays and already-retired leads are no-ops). New leads appear once the
indexer has consumed the events (`sweep consume indexer`; the CLI runs one when the bus is embedded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.book import Rulebook
from sweep.models import FAMILIES, Finding, Listing, lead_id_for, parse_time, utcnow
from sweep.publishing import Publisher
from sweep.store.base import LeadStore

_WINDOW = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`30d`, `12h`, `90m`, `2w` before `now`, or a date / RFC 3339 time (`2026-01-31`, UTC if naive)."""
    now = now or utcnow()
    match = _WINDOW.match(value)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    parsed = parse_time(value.strip())
    if parsed is None:
        raise ValueError(f"--since {value!r}: expected a window like 30d, 12h, 2w or a date like 2026-01-31")
    return parsed.astimezone(UTC)


@dataclass(slots=True)
class FamilyChanges:
    """What one family's leads did in a rescan."""

    new: int = 0
    """Found now, no lead before: created."""
    restored: int = 0
    """Found now, retired before: un-retired."""
    retired: int = 0
    """Not found any more: retired now."""
    unchanged: int = 0
    """Found before and now."""
    still_retired: int = 0
    """Not found, retired by an earlier rescan already."""
    kept_newer: int = 0
    """Not found in the judged copy, but the lead has a newer sighting: left as it is."""


@dataclass(slots=True)
class RescanReport:
    rulebook_version: str
    since: datetime | None
    dry_run: bool = False
    listings: int = 0
    """Listings judged."""
    skipped_no_time: int = 0
    """Listings without a readable crawl time: no sighting to judge, left alone."""
    lead_events: int = 0
    retired_written: int = 0
    """Leads the store actually retired (fewer than planned if someone else changed them meanwhile)."""
    families: dict[str, FamilyChanges] = field(default_factory=lambda: {f: FamilyChanges() for f in FAMILIES})
    new_lead_ids: list[str] = field(default_factory=list)
    restored_lead_ids: list[str] = field(default_factory=list)
    retired_lead_ids: list[str] = field(default_factory=list)

    def totals(self) -> FamilyChanges:
        total = FamilyChanges()
        for changes in self.families.values():
            for name in FamilyChanges.__slots__:  # type: ignore[attr-defined]
                setattr(total, name, getattr(total, name) + getattr(changes, name))
        return total

    def to_dict(self) -> dict[str, Any]:
        def row(c: FamilyChanges) -> dict[str, int]:
            return {name: getattr(c, name) for name in FamilyChanges.__slots__}  # type: ignore[attr-defined]

        return {
            "rulebook_version": self.rulebook_version,
            "since": self.since.isoformat() if self.since else None,
            "dry_run": self.dry_run,
            "listings": self.listings,
            "skipped_no_time": self.skipped_no_time,
            "lead_events": self.lead_events,
            "retired_written": self.retired_written,
            "families": {fam: row(c) for fam, c in self.families.items()},
            "totals": row(self.totals()),
            "new_lead_ids": self.new_lead_ids,
            "restored_lead_ids": self.restored_lead_ids,
            "retired_lead_ids": self.retired_lead_ids,
        }


def _chunks(items: Iterable[Listing], size: int) -> Iterator[list[Listing]]:
    chunk: list[Listing] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rescan(
    book: Rulebook,
    store: LeadStore,
    publisher: Publisher | None,
    *,
    since: datetime | None,
    batch: int = 500,
    now: datetime | None = None,
) -> RescanReport:
    """Judge the kept listings crawled since `since` with `book` again (see the module docstring).

    `publisher=None` is a dry run: the report says what would change, nothing is published or retired.
    """
    now = now or utcnow()
    report = RescanReport(book.version, since, dry_run=publisher is None)
    for chunk in _chunks(store.iter_listings(since, batch=batch), batch):
        judged: list[tuple[Listing, datetime, list[Finding]]] = []
        for listing in chunk:
            when = parse_time(listing.crawled_at)
            if when is None:
                report.skipped_no_time += 1
                continue
            judged.append((listing, when, book.scan(listing)))
        report.listings += len(judged)
        existing = store.get_many(
            lead_id_for(listing.platform, listing.listing_id, family) for listing, _, _ in judged for family in FAMILIES
        )
        to_retire: dict[str, datetime] = {}
        for listing, when, findings in judged:
            found = {f.family for f in findings}
            for family in FAMILIES:
                lead_id = lead_id_for(listing.platform, listing.listing_id, family)
                lead = existing.get(lead_id)
                changes = report.families[family]
                if family in found:
                    if lead is None:
                        changes.new += 1
                        report.new_lead_ids.append(lead_id)
                    elif lead.retired_at is not None and when >= lead.last_seen:
                        changes.restored += 1
                        report.restored_lead_ids.append(lead_id)
                    elif lead.retired_at is not None:
                        changes.still_retired += 1  # an older copy cannot un-retire (Lead.sighted agrees)
                    else:
                        changes.unchanged += 1
                elif lead is not None:
                    if lead.retired_at is not None:
                        changes.still_retired += 1
                    elif lead.last_seen > when:
                        changes.kept_newer += 1
                    else:
                        changes.retired += 1
                        report.retired_lead_ids.append(lead_id)
                        to_retire[lead_id] = when
            if findings and publisher is not None:
                publisher.publish_findings(listing, findings, observed_at=when)
                report.lead_events += len(findings)
        if publisher is not None:
            publisher.flush()  # the new verdicts are durable before the old ones are retired
            report.retired_written += store.retire(to_retire, rulebook_version=book.version, at=now)
    return report
