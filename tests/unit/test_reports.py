"""Reports count what the stores hold: a hand-built world (leads, 12315 complaints, cases with their
audit trail, crawl jobs) in two jurisdictions, and the figures of 浙江省's daily report for 2026-12-01
written out by hand below — in the figures, in the HTML and in the XLSX.

The period is 2026-12-01 in Beijing time: [2026-11-30 16:00 UTC, 2026-12-01 16:00 UTC). The previous
period is 2026-11-30.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from openpyxl import load_workbook
from typer.testing import CliRunner

from adapters import open_complaint_store, open_lead_store
from adapters.people import open_people_store
from adapters.people.operations_sql import open_operations_store
from reports import figures as fig
from reports import render
from reports.tables import tables
from sweep.audit import AuditEvent
from sweep.casework import Case, CaseStatus, PeopleStore
from sweep.models import Complaint, Finding, LeadEvent, ListingSummary, PersonalData, TriageStatus
from sweep.settings import Settings
from sweep.store.base import LeadStore
from sweep.store.complaints import ComplaintRecord, ComplaintStore
from sweep.store.operations import CrawlJob, JobState, JobStats, OperationsStore, Target, Trigger

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
DAY = fig.Period(date(2026, 12, 1), date(2026, 12, 1))
ZHEJIANG = fig.Scope("330000")
HOSTILE = '=HYPERLINK("http://x")<script>alert(1)</script>'


def t(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def lead_event(n: str, at: datetime, family: str, region: str, shop: str) -> LeadEvent:
    finding = Finding(platform="taobao", listing_id=n, family=family, rule_id=f"{family}/r", severity="high")
    summary = ListingSummary(title=f"商品 {n}", region=region, shop_id=f"id-{shop}", shop_name=shop)
    return LeadEvent(lead_id=finding.lead_id, observed_at=at, finding=finding, listing=summary)


LEADS = [
    lead_event("Z1", t(1, 2), "chem.toxic", "浙江省杭州市", "甲化工店"),
    lead_event("Z2", t(1, 10), "chem.toxic", "浙江省杭州市西湖区", "甲化工店"),
    lead_event("Z3", t(1, 15, 59), "ad.absolute_terms", "浙江省宁波市", HOSTILE),  # 23:59 Beijing: in
    lead_event("Z4", t(1, 16), "chem.toxic", "浙江省宁波市", "乙店"),  # 12-02 00:00 Beijing: out
    lead_event("Z5", t(30, 5, month=11), "chem.toxic", "浙江省杭州市", "乙店"),  # previous day
    lead_event("J1", t(1, 3), "chem.toxic", "江苏省南京市", "丙店"),  # another province
]


def complaint(
    cid: str, at: datetime, region: str, status: str, shop: str, seller: str, **kw: object
) -> ComplaintRecord:
    c = Complaint(
        complaint_id=cid, received_at=at, region=region, status=status, shop_name=shop, seller_name=seller, **kw
    )
    return ComplaintRecord(complaint=c, personal=PersonalData(complaint_id=cid))


COMPLAINTS = [
    complaint("C1", t(1, 1), "浙江省杭州市", "已办结", "甲化工店", "杭州甲化工有限公司"),
    complaint("C2", t(1, 8), "浙江省杭州市西湖区", "处理中", "甲化工店", "杭州甲化工有限公司"),
    complaint("C3", t(1, 12), "浙江省宁波市", "处理中", "乙店", "宁波乙贸易商行", closed_at=t(1, 13)),
    complaint("C4", t(30, 12, month=11), "浙江省宁波市", "已办结", "乙店", "宁波乙贸易商行"),
    complaint("C5", t(1, 6), "江苏省南京市", "已办结", "丙店", "南京丙公司"),
]


def event(action: str, case_id: str, at: datetime, after: str = "") -> AuditEvent:
    return AuditEvent(
        actor="wang", role="officer", action=action, resource_type="case", resource_id=case_id, at=at, after=after
    )


def load_cases(people: PeopleStore) -> None:
    def new(title: str, region: str, at: datetime, leads: list[str]) -> Case:
        case = Case(title=title, owner="wang", region=region, created_by="wang", created_at=at, lead_ids=leads)
        return people.create_case(case, [event("case.create", "", at)])

    new("甲化工店 涉嫌销售剧毒化学品", "330100", t(1, 3), [LEADS[0].lead_id, LEADS[1].lead_id])
    closed = new("乙店 无证经营", "330200", t(20, 3, month=11), [LEADS[4].lead_id])
    new("丙店 案", "320100", t(1, 4), [LEADS[5].lead_id])  # Jiangsu
    new("乙店 另案", "330100", t(30, 2, month=11), [])  # previous day
    assert closed.id is not None
    cid, version = str(closed.id), closed.version
    steps = [
        (CaseStatus.investigating, t(25, 1, month=11)),
        (CaseStatus.penalty, t(26, 1, month=11)),
        (CaseStatus.closed, t(1, 9)),  # closed on the report's day
    ]
    for status, at in steps:
        after = f'{{"status": "{status.value}"}}'
        updated = people.update_case(closed.id, version, {"status": status}, event("case.update", cid, at, after))
        version = updated.version


def load_jobs(ops: OperationsStore) -> None:
    demo = ops.add_target(Target(name="demo-mall", spider="demomall", base_url="http://127.0.0.1:1/"))
    ops.add_target(Target(name="other-site", spider="demomall", base_url="http://127.0.0.1:2/"))
    jobs = [
        ("j1", t(1, 1), JobState.FINISHED, t(1, 2), JobStats(pages=120, listings=100, errors={"timeout": 2})),
        ("j2", t(1, 5), JobState.FAILED, t(1, 6), JobStats(pages=5, errors={"http_404": 1})),
        ("j3", t(30, 1, month=11), JobState.FINISHED, t(30, 2, month=11), JobStats(pages=50, listings=40)),
    ]
    for job_id, created, state, finished, stats in jobs:
        if job_id == "j1":
            stats.listings_removed = 3
        ops.create_job(
            CrawlJob(
                id=job_id,
                target_id=demo.id,
                target_name="demo-mall",
                spider="demomall",
                trigger=Trigger.SCHEDULE,
                state=state,
                created_at=created,
                started_at=created,
                finished_at=finished,
                stats=stats,
            )
        )


def load_world(leads: LeadStore, complaints: ComplaintStore, people: PeopleStore, ops: OperationsStore) -> None:
    leads.apply_events(LEADS)
    leads.set_status(LEADS[1].lead_id, TriageStatus.confirmed)
    complaints.upsert(COMPLAINTS)
    load_cases(people)
    load_jobs(ops)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    return Settings(data_dir=tmp_path / "data", search_url=None, kafka=None, people_url=None)


@pytest.fixture
def world(settings: Settings) -> Settings:
    stores = (
        open_lead_store(settings),
        open_complaint_store(settings),
        open_people_store(settings),
        open_operations_store(settings),
    )
    try:
        load_world(*stores)
    finally:
        for store in stores:
            store.close()
    return settings


def compute(settings: Settings, kind: fig.Kind = "daily", scope: fig.Scope = ZHEJIANG) -> fig.Figures:
    stores = (
        open_lead_store(settings),
        open_complaint_store(settings),
        open_people_store(settings),
        open_operations_store(settings),
    )
    try:
        leads, complaints, people, ops = stores
        return fig.compute(kind, DAY, scope, leads=leads, complaints=complaints, people=people, operations=ops, now=NOW)
    finally:
        for store in stores:
            store.close()


def check_expected(f: fig.Figures) -> None:
    """The hand-counted figures of 浙江省 on 2026-12-01 (shared with the search-engine test)."""
    assert f.leads.total == 3  # Z1 Z2 Z3
    assert f.previous_leads == 1  # Z5
    assert f.leads.by_family == {"chem.toxic": 2, "ad.absolute_terms": 1}
    assert f.leads.per_day == {"2026-12-01": {"chem.toxic": 2, "ad.absolute_terms": 1}}
    assert f.leads.top_shops == {"甲化工店": 2, HOSTILE: 1}
    assert f.leads.by_region == {"浙江省杭州市": 1, "浙江省杭州市西湖区": 1, "浙江省宁波市": 1}
    assert f.acted == 1  # Z2 confirmed
    # the queue: all five Zhejiang leads, ages at 2026-12-02 01:00 UTC
    assert f.queue.status_age == {"new": {"lt1d": 3, "1-3d": 1}, "confirmed": {"lt1d": 1}}
    assert (f.complaints.total, f.complaints.done, f.previous_complaints) == (3, 2, 1)  # C3 has a 办结日期
    assert f.complaints.per_day == {"2026-12-01": 3}
    assert f.complaints.top_shops == {"甲化工店": 2, "乙店": 1}
    assert f.complaints.top_companies == {"杭州甲化工有限公司": 2, "宁波乙贸易商行": 1}
    assert (f.cases.opened, f.cases.closed, f.cases.open_now, f.previous_cases_opened) == (1, 1, 2, 1)
    assert [(c.title, c.leads) for c in f.cases.notable] == [("甲化工店 涉嫌销售剧毒化学品", 2)]
    c = f.crawl
    assert (c.targets, c.jobs, c.failed, c.pages, c.listings) == (1, 2, 1, 125, 100)  # j1 and j2; j3 is 11-30
    assert (c.errors, c.removals_verified) == (3, 3)


def test_daily_figures_equal_the_hand_count(world: Settings) -> None:
    f = compute(world)
    check_expected(f)
    demo, other = f.crawl.per_target
    assert (demo.name, demo.jobs, demo.failed, demo.errors, demo.pages) == ("demo-mall", 2, 1, 3, 125)
    assert demo.last_finished is not None and demo.last_finished.replace(tzinfo=UTC) == t(1, 2)
    assert (other.name, other.jobs, other.last_finished) == ("other-site", 0, None)


def test_nationwide_counts_both_provinces(world: Settings) -> None:
    f = compute(world, scope=fig.Scope.parse(None))
    assert (f.leads.total, f.complaints.total, f.complaints.done, f.cases.opened) == (4, 4, 3, 2)


def test_a_city_sees_only_its_own(world: Settings) -> None:
    f = compute(world, scope=fig.Scope.parse("浙江省宁波市"))
    assert f.scope.code == "330200"
    assert (f.leads.total, f.complaints.total, f.cases.opened, f.cases.closed) == (1, 1, 0, 1)


def test_summary_table_and_funnel(world: Settings) -> None:
    by_key = {table.key: table for table in tables(compute(world, "campaign"))}
    assert by_key["summary"].rows[:3] == [
        ["新增线索", 3, 1, "+2（+200.0%）"],
        ["受理投诉举报", 3, 1, "+2（+200.0%）"],
        ["新立案件", 1, 1, "持平"],
    ]
    assert ["办结率", "66.7%", "", ""] in by_key["summary"].rows
    assert by_key["funnel"].rows == [
        ["监测目标（有任务）", 1],
        ["店铺/页面访问", 125],
        ["发现线索", 3],
        ["已处置线索", 1],
        ["立案", 1],
        ["核实下架", 3],
    ]
    assert by_key["queue"].rows == [["新线索", 3, 1, 0, 0, 0, 4], ["已核实", 1, 0, 0, 0, 0, 1]]


def test_html_escapes_crawled_text(world: Settings) -> None:
    page = render.html(compute(world))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "网络交易监测日报" in page and "一、总体情况" in page
    assert "办结率 66.7%" in page


def test_xlsx_has_one_sheet_per_table_with_the_same_numbers(world: Settings) -> None:
    f = compute(world)
    book = load_workbook(io.BytesIO(render.xlsx(f)))
    assert len(book.sheetnames) == len(tables(f)) == 11
    summary = book["一、总体情况"]
    assert [c.value for c in summary[2]] == ["新增线索", 3, 1, "+2（+200.0%）"]
    shops = [[c.value for c in row] for row in book["线索最多的店铺"].iter_rows(min_row=2)]
    assert shops == [["甲化工店", 2], [HOSTILE, 1]]
    assert book["线索最多的店铺"]["A3"].data_type == "s"  # a crawled name is text, never a formula


def test_period_defaults_and_bounds() -> None:
    today = date(2026, 12, 2)
    assert fig.Period(date(2026, 12, 1), date(2026, 12, 1)).bounds() == (t(30, 16, month=11), t(1, 16))
    assert fig.Period(date(2026, 12, 1), date(2026, 12, 7)).previous() == fig.Period(
        date(2026, 11, 24), date(2026, 11, 30)
    )
    from app.cli.report import period_for

    assert period_for("daily", None, None, today) == fig.Period(date(2026, 12, 1), date(2026, 12, 1))
    assert period_for("weekly", None, None, today) == fig.Period(date(2026, 11, 25), date(2026, 12, 1))
    with pytest.raises(ValueError):
        period_for("campaign", date(2026, 11, 1), None, today)


def test_cli_writes_html_and_xlsx(world: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.cli import report
    from app.cli.main import app

    monkeypatch.setattr(report, "get_settings", lambda: world)
    out = tmp_path / "out" / "r.xlsx"
    args = ["report", "daily", "--from", "2026-12-01", "--region", "330000", "--format", "xlsx", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert load_workbook(out)["一、总体情况"]["B2"].value == 3
    html = tmp_path / "r.html"
    args = ["report", "campaign", "--from", "2026-12-01", "--to", "2026-12-01", "-o", str(html)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "专项治理工作漏斗" in html.read_text(encoding="utf-8")
    result = CliRunner().invoke(app, ["report", "campaign", "-o", str(html)])
    assert result.exit_code == 2


def test_the_ports_default_aggregates_equal_the_stores_own(world: Settings) -> None:
    """The defaults in the ports (paging through `search`) serve any store; they agree with the
    embedded stores' one-read versions on the hand-built world."""
    leads, complaints = open_lead_store(world), open_complaint_store(world)
    try:
        query = ZHEJIANG.complaint_query(DAY)
        assert ComplaintStore.aggregate(complaints, query) == complaints.aggregate(query)
        assert ComplaintStore.aggregate(complaints, query).top_companies == {
            "杭州甲化工有限公司": 2,
            "宁波乙贸易商行": 1,
        }
        start, end = DAY.bounds()
        lead_query = ZHEJIANG.lead_query()
        default = LeadStore.aggregate(leads, lead_query, first_from=start, first_to=end, now=NOW)
        assert default == leads.aggregate(lead_query, first_from=start, first_to=end, now=NOW)
        assert default.total == 3
    finally:
        leads.close()
        complaints.close()
