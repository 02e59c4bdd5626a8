"""Scheduled reports: `sweep report schedule add` makes a report target with a schedule, the operations
scheduler fires it once at its time, the file lands in {data_dir}/reports and is listed in the
workspace only for viewers of its jurisdiction; a failing run is a failed job with an alert.

The world is `test_reports`'s; a run fired at 2026-12-03 08:00 Beijing reports on 2026-12-02, when
浙江省 saw one new lead (Z4, first seen at 00:00 Beijing) against three the day before."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from adapters.people.operations_sql import open_operations_store
from app.cli import report
from app.cli.main import app as cli
from operations.schedules import Scheduler
from reports import figures as fig
from reports import scheduled
from sweep.settings import Settings
from sweep.store.operations import JobState, Schedule
from tests.unit.test_dashboard import PASSWORD, app_settings, client_for  # noqa: F401

FIRE_CLOCK = datetime(2026, 12, 3, 0, 0, 30, tzinfo=UTC)  # 08:00:30 Beijing
NAME = "daily-330000-2026-12-02-2026-12-02.xlsx"


def fire(settings: Settings) -> list:
    store = open_operations_store(settings)

    def start(schedule: Schedule, when: datetime):
        target = store.get_target(schedule.target_id)
        assert target is not None and target.spider == scheduled.REPORT_SPIDER
        return report.launch_report(settings, store, target, schedule, when)

    try:
        return Scheduler(store, start, clock=lambda: FIRE_CLOCK, claimer="t").tick()
    finally:
        store.close()


def test_period_of_a_fire() -> None:
    assert scheduled.period_for_fire("daily", FIRE_CLOCK) == fig.Period(
        datetime(2026, 12, 2).date(), datetime(2026, 12, 2).date()
    )
    weekly = scheduled.period_for_fire("weekly", FIRE_CLOCK)
    assert (weekly.start.isoformat(), weekly.end.isoformat()) == ("2026-11-26", "2026-12-02")
    with pytest.raises(ValueError):
        scheduled.ReportSpec("campaign", "330000", "pdf")


def test_a_scheduled_report_is_written_listed_and_scoped(app_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    app, settings = app_settings
    monkeypatch.setattr(report, "get_settings", lambda: settings)
    args = ["report", "schedule", "add", "--cron", "0 8 * * *", "--region", "330000", "--format", "xlsx"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output

    fired = fire(settings)
    assert len(fired) == 1 and fired[0].job.state is JobState.FINISHED
    path = settings.data_dir / "reports" / NAME
    assert fired[0].job.message == str(path)
    summary = load_workbook(path)["一、总体情况"]
    assert [c.value for c in summary[2]] == ["新增线索", 1, 3, "-2（-66.7%）"]
    assert fire(settings) == []  # the same run is not fired twice

    assert [f.name for f in scheduled.list_files(path.parent, fig.Scope("330000"))] == [NAME]
    assert [f.name for f in scheduled.list_files(path.parent, fig.Scope())] == [NAME]
    assert scheduled.list_files(path.parent, fig.Scope("320000")) == []
    assert scheduled.list_files(path.parent, fig.Scope("330100")) == []  # a province's report covers other cities

    zj = client_for(app, "zj")
    page = zj.get("/dashboard?from=2026-12-01&to=2026-12-01").text
    assert f'href="/dashboard/files/{NAME}"' in page
    assert zj.get(f"/dashboard/files/{NAME}").content == path.read_bytes()
    js = client_for(app, "js")
    assert NAME not in js.get("/dashboard?from=2026-12-01&to=2026-12-01").text
    assert js.get(f"/dashboard/files/{NAME}").status_code == 404
    assert zj.get("/dashboard/files/..%2F..%2Fpeople.sqlite").status_code == 404

    listed = CliRunner().invoke(cli, ["report", "schedule", "list"])
    assert listed.exit_code == 0 and "finished" in listed.output


def test_a_failing_run_is_a_failed_job_with_an_alert(app_settings, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    _, settings = app_settings
    monkeypatch.setattr(report, "get_settings", lambda: settings)
    args = ["report", "schedule", "add", "--cron", "0 8 * * *", "--region", "320000", "--format", "html"]
    assert CliRunner().invoke(cli, args).exit_code == 0

    def broken(*_a: object, **_k: object) -> fig.Figures:
        raise RuntimeError("search cluster unreachable")

    monkeypatch.setattr(report, "figures_from_settings", broken)
    fired = fire(settings)
    assert fired[0].job.state is JobState.FAILED
    assert re.search(
        r"report report-daily-320000-html failed: RuntimeError: search cluster unreachable", fired[0].job.message
    )
    store = open_operations_store(settings)
    try:
        alerts = store.list_alerts()
    finally:
        store.close()
    assert [(a.kind, a.target_name) for a in alerts] == [("failed", "report-daily-320000-html")]
    assert not (settings.data_dir / "reports").exists() or not list((settings.data_dir / "reports").iterdir())
