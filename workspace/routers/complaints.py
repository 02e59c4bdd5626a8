"""12315 complaint records in the workspace: the list and detail pages, the personal-data view, and their
JSON equivalents under /api/v1.

Every route goes through `workspace.service` (which asks `sweep.permissions.allowed`): a complaint outside
the actor's jurisdiction is "not found", like a lead; what is shown is the masked record; the unmasked
personal data is handed out only on a POST with a stated purpose (CSRF-checked like every change), after
the view is written to the workspace's hash-chained audit trail. A complaint's page (and its JSON) lists
the cases it is linked to that the actor may open; a case of another jurisdiction is left out, as its
own page would be "not found".
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from sweep import permissions as perm
from sweep.casework import Case
from sweep.models import Complaint, ComplaintMatch, PersonalData
from sweep.people import Actor
from sweep.permissions import allowed
from sweep.store.complaints import ComplaintQuery
from workspace.deps import CurrentDep, WorkspaceDep
from workspace.routers.pages import render
from workspace.service import Forbidden, NotFound, Workspace, case_place

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["v1"])

PAGE_SIZE = 50
MATCHED = {"yes": True, "no": False}
PII_KIND_ZH = {
    "name": "姓名",
    "phone": "电话",
    "id_number": "身份证号",
    "bank_card": "银行卡号",
    "email": "电子邮箱",
    "address": "地址",
}


def _query(q: str, platform: list[str], status: list[str], matched: str, size: int, after: str) -> ComplaintQuery:
    return ComplaintQuery(
        text=q.strip()[:200] or None,
        platforms=[p for p in platform if p][:20],
        statuses=[s for s in status if s][:20],
        matched=MATCHED.get(matched),
        size=size,
        cursor=after or None,
    )


def _leads_of(ws: Workspace, actor: Actor, matches: list[ComplaintMatch], per_match: int = 20) -> dict[str, Any]:
    """lead id -> lead, for the matched sellers' leads this actor may open (others are not shown)."""
    found: dict[str, Any] = {}
    for m in matches:
        for lead_id in m.lead_ids[:per_match]:
            if lead_id in found:
                continue
            try:
                found[lead_id] = ws.lead(actor, lead_id)
            except (NotFound, Forbidden):
                continue
    return found


def _cases_of(ws: Workspace, actor: Actor, complaint_id: str) -> list[Case]:
    """The cases this complaint is linked to that the actor may open (by case number); a case of another
    jurisdiction is left out without a trace, as it would be "not found" on its own page."""
    if not allowed(actor, perm.CASES_VIEW):
        return []
    cases = [c for c in ws.people.cases_of_complaint(complaint_id) if allowed(actor, perm.CASES_VIEW, case_place(c))]
    return sorted(cases, key=lambda c: (c.number, c.id or 0))


# -- pages ----------------------------------------------------------------------------------------
@pages.get("/complaints")
def complaints_page(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    q: str = "",
    platform: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI's declaration style
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    matched: str = "",
    after: str = "",
) -> HTMLResponse:
    query = _query(q, platform, status, matched, PAGE_SIZE, after)
    result = ws.complaint_search(me.actor, query)
    base = {"q": q, "platform": query.platforms, "status": query.statuses, "matched": matched}
    return render(
        request,
        "complaints.html",
        me,
        result=result,
        q=q,
        platforms=query.platforms,
        statuses=query.statuses,
        matched=matched,
        wired=ws.complaints is not None,
        next_url="/complaints?" + urlencode({**base, "after": result.next_cursor}, doseq=True)
        if result.next_cursor
        else "",
        first_url="/complaints?" + urlencode(base, doseq=True) if after else "",
    )


def _detail(
    request: Request, ws: WorkspaceDep, me: CurrentDep, complaint_id: str, personal: PersonalData | None = None
) -> HTMLResponse:
    complaint, matches = ws.complaint(me.actor, complaint_id)
    return render(
        request,
        "complaint.html",
        me,
        c=complaint,
        matches=matches,
        leads=_leads_of(ws, me.actor, matches),
        cases=_cases_of(ws, me.actor, complaint.complaint_id),
        personal=personal,
        may_view_personal=allowed(me.actor, perm.COMPLAINTS_VIEW_PERSONAL_DATA, complaint)
        and bool(complaint.pii_kinds),
        PII_KIND=PII_KIND_ZH,
    )


@pages.get("/complaints/{complaint_id}")
def complaint_page(request: Request, ws: WorkspaceDep, me: CurrentDep, complaint_id: str) -> HTMLResponse:
    return _detail(request, ws, me, complaint_id)


@pages.post("/complaints/{complaint_id}/personal-data")
def complaint_personal_page(
    request: Request, ws: WorkspaceDep, me: CurrentDep, complaint_id: str, purpose: Annotated[str, Form()] = ""
) -> HTMLResponse:
    """The detail page with the personal data shown once (never on a GET, so no link, history entry or
    cache holds it: every response carries Cache-Control: no-store)."""
    personal = ws.complaint_personal_data(me.actor, complaint_id, purpose, source=me.source)
    return _detail(request, ws, me, complaint_id, personal)


# -- JSON -----------------------------------------------------------------------------------------
class ComplaintOut(BaseModel):
    complaint: Complaint = Field(description="the masked record")
    matches: list[ComplaintMatch]


class CaseRefOut(BaseModel):
    id: int
    number: str = Field(description="案件编号")
    title: str
    status: str = Field(description="filed, investigating, penalty, no_penalty or closed")


class ComplaintDetailOut(ComplaintOut):
    cases: list[CaseRefOut] = Field(description="the cases it is linked to that the caller may open")


class ComplaintsOut(BaseModel):
    total: int
    complaints: list[ComplaintOut]
    facets: dict[str, dict[str, int]]
    next_cursor: str | None = Field(None, description="pass as `after` for the next page")


class PurposeIn(BaseModel):
    purpose: str = Field(description="why the personal data is needed (recorded in the audit trail)")


@api.get("/complaints", response_model=ComplaintsOut)
def list_complaints(
    ws: WorkspaceDep,
    me: CurrentDep,
    q: str = "",
    platform: Annotated[list[str], Query()] = [],  # noqa: B006
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    matched: Annotated[str, Query(description="yes: linked to a known seller; no: not linked")] = "",
    size: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    after: str = "",
) -> ComplaintsOut:
    result = ws.complaint_search(me.actor, _query(q, platform, status, matched, size, after))
    return ComplaintsOut(
        total=result.total,
        complaints=[
            ComplaintOut(complaint=c, matches=result.matches.get(c.complaint_id, [])) for c in result.complaints
        ],
        facets=result.facets,
        next_cursor=result.next_cursor,
    )


@api.get("/complaints/{complaint_id}", response_model=ComplaintDetailOut)
def get_complaint(ws: WorkspaceDep, me: CurrentDep, complaint_id: str) -> ComplaintDetailOut:
    complaint, matches = ws.complaint(me.actor, complaint_id)
    cases = [
        CaseRefOut(id=c.id or 0, number=c.number, title=c.title, status=c.status.value)
        for c in _cases_of(ws, me.actor, complaint.complaint_id)
    ]
    return ComplaintDetailOut(complaint=complaint, matches=matches, cases=cases)


@api.post("/complaints/{complaint_id}/personal-data", response_model=PersonalData)
def complaint_personal_data(ws: WorkspaceDep, me: CurrentDep, complaint_id: str, body: PurposeIn) -> PersonalData:
    return ws.complaint_personal_data(me.actor, complaint_id, body.purpose, source=me.source)
