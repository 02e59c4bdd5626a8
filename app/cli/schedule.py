"""`sweep schedule add|list|pause|resume|run-now`: cron schedules on targets (Beijing time by default).

`sweep scheduler` fires them; `run-now` launches a run at once, outside the schedule's own runs (it
claims nothing, so the next scheduled run still happens).
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.cli.display import cell, json_line, message
from app.cli.targets import frontier_bus, ops_store, target_or_exit
from operations.jobs import launch
from operations.schedules import next_fire, validate_cron
from sweep.settings import get_settings
from sweep.store.operations import Schedule, Trigger

app = typer.Typer(help="Schedules: cron expressions on targets; `sweep scheduler` runs them.")
console = Console()
err = Console(stderr=True)


def _who() -> str:
    return os.environ.get("SWEEP_USER") or getpass.getuser()


@app.command("add")
def add(
    target: Annotated[str, typer.Argument(help="Target name or id.")],
    cron: Annotated[str, typer.Argument(help="Cron expression, e.g. '0 8 * * *' (every day at 08:00).")],
    timezone: Annotated[str | None, typer.Option(help="Time zone of the expression (default Asia/Shanghai).")] = None,
) -> None:
    """Schedule a target. The first run is the next fire time after now (no catch-up of the past)."""
    tz = timezone or get_settings().ops_timezone
    try:
        validate_cron(cron, tz)
    except (ValueError, KeyError) as exc:
        err.print(message("error:", exc))
        raise typer.Exit(2) from None
    store = ops_store()
    t = target_or_exit(store, target)
    assert t.id is not None
    s = store.add_schedule(Schedule(target_id=t.id, cron=cron, timezone=tz))
    store.close()
    console.print(cell(f"schedule {s.id}: {t.name} at '{cron}' ({tz}); next run {next_fire(s, datetime.now(UTC))}"))


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every schedule with its last and next run."""
    store = ops_store()
    names = {t.id: t.name for t in store.list_targets()}
    schedules = store.list_schedules()
    store.close()
    now = datetime.now(UTC)
    rows = [
        {
            "id": s.id,
            "target": names.get(s.target_id, f"#{s.target_id}"),
            "cron": s.cron,
            "timezone": s.timezone,
            "paused": s.paused,
            "last_fire": s.last_fire.isoformat() if s.last_fire else None,
            "next_fire": None if s.paused else next_fire(s, now).isoformat(),
        }
        for s in schedules
    ]
    if as_json:
        for r in rows:
            json_line(r)
        return
    table = Table("id", "target", "cron", "zone", "state", "last run", "next run")
    for r in rows:
        table.add_row(
            str(r["id"]),
            cell(r["target"]),
            cell(r["cron"]),
            cell(r["timezone"]),
            "paused" if r["paused"] else "active",
            cell(r["last_fire"] or "-"),
            cell(r["next_fire"] or "-"),
        )
    console.print(table)


def _set_paused(schedule_id: int, paused: bool) -> None:
    store = ops_store()
    ok = store.set_paused(schedule_id, paused)
    store.close()
    if not ok:
        err.print(message("no such schedule:", schedule_id))
        raise typer.Exit(1)
    console.print(f"schedule {schedule_id} {'paused' if paused else 'resumed'}")


@app.command("pause")
def pause(schedule_id: int) -> None:
    """Stop firing a schedule (runs already launched go on)."""
    _set_paused(schedule_id, True)


@app.command("resume")
def resume(schedule_id: int) -> None:
    """Fire a paused schedule again (the latest run missed while paused fires once)."""
    _set_paused(schedule_id, False)


@app.command("run-now")
def run_now(schedule_id: int) -> None:
    """Launch a run of the schedule's target now, by you (trigger: person)."""
    store = ops_store()
    s = store.get_schedule(schedule_id)
    if s is None:
        err.print(message("no such schedule:", schedule_id))
        raise typer.Exit(1)
    target = target_or_exit(store, str(s.target_id))
    bus = frontier_bus()
    try:
        job = launch(
            store,
            bus,
            get_settings().topics.crawl_requests,
            target,
            trigger=Trigger.PERSON,
            requested_by=_who(),
            schedule_id=s.id,
        )
    finally:
        bus.close()
        store.close()
    console.print(cell(f"job {job.id} queued for {target.name}; `sweep crawl-worker` crawls it"))
