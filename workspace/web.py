"""The workspace as one FastAPI application: Chinese pages under /, JSON under /api/v1.

`build_app(workspace)` is called by the composition root (`app.web.create_app`), which opens the
stores. Responses carry a strict Content-Security-Policy (scripts and styles only from /static, no
inline script, no plugins, no framing): a listing's text that slipped past escaping still could not
run. Errors map to pages or JSON by path: NotFound 404 (also for records outside the jurisdiction),
Forbidden 403, VersionConflict 409 with who changed the record and when, Invalid 400.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from sweep import regions as divisions
from sweep.casework import (
    CASE_STATUS_LABELS_ZH,
    DISMISSAL_REASONS_ZH,
    DISMISSAL_SCOPE_LABELS_ZH,
    VersionConflict,
)
from sweep.models import FAMILY_LABELS_ZH, TRIAGE_LABELS_ZH
from sweep.people import ROLE_LABELS_ZH
from workspace import view
from workspace.deps import LoginRequired
from workspace.service import Forbidden, Invalid, NotFound, Workspace

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
BEIJING = ZoneInfo("Asia/Shanghai")
"""Times are stored in UTC and shown in Beijing time, as staff read them."""


def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(HERE / "templates"))
    t.env.globals.update(
        FAMILY=FAMILY_LABELS_ZH,
        STATUS=TRIAGE_LABELS_ZH,
        SEVERITY=SEVERITY_ZH,
        ROLES=ROLE_LABELS_ZH,
        CASE_STATUS=CASE_STATUS_LABELS_ZH,
        REASONS=DISMISSAL_REASONS_ZH,
        SCOPES=DISMISSAL_SCOPE_LABELS_ZH,
        region_label=divisions.label,
        safe_url=view.safe_url,
        marked=view.marked,
        safe_fragment=view.safe_fragment,
    )
    t.env.filters["when"] = lambda d: d.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if d else ""
    t.env.filters["day"] = lambda d: d.astimezone(BEIJING).strftime("%Y-%m-%d") if d else ""
    return t


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def build_app(workspace: Workspace) -> FastAPI:
    app = FastAPI(
        title="sweep 执法工作台 API",
        version="1",
        description=(
            "Leads, decisions, dismissal memory, cases and the audit trail. Authenticate with "
            "`Authorization: Bearer <token>` (`sweep users token NAME`); a browser session works too, "
            "with the `X-CSRF-Token` header on every change."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.workspace = workspace
    app.state.templates = templates()
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = DOCS_CSP if request.url.path == "/api/v1/docs" else CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/v1/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="sweep API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    def page_error(request: Request, status: int, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return app.state.templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message, "me": None}, status_code=status
        )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse(
                {"detail": "需要登录或 API 令牌"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return RedirectResponse("/login?next=" + request.url.path, status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, _exc: NotFound) -> Response:
        return page_error(request, 404, "没有这条记录，或它不在您的辖区内")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Forbidden) -> Response:
        return page_error(request, 403, "您的角色无权执行此操作")

    @app.exception_handler(Invalid)
    async def invalid(request: Request, exc: Invalid) -> Response:
        return page_error(request, 400, str(exc))

    @app.exception_handler(VersionConflict)
    async def conflict(request: Request, exc: VersionConflict) -> Response:
        who = exc.by or "其他用户"
        when = exc.at.strftime("%H:%M:%S") if exc.at else "刚才"
        message = (
            f"保存失败：{who} 已于 {when} 修改了这条记录（您看到的是旧版本）。您的修改没有保存，请刷新查看后再操作。"
        )
        return page_error(request, 409, message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or exc.status_code in (401, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return page_error(request, exc.status_code, str(exc.detail))

    from workspace.routers import api, complaints, evidence, metrics, operations, pages, reports

    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(complaints.pages)
    app.include_router(complaints.api)
    operations.install(app)
    app.include_router(evidence.router)
    app.include_router(metrics.router)
    app.include_router(reports.router)
    return app
