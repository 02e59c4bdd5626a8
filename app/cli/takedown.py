"""`sweep takedown due|recheck|show`: is a confirmed listing gone after the takedown order, or back
under a new id? (`operations.takedown`.) Run `sweep takedown recheck --due` from cron or a timer; each
run is a job (trigger: takedown) in `sweep jobs list`."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters import open_lead_store
from adapters.people import open_people_store
from app.cli.display import cell, json_line, message
from app.cli.targets import ops_store
from operations import takedown
from sweep.settings import get_settings
from sweep.store.operations import TakedownCheck

app = typer.Typer(help="Takedown verification: recheck confirmed listings (removed, relisted, still online).")
console = Console()
err = Console(stderr=True)


def _doc(c: TakedownCheck) -> dict[str, object]:
    return {
        "lead_id": c.lead_id,
        "platform": c.platform,
        "listing_id": c.listing_id,
        "url": c.url,
        "outcome": str(c.outcome),
        "checked_at": c.checked_at.isoformat(),
        "job_id": c.job_id,
        "http_status": c.http_status,
        "relisted_id": c.relisted_id,
        "relisted_url": c.relisted_url,
        "similarity": c.similarity,
        "detail": c.detail,
        "case_ids": c.case_ids,
    }


def _after() -> timedelta:
    return timedelta(hours=get_settings().ops_takedown_recheck_after_hours)


@app.command("due")
def due(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Confirmed leads (and leads of cases at 处罚决定) whose recheck is due now."""
    leads, people, ops = open_lead_store(), open_people_store(), ops_store()
    try:
        found = takedown.due_leads(leads, people, ops, now=datetime.now(UTC), after=_after())
    finally:
        ops.close()
    for lead in found:
        if as_json:
            json_line({"lead_id": lead.lead_id, "listing_id": lead.listing_id, "url": lead.listing.url})
        else:
            console.print(cell(f"{lead.lead_id}  {lead.listing_id}  {lead.listing.url or '-'}"))
    if not as_json:
        console.print(cell(f"{len(found)} due"))


@app.command("recheck")
def recheck(
    lead_ids: Annotated[list[str] | None, typer.Argument(help="Leads to recheck now (default: --due).")] = None,
    due_only: Annotated[bool, typer.Option("--due", help="Every lead whose recheck is due.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run one recheck job; prints each outcome (exit 0 even when listings are still online)."""
    if not lead_ids and not due_only:
        err.print(message("error:", "name lead ids or --due"))
        raise typer.Exit(2)
    leads, people, ops = open_lead_store(), open_people_store(), ops_store()
    try:
        if lead_ids:
            found = leads.get_many(lead_ids)
            missing = [i for i in lead_ids if i not in found]
            if missing:
                err.print(message("no such lead:", ", ".join(missing)))
                raise typer.Exit(1)
            chosen = [found[i] for i in lead_ids]
        else:
            chosen = takedown.due_leads(leads, people, ops, now=datetime.now(UTC), after=_after())
        who = os.environ.get("SWEEP_USER") or getpass.getuser()
        report = takedown.recheck(ops, chosen, people=people, requested_by=who)
    finally:
        ops.close()
    if as_json:
        for c in report.checks:
            json_line(_doc(c))
        return
    table = Table("lead", "listing", "outcome", "relisted as", "detail")
    for c in report.checks:
        table.add_row(cell(c.lead_id), cell(c.listing_id), str(c.outcome), cell(c.relisted_id or "-"), cell(c.detail))
    console.print(table)
    console.print(cell(f"job {report.job_id}: " + ", ".join(f"{k} {v}" for k, v in report.summary.items())))


@app.command("show")
def show(lead_id: str) -> None:
    """A lead's takedown checks, newest first, as JSON lines."""
    ops = ops_store()
    try:
        checks = ops.takedown_checks([lead_id]).get(lead_id, [])
    finally:
        ops.close()
    if not checks:
        err.print(message("no takedown check of", lead_id))
        raise typer.Exit(1)
    for c in checks:
        json_line(_doc(c))


@app.command("watch")
def watch(
    every: Annotated[float, typer.Option(help="Minutes between passes.")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (cron-driven setups).")] = False,
) -> None:
    """Recheck due leads every --every minutes until stopped. Several watchers may run: each period's
    pass is claimed once in the operations store, so one of them runs it."""
    import logging
    import signal
    import threading

    from operations.schedules import default_claimer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    period = timedelta(minutes=max(every, 1.0))
    leads, people, ops = open_lead_store(), open_people_store(), ops_store()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    claimer = default_claimer()
    try:
        while not stop.is_set():
            try:
                report = takedown.takedown_pass(
                    ops, leads, people, now=datetime.now(UTC), after=_after(), every=period, claimer=claimer
                )
                if report is not None:
                    typer.echo(f"job {report.job_id}: " + ", ".join(f"{k} {v}" for k, v in report.summary.items()))
            except Exception:
                logging.getLogger("sweep.takedown").exception("takedown pass failed; retrying next period")
            if once:
                break
            stop.wait(min(period.total_seconds(), 60.0))
    finally:
        ops.close()
