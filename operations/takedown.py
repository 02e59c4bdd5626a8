"""Takedown verification: after a listing was confirmed (or its case reached 处罚决定, where the takedown
order is made), is it gone — or back under another listing id?

A recheck is a job (trigger `takedown`) that, for each lead due, fetches the listing's page and records
one of four outcomes on the lead (`OperationsStore.add_takedown_checks`) and, as a note, on each of its
cases:

* **online** — the page answers and is not a 下架 page;
* **removed** — 404/410, or a 下架 page, and no near-duplicate was found;
* **relisted** — removed, but the same content is offered under a new listing id in the same shop, or
  in another shop of the same company (same USCC). Candidates come from the shop's page and from the
  site's search for the listing's title; a candidate is the same offer when its normalised title and
  description are near-identical (rapidfuzz, `RELIST_MIN_SIMILARITY`) and its price is the same within
  `PRICE_TOLERANCE` (a reseller's similar product at another price is not a relisting);
* **unreachable** — the page could not be fetched: nothing is concluded, the lead stays due.

When a lead is due: it is confirmed, or one of its cases is at 处罚决定 (penalty), its decision (the
status change, or the case's creation) is at least `ops_takedown_recheck_after_hours` old, and it has no
conclusive check since that decision. So each decision gets one recheck; confirming again asks again.

Site knowledge (what a 下架 page looks like, where a shop's listings are, how to search) is a
`SiteProfile` per platform; a platform without one is checked by HTTP status alone (no relist search).

Etiquette, as the crawler's (`PoliteFetch`): the crawler's user agent (settings `crawl_bureau`,
`crawl_contact`), each host's robots.txt read once per recheck and obeyed (a page it disallows is not
fetched: the check is *unreachable*, nothing concluded), and at least the crawler's `DOWNLOAD_DELAY`
between two requests to one host, or robots.txt's Crawl-delay when longer.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit

from parsel import Selector
from rapidfuzz import fuzz

from operations.jobs import new_job_id
from sweep.audit import AuditEvent
from sweep.casework import CaseNote, CaseStatus, PeopleStore
from sweep.models import Lead
from sweep.store.base import LeadQuery, LeadStore
from sweep.store.operations import (
    CrawlJob,
    JobState,
    JobStats,
    OperationsStore,
    TakedownCheck,
    TakedownOutcome,
    Trigger,
)

logger = logging.getLogger(__name__)

RELIST_MIN_SIMILARITY = 90.0
"""0-100: how alike (normalised title + description) a candidate must be to count as the same offer."""
CARD_MIN_SIMILARITY = 80.0
"""A candidate whose title on a shop or search page is less alike than this is not fetched at all."""
PRICE_TOLERANCE = 0.05
MAX_CANDIDATES = 20
"""Detail pages fetched at most per removed listing (politeness: a recheck is not a crawl)."""
FETCH_TIMEOUT_S = 15.0
MAX_BYTES = 2_000_000
REMOVED_MARKERS = ("已下架", "商品不存在", "已删除", "已失效", "下架")
JOB_TARGET = "takedown-recheck"


# -- fetching ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Page:
    url: str
    status: int | None
    """None: no answer (network error, timeout)."""
    text: str = ""
    error: str = ""


Fetch = Callable[[str], Page]


def http_fetch(url: str, user_agent: str = "sweep-takedown-check") -> Page:
    """GET one page (stdlib: a recheck fetches tens of pages, not a crawl's thousands); no etiquette:
    `PoliteFetch` adds it."""
    if not url.startswith(("http://", "https://")):
        return Page(url, None, error="not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as resp:
            body = resp.read(MAX_BYTES)
            return Page(url, resp.status, body.decode(resp.headers.get_content_charset() or "utf-8", "replace"))
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BYTES) if exc.fp else b""
        return Page(url, exc.code, body.decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Page(url, None, error=str(exc)[:200])


ROBOTS_DISALLOWED = "robots.txt disallows this page"


class PoliteFetch:
    """A `Fetch` with the crawler's etiquette (see the module doc): one per recheck job, so robots.txt
    is read once per host and job, and each host's requests are spaced by its delay. The clock and
    the sleep are injectable (tests)."""

    def __init__(
        self,
        user_agent: str,
        *,
        delay_s: float = 0.25,
        raw: Callable[[str, str], Page] = http_fetch,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user_agent = user_agent
        self.header = user_agent.encode("utf-8").decode("latin-1")
        """The same bytes as the crawler sends (UTF-8): urllib writes header text as Latin-1."""
        self.delay_s = delay_s
        self.raw = raw
        self.clock = clock
        self.sleep = sleep
        self.robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self.last: dict[str, float] = {}
        """When each host was last asked for something (robots.txt included)."""

    @classmethod
    def from_settings(cls) -> PoliteFetch:
        """The crawler's user agent (settings crawl_bureau / crawl_contact) and download delay."""
        from spiders import settings as crawl_settings
        from spiders.blocking import user_agent
        from sweep.settings import get_settings

        cfg = get_settings()
        return cls(user_agent(cfg.crawl_bureau, cfg.crawl_contact), delay_s=float(crawl_settings.DOWNLOAD_DELAY))

    def __call__(self, url: str) -> Page:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return Page(url, None, error="not an http(s) URL")
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots(origin)
        if not rules.can_fetch(self.user_agent, url):
            return Page(url, None, error=ROBOTS_DISALLOWED)
        return self._get(origin, url, rules)

    def _robots(self, origin: str) -> urllib.robotparser.RobotFileParser:
        rules = self.robots.get(origin)
        if rules is None:
            rules = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
            page = self._get(origin, origin + "/robots.txt", None)
            if page.status in (401, 403):
                rules.disallow_all = True  # as urllib's own reading: the site refuses robots
            elif page.status is not None and 200 <= page.status < 300:
                rules.parse(page.text.splitlines())
            else:
                rules.allow_all = True  # none (404) or unreadable: as Scrapy, nothing is disallowed
            self.robots[origin] = rules
        return rules

    def _get(self, host: str, url: str, rules: urllib.robotparser.RobotFileParser | None) -> Page:
        delay = self.delay_s
        if rules is not None:
            delay = max(delay, float(rules.crawl_delay(self.user_agent) or 0.0))
        last = self.last.get(host)
        if last is not None:
            wait = last + delay - self.clock()
            if wait > 0:
                self.sleep(wait)
        try:
            return self.raw(url, self.header)
        finally:
            self.last[host] = self.clock()


# -- what a listing is, and when two are the same offer -----------------------------------------------
@dataclass(frozen=True, slots=True)
class Offer:
    listing_id: str
    url: str
    title: str
    description: str = ""
    price: float | None = None
    shop_id: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A listing as a shop or search page shows it: enough to decide whether to fetch it."""

    listing_id: str
    url: str
    title: str
    shop_id: str | None


_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str | None) -> str:
    """Full-width to half-width (NFKC), lower case, no spaces or punctuation: 'ＡＢ ，c' -> 'abc'."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text or "").lower())


def similarity(a_title: str, a_desc: str | None, b_title: str, b_desc: str | None) -> float:
    """0-100. Title and description compared apart (a long description must not drown a changed
    title), weighted 40/60 when both have a description, the title alone otherwise."""
    title = fuzz.ratio(normalise(a_title), normalise(b_title))
    da, db = normalise(a_desc)[:2000], normalise(b_desc)[:2000]
    if not da or not db:
        return float(title)
    return 0.4 * title + 0.6 * fuzz.ratio(da, db)


def same_price(a: float | None, b: float | None, tolerance: float = PRICE_TOLERANCE) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 0.01)


# -- site profiles ----------------------------------------------------------------------------------
class SiteProfile(Protocol):
    def removed(self, page: Page) -> bool:
        """The answered page says the listing is gone."""

    def offer(self, page: Page) -> Offer | None:
        """The listing a live detail page shows (None: not a listing page)."""

    def shop_url(self, listing_url: str, shop_id: str) -> str | None: ...

    def search_url(self, listing_url: str, title: str) -> str | None: ...

    def links(self, page: Page) -> list[Link]:
        """The listings a shop or search page links to."""

    def shop_uscc(self, page: Page) -> str | None:
        """The USCC a shop page shows."""


class GenericProfile:
    """Any site: gone when the server says so (404/410) or the page carries a 下架 notice."""

    def removed(self, page: Page) -> bool:
        if page.status in (404, 410):
            return True
        head = page.text[:20000]
        return any(marker in head for marker in REMOVED_MARKERS) and "加入购物车" not in head

    def offer(self, page: Page) -> Offer | None:
        return None

    def shop_url(self, listing_url: str, shop_id: str) -> str | None:
        return None

    def search_url(self, listing_url: str, title: str) -> str | None:
        return None

    def links(self, page: Page) -> list[Link]:
        return []

    def shop_uscc(self, page: Page) -> str | None:
        return None


class DemoMallProfile(GenericProfile):
    """The demo mall (`demomall/`): the spider's selectors, read with parsel as Scrapy does."""

    def removed(self, page: Page) -> bool:
        if page.status in (404, 410):
            return True
        sel = Selector(text=page.text or "<html></html>")
        if sel.css('main.item[data-state="offline"], main.item-offline, .offline-notice'):
            return True
        return not sel.css("main.item") and super().removed(page)

    def offer(self, page: Page) -> Offer | None:
        sel = Selector(text=page.text or "<html></html>")
        main = sel.css("main.item")
        if not main or main.attrib.get("data-state") == "offline":
            return None
        title = " ".join(main.css("h1.item-title ::text").getall()).strip()
        if not title:
            return None
        price_text = (main.css(".price-value::text").get() or "").strip().replace(",", "")
        try:
            price = float(price_text) if price_text else None
        except ValueError:
            price = None
        paragraphs = [" ".join(p.css("::text").getall()).strip() for p in main.css("section.desc p")]
        return Offer(
            listing_id=main.attrib.get("data-listing-id") or page.url.rsplit("/", 1)[-1].removesuffix(".html"),
            url=page.url,
            title=title,
            description="\n".join(paragraphs),
            price=price,
            shop_id=main.css("a.shop::attr(data-shop-id)").get(),
        )

    def shop_url(self, listing_url: str, shop_id: str) -> str | None:
        return urljoin(listing_url, f"/shop/{quote(shop_id)}.html")

    def search_url(self, listing_url: str, title: str) -> str | None:
        return urljoin(listing_url, "/search?q=" + quote(title[:100]))

    def links(self, page: Page) -> list[Link]:
        if page.status != 200:
            return []
        out = []
        for card in Selector(text=page.text).css("li.item-card"):
            href = card.css("a.item-link::attr(href)").get()
            lid = card.attrib.get("data-id")
            if not href or not lid:
                continue
            shop_href = card.css("a.card-shop::attr(href)").get() or ""
            shop_id = shop_href.rsplit("/", 1)[-1].removesuffix(".html") or None
            title = "".join(card.css(".card-title ::text").getall()).strip()
            out.append(Link(lid, urljoin(page.url, href), title, shop_id))
        return out

    def shop_uscc(self, page: Page) -> str | None:
        if page.status != 200:
            return None
        return (Selector(text=page.text).css("dl.licence dd.uscc::text").get() or "").strip() or None


PROFILES: dict[str, SiteProfile] = {"demo-mall": DemoMallProfile()}
"""By platform (`Lead.platform`); others get `GenericProfile`."""


# -- one lead ---------------------------------------------------------------------------------------
@dataclass
class _Fetcher:
    """Counts what a recheck fetched (the job's stats) and never fetches one URL twice."""

    fetch: Fetch
    pages: int = 0
    bytes: int = 0
    cache: dict[str, Page] = field(default_factory=dict)

    def __call__(self, url: str) -> Page:
        if url not in self.cache:
            page = self.fetch(url)
            self.pages += 1
            self.bytes += len(page.text.encode("utf-8", "replace"))
            self.cache[url] = page
        return self.cache[url]


def check_lead(lead: Lead, fetch: Fetch, profile: SiteProfile, *, now: datetime) -> TakedownCheck:
    """Recheck one lead's listing (see the module doc for the outcomes)."""
    listing = lead.listing
    url = listing.url or ""
    check = TakedownCheck(
        lead_id=lead.lead_id,
        platform=lead.platform,
        listing_id=lead.listing_id,
        url=url,
        outcome=TakedownOutcome.UNREACHABLE,
        checked_at=now,
    )
    if not url:
        check.detail = "no listing URL"
        return check
    page = fetch(url)
    check.http_status = page.status
    if page.status is None or page.status >= 500 or page.status in (401, 403, 429):
        check.detail = page.error or f"HTTP {page.status}"
        return check
    if not profile.removed(page):
        check.outcome = TakedownOutcome.ONLINE
        return check
    check.outcome = TakedownOutcome.REMOVED
    check.detail = f"HTTP {page.status}" + (" 下架页" if page.status == 200 else "")
    found = find_relisting(lead, fetch, profile)
    if found is not None:
        offer, score = found
        check.outcome = TakedownOutcome.RELISTED
        check.relisted_id, check.relisted_url, check.similarity = offer.listing_id, offer.url, round(score, 1)
        check.detail += f"; relisted as {offer.listing_id} (shop {offer.shop_id or '?'})"
    return check


def _candidates(lead: Lead, fetch: Fetch, profile: SiteProfile) -> Iterator[Link]:
    listing, url = lead.listing, lead.listing.url or ""
    seen = {lead.listing_id}
    sources = [
        profile.shop_url(url, listing.shop_id) if listing.shop_id else None,
        profile.search_url(url, listing.title) if listing.title else None,
    ]
    for source in sources:
        if not source:
            continue
        for link in profile.links(fetch(source)):
            if link.listing_id not in seen:
                seen.add(link.listing_id)
                yield link


def find_relisting(lead: Lead, fetch: Fetch, profile: SiteProfile) -> tuple[Offer, float] | None:
    """The most alike offer under another id in the same shop or company, if alike enough."""
    listing = lead.listing
    uscc = (listing.shop_licence_no or "").strip().upper() or None
    shop_usccs: dict[str, str | None] = {}

    def same_seller(shop_id: str | None) -> bool:
        if shop_id and shop_id == listing.shop_id:
            return True
        if not shop_id or not uscc:
            return False
        if shop_id not in shop_usccs:
            shop_page = profile.shop_url(listing.url or "", shop_id)
            shop_usccs[shop_id] = profile.shop_uscc(fetch(shop_page)) if shop_page else None
        return (shop_usccs[shop_id] or "").upper() == uscc

    best: tuple[Offer, float] | None = None
    fetched = 0
    for link in _candidates(lead, fetch, profile):
        if fetched >= MAX_CANDIDATES:
            break
        if link.title and fuzz.ratio(normalise(link.title), normalise(listing.title)) < CARD_MIN_SIMILARITY:
            continue
        if not same_seller(link.shop_id):
            continue
        fetched += 1
        offer = profile.offer(fetch(link.url))
        if offer is None or offer.listing_id == lead.listing_id or not same_seller(offer.shop_id or link.shop_id):
            continue
        score = similarity(listing.title, listing.description, offer.title, offer.description)
        alike = score >= RELIST_MIN_SIMILARITY and same_price(listing.price, offer.price)
        if alike and (best is None or score > best[1]):
            best = (offer, score)
    return best


# -- which leads, and the job -----------------------------------------------------------------------
def _confirmed(leads: LeadStore, page_size: int = 500) -> Iterator[Lead]:
    cursor = None
    while True:
        result = leads.search(LeadQuery(statuses=["confirmed"], size=page_size, search_after=cursor))
        yield from result.leads
        if not result.next_cursor or len(result.leads) < page_size:
            return
        cursor = result.next_cursor


def due_leads(
    leads: LeadStore,
    people: PeopleStore | None,
    ops: OperationsStore,
    *,
    now: datetime,
    after: timedelta,
) -> list[Lead]:
    """Leads whose takedown should be rechecked now (see the module doc)."""
    decided: dict[str, datetime] = {}
    found: dict[str, Lead] = {}
    for lead in _confirmed(leads):
        decided[lead.lead_id] = lead.status_updated_at or lead.last_seen
        found[lead.lead_id] = lead
    if people is not None:
        for case in people.list_cases(limit=10_000):
            if case.status is not CaseStatus.penalty or case.merged_into is not None:
                continue
            for lead_id in case.lead_ids:
                decided[lead_id] = min(decided.get(lead_id, case.created_at), case.created_at)
        missing = [i for i in decided if i not in found]
        found.update(leads.get_many(missing) if missing else {})
    ripe = [i for i, at in decided.items() if i in found and at <= now - after]
    checks = ops.takedown_checks(ripe, per_lead=5)
    due = []
    for lead_id in ripe:
        conclusive = [
            c
            for c in checks.get(lead_id, [])
            if c.outcome is not TakedownOutcome.UNREACHABLE and c.checked_at >= decided[lead_id]
        ]
        if not conclusive:
            due.append(found[lead_id])
    return sorted(due, key=lambda lead: lead.lead_id)


@dataclass
class RecheckReport:
    job_id: str
    checks: list[TakedownCheck]

    def count(self, outcome: TakedownOutcome) -> int:
        return sum(1 for c in self.checks if c.outcome is outcome)

    @property
    def summary(self) -> dict[str, int]:
        return {str(o): self.count(o) for o in TakedownOutcome}


OUTCOME_ZH = {"online": "仍在售", "removed": "已下架", "relisted": "换链接重新上架", "unreachable": "无法访问"}


def recheck(
    ops: OperationsStore,
    targets: Iterable[Lead],
    *,
    people: PeopleStore | None = None,
    fetch: Fetch | None = None,
    profiles: dict[str, SiteProfile] | None = None,
    requested_by: str = "system",
    now: datetime | None = None,
) -> RecheckReport:
    """Run one recheck job over `targets`: record each outcome on the lead and, as a note, on its cases.
    Pages come through `fetch` (default: a `PoliteFetch` with the crawler's etiquette)."""
    now = now or datetime.now(UTC)
    fetch = fetch or PoliteFetch.from_settings()
    profiles = PROFILES if profiles is None else profiles
    chosen: Sequence[Lead] = list(targets)
    job = CrawlJob(
        id=new_job_id(now),
        target_id=None,
        target_name=JOB_TARGET,
        spider="takedown",
        trigger=Trigger.TAKEDOWN,
        requested_by=requested_by,
    )
    ops.create_job(job)
    ops.set_job_state(job.id, JobState.RUNNING)
    fetcher = _Fetcher(fetch)
    checks: list[TakedownCheck] = []
    log: list[tuple[str, str]] = [("INFO", f"{len(chosen)} confirmed listing(s) to recheck")]
    try:
        for lead in chosen:
            check = check_lead(lead, fetcher, profiles.get(lead.platform, GenericProfile()), now=now)
            check.job_id = job.id
            if people is not None:
                check.case_ids = [c.id for c in people.cases_of_lead(lead.lead_id) if c.id is not None]
            checks.append(check)
            level = "WARNING" if check.outcome in (TakedownOutcome.RELISTED, TakedownOutcome.UNREACHABLE) else "INFO"
            log.append((level, f"{lead.listing_id}: {check.outcome} {check.detail}".strip()))
        ops.add_takedown_checks(checks)
        if people is not None:
            _note_cases(people, checks, now)
    except Exception as exc:
        ops.append_log(job.id, [*log, ("ERROR", f"recheck failed: {exc!r}")])
        ops.set_job_state(job.id, JobState.FAILED, message=f"recheck failed: {exc!r}")
        raise
    unreachable = sum(1 for c in checks if c.outcome is TakedownOutcome.UNREACHABLE)
    gone = sum(1 for c in checks if c.outcome in (TakedownOutcome.REMOVED, TakedownOutcome.RELISTED))
    stats = JobStats(
        pages=fetcher.pages,
        listings=len(checks) - unreachable,
        bytes=fetcher.bytes,
        listings_removed=gone,
        errors={"unreachable": unreachable} if unreachable else {},
    )
    ops.complete(job.id, [], stats)
    report = RecheckReport(job.id, checks)
    ops.append_log(job.id, [*log, ("INFO", "result: " + ", ".join(f"{k}={v}" for k, v in report.summary.items()))])
    ops.set_job_state(job.id, JobState.FINISHED, message=", ".join(f"{k}={v}" for k, v in report.summary.items()))
    return report


def _note_cases(people: PeopleStore, checks: Sequence[TakedownCheck], now: datetime) -> None:
    by_case: dict[int, list[TakedownCheck]] = {}
    for c in checks:
        for case_id in c.case_ids:
            by_case.setdefault(case_id, []).append(c)
    for case_id, found in by_case.items():
        lines = [
            f"{c.listing_id}：{OUTCOME_ZH[str(c.outcome)]}"
            + (f"（新链接 {c.relisted_id}，相似度 {c.similarity:.0f}）" if c.relisted_id else "")
            for c in found
        ]
        text = f"下架复查（任务 {found[0].job_id}）：" + "；".join(lines)
        audit = AuditEvent(
            actor="system",
            role="system",
            action="case.note",
            resource_type="case",
            resource_id=str(case_id),
            source="takedown",
            detail=text[:500],
        )
        people.add_case_note(case_id, CaseNote(author="system", at=now, text=text), audit)


TAKEDOWN_PASS_SCHEDULE = 0
"""The schedule id under which periodic takedown passes are claimed in the fires ledger (real schedules
are numbered from 1), so that of several `sweep takedown watch` processes one runs each period."""


def period_start(now: datetime, every: timedelta) -> datetime:
    """The start of the period `now` falls in (periods counted from the Unix epoch, in UTC)."""
    step = max(1, int(every.total_seconds()))
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)


def takedown_pass(
    ops: OperationsStore,
    leads: LeadStore,
    people: PeopleStore | None,
    *,
    now: datetime,
    after: timedelta,
    every: timedelta,
    claimer: str,
    fetch: Fetch | None = None,
) -> RecheckReport | None:
    """One periodic pass: claim this period (one claimer wins it, however many watchers run), then
    recheck what is due. None when another watcher has the period or nothing is due."""
    period = period_start(now, every)
    if not ops.claim_fire(TAKEDOWN_PASS_SCHEDULE, period, claimer):
        return None
    due = due_leads(leads, people, ops, now=now, after=after)
    if not due:
        return None
    report = recheck(ops, due, people=people, fetch=fetch, requested_by="system", now=now)
    ops.attach_job_to_fire(TAKEDOWN_PASS_SCHEDULE, period, report.job_id)
    return report
