"""`sweep complaints ...`: import 12315 complaint files, match them to sellers, show, list, export.

`import` streams: each row's personal data is sealed into the complaint store, the masked record is
published on `{prefix}.complaints`, and the complaints consumer stores and matches it. With the embedded
bus (no SWEEP_KAFKA) the import runs that consumer itself until the topic is drained, as `sweep demo`
does for leads, so a one-machine setup needs no second process; with Kafka, `sweep consume complaints`
does it (or `--drain` here).

Complaint text is written by the public and names shops written by sellers: everything from a record
reaches the terminal through `app.cli.display` (cleaned by `sweep.text.safe_text`, as Rich `Text`,
never markup). Personal data is printed only by `show --personal-data`, for an actor the permission
check allows, after the view is in the audit log.

The terminal has no login: the actor is named with `--user/--role/--region` (default: the shell user as
admin, nationwide), which the permission check and the audit log then use. Shell access to the data
dir and the key is the real boundary; the check and the record keep every view of personal data
deliberate and on record.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters import open_audit_log, open_bus, open_complaint_store, open_lead_store, open_seller_directory
from app.cli.display import block, cell, json_line, message
from complaints.export import FORMATS
from complaints.fields import load_mapping
from complaints.readers import FileError, open_table
from complaints.records import RowError
from complaints.sellers import SellerSync, bootstrap_from_leads
from complaints.service import ComplaintService, ImportReport, Refused, Topics
from sweep.bus.base import TOPIC_COMPLAINTS, TOPIC_DEADLETTER, TOPIC_LEADS, TOPIC_LISTINGS
from sweep.people import NATIONWIDE, Actor, Role
from sweep.settings import get_settings
from sweep.store.complaints import ComplaintQuery

app = typer.Typer(help="投诉举报 — 12315 complaint records alongside the leads.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

EXIT_SKIPPED = 1
EXIT_UNUSABLE = 2
ERRORS_SHOWN = 50

UserOpt = Annotated[str | None, typer.Option("--user", help="Who is asking (default: $SWEEP_USER or the login).")]
RoleOpt = Annotated[Role, typer.Option("--role", help="Role of the asker.")]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option("--region", help=f"Jurisdiction, a region-name prefix (repeatable; {NATIONWIDE}: all)."),
]


def _actor(user: str | None, role: Role, regions: list[str] | None) -> Actor:
    name = user or os.environ.get("SWEEP_USER") or getpass.getuser()
    return Actor(name, role, tuple(regions or (NATIONWIDE,)))


def _topics() -> tuple[Topics, tuple[str, str]]:
    """(complaint and dead-letter topics, leads and listings topics) as configured: the settings'
    `topics` when this build has a topic prefix, else the default names."""
    configured = getattr(get_settings(), "topics", None)
    if configured is not None:
        return Topics(configured.complaints, configured.deadletter), (configured.leads, configured.listings)
    return Topics(TOPIC_COMPLAINTS, TOPIC_DEADLETTER), (TOPIC_LEADS, TOPIC_LISTINGS)


def _service(publish: bool = False) -> ComplaintService:
    topics, _ = _topics()
    bus = open_bus() if publish else None
    return ComplaintService(
        open_complaint_store(), open_seller_directory(), open_audit_log(), bus, topics if publish else None
    )


def _drain(service: ComplaintService, rematch: bool, idle_s: float) -> None:
    """Run the complaints consumer until the topic is drained; its counts go into the report table."""
    from consumers.complaints import drain

    assert service.bus is not None
    stats = drain(service.bus, service.writer, topics=get_settings().topics, rematch=rematch, idle_s=idle_s)
    counts = stats.counts
    err.print(
        Text(f"投诉消费: 写入 {counts.complaints} 条（新增 {counts.created}、更新 {counts.updated}、"
             f"未变 {counts.unchanged}），匹配到卖家 {counts.matched} 条，死信 {stats.loop.deadlettered} 条，"
             f"店铺更新 {counts.sellers_changed} 个，重新匹配 {counts.rematched} 条"),
        highlight=False,
    )  # fmt: skip


def _close(service: ComplaintService) -> None:
    service.store.close()
    service.directory.close()
    service.audit.close()
    if service.bus is not None:
        service.bus.close()


def _sync(service: ComplaintService) -> None:
    """Bring the seller directory up to date from the bus (lead events and listings not yet read)."""
    _, source_topics = _topics()
    bus = open_bus()
    try:
        stats = SellerSync(bus, service.directory, source_topics, service.rematch_sellers).drain()
    finally:
        bus.close()
    if stats.messages:
        err.print(
            Text(f"卖家目录: 读取 {stats.messages} 条消息, {stats.sellers_changed} 个店铺更新, "
                 f"{stats.complaints_rematched} 条投诉重新匹配"),
            highlight=False,
        )  # fmt: skip


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="XLSX, CSV (UTF-8/GB18030) or JSON lines.", show_default=False)],
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    mapping: Annotated[Path | None, typer.Option(help='Mapping file: {"表头": "field"} (YAML or JSON).')] = None,
    publish: Annotated[
        bool, typer.Option(hidden=True, help="Kept for old scripts: an import always publishes.")
    ] = True,
    drain: Annotated[
        bool | None,
        typer.Option(
            "--drain/--no-drain",
            help="Run the complaints consumer here until the topic is drained (default: with the embedded bus).",
        ),
    ] = None,
    idle: Annotated[float, typer.Option(help="Seconds without messages that end --drain.")] = 0.5,
    sync: Annotated[
        bool,
        typer.Option(help="While draining, also read new lead events and listings into the seller directory."),
    ] = True,
    user: UserOpt = None,
    role: RoleOpt = Role.admin,
    region: RegionOpt = None,
) -> None:
    """Import a complaint file: bad rows are reported by row number and skipped (and dead-lettered with
    their reason), the rest are published masked on the complaints topic for the consumer to store
    (idempotent by complaint id) and match to sellers; their personal data is sealed in the store."""
    del publish
    actor = _actor(user, role, region)
    settings = get_settings()
    if drain is None:
        drain = not settings.kafka
    try:
        columns = load_mapping(mapping) if mapping else None
        table = open_table(file, sheet=sheet, mapping=columns)
    except (FileError, ValueError, OSError) as exc:
        err.print(message("无法读取", exc), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    service = _service(publish=True)
    shown = 0

    def on_error(error: RowError) -> None:
        nonlocal shown
        shown += 1
        if shown <= ERRORS_SHOWN:
            err.print(message("跳过", error, "red"), highlight=False, soft_wrap=True)

    try:
        report = service.import_table(table, actor, on_error)
        if drain:
            _drain(service, rematch=sync, idle_s=idle if not settings.kafka else max(idle, 10.0))
        else:
            err.print(
                Text(f"已发布 {report.published} 条投诉到 {service.topics.complaints if service.topics else ''}；"
                     "写入投诉库由 `sweep consume complaints` 完成"),
                highlight=False,
            )  # fmt: skip
    except FileError as exc:
        err.print(message("无法读取", exc), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNUSABLE) from None
    except Refused as exc:
        err.print(message("无权限", exc), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    finally:
        _close(service)
    if shown > ERRORS_SHOWN:
        err.print(Text(f"… 另有 {shown - ERRORS_SHOWN} 行被跳过（见日志）", style="red"), highlight=False)
    err.print(_report_table(report), highlight=False)
    if report.error_count:
        raise typer.Exit(EXIT_SKIPPED)


def _report_table(report: ImportReport) -> Table:
    table = Table(title=cell(f"导入 {report.source}", limit=200), title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in (
        ("读取行数 rows", report.rows),
        ("发布 published", report.published),
        ("跳过 rejected", report.error_count),
        ("重复编号 duplicates", report.duplicates),
    ):
        table.add_row(Text(label), Text(str(value), style="bold red" if "rejected" in label and value else ""))
    if report.encoding:
        table.add_row(Text("编码 encoding"), cell(report.encoding))
    if report.ignored:
        table.add_row(Text("未识别的列 ignored"), cell("、".join(report.ignored), limit=300))
    return table


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of {', '.join(FORMATS)}.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: standard output; xlsx needs a file).")
    ] = None,
    user: UserOpt = None,
    role: RoleOpt = Role.admin,
    region: RegionOpt = None,
) -> None:
    """One record per complaint, personal data masked, with `matches` (platform, shop_id, score,
    reasons, lead_ids)."""
    if fmt not in FORMATS:
        err.print(message("未知格式", fmt), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    if fmt == "xlsx" and output is None:
        err.print(Text("xlsx 需要 --output 文件", style="bold red"), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    service = _service()
    try:
        count = service.export(_actor(user, role, region), fmt, output or sys.stdout.buffer)
    except Refused as exc:
        err.print(message("无权限", exc), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    finally:
        sys.stdout.flush()
        _close(service)
    err.print(Text(f"导出 {count} 条投诉"), highlight=False)


@app.command("show")
def show(
    complaint_id: Annotated[str, typer.Argument(help="登记编号.", show_default=False)],
    personal_data: Annotated[bool, typer.Option("--personal-data", help="Also show personal data (audited).")] = False,
    purpose: Annotated[str, typer.Option(help="Why personal data is viewed (recorded in the audit log).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    user: UserOpt = None,
    role: RoleOpt = Role.admin,
    region: RegionOpt = None,
) -> None:
    """A complaint (masked) with the sellers it is matched to; --personal-data adds the unmasked values
    for the officer handling it or a supervisor of its region (recorded in the audit log)."""
    actor = _actor(user, role, region)
    if personal_data and not purpose.strip():
        err.print(Text("查看个人信息须说明用途: --purpose", style="bold red"), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE)
    service = _service()
    try:
        found = service.show(actor, complaint_id)
        if found is None:
            err.print(message("未找到投诉", complaint_id), highlight=False)
            raise typer.Exit(EXIT_SKIPPED)
        complaint, matches = found
        personal = service.personal_data(actor, complaint_id, purpose) if personal_data else None
    except Refused as exc:
        err.print(message("无权限", exc), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    finally:
        _close(service)
    if as_json:
        doc = complaint.model_dump(mode="json", exclude_none=True)
        doc["matches"] = [m.model_dump(mode="json", exclude_none=True) for m in matches]
        if personal is not None:
            doc["personal_data"] = personal.model_dump(mode="json", exclude_none=True)
        json_line(doc, indent=True)
        return
    table = Table(title=cell(f"投诉 {complaint.complaint_id}"), title_justify="left", show_header=False)
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("")
    for label, value in (
        ("登记日期", complaint.received_at.isoformat()),
        ("平台", complaint.platform),
        ("网店名称", complaint.shop_name),
        ("被投诉人", complaint.seller_name),
        ("统一社会信用代码", complaint.shop_uscc),
        ("网址", complaint.url),
        ("商品", complaint.product),
        ("分类", " ".join(filter(None, (complaint.category_code, complaint.category)))),
        ("办理状态", complaint.status),
        ("属地", complaint.region),
        ("承办人", complaint.handler),
        ("投诉人", complaint.complainant_name),
        ("联系电话", complaint.complainant_phone),
        ("个人信息", "、".join(complaint.pii_kinds)),
    ):
        if value:
            table.add_row(Text(label), cell(value))
    table.add_row(Text("投诉内容"), block(complaint.text))
    if complaint.demand:
        table.add_row(Text("诉求"), block(complaint.demand))
    for m in matches:
        table.add_row(
            Text("匹配卖家"),
            cell(
                f"{m.platform} {m.shop_id} {m.shop_name or ''} 得分 {m.score:.2f}: "
                f"{'；'.join(m.reasons)}; 线索 {len(m.lead_ids)} 条"
            ),
        )
    if not matches:
        table.add_row(Text("匹配卖家"), Text("无（sweep 尚未发现该商家：可作为采集目标）", style="yellow"))
    if personal is not None:
        for label, value in (
            ("投诉人（原文）", personal.name),
            ("电话（原文）", personal.phone),
            ("证件号（原文）", personal.id_number),
            ("地址（原文）", personal.address),
        ):
            if value:
                table.add_row(Text(label, style="red"), cell(value))
        if personal.text:
            table.add_row(Text("投诉内容（原文）", style="red"), block(personal.text))
    console.print(table)


@app.command("list")
def list_(
    text: Annotated[
        str | None, typer.Option("--text", "-q", help="Words in the complaint text, shop or product.")
    ] = None,
    platform: Annotated[list[str] | None, typer.Option(help="Platform as written in the file.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="办理状态.")] = None,
    matched: Annotated[
        bool | None, typer.Option("--matched/--unmatched", help="Only linked / only unlinked (crawl targets).")
    ] = None,
    size: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    user: UserOpt = None,
    role: RoleOpt = Role.admin,
    region: RegionOpt = None,
) -> None:
    """Complaints within the asker's jurisdiction, newest first; --unmatched lists crawl targets."""
    service = _service()
    query = ComplaintQuery(text=text, platforms=platform or (), statuses=status or (), matched=matched, size=size)
    try:
        result = service.search(_actor(user, role, region), query)
    except Refused as exc:
        err.print(message("无权限", exc), highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None
    finally:
        _close(service)
    if as_json:
        for c in result.complaints:
            doc = c.model_dump(mode="json", exclude_none=True)
            doc["matches"] = [
                m.model_dump(mode="json", exclude_none=True) for m in result.matches.get(c.complaint_id, [])
            ]
            json_line(doc)
        return
    table = Table(title=Text(f"投诉 — 共 {result.total} 条"), title_justify="left")
    for column in ("登记编号", "登记日期", "平台", "网店/被投诉人", "分类", "状态", "匹配"):
        table.add_column(column)
    for c in result.complaints:
        found = result.matches.get(c.complaint_id, [])
        table.add_row(
            cell(c.complaint_id),
            cell(c.received_at.date().isoformat()),
            cell(c.platform),
            cell(c.shop_name or c.seller_name, limit=40),
            cell(" ".join(filter(None, (c.category_code, c.category))), limit=30),
            cell(c.status),
            cell(", ".join(f"{m.platform}:{m.shop_id}" for m in found) or "—", limit=60),
        )
    console.print(table)


@app.command("sync-sellers")
def sync_sellers(
    from_leads: Annotated[
        bool, typer.Option("--from-leads", help="Also read every lead in the lead store, page by page.")
    ] = False,
) -> None:
    """Update the seller directory from the bus (and optionally the lead store) and re-match."""
    service = _service()
    try:
        if from_leads:
            store = open_lead_store()
            try:
                read = bootstrap_from_leads(store, service.directory)
            finally:
                store.close()
            err.print(Text(f"从线索库读取 {read} 条线索"), highlight=False)
            service.rematch_all()
        _sync(service)
        err.print(Text(f"卖家目录共 {service.directory.count()} 个店铺"), highlight=False)
    finally:
        _close(service)


@app.command("match")
def match() -> None:
    """Match every complaint again against the whole seller directory (after changing the rules)."""
    service = _service()
    try:
        total, matched = service.rematch_all()
    finally:
        _close(service)
    err.print(Text(f"{total} 条投诉重新匹配, {matched} 条匹配到卖家"), highlight=False)


logging.getLogger("sweep.complaints").addHandler(logging.NullHandler())
