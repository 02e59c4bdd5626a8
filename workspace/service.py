"""What staff do to leads and cases, whichever door they come through (pages, JSON API, CLI).

Every operation asks `sweep.permissions.allowed` first, reads leads only inside the actor's
jurisdiction (a lead outside it is "not found", so ids cannot be probed), and writes through the
people's store together with its audit record before the lead store is touched (see
`sweep.casework` for the outbox that makes the lead store catch up after a crash).
"""

from __future__ import annotations

import codecs
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sweep import permissions as perm
from sweep import regions as divisions
from sweep.audit import AuditEvent, AuditRecord
from sweep.casework import (
    CASE_TRANSITIONS,
    DISMISSAL_REASONS_ZH,
    Attachment,
    AttachmentFiles,
    Case,
    CaseNote,
    CaseStatus,
    Decision,
    Dismissal,
    DismissalScope,
    Job,
    PeopleStore,
    User,
    VersionConflict,
)
from sweep.models import TRIAGE_LABELS_ZH, Complaint, ComplaintMatch, Lead, PersonalData, TriageStatus
from sweep.people import NATIONWIDE, Actor, Role
from sweep.permissions import allowed
from sweep.settings import Settings
from sweep.store.base import LeadQuery, LeadSearchResult, LeadStore, StatusChange, StatusResult
from sweep.store.complaints import ComplaintQuery, ComplaintSearchResult, ComplaintStore, SellerDirectory

SYSTEM_ACTOR = "system"
SUPERVISED_ROLES = ("officer", "analyst")
"""The roles a supervisor may give accounts of their own jurisdiction (admins give any)."""
BULK_CHUNK = 500
"""Leads per page when a bulk action or the dismissal memory walks a search."""
PROGRESS_CHUNK = 100
"""Leads per transaction of a bulk action: the job's progress moves this often."""
BULK_LIMIT = 200_000
"""Most leads one bulk action may touch (a search wider than this must be narrowed first)."""

WORKFLOW: dict[str, tuple[str, ...]] = {
    "new": ("triaged", "confirmed", "dismissed", "referred"),
    "triaged": ("confirmed", "dismissed", "referred", "new"),
    "confirmed": ("referred", "triaged"),
    "dismissed": ("triaged",),
    "referred": ("triaged",),
}
"""新线索 → 研判中 → 已核实 / 已排除 / 已移送, and back to 研判中 to reopen a decision."""


class NotFound(Exception):
    """No such record, or not one this actor may see (the two are not told apart)."""


class Forbidden(Exception):
    """The actor's role may not do this."""


class Invalid(ValueError):
    """The request makes no sense (unknown status, a step the workflow does not have …)."""


def now() -> datetime:
    return datetime.now(UTC)


def _json(value: dict[str, Any]) -> str:
    """Compact JSON of changed fields for the audit (None is kept: "no assignee" is a value too)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True, slots=True)
class Place:
    """A resource for `allowed`: anything that has a region name."""

    region: str | None


def case_place(case: Case) -> Place:
    return Place(None if case.region == divisions.NATIONAL else divisions.full_name(case.region))


def jurisdiction(actor: Actor) -> str:
    """The actor's jurisdiction as one code (000000 nationwide)."""
    scope = actor.regions[0] if actor.regions else divisions.NATIONAL
    return divisions.NATIONAL if scope == NATIONWIDE else scope


@dataclass(slots=True)
class QueueParams:
    """The queue's search: query text plus facet filters, as the page and the API take them."""

    text: str = ""
    families: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    shop: str = ""
    seen_from: datetime | None = None
    seen_to: datetime | None = None
    sort: str = "priority"
    cursor: list | None = None
    size: int = 50


@dataclass
class Workspace:
    settings: Settings
    store: LeadStore
    people: PeopleStore
    complaint_count: Callable[[Lead], int] | None = None
    """Complaints about a lead's seller, for the priority (none wired: 0)."""
    complaints: ComplaintStore | None = None
    """12315 complaint records (none wired: the complaint pages are empty)."""
    sellers: SellerDirectory | None = None
    """The sellers complaints are matched to (to find the complaints against a lead's seller)."""
    attachments: AttachmentFiles | None = None
    """The bytes of case attachments (none wired: cases take no attachments)."""
    _memory_mark: int | None = None
    _memory_lock: threading.Lock = field(default_factory=threading.Lock)
    _recount_lock: threading.Lock = field(default_factory=threading.Lock)

    # -- reading leads -------------------------------------------------------------------------
    def query_for(self, actor: Actor, params: QueueParams) -> LeadQuery:
        """The store query, restricted to the actor's jurisdiction whatever the parameters say."""
        code = jurisdiction(actor)
        region_filter = list(params.regions)
        if code != divisions.NATIONAL:
            inside = set(divisions.names_under(code))
            region_filter = [r for r in region_filter if r in inside] if region_filter else sorted(inside)
            if not region_filter:
                region_filter = ["\x00none"]  # asked only for regions outside: match nothing
        return LeadQuery(
            text=params.text or None,
            families=params.families,
            severities=params.severities,
            statuses=params.statuses,
            platforms=params.platforms,
            regions=region_filter,
            categories=params.categories,
            shop=params.shop or None,
            seen_from=params.seen_from,
            seen_to=params.seen_to,
            sort="priority" if params.sort == "priority" else "recent",
            size=max(1, min(params.size, 200)),
            search_after=params.cursor,
        )

    def search(self, actor: Actor, params: QueueParams) -> LeadSearchResult:
        if not allowed(actor, perm.LEADS_VIEW):
            raise Forbidden(perm.LEADS_VIEW)
        self.maintain()
        result = self.store.search(self.query_for(actor, params))
        # defence in depth: the filter above is the rule, this is its check
        result.leads = [lead for lead in result.leads if allowed(actor, perm.LEADS_VIEW, lead.listing)]
        return result

    def lead(self, actor: Actor, lead_id: str, action: str = perm.LEADS_VIEW) -> Lead:
        lead = self.store.get(lead_id) if len(lead_id) <= 64 else None
        if lead is None or not allowed(actor, perm.LEADS_VIEW, lead.listing):
            raise NotFound(lead_id)
        if not allowed(actor, action, lead.listing):
            raise Forbidden(action)
        return lead

    def version(self, lead_id: str) -> int:
        decision = self.people.decisions([lead_id]).get(lead_id)
        return decision.version if decision else 0

    def score(self, lead: Lead) -> float:
        from workspace.priority import priority

        return priority(lead, complaints=self.complaint_count(lead) if self.complaint_count else 0)

    def history(self, lead_id: str, limit: int = 200) -> list:
        return self.people.audit_search(resource_id=lead_id, limit=limit)

    def same_shop(self, actor: Actor, lead: Lead, size: int = 20) -> list[Lead]:
        if not lead.listing.shop_id:
            return []
        params = QueueParams(shop=lead.listing.shop_id, platforms=[lead.platform], sort="recent", size=size + 1)
        found = self.store.search(self.query_for(actor, params)).leads
        return [
            other for other in found if other.lead_id != lead.lead_id and other.listing.shop_id == lead.listing.shop_id
        ][:size]

    def same_company(self, actor: Actor, lead: Lead, size: int = 20) -> list[Lead]:
        """Leads of the same company (the shop's USCC) on other shops and platforms, those the actor may
        see. The seller directory knows which shops carry a USCC and their lead ids; each lead is then
        read and checked like any other, so another region's leads stay "not found"."""
        from complaints.matching import valid_uscc

        uscc = valid_uscc(lead.listing.shop_licence_no)
        if not uscc or self.sellers is None:
            return []
        own = (lead.platform, lead.listing.shop_id or f"name:{lead.listing.shop_name}")
        ids: list[str] = []
        for seller in self.sellers.with_uscc(uscc):
            if (seller.platform, seller.shop_id) != own:
                ids.extend(seller.lead_ids)
        found = self.store.get_many([i for i in dict.fromkeys(ids) if i != lead.lead_id][: size * 5])
        visible = [other for other in found.values() if allowed(actor, perm.LEADS_VIEW, other.listing)]
        visible.sort(key=lambda other: other.last_seen, reverse=True)
        return visible[:size]

    # -- changing leads ------------------------------------------------------------------------
    def _event(self, actor: Actor, action: str, rtype: str, rid: str, source: str, **kw: Any) -> AuditEvent:
        return AuditEvent(
            actor=actor.username,
            role=str(actor.role),
            action=action,
            resource_type=rtype,
            resource_id=rid,
            source=source,
            **kw,
        )

    def change(
        self,
        actor: Actor,
        lead_id: str,
        *,
        version: int,
        source: str,
        status: str | None = None,
        assignee: str | None = None,
        note: str | None = None,
        action: str = "lead.update",
    ) -> Lead:
        """One person's decision on one lead, refused if the lead changed since they read it."""
        lead = self.lead(actor, lead_id, perm.LEADS_TRIAGE)
        if status is not None:
            if status not in TRIAGE_LABELS_ZH:
                raise Invalid(f"未知状态 {status}")
            if status != lead.status.value and status not in WORKFLOW[lead.status.value]:
                raise Invalid(f"不能从「{TRIAGE_LABELS_ZH[lead.status.value]}」直接改为「{TRIAGE_LABELS_ZH[status]}」")
        if assignee:
            self._check_assignee(assignee)
        new = Decision(
            lead_id=lead.lead_id,
            status=status or lead.status.value,
            assignee=assignee if assignee is not None else lead.assignee,
            note=note if note is not None else lead.note,
            version=version,
            updated_by=actor.username,
            region=lead.listing.region,
        )
        before = {"status": lead.status.value, "assignee": lead.assignee, "note": lead.note}
        after = {"status": new.status, "assignee": new.assignee, "note": new.note}
        changed = {k for k in after if after[k] != before[k]}
        event = self._event(
            actor,
            action,
            "lead",
            lead.lead_id,
            source,
            before=_json({k: before[k] for k in changed}),
            after=_json({k: after[k] for k in changed}),
            detail=lead.listing.title[:200],
        )
        self.people.decide([new], [event])
        return self._apply([new])[lead.lead_id]

    def _check_assignee(self, assignee: str) -> None:
        if self.people.get_user(assignee) is None:
            raise Invalid(f"没有用户 {assignee}")

    def _apply(self, decided: Sequence[Decision]) -> dict[str, Lead]:
        """Write decisions into the lead store, then mark them applied (the outbox's second half).

        One batch write for all of them (`set_status_many`). A lead someone else wrote between the store's
        read and its write ("conflict": usually a sighting) still gets its decision, through `set_status`,
        which re-reads and retries: the decision is recorded and audited already, so it must land. A single
        decision (one person's change) goes through `set_status` directly."""
        done: dict[str, Lead] = {}
        results: dict[str, StatusResult] = {}
        if len(decided) > 1:
            results = self.store.set_status_many(
                StatusChange(d.lead_id, TriageStatus(d.status), assignee=d.assignee, note=d.note) for d in decided
            )
        for d in decided:
            result = results.get(d.lead_id)
            if result is not None and result.lead is not None:
                done[d.lead_id] = result.lead
            elif result is None or result.error == "conflict":
                try:
                    done[d.lead_id] = self.store.set_status(
                        d.lead_id, TriageStatus(d.status), assignee=d.assignee, note=d.note
                    )
                except KeyError:
                    continue
        self.people.applied([d.lead_id for d in decided])
        return done

    def replay_pending(self) -> int:
        """Apply decisions that were recorded but never reached the lead store (a process died)."""
        total = 0
        while pending := self.people.pending_decisions(BULK_CHUNK):
            self._apply(pending)
            total += len(pending)
        return total

    # -- dismissal with memory -----------------------------------------------------------------
    def dismiss(
        self,
        actor: Actor,
        lead_id: str,
        *,
        version: int,
        source: str,
        reason: str,
        scope: str,
        until: datetime | None = None,
        note: str = "",
    ) -> tuple[Lead, Dismissal]:
        if reason not in DISMISSAL_REASONS_ZH:
            raise Invalid(f"未知的排除理由 {reason}")
        try:
            kind = DismissalScope(scope)
        except ValueError:
            raise Invalid(f"未知的排除范围 {scope}") from None
        lead = self.lead(actor, lead_id, perm.LEADS_TRIAGE)
        if kind is not DismissalScope.listing and not lead.listing.shop_id:
            raise Invalid("该线索没有店铺编号，只能排除本商品")
        text = f"排除：{DISMISSAL_REASONS_ZH[reason]}" + (f"；{note}" if note else "")
        updated = self.change(
            actor, lead_id, version=version, source=source, status="dismissed", note=text, action="lead.dismiss"
        )
        memory = Dismissal(
            scope=kind,
            platform=lead.platform,
            reason=reason,
            created_by=actor.username,
            created_at=now(),
            listing_id=lead.listing_id,
            shop_id=lead.listing.shop_id,
            shop_name=lead.listing.shop_name,
            rule_id=lead.rule_id,
            family=lead.family,
            until=until,
            region=lead.listing.region,
            source_lead=lead.lead_id,
            note=note,
        )
        memory = self.people.add_dismissal(
            memory,
            self._event(
                actor,
                "dismissal.add",
                "dismissal",
                lead.lead_id,
                source,
                after=_json(
                    {
                        "scope": kind.value,
                        "shop_id": memory.shop_id,
                        "rule_id": memory.rule_id,
                        "listing_id": memory.listing_id,
                        "reason": reason,
                        "until": until.isoformat() if until else None,
                    }
                ),
                detail=f"{lead.platform} {memory.shop_name or ''}",
            ),
        )
        self.apply_memory(force=True)
        return updated, memory

    def apply_memory(self, *, force: bool = False) -> int:
        """Dismiss new leads that fall inside a remembered, unexpired dismissal scope, and count them.

        Runs when the lead count has changed since the last run (any process's; the mark lives in the
        people's store), so detection that raises a lead in a dismissed shop never reaches the queue."""
        mark = self.store.count()
        if not force and str(mark) == self.people.get_marker("memory.lead_count"):
            return 0
        with self._memory_lock:
            moved = 0
            for memory in self.people.dismissals(active_at=now()):
                assert memory.id is not None
                if not memory.shop_id:
                    continue  # a listing without a shop: its own lead stays dismissed, nothing to look up
                query = LeadQuery(statuses=["new"], platforms=[memory.platform], shop=memory.shop_id, size=BULK_CHUNK)
                hits: list[Lead] = []
                for lead in self._all(query):
                    if memory.covers(lead.platform, lead.listing_id, lead.listing.shop_id, lead.rule_id, lead.family):
                        hits.append(lead)
                if not hits:
                    continue
                decided = [
                    Decision(
                        lead_id=lead.lead_id,
                        status="dismissed",
                        assignee=lead.assignee,
                        note=f"排除记忆 #{memory.id}：{DISMISSAL_REASONS_ZH.get(memory.reason, memory.reason)}",
                        updated_by=SYSTEM_ACTOR,
                        region=lead.listing.region,
                    )
                    for lead in hits
                ]
                events = [
                    AuditEvent(
                        actor=SYSTEM_ACTOR,
                        role="system",
                        action="lead.suppressed",
                        resource_type="lead",
                        resource_id=lead.lead_id,
                        before=_json({"status": "new"}),
                        after=_json({"status": "dismissed"}),
                        detail=f"dismissal #{memory.id} ({memory.scope.value}) by {memory.created_by}",
                        source="system",
                    )
                    for lead in hits
                ]
                written = self.people.decide(decided, events, check_versions=False)
                self._apply(written)
                self.people.count_suppressed(
                    memory.id, [lead.lead_id for lead in hits if lead.lead_id != memory.source_lead]
                )
                moved += len(hits)
            self.people.set_marker("memory.lead_count", str(self.store.count()))
            return moved

    def maintain(self) -> None:
        """Cheap upkeep run before queue reads: finish pending decisions, apply dismissal memory, and
        start a recount of complaints per seller when complaints or sellers were added."""
        if self.people.pending_decisions(1):
            self.replay_pending()
        self.apply_memory()
        self.recount_complaints_if_changed()

    def complaints_mark(self) -> str | None:
        """What the complaint counts were last computed from (None: no complaints wired)."""
        if self.complaints is None or self.sellers is None:
            return None
        return f"{self.complaints.count()}/{self.sellers.count()}"

    def recount_complaints_if_changed(self, *, background: bool = True) -> bool:
        """Recount when the complaints or the seller directory grew since the last count (any process's:
        the mark lives in the people's store); in a background thread so the page that noticed is not kept
        waiting. Returns whether a recount started."""
        mark = self.complaints_mark()
        if mark is None or mark == self.people.get_marker("complaints.counted"):
            return False
        if not self._recount_lock.acquire(blocking=False):
            return False  # one is running in this process

        def run() -> None:
            try:
                self.recount_complaints()
                self.people.set_marker("complaints.counted", mark)
            finally:
                self._recount_lock.release()

        if background:
            threading.Thread(target=run, name="complaint-recount", daemon=True).start()
        else:
            run()
        return True

    def recount_complaints(self) -> int:
        """Give every lead of every seller with complaints the seller's complaint count, so the stored
        priority sort key carries the complaints factor (`workspace.priority`). A seller's leads are all
        the leads of its shop on its platform (a search, not the directory's bounded id list). Returns
        how many leads changed. A seller whose complaints were all unmatched keeps its old count on its
        leads until a count comes again."""
        if self.complaints is None or self.sellers is None:
            return 0
        from complaints.matching import seller_keys

        changed = 0
        for page in self.sellers.iter_all():
            for seller in page:
                count = len(self.complaints.ids_by_keys(seller_keys(seller), limit=1000))
                if not count:
                    continue
                shop = seller.shop_id.removeprefix("name:")  # a shop without an id is searched by its name
                query = LeadQuery(platforms=[seller.platform], shop=shop, size=BULK_CHUNK)
                ids = [lead.lead_id for lead in self._all(query) if _seller_id(lead) == seller.shop_id]
                if ids:
                    changed += self.store.set_seller_complaints(dict.fromkeys(ids, count))
        return changed

    def _all(self, query: LeadQuery) -> Iterator[Lead]:
        """Every lead a query matches, page by page (cursor paging, so a large result costs no offset)."""
        query.size = BULK_CHUNK
        seen = 0
        while True:
            page = self.store.search(query)
            yield from page.leads
            seen += len(page.leads)
            if not page.next_cursor or not page.leads or seen >= BULK_LIMIT:
                return
            query.search_after = page.next_cursor

    # -- bulk actions --------------------------------------------------------------------------
    def bulk_count(self, actor: Actor, params: QueueParams | None, lead_ids: Sequence[str] = ()) -> int:
        """How many leads a bulk action would touch (shown before it runs)."""
        if params is None:
            return sum(1 for i in lead_ids if self._visible(actor, i))
        query = self.query_for(actor, params)
        query.size = 1
        query.search_after = None
        return min(self.store.search(query).total, BULK_LIMIT)

    def _visible(self, actor: Actor, lead_id: str) -> bool:
        try:
            self.lead(actor, lead_id)
            return True
        except (NotFound, Forbidden):
            return False

    def bulk_start(
        self,
        actor: Actor,
        *,
        source: str,
        action: str,
        params: QueueParams | None = None,
        lead_ids: Sequence[str] = (),
        status: str | None = None,
        assignee: str | None = None,
        reason: str | None = None,
        case_id: int | str | None = None,
        background: bool = True,
    ) -> Job:
        """Start a bulk change (assign, status, dismiss, add to a case) over a selection or a whole search.

        "case" links every lead to `case_id`, or to a new case when it is "new" (created first, in the
        actor's jurisdiction, so the job can name it and the link of each chunk goes to one place)."""
        if not allowed(actor, perm.LEADS_BULK) and (params is not None or not allowed(actor, perm.LEADS_TRIAGE)):
            raise Forbidden(perm.LEADS_BULK)
        target_case: Case | None = None
        if action == "case":
            if not allowed(actor, perm.CASES_EDIT):
                raise Forbidden(perm.CASES_EDIT)
            target_case = self._bulk_case(actor, case_id, source, title=_bulk_title(params))
        elif action == "assign":
            if not assignee:
                raise Invalid("请选择指派对象")
            self._check_assignee(assignee)
        elif action == "status":
            if status not in TRIAGE_LABELS_ZH:
                raise Invalid("请选择状态")
        elif action == "dismiss":
            if reason not in DISMISSAL_REASONS_ZH:
                raise Invalid("请选择排除理由")
        else:
            raise Invalid(f"未知的批量操作 {action}")
        total = self.bulk_count(actor, params, lead_ids)
        job = Job(
            id=uuid.uuid4().hex,
            kind=f"bulk.{action}",
            owner=actor.username,
            total=total,
            created_at=now(),
            message=f"case:{target_case.id}:{target_case.number}" if target_case else "",
        )
        self.people.create_job(job)
        args = (actor, job.id, source, action, params, list(lead_ids), status, assignee, reason, target_case)
        if background:
            threading.Thread(target=self._bulk_run, args=args, name=f"bulk-{job.id[:8]}", daemon=True).start()
        else:
            self._bulk_run(*args)
        return job

    def _bulk_case(self, actor: Actor, case_id: int | str | None, source: str, *, title: str) -> Case:
        """The case a bulk "add to case" links to: an open one the actor may edit, or a new one."""
        if case_id in (None, ""):
            raise Invalid("请选择案件")
        if case_id == "new":
            case = Case(
                title=title,
                owner=actor.username,
                region=jurisdiction(actor),
                created_by=actor.username,
                created_at=now(),
            )
            event = self._event(
                actor, "case.create", "case", "", source, after=_json({"title": case.title}), detail="立案 {number}"
            )
            return self.people.create_case(case, [event])
        try:
            number = int(case_id)
        except (TypeError, ValueError):
            raise Invalid(f"无效的案件编号 {case_id}") from None
        case = self.case(actor, number, perm.CASES_EDIT)
        if case.status is CaseStatus.closed or case.merged_into:
            raise Invalid(f"案件 {case.number} 已结案，不能再加入线索")
        return case

    def _bulk_targets(self, actor: Actor, params: QueueParams | None, lead_ids: list[str]) -> Iterator[Lead]:
        if params is None:
            for lead_id in lead_ids:
                try:
                    yield self.lead(actor, lead_id, perm.LEADS_TRIAGE)
                except (NotFound, Forbidden):
                    continue
            return
        # collect first: changing status while paging a status-filtered search would shift the pages
        yield from list(self._all(self.query_for(actor, params)))

    def _bulk_run(
        self,
        actor: Actor,
        job_id: str,
        source: str,
        action: str,
        params: QueueParams | None,
        lead_ids: list[str],
        status: str | None,
        assignee: str | None,
        reason: str | None,
        case: Case | None = None,
    ) -> None:
        done = failed = 0
        try:
            chunk: list[Lead] = []
            targets = self._bulk_targets(actor, params, lead_ids)
            for lead in targets:
                if not allowed(actor, perm.LEADS_TRIAGE, lead.listing):
                    failed += 1
                    continue
                chunk.append(lead)
                if len(chunk) >= PROGRESS_CHUNK:
                    done += self._bulk_chunk(actor, job_id, source, action, chunk, status, assignee, reason, case)
                    chunk = []
                    self.people.update_job(job_id, done=done, failed=failed)
            if chunk:
                done += self._bulk_chunk(actor, job_id, source, action, chunk, status, assignee, reason, case)
            self.people.update_job(job_id, done=done, failed=failed, state="done", finished_at=now())
        except Exception as exc:  # the job page must say it stopped, and why
            self.people.update_job(
                job_id, done=done, failed=failed, state="failed", message=str(exc)[:500], finished_at=now()
            )
            raise

    def _bulk_chunk(
        self,
        actor: Actor,
        job_id: str,
        source: str,
        action: str,
        leads: list[Lead],
        status: str | None,
        assignee: str | None,
        reason: str | None,
        case: Case | None = None,
    ) -> int:
        if action == "case" and case is not None:
            return self._bulk_link(actor, job_id, source, case, leads)
        decided, events = [], []
        for lead in leads:
            new_status = lead.status.value
            note = lead.note
            if action == "status" and status:
                new_status = status
            elif action == "dismiss" and reason:
                new_status, note = "dismissed", f"排除：{DISMISSAL_REASONS_ZH[reason]}"
            new_assignee = assignee if action == "assign" else lead.assignee
            decided.append(
                Decision(
                    lead_id=lead.lead_id,
                    status=new_status,
                    assignee=new_assignee,
                    note=note,
                    updated_by=actor.username,
                    region=lead.listing.region,
                )
            )
            before = {"status": lead.status.value, "assignee": lead.assignee}
            after = {"status": new_status, "assignee": new_assignee}
            events.append(
                self._event(
                    actor,
                    f"lead.bulk_{action}",
                    "lead",
                    lead.lead_id,
                    source,
                    before=_json(before),
                    after=_json(after),
                    detail=f"job {job_id}",
                )
            )
        written = self.people.decide(decided, events, check_versions=False)
        self._apply(written)
        return len(written)

    def _bulk_link(self, actor: Actor, job_id: str, source: str, case: Case, leads: list[Lead]) -> int:
        """One chunk of a bulk "add to case": the links and one audit record per lead, in one transaction.
        Leads already in the case count as done (the case holds them either way)."""
        assert case.id is not None
        ids = [lead.lead_id for lead in leads]
        events = [
            self._event(
                actor,
                "lead.bulk_case",
                "lead",
                lead.lead_id,
                source,
                after=_json({"case": case.number}),
                detail=f"job {job_id}",
            )
            for lead in leads
        ]
        events.append(
            self._event(
                actor, "case.link", "case", str(case.id), source, after=_json({"leads": ids}), detail=case.number
            )
        )
        self.people.link_leads(case.id, ids, events)
        return len(ids)

    # -- cases ---------------------------------------------------------------------------------
    def case(self, actor: Actor, case_id: int, action: str = perm.CASES_VIEW) -> Case:
        case = self.people.get_case(case_id)
        if case is None or not allowed(actor, perm.CASES_VIEW, case_place(case)):
            raise NotFound(str(case_id))
        if not allowed(actor, action, case_place(case)):
            raise Forbidden(action)
        return case

    def cases(self, actor: Actor) -> list[Case]:
        if not allowed(actor, perm.CASES_VIEW):
            raise Forbidden(perm.CASES_VIEW)
        return [c for c in self.people.list_cases() if allowed(actor, perm.CASES_VIEW, case_place(c))]

    def open_cases(self, actor: Actor) -> list[Case]:
        """Cases leads can still be added to (not closed, not merged away) that the actor may edit."""
        if not allowed(actor, perm.CASES_EDIT):
            return []
        cases = self.cases(actor)
        return [c for c in cases if c.status is not CaseStatus.closed and not c.merged_into]

    def create_case(
        self,
        actor: Actor,
        lead_ids: Sequence[str],
        *,
        source: str,
        title: str = "",
        owner: str | None = None,
        due_date: datetime | None = None,
    ) -> Case:
        if not allowed(actor, perm.CASES_EDIT):
            raise Forbidden(perm.CASES_EDIT)
        leads = [self.lead(actor, i) for i in dict.fromkeys(lead_ids)]
        if not leads:
            raise Invalid("请至少选择一条线索")
        owner = owner or actor.username
        self._check_assignee(owner)
        codes = {divisions.code_for(lead.listing.region) for lead in leads}
        region = codes.pop() if len(codes) == 1 and None not in codes else jurisdiction(actor)
        if region is None or not allowed(
            actor, perm.CASES_EDIT, Place(divisions.full_name(region) if region != divisions.NATIONAL else None)
        ):
            region = jurisdiction(actor)
        shops = sorted({lead.listing.shop_name or lead.listing.shop_id or "" for lead in leads} - {""})
        title = title.strip() or f"{'、'.join(shops[:2]) or leads[0].listing.title[:30]} 涉嫌违法经营"
        case = Case(
            title=title[:256],
            owner=owner,
            region=region,
            created_by=actor.username,
            created_at=now(),
            due_date=due_date,
            lead_ids=[lead.lead_id for lead in leads],
        )
        events = [
            self._event(
                actor,
                "case.create",
                "case",
                "",
                source,
                after=_json({"title": case.title, "owner": owner, "leads": case.lead_ids}),
                detail="立案 {number}",
            )
        ] + [
            self._event(actor, "lead.case_linked", "lead", lead.lead_id, source, detail="立案 {number}")
            for lead in leads
        ]
        return self.people.create_case(case, events)

    def update_case(self, actor: Actor, case_id: int, *, version: int, source: str, **changes: Any) -> Case:
        case = self.case(actor, case_id, perm.CASES_EDIT)
        changes = {k: v for k, v in changes.items() if v is not None}
        if "status" in changes:
            target = changes["status"]
            if target not in CASE_TRANSITIONS:
                raise Invalid(f"未知的案件状态 {target}")
            if target != case.status.value and target not in CASE_TRANSITIONS[case.status.value]:
                raise Invalid("案件只能按 立案 → 调查 → 处罚决定/不予处罚 → 结案 推进")
            changes["status"] = CaseStatus(target)
        if "owner" in changes:
            self._check_assignee(changes["owner"])
        before = {k: _plain(getattr(case, k)) for k in changes}
        after = {k: _plain(v) for k, v in changes.items()}
        event = self._event(
            actor,
            "case.update",
            "case",
            str(case_id),
            source,
            before=_json(before),
            after=_json(after),
            detail=case.number,
        )
        return self.people.update_case(case_id, version, changes, event)

    def add_case_note(self, actor: Actor, case_id: int, text: str, *, source: str) -> None:
        case = self.case(actor, case_id, perm.CASES_EDIT)
        if not text.strip():
            raise Invalid("备注不能为空")
        note = CaseNote(author=actor.username, at=now(), text=text.strip()[:5000])
        self.people.add_case_note(
            case_id,
            note,
            self._event(
                actor, "case.note", "case", str(case_id), source, after=_json({"note": note.text}), detail=case.number
            ),
        )

    def link_leads(
        self, actor: Actor, case_id: int, lead_ids: Sequence[str], *, source: str, unlink: bool = False
    ) -> None:
        case = self.case(actor, case_id, perm.CASES_EDIT)
        ids = [self.lead(actor, i).lead_id for i in lead_ids]
        action = "case.unlink" if unlink else "case.link"
        self.people.link_leads(
            case_id,
            ids,
            self._event(actor, action, "case", str(case_id), source, after=_json({"leads": ids}), detail=case.number),
            unlink=unlink,
        )

    def merge_cases(self, actor: Actor, target_id: int, source_id: int, *, source: str) -> Case:
        target = self.case(actor, target_id, perm.CASES_EDIT)
        other = self.case(actor, source_id, perm.CASES_EDIT)
        event = self._event(
            actor,
            "case.merge",
            "case",
            str(target_id),
            source,
            after=_json({"merged": other.number, "leads": other.lead_ids}),
            detail=target.number,
        )
        return self.people.merge_cases(target_id, source_id, event)

    def split_case(self, actor: Actor, case_id: int, lead_ids: Sequence[str], *, source: str) -> Case:
        """Move some leads of a case into a new case (same owner and jurisdiction)."""
        case = self.case(actor, case_id, perm.CASES_EDIT)
        moving = [i for i in lead_ids if i in case.lead_ids]
        if not moving or len(moving) == len(case.lead_ids):
            raise Invalid("拆分需要选择部分（而非全部）线索")
        self.link_leads(actor, case_id, moving, source=source, unlink=True)
        return self.create_case(
            actor, moving, source=source, title=f"{case.title}（拆分）", owner=case.owner, due_date=case.due_date
        )

    # -- attachments and complaints of a case ---------------------------------------------------
    def attach(self, actor: Actor, case_id: int, filename: str, data: bytes, *, source: str) -> Attachment:
        """Put a file into a case: stored once under its SHA-256, its type sniffed from the bytes, the
        record and its audit committed together (bytes first: a record never points at nothing)."""
        case = self.case(actor, case_id, perm.CASES_EDIT)
        if self.attachments is None:
            raise Invalid("未配置附件存储")
        limit = self.settings.attachment_max_mb * 1024 * 1024
        if len(data) > limit:
            raise Invalid(f"附件不能超过 {self.settings.attachment_max_mb} MB")
        if not data:
            raise Invalid("附件是空文件")
        name = safe_filename(filename)
        kind = sniff_type(data)
        digest = self.attachments.put(data)
        record = Attachment(
            case_id=case_id,
            sha256=digest,
            filename=name,
            content_type=kind,
            size=len(data),
            uploaded_by=actor.username,
            uploaded_at=now(),
        )
        event = self._event(
            actor,
            "case.attach",
            "case",
            str(case_id),
            source,
            after=_json({"file": name, "sha256": digest, "size": len(data), "type": kind}),
            detail=case.number,
        )
        return self.people.add_attachment(record, event)

    def case_attachments(self, actor: Actor, case_id: int) -> list[Attachment]:
        self.case(actor, case_id)
        return self.people.attachments(case_id)

    def attachment(self, actor: Actor, case_id: int, attachment_id: int, *, source: str) -> tuple[Attachment, bytes]:
        """An attachment's record and bytes for download, recorded in the audit (a case file leaving the
        system, like an export). Another case's attachment id is "not found" here."""
        case = self.case(actor, case_id)
        found = self.people.get_attachment(attachment_id)
        if found is None or found.case_id != case_id or self.attachments is None:
            raise NotFound(str(attachment_id))
        data = self.attachments.get(found.sha256)
        if data is None:
            raise NotFound(str(attachment_id))
        self.people.record(
            self._event(
                actor,
                "case.attachment_download",
                "case",
                str(case_id),
                source,
                detail=f"{case.number} {found.filename} sha256={found.sha256}",
            )
        )
        return found, data

    def link_complaints(
        self, actor: Actor, case_id: int, complaint_ids: Sequence[str], *, source: str, unlink: bool = False
    ) -> None:
        """Link 12315 complaints to a case (or unlink them); each must be one the actor may read."""
        case = self.case(actor, case_id, perm.CASES_EDIT)
        ids = [i.strip() for i in complaint_ids if i.strip()]
        if not ids:
            raise Invalid("请填写投诉登记编号")
        if not unlink:
            ids = [self.complaint(actor, i)[0].complaint_id for i in ids]
        action = "case.complaint_unlink" if unlink else "case.complaint_link"
        self.people.link_complaints(
            case_id,
            ids,
            self._event(
                actor, action, "case", str(case_id), source, after=_json({"complaints": ids}), detail=case.number
            ),
            unlink=unlink,
        )

    def case_complaints(self, actor: Actor, case: Case) -> tuple[list[Complaint], int]:
        """The masked complaints linked to a case that the actor may read, and how many others are
        linked (outside the actor's reading, or no longer in the complaints store)."""
        if not case.complaint_ids or self.complaints is None or not allowed(actor, perm.COMPLAINTS_VIEW):
            return [], len(case.complaint_ids)
        records = self.complaints.get_many(case.complaint_ids)
        shown = [
            records[i] for i in case.complaint_ids if i in records and allowed(actor, perm.COMPLAINTS_VIEW, records[i])
        ]
        return shown, len(case.complaint_ids) - len(shown)

    # -- complaints (12315) ---------------------------------------------------------------------
    def complaint_search(self, actor: Actor, query: ComplaintQuery) -> ComplaintSearchResult:
        """Masked complaints in the actor's jurisdiction (the leads' rule: `perm.region_prefixes` narrows
        the store's search, `allowed` checks every record returned)."""
        if not allowed(actor, perm.COMPLAINTS_VIEW):
            raise Forbidden(perm.COMPLAINTS_VIEW)
        if self.complaints is None:
            return ComplaintSearchResult(total=0, complaints=[])
        query.region_prefixes = perm.region_prefixes(actor)
        query.size = max(1, min(query.size, 200))
        if query.cursor and not _complaint_cursor(query.cursor):
            raise Invalid("翻页参数无效")
        result = self.complaints.search(query)
        result.complaints = [c for c in result.complaints if allowed(actor, perm.COMPLAINTS_VIEW, c)]
        return result

    def complaint(self, actor: Actor, complaint_id: str) -> tuple[Complaint, list[ComplaintMatch]]:
        """One masked complaint and the sellers it was matched to; outside the jurisdiction it is not found."""
        if not allowed(actor, perm.COMPLAINTS_VIEW):
            raise Forbidden(perm.COMPLAINTS_VIEW)
        found = self.complaints.get(complaint_id) if self.complaints is not None and len(complaint_id) <= 256 else None
        if found is None or not allowed(actor, perm.COMPLAINTS_VIEW, found):
            raise NotFound(complaint_id)
        return found, self.complaints.matches([complaint_id]).get(complaint_id, [])

    def complaint_personal_data(self, actor: Actor, complaint_id: str, purpose: str, *, source: str) -> PersonalData:
        """The unmasked personal data, for the officer handling the complaint or a supervisor of its
        region, with a stated purpose. The view (or the refused attempt) is written to the audit trail
        first; a view that cannot be recorded is not given."""
        complaint, _ = self.complaint(actor, complaint_id)
        action = perm.COMPLAINTS_VIEW_PERSONAL_DATA
        if not allowed(actor, action, complaint):
            self.people.record(self._event(actor, action, "complaint", complaint_id, source, allowed=False))
            raise Forbidden(action)
        purpose = " ".join(purpose.split())
        if len(purpose) < 2:
            raise Invalid("查看个人信息须说明用途")
        detail = f"用途：{purpose[:300]}"
        self.people.record(self._event(actor, action, "complaint", complaint_id, source, detail=detail))
        personal = self.complaints.personal_data(complaint_id) if self.complaints is not None else None
        return personal or PersonalData(complaint_id=complaint_id)

    def complaints_of_lead(self, actor: Actor, lead: Lead, size: int = 50) -> list[tuple[Complaint, ComplaintMatch]]:
        """The complaints matched to this lead's seller (platform + shop), those the actor may read."""
        if self.complaints is None or self.sellers is None or not allowed(actor, perm.COMPLAINTS_VIEW):
            return []
        from complaints.matching import seller_keys

        listing = lead.listing
        shop_id = listing.shop_id or (f"name:{listing.shop_name}" if listing.shop_name else None)
        seller = self.sellers.get(lead.platform, shop_id) if shop_id else None
        if seller is None:
            return []
        ids = self.complaints.ids_by_keys(seller_keys(seller), limit=1000)
        matched = self.complaints.matches(ids)
        records = self.complaints.get_many(ids)
        out = []
        for cid in ids:
            mine = [m for m in matched.get(cid, []) if (m.platform, m.shop_id) == (seller.platform, seller.shop_id)]
            c = records.get(cid)
            if mine and c is not None and allowed(actor, perm.COMPLAINTS_VIEW, c):
                out.append((c, mine[0]))
        out.sort(key=lambda pair: pair[0].received_at, reverse=True)
        return out[:size]

    # -- accounts ------------------------------------------------------------------------------
    def may_manage_users(self, actor: Actor) -> bool:
        """Admins manage every account (`users.manage`); a supervisor (科室负责人) manages the officers
        and analysts of their own jurisdiction, so a bureau can staff itself without the national admin."""
        return allowed(actor, perm.USERS_MANAGE) or actor.role is Role.supervisor

    def may_manage(self, actor: Actor, role: str, region: str) -> bool:
        """Whether `actor` may create, disable or enable an account with this role and jurisdiction."""
        if allowed(actor, perm.USERS_MANAGE):
            return True
        if actor.role is not Role.supervisor or role not in SUPERVISED_ROLES:
            return False
        return divisions.within(None if region == divisions.NATIONAL else region, jurisdiction(actor))

    def users(self, actor: Actor) -> list[User]:
        """The accounts the actor may see on the users page: all for admins, their region's for a supervisor."""
        if not self.may_manage_users(actor):
            raise Forbidden(perm.USERS_MANAGE)
        everyone = self.people.list_users()
        if allowed(actor, perm.USERS_MANAGE):
            return everyone
        code = jurisdiction(actor)
        return [
            u
            for u in everyone
            if divisions.within(None if u.jurisdiction == divisions.NATIONAL else u.jurisdiction, code)
        ]

    def add_account(
        self,
        actor: Actor,
        *,
        username: str,
        password: str,
        role: str,
        region: str,
        source: str,
        display_name: str = "",
    ) -> User:
        """A new account, refused as `sweep users add` refuses one (name, password length, role, code),
        and outside what the actor may manage."""
        from workspace.auth import hash_password, validate_new_user

        if not self.may_manage_users(actor):
            raise Forbidden(perm.USERS_MANAGE)
        username, region = username.strip(), region.strip()
        try:
            validate_new_user(username, password, role, region)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
        if not self.may_manage(actor, role, region):
            raise Forbidden(perm.USERS_MANAGE)
        if self.people.get_user(username) is not None:
            raise Invalid(f"用户 {username} 已存在")
        user = User(username, hash_password(password), role, region, display_name=display_name.strip()[:128])
        user.created_at = now()
        event = self._event(
            actor, "user.add", "user", username, source, after=_json({"role": role, "jurisdiction": region})
        )
        self.people.add_user(user, event)
        return user

    def set_account_active(self, actor: Actor, username: str, active: bool, *, source: str) -> None:
        """Disable (ending its sessions) or enable an account the actor may manage; never one's own."""
        if not self.may_manage_users(actor):
            raise Forbidden(perm.USERS_MANAGE)
        user = self.people.get_user(username) if len(username) <= 64 else None
        visible = username in {u.username for u in self.users(actor)}
        if user is None or not visible:
            raise NotFound(username)
        if username == actor.username or not self.may_manage(actor, user.role, user.jurisdiction):
            raise Forbidden(perm.USERS_MANAGE)
        if user.active == active:
            return
        self.people.update_user(
            username,
            {"active": active},
            self._event(
                actor,
                "user.enable" if active else "user.deactivate",
                "user",
                username,
                source,
                before=_json({"active": user.active}),
                after=_json({"active": active}),
            ),
        )

    # -- audit ---------------------------------------------------------------------------------
    def audit_filter(self, actor: Actor) -> Callable[[AuditRecord], bool]:
        """Which audit records an actor may read: national staff read all; anyone else reads records
        about leads and cases in their jurisdiction and records made by accounts in it (a record's
        detail may quote a listing title, which is no business of another region's staff)."""
        code = jurisdiction(actor)
        if code == divisions.NATIONAL:
            return lambda _record: True
        leads: dict[str, bool] = {}
        cases: dict[str, bool] = {}
        users: dict[str, bool] = {}

        def by_user(name: str) -> bool:
            if name not in users:
                user = self.people.get_user(name)
                users[name] = user is not None and divisions.within(
                    None if user.jurisdiction == divisions.NATIONAL else user.jurisdiction, code
                )
            return users[name]

        def visible(record: AuditRecord) -> bool:
            e = record.event
            if e.resource_type == "lead":
                if e.resource_id not in leads:
                    lead = self.store.get(e.resource_id) if len(e.resource_id) <= 64 else None
                    leads[e.resource_id] = lead is not None and allowed(actor, perm.LEADS_VIEW, lead.listing)
                return leads[e.resource_id]
            if e.resource_type == "case" and e.resource_id.isdigit():
                if e.resource_id not in cases:
                    case = self.people.get_case(int(e.resource_id))
                    cases[e.resource_id] = case is not None and allowed(actor, perm.CASES_VIEW, case_place(case))
                return cases[e.resource_id]
            return by_user(e.actor)

        return visible

    def audit_records(self, reader: Actor, **filters: Any) -> list[AuditRecord]:
        """A page of audit search results the reader may read (see `audit_filter`); `filters` are
        those of `PeopleStore.audit_search` (its `actor` is the author of the records)."""
        if not allowed(reader, perm.AUDIT_VIEW):
            raise Forbidden(perm.AUDIT_VIEW)
        keep = self.audit_filter(reader)
        return [r for r in self.people.audit_search(**filters) if keep(r)]

    def record_export(self, actor: Actor, what: str, count: int, source: str, detail: str = "") -> None:
        self.people.record(self._event(actor, "export", what, what, source, detail=f"{count} rows {detail}".strip()))


@dataclass(frozen=True, slots=True)
class ListingVersion:
    """One row of a lead page's price and title history: the listing now, or one recorded change."""

    at: datetime | None
    kind: str
    """"current", "changed", "removed" or "back_online"."""
    label: str
    title_before: str | None = None
    title_after: str | None = None
    price_before: float | None = None
    price_after: float | None = None
    fields: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def title_changed(self) -> bool:
        return self.title_after is not None and self.title_after != self.title_before

    @property
    def price_changed(self) -> bool:
        return self.price_after is not None and self.price_after != self.price_before


CHANGE_LABELS_ZH = {"current": "当前", "changed": "内容变化", "removed": "下架", "back_online": "重新上架"}
REMOVED_REASONS_ZH = {
    "http_404": "页面不存在",
    "http_410": "页面已删除",
    "delisted": "已下架页面",
    "missing_from_category": "类目中已找不到",
}
CHANGED_FIELDS_ZH = {
    "title": "标题",
    "price": "价格",
    "description": "描述",
    "images": "图片",
    "attributes": "属性",
    "shop": "店铺信息",
    "category": "类目",
    "unit": "单位",
}


def _field(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value is not None:
            return value
    return None


def _price(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def listing_versions(lead: Lead) -> list[ListingVersion]:
    """The listing as it is now, then the changes the recrawl recorded on the lead (`Lead.listing_history`:
    changed title or price, removal, return), newest first. A lead without that history (written before
    recrawls recorded it) shows its current version only."""
    rows = [
        ListingVersion(
            at=lead.last_seen,
            kind="current",
            label=CHANGE_LABELS_ZH["current"],
            title_after=lead.listing.title,
            price_after=lead.listing.price,
        )
    ]
    for item in reversed(list(getattr(lead, "listing_history", None) or [])):
        kind = str(_field(item, "kind") or "changed")
        reason = _field(item, "reason")
        rows.append(
            ListingVersion(
                at=_field(item, "at"),
                kind=kind,
                label=CHANGE_LABELS_ZH.get(kind, kind),
                title_before=_field(item, "title_before"),
                title_after=_field(item, "title_after"),
                price_before=_price(_field(item, "price_before")),
                price_after=_price(_field(item, "price_after")),
                fields=tuple(CHANGED_FIELDS_ZH.get(f, f) for f in (_field(item, "fields") or ())),
                reason=REMOVED_REASONS_ZH.get(reason, reason) if reason else None,
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class Online:
    """Whether the listing is still online, as the latest crawl found it."""

    state: str
    """"online", "changed" (online, content changed), "removed", or "unknown" (a lead store that
    records no listing state)."""
    label: str
    since: datetime | None = None
    reason: str | None = None


ONLINE_LABELS_ZH = {"online": "在售", "changed": "在售（内容有变化）", "removed": "已下架", "unknown": "未核查"}


def online_state(lead: Lead) -> Online:
    """From the lead's `listing_state` and `removed_at` (or when it last changed), as the recrawl records them."""
    state = getattr(lead, "listing_state", None)
    state = str(getattr(state, "value", state) or "unknown")
    if state == "removed":
        since, reason = getattr(lead, "removed_at", None), getattr(lead, "removed_reason", None)
        return Online(state, ONLINE_LABELS_ZH[state], since, REMOVED_REASONS_ZH.get(reason, reason) if reason else None)
    since = getattr(lead, "listing_changed_at", None) if state == "changed" else None
    return Online(state, ONLINE_LABELS_ZH.get(state, state), since)


def _seller_id(lead: Lead) -> str | None:
    """The seller directory's shop id of a lead's listing (a shop without an id goes by its name)."""
    listing = lead.listing
    return listing.shop_id or (f"name:{listing.shop_name}" if listing.shop_name else None)


def _bulk_title(params: QueueParams | None) -> str:
    """A new case's title from the search that filled it ("氰化钾 shop:S2" → "「氰化钾 shop:S2」批量立案")."""
    words = " ".join(filter(None, [params.text if params else "", params.shop if params else ""])).strip()
    return f"「{words[:60]}」批量立案" if words else "批量立案"


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
)


def sniff_type(data: bytes) -> str:
    """What the bytes are, from their first bytes (never from the uploader's word, which a hostile file
    would set to whatever gets it rendered). Text is `text/plain` whatever markup it holds: an HTML
    file is kept and downloaded as text, never served as a page."""
    head = data[:4096]
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        if b"word/" in data[:65536]:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        if b"xl/" in data[:65536]:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "application/zip"
    if b"\x00" in head:
        return "application/octet-stream"
    try:  # a character cut at the 4 KiB mark is not an error unless the file ends there
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(data) <= len(head))
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def safe_filename(name: str) -> str:
    """The uploaded name without folders, control characters or a leading dot, at most 200 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*').strip().lstrip(".")
    return base[:200] or "附件"


def _complaint_cursor(value: str) -> bool:
    """Whether a complaint page cursor is one the store wrote (`<received_at>|<complaint_id>`)."""
    ts, sep, _ = value.partition("|")
    try:
        float(ts)
    except ValueError:
        return False
    return bool(sep)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, CaseStatus):
        return value.value
    return value


__all__ = ["Forbidden", "Invalid", "NotFound", "QueueParams", "VersionConflict", "Workspace"]
