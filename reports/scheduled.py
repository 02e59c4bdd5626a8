"""Scheduled reports: a 日报 or 周报 on a cron schedule of the crawl-operations scheduler, written to a
folder and listed in the workspace.

A report schedule is an operations target whose spider is `REPORT_SPIDER` (its settings say which
report, for which jurisdiction, in which format) with an ordinary `Schedule`: the one scheduler claims
and fires it exactly once per run like a crawl, and the run is recorded as a job whose failure raises
the same alert a failed crawl does. The file name carries what the file is (kind, jurisdiction code,
period, format), so the workspace lists each viewer only the files of their own jurisdiction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from reports import figures as fig
from reports import render
from sweep import regions as divisions
from sweep.store.base import REPORT_UTC_OFFSET_HOURS
from sweep.store.operations import Target

REPORT_SPIDER = "report"
"""The spider name of a report schedule's target (no crawl worker ever runs it)."""
SCHEDULABLE = ("daily", "weekly")
FORMATS = ("html", "pdf", "xlsx")
FOLDER = "reports"
"""Where scheduled reports are written: this folder under the data directory."""
_FILE = re.compile(r"^(daily|weekly)-(\d{6})-(\d{4}-\d{2}-\d{2})-(\d{4}-\d{2}-\d{2})\.(html|pdf|xlsx)$")


@dataclass(frozen=True, slots=True)
class ReportSpec:
    kind: str
    region: str
    """A GB/T 2260 code (000000 nationwide)."""
    fmt: str

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULABLE:
            raise ValueError(f"only {', '.join(SCHEDULABLE)} reports run on a schedule (not {self.kind})")
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt}")
        fig.Scope.parse(self.region)  # raises for an unknown region

    def target(self) -> Target:
        name = f"report-{self.kind}-{self.region}-{self.fmt}"
        settings = {"report": {"kind": self.kind, "region": self.region, "format": self.fmt}}
        return Target(name=name, spider=REPORT_SPIDER, base_url="report:", settings=settings)


def spec_of(target: Target) -> ReportSpec | None:
    """The report a target stands for, or None for a crawl target."""
    if target.spider != REPORT_SPIDER:
        return None
    raw = target.settings.get("report") or {}
    return ReportSpec(str(raw.get("kind")), str(raw.get("region")), str(raw.get("format")))


def period_for_fire(kind: str, fire_time: datetime) -> fig.Period:
    """What a run fired at `fire_time` reports on: the Beijing day before it (daily), or the seven
    days ending that day (weekly) — so a 08:00 run reports on yesterday, complete."""
    local = fire_time.astimezone(UTC) + timedelta(hours=REPORT_UTC_OFFSET_HOURS)
    last = local.date() - timedelta(days=1)
    return fig.Period(last - timedelta(days=6) if kind == "weekly" else last, last)


def file_name(spec: ReportSpec, period: fig.Period) -> str:
    return f"{spec.kind}-{spec.region}-{period.start.isoformat()}-{period.end.isoformat()}.{spec.fmt}"


@dataclass(frozen=True, slots=True)
class ReportFile:
    name: str
    kind: str
    region: str
    start: date
    end: date
    fmt: str
    size: int

    @property
    def title(self) -> str:
        period = fig.Period(self.start, self.end).label()
        return f"{fig.KIND_TITLES_ZH[self.kind]} · {divisions.label(self.region)} · {period}"


def list_files(folder: Path, scope: fig.Scope) -> list[ReportFile]:
    """The report files in `folder` whose jurisdiction lies within `scope`, newest period first. Names
    that are not report files are ignored (nothing else is ever served from the folder)."""
    if not folder.is_dir():
        return []
    out = []
    for path in folder.iterdir():
        m = _FILE.match(path.name)
        if not m or not path.is_file():
            continue
        kind, region, start, end, fmt = m.groups()
        if not divisions.within(region, scope.code) and region != scope.code:
            continue
        out.append(
            ReportFile(
                path.name, kind, region, date.fromisoformat(start), date.fromisoformat(end), fmt, path.stat().st_size
            )
        )
    return sorted(out, key=lambda f: (f.end, f.kind, f.name), reverse=True)


def run(
    spec: ReportSpec,
    fire_time: datetime,
    folder: Path,
    compute: Callable[[str, fig.Period, fig.Scope], fig.Figures],
    printer: render.Printer | None = None,
) -> Path:
    """Compute and write one scheduled report; returns its path. The file appears whole or not at all
    (written beside, then renamed)."""
    period = period_for_fire(spec.kind, fire_time)
    figures = compute(spec.kind, period, fig.Scope.parse(spec.region))
    body = render.render(figures, spec.fmt, printer=printer)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(spec, period)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(body)
    partial.replace(path)
    return path
