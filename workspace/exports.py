"""Files people take away: the current search (CSV, XLSX), the audit trail (CSV, JSON lines) and a
case file (XLSX of its leads; PDF printed by Chromium with Noto CJK fonts).

Headers are Chinese. Listing text may carry personal data (a listing selling 公民个人信息 quotes it),
so exported text is masked (`sweep.privacy.mask_text`) for every role but supervisors. Spreadsheet
cells that start like a formula are prefixed with an apostrophe, so a crawled title cannot run as a
formula in Excel (CSV injection).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC

from sweep.audit import AuditRecord
from sweep.models import FAMILY_LABELS_ZH, TRIAGE_LABELS_ZH, Lead
from sweep.people import Actor, Role
from sweep.privacy import mask_text

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}
LEAD_HEADERS = (
    "线索编号",
    "平台",
    "商品编号",
    "商品标题",
    "店铺",
    "店铺编号",
    "所在地",
    "违法类型",
    "规则",
    "严重程度",
    "法律依据",
    "证据",
    "首次发现",
    "最近发现",
    "发现次数",
    "状态",
    "承办人",
    "备注",
    "商品链接",
)
AUDIT_HEADERS = (
    "序号",
    "时间",
    "操作人",
    "角色",
    "操作",
    "对象类型",
    "对象",
    "是否允许",
    "说明",
    "修改前",
    "修改后",
    "来源",
    "前一哈希",
    "哈希",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _masked(actor: Actor, text: str | None) -> str:
    if not text:
        return ""
    return text if actor.role is Role.supervisor else mask_text(text)


def lead_row(actor: Actor, lead: Lead) -> list[object]:
    s = lead.listing
    return [
        cell(v)
        for v in (
            lead.lead_id,
            lead.platform,
            lead.listing_id,
            _masked(actor, s.title),
            s.shop_name or "",
            s.shop_id or "",
            s.region or "",
            FAMILY_LABELS_ZH.get(lead.family, lead.family),
            lead.title_zh or lead.rule_id,
            SEVERITY_ZH.get(lead.severity, lead.severity),
            lead.legal_basis,
            "；".join(_masked(actor, e.text) for e in lead.evidence),
            lead.first_seen.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            lead.last_seen.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            lead.times_seen,
            TRIAGE_LABELS_ZH.get(lead.status.value, lead.status.value),
            lead.assignee or "",
            _masked(actor, lead.note),
            s.url or "",
        )
    ]


def leads_csv(actor: Actor, leads: Iterable[Lead]) -> Iterator[str]:
    """Streamed CSV with a BOM, so Excel opens the Chinese text as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(LEAD_HEADERS)
    for lead in leads:
        writer.writerow(lead_row(actor, lead))
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def leads_xlsx(actor: Actor, leads: Iterable[Lead], title: str = "线索") -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(LEAD_HEADERS))
    for lead in leads:
        sheet.append(lead_row(actor, lead))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def audit_row(record: AuditRecord) -> list[object]:
    e = record.event
    return [
        cell(v)
        for v in (
            record.seq,
            e.at.astimezone(UTC).isoformat(),
            e.actor,
            e.role,
            e.action,
            e.resource_type,
            e.resource_id,
            "是" if e.allowed else "否",
            e.detail,
            e.before,
            e.after,
            e.source,
            record.prev_hash,
            record.hash,
        )
    ]


def audit_csv(records: Iterable[AuditRecord]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(AUDIT_HEADERS)
    for record in records:
        writer.writerow(audit_row(record))
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def audit_jsonl(records: Iterable[AuditRecord]) -> Iterator[str]:
    """One JSON object per record, with the chain fields, so an export can be verified on its own."""
    for r in records:
        e = r.event
        yield (
            json.dumps(
                {
                    "seq": r.seq,
                    "at": e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "actor": e.actor,
                    "role": e.role,
                    "action": e.action,
                    "resource_type": e.resource_type,
                    "resource_id": e.resource_id,
                    "allowed": e.allowed,
                    "detail": e.detail,
                    "before": e.before,
                    "after": e.after,
                    "source": e.source,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                },
                ensure_ascii=False,
            )
            + "\n"
        )


def html_to_pdf(html: str, chromium: str | None = None) -> bytes:
    """Print an HTML page to A4 PDF with Debian's Chromium (Playwright drives it; no network: the page
    is self-contained and every request it makes is refused)."""
    from playwright.sync_api import sync_playwright

    from spiders.browser import find_chromium

    executable = find_chromium(chromium)
    if executable is None:
        raise RuntimeError("需要 Chromium 才能生成 PDF（make install-browser 安装 Debian 的 chromium）")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(java_script_enabled=False)
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="load")
            return page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
            )
        finally:
            browser.close()
