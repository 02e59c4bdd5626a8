"""The dashboard (/dashboard) and report downloads (/dashboard/report): the figures of `reports`,
always for the viewer's own jurisdiction (never a region asked for in the URL), over a date range.

Every chart is drawn from the same `reports.tables.Table` that sits under it as an HTML table (one
click away, in a <details>), so a chart never shows a number the page does not also print. The chart
data travels as a JSON <script type="application/json"> block (Jinja's `tojson`: <, > and & escaped),
read by /static/echarts-dashboard.js; no inline script runs (the CSP forbids it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from reports import figures as fig
from reports import render as report_render
from reports import scheduled
from reports.tables import Table, tables
from sweep import permissions as perm
from sweep.people import Actor, Role
from sweep.permissions import allowed
from sweep.store.base import REPORT_UTC_OFFSET_HOURS
from workspace.deps import CurrentDep, WorkspaceDep
from workspace.routers.metrics import health_of
from workspace.routers.pages import render
from workspace.service import Forbidden, Invalid, NotFound, Workspace

router = APIRouter()
DEFAULT_DAYS = 7
MAX_DAYS = 366
FILES_SHOWN = 60
"""Scheduled report files listed on the dashboard (newest first)."""
CHARTS: dict[str, dict[str, Any]] = {
    "leads_per_day": {"stack": True},
    "queue": {"stack": True},
    "complaints_per_day": {"line": True},
    "complaint_status": {},
    "top_shops_leads": {"horizontal": True},
    "top_complained": {"horizontal": True, "label_column": 1},
    "by_region": {"horizontal": True},
    "crawl": {},
}
"""Tables drawn as charts, and how (the rest — summary, funnel, cases — are tables and figures)."""
MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def scope_of(actor: Actor) -> fig.Scope:
    """The viewer's jurisdiction: nationwide for admins (they read every masked record), else the first
    of their regions as the queue has it. A jurisdiction that names no known region sees nothing."""
    if actor.role is Role.admin:
        return fig.Scope()
    try:
        return fig.Scope.of(actor)
    except ValueError:
        raise Forbidden(perm.LEADS_VIEW) from None


def period_of(start: str | None, end: str | None) -> fig.Period:
    today = (datetime.now(UTC) + timedelta(hours=REPORT_UTC_OFFSET_HOURS)).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
        period = fig.Period(first, last)
    except ValueError:
        raise Invalid("日期格式应为 YYYY-MM-DD，且开始不晚于结束") from None
    if period.days > MAX_DAYS:
        raise Invalid(f"时间范围最长 {MAX_DAYS} 天")
    return period


def figures_for(request: Request, ws: Workspace, actor: Actor, kind: fig.Kind, period: fig.Period) -> fig.Figures:
    if not allowed(actor, perm.LEADS_VIEW):
        raise Forbidden(perm.LEADS_VIEW)
    scope = scope_of(actor)
    wiring: Any = getattr(request.app.state, "operations", None)
    crawl_visible = scope.national  # crawl jobs belong to no region: only nationwide viewers see them
    return fig.compute(
        kind,
        period,
        scope,
        leads=ws.store,
        complaints=ws.complaints if allowed(actor, perm.COMPLAINTS_VIEW) else None,
        people=ws.people if allowed(actor, perm.CASES_VIEW) else None,
        operations=wiring.store if wiring is not None and crawl_visible else None,
    )


def chart(table: Table, how: dict[str, Any]) -> dict[str, Any]:
    """An ECharts-neutral description: categories and one series per numeric column (totals left out)."""
    label = how.get("label_column", 0)
    columns = [
        i
        for i, header in enumerate(table.headers)
        if i != label and header != "合计" and table.rows and all(isinstance(r[i], int) for r in table.rows)
    ]
    return {
        "title": table.title,
        "categories": [str(r[label]) for r in table.rows],
        "series": [{"name": table.headers[i], "data": [r[i] for r in table.rows]} for i in columns],
        "stack": bool(how.get("stack")),
        "line": bool(how.get("line")),
        "horizontal": bool(how.get("horizontal")),
    }


@router.get("/dashboard")
def dashboard(
    request: Request, ws: WorkspaceDep, me: CurrentDep, start: str | None = None, end: str | None = None
) -> HTMLResponse:
    period = period_of(request.query_params.get("from", start), request.query_params.get("to", end))
    f = figures_for(request, ws, me.actor, "daily", period)
    listed = tables(f)
    if not f.scope.national:
        listed = [t for t in listed if t.key != "crawl"]
    charts = {t.key: chart(t, CHARTS[t.key]) for t in listed if t.key in CHARTS and t.rows}
    files = scheduled.list_files(ws.settings.data_dir / scheduled.FOLDER, f.scope)[:FILES_SHOWN]
    return render(request, "dashboard.html", me, figures=f, tables=listed, charts=charts, rate=fig.rate, files=files)


@router.get("/dashboard/files/{name}")
def report_file(request: Request, ws: WorkspaceDep, me: CurrentDep, name: str) -> Response:
    """A scheduled report of the viewer's jurisdiction; any other name is "not found" (the name is
    looked up among the listed files, never joined to a path as given)."""
    if not allowed(me.actor, perm.LEADS_VIEW):
        raise Forbidden(perm.LEADS_VIEW)
    folder = ws.settings.data_dir / scheduled.FOLDER
    found = next((f for f in scheduled.list_files(folder, scope_of(me.actor)) if f.name == name), None)
    if found is None:
        raise NotFound(name)
    body = (folder / found.name).read_bytes()
    return Response(
        body, media_type=MEDIA[found.fmt], headers={"Content-Disposition": f'attachment; filename="{found.name}"'}
    )


@router.get("/dashboard/report")
def report_download(
    request: Request, ws: WorkspaceDep, me: CurrentDep, kind: str = "daily", format: str = "html"
) -> Response:
    if kind not in fig.KIND_TITLES_ZH or format not in MEDIA:
        raise Invalid("报告类型或格式不对")
    period = period_of(request.query_params.get("from"), request.query_params.get("to"))
    f = figures_for(request, ws, me.actor, kind, period)  # type: ignore[arg-type]
    printer = None
    if format == "pdf":
        from workspace.exports import html_to_pdf

        printer = lambda page: html_to_pdf(page, ws.settings.chromium)  # noqa: E731
    body = report_render.render(f, format, printer=printer)  # type: ignore[arg-type]
    name = f"report-{kind}-{f.scope.code}-{period.start.isoformat()}-{period.end.isoformat()}.{format}"
    # always a download: the report's own <style> would be refused by the workspace's CSP in a tab
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/dashboard/health")
def health_page(request: Request, ws: WorkspaceDep, me: CurrentDep) -> HTMLResponse:
    """Operator health on a page (what `sweep status` prints): for those who run the system."""
    if not allowed(me.actor, perm.OPERATIONS_VIEW):
        raise Forbidden(perm.OPERATIONS_VIEW)
    health = health_of(request, ws)
    problems = []
    if health.bus_error:
        problems.append("消息总线不可读")
    if health.search_error or health.search.get("status") == "red":
        problems.append("搜索集群不可用")
    if any(health.dead_letters.values()):
        problems.append("死信队列有待处理消息")
    if health.jobs_failed_recent:
        problems.append(f"24 小时内有 {health.jobs_failed_recent} 个采集任务失败")
    return render(request, "report_health.html", me, health=health, problems=problems)
