"""The JSON API under /api/v1 (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Same operations and checks as the pages (`workspace.service`); authenticate with an API token
(`Authorization: Bearer …`) or a browser session plus `X-CSRF-Token` on changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sweep import permissions as perm
from sweep.casework import Attachment, Case, Job
from sweep.models import Lead
from sweep.permissions import allowed
from workspace import view
from workspace.deps import CurrentDep, WorkspaceDep
from workspace.routers.pages import UploadLimit, attachment_response
from workspace.service import QueueParams

router = APIRouter(prefix="/api/v1", tags=["v1"])


class LeadOut(BaseModel):
    lead: Lead
    version: int = Field(description="send it back with a change: a change to an older version is refused (409)")
    priority: float


class SearchOut(BaseModel):
    total: int
    leads: list[LeadOut]
    facets: dict[str, dict[str, int]]
    highlights: dict[str, dict[str, list[str]]]
    next_cursor: str | None = Field(None, description="pass as `after` for the next page")


class StatusIn(BaseModel):
    status: Literal["new", "triaged", "confirmed", "dismissed", "referred"]
    version: int
    note: str | None = None


class AssignIn(BaseModel):
    assignee: str
    version: int


class DismissIn(BaseModel):
    reason: Literal["false_positive", "lawful_seller", "duplicate", "out_of_jurisdiction"]
    scope: Literal["listing", "shop", "shop_rule"]
    version: int
    until: datetime | None = None
    note: str = ""


class BulkIn(BaseModel):
    action: Literal["assign", "status", "dismiss", "case"]
    lead_ids: list[str] = Field(default_factory=list, description="a selection; or leave empty and give `query`")
    query: str | None = Field(None, description="a queue query string (q=…&family=…): every lead it returns")
    status: str | None = None
    assignee: str | None = None
    reason: str | None = None
    case_id: int | Literal["new"] | None = Field(None, description='for "case": a case id, or "new" for a new case')
    wait: bool = Field(False, description="run to the end before answering")


class CaseIn(BaseModel):
    lead_ids: list[str]
    title: str = ""
    owner: str | None = None
    due_date: datetime | None = None


class CaseUpdateIn(BaseModel):
    version: int
    status: str | None = None
    owner: str | None = None
    due_date: datetime | None = None
    title: str | None = None


class MeOut(BaseModel):
    username: str
    role: str
    jurisdiction: str
    can: list[str]


@router.get("/me", response_model=MeOut)
def me_(me: CurrentDep) -> MeOut:
    return MeOut(
        username=me.user.username,
        role=me.user.role,
        jurisdiction=me.user.jurisdiction,
        can=[a for a in perm.ACTIONS if allowed(me.actor, a)],
    )


@router.get("/leads", response_model=SearchOut)
def search_leads(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    q: str = Query("", description="the search language of `sweep.query`"),
    family: list[str] = Query(default_factory=list),  # noqa: B008 - FastAPI's declaration style
    severity: list[str] = Query(default_factory=list),  # noqa: B008
    status: list[str] = Query(default_factory=list),  # noqa: B008
    platform: list[str] = Query(default_factory=list),  # noqa: B008
    region: list[str] = Query(default_factory=list),  # noqa: B008
    shop: str = "",
    sort: Literal["priority", "recent"] = "priority",
    size: int = Query(50, ge=1, le=200),
    after: str = "",
) -> SearchOut:
    params: QueueParams = view.params_from(request.query_params, request.query_params.getlist)
    result = ws.search(me.actor, params)
    versions = ws.people.decisions([lead.lead_id for lead in result.leads])
    return SearchOut(
        total=result.total,
        leads=[
            LeadOut(
                lead=lead,
                version=versions[lead.lead_id].version if lead.lead_id in versions else 0,
                priority=ws.score(lead),
            )
            for lead in result.leads
        ],
        facets=result.facets,
        highlights={
            k: {f: [str(view.safe_fragment(x)) for x in v] for f, v in h.items()} for k, h in result.highlights.items()
        },
        next_cursor=view.encode_cursor(result.next_cursor) or None,
    )


@router.get("/leads/{lead_id}", response_model=LeadOut)
def get_lead(ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> LeadOut:
    lead = ws.lead(me.actor, lead_id)
    return LeadOut(lead=lead, version=ws.version(lead_id), priority=ws.score(lead))


@router.get("/leads/{lead_id}/history")
def lead_history(ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> list[dict[str, Any]]:
    ws.lead(me.actor, lead_id)
    return [_record(r) for r in ws.history(lead_id)]


@router.post("/leads/{lead_id}/status", response_model=LeadOut)
def set_status(ws: WorkspaceDep, me: CurrentDep, lead_id: str, body: StatusIn) -> LeadOut:
    lead = ws.change(me.actor, lead_id, version=body.version, source=me.source, status=body.status, note=body.note)
    return LeadOut(lead=lead, version=ws.version(lead_id), priority=ws.score(lead))


@router.post("/leads/{lead_id}/assign", response_model=LeadOut)
def assign(ws: WorkspaceDep, me: CurrentDep, lead_id: str, body: AssignIn) -> LeadOut:
    lead = ws.change(
        me.actor, lead_id, version=body.version, source=me.source, assignee=body.assignee, action="lead.assign"
    )
    return LeadOut(lead=lead, version=ws.version(lead_id), priority=ws.score(lead))


@router.post("/leads/{lead_id}/dismiss")
def dismiss(ws: WorkspaceDep, me: CurrentDep, lead_id: str, body: DismissIn) -> dict[str, Any]:
    lead, memory = ws.dismiss(
        me.actor,
        lead_id,
        version=body.version,
        source=me.source,
        reason=body.reason,
        scope=body.scope,
        until=body.until,
        note=body.note,
    )
    return {"lead": lead.model_dump(mode="json"), "version": ws.version(lead_id), "dismissal_id": memory.id}


@router.post("/bulk", response_model=None)
def bulk(ws: WorkspaceDep, me: CurrentDep, body: BulkIn) -> dict[str, Any]:
    params = None
    if body.query is not None:
        from starlette.datastructures import QueryParams

        qp = QueryParams(body.query)
        params = view.params_from(qp, qp.getlist)
        params.cursor = None
    elif not body.lead_ids:
        raise HTTPException(status_code=400, detail="give lead_ids or query")
    job = ws.bulk_start(
        me.actor,
        source=me.source,
        action=body.action,
        params=params,
        lead_ids=body.lead_ids,
        status=body.status,
        assignee=body.assignee,
        reason=body.reason,
        case_id=body.case_id,
        background=not body.wait,
    )
    return _job(ws.people.get_job(job.id) or job)


@router.get("/bulk/count")
def bulk_count(request: Request, ws: WorkspaceDep, me: CurrentDep) -> dict[str, int]:
    """How many leads a bulk action over this query would touch (shown before it runs)."""
    params = view.params_from(request.query_params, request.query_params.getlist)
    params.cursor = None
    return {"count": ws.bulk_count(me.actor, params)}


@router.get("/jobs/{job_id}")
def job(ws: WorkspaceDep, me: CurrentDep, job_id: str) -> dict[str, Any]:
    found = ws.people.get_job(job_id)
    if found is None or (found.owner != me.user.username and not allowed(me.actor, perm.AUDIT_VIEW)):
        raise HTTPException(status_code=404, detail="no such job")
    return _job(found)


@router.get("/cases")
def list_cases(ws: WorkspaceDep, me: CurrentDep) -> list[dict[str, Any]]:
    return [_case(c) for c in ws.cases(me.actor)]


@router.post("/cases")
def create_case(ws: WorkspaceDep, me: CurrentDep, body: CaseIn) -> dict[str, Any]:
    return _case(
        ws.create_case(
            me.actor, body.lead_ids, source=me.source, title=body.title, owner=body.owner, due_date=body.due_date
        )
    )


@router.get("/cases/{case_id}")
def get_case(ws: WorkspaceDep, me: CurrentDep, case_id: int) -> dict[str, Any]:
    return _case(ws.case(me.actor, case_id))


@router.post("/cases/{case_id}")
def update_case(ws: WorkspaceDep, me: CurrentDep, case_id: int, body: CaseUpdateIn) -> dict[str, Any]:
    return _case(
        ws.update_case(
            me.actor,
            case_id,
            version=body.version,
            source=me.source,
            status=body.status,
            owner=body.owner,
            due_date=body.due_date,
            title=body.title,
        )
    )


@router.get("/cases/{case_id}/attachments")
def list_attachments(ws: WorkspaceDep, me: CurrentDep, case_id: int) -> list[dict[str, Any]]:
    return [_attachment(a) for a in ws.case_attachments(me.actor, case_id)]


@router.post("/cases/{case_id}/attachments")
async def upload_attachment(
    request: Request, _limit: UploadLimit, ws: WorkspaceDep, me: CurrentDep, case_id: int
) -> dict[str, Any]:
    """Multipart upload, field `file`; larger than `attachment_max_mb` is refused (413) unread."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise HTTPException(status_code=400, detail="multipart field `file` is missing")
    data = await upload.read(ws.settings.attachment_max_mb * 1024 * 1024 + 1)
    return _attachment(ws.attach(me.actor, case_id, upload.filename or "", data, source=me.source))


@router.get("/cases/{case_id}/attachments/{attachment_id}", response_class=Response)
def download_attachment(ws: WorkspaceDep, me: CurrentDep, case_id: int, attachment_id: int) -> Response:
    found, data = ws.attachment(me.actor, case_id, attachment_id, source=me.source)
    return attachment_response(found.filename, found.content_type, data)


class ComplaintLinkIn(BaseModel):
    complaint_ids: list[str]
    unlink: bool = False


@router.post("/cases/{case_id}/complaints")
def link_complaints(ws: WorkspaceDep, me: CurrentDep, case_id: int, body: ComplaintLinkIn) -> dict[str, Any]:
    ws.link_complaints(me.actor, case_id, body.complaint_ids, source=me.source, unlink=body.unlink)
    return _case(ws.case(me.actor, case_id))


@router.get("/audit")
def audit(
    ws: WorkspaceDep,
    me: CurrentDep,
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
    text: str | None = None,
    before: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    records = ws.audit_records(
        me.actor, actor=actor, action=action, resource_id=resource, text=text, before_seq=before, limit=limit
    )
    return [_record(r) for r in records]


def _record(r: Any) -> dict[str, Any]:
    e = r.event
    return {
        "seq": r.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "role": e.role,
        "action": e.action,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "allowed": e.allowed,
        "detail": e.detail,
        "before": e.before,
        "after": e.after,
        "source": e.source,
        "hash": r.hash,
    }


def _job(j: Job) -> dict[str, Any]:
    return {
        "id": j.id,
        "kind": j.kind,
        "total": j.total,
        "done": j.done,
        "failed": j.failed,
        "state": j.state,
        "message": j.message,
    }


def _case(c: Case) -> dict[str, Any]:
    return {
        "id": c.id,
        "number": c.number,
        "title": c.title,
        "owner": c.owner,
        "region": c.region,
        "status": c.status.value,
        "due_date": c.due_date.date().isoformat() if c.due_date else None,
        "version": c.version,
        "lead_ids": c.lead_ids,
        "merged_into": c.merged_into,
        "notes": [{"author": n.author, "at": n.at.isoformat(), "text": n.text} for n in c.notes],
        "complaint_ids": c.complaint_ids,
    }


def _attachment(a: Attachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "uploaded_by": a.uploaded_by,
        "uploaded_at": a.uploaded_at.isoformat(),
    }
