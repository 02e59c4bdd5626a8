"""`sweep leads ...`: enforcement staff search and triage leads from the terminal.

Everything crawled is shown through `rich.text.Text`, never as markup, because a listing title is
hostile input and `[link=...]` or `[/]` in it must print as the characters it is; and it is cleaned by
`sweep.text.safe_text` first, so escape sequences, control and bidi characters in it cannot act on the
terminal and a 100 kB title stays one bounded cell.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from adapters import open_lead_store
from app.cli.display import block, cell, json_line
from sweep.models import FAMILY_LABELS_ZH, TRIAGE_LABELS_ZH, Evidence, Lead, TriageStatus
from sweep.store import LeadQuery, LeadSearchResult
from sweep.text import CELL_LIMIT, safe_text, truncation_mark

app = typer.Typer(help="检索与研判线索 — search and triage leads.", no_args_is_help=True)
console = Console()

SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}


def _highlighted(fragment: str, limit: int = CELL_LIMIT) -> Text:
    """Turn an escaped `<em>` fragment from the store into styled text without interpreting markup; each
    piece is cleaned, and the whole is bounded like any other cell."""
    text = Text()
    for i, part in enumerate(fragment.split("<em>")):
        inner, _, rest = part.partition("</em>") if i else ("", "", part)
        if inner:
            text.append(safe_text(html.unescape(inner), limit=None), style="bold red")
        text.append(safe_text(html.unescape(rest), limit=None))
    if len(text) > limit:  # the same cut and marker as an unhighlighted cell
        hidden = len(text) - max(limit - len(truncation_mark(len(text))), 1)
        text.right_crop(hidden)
        text.append(truncation_mark(hidden))
    return text


def _evidence_line(e: Evidence, *, with_field: bool = True) -> str:
    """`title: KCN → 氰化钾 CAS 151-50-8`: the text as sold, and what the rulebook recognised it as.
    Cleaned here because evidence quotes the listing."""
    quoted = safe_text(e.text, limit=80)
    text = f"{safe_text(e.field, limit=40)}: {quoted}" if with_field else quoted
    return f"{text} → {safe_text(e.matched, limit=80)}" if e.matched and not e.matched.startswith(e.text) else text


def leads_table(result: LeadSearchResult, title: str) -> Table:
    table = Table(title=cell(title, limit=None), title_justify="left", show_lines=False)
    table.add_column("线索编号", no_wrap=True)
    table.add_column("类别")
    table.add_column("风险")
    table.add_column("状态")
    table.add_column("商品", overflow="fold", ratio=3)
    table.add_column("店铺", overflow="fold", ratio=1)
    table.add_column("证据", overflow="fold", ratio=2)
    table.add_column("最近发现", no_wrap=True)
    table.add_column("次数", justify="right")
    for lead in result.leads:
        marks = result.highlights.get(lead.lead_id, {})
        title_cell = _highlighted(marks["title"][0]) if "title" in marks else cell(lead.listing.title)
        evidence = cell("; ".join(_evidence_line(e) for e in lead.evidence[:3]))
        table.add_row(
            cell(lead.lead_id),
            cell(FAMILY_LABELS_ZH.get(lead.family, lead.family)),
            cell(SEVERITY_ZH.get(lead.severity, lead.severity)),
            cell(TRIAGE_LABELS_ZH.get(lead.status.value, lead.status.value)),
            title_cell,
            cell(lead.listing.shop_name),
            evidence,
            cell(lead.last_seen.strftime("%Y-%m-%d %H:%M")),
            cell(lead.times_seen),
        )
    return table


def facets_table(result: LeadSearchResult) -> Table:
    table = Table(title="分面统计", title_justify="left")
    table.add_column("字段")
    table.add_column("计数")
    for field, counts in result.facets.items():
        label = {"family": FAMILY_LABELS_ZH, "status": TRIAGE_LABELS_ZH, "severity": SEVERITY_ZH}.get(field, {})
        values = ", ".join(f"{safe_text(label.get(k, k), limit=60)} {n}" for k, n in list(counts.items())[:8])
        table.add_row(cell(field), cell(values, limit=None))
    return table


@app.command("search")
def search(
    text: Annotated[
        str | None,
        typer.Argument(
            help='检索式: words (all must occur), "phrases", -exclusion, OR, field:value '
            "(family: severity: status: platform: region: category: shop:), e.g. '氰化钠 -检测'."
        ),
    ] = None,
    family: Annotated[list[str] | None, typer.Option("--family", "-f", help="Lead family, repeatable.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", "-s", help="Triage status, repeatable.")] = None,
    severity: Annotated[list[str] | None, typer.Option("--severity", help="high / medium / low.")] = None,
    platform: Annotated[list[str] | None, typer.Option("--platform", "-p")] = None,
    region: Annotated[list[str] | None, typer.Option("--region")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Listing category, repeatable.")] = None,
    shop: Annotated[str | None, typer.Option(help="Shop id or part of its name.")] = None,
    since: Annotated[datetime | None, typer.Option(help="Last seen on or after (ISO date).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Last seen on or before (ISO date).")] = None,
    sort: Annotated[str, typer.Option(help="recent | priority")] = "recent",
    size: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One lead per line as JSON, for scripts.")] = False,
) -> None:
    """Full-text search (Chinese-aware) with filters; prints a table and facet counts."""
    if sort not in ("recent", "priority"):
        raise typer.BadParameter("sort must be 'recent' or 'priority'", param_hint="--sort")
    query = LeadQuery(
        text=text,
        families=family or (),
        statuses=status or (),
        severities=severity or (),
        platforms=platform or (),
        regions=region or (),
        categories=category or (),
        shop=shop,
        seen_from=since,
        seen_to=until,
        sort=sort,  # type: ignore[arg-type]
        size=size,
    )
    with open_lead_store() as store:
        result = store.search(query)
    if as_json:
        for lead in result.leads:
            json_line(lead.model_dump(mode="json"))
        return
    console.print(
        leads_table(result, f"线索检索: {result.total} 条" + (f" — “{safe_text(text, limit=80)}”" if text else ""))
    )
    console.print(facets_table(result))


@app.command("show")
def show(lead_id: Annotated[str, typer.Argument(help="Lead id (the full id, as `--json` prints it).")]) -> None:
    """One lead in full: evidence, legal basis, listing facts and triage state."""
    with open_lead_store() as store:
        lead = store.get(lead_id)
    if lead is None:
        console.print(cell(f"no lead {lead_id}", "red"))
        raise typer.Exit(1)
    console.print(lead_detail(lead))


def lead_detail(lead: Lead) -> Table:
    table = Table(show_header=False, title=cell(f"线索 {lead.lead_id}"), title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("类别", f"{FAMILY_LABELS_ZH.get(lead.family, '')} ({lead.family})"),
        ("规则", f"{lead.rule_id} {lead.title_zh or ''}"),
        ("风险", SEVERITY_ZH.get(lead.severity, lead.severity)),
        ("法律依据", lead.legal_basis),
        ("商品", lead.listing.title),
        ("链接", lead.listing.url or ""),
        (
            "店铺",
            f"{safe_text(lead.listing.shop_name)} ({safe_text(lead.listing.shop_licence_no, limit=60) or '未亮照'})",
        ),
        ("地区", lead.listing.region or ""),
        (
            "证据",
            "\n".join(
                f"[{safe_text(e.field, limit=40)} {e.start}-{e.end}] {_evidence_line(e, with_field=False)}"
                for e in lead.evidence[:20]
            )
            + (f"\n…（另有 {len(lead.evidence) - 20} 条证据）" if len(lead.evidence) > 20 else ""),
        ),
        ("首次/最近发现", f"{lead.first_seen:%Y-%m-%d %H:%M} / {lead.last_seen:%Y-%m-%d %H:%M} ({lead.times_seen} 次)"),
        ("状态", TRIAGE_LABELS_ZH.get(lead.status.value, lead.status.value)),
        ("承办人", lead.assignee or ""),
        ("备注", lead.note or ""),  # typed by staff, but may paste crawled text: cleaned like the rest
    ]
    for key, value in rows:
        # every row is cleaned (one line) except evidence, whose lines were cleaned one by one above
        table.add_row(cell(key), block(value, limit=None) if key == "证据" else cell(value))
    return table


@app.command("triage")
def triage(
    lead_id: str,
    status: Annotated[TriageStatus, typer.Option("--status", "-s", help="New triage status.")],
    assignee: Annotated[str | None, typer.Option(help="Who handles it.")] = None,
    note: Annotated[str | None, typer.Option(help="Why (kept with the lead).")] = None,
) -> None:
    """Set a lead's triage status; detection never overwrites it."""
    with open_lead_store() as store:
        try:
            lead = store.set_status(lead_id, status, assignee=assignee, note=note)
        except KeyError:
            console.print(cell(f"no lead {lead_id}", "red"))
            raise typer.Exit(1) from None
    console.print(lead_detail(lead))
