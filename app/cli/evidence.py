"""`sweep evidence`: verify the evidence store, export a lead's or a case's bundle, prune old captures.

    sweep evidence verify                       every hash, chain and seal; exit 1 naming each bad file
    sweep evidence seal                         fix every chain's head; its hash goes into the audit log
    sweep evidence export LEAD_ID|CASE_ID -o FILE.zip [--user U --role R --region 540100]
    sweep evidence prune [--days N] [--dry-run] never a capture of a lead in a case

The terminal has no login: the exporting actor is named with `--user/--role/--region` (default: the
shell user as an officer, nationwide), checked with `sweep.permissions.allowed` against the lead's
region or the case's jurisdiction, and every export (and every refusal) is recorded in the audit log.
File names and crawled text are printed cleaned (`sweep.text.safe_text`).
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated

import typer

from sweep.people import NATIONWIDE, Actor, Role
from sweep.text import safe_text

if TYPE_CHECKING:  # the CLI starts fast: capability modules load when a command runs
    from evidence.store import EvidenceStore

app = typer.Typer(help="证据 — captured pages (WARC, screenshots, custody manifests): verify, export, prune.")


def _store(evidence_dir: Path | None = None) -> EvidenceStore:
    from evidence.store import EvidenceStore
    from sweep.settings import get_settings

    return EvidenceStore(evidence_dir or get_settings().evidence_path)


DirOpt = Annotated[Path | None, typer.Option("--evidence-dir", help="default: the evidence_dir setting")]


@app.command("verify")
def verify(evidence_dir: DirOpt = None) -> None:
    """Recompute the SHA-256 of every WARC file and payload and follow every listing's manifest chain.
    Exit 1 listing each altered or missing file."""
    from adapters import open_audit_log
    from evidence.seal import AUDIT_ACTION, verify_seals
    from evidence.verify import verify as verify_store

    store = _store(evidence_dir)
    checked, problems = verify_store(store.root)
    audited = {r.event.resource_id for r in open_audit_log().query(action=AUDIT_ACTION, limit=1_000_000)}
    problems += verify_seals(store.root, audited)
    for path, what in problems:
        typer.echo(f"FAILED {safe_text(path, limit=None)}: {safe_text(what, limit=None)}")
    if problems:
        typer.echo(f"evidence NOT verified: {len(problems)} problem(s) in {checked} manifests")
        raise typer.Exit(1)
    typer.echo(f"evidence OK: {checked} manifests, every hash and chain verified ({store.root})")


@app.command("seal")
def seal(evidence_dir: DirOpt = None) -> None:
    """Seal the newest manifest of every chain and record the seal's SHA-256 in the audit log, so that
    no sealed manifest can be rewritten unnoticed (run it daily, or after each crawl)."""
    from adapters import open_audit_log
    from evidence.seal import AUDIT_ACTION, write_seal
    from sweep.audit import AuditEvent

    store = _store(evidence_dir)
    path, digest, chains = write_seal(store)
    open_audit_log().record(
        AuditEvent(
            actor=os.environ.get("SWEEP_USER") or getpass.getuser(),
            role="system",
            action=AUDIT_ACTION,
            resource_type="evidence",
            resource_id=digest,
            detail=f"{chains} chains; {path.relative_to(store.root)}",
            source="cli",
        )
    )
    typer.echo(f"sealed {chains} chains: {safe_text(str(path), limit=None)} sha256 {digest} (in the audit log)")


@app.command("export")
def export(
    ref: Annotated[str, typer.Argument(metavar="LEAD_ID|CASE_ID", help="a lead id, a case number or case id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the bundle (.zip) to write")],
    user: Annotated[str | None, typer.Option("--user", help="who exports (default: $SWEEP_USER or the login)")] = None,
    role: Annotated[Role, typer.Option("--role", help="role of the exporter")] = Role.officer,
    region: Annotated[list[str] | None, typer.Option("--region", help="jurisdiction (repeatable)")] = None,
    evidence_dir: DirOpt = None,
) -> None:
    """Write the evidence bundle of a lead or a case: WARC files, screenshots, manifest.json, 取证说明
    and the listing as text."""
    from adapters import open_lead_store
    from adapters.people import open_people_store
    from evidence.bundle import NoEvidenceError
    from evidence.bundle import export as export_bundle
    from evidence.subjects import LEAD_ID, UnknownSubjectError, case_subject, find_case, lead_subject
    from sweep import permissions
    from sweep.audit import AuditEvent
    from workspace.service import case_place

    actor = Actor(user or os.environ.get("SWEEP_USER") or getpass.getuser(), role, tuple(region or (NATIONWIDE,)))
    leads = open_lead_store()
    people = open_people_store()
    try:
        if LEAD_ID.match(ref):
            try:
                subject, lead = lead_subject(leads, ref)
            except UnknownSubjectError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(2) from exc
            action, resource, kind = permissions.LEADS_EXPORT, SimpleNamespace(region=lead.listing.region), "lead"
        else:
            case = find_case(people, ref)
            if case is None:
                typer.echo(f"no lead or case {safe_text(ref)}", err=True)
                raise typer.Exit(2)
            subject = case_subject(people, leads, case)
            action, resource, kind = permissions.CASES_VIEW, case_place(case), "case"
        ok = permissions.allowed(actor, action, resource)
        event = AuditEvent(
            actor=actor.username,
            role=actor.role.value,
            action="evidence.export",
            resource_type=kind,
            resource_id=subject.id,
            allowed=ok,
            detail=f"-> {output.name}",
            source="cli",
        )
        people.record(event)  # before the file exists: an export without its record never happens
        if not ok:
            typer.echo(f"{actor.username} ({actor.role.value}) may not export the evidence of {kind} {subject.id}")
            raise typer.Exit(3)
        try:
            doc = export_bundle(_store(evidence_dir), subject, output, exported_by=actor.username)
        except NoEvidenceError as exc:
            typer.echo(safe_text(str(exc), limit=None), err=True)
            raise typer.Exit(1) from exc
    finally:
        people.close()
        leads.close()
    typer.echo(
        f"{safe_text(str(output), limit=None)}: {len(doc['captures'])} capture(s) of {kind} {safe_text(subject.id)}"
        + (f"; no capture of {', '.join(doc['missing'])}" if doc["missing"] else "")
    )


@app.command("prune")
def prune(
    days: Annotated[int | None, typer.Option("--days", help="default: evidence_retention_days")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would go, delete nothing")] = False,
    evidence_dir: DirOpt = None,
) -> None:
    """Delete captures older than the retention period, except every capture of a listing whose lead is
    in a case (the people's store), and the latest capture of every listing."""
    from adapters.people import open_people_store
    from evidence.retention import prune as prune_store
    from evidence.store import now_local
    from evidence.subjects import protected_lead_ids
    from sweep.settings import get_settings

    keep_days = days if days is not None else get_settings().evidence_retention_days
    people = open_people_store()
    try:
        protected = protected_lead_ids(people)
    finally:
        people.close()
    report = prune_store(
        _store(evidence_dir), before=now_local() - timedelta(days=keep_days), protected_leads=protected, dry_run=dry_run
    )
    verb = "would prune" if dry_run else "pruned"
    typer.echo(
        f"{verb} {report.manifests_pruned} capture(s), {report.warcs_deleted} WARC file(s), "
        f"{report.bytes_freed} bytes; {report.kept_in_case} listing(s) kept whole (lead in a case)"
    )


@app.command("screenshot")
def screenshot(
    lead_id: Annotated[str, typer.Argument(metavar="LEAD_ID", help="the lead whose listing page to photograph")],
    evidence_dir: DirOpt = None,
) -> None:
    """Photograph a static page on demand: the latest captured response of the lead's listing, rendered
    in Chromium offline (nothing fetched now), stored as a new capture in the listing's chain that names
    the capture it rendered."""
    import hashlib

    from adapters import open_lead_store
    from evidence.screenshot import Screenshotter
    from evidence.store import now_local
    from evidence.subjects import UnknownSubjectError, lead_subject
    from evidence.warc import CapturedPage
    from spiders.browser import CHROMIUM_ARGS, configured_chromium, require_chromium

    leads = open_lead_store()
    try:
        try:
            subject, lead = lead_subject(leads, lead_id)
        except UnknownSubjectError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
    finally:
        leads.close()
    store = _store(evidence_dir)
    chain = store.manifests(lead.platform, lead.listing_id)
    found = next(((p, m, r) for p, m in reversed(chain) if (r := store.http_response(m)) is not None), None)
    if found is None:
        typer.echo(f"no captured response of lead {lead_id}'s listing to render", err=True)
        raise typer.Exit(1)
    path, manifest, (_status, headers, body) = found
    shooter = Screenshotter(require_chromium(configured_chromium()), CHROMIUM_ARGS)
    started = now_local()
    try:
        png = shooter.shoot(manifest["url"], body, headers)
    finally:
        shooter.close()
    listing_entry = next((r for r in manifest["records"] if r["kind"] == "listing"), None)
    listing = None
    if listing_entry is not None and (data := store.payload_of(listing_entry, manifest)) is not None:
        import json

        listing = json.loads(data)
    page = CapturedPage(
        url=manifest["url"],
        method="GET",
        request_headers=[],
        request_body=b"",
        status=None,
        protocol="HTTP/1.1",
        response_headers=[],
        body=None,
        requested_at=started,
        captured_at=now_local(),
        screenshot=png,
        job_id=manifest.get("job_id"),
    )
    result = store.capture(
        page,
        platform=lead.platform,
        listing_id=lead.listing_id,
        listing=listing,
        findings=manifest.get("findings"),
        crawler={"software": "sweep evidence screenshot", "renderer": "Chromium (Playwright), offline"},
        rulebook_version=manifest.get("rulebook_version"),
        rendered_from={
            "sequence": manifest["sequence"],
            "captured_at": manifest["captured_at"],
            "manifest": str(path.relative_to(store.root)),
            "manifest_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        },
    )
    typer.echo(
        f"screenshot of {safe_text(manifest['url'], limit=None)} ({len(png)} bytes PNG) stored as capture "
        f"{result.manifest['sequence']} of {safe_text(subject.title)}"
    )
