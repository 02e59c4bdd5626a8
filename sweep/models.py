"""The records every part of sweep exchanges.

`Listing` mirrors `sweep/contracts/listing.schema.json` field for field (that file is the contract and
a unit test checks the two agree). `Finding` is what the rulebook reports per the taxonomy; `Lead` is
a finding's lasting identity in the lead store; `LeadEvent` is what travels on the `sweep.leads`
topic. Everything else in the project imports from here; this module imports nothing of sweep's.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1
"""Version of the JSON envelopes on the bus; bump when a message shape changes incompatibly."""

FAMILIES: tuple[str, ...] = (
    "chem.toxic",
    "chem.explosive_precursor",
    "chem.drug_precursor",
    "chem.unlicensed",
    "food.medical_claim",
    "ad.absolute_terms",
    "origin.gi_mismatch",
    "food.sanwu",
    "ip.counterfeit",
    "privacy.personal_data_sale",
    "shop.licence_missing",
    "shop.licence_invalid",
)
"""Lead families of `shared/taxonomy.md`: a public contract, never renamed."""

FAMILY_LABELS_ZH: dict[str, str] = {
    "chem.toxic": "剧毒化学品",
    "chem.explosive_precursor": "易制爆危险化学品",
    "chem.drug_precursor": "易制毒化学品",
    "chem.unlicensed": "无证经营危险化学品",
    "food.medical_claim": "食品宣称疗效",
    "ad.absolute_terms": "广告绝对化用语",
    "origin.gi_mismatch": "虚假产地/地理标志",
    "food.sanwu": "三无食品",
    "ip.counterfeit": "假冒侵权",
    "privacy.personal_data_sale": "贩卖个人信息",
    "shop.licence_missing": "未亮照经营",
    "shop.licence_invalid": "营业执照信息无效",
}
"""Chinese names shown to enforcement staff."""

Severity = Literal["high", "medium", "low"]
SEVERITY_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1}
SIGHTING_WINDOW = 64
"""Sighting times a lead remembers to recognise replays exactly (64 daily crawls: two months)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Permit(_Model):
    type: str
    number: str | None = None


class Shop(_Model):
    shop_id: str | None = None
    name: str | None = None
    url: str | None = None
    licence_no: str | None = None
    licence_company: str | None = None
    region: str | None = None
    permits: list[Permit] = Field(default_factory=list)


TRUNCATION_MARKER = "…[截断]"
"""Ends every text cut to its limit, so a reader (and a rule matching the end of a text) sees the cut."""

LISTING_TEXT_LIMITS: dict[str, int] = {
    "platform": 64,
    "listing_id": 256,
    "url": 2048,
    "title": 512,
    "description": 20_000,
    "category": 256,
    "currency": 16,
    "unit": 64,
    "crawled_at": 64,
}
"""Longest value, in characters, of each text field of a listing (marker included)."""
SHOP_TEXT_LIMITS: dict[str, int] = {
    "shop_id": 256,
    "name": 256,
    "url": 2048,
    "licence_no": 64,
    "licence_company": 256,
    "region": 256,
}
MAX_PERMITS = 32
PERMIT_TEXT_LIMIT = 128
"""Both the type and the number of a permit."""
MAX_ATTRIBUTES = 64
ATTRIBUTE_KEY_LIMIT = 64
ATTRIBUTE_VALUE_LIMIT = 512
MAX_IMAGES = 32
IMAGE_URL_LIMIT = 2048
MAX_TRUNCATED_PATHS = 16
"""`truncated` names at most this many fields (then `…`), so the list of cuts is bounded too."""


def clip(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and `TRUNCATION_MARKER`, `limit` long."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def _bounded_shop(shop: Shop, cut: list[str]) -> Shop:
    update: dict[str, Any] = {}
    for name, limit in SHOP_TEXT_LIMITS.items():
        value = getattr(shop, name)
        if value is not None and len(value) > limit:
            update[name] = clip(value, limit)
            cut.append(f"shop.{name}")
    permits = shop.permits
    if len(permits) > MAX_PERMITS:
        permits = permits[:MAX_PERMITS]
        cut.append("shop.permits")
    if any(len(p.type) > PERMIT_TEXT_LIMIT or len(p.number or "") > PERMIT_TEXT_LIMIT for p in permits):
        permits = [
            Permit(
                type=clip(p.type, PERMIT_TEXT_LIMIT),
                number=clip(p.number, PERMIT_TEXT_LIMIT) if p.number is not None else None,
            )
            for p in permits
        ]
        cut.append("shop.permits")
    if permits is not shop.permits:
        update["permits"] = permits
    # a copy, never in place: the caller may share this Shop between listings
    return shop.model_copy(update=update) if update else shop


class Listing(_Model):
    """One observed marketplace listing (`listing.schema.json`).

    Every field is bounded (`LISTING_TEXT_LIMITS`, `SHOP_TEXT_LIMITS`, `MAX_ATTRIBUTES` …): one page
    with a 5 MB description must neither fail a crawl nor exceed a Kafka message, so an oversized value
    is cut to its limit and ends with `TRUNCATION_MARKER`, surplus attributes, images and permits are
    dropped, and `truncated` names what was cut. The bounds keep a listing's JSON well under Kafka's
    default 1 MB message limit even in the worst case (every field full of 4-byte characters).
    """

    platform: str
    listing_id: str
    title: str
    url: str | None = None
    description: str | None = None
    category: str | None = None
    price: float | None = None
    currency: str | None = "CNY"
    unit: str | None = None
    shop: Shop | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    images: list[str] = Field(default_factory=list)
    crawled_at: str | None = None
    truncated: list[str] = Field(default_factory=list)
    """Fields cut to their limits (`description`, `shop.name`, `attributes.规格`, `images` …); empty for
    nearly every listing. Kept when a listing is read again, so the cut stays visible downstream."""

    @model_validator(mode="after")
    def _bounded(self) -> Listing:
        """Cut oversized fields (see the class doc). Costs a few `len()` calls for a normal listing."""
        cut: list[str] = []
        for name, limit in LISTING_TEXT_LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                setattr(self, name, clip(value, limit))
                cut.append(name)
        attrs = self.attributes
        if len(attrs) > MAX_ATTRIBUTES or any(
            len(k) > ATTRIBUTE_KEY_LIMIT or len(v) > ATTRIBUTE_VALUE_LIMIT for k, v in attrs.items()
        ):
            if len(attrs) > MAX_ATTRIBUTES:
                cut.append("attributes")
            bounded: dict[str, str] = {}
            for k, v in list(attrs.items())[:MAX_ATTRIBUTES]:
                key, value = clip(k, ATTRIBUTE_KEY_LIMIT), clip(v, ATTRIBUTE_VALUE_LIMIT)
                if key != k or value != v:
                    cut.append(f"attributes.{key}")
                bounded.setdefault(key, value)
            self.attributes = bounded
        images = self.images
        if len(images) > MAX_IMAGES or any(len(u) > IMAGE_URL_LIMIT for u in images):
            self.images = [clip(u, IMAGE_URL_LIMIT) for u in images[:MAX_IMAGES]]
            cut.append("images")
        if self.shop is not None:
            self.shop = _bounded_shop(self.shop, cut)
        if cut or len(self.truncated) > MAX_TRUNCATED_PATHS:
            merged = list(dict.fromkeys([*self.truncated, *cut]))
            if len(merged) > MAX_TRUNCATED_PATHS:
                merged = [*merged[: MAX_TRUNCATED_PATHS - 1], "…"]
            self.truncated = [clip(path, ATTRIBUTE_KEY_LIMIT + len("attributes.")) for path in merged]
        return self

    @property
    def key(self) -> str:
        """Bus key: unique across platforms."""
        return f"{self.platform}:{self.listing_id}"


class Evidence(_Model):
    """A span of the listing that made a rule fire; offsets index the original (un-normalised) text."""

    field: str
    text: str
    start: int
    end: int
    matched: str | None = None
    """The catalog entry the span was recognised as (氰化钠 CAS 143-33-9 for `NaCN` or `143-33-9`), so that
    staff searching for a substance's name also find listings that only give its formula or number."""


class Finding(_Model):
    """One (listing, family) pair reported by the rulebook, as `sweep scan` prints it."""

    platform: str
    listing_id: str
    family: str
    rule_id: str
    severity: Severity
    evidence: list[Evidence] = Field(default_factory=list)
    legal_basis: str = ""
    title_zh: str | None = None
    """The rule's Chinese title, for people reading the finding."""
    rulebook_version: str | None = None
    """`Rulebook.version` (a content hash of the rule files and catalogs) of the book that reported it;
    None from code that ran an engine without a loaded book."""

    @property
    def lead_id(self) -> str:
        return lead_id_for(self.platform, self.listing_id, self.family)


def lead_id_for(platform: str, listing_id: str, family: str) -> str:
    """Stable id of a lead: the same violation seen again maps to the same lead and search document."""
    digest = hashlib.sha1(f"{platform}\x1f{listing_id}\x1f{family}".encode()).hexdigest()
    return digest[:24]


class TriageStatus(StrEnum):
    new = "new"
    triaged = "triaged"
    confirmed = "confirmed"
    dismissed = "dismissed"
    referred = "referred"


TRIAGE_LABELS_ZH: dict[str, str] = {
    "new": "新线索",
    "triaged": "已研判",
    "confirmed": "已核实",
    "dismissed": "已排除",
    "referred": "已移送",
}


class ListingSummary(_Model):
    """The listing facts a lead carries so staff can triage without opening the crawl archive."""

    title: str
    url: str | None = None
    category: str | None = None
    price: float | None = None
    unit: str | None = None
    description: str | None = None
    shop_id: str | None = None
    shop_name: str | None = None
    shop_licence_no: str | None = None
    region: str | None = None

    @classmethod
    def of(cls, listing: Listing) -> ListingSummary:
        shop = listing.shop or Shop()
        return cls(
            title=listing.title,
            url=listing.url,
            category=listing.category,
            price=listing.price,
            unit=listing.unit,
            description=(listing.description or "")[:2000] or None,
            shop_id=shop.shop_id,
            shop_name=shop.name,
            shop_licence_no=shop.licence_no,
            region=shop.region,
        )


ListingStateName = Literal["online", "changed", "removed"]
"""What the latest crawl found of a listing (`sweep.recrawl`): there and as before, there but changed
since the crawl before, or gone (HTTP 404, a 下架 page, missing from its category)."""


class ListingChange(_Model):
    """One entry of a listing's history (`sweep.recrawl.ListingState.history`, copied onto its leads)."""

    at: datetime
    kind: Literal["changed", "removed", "back_online"]
    fields: list[str] = Field(default_factory=list)
    """What changed: title, price, description, images, attributes, shop, category, unit."""
    title_before: str | None = None
    title_after: str | None = None
    price_before: float | None = None
    price_after: float | None = None
    reason: str | None = None
    """Why a listing counts as removed: `http_404` (or another 4xx), `delisted` (a 下架 page),
    `missing_from_category` (not on its category's pages in a complete crawl of them)."""


LISTING_HISTORY_LIMIT = 32
"""History entries a listing state (and each of its leads) keeps, newest last."""


class LeadEvent(_Model):
    """A detection as it travels on `sweep.leads`: one sighting of a finding at a point in time."""

    schema_version: int = SCHEMA_VERSION
    lead_id: str
    observed_at: datetime
    finding: Finding
    listing: ListingSummary

    @classmethod
    def of(cls, finding: Finding, listing: Listing, observed_at: datetime | None = None) -> LeadEvent:
        when = observed_at or parse_time(listing.crawled_at) or utcnow()
        return cls(lead_id=finding.lead_id, observed_at=when, finding=finding, listing=ListingSummary.of(listing))


class Lead(_Model):
    """A finding's lasting identity: detection facts (replaced by newer sightings) plus triage state
    (set by people, never touched by detection)."""

    lead_id: str
    platform: str
    listing_id: str
    family: str
    rule_id: str
    severity: Severity
    evidence: list[Evidence] = Field(default_factory=list)
    legal_basis: str = ""
    title_zh: str | None = None
    listing: ListingSummary
    first_seen: datetime
    last_seen: datetime
    times_seen: int = 1
    recent_sightings: list[datetime] = Field(default_factory=list)
    """Times of the latest sightings (at most SIGHTING_WINDOW), to tell replays from late sightings."""
    status: TriageStatus = TriageStatus.new
    assignee: str | None = None
    note: str | None = None
    status_updated_at: datetime | None = None
    rulebook_version: str | None = None
    """Version of the rulebook that judged the latest sighting (`Finding.rulebook_version`)."""
    retired_at: datetime | None = None
    """Set when a rescan (`sweep rules rescan`) judged the latest sighting again and no rule found it any
    more: the lead is kept with its triage state, and a later finding of it clears this again. A
    detection fact, not a triage status: staff decisions and retirement are independent."""
    retired_by_rulebook: str | None = None
    """The rulebook version whose rescan retired the lead."""
    listing_state: ListingStateName = "online"
    """The listing's state as the latest crawl found it (`sweep.recrawl`): a listing fact, written by
    the lead store when it applies a listing observation, never by detection or triage."""
    listing_changed_at: datetime | None = None
    """When the listing's content last changed (a crawl found another fingerprint)."""
    removed_at: datetime | None = None
    """When the listing was found gone; None while it is online (and again once it comes back)."""
    removed_reason: str | None = None
    listing_history: list[ListingChange] = Field(default_factory=list)
    """The listing's changes, removals and returns (`LISTING_HISTORY_LIMIT`, newest last)."""
    seller_complaints: int = 0
    """12315 complaints matched to the lead's seller, as the workspace last counted them
    (`LeadStore.set_seller_complaints`): the complaints factor of the stored priority sort key. Neither
    detection nor triage writes it; a new lead starts at 0 until the next count."""

    LISTING_FIELDS: ClassVar[tuple[str, ...]] = (
        "listing_state",
        "listing_changed_at",
        "removed_at",
        "removed_reason",
        "listing_history",
    )

    @classmethod
    def from_event(cls, event: LeadEvent) -> Lead:
        f = event.finding
        return cls(
            lead_id=event.lead_id,
            platform=f.platform,
            listing_id=f.listing_id,
            family=f.family,
            rule_id=f.rule_id,
            severity=f.severity,
            evidence=f.evidence,
            legal_basis=f.legal_basis,
            title_zh=f.title_zh,
            listing=event.listing,
            first_seen=event.observed_at,
            last_seen=event.observed_at,
            times_seen=1,
            recent_sightings=[event.observed_at],
            rulebook_version=f.rulebook_version,
        )

    def triaged(self, status: TriageStatus, *, assignee: str | None = None, note: str | None = None) -> Lead:
        """A person's decision: only the triage fields change (`None` keeps the current assignee/note)."""
        update: dict[str, Any] = {"status": TriageStatus(status), "status_updated_at": utcnow()}
        if assignee is not None:
            update["assignee"] = assignee
        if note is not None:
            update["note"] = note
        return self.model_copy(update=update)

    TRIAGE_FIELDS: ClassVar[tuple[str, ...]] = ("status", "assignee", "note", "status_updated_at")

    def sighted(self, event: LeadEvent) -> Lead:
        """Apply one more sighting. A replay (a sighting at a time already counted) changes nothing, which
        is what makes at-least-once delivery safe; a real sighting counts even when it arrives out of order
        (two indexers racing after a rebalance, two crawlers of one platform).

        Replays are recognised exactly within the last `SIGHTING_WINDOW` sighting times. Older than the
        window (bus retention is far shorter) a sighting inside [first_seen, oldest remembered] is taken
        for a replay: counting a replay twice would inflate `times_seen`, the signal staff sort by.

        The latest sighting judged again by another rulebook (`sweep rules rescan` after a rule edit) is
        a re-judgement, not a sighting: the detection facts and `rulebook_version` follow the new book,
        a retired lead is un-retired, and nothing is counted. The same event again is then a replay.
        """
        when = event.observed_at
        f = event.finding
        if when == self.last_seen and self._rejudged_by(f.rulebook_version):
            return self.model_copy(update=self._detection_facts(event))
        recent = self.recent_sightings or [self.last_seen]  # a lead stored before the window existed
        if when in recent or self.first_seen <= when < min(recent):
            return self
        window = sorted({*recent, when})[-SIGHTING_WINDOW:]
        update: dict[str, Any] = {"times_seen": self.times_seen + 1, "recent_sightings": window}
        if when > self.last_seen:
            update |= {"last_seen": when, **self._detection_facts(event)}
        elif when < self.first_seen:
            update["first_seen"] = when
        return self.model_copy(update=update)

    def seen_again(self, when: datetime) -> Lead:
        """A sighting of the unchanged listing (`sweep.recrawl`: same content fingerprint, detection not
        run again): counted like `sighted` counts (a replay changes nothing, a late sighting still
        counts) and `last_seen` moves, but the detection facts stay those of the judged copy."""
        recent = self.recent_sightings or [self.last_seen]
        if when in recent or self.first_seen <= when < min(recent):
            return self
        window = sorted({*recent, when})[-SIGHTING_WINDOW:]
        update: dict[str, Any] = {"times_seen": self.times_seen + 1, "recent_sightings": window}
        if when > self.last_seen:
            update["last_seen"] = when
        elif when < self.first_seen:
            update["first_seen"] = when
        return self.model_copy(update=update)

    def with_listing_facts(self, facts: dict[str, Any]) -> Lead:
        """The lead with the listing's state (`LISTING_FIELDS`, as `sweep.recrawl.ListingState.lead_facts`
        gives them); itself when nothing differs, so a store can skip the write."""
        update = {k: v for k, v in facts.items() if k in self.LISTING_FIELDS and getattr(self, k) != v}
        return self.model_copy(update=update) if update else self

    def _rejudged_by(self, version: str | None) -> bool:
        """Whether a finding of the latest sighting by `version` is a new judgement of it: another book
        than the one that judged it, or any book but the one that retired it. Versions are content
        hashes with no order, so the latest judgement wins (a rulebook rolled back un-retires)."""
        if version is None:
            return False
        if self.retired_at is not None:
            return version != self.retired_by_rulebook
        return version != self.rulebook_version

    @staticmethod
    def _detection_facts(event: LeadEvent) -> dict[str, Any]:
        """What the latest sighting decides: the rule's verdict, the listing as seen, and not retired."""
        f = event.finding
        return {
            "rule_id": f.rule_id,
            "severity": f.severity,
            "evidence": f.evidence,
            "legal_basis": f.legal_basis,
            "title_zh": f.title_zh,
            "listing": event.listing,
            "rulebook_version": f.rulebook_version,
            "retired_at": None,
            "retired_by_rulebook": None,
        }

    def retired(self, rulebook_version: str, at: datetime, judged_sighting: datetime) -> Lead:
        """No rule of `rulebook_version` finds this lead in the listing as crawled at `judged_sighting`.

        Unchanged when it is retired already, or when a sighting newer than the judged copy exists (a
        rescan of an older copy of the listing must not overrule a newer finding). Triage is untouched.
        """
        if self.retired_at is not None or self.last_seen > judged_sighting:
            return self
        return self.model_copy(update={"retired_at": at, "retired_by_rulebook": rulebook_version})


class Complaint(_Model):
    """A consumer complaint or report (12315 hotline, 全国12315平台 exports, a bureau's own sheet).

    This is the masked record: every personal value in it (complainant fields and whatever personal
    data `text` contained) is masked before it is stored, indexed, published or shown. The unmasked
    values live apart, encrypted, as `PersonalData`, readable only through a permission check that is
    audited. `pii_kinds` says which kinds were found, so staff know a masked value is there.
    """

    complaint_id: str
    """登记编号/投诉编号: the platform's id, stable across re-exports (imports are idempotent by it)."""
    received_at: datetime
    platform: str | None = None
    shop_name: str | None = None
    shop_uscc: str | None = None
    product: str | None = None
    text: str = ""
    complainant_name: str | None = None
    complainant_phone: str | None = None
    complainant_id_number: str | None = None
    complainant_address: str | None = None
    seller_name: str | None = None
    """被投诉人: the business complained about (a company or a sole trader), beside the shop's name."""
    shop_id: str | None = None
    url: str | None = None
    """网址: the shop's or the listing's address as the complainant gave it."""
    region: str | None = None
    """Where the complaint is handled (the seller's region or the registering bureau): decides jurisdiction."""
    demand: str | None = None
    """诉求: what the complainant asks for, when given apart from the complaint text."""
    category_code: str | None = None
    """Category per GB/T 42499-2023 (电子商务投诉举报信息分类与代码), kept as the file gives it."""
    category: str | None = None
    """The category's name as written in the file (投诉问题分类)."""
    kind: str | None = None
    """投诉 or 举报, when the file says."""
    status: str | None = None
    """办理状态 as written (已办结, 处理中 …)."""
    closed_at: datetime | None = None
    result: str | None = None
    """处理结果."""
    recovered_loss: float | None = None
    """挽回经济损失, yuan."""
    handler: str | None = None
    """Username of the officer handling the complaint: they (and supervisors) may see personal data."""
    pii_kinds: list[str] = Field(default_factory=list)


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as spiders write it (`crawled_at`); naive times are taken as UTC, junk as None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class PersonalData(_Model):
    """The unmasked personal values of one complaint, stored encrypted beside the masked record.

    `found` lists every value detected, by kind (name, phone, id_number, bank_card, email, address),
    from the personal columns and inside the free text; `text` is the complaint text as received. Never
    published, indexed, exported or logged: readable only via a permission check that is audited.
    """

    complaint_id: str
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    text: str | None = None
    demand: str | None = None
    result: str | None = None
    """`text`, `demand` and `result` as received, kept only when they held personal data."""
    found: dict[str, list[str]] = Field(default_factory=dict)


class ComplaintMatch(_Model):
    """A seller a complaint concerns, as the matcher found it: one shop on one platform."""

    platform: str
    shop_id: str
    score: float
    """0-1; 1.0 for exact keys (a valid USCC, the shop id, a known URL)."""
    reasons: list[str] = Field(default_factory=list)
    """Why, in words staff can check (`统一社会信用代码一致`, `店铺名称相近 0.96` …)."""
    lead_ids: list[str] = Field(default_factory=list)
    shop_name: str | None = None
