"""The numbers of a report, computed through the ports (`LeadStore.aggregate`, `ComplaintStore.aggregate`,
the people's store for cases and the audit trail, the operations store for crawl jobs).

A report covers a `Period` (whole days in China Standard Time, both ends included) and a `Scope` (a
jurisdiction code; 000000 is nationwide). Every figure is also computed for the previous period of the
same length, so trends need no second pass by the caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sweep import regions as divisions
from sweep.casework import CaseStatus, PeopleStore
from sweep.people import NATIONWIDE, Actor
from sweep.store.base import REPORT_UTC_OFFSET_HOURS, LeadAggregates, LeadQuery, LeadStore
from sweep.store.complaints import ComplaintAggregates, ComplaintQuery, ComplaintStore
from sweep.store.operations import JobState, OperationsStore

Kind = Literal["daily", "weekly", "campaign"]
KIND_TITLES_ZH: dict[str, str] = {
    "daily": "网络交易监测日报",
    "weekly": "网络交易监测周报",
    "campaign": "专项治理工作报告",
}
ACTED_STATUSES = ("triaged", "confirmed", "dismissed", "referred")
"""Lead statuses that mean a person acted on the lead (everything but 新线索)."""
JOB_SCAN_LIMIT = 100_000
"""Most crawl jobs a report reads (newest first); a period with more is counted from the newest."""
CASE_SCAN_LIMIT = 100_000
AUDIT_SCAN_LIMIT = 100_000
_TZ_SHIFT = timedelta(hours=REPORT_UTC_OFFSET_HOURS)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days [start, end] in China Standard Time."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """[from, to) as UTC instants: midnight UTC+8 of the first day, and of the day after the last."""
        start = datetime.combine(self.start, datetime.min.time(), UTC) - _TZ_SHIFT
        return start, start + timedelta(days=self.days)

    def previous(self) -> Period:
        """The period of the same length just before this one (the trends' baseline)."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        start, end = self.bounds()
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return start <= moment < end

    def label(self) -> str:
        return self.start.isoformat() if self.days == 1 else f"{self.start.isoformat()} 至 {self.end.isoformat()}"


@dataclass(frozen=True, slots=True)
class Scope:
    """A jurisdiction (GB/T 2260 code): which leads, complaints and cases a report counts."""

    code: str = divisions.NATIONAL

    @classmethod
    def parse(cls, region: str | None) -> Scope:
        """A code (330100) or a region name (浙江省杭州市); None or 全国 for nationwide."""
        if not region or region in ("全国", NATIONWIDE, divisions.NATIONAL):
            return cls()
        if region.isdigit():
            if region not in divisions.names():
                raise ValueError(f"unknown region code {region}")
            return cls(region)
        code = divisions.code_for(region)
        if code is None:
            raise ValueError(f"unknown region {region}")
        return cls(code)

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        """The viewer's jurisdiction (the first of their regions, as the workspace's queue has it)."""
        entry = actor.regions[0] if actor.regions else divisions.NATIONAL
        if entry == NATIONWIDE:
            return cls()
        return cls.parse(entry)

    @property
    def national(self) -> bool:
        return self.code == divisions.NATIONAL

    def label(self) -> str:
        return divisions.label(self.code)

    def lead_query(self) -> LeadQuery:
        """Leads whose shop region is a region name within the jurisdiction (the queue's rule)."""
        if self.national:
            return LeadQuery()
        return LeadQuery(regions=list(divisions.names_under(self.code)) or ["\x00none"])

    def complaint_query(self, period: Period | None = None) -> ComplaintQuery:
        q = ComplaintQuery(region_prefixes=() if self.national else (divisions.full_name(self.code),))
        if period is not None:
            start, end = period.bounds()
            q.received_from, q.received_to = start, end - timedelta(microseconds=1)
        return q

    def covers_case(self, case_region: str) -> bool:
        return divisions.within(case_region, self.code)


@dataclass(slots=True)
class CaseRow:
    number: str
    title: str
    status: str
    region: str
    created_at: datetime
    leads: int


@dataclass(slots=True)
class CaseFigures:
    opened: int = 0
    """Cases filed (立案) in the period."""
    closed: int = 0
    """Cases moved to 结案 in the period (from the audit trail)."""
    open_now: int = 0
    """Cases in the jurisdiction not yet closed at the time of the report."""
    notable: list[CaseRow] = field(default_factory=list)
    """Cases filed in the period, most leads first."""


@dataclass(slots=True)
class TargetHealth:
    name: str
    jobs: int = 0
    failed: int = 0
    errors: int = 0
    pages: int = 0
    last_finished: datetime | None = None
    """The newest finished job's end (any time, not only in the period): freshness."""


@dataclass(slots=True)
class CrawlFigures:
    """Crawl operations in the period. Jobs are not tied to a region: these are the bureau's crawls."""

    targets: int = 0
    jobs: int = 0
    failed: int = 0
    pages: int = 0
    """Pages fetched: the shop-visits of a campaign."""
    listings: int = 0
    errors: int = 0
    removals_verified: int = 0
    """Listings a takedown check found removed."""
    per_target: list[TargetHealth] = field(default_factory=list)


@dataclass(slots=True)
class Figures:
    kind: str
    period: Period
    scope: Scope
    generated_at: datetime
    leads: LeadAggregates
    queue: LeadAggregates
    """Every lead in the jurisdiction, whenever first seen: status by age at `generated_at`."""
    complaints: ComplaintAggregates
    cases: CaseFigures
    crawl: CrawlFigures
    previous_leads: int = 0
    previous_complaints: int = 0
    previous_cases_opened: int = 0

    @property
    def title(self) -> str:
        return KIND_TITLES_ZH[self.kind]

    @property
    def acted(self) -> int:
        """Leads of the period a person acted on (any status but 新线索)."""
        return sum(self.leads.by_status.get(s, 0) for s in ACTED_STATUSES)


def rate(part: int, whole: int) -> str:
    """A percentage with one decimal as bureaus write it ("97.4%"); "—" when there is nothing to divide."""
    return f"{100 * part / whole:.1f}%" if whole else "—"


def trend(current: int, previous: int) -> str:
    """The change against the previous period: "+3（+50.0%）", "-2（-20.0%）", "+4（上期为0）", "持平"."""
    diff = current - previous
    if diff == 0:
        return "持平"
    if previous == 0:
        return f"{diff:+d}（上期为0）"
    return f"{diff:+d}（{100 * diff / previous:+.1f}%）"


def case_figures(people: PeopleStore, scope: Scope, period: Period) -> tuple[CaseFigures, int]:
    """This period's case figures and the number filed in the previous period."""
    cases = [c for c in people.list_cases(limit=CASE_SCAN_LIMIT) if scope.covers_case(c.region)]
    out = CaseFigures()
    previous = period.previous()
    in_scope = {str(c.id): c for c in cases}
    prev_opened = 0
    for c in cases:
        if period.contains(c.created_at):
            out.opened += 1
            out.notable.append(
                CaseRow(c.number, c.title, str(c.status), divisions.label(c.region), c.created_at, len(c.lead_ids))
            )
        elif previous.contains(c.created_at):
            prev_opened += 1
        if c.status is not CaseStatus.closed:
            out.open_now += 1
    start, end = period.bounds()
    closed: set[str] = set()
    for record in people.audit_search(action="case.update", since=start, until=end, limit=AUDIT_SCAN_LIMIT):
        event = record.event
        if event.resource_id not in in_scope or not period.contains(event.at):
            continue
        try:
            after = json.loads(event.after or "{}")
        except ValueError:
            continue
        if after.get("status") == CaseStatus.closed.value:
            closed.add(event.resource_id)
    out.closed = len(closed)
    out.notable.sort(key=lambda r: (-r.leads, r.number))
    return out, prev_opened


def crawl_figures(operations: OperationsStore, period: Period) -> CrawlFigures:
    out = CrawlFigures()
    targets = operations.list_targets()
    health = {t.name: TargetHealth(t.name) for t in targets}
    for job in operations.list_jobs(limit=JOB_SCAN_LIMIT):
        h = health.setdefault(job.target_name, TargetHealth(job.target_name))
        done = job.finished_at if job.state is JobState.FINISHED else None
        if done and (h.last_finished is None or done > h.last_finished):
            h.last_finished = done
        if not period.contains(job.created_at):
            continue
        s = job.stats
        h.jobs += 1
        h.failed += job.state is JobState.FAILED
        h.errors += s.error_count
        h.pages += s.pages
        out.jobs += 1
        out.failed += job.state is JobState.FAILED
        out.pages += s.pages
        out.listings += s.listings
        out.errors += s.error_count
        out.removals_verified += s.listings_removed
    out.per_target = sorted(health.values(), key=lambda h: h.name)
    out.targets = sum(1 for h in out.per_target if h.jobs)
    return out


def compute(
    kind: Kind,
    period: Period,
    scope: Scope,
    *,
    leads: LeadStore,
    complaints: ComplaintStore | None = None,
    people: PeopleStore | None = None,
    operations: OperationsStore | None = None,
    now: datetime | None = None,
    top: int = 10,
) -> Figures:
    """Every figure of one report. A store not given counts as empty (a deployment without complaints
    or crawl operations still gets its lead report)."""
    now = now or datetime.now(UTC)
    start, end = period.bounds()
    prev_start, prev_end = period.previous().bounds()
    query = scope.lead_query()
    lead_figures = leads.aggregate(query, first_from=start, first_to=end, now=now, top=top)
    queue = leads.aggregate(scope.lead_query(), now=now, top=top)
    previous_leads = leads.aggregate(scope.lead_query(), first_from=prev_start, first_to=prev_end, now=now, top=1)
    complaint_figures, previous_complaints = ComplaintAggregates(), 0
    if complaints is not None:
        complaint_figures = complaints.aggregate(scope.complaint_query(period), top=top)
        previous_complaints = complaints.aggregate(scope.complaint_query(period.previous()), top=1).total
    cases, prev_opened = case_figures(people, scope, period) if people is not None else (CaseFigures(), 0)
    crawl = crawl_figures(operations, period) if operations is not None else CrawlFigures()
    return Figures(
        kind=kind,
        period=period,
        scope=scope,
        generated_at=now,
        leads=lead_figures,
        queue=queue,
        complaints=complaint_figures,
        cases=cases,
        crawl=crawl,
        previous_leads=previous_leads.total,
        previous_complaints=previous_complaints,
        previous_cases_opened=prev_opened,
    )
