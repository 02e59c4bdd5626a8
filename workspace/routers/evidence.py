"""Evidence bundles from the workspace: the same zip as `sweep evidence export`, on a lead and a case.

    GET /leads/{lead_id}/evidence.zip    actor allowed `leads.export` on the lead's region
    GET /cases/{case_id}/evidence.zip    actor allowed `cases.view` on the case's jurisdiction
    GET /leads/{lead_id}/evidence        what is captured (an htmx fragment of the lead page)
    GET /cases/{case_id}/evidence        the same for a case's listings

Permission is `sweep.permissions.allowed` through the workspace service (`ws.lead`, `ws.case`: a record
outside the actor's jurisdiction is "not found"); every download and every refused one is recorded in
the audit log before any byte leaves. The bundle is built into a temporary file and streamed from it.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, StreamingResponse

from evidence.bundle import NoEvidenceError, Subject, export
from evidence.store import EvidenceStore
from evidence.subjects import case_subject, lead_subject
from sweep import permissions as perm
from sweep.audit import AuditEvent
from workspace.deps import Current, CurrentDep, WorkspaceDep
from workspace.service import Forbidden, NotFound, Workspace

router = APIRouter(include_in_schema=False)
CHUNK = 1 << 16


def _chunks(fh: IO[bytes]) -> Iterator[bytes]:
    try:
        fh.seek(0)
        while block := fh.read(CHUNK):
            yield block
    finally:
        fh.close()


def _download(ws: Workspace, me: Current, subject: Subject, kind: str, filename: str) -> StreamingResponse:
    fh = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response's generator once streamed)
    try:
        doc = export(EvidenceStore(ws.settings.evidence_path), subject, fh, exported_by=me.actor.username)
    except NoEvidenceError as exc:
        fh.close()
        raise NotFound(f"{subject.id}: 尚无取证记录") from exc
    ws.people.record(_event(me, kind, subject.id, detail=f"{len(doc['captures'])} captures, {len(doc['files'])} files"))
    return StreamingResponse(
        _chunks(fh),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _event(me: Current, kind: str, rid: str, *, allowed: bool = True, detail: str = "") -> AuditEvent:
    return AuditEvent(
        actor=me.actor.username,
        role=str(me.actor.role),
        action="evidence.export",
        resource_type=kind,
        resource_id=rid,
        allowed=allowed,
        detail=detail,
        source=me.source,
    )


def _refused(ws: Workspace, me: Current, kind: str, rid: str) -> None:
    ws.people.record(_event(me, kind, rid, allowed=False))


def _state(ws: Workspace, listings: list[tuple[str, str]]) -> HTMLResponse:
    """How many captures, the latest capture time and how many screenshots: read from the manifests
    only (numbers and the crawler's times, escaped all the same)."""
    store = EvidenceStore(ws.settings.evidence_path)
    captures = [m for key in listings for _, m in store.manifests(*key)]
    if not captures:
        return HTMLResponse('<span class="muted" id="evidence-none">尚无取证记录（该商品页面未被采集）</span>')
    latest = max((m["captured_at"] for m in captures), key=datetime.fromisoformat)
    shots = sum(1 for m in captures for r in m["records"] if r["kind"] == "screenshot")
    text = f"已取证 {len(captures)} 次，最近一次 {latest}；整页截图 {shots} 张"
    return HTMLResponse(f'<span id="evidence-count">{html.escape(text)}</span>')


@router.get("/leads/{lead_id}/evidence")
def lead_evidence_state(ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> HTMLResponse:
    lead = ws.lead(me.actor, lead_id)
    return _state(ws, [(lead.platform, lead.listing_id)])


@router.get("/cases/{case_id}/evidence")
def case_evidence_state(ws: WorkspaceDep, me: CurrentDep, case_id: int) -> HTMLResponse:
    case = ws.case(me.actor, case_id)
    return _state(ws, case_subject(ws.people, ws.store, case).listings)


@router.get("/leads/{lead_id}/evidence.zip")
def lead_evidence(ws: WorkspaceDep, me: CurrentDep, lead_id: str) -> StreamingResponse:
    try:
        lead = ws.lead(me.actor, lead_id, perm.LEADS_EXPORT)
    except (Forbidden, NotFound):
        _refused(ws, me, "lead", lead_id[:64])
        raise
    subject, _ = lead_subject(ws.store, lead.lead_id)
    return _download(ws, me, subject, "lead", f"evidence-{lead.lead_id}.zip")


@router.get("/cases/{case_id}/evidence.zip")
def case_evidence(ws: WorkspaceDep, me: CurrentDep, case_id: int) -> StreamingResponse:
    try:
        case = ws.case(me.actor, case_id)
    except (Forbidden, NotFound):
        _refused(ws, me, "case", str(case_id))
        raise
    subject = case_subject(ws.people, ws.store, case)
    return _download(ws, me, subject, "case", f"evidence-case-{case.number or case.id}.zip")
