"""`sweep jobs list|show|cancel|start` and `sweep jobs alerts`: every crawl run, what it found and what failed."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli.display import block, cell, json_line, message
from app.cli.targets import frontier_bus, ops_store, target_or_exit
from operations.jobs import cancel as cancel_job
from operations.jobs import launch
from sweep.settings import get_settings
from sweep.store.operations import CrawlJob, JobState, Trigger

app = typer.Typer(help="Crawl jobs: history, stats, errors and alerts (stored; survives restarts).")
console = Console()
err = Console(stderr=True)


def job_doc(job: CrawlJob) -> dict[str, object]:
    s = job.stats
    return {
        "id": job.id,
        "target": job.target_name,
        "spider": job.spider,
        "trigger": str(job.trigger),
        "state": str(job.state),
        "requested_by": job.requested_by,
        "schedule_id": job.schedule_id,
        "fire_time": job.fire_time.isoformat() if job.fire_time else None,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "duration_s": job.duration_s,
        "message": job.message,
        "stats": {
            "pages": s.pages,
            "listings": s.listings,
            "findings": s.findings,
            "bytes": s.bytes,
            "leads_new": s.leads_new,
            "leads_updated": s.leads_updated,
            "leads_unchanged": s.leads_unchanged,
            "listings_removed": s.listings_removed,
            "errors": s.errors,
        },
    }


@app.command("list")
def list_(
    target: Annotated[str | None, typer.Option(help="Only this target's jobs.")] = None,
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: int = 30,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Newest jobs first."""
    store = ops_store()
    target_id = target_or_exit(store, target).id if target else None
    jobs = store.list_jobs(target_id=target_id, state=state, limit=limit)
    store.close()
    if as_json:
        for j in jobs:
            json_line(job_doc(j))
        return
    table = Table("job", "target", "trigger", "state", "pages", "listings", "findings", "errors", "seconds")
    for j in jobs:
        d = j.duration_s
        table.add_row(
            cell(j.id),
            cell(j.target_name),
            str(j.trigger),
            str(j.state),
            str(j.stats.pages),
            str(j.stats.listings),
            str(j.stats.findings),
            str(j.stats.error_count),
            f"{d:.1f}" if d is not None else "-",
        )
    console.print(table)


@app.command("show")
def show(
    job_id: str,
    log_lines: Annotated[int, typer.Option("--log", help="Log lines to show.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One job: its stats, errors by kind, and the start of its log."""
    store = ops_store()
    job = store.get_job(job_id)
    if job is None:
        store.close()
        err.print(message("no such job:", job_id))
        raise typer.Exit(1)
    log = store.job_log(job_id, limit=log_lines)
    pending = store.pending_count(job_id)
    store.close()
    doc = job_doc(job) | {"pending_requests": pending}
    if as_json:
        json_line(doc | {"log": [{"at": x.at.isoformat(), "level": x.level, "message": x.message} for x in log]})
        return
    json_line(doc, indent=True)
    for line in log:
        console.print(block(f"{line.at:%Y-%m-%d %H:%M:%S} {line.level} {line.message}"))


@app.command("cancel")
def cancel(job_id: str) -> None:
    """Cancel a queued or running job: workers drop its remaining requests."""
    store = ops_store()
    ok = cancel_job(store, job_id)
    store.close()
    if not ok:
        err.print(message("not cancelled (unknown or already over):", job_id))
        raise typer.Exit(1)
    console.print(cell(f"job {job_id} cancelled"))


@app.command("start")
def start(target: Annotated[str, typer.Argument(help="Target name or id.")]) -> None:
    """Launch a run of a target now (trigger: person); `sweep crawl-worker` crawls it."""
    store = ops_store()
    t = target_or_exit(store, target)
    bus = frontier_bus()
    try:
        job = launch(
            store,
            bus,
            get_settings().topics.crawl_requests,
            t,
            trigger=Trigger.PERSON,
            requested_by=os.environ.get("SWEEP_USER") or getpass.getuser(),
        )
    finally:
        bus.close()
        store.close()
    console.print(cell(f"job {job.id} queued for {t.name}"))


@app.command("alerts")
def alerts(limit: int = 30, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Failed and empty jobs, newest first, with the webhook's outcome."""
    store = ops_store()
    found = store.list_alerts(limit=limit)
    store.close()
    if as_json:
        for a in found:
            json_line(
                {
                    "id": a.id,
                    "at": a.at.isoformat() if a.at else None,
                    "kind": a.kind,
                    "job_id": a.job_id,
                    "target": a.target_name,
                    "message": a.message,
                    "delivered": a.delivered,
                }
            )
        return
    table = Table("at", "kind", "job", "target", "message", "webhook")
    for a in found:
        table.add_row(
            cell(f"{a.at:%Y-%m-%d %H:%M}" if a.at else "-"),
            a.kind,
            cell(a.job_id),
            cell(a.target_name),
            cell(a.message),
            cell(a.delivered or "-"),
        )
    console.print(table)
