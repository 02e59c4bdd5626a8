"""Incremental recrawl: content fingerprints, listing state, recrawl intervals.

What a recrawl does with each listing it finds
----------------------------------------------
* **Unchanged** (same content fingerprint as the kept state, and — when the crawler detects — judged by
  the same rulebook version): the rulebook does NOT run and the listing is NOT published again. The
  crawler publishes a small `ListingSeen` on `{prefix}.listings` instead (kind `listing_seen`, keyed
  like the listing), and the indexer applies it: the listing state's `last_seen`/`times_seen` move,
  and so do those of the listing's current leads (`Lead.seen_again`: a sighting, replay-safe, detection
  facts kept).
* **Changed** (another fingerprint): published as today, re-detected (in the crawler or by `sweep consume
  detector`), and the store records the change in the listing's history (`ListingChange`: which parts
  changed, title and price before → after); the listing's leads show `listing_state = "changed"`.
* **New**: published and detected as today; its state starts here.
* **Gone**: HTTP 404 (or 410) of a known listing's page, a 下架 page, or missing from its category's
  pages when every page of that category was crawled in this run: the crawler publishes a `ListingGone`
  (kind `listing_gone`) and the store marks the listing and its leads `removed` with the time.

Where the fingerprint lives, and why there
------------------------------------------
The state is kept **by the lead store, beside the latest copy of the listing** (`LeadStore.index_listings`
already keeps that copy): a `listing_state` table in the embedded SQLite store, a `recrawl` object in
the `{prefix}-listings` documents on OpenSearch/Elasticsearch. So embedded and production deployments
have it without another server, and the store can update the listing's leads in the same place.

**The indexer is its only writer; crawlers only read it.** A crawler reads the states of the listings a
category page links to (one batched read per page, `LeadStore.listing_states`) and decides there; the
state changes when the indexer applies what the crawler published (a full listing, a `ListingSeen` or a
`ListingGone`). Hence:
* A state never runs ahead of the bus: it says "fingerprint F" only once a listing with F was consumed,
  so a crawl that dies before its flush cannot leave a fingerprint whose listing was never published.
* It works the same on the SQLite bus and on Kafka, with detection in the crawler or in `sweep consume
  detector` (which ignores the two small kinds: they need no judgement).
* Replays are harmless: every merge below is keyed by the crawl time and remembers the latest sighting
  times, like `Lead.sighted`.
* A crawler reading a state the indexer has not caught up with sees the older (or no) fingerprint and
  treats the listing as changed or new: a recrawl that runs ahead of its indexer costs detections, never
  correctness.

The fingerprint (`fingerprint`) is a BLAKE2b hash of the normalised content a person would call the
listing: title, price, currency, unit, description, category, attributes, images (their paths: an image
host or the mall's port may change without the picture changing) and the shop's facts (id, name, licence
number and company, region, permits). Not the URL, the crawl time or `truncated`. Normalisation: Unicode
NFKC, runs of whitespace as one space, ends stripped; prices to cents. Each part also has a short hash
(`parts`), so a change can say what changed.

Unchanged is decided only with detection in the crawler against the version that judged the kept
content (`ListingState.judged_by`, carried on the listing message's `sweep-judged-by` header): after a
rulebook edit the next crawl judges everything again once. With detection in `sweep consume detector`
the crawler compares content only, and a rule edit is applied with `sweep rules rescan`.

Which leads a sighting moves: the listing's leads (ids `lead_id_for(platform, listing_id, family)` over
the taxonomy's families, so no query is needed) that are not retired and were sighted at or after the
current content was first crawled (`content_since`): a family no longer found since the content changed
is not sighted again. A `ListingSeen` whose fingerprint is not the kept one (two crawls racing) counts
for the listing only.

Recrawl intervals
-----------------
Each state carries `interval_s` and `next_due` (`RecrawlPolicy`, bounds from the settings
`ops_recrawl_min_hours` / `ops_recrawl_max_hours`, start `ops_recrawl_initial_hours`): an unchanged
sighting stretches the interval by 1.5, a change halves it; the interval actually used is shortened for
listings with high (x0.25) or medium (x0.5) severity leads, and always kept within the bounds. A removed
listing is looked at again after the longest interval (a takedown check has its own schedule).
`LeadStore.due_listings(now)` answers "which listings are due" (`operations.recrawl` turns them into a
recheck target's listings).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field

from sweep.models import (
    FAMILIES,
    LISTING_HISTORY_LIMIT,
    SEVERITY_RANK,
    Listing,
    ListingChange,
    ListingStateName,
    lead_id_for,
)

FINGERPRINT_VERSION = 1
"""Part of every fingerprint: a change of the normalisation makes every listing "changed" once, never
"unchanged" by accident."""

KIND_LISTING_SEEN = "listing_seen"
KIND_LISTING_GONE = "listing_gone"
"""Envelope kinds on `{prefix}.listings` beside `listing` (`sweep.publishing`)."""

HEADER_JUDGED_BY = "sweep-judged-by"
HEADER_SEVERITY = "sweep-severity"
"""Headers of a listing message published by a crawler that judged it: the rulebook version, and the
highest severity it found ("" for none)."""

SIGHTINGS_KEPT = 16
"""Latest sighting times a listing state keeps to recognise replays."""

GoneReason = Literal["http_404", "http_410", "delisted", "missing_from_category"]

_SPACE = re.compile(r"\s+")


def _norm(text: str | None) -> str:
    if not text:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def _image_path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.scheme else url


def _parts(listing: Listing) -> dict[str, Any]:
    shop = listing.shop
    shop_part: list[Any] = []
    if shop is not None:
        shop_part = [
            _norm(shop.shop_id),
            _norm(shop.name),
            _norm(shop.licence_no),
            _norm(shop.licence_company),
            _norm(shop.region),
            sorted((_norm(p.type), _norm(p.number)) for p in shop.permits),
        ]
    return {
        "title": _norm(listing.title),
        "price": None if listing.price is None else f"{listing.price:.2f}",
        "currency": _norm(listing.currency),
        "unit": _norm(listing.unit),
        "description": _norm(listing.description),
        "category": _norm(listing.category),
        "attributes": sorted((_norm(k), _norm(v)) for k, v in listing.attributes.items()),
        "images": [_image_path(u) for u in listing.images],
        "shop": shop_part,
    }


def _digest(value: Any, size: int) -> str:
    return hashlib.blake2b(orjson.dumps(value), digest_size=size).hexdigest()


def part_hashes(listing: Listing) -> dict[str, str]:
    """A short hash per part of the content (title, price, description, images, attributes, shop …)."""
    return {name: _digest(value, 6) for name, value in _parts(listing).items()}


def fingerprint(listing: Listing) -> str:
    """The content fingerprint of a listing (see the module docstring for what it covers)."""
    return _digest([FINGERPRINT_VERSION, _parts(listing)], 16)


def candidate_lead_ids(platform: str, listing_id: str) -> list[str]:
    """The ids every lead of this listing can have (one per family of the taxonomy)."""
    return [lead_id_for(platform, listing_id, family) for family in FAMILIES]


def highest_severity(severities: Any) -> str | None:
    found = [s for s in severities if s in SEVERITY_RANK]
    return max(found, key=SEVERITY_RANK.__getitem__) if found else None


@dataclass(frozen=True, slots=True)
class RecrawlPolicy:
    """How long to wait before crawling a listing again (module docstring, "Recrawl intervals")."""

    min_s: float = 6 * 3600.0
    max_s: float = 14 * 86400.0
    initial_s: float = 86400.0
    grow: float = 1.5
    shrink: float = 0.5
    severity_factor: tuple[tuple[str, float], ...] = (("high", 0.25), ("medium", 0.5))

    @classmethod
    def from_settings(cls, settings: Any = None) -> RecrawlPolicy:
        if settings is None:
            from sweep.settings import get_settings

            settings = get_settings()
        lo, hi = settings.ops_recrawl_min_hours * 3600, settings.ops_recrawl_max_hours * 3600
        if hi < lo:
            raise ValueError(f"ops_recrawl_max_hours ({hi / 3600:g}) is below ops_recrawl_min_hours ({lo / 3600:g})")
        return cls(min_s=lo, max_s=hi, initial_s=min(max(settings.ops_recrawl_initial_hours * 3600, lo), hi))

    def clamp(self, seconds: float) -> float:
        return min(max(seconds, self.min_s), self.max_s)

    def effective(self, interval_s: float, severity: str | None) -> float:
        """The wait actually used: the adaptive interval, shortened for severe leads, within bounds."""
        return self.clamp(interval_s * dict(self.severity_factor).get(severity or "", 1.0))


class ListingSeen(BaseModel):
    """A recrawl found the listing unchanged (kind `listing_seen`)."""

    model_config = ConfigDict(extra="ignore")

    platform: str
    listing_id: str
    fingerprint: str
    seen_at: datetime
    url: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.listing_id}"


class ListingGone(BaseModel):
    """A crawl found the listing gone (kind `listing_gone`)."""

    model_config = ConfigDict(extra="ignore")

    platform: str
    listing_id: str
    reason: str
    """A `GoneReason`: http_404, http_410, delisted, missing_from_category."""
    at: datetime
    url: str | None = None

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.listing_id}"


Observation = ListingSeen | ListingGone


class ListingState(BaseModel):
    """What the store keeps per listing beside its latest copy (the module docstring says why there).

    Every transition returns a new state, or the same object when nothing changes (a replay), like
    `Lead.sighted`, so a store writes only what changed."""

    model_config = ConfigDict(extra="ignore")

    platform: str
    listing_id: str
    category: str | None = None
    shop_id: str | None = None
    url: str | None = None
    title: str = ""
    price: float | None = None
    fingerprint: str
    parts: dict[str, str] = Field(default_factory=dict)
    state: ListingStateName = "online"
    first_seen: datetime
    last_seen: datetime
    """Latest crawl that found the listing online (a full copy or a `ListingSeen`)."""
    content_since: datetime
    """Crawl time of the copy that brought the current fingerprint."""
    times_seen: int = 1
    recent_sightings: list[datetime] = Field(default_factory=list)
    times_changed: int = 0
    changed_at: datetime | None = None
    removed_at: datetime | None = None
    removed_reason: str | None = None
    judged_by: str | None = None
    """Rulebook version that judged the current content in the crawler (None: unknown, or detection ran
    in `sweep consume detector`)."""
    severity: str | None = None
    """Highest severity among the leads of the current content (None: none known)."""
    interval_s: float
    next_due: datetime
    history: list[ListingChange] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.listing_id}"

    # -- transitions ------------------------------------------------------------------------------
    @classmethod
    def first(
        cls,
        listing: Listing,
        at: datetime,
        policy: RecrawlPolicy,
        *,
        judged_by: str | None = None,
        severity: str | None = None,
    ) -> ListingState:
        interval = policy.clamp(policy.initial_s)
        return cls(
            **_content(listing),
            fingerprint=fingerprint(listing),
            parts=part_hashes(listing),
            first_seen=at,
            last_seen=at,
            content_since=at,
            recent_sightings=[at],
            judged_by=judged_by,
            severity=severity,
            interval_s=interval,
            next_due=at + timedelta(seconds=policy.effective(interval, severity)),
        )

    def observed(
        self,
        listing: Listing,
        at: datetime,
        policy: RecrawlPolicy,
        *,
        judged_by: str | None = None,
        severity: str | None = None,
        judged: bool = False,
    ) -> ListingState:
        """A full copy of the listing crawled at `at` (new or changed content, or a crawler that did not
        know the state yet). An older copy than the latest only counts as a sighting; `judged` says the
        crawler ran the rulebook (then `judged_by`/`severity` are its verdict)."""
        if at in self.recent_sightings:
            return self  # a replay
        fp = fingerprint(listing)
        if at < self.last_seen:
            return self._counted(at)
        if fp == self.fingerprint:
            new = self._sighting(at, policy, grow=True)
            if judged and (new.judged_by, new.severity) != (judged_by, severity):
                new = new.model_copy(update={"judged_by": judged_by, "severity": severity})
                new = new._due(policy)
            return new
        parts = part_hashes(listing)
        changed_fields = [k for k, v in parts.items() if self.parts.get(k) != v and k != "currency"]
        entry = ListingChange(
            at=at,
            kind="changed",
            fields=changed_fields or ["content"],
            title_before=self.title if "title" in changed_fields else None,
            title_after=listing.title if "title" in changed_fields else None,
            price_before=self.price if "price" in changed_fields else None,
            price_after=listing.price if "price" in changed_fields else None,
        )
        history = [*self._back_online(at), entry]
        new = self.model_copy(
            update={
                **_content(listing),
                "fingerprint": fp,
                "parts": parts,
                "state": "changed",
                "last_seen": at,
                "content_since": at,
                "times_seen": self.times_seen + 1,
                "recent_sightings": _window(self.recent_sightings, at),
                "times_changed": self.times_changed + 1,
                "changed_at": at,
                "removed_at": None,
                "removed_reason": None,
                "judged_by": judged_by if judged else None,
                "severity": severity if judged else self.severity,
                "interval_s": policy.clamp(self.interval_s * policy.shrink),
                "history": (self.history + history)[-LISTING_HISTORY_LIMIT:],
            }
        )
        return new._due(policy)

    def seen(self, seen: ListingSeen, policy: RecrawlPolicy) -> ListingState:
        """An unchanged sighting (`ListingSeen`)."""
        at = seen.seen_at
        if at in self.recent_sightings:
            return self
        if at < self.last_seen:
            return self._counted(at)
        return self._sighting(at, policy, grow=True)

    def gone(self, gone: ListingGone, policy: RecrawlPolicy) -> ListingState:
        """Found gone at `gone.at`. A removal older than the latest sighting is stale (the listing was
        seen online after it) and changes nothing; so does a second removal of a removed listing."""
        at = gone.at
        if at <= self.last_seen or self.state == "removed":
            return self
        entry = ListingChange(at=at, kind="removed", reason=gone.reason)
        return self.model_copy(
            update={
                "state": "removed",
                "removed_at": at,
                "removed_reason": gone.reason,
                "interval_s": policy.max_s,
                "next_due": at + timedelta(seconds=policy.max_s),
                "history": ([*self.history, entry])[-LISTING_HISTORY_LIMIT:],
            }
        )

    def with_severity(self, severity: str | None, policy: RecrawlPolicy) -> ListingState:
        """The state with the severity of its current leads (as the store found them)."""
        if severity == self.severity:
            return self
        new = self.model_copy(update={"severity": severity})
        return new if new.state == "removed" else new._due(policy)

    # -- what the leads show ----------------------------------------------------------------------
    def lead_facts(self) -> dict[str, Any]:
        """The listing fields of each of its leads (`Lead.LISTING_FIELDS`)."""
        return {
            "listing_state": self.state,
            "listing_changed_at": self.changed_at,
            "removed_at": self.removed_at,
            "removed_reason": self.removed_reason,
            "listing_history": list(self.history),
        }

    def is_unchanged(self, listing: Listing, *, rulebook_version: str | None) -> bool:
        """Whether a crawler may skip detection and publish a `ListingSeen` for this copy: same content,
        and (when the crawler detects, `rulebook_version` given) judged by the same rulebook."""
        if fingerprint(listing) != self.fingerprint:
            return False
        return rulebook_version is None or rulebook_version == self.judged_by

    # -- helpers ----------------------------------------------------------------------------------
    def _counted(self, at: datetime) -> ListingState:
        """A late sighting: counted, nothing else moves."""
        if at < self.first_seen:
            return self.model_copy(
                update={"first_seen": at, "times_seen": self.times_seen + 1, "recent_sightings": self.recent_sightings}
            )
        if self.recent_sightings and at < min(self.recent_sightings):
            return self  # older than the window: taken for a replay, as Lead.sighted does
        return self.model_copy(
            update={"times_seen": self.times_seen + 1, "recent_sightings": _window(self.recent_sightings, at)}
        )

    def _sighting(self, at: datetime, policy: RecrawlPolicy, *, grow: bool) -> ListingState:
        history = self._back_online(at)
        new = self.model_copy(
            update={
                "state": "online",
                "last_seen": at,
                "times_seen": self.times_seen + 1,
                "recent_sightings": _window(self.recent_sightings, at),
                "removed_at": None,
                "removed_reason": None,
                "interval_s": policy.clamp(self.interval_s * policy.grow) if grow else self.interval_s,
                "history": (self.history + history)[-LISTING_HISTORY_LIMIT:],
            }
        )
        return new._due(policy)

    def _back_online(self, at: datetime) -> list[ListingChange]:
        if self.state == "removed" and self.removed_at is not None and at > self.removed_at:
            return [ListingChange(at=at, kind="back_online")]
        return []

    def _due(self, policy: RecrawlPolicy) -> ListingState:
        due = self.last_seen + timedelta(seconds=policy.effective(self.interval_s, self.severity))
        return self if due == self.next_due else self.model_copy(update={"next_due": due})


def _content(listing: Listing) -> dict[str, Any]:
    shop = listing.shop
    return {
        "platform": listing.platform,
        "listing_id": listing.listing_id,
        "category": listing.category,
        "shop_id": shop.shop_id if shop else None,
        "url": listing.url,
        "title": listing.title,
        "price": listing.price,
    }


def _window(recent: list[datetime], at: datetime) -> list[datetime]:
    return sorted({*recent, at})[-SIGHTINGS_KEPT:]


@dataclass(slots=True)
class ObservationStats:
    """What `LeadStore.record_observations` did."""

    seen: int = 0
    """Listings whose unchanged sighting was recorded."""
    removed: int = 0
    """Listings newly marked removed."""
    leads_sighted: int = 0
    """Leads whose sighting count and last_seen moved."""
    unknown: int = 0
    """Observations of listings the store has no state of (ignored)."""
    unchanged: int = 0
    """Replays and stale observations (nothing written)."""

    def __iadd__(self, other: ObservationStats) -> ObservationStats:
        self.seen += other.seen
        self.removed += other.removed
        self.leads_sighted += other.leads_sighted
        self.unknown += other.unknown
        self.unchanged += other.unchanged
        return self


def leads_after(
    state: ListingState, leads: dict[str, Any], sighted_at: datetime | None
) -> tuple[dict[str, Any], int, str | None]:
    """What an observation does to the listing's leads (`leads`: lead_id -> Lead, as stored): every lead
    gets the listing's state (`ListingState.lead_facts`); with `sighted_at` (an unchanged sighting whose
    fingerprint is the kept one) the current leads — not retired, sighted since the current content was
    first crawled — are also `Lead.seen_again`. Returns (the leads that changed, how many were sighted,
    the highest severity among the current leads)."""
    facts = state.lead_facts()
    current = {
        lead_id for lead_id, lead in leads.items() if lead.retired_at is None and lead.last_seen >= state.content_since
    }
    severity = highest_severity(leads[lead_id].severity for lead_id in current)
    changed: dict[str, Any] = {}
    sighted = 0
    for lead_id, lead in leads.items():
        new = lead
        if sighted_at is not None and lead_id in current:
            new = new.seen_again(sighted_at)
            sighted += new is not lead
        new = new.with_listing_facts(facts)
        if new is not lead:
            changed[lead_id] = new
    return changed, sighted, severity
