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
from sweep.settings import Settings, get_settings
from sweep.store.base import REPORT_UTC_OFFSET_HOURS

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
    """Open the configured stores, compute and render (also what scheduled reports call)."""
    from adapters import open_complaint_store, open_lead_store
    from adapters.people import open_people_store
    from adapters.people.operations_sql import open_operations_store

    leads = open_lead_store(settings)
    complaints = open_complaint_store(settings)
    people = open_people_store(settings)
    operations = open_operations_store(settings)
    try:
        figures = fig.compute(
            kind, period, scope, leads=leads, complaints=complaints, people=people, operations=operations, now=now
        )
    finally:
        for store in (leads, complaints, people, operations):
            store.close()
    return render.render(figures, fmt.value, printer=pdf_printer(settings) if fmt is Fmt.pdf else None)  # type: ignore[arg-type]


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
