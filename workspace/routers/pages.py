"""The pages enforcement staff use (server-rendered Chinese HTML; htmx for the few partial updates)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from sweep import permissions as perm
from sweep import regions as divisions
from sweep.casework import CASE_TRANSITIONS
from sweep.permissions import allowed
from workspace import auth, csrf, exports, view
from workspace.deps import Current, CurrentDep, WorkspaceDep, client_source
from workspace.service import (
    WORKFLOW,
    Forbidden,
    Invalid,
    NotFound,
    QueueParams,
    Workspace,
    jurisdiction,
    listing_versions,
    online_state,
)

router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, me: Current | None, status: int = 200, **context: Any) -> HTMLResponse:
    context |= {"me": me, "csrf": me.csrf_token if me else "", "can": (lambda a: allowed(me.actor, a)) if me else None}
    if me is not None:
        context.setdefault("manages_users", request.app.state.workspace.may_manage_users(me.actor))
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(f"日期格式应为 YYYY-MM-DD：{value}") from None


def _next(value: str | None) -> str:
    """Only local paths after login (no open redirect)."""
    return value if value and value.startswith("/") and not value.startswith("//") and "\\" not in value else "/leads"


# -- login --------------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request, next: str = "/leads", error: str = "") -> HTMLResponse:
    token = csrf.new_token()
    response = render(request, "login.html", None, login_csrf=token, next=_next(next), error=error)
    response.set_cookie(
        csrf.LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/login"
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    ws: WorkspaceDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/leads",
) -> Response:
    if not csrf.same(csrf_token, request.cookies.get(csrf.LOGIN_COOKIE)):
        raise HTTPException(status_code=403, detail="CSRF 校验失败：请刷新登录页后重试")
    result = auth.login(ws.people, ws.settings, username.strip()[:64], password, client_source(request))
    if result.session_token is None:
        token = csrf.new_token()
        response = render(
            request, "login.html", None, status=401, login_csrf=token, next=_next(next), error=result.error
        )
        response.set_cookie(
            csrf.LOGIN_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/login",
        )
        return response
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        result.session_token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=ws.settings.session_max_hours * 3600,
        path="/",
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(ws: WorkspaceDep, me: CurrentDep) -> Response:
    if me.session is not None:
        ws.people.delete_session(
            me.session.token_hash,
            ws._event(me.actor, "auth.logout", "user", me.user.username, me.source),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/leads", status_code=303)


# -- the queue ----------------------------------------------------------------------------------
def queue_params(request: Request) -> QueueParams:
    return view.params_from(request.query_params, request.query_params.getlist)


@router.get("/leads")
def queue(request: Request, ws: WorkspaceDep, me: CurrentDep, mine: int = 0) -> Response:
    if not allowed(me.actor, perm.LEADS_VIEW) and allowed(me.actor, perm.OPERATIONS_VIEW):
        return RedirectResponse("/ops/jobs", status_code=303)  # an operator's start page (and after login)
    params = queue_params(request)
    if mine:
        total, ids = ws.people.assigned_to(me.user.username, limit=200)
        leads = []
        for lead_id in ids:
            try:
                leads.append(ws.lead(me.actor, lead_id))
            except (NotFound, Forbidden):  # a lead gone or out of reach is skipped
                continue
        result = None
        rows = leads
        facets: dict = {}
        highlights: dict = {}
        next_cursor = None
    else:
        result = ws.search(me.actor, params)
        total, rows, facets, highlights = result.total, result.leads, result.facets, result.highlights
        next_cursor = view.encode_cursor(result.next_cursor)
    versions = ws.people.decisions([lead.lead_id for lead in rows])
    return render(
        request,
        "queue.html",
        me,
        params=params,
        total=total,
        leads=rows,
        facets=facets,
        highlights=highlights,
        scores={lead.lead_id: ws.score(lead) for lead in rows},
        versions={k: v.version for k, v in versions.items()},
        next_cursor=next_cursor,
        qs=lambda **kw: view.query_string(params, **kw),
        mine=mine,
        users=[u.username for u in ws.people.list_users() if u.active],
        open_cases=ws.open_cases(me.actor) if allowed(me.actor, perm.CASES_EDIT) else [],
        saved=ws.people.saved_searches(me.user.username),
        jurisdiction=jurisdiction(me.actor),
        query_string=request.url.query,
    )


@router.post("/searches")
def save_search(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    name: Annotated[str, Form()],
    query: Annotated[str, Form()] = "",
    shared: Annotated[bool, Form()] = False,
) -> Response:
    from sweep.casework import SavedSearch

    if not name.strip():
        raise Invalid("请为搜索命名")
    ws.people.save_search(
        SavedSearch(owner=me.user.username, name=name.strip()[:128], query=query[:2000], shared=shared),
        ws._event(me.actor, "search.save", "search", name.strip()[:128], me.source, after=query[:500]),
    )
    return RedirectResponse("/leads?" + query, status_code=303)


# -- one lead -----------------------------------------------------------------------------------
@router.get("/leads/{lead_id}")
def lead_page(request: Request, ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> HTMLResponse:
    lead = ws.lead(me.actor, lead_id)
    return render(
        request,
        "lead.html",
        me,
        lead=lead,
        version=ws.version(lead_id),
        score=ws.score(lead),
        history=ws.history(lead_id),
        same_shop=ws.same_shop(me.actor, lead),
        same_company=ws.same_company(me.actor, lead),
        versions=listing_versions(lead),
        online=online_state(lead),
        complaints=ws.complaints_of_lead(me.actor, lead),
        cases=ws.people.cases_of_lead(lead_id),
        users=[u.username for u in ws.people.list_users() if u.active],
        region_code=divisions.code_for(lead.listing.region),
        workflow=WORKFLOW,
        can_triage=allowed(me.actor, perm.LEADS_TRIAGE, lead.listing),
    )


@router.post("/leads/{lead_id}/status")
def lead_status(
    ws: WorkspaceDep,
    me: CurrentDep,
    lead_id: str,
    status: Annotated[str, Form()],
    version: Annotated[int, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    ws.change(me.actor, lead_id, version=version, source=me.source, status=status, note=note.strip() or None)
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


@router.post("/leads/{lead_id}/assign")
def lead_assign(
    ws: WorkspaceDep, me: CurrentDep, lead_id: str, assignee: Annotated[str, Form()], version: Annotated[int, Form()]
) -> Response:
    ws.change(me.actor, lead_id, version=version, source=me.source, assignee=assignee.strip(), action="lead.assign")
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


@router.post("/leads/{lead_id}/dismiss")
def lead_dismiss(
    ws: WorkspaceDep,
    me: CurrentDep,
    lead_id: str,
    reason: Annotated[str, Form()],
    scope: Annotated[str, Form()],
    version: Annotated[int, Form()],
    until: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    ws.dismiss(
        me.actor,
        lead_id,
        version=version,
        source=me.source,
        reason=reason,
        scope=scope,
        until=_date(until),
        note=note.strip()[:500],
    )
    return RedirectResponse(f"/leads/{lead_id}", status_code=303)


# -- bulk ---------------------------------------------------------------------------------------
def _bulk_target(form: dict[str, Any], request: Request) -> tuple[QueueParams | None, list[str]]:
    if form.get("target") == "search":
        query = form.get("query", "")
        from starlette.datastructures import QueryParams

        qp = QueryParams(query)
        params = view.params_from(qp, qp.getlist)
        params.cursor = None
        return params, []
    return None, [i for i in form.get("lead_ids", []) if i][:1000]


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    out: dict[str, Any] = {k: form.get(k) for k in form}
    out["lead_ids"] = form.getlist("lead_ids")
    return out


@router.post("/bulk/preview")
async def bulk_preview(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    form = await _form(request)
    params, ids = _bulk_target(form, request)
    count = ws.bulk_count(me.actor, params, ids)
    case = None
    if form.get("action") == "case" and str(form.get("case_id") or "").isdigit():
        case = ws.case(me.actor, int(form["case_id"]))
    return render(request, "bulk_preview.html", me, count=count, form=form, ids=ids, case=case)


@router.post("/bulk/run")
async def bulk_run(request: Request, ws: WorkspaceDep, me: CurrentDep) -> Response:
    form = await _form(request)
    params, ids = _bulk_target(form, request)
    job = ws.bulk_start(
        me.actor,
        source=me.source,
        action=str(form.get("action", "")),
        params=params,
        lead_ids=ids,
        status=form.get("status") or None,
        assignee=form.get("assignee") or None,
        reason=form.get("reason") or None,
        case_id=form.get("case_id") or None,
    )
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_page(request: Request, ws: WorkspaceDep, me: CurrentDep, job_id: str, partial: int = 0) -> HTMLResponse:
    job = ws.people.get_job(job_id)
    if job is None or (job.owner != me.user.username and not allowed(me.actor, perm.AUDIT_VIEW)):
        raise HTTPException(status_code=404, detail="没有这个任务")
    return render(request, "job_progress.html" if partial else "job.html", me, job=job, job_case=_job_case(job))


def _job_case(job: Any) -> tuple[int, str] | None:
    """(id, number) of the case a bulk "add to case" job links to (kept in the job's message)."""
    if job.kind != "bulk.case" or not job.message.startswith("case:"):
        return None
    _, case_id, number = job.message.split(":", 2)
    return (int(case_id), number) if case_id.isdigit() else None


# -- dismissal memory ---------------------------------------------------------------------------
@router.get("/dismissals")
def dismissals_page(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    if not allowed(me.actor, perm.LEADS_VIEW):
        raise Forbidden(perm.LEADS_VIEW)
    from workspace.service import Place

    rows = [d for d in ws.people.dismissals() if allowed(me.actor, perm.LEADS_VIEW, Place(d.region))]
    return render(request, "dismissals.html", me, rows=rows, now=datetime.now(UTC))


# -- cases --------------------------------------------------------------------------------------
@router.get("/cases")
def cases_page(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    return render(request, "cases.html", me, cases=ws.cases(me.actor))


@router.post("/cases")
async def case_create(request: Request, ws: WorkspaceDep, me: CurrentDep) -> Response:
    form = await _form(request)
    case = ws.create_case(
        me.actor,
        form["lead_ids"],
        source=me.source,
        title=str(form.get("title") or ""),
        owner=str(form.get("owner") or "") or None,
        due_date=_date(form.get("due_date")),
    )
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


def _case_context(ws: Workspace, me: Current, case_id: int) -> dict[str, Any]:
    case = ws.case(me.actor, case_id)
    found = ws.store.get_many(case.lead_ids)  # one round trip, not one per lead (a bulk case holds thousands)
    leads = [found[lead_id] for lead_id in case.lead_ids if lead_id in found]
    complaints, hidden = ws.case_complaints(me.actor, case)
    return {
        "case": case,
        "leads": leads,
        "attachments": ws.case_attachments(me.actor, case_id),
        "case_complaints": complaints,
        "hidden_complaints": hidden,
        "max_mb": ws.settings.attachment_max_mb,
        "history": ws.people.audit_search(resource_id=str(case_id), action="case", limit=200),
        "transitions": CASE_TRANSITIONS[case.status.value],
        "users": [u.username for u in ws.people.list_users() if u.active],
        "others": [c for c in ws.cases(me.actor) if c.id != case.id],
    }


@router.get("/cases/{case_id}")
def case_page(request: Request, ws: WorkspaceDep, me: CurrentDep, case_id: int) -> HTMLResponse:
    return render(request, "case.html", me, **_case_context(ws, me, case_id))


@router.post("/cases/{case_id}/update")
def case_update(
    ws: WorkspaceDep,
    me: CurrentDep,
    case_id: int,
    version: Annotated[int, Form()],
    status: Annotated[str, Form()] = "",
    owner: Annotated[str, Form()] = "",
    due_date: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    ws.update_case(
        me.actor,
        case_id,
        version=version,
        source=me.source,
        status=status or None,
        owner=owner or None,
        due_date=_date(due_date),
        title=title.strip() or None,
    )
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/note")
def case_note(ws: WorkspaceDep, me: CurrentDep, case_id: int, text: Annotated[str, Form()]) -> Response:
    ws.add_case_note(me.actor, case_id, text, source=me.source)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/link")
async def case_link(request: Request, ws: WorkspaceDep, me: CurrentDep, case_id: int) -> Response:
    form = await _form(request)
    ids = form["lead_ids"] or [i.strip() for i in str(form.get("lead_id_list") or "").split() if i.strip()]
    ws.link_leads(me.actor, case_id, ids, source=me.source, unlink=form.get("unlink") == "1")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def upload_limit(request: Request, ws: WorkspaceDep) -> None:
    """Refuse an upload larger than the limit before its body is read (a dependency listed ahead of the
    session and CSRF check, which parses the form): by its Content-Length, which must be given."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(status_code=411, detail="上传须注明长度（Content-Length）")
    if int(length) > ws.settings.attachment_max_mb * 1024 * 1024 + 64 * 1024:
        raise HTTPException(status_code=413, detail=f"附件不能超过 {ws.settings.attachment_max_mb} MB")


UploadLimit = Annotated[None, Depends(upload_limit)]


@router.post("/cases/{case_id}/attachments")
async def case_attach(
    request: Request, _limit: UploadLimit, ws: WorkspaceDep, me: CurrentDep, case_id: int
) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise Invalid("请选择要上传的文件")
    data = await upload.read(ws.settings.attachment_max_mb * 1024 * 1024 + 1)
    ws.attach(me.actor, case_id, upload.filename or "", data, source=me.source)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def case_attachment(ws: WorkspaceDep, me: CurrentDep, case_id: int, attachment_id: int) -> Response:
    found, data = ws.attachment(me.actor, case_id, attachment_id, source=me.source)
    return attachment_response(found.filename, found.content_type, data)


def attachment_response(filename: str, content_type: str, data: bytes) -> Response:
    """A download, never a page: `attachment` disposition and the sniffed type (text, markup included,
    stays text/plain); every response also carries nosniff and a CSP without scripts from elsewhere."""
    fallback = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "_" for ch in filename) or "file"
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(
        data,
        media_type=content_type,
        headers={"Content-Disposition": disposition},
    )


@router.post("/cases/{case_id}/complaints")
async def case_complaints(request: Request, ws: WorkspaceDep, me: CurrentDep, case_id: int) -> Response:
    form = await _form(request)
    ids = str(form.get("complaint_id_list") or form.get("complaint_id") or "").split()
    ws.link_complaints(me.actor, case_id, ids, source=me.source, unlink=form.get("unlink") == "1")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/merge")
def case_merge(ws: WorkspaceDep, me: CurrentDep, case_id: int, other: Annotated[int, Form()]) -> Response:
    ws.merge_cases(me.actor, case_id, other, source=me.source)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/split")
async def case_split(request: Request, ws: WorkspaceDep, me: CurrentDep, case_id: int) -> Response:
    form = await _form(request)
    new = ws.split_case(me.actor, case_id, form["lead_ids"], source=me.source)
    return RedirectResponse(f"/cases/{new.id}", status_code=303)


@router.get("/cases/{case_id}/export.xlsx")
def case_xlsx(ws: WorkspaceDep, me: CurrentDep, case_id: int) -> Response:
    context = _case_context(ws, me, case_id)
    case = context["case"]
    body = exports.leads_xlsx(me.actor, context["leads"], title=f"案件{case.number}")
    ws.record_export(me.actor, "case", len(context["leads"]), me.source, f"case {case.number} xlsx")
    return _download(
        body, f"case-{case.number}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


@router.get("/cases/{case_id}/export.pdf")
def case_pdf(request: Request, ws: WorkspaceDep, me: CurrentDep, case_id: int) -> Response:
    context = _case_context(ws, me, case_id)
    case = context["case"]
    html = render(request, "case_print.html", me, printed_at=datetime.now(UTC), **context).body.decode()
    body = exports.html_to_pdf(html, ws.settings.chromium)
    ws.record_export(me.actor, "case", len(context["leads"]), me.source, f"case {case.number} pdf")
    return _download(body, f"case-{case.number}.pdf", "application/pdf")


def _download(body: bytes, filename: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- accounts -----------------------------------------------------------------------------------
@router.get("/users")
def users_page(request: Request, ws: WorkspaceDep, me: CurrentDep, error: str = "") -> HTMLResponse:
    from sweep.people import Role

    accounts = ws.users(me.actor)
    roles = [r.value for r in Role if ws.may_manage(me.actor, r.value, jurisdiction(me.actor))]
    return render(
        request,
        "users.html",
        me,
        accounts=accounts,
        manageable={u.username for u in accounts if ws.may_manage(me.actor, u.role, u.jurisdiction)}
        - {me.user.username},
        roles=roles,
        default_region=jurisdiction(me.actor),
        now=datetime.now(UTC),
    )


@router.post("/users")
def users_add(
    ws: WorkspaceDep,
    me: CurrentDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()],
    region: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
) -> Response:
    ws.add_account(
        me.actor,
        username=username,
        password=password,
        role=role,
        region=region,
        display_name=display_name,
        source=me.source,
    )
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/active")
def users_active(ws: WorkspaceDep, me: CurrentDep, username: str, active: Annotated[str, Form()]) -> Response:
    ws.set_account_active(me.actor, username, active == "1", source=me.source)
    return RedirectResponse("/users", status_code=303)


# -- exports of the current search --------------------------------------------------------------
@router.get("/export/leads.{fmt}")
def export_leads(request: Request, ws: WorkspaceDep, me: CurrentDep, fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        raise HTTPException(status_code=404, detail="只支持 csv 与 xlsx")
    if not allowed(me.actor, perm.LEADS_EXPORT):
        raise Forbidden(perm.LEADS_EXPORT)
    params = queue_params(request)
    params.cursor = None
    ws.maintain()
    leads = [
        lead for lead in ws._all(ws.query_for(me.actor, params)) if allowed(me.actor, perm.LEADS_VIEW, lead.listing)
    ]
    ws.record_export(me.actor, "leads", len(leads), me.source, f"{fmt} {request.url.query[:300]}")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        return StreamingResponse(
            exports.leads_csv(me.actor, leads),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'},
        )
    return _download(
        exports.leads_xlsx(me.actor, leads),
        f"leads-{stamp}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# -- the audit trail ----------------------------------------------------------------------------
def _audit_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "actor": q.get("actor") or None,
        "action": q.get("action") or None,
        "resource_id": q.get("resource") or None,
        "text": q.get("text") or None,
        "since": _date(q.get("since")),
    }


@router.get("/audit")
def audit_page(request: Request, ws: WorkspaceDep, me: CurrentDep, before: int | None = None) -> HTMLResponse:
    if not allowed(me.actor, perm.AUDIT_VIEW):
        raise Forbidden(perm.AUDIT_VIEW)
    filters = _audit_filters(request)
    raw = ws.people.audit_search(**filters, before_seq=before, limit=100)
    keep = ws.audit_filter(me.actor)
    records = [r for r in raw if keep(r)]
    more = (
        urlencode({**{k: v for k, v in request.query_params.items() if k != "before"}, "before": raw[-1].seq})
        if len(raw) == 100
        else ""
    )
    return render(
        request,
        "audit.html",
        me,
        records=records,
        filters=request.query_params,
        more=more,
        export_query=urlencode({k: v for k, v in request.query_params.items() if k != "before"}),
    )


@router.get("/audit/export.{fmt}")
def audit_export(request: Request, ws: WorkspaceDep, me: CurrentDep, fmt: str) -> Response:
    if fmt not in ("csv", "jsonl"):
        raise HTTPException(status_code=404, detail="只支持 csv 与 jsonl")
    if not allowed(me.actor, perm.AUDIT_EXPORT):
        raise Forbidden(perm.AUDIT_EXPORT)
    filters = _audit_filters(request)
    keep = ws.audit_filter(me.actor)
    if any(filters.values()):
        records = [r for r in reversed(ws.people.audit_search(**filters, limit=100_000)) if keep(r)]
    else:
        records = [r for r in ws.people.audit_records() if keep(r)]
    ws.record_export(me.actor, "audit", len(records), me.source, fmt)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        body, media = exports.audit_csv(records), "text/csv; charset=utf-8"
    else:
        body, media = exports.audit_jsonl(records), "application/x-ndjson; charset=utf-8"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"'}
    )
