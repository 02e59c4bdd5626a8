"""`sweep report daily|weekly|campaign`: a 日报, a 周报 or a 专项治理 report as HTML, PDF or XLSX.

The figures come from the configured stores (leads, complaints, the people's store for cases, the
operations store for crawl jobs), scoped to `--region` (a GB/T 2260 code or a region name; nationwide
when omitted) and to whole days in Beijing time. PDFs are printed by Chromium, as the workspace prints
a case file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.cli.display import message
from reports import figures as fig
from reports import render
from reports import scheduled as sched
from sweep.settings import Settings, get_settings
from sweep.store.base import REPORT_UTC_OFFSET_HOURS
from sweep.store.operations import CrawlJob, JobState, OperationsStore, Schedule, Target, TargetExistsError, Trigger

app = typer.Typer(help="Reports: 日报, 周报 and 专项治理 campaign reports (HTML, PDF, XLSX).", no_args_is_help=True)
err = Console(stderr=True)


class Fmt(StrEnum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"


def beijing_today() -> date:
    return (datetime.now(UTC) + timedelta(hours=REPORT_UTC_OFFSET_HOURS)).date()


def _day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(message(f"{what} 不是日期（YYYY-MM-DD）:", value))
        raise typer.Exit(2) from None


def period_for(kind: fig.Kind, start: date | None, end: date | None, today: date) -> fig.Period:
    """Defaults: a daily report covers yesterday, a weekly one the seven days up to yesterday; a
    campaign names its own dates. One end given alone: a day, or a week ending or starting there."""
    yesterday = today - timedelta(days=1)
    length = {"daily": 1, "weekly": 7}.get(kind)
    if length is None and (start is None or end is None):
        raise ValueError("专项治理报告需要 --from 和 --to")
    if start is None and end is None:
        end = yesterday
    if start is None:
        assert end is not None and length is not None
        start = end - timedelta(days=length - 1)
    if end is None:
        assert length is not None
        end = start + timedelta(days=length - 1)
    return fig.Period(start, end)


def pdf_printer(settings: Settings) -> render.Printer:
    """The workspace's Chromium print (one implementation for case files and reports)."""
    from workspace.exports import html_to_pdf

    return lambda page: html_to_pdf(page, settings.chromium)


def build(
    kind: fig.Kind, period: fig.Period, scope: fig.Scope, fmt: Fmt, settings: Settings, *, now: datetime | None = None
) -> bytes:
    """Compute from the configured stores and render."""
    figures = figures_from_settings(kind, period, scope, settings, now=now)
    return render.render(figures, fmt.value, printer=pdf_printer(settings) if fmt is Fmt.pdf else None)  # type: ignore[arg-type]


def figures_from_settings(
    kind: fig.Kind, period: fig.Period, scope: fig.Scope, settings: Settings, *, now: datetime | None = None
) -> fig.Figures:
    """Open the configured stores, compute one report's figures, close them."""
    from adapters import open_complaint_store, open_lead_store
    from adapters.people import open_people_store
    from adapters.people.operations_sql import open_operations_store

    leads = open_lead_store(settings)
    complaints = open_complaint_store(settings)
    people = open_people_store(settings)
    operations = open_operations_store(settings)
    try:
        return fig.compute(
            kind, period, scope, leads=leads, complaints=complaints, people=people, operations=operations, now=now
        )
    finally:
        for store in (leads, complaints, people, operations):
            store.close()


def _run(kind: fig.Kind, start: str | None, end: str | None, region: str | None, fmt: Fmt, out: Path) -> None:
    try:
        period = period_for(kind, _day(start, "--from"), _day(end, "--to"), beijing_today())
        scope = fig.Scope.parse(region)
    except ValueError as exc:
        err.print(message("参数错误:", exc))
        raise typer.Exit(2) from None
    body = build(kind, period, scope, fmt, get_settings())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    err.print(f"{fig.KIND_TITLES_ZH[kind]} {scope.label()} {period.label()} → {out} ({len(body):,} bytes)")


FromOpt = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD, Beijing time).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last day, included.")]
RegionOpt = Annotated[str | None, typer.Option(help="Jurisdiction: GB/T 2260 code or region name (default 全国).")]
FormatOpt = Annotated[Fmt, typer.Option("--format", help="html, pdf or xlsx.")]
OutOpt = Annotated[Path, typer.Option("-o", "--output", help="File to write.")]


@app.command()
def daily(
    out: OutOpt, start: FromOpt = None, end: ToOpt = None, region: RegionOpt = None, fmt: FormatOpt = Fmt.html
) -> None:
    """日报: new leads and complaints, notable cases, trends against the previous day, top sellers."""
    _run("daily", start, end, region, fmt, out)


@app.command()
def weekly(
    out: OutOpt, start: FromOpt = None, end: ToOpt = None, region: RegionOpt = None, fmt: FormatOpt = Fmt.html
) -> None:
    """周报: the daily report's figures over seven days (or the dates given)."""
    _run("weekly", start, end, region, fmt, out)


@app.command()
def campaign(
    out: OutOpt, start: FromOpt = None, end: ToOpt = None, region: RegionOpt = None, fmt: FormatOpt = Fmt.html
) -> None:
    """专项治理: targets monitored, shop-visits, leads found and acted on, cases, removals verified."""
    _run("campaign", start, end, region, fmt, out)


# -- scheduled reports ---------------------------------------------------------------------------
schedule_app = typer.Typer(help="Reports on a schedule (fired by `sweep scheduler`, written to {data_dir}/reports).")
app.add_typer(schedule_app, name="schedule")


def reports_folder(settings: Settings) -> Path:
    return settings.data_dir / sched.FOLDER


def launch_report(
    settings: Settings, store: OperationsStore, target: Target, schedule: Schedule, fire: datetime
) -> CrawlJob:
    """One scheduled report run, recorded as a job of its target: finished with the file's path, or
    failed with the error and an alert (the webhook of failed crawls)."""
    from app.cli.targets import alert_policy
    from operations.jobs import new_job_id, raise_alert
    from sweep.store.operations import Alert

    job = CrawlJob(
        id=new_job_id(),
        target_id=target.id,
        target_name=target.name,
        spider=target.spider,
        trigger=Trigger.SCHEDULE,
        schedule_id=schedule.id,
        fire_time=fire,
    )
    store.create_job(job)
    store.set_job_state(job.id, JobState.RUNNING)
    try:
        spec = sched.spec_of(target)
        assert spec is not None, f"{target.name} is not a report target"
        printer = pdf_printer(settings) if spec.fmt == "pdf" else None

        def compute(kind: str, period: fig.Period, scope: fig.Scope) -> fig.Figures:
            return figures_from_settings(kind, period, scope, settings)  # type: ignore[arg-type]

        path = sched.run(spec, fire, reports_folder(settings), compute, printer)
    except Exception as exc:
        message_text = f"report {target.name} failed: {type(exc).__name__}: {exc}"
        store.set_job_state(job.id, JobState.FAILED, message=message_text[:2000])
        raise_alert(store, Alert("failed", job.id, target.name, message_text[:2000]), alert_policy(settings))
    else:
        store.set_job_state(job.id, JobState.FINISHED, message=str(path))
    return store.get_job(job.id) or job


@schedule_app.command("add")
def schedule_add(
    cron: Annotated[str, typer.Option(help='Cron expression in Beijing time, e.g. "0 8 * * *".')],
    kind: Annotated[str, typer.Option(help="daily or weekly.")] = "daily",
    region: RegionOpt = None,
    fmt: FormatOpt = Fmt.pdf,
) -> None:
    """Add a report schedule (a report target and its schedule in the operations store)."""
    from adapters.people.operations_sql import open_operations_store
    from operations.schedules import validate_cron

    try:
        scope = fig.Scope.parse(region)
        spec = sched.ReportSpec(kind, scope.code, fmt.value)
        validate_cron(cron)
    except ValueError as exc:
        err.print(message("参数错误:", exc))
        raise typer.Exit(2) from None
    store = open_operations_store(get_settings())
    try:
        try:
            target = store.add_target(spec.target())
        except TargetExistsError:
            target = store.get_target(spec.target().name)
        assert target is not None and target.id is not None
        schedule = store.add_schedule(Schedule(target_id=target.id, cron=cron))
    finally:
        store.close()
    err.print(f"schedule {schedule.id}: {fig.KIND_TITLES_ZH[kind]} {scope.label()} {fmt.value} at {cron}")


@schedule_app.command("list")
def schedule_list() -> None:
    """Report schedules and their latest runs."""
    from rich.table import Table

    from adapters.people.operations_sql import open_operations_store
    from app.cli.display import cell

    store = open_operations_store(get_settings())
    try:
        reports = {t.id: t for t in store.list_targets() if sched.spec_of(t) is not None}
        table = Table(title="定时报告", show_header=True)
        for title in ("计划", "报告", "cron", "最近一次", "状态", "文件/错误"):
            table.add_column(title)
        for s in store.list_schedules():
            target = reports.get(s.target_id)
            if target is None:
                continue
            last = next(iter(store.list_jobs(target_id=target.id, limit=1)), None)
            table.add_row(
                str(s.id),
                cell(target.name),
                cell(s.cron),
                last.fire_time.isoformat() if last and last.fire_time else "—",
                str(last.state) if last else "—",
                cell(last.message if last else ""),
            )
        Console().print(table)
    finally:
        store.close()
