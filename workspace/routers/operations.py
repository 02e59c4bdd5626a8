"""The operators' pages: crawl targets, schedules, jobs (with their errors and log), alerts, and the crawl
targets complaints suggest — the workspace face of `sweep targets|schedule|jobs`.

Everything is under /ops (the workspace's /jobs/… pages are the bulk-change progress pages, another
thing). Each route asks `sweep.permissions.allowed` (operations.view to read, operations.manage to
change; officers, supervisors, analysts and auditors get 403), every change is a CSRF-checked POST
(the `current` dependency) and is written to the hash-chained audit log before the page answers (a
removal before it is made; an addition or a launch once it has its id — the operations tables and the
audit chain are separate transactions). Crawled text (job logs, error messages) is only ever rendered
through Jinja's autoescaping.

The stores come from the composition root: `app.state.operations` holds an `OperationsWiring` (the
operations store, a way to open the frontier's bus, the topic). Without it the pages say the
operations store is not configured.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import pass_context
from jinja2.runtime import Context

from operations import suggestions as suggested
from operations import takedown
from operations.jobs import cancel as cancel_job
from operations.jobs import launch
from operations.schedules import next_fire, validate_cron
from operations.takedown import OUTCOME_ZH
from spiders.frontier import spider_class
from sweep import permissions as perm
from sweep.audit import AuditEvent
from sweep.bus.base import Bus
from sweep.permissions import allowed
from sweep.store.operations import (
    DEFAULT_TIMEZONE,
    JobState,
    OperationsStore,
    Schedule,
    TakedownCheck,
    Target,
    TargetExistsError,
)
from sweep.store.operations import Trigger as JobTrigger
from workspace.deps import Current, CurrentDep, WorkspaceDep
from workspace.routers.pages import render
from workspace.service import Forbidden, Invalid, NotFound, Workspace

router = APIRouter(include_in_schema=False, prefix="/ops")
api = APIRouter(prefix="/api/v1", tags=["v1"])

STATE_ZH = {"queued": "排队中", "running": "运行中", "finished": "已完成", "failed": "失败", "cancelled": "已取消"}
TRIGGER_ZH = {"schedule": "定时", "person": "人工", "complaint": "投诉", "takedown": "下架复查"}
ALERT_ZH = {"failed": "任务失败", "empty": "结果为空"}
MAX_FIELD = 2000
"""Longest form value taken (a target's list of URLs or keywords); longer input is refused."""


def install(app: FastAPI) -> None:
    """Add the /ops pages, and the template function the `_takedown.html` partial of the lead and case
    pages calls (the lead and case routes need not know about takedown checks)."""
    app.include_router(router)
    app.include_router(api)
    app.state.templates.env.globals.update(takedown_checks=_takedown_checks, TAKEDOWN_ZH=OUTCOME_ZH)


@pass_context
def _takedown_checks(context: Context, lead_ids: list[str]) -> dict[str, list[TakedownCheck]]:
    """Takedown checks of leads the page already shows (the page's own route checked who may see them)."""
    request = context.get("request")
    wired = getattr(request.app.state, "operations", None) if request is not None else None
    if wired is None or not lead_ids:
        return {}
    return wired.store.takedown_checks(list(lead_ids)[:500], per_lead=5)


@dataclass
class OperationsWiring:
    """What the operators' pages need, opened by the composition root."""

    store: OperationsStore
    open_bus: Callable[[], Bus]
    """Opens the frontier's bus for one launch (closed after it)."""
    topic: str
    """The frontier topic (`settings.topics.crawl_requests`)."""


def _wiring(request: Request) -> OperationsWiring:
    wired = getattr(request.app.state, "operations", None)
    if wired is None:
        raise Invalid("采集运维未配置（操作存储未接入）")
    return wired


def _need(me: Current, action: str) -> None:
    if not allowed(me.actor, action):
        raise Forbidden(action)


def _audit(ws: Workspace, me: Current, action: str, rtype: str, rid: str, **kw: Any) -> None:
    """Written before the change is reported done; a failure to record refuses the page."""
    ws.people.record(
        AuditEvent(
            actor=me.actor.username,
            role=str(me.actor.role),
            action=action,
            resource_type=rtype,
            resource_id=rid,
            source=me.source,
            **kw,
        )
    )


def _lines(value: str) -> list[str]:
    """A textarea or comma list: one value a line (or comma separated), blanks dropped, order kept."""
    if len(value) > MAX_FIELD:
        raise Invalid(f"输入过长（最多 {MAX_FIELD} 个字符）")
    parts = [p.strip() for line in value.replace("，", ",").splitlines() for p in line.split(",")]
    return list(dict.fromkeys(p for p in parts if p))


def _target(store: OperationsStore, target_id: int) -> Target:
    found = store.get_target(target_id)
    if found is None:
        raise NotFound(str(target_id))
    return found


def _schedule(store: OperationsStore, schedule_id: int) -> Schedule:
    found = store.get_schedule(schedule_id)
    if found is None:
        raise NotFound(str(schedule_id))
    return found


def _launch(wired: OperationsWiring, target: Target, me: Current, *, schedule_id: int | None = None) -> str:
    bus = wired.open_bus()
    try:
        job = launch(
            wired.store,
            bus,
            wired.topic,
            target,
            trigger=JobTrigger.PERSON,
            requested_by=me.actor.username,
            schedule_id=schedule_id,
        )
    finally:
        bus.close()
    return job.id


def _page(request: Request, name: str, me: Current, **context: Any) -> HTMLResponse:
    return render(request, name, me, STATE_ZH=STATE_ZH, TRIGGER_ZH=TRIGGER_ZH, ALERT_ZH=ALERT_ZH, **context)


# -- targets --------------------------------------------------------------------------------------
@router.get("")
def ops_home(me: CurrentDep) -> Response:
    _need(me, perm.OPERATIONS_VIEW)
    return RedirectResponse("/ops/jobs", status_code=303)


@router.get("/targets")
def targets_page(request: Request, me: CurrentDep, error: str = "") -> HTMLResponse:
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    targets = store.list_targets()
    schedules: dict[int, list[Schedule]] = {}
    for s in store.list_schedules():
        schedules.setdefault(s.target_id, []).append(s)
    return _page(request, "ops_targets.html", me, targets=targets, schedules=schedules, error=error[:200])


@router.post("/targets")
def target_add(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    name: Annotated[str, Form()] = "",
    base_url: Annotated[str, Form()] = "",
    spider: Annotated[str, Form()] = suggested.DEFAULT_SPIDER,
    categories: Annotated[str, Form()] = "",
    keywords: Annotated[str, Form()] = "",
    shops: Annotated[str, Form()] = "",
    listings: Annotated[str, Form()] = "",
    start_urls: Annotated[str, Form()] = "",
) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    store = _wiring(request).store
    name, base_url, spider = name.strip()[:128], base_url.strip().rstrip("/"), spider.strip()[:64]
    if not name:
        raise Invalid("请填写目标名称")
    if not base_url.startswith(("http://", "https://")) or len(base_url) > 500:
        raise Invalid("站点地址须以 http:// 或 https:// 开头")
    try:
        spider_class(spider)
    except KeyError:
        raise Invalid(f"没有名为 {spider} 的爬虫") from None
    target = Target(
        name=name,
        spider=spider,
        base_url=base_url,
        start_urls=[u for u in _lines(start_urls) if u.startswith(("http://", "https://"))],
        categories=_lines(categories),
        keywords=_lines(keywords),
        shops=_lines(shops),
        listings=_lines(listings),
    )
    try:
        store.add_target(target)
    except TargetExistsError:
        raise Invalid(f"已有名为 {name} 的采集目标") from None
    _audit(ws, me, "ops.target.add", "crawl_target", str(target.id), detail=name, after=_spec(target))
    return RedirectResponse("/ops/targets", status_code=303)


def _spec(t: Target) -> str:
    doc = {
        "name": t.name,
        "spider": t.spider,
        "base_url": t.base_url,
        "start_urls": t.start_urls,
        "categories": t.categories,
        "keywords": t.keywords,
        "shops": t.shops,
        "listings": t.listings,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


@router.post("/targets/{target_id}/remove")
def target_remove(request: Request, ws: WorkspaceDep, me: CurrentDep, target_id: int) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    store = _wiring(request).store
    target = _target(store, target_id)
    _audit(ws, me, "ops.target.remove", "crawl_target", str(target_id), detail=target.name, before=_spec(target))
    store.remove_target(target_id)
    return RedirectResponse("/ops/targets", status_code=303)


@router.post("/targets/{target_id}/run")
def target_run(request: Request, ws: WorkspaceDep, me: CurrentDep, target_id: int) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    wired = _wiring(request)
    target = _target(wired.store, target_id)
    job_id = _launch(wired, target, me)
    _audit(ws, me, "ops.job.start", "crawl_job", job_id, detail=target.name)
    return RedirectResponse(f"/ops/jobs/{job_id}", status_code=303)


# -- schedules ------------------------------------------------------------------------------------
@router.get("/schedules")
def schedules_page(request: Request, me: CurrentDep) -> HTMLResponse:
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    targets = {t.id: t for t in store.list_targets()}
    now = datetime.now(UTC)
    rows = [
        (s, targets.get(s.target_id), None if s.paused else next_fire(s, max(now, s.last_fire or now)))
        for s in store.list_schedules()
    ]
    return _page(request, "ops_schedules.html", me, rows=rows, targets=list(targets.values()), tz=DEFAULT_TIMEZONE)


@router.post("/schedules")
def schedule_add(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    target_id: Annotated[int, Form()],
    cron: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = DEFAULT_TIMEZONE,
) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    store = _wiring(request).store
    target = _target(store, target_id)
    cron, timezone = " ".join(cron.split())[:128], timezone.strip()[:64] or DEFAULT_TIMEZONE
    try:
        validate_cron(cron, timezone)
    except (ValueError, KeyError):
        raise Invalid(f"无效的定时表达式或时区：{cron} {timezone}（五段：分 时 日 月 周）") from None
    schedule = store.add_schedule(Schedule(target_id=target_id, cron=cron, timezone=timezone))
    _audit(ws, me, "ops.schedule.add", "crawl_schedule", str(schedule.id), detail=f"{target.name}: {cron} {timezone}")
    return RedirectResponse("/ops/schedules", status_code=303)


@router.post("/schedules/{schedule_id}/{verb}")
def schedule_change(request: Request, ws: WorkspaceDep, me: CurrentDep, schedule_id: int, verb: str) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    wired = _wiring(request)
    schedule = _schedule(wired.store, schedule_id)
    if verb in ("pause", "resume"):
        wired.store.set_paused(schedule_id, verb == "pause")
        _audit(ws, me, f"ops.schedule.{verb}", "crawl_schedule", str(schedule_id))
        return RedirectResponse("/ops/schedules", status_code=303)
    if verb == "run":
        target = _target(wired.store, schedule.target_id)
        job_id = _launch(wired, target, me, schedule_id=schedule_id)
        _audit(ws, me, "ops.job.start", "crawl_job", job_id, detail=f"{target.name} (schedule {schedule_id})")
        return RedirectResponse(f"/ops/jobs/{job_id}", status_code=303)
    raise NotFound(verb)


# -- jobs and alerts ------------------------------------------------------------------------------
@router.get("/jobs")
def jobs_page(request: Request, me: CurrentDep, state: str = "", target: str = "") -> HTMLResponse:
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    chosen = JobState(state) if state in STATE_ZH else None
    target_row = store.get_target(target) if target else None
    jobs = store.list_jobs(target_id=target_row.id if target_row else None, state=chosen, limit=100)
    return _page(
        request,
        "ops_jobs.html",
        me,
        jobs=jobs,
        alerts=store.list_alerts(limit=20),
        state=state if chosen else "",
        target=target_row,
    )


@router.get("/jobs/{job_id}")
def job_page(request: Request, me: CurrentDep, job_id: str) -> HTMLResponse:
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    job = store.get_job(job_id[:40])
    if job is None:
        raise NotFound(job_id)
    log = store.job_log(job.id, limit=500)
    return _page(
        request,
        "ops_job.html",
        me,
        job=job,
        errors=sorted(job.stats.errors.items(), key=lambda kv: (-kv[1], kv[0])),
        problems=[line for line in log if line.level not in ("INFO", "DEBUG")],
        log=log,
        pending=store.pending_count(job.id),
        alerts=[a for a in store.list_alerts(limit=200) if a.job_id == job.id],
    )


@router.post("/jobs/{job_id}/cancel")
def job_cancel(request: Request, ws: WorkspaceDep, me: CurrentDep, job_id: str) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    store = _wiring(request).store
    if store.get_job(job_id[:40]) is None:
        raise NotFound(job_id)
    if cancel_job(store, job_id):
        _audit(ws, me, "ops.job.cancel", "crawl_job", job_id)
    return RedirectResponse(f"/ops/jobs/{job_id}", status_code=303)


# -- crawl targets suggested by complaints --------------------------------------------------------
@router.get("/suggestions")
def suggestions_page(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    found = suggested.suggestions(ws.complaints) if ws.complaints is not None else []
    accepted = {t.settings.get("complaint_id") for t in store.list_targets() if t.settings.get("complaint_id")}
    return _page(
        request,
        "ops_suggestions.html",
        me,
        suggestions=found,
        accepted=accepted,
        wired=ws.complaints is not None,
    )


@router.post("/suggestions/accept")
def suggestion_accept(
    request: Request,
    ws: WorkspaceDep,
    me: CurrentDep,
    complaint_id: Annotated[str, Form()],
    base_url: Annotated[str, Form()] = "",
    spider: Annotated[str, Form()] = suggested.DEFAULT_SPIDER,
    run_now: Annotated[str, Form()] = "",
) -> Response:
    """One action: the complaint's shop becomes a target (and, when asked, its first run starts)."""
    _need(me, perm.OPERATIONS_MANAGE)
    wired = _wiring(request)
    if ws.complaints is None:
        raise Invalid("尚未导入投诉记录")
    try:
        spider_class(spider.strip()[:64])
        target = suggested.accept(
            wired.store, ws.complaints, complaint_id, spider=spider.strip()[:64], base_url=base_url.strip() or None
        )
    except KeyError:
        raise Invalid(f"没有名为 {spider} 的爬虫") from None
    except (suggested.SuggestionError, TargetExistsError) as exc:
        raise Invalid(f"无法采纳：{exc}") from None
    _audit(ws, me, "ops.suggestion.accept", "crawl_target", str(target.id), detail=complaint_id, after=_spec(target))
    if run_now:
        bus = wired.open_bus()
        try:
            job = suggested.launch_first_run(wired.store, bus, wired.topic, target, requested_by=me.actor.username)
        finally:
            bus.close()
        _audit(ws, me, "ops.job.start", "crawl_job", job.id, detail=f"{target.name} (complaint {complaint_id})")
        return RedirectResponse(f"/ops/jobs/{job.id}", status_code=303)
    return RedirectResponse("/ops/targets", status_code=303)


# -- takedown rechecks ----------------------------------------------------------------------------
MAX_RECHECK_PER_CLICK = 100
"""A recheck started from the page runs in the request: bounded, so the page answers in reasonable
time; `sweep takedown watch` does the rest."""


def _takedown_jobs(store: OperationsStore) -> list[Any]:
    return [j for j in store.list_jobs(limit=200) if j.trigger == JobTrigger.TAKEDOWN][:30]


@router.get("/takedown")
def takedown_page(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    """How many confirmed listings are due for a recheck (a count: operators see no lead records), and
    the recheck jobs so far with their outcome counts."""
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    after = timedelta(hours=ws.settings.ops_takedown_recheck_after_hours)
    due = takedown.due_leads(ws.store, ws.people, store, now=datetime.now(UTC), after=after)
    return _page(
        request,
        "ops_takedown.html",
        me,
        due=len(due),
        after_hours=after.total_seconds() / 3600,
        jobs=_takedown_jobs(store),
    )


@router.post("/takedown/run")
def takedown_run(request: Request, ws: WorkspaceDep, me: CurrentDep) -> Response:
    _need(me, perm.OPERATIONS_MANAGE)
    store = _wiring(request).store
    after = timedelta(hours=ws.settings.ops_takedown_recheck_after_hours)
    due = takedown.due_leads(ws.store, ws.people, store, now=datetime.now(UTC), after=after)
    if not due:
        raise Invalid("目前没有到期需要复查的线索")
    report = takedown.recheck(store, due[:MAX_RECHECK_PER_CLICK], people=ws.people, requested_by=me.actor.username)
    _audit(
        ws,
        me,
        "ops.takedown.recheck",
        "crawl_job",
        report.job_id,
        detail=", ".join(f"{k}={v}" for k, v in report.summary.items()),
    )
    return RedirectResponse(f"/ops/jobs/{report.job_id}", status_code=303)


# -- JSON (read-only; changes go through the pages or the CLI) ----------------------------------------
def _job_json(job: Any) -> dict[str, Any]:
    doc = asdict(job)
    doc["trigger"], doc["state"] = str(job.trigger), str(job.state)
    doc["duration_s"] = job.duration_s
    return doc


def _check_json(c: TakedownCheck) -> dict[str, Any]:
    doc = asdict(c)
    doc["outcome"] = str(c.outcome)
    return doc


@api.get("/ops/jobs")
def api_jobs(request: Request, me: CurrentDep, state: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """Crawl and recheck jobs, newest first, with their stats (operators and admins)."""
    _need(me, perm.OPERATIONS_VIEW)
    chosen = JobState(state) if state in STATE_ZH else None
    jobs = _wiring(request).store.list_jobs(state=chosen, limit=max(1, min(limit, 500)))
    return [_job_json(j) for j in jobs]


@api.get("/ops/jobs/{job_id}")
def api_job(request: Request, me: CurrentDep, job_id: str) -> dict[str, Any]:
    """One job, its pending requests and the start of its log."""
    _need(me, perm.OPERATIONS_VIEW)
    store = _wiring(request).store
    job = store.get_job(job_id[:40])
    if job is None:
        raise NotFound(job_id)
    log = store.job_log(job.id, limit=200)
    return _job_json(job) | {
        "pending_requests": store.pending_count(job.id),
        "log": [{"at": x.at, "level": x.level, "message": x.message} for x in log],
    }


@api.get("/ops/alerts")
def api_alerts(request: Request, me: CurrentDep, limit: int = 50) -> list[dict[str, Any]]:
    _need(me, perm.OPERATIONS_VIEW)
    return [asdict(a) for a in _wiring(request).store.list_alerts(limit=max(1, min(limit, 500)))]


@api.get("/leads/{lead_id}/takedown")
def api_lead_takedown(request: Request, ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> list[dict[str, Any]]:
    """A lead's takedown rechecks, newest first (whoever may open the lead)."""
    ws.lead(me.actor, lead_id)
    checks = _wiring(request).store.takedown_checks([lead_id]).get(lead_id, [])
    return [_check_json(c) for c in checks]
