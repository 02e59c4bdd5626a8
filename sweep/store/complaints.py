"""The ComplaintStore and SellerDirectory ports.

ComplaintStore keeps complaint records in two parts: the masked `Complaint` (what every reader sees:
searches, exports, the bus) and its `PersonalData` (encrypted at rest by every implementation, handed
out only through `personal_data`, which the complaints capability calls after `sweep.permissions`
allowed it and `sweep.audit` recorded it). Upserts are idempotent by complaint id: the same record
again changes nothing, a changed one (a new 办理状态) replaces it.

SellerDirectory is what the matcher knows of sellers: one row per shop (platform + shop id) seen in
lead events or listings, with its name, USCC, region, listing URLs and lead ids. It grows from the
bus, so matching never has to load the leads themselves.

The two parts are written apart on purpose: an import seals the personal data into the store at once
(`put_personal`) and sends the masked record on the bus, where the complaints consumer upserts it with
`personal=None` (which leaves the sealed part as it is). So no message ever carries a protected value.

The embedded implementation is `adapters.store.complaints_sqlite`; the production one is a complaints
index in Elasticsearch/OpenSearch (`adapters.store.searchengine.complaints`: CJK analysis, facets), its
personal data sealed in an index of its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sweep.models import Complaint, ComplaintMatch, PersonalData
from sweep.store.base import UpsertStats


@dataclass(slots=True)
class ComplaintRecord:
    """One complaint as an import produces it: the masked record, its personal data, and the keys the
    matcher looks sellers up by (so that a seller arriving later finds the complaints about it)."""

    complaint: Complaint
    personal: PersonalData | None
    """None: leave the stored personal data as it is (the consumer's writes; the import sealed it)."""
    match_keys: Sequence[str] = ()


@dataclass(slots=True)
class ComplaintQuery:
    text: str | None = None
    platforms: Sequence[str] = ()
    statuses: Sequence[str] = ()
    category_codes: Sequence[str] = ()
    region_prefixes: Sequence[str] = ()
    """Jurisdiction: records whose region starts with one of these (empty: no restriction)."""
    received_from: datetime | None = None
    received_to: datetime | None = None
    matched: bool | None = None
    """True: only complaints linked to a known seller; False: only unmatched ones (crawl targets)."""
    size: int = 20
    cursor: str | None = None
    """Opaque: the previous page's `next_cursor`."""


@dataclass(slots=True)
class ComplaintSearchResult:
    total: int
    complaints: list[Complaint]
    matches: dict[str, list[ComplaintMatch]] = field(default_factory=dict)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    next_cursor: str | None = None


DONE_STATUSES = frozenset({"已办结", "办结", "已完结", "已结案"})
"""办理状态 values that count as completed for the 办结率 (a record with a 办结日期 counts too)."""


def complaint_done(complaint: Complaint) -> bool:
    """Whether a complaint counts as 办结 in reports."""
    return complaint.closed_at is not None or (complaint.status or "").strip() in DONE_STATUSES


@dataclass(slots=True)
class ComplaintAggregates:
    """Counts for reports over the complaints matching a query (`ComplaintStore.aggregate`); zero counts
    are left out, the top lists keep the most frequent first (ties by name)."""

    total: int = 0
    done: int = 0
    """Completed (`complaint_done`): 办结率 = done / total."""
    per_day: dict[str, int] = field(default_factory=dict)
    """Day received (YYYY-MM-DD, UTC+8) -> complaints."""
    by_status: dict[str, int] = field(default_factory=dict)
    by_region: dict[str, int] = field(default_factory=dict)
    top_shops: dict[str, int] = field(default_factory=dict)
    """Shop name (网店名称) -> complaints."""
    top_companies: dict[str, int] = field(default_factory=dict)
    """被投诉人 (seller_name) -> complaints."""


def aggregate_complaints(complaints: Iterable[Complaint], *, top: int = 10) -> ComplaintAggregates:
    """The arithmetic of `ComplaintAggregates`, shared by every adapter that reads records to count."""
    from collections import Counter
    from datetime import UTC, timedelta

    from sweep.store.base import REPORT_UTC_OFFSET_HOURS

    shift = timedelta(hours=REPORT_UTC_OFFSET_HOURS)
    out = ComplaintAggregates()
    days: Counter[str] = Counter()
    status: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    shops: Counter[str] = Counter()
    companies: Counter[str] = Counter()
    for c in complaints:
        out.total += 1
        out.done += complaint_done(c)
        days[(c.received_at.astimezone(UTC) + shift).date().isoformat()] += 1
        if c.status:
            status[c.status] += 1
        if c.region:
            regions[c.region] += 1
        if c.shop_name:
            shops[c.shop_name] += 1
        if c.seller_name:
            companies[c.seller_name] += 1

    def ranked(counts: Counter[str], limit: int | None) -> dict[str, int]:
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])

    out.per_day = dict(sorted(days.items()))
    out.by_status = ranked(status, None)
    out.by_region = ranked(regions, None)
    out.top_shops = ranked(shops, top)
    out.top_companies = ranked(companies, top)
    return out


class ComplaintStore(ABC):
    @abstractmethod
    def upsert(self, records: Iterable[ComplaintRecord]) -> UpsertStats:
        """Create or replace complaints by id; a record equal to the stored one counts as unchanged (the
        masked record and its keys are compared; personal data is written when given, never compared).
        The sellers a complaint is matched to survive a replacement."""

    @abstractmethod
    def put_personal(self, personal: Iterable[PersonalData]) -> None:
        """Seal and store (replace) the personal data of these complaints, whether or not their masked
        records exist yet (the import writes it before the consumer writes the record)."""

    def personal_data_many(self, complaint_ids: Sequence[str]) -> dict[str, PersonalData]:
        """The unmasked values of those ids that have them (for merging an update file)."""
        return {cid: p for cid in complaint_ids if (p := self.personal_data(cid)) is not None}

    @abstractmethod
    def get(self, complaint_id: str) -> Complaint | None:
        """The masked record."""

    @abstractmethod
    def get_many(self, complaint_ids: Sequence[str]) -> dict[str, Complaint]:
        """The masked records of those ids that exist."""

    @abstractmethod
    def personal_data(self, complaint_id: str) -> PersonalData | None:
        """The unmasked values. Callers: only the complaints capability, after permission and audit."""

    @abstractmethod
    def set_many_matches(self, by_id: dict[str, Sequence[ComplaintMatch]]) -> None:
        """Replace the sellers each complaint is linked to (an empty list unlinks it)."""

    def set_matches(self, complaint_id: str, matches: Sequence[ComplaintMatch]) -> None:
        self.set_many_matches({complaint_id: matches})

    @abstractmethod
    def matches(self, complaint_ids: Sequence[str]) -> dict[str, list[ComplaintMatch]]: ...

    @abstractmethod
    def ids_by_keys(self, keys: Iterable[str], limit: int = 10_000) -> list[str]:
        """Complaints whose match keys include any of `keys` (to re-match when a seller appears)."""

    @abstractmethod
    def search(self, query: ComplaintQuery) -> ComplaintSearchResult: ...

    @abstractmethod
    def iter_all(self, page_size: int = 1000) -> Iterator[list[Complaint]]:
        """Every masked complaint, in complaint-id order, in pages of at most `page_size` (exports)."""

    @abstractmethod
    def count(self) -> int: ...

    def aggregate(self, query: ComplaintQuery, *, top: int = 10) -> ComplaintAggregates:
        """Report counts over the complaints matching `query` (paging fields ignored). This default pages
        through `search`, so any store answers; the stores override it with one read."""
        from dataclasses import replace

        page = replace(query, size=1000, cursor=None)

        def pages() -> Iterator[Complaint]:
            while True:
                result = self.search(page)
                yield from result.complaints
                if not result.next_cursor or not result.complaints:
                    return
                page.cursor = result.next_cursor

        return aggregate_complaints(pages(), top=top)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> ComplaintStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class Seller:
    """One shop on one platform, as sweep has seen it."""

    platform: str
    shop_id: str
    name: str | None = None
    """The shop's name (网店名称)."""
    company: str | None = None
    """The licence holder's name (营业执照 企业名称), when a listing showed it."""
    uscc: str | None = None
    """Only a code whose check character holds is kept here (a bad one is no identity)."""
    region: str | None = None
    urls: list[str] = field(default_factory=list)
    """Normalised URLs of its listings and shop page (bounded, newest first)."""
    lead_ids: list[str] = field(default_factory=list)
    """Ids of its leads (bounded, newest first)."""

    @property
    def key(self) -> str:
        return f"{self.platform}\x1f{self.shop_id}"


MAX_SELLER_URLS = 20
"""A seller's remembered listing and shop URLs (newest first)."""
MAX_SELLER_LEADS = 200
"""A seller's remembered lead ids; the lead store has them all, this is what a match shows."""


def merge_seller(old: Seller, new: Seller) -> Seller:
    """One seller from a stored row and a later observation, the same in every adapter (so that the
    embedded and the production directory agree on what is "changed"): the later observation's facts win
    where it has them; URLs and lead ids accumulate, newest first, bounded."""

    def newest_first(recent: Sequence[str], older: Sequence[str], limit: int) -> list[str]:
        return list(dict.fromkeys([*recent, *older]))[:limit]

    return Seller(
        platform=old.platform,
        shop_id=old.shop_id,
        name=new.name or old.name,
        company=new.company or old.company,
        uscc=new.uscc or old.uscc,
        region=new.region or old.region,
        urls=newest_first(new.urls, old.urls, MAX_SELLER_URLS),
        lead_ids=newest_first(new.lead_ids, old.lead_ids, MAX_SELLER_LEADS),
    )


class SellerDirectory(ABC):
    @abstractmethod
    def observe(self, sellers: Iterable[Seller]) -> list[Seller]:
        """Merge observations (new names, URLs, lead ids) into the directory; returns the sellers that
        are new or changed, as stored, so their complaints can be matched again."""

    @abstractmethod
    def get(self, platform: str, shop_id: str) -> Seller | None: ...

    @abstractmethod
    def iter_all(self, page_size: int = 5000) -> Iterator[list[Seller]]:
        """Every seller in bounded pages (to build the matcher's index)."""

    @abstractmethod
    def count(self) -> int: ...

    def with_uscc(self, uscc: str, limit: int = 200) -> list[Seller]:
        """The sellers, on any platform, whose licence carries this USCC: one company's shops (the
        workspace's "same company across platforms"). This default reads the whole directory; an adapter
        with an index on the code answers from it."""
        found: list[Seller] = []
        for page in self.iter_all():
            found.extend(s for s in page if s.uscc == uscc)
            if len(found) >= limit:
                break
        return found[:limit]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> SellerDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
