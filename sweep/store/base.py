"""The LeadStore port.

Implemented by the embedded SQLite store (`adapters.store.sqlite`) and by the search-engine backends in
`adapters.store.searchengine`. All of them apply the same lead semantics (`Lead.sighted`): detection updates never touch
triage fields, and a replayed sighting changes nothing.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sweep.models import SEVERITY_RANK, Lead, LeadEvent, Listing, TriageStatus
from sweep.recrawl import ListingState, Observation, ObservationStats


@dataclass(slots=True)
class UpsertStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: UpsertStats) -> UpsertStats:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


@dataclass(slots=True)
class LeadQuery:
    """One search. `text` is in the search language of `sweep.query` (words, "phrases", -exclusion,
    OR, field:value filters); the list fields are filters set by options or facet clicks. Values in
    one list are alternatives; different filters (and the text) must all hold."""

    text: str | None = None
    families: Sequence[str] = ()
    severities: Sequence[str] = ()
    statuses: Sequence[str] = ()
    platforms: Sequence[str] = ()
    regions: Sequence[str] = ()
    categories: Sequence[str] = ()
    shop: str | None = None
    """A shop id (exact) or a phrase of the shop name."""
    seen_from: datetime | None = None
    seen_to: datetime | None = None
    sort: Literal["recent", "priority"] = "recent"
    size: int = 20
    search_after: list | None = None
    """Opaque cursor from the previous page's `next_cursor` (deep paging)."""


PRIORITY_HALF_LIFE_DAYS = 14.0
"""`workspace.priority`: a lead's recency weight halves every this many days without a sighting."""


def priority_sort_key(severity: str, times_seen: int, last_seen: datetime, complaints: int = 0) -> float:
    """What every store sorts `LeadQuery(sort="priority")` by, descending (then lead id ascending):

        log2(severity) + log2(1 + log2(times_seen)) + log2(1 + complaints) + (last_seen in days since 1970) / 14

    which is log2 of the documented priority (`workspace.priority`; complaints are the lead's
    `seller_complaints`, counted by the workspace) plus a term that depends only on the current time,
    (now in days) / 14, the same for every lead. So it orders leads exactly as the priority would at any
    moment, yet is fixed per lead: stored when the lead is written, indexed, and a stable `search_after`
    key. A changed complaint count rewrites it (`LeadStore.set_seller_complaints`)."""
    return (
        math.log2(SEVERITY_RANK[severity])
        + math.log2(1 + math.log2(max(1, times_seen)))
        + math.log2(1 + max(0, complaints))
        + last_seen.timestamp() / 86400 / PRIORITY_HALF_LIFE_DAYS
    )


def lead_priority_key(lead: Lead) -> float:
    """`priority_sort_key` of a stored lead."""
    return priority_sort_key(lead.severity, lead.times_seen, lead.last_seen, lead.seller_complaints)


FACETS: tuple[str, ...] = ("family", "severity", "status", "platform", "region", "shop", "category")
"""Facets every store counts (over the leads matching all criteria): shop is the shop name, region the
shop's region, category the listing's category. Leads without a value are not counted."""

FACET_SIZE = 50
"""Values per facet: the most frequent first, ties by value, so every store cuts the list alike."""

Facets = dict[str, dict[str, int]]


@dataclass(slots=True)
class LeadSearchResult:
    total: int
    leads: list[Lead]
    facets: Facets = field(default_factory=dict)
    highlights: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """lead_id -> field -> fragments with <em> marks (escaped text around them)."""
    next_cursor: list | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One triage decision for `LeadStore.set_status_many` (the arguments of `set_status`)."""

    lead_id: str
    status: TriageStatus
    assignee: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class StatusResult:
    """What became of one lead's change: `lead` as written, or why not. "missing": no such lead;
    "conflict": the lead was written by someone else (a sighting, another decision) between the store's
    read and its write, so this change was not applied; the caller decides whether to retry."""

    lead_id: str
    lead: Lead | None = None
    error: Literal["missing", "conflict"] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


REPORT_UTC_OFFSET_HOURS = 8
"""Reports count days in China Standard Time (UTC+8, no daylight saving): a day is 00:00-24:00 there."""

AGE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("lt1d", 1.0),
    ("1-3d", 3.0),
    ("3-7d", 7.0),
    ("7-30d", 30.0),
    ("gt30d", None),
)
"""A lead's age (now - first_seen) in days, bucketed for the queue report: each bucket holds ages below
its bound and at or above the previous one."""


def age_bucket(first_seen: datetime, now: datetime) -> str:
    """The `AGE_BUCKETS` key of a lead first seen at `first_seen`, judged at `now`."""
    days = (now - first_seen).total_seconds() / 86400
    for key, bound in AGE_BUCKETS:
        if bound is None or days < bound:
            return key
    return AGE_BUCKETS[-1][0]


@dataclass(slots=True)
class LeadAggregates:
    """Counts over the leads that match a query and were first seen in a period (`LeadStore.aggregate`).
    Every mapping leaves out zero counts; the counts by family, status and region and `top_shops` are
    ordered most frequent first, ties by name (as the search engines' terms aggregations order them);
    `top_shops` keeps the `top` most frequent."""

    total: int = 0
    per_day: dict[str, dict[str, int]] = field(default_factory=dict)
    """Day of first sighting (YYYY-MM-DD, UTC+8) -> family -> leads."""
    by_family: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_region: dict[str, int] = field(default_factory=dict)
    top_shops: dict[str, int] = field(default_factory=dict)
    status_age: dict[str, dict[str, int]] = field(default_factory=dict)
    """Status -> `AGE_BUCKETS` key -> leads (age at the `now` given)."""


@dataclass(frozen=True, slots=True)
class Judged:
    """The verdict a crawler's rulebook gave a listing it published (headers `sweep-judged-by` and
    `sweep-severity`): the rulebook version and the highest severity found (None for no finding)."""

    rulebook_version: str
    severity: str | None = None


class LeadStore(ABC):
    @abstractmethod
    def apply_events(self, events: Iterable[LeadEvent]) -> UpsertStats:
        """Create or update leads from sightings, idempotently."""

    @abstractmethod
    def index_listings(self, listings: Iterable[Listing], *, judged: Mapping[str, Judged] | None = None) -> int:
        """Keep the latest copy of each listing (by platform:listing_id); returns how many were written.

        The real stores also keep each listing's recrawl state (`sweep.recrawl.ListingState`: content
        fingerprint, history, interval) and, when a listing's content changed, give its leads the
        listing's state (`Lead.LISTING_FIELDS`). `judged` (key -> `Judged`) holds the verdict of the
        crawler that ran the rulebook on a listing (the `sweep-judged-by`/`sweep-severity` headers)."""

    @abstractmethod
    def get(self, lead_id: str) -> Lead | None: ...

    @abstractmethod
    def set_status(
        self, lead_id: str, status: TriageStatus, *, assignee: str | None = None, note: str | None = None
    ) -> Lead:
        """Triage by a person; raises KeyError for an unknown lead."""

    def set_status_many(self, changes: Iterable[StatusChange]) -> dict[str, StatusResult]:
        """`set_status` for many leads at once (bulk actions): lead_id -> result, in the order of first
        appearance. Only triage fields change, as in `set_status`; a lead named twice gets its changes in
        order. A missing lead or a conflict is reported for that lead alone, never raised for the batch.
        This default loops over `set_status` (so any store works); the real stores write in one
        transaction (SQLite) or one bulk request per chunk (search engines)."""
        out: dict[str, StatusResult] = {}
        for c in changes:
            try:
                lead = self.set_status(c.lead_id, c.status, assignee=c.assignee, note=c.note)
            except KeyError:
                out[c.lead_id] = StatusResult(c.lead_id, error="missing")
                continue
            out[c.lead_id] = StatusResult(c.lead_id, lead)
        return out

    @abstractmethod
    def search(self, query: LeadQuery) -> LeadSearchResult:
        """One page of leads matching `query` (text per `sweep.query`), the total and the facets."""

    @abstractmethod
    def count(self) -> int: ...

    # -- re-applying rules (`rules.rescan`); concrete so that stores without them still load --------
    def get_many(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        """lead_id -> lead for the ids that exist (one round trip in the real stores)."""
        return {lead.lead_id: lead for lead_id in dict.fromkeys(lead_ids) if (lead := self.get(lead_id))}

    def iter_listings(self, since: datetime | None = None, *, batch: int = 500) -> Iterator[Listing]:
        """The kept listings (latest copy of each, `index_listings`) crawled at or after `since` (all of
        them when None), in a stable order, read `batch` at a time. A listing whose crawl time is missing
        or unreadable is only included when `since` is None."""
        raise NotImplementedError(f"{type(self).__name__} keeps no listings to read back")

    def retire(self, judged: Mapping[str, datetime], *, rulebook_version: str, at: datetime) -> int:
        """Mark leads that the rulebook `rulebook_version` no longer finds (`Lead.retired`): `judged` maps
        each lead id to the crawl time of the listing copy that was judged. Only detection's retirement
        fields change, under the same concurrency guard as sightings, so a triage decision or a newer
        sighting written meanwhile is never lost. Returns how many leads were retired by this call."""
        raise NotImplementedError(f"{type(self).__name__} cannot retire leads")

    def aggregate(
        self,
        query: LeadQuery,
        *,
        first_from: datetime | None = None,
        first_to: datetime | None = None,
        now: datetime,
        top: int = 10,
    ) -> LeadAggregates:
        """Counts for reports over the leads matching `query` (its filters and text; paging and sort are
        ignored) first seen in [first_from, first_to). The stores override this with one aggregation;
        this default pages through `search`, so any store answers, slowly."""
        from dataclasses import replace

        page = replace(query, size=500, sort="recent", search_after=None)
        if first_from is not None:  # last_seen >= first_seen, so this narrows without losing any
            page.seen_from = max(first_from, page.seen_from) if page.seen_from else first_from
        rows: list[tuple[str, str, str | None, str | None, datetime]] = []
        while True:
            result = self.search(page)
            for lead in result.leads:
                listing = lead.listing
                rows.append((lead.family, lead.status.value, listing.region, listing.shop_name, lead.first_seen))
            if not result.next_cursor or not result.leads:
                break
            page.search_after = result.next_cursor
        return aggregate_rows(rows, first_from=first_from, first_to=first_to, now=now, top=top)

    def set_seller_complaints(self, counts: Mapping[str, int]) -> int:
        """Give leads (lead_id -> count) the number of complaints about their seller, and with it their
        stored priority sort key. Only that field (and the key) changes, under the store's concurrency
        guard, so a sighting or a decision written meanwhile is kept; unknown ids and unchanged counts
        are skipped. Returns how many leads changed."""
        raise NotImplementedError(f"{type(self).__name__} keeps no complaint counts")

    # -- incremental recrawl (`sweep.recrawl`); concrete so that stores without it still load ---------
    def listing_states(self, keys: Iterable[str]) -> dict[str, ListingState]:
        """key (platform:listing_id) -> the kept recrawl state, for the keys that have one. A crawler
        calls it once per category page; the real stores answer in one round trip."""
        return {}

    def record_observations(self, observations: Iterable[Observation]) -> ObservationStats:
        """Apply unchanged sightings (`ListingSeen`) and removals (`ListingGone`), idempotently: the
        listing's state moves, and so do its leads (sighting count and last_seen of the current leads
        for a sighting; `listing_state`/`removed_at`/history for all of them). Triage and detection
        facts are never touched. Observations of unknown listings are counted and ignored."""
        raise NotImplementedError(f"{type(self).__name__} keeps no listing states")

    def listings_in_category(self, platform: str, category: str) -> Iterator[ListingState]:
        """The states of the listings of a category that are not removed (for "missing from its
        category": the crawler compares them with what a complete crawl of the category's pages found)."""
        return iter(())

    def due_listings(
        self, now: datetime, *, platform: str | None = None, limit: int = 1000, include_removed: bool = False
    ) -> list[ListingState]:
        """The listings whose recrawl is due at `now` (`next_due <= now`), most overdue first, at most
        `limit`; removed ones only with `include_removed`."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> LeadStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def aggregate_rows(
    rows: Iterable[tuple[str, str, str | None, str | None, datetime]],
    *,
    first_from: datetime | None,
    first_to: datetime | None,
    now: datetime,
    top: int,
) -> LeadAggregates:
    """`LeadAggregates` of (family, status, region, shop name, first_seen) rows, kept when first seen in
    [first_from, first_to): the arithmetic the embedded store and the port's default share."""
    from collections import Counter
    from datetime import timedelta

    shift = timedelta(hours=REPORT_UTC_OFFSET_HOURS)
    out = LeadAggregates()
    shops: Counter[str] = Counter()
    for family, status, region, shop, first_seen in rows:
        if (first_from is not None and first_seen < first_from) or (first_to is not None and first_seen >= first_to):
            continue
        out.total += 1
        day = (first_seen.astimezone(UTC) + shift).date().isoformat()
        out.per_day.setdefault(day, {})
        out.per_day[day][family] = out.per_day[day].get(family, 0) + 1
        out.by_family[family] = out.by_family.get(family, 0) + 1
        out.by_status[status] = out.by_status.get(status, 0) + 1
        if region:
            out.by_region[region] = out.by_region.get(region, 0) + 1
        if shop:
            shops[shop] += 1
        bucket = age_bucket(first_seen, now)
        out.status_age.setdefault(status, {})
        out.status_age[status][bucket] = out.status_age[status].get(bucket, 0) + 1
    out.per_day = dict(sorted(out.per_day.items()))
    ranked = lambda counts: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))  # noqa: E731
    out.by_family, out.by_status, out.by_region = ranked(out.by_family), ranked(out.by_status), ranked(out.by_region)
    out.top_shops = dict(sorted(shops.items(), key=lambda kv: (-kv[1], kv[0]))[:top])
    return out
