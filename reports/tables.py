"""The figures laid out as tables: the one source of every number a report, a spreadsheet or a dashboard
shows, so the HTML, the PDF and the XLSX of a report can never disagree."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.figures import Figures, rate, trend
from sweep.casework import CASE_STATUS_LABELS_ZH
from sweep.models import FAMILY_LABELS_ZH, TRIAGE_LABELS_ZH
from sweep.store.base import AGE_BUCKETS

AGE_LABELS_ZH = {"lt1d": "不足1天", "1-3d": "1-3天", "3-7d": "3-7天", "7-30d": "7-30天", "gt30d": "30天以上"}
assert tuple(AGE_LABELS_ZH) == tuple(key for key, _ in AGE_BUCKETS)

Cell = str | int


@dataclass(slots=True)
class Table:
    key: str
    """A stable name (sheet order, the dashboard's element ids)."""
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def family_label(family: str) -> str:
    return FAMILY_LABELS_ZH.get(family, family)


def summary(f: Figures) -> Table:
    c = f.complaints
    rows: list[list[Cell]] = [
        ["新增线索", f.leads.total, f.previous_leads, trend(f.leads.total, f.previous_leads)],
        ["受理投诉举报", c.total, f.previous_complaints, trend(c.total, f.previous_complaints)],
        ["新立案件", f.cases.opened, f.previous_cases_opened, trend(f.cases.opened, f.previous_cases_opened)],
        ["结案", f.cases.closed, "", ""],
        ["已处置线索（本期新增中）", f.acted, "", ""],
        ["投诉办结", c.done, "", ""],
        ["办结率", rate(c.done, c.total), "", ""],
    ]
    return Table("summary", "一、总体情况", ["指标", "本期", "上期", "较上期"], rows)


def funnel(f: Figures) -> Table:
    steps: list[tuple[str, int]] = [
        ("监测目标（有任务）", f.crawl.targets),
        ("店铺/页面访问", f.crawl.pages),
        ("发现线索", f.leads.total),
        ("已处置线索", f.acted),
        ("立案", f.cases.opened),
        ("核实下架", f.crawl.removals_verified),
    ]
    rows: list[list[Cell]] = [[name, n] for name, n in steps]
    return Table("funnel", "专项治理工作漏斗", ["环节", "数量"], rows)


def leads_per_day(f: Figures) -> Table:
    families = list(f.leads.by_family)
    rows: list[list[Cell]] = []
    for day, counts in f.leads.per_day.items():
        rows.append([day, *(counts.get(fam, 0) for fam in families), sum(counts.values())])
    return Table("leads_per_day", "每日新增线索（按类别）", ["日期", *map(family_label, families), "合计"], rows)


def leads_by_family(f: Figures) -> Table:
    rows: list[list[Cell]] = [[family_label(k), n] for k, n in f.leads.by_family.items()]
    return Table("leads_by_family", "新增线索类别", ["类别", "线索数"], rows)


def queue(f: Figures) -> Table:
    rows: list[list[Cell]] = []
    for status, label in TRIAGE_LABELS_ZH.items():
        ages = f.queue.status_age.get(status, {})
        if not ages:
            continue
        rows.append([label, *(ages.get(k, 0) for k in AGE_LABELS_ZH), sum(ages.values())])
    return Table("queue", "线索处置队列（状态 × 发现时长）", ["状态", *AGE_LABELS_ZH.values(), "合计"], rows)


def complaints_per_day(f: Figures) -> Table:
    rows: list[list[Cell]] = [[day, n] for day, n in f.complaints.per_day.items()]
    return Table("complaints_per_day", "每日受理投诉举报", ["日期", "件数"], rows)


def complaint_status(f: Figures) -> Table:
    rows: list[list[Cell]] = [[status, n] for status, n in f.complaints.by_status.items()]
    return Table("complaint_status", "投诉举报办理状态", ["办理状态", "件数"], rows)


def top_shops(f: Figures) -> Table:
    rows: list[list[Cell]] = [[name, n] for name, n in f.leads.top_shops.items()]
    return Table("top_shops_leads", "线索最多的店铺", ["店铺", "线索数"], rows)


def top_complained(f: Figures) -> Table:
    rows: list[list[Cell]] = [["店铺", name, n] for name, n in f.complaints.top_shops.items()]
    rows += [["企业", name, n] for name, n in f.complaints.top_companies.items()]
    return Table("top_complained", "被投诉最多的店铺与企业", ["类型", "名称", "投诉件数"], rows)


def by_region(f: Figures) -> Table:
    names = sorted(set(f.leads.by_region) | set(f.complaints.by_region))
    rows: list[list[Cell]] = [[r, f.leads.by_region.get(r, 0), f.complaints.by_region.get(r, 0)] for r in names]
    rows.sort(key=lambda row: (-int(row[1]) - int(row[2]), str(row[0])))
    return Table("by_region", "地区分布", ["地区", "新增线索", "投诉举报"], rows)


def cases(f: Figures) -> Table:
    rows: list[list[Cell]] = []
    for c in f.cases.notable:
        status = CASE_STATUS_LABELS_ZH.get(c.status, c.status)
        rows.append([c.number, c.title, status, c.region, c.created_at.date().isoformat(), c.leads])
    return Table("cases", "本期立案", ["案件编号", "案件名称", "状态", "管辖", "立案日期", "关联线索"], rows)


def crawl(f: Figures) -> Table:
    rows: list[list[Cell]] = [
        [
            h.name,
            h.jobs,
            h.failed,
            h.errors,
            h.pages,
            h.last_finished.strftime("%Y-%m-%d %H:%M UTC") if h.last_finished else "从未完成",
        ]
        for h in f.crawl.per_target
    ]
    return Table("crawl", "监测运行情况", ["监测目标", "任务数", "失败", "错误", "页面", "最近完成"], rows)


def tables(f: Figures) -> list[Table]:
    """Every table of a report, in reading order (the campaign report leads with its funnel)."""
    body = [
        leads_per_day(f),
        leads_by_family(f),
        queue(f),
        complaints_per_day(f),
        complaint_status(f),
        top_shops(f),
        top_complained(f),
        by_region(f),
        cases(f),
        crawl(f),
    ]
    head = [funnel(f), summary(f)] if f.kind == "campaign" else [summary(f)]
    return head + body
