"""Report files: HTML (Jinja2, autoescaped: shop names and titles are crawled text), PDF (the HTML
printed by a printer the caller passes in, e.g. the workspace's Chromium print, so this package needs
no browser of its own) and XLSX (openpyxl, one sheet per table)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from reports.figures import Figures, rate, trend
from reports.tables import Table, tables

Format = Literal["html", "pdf", "xlsx"]
Printer = Callable[[str], bytes]
"""HTML in, PDF bytes out."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(rate=rate, trend=trend)
    return env


def html(figures: Figures) -> str:
    template = "report_campaign.html" if figures.kind == "campaign" else "report_daily.html"
    return environment().get_template(template).render(figures=figures, tables=tables(figures))


def _sheet_title(title: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    name = re.sub(r"[\[\]:*?/\\]", "", title)[:31] or "表"
    base, n = name, 2
    while name in taken:
        suffix = f"({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _clean(value: str | int) -> str | int:
    """A cell's value: control characters dropped from text (they are invalid in XLSX)."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


def _append(sheet: Any, values: list[str | int]) -> None:
    """One row, every text cell typed as a string: a crawled shop name that starts with "=" stays text
    and never runs as a formula."""
    sheet.append([_clean(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def xlsx(figures: Figures, table_list: list[Table] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for table in table_list if table_list is not None else tables(figures):
        sheet = book.create_sheet(_sheet_title(table.title, taken))
        _append(sheet, list(table.headers))
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in table.rows:
            _append(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(figures: Figures, fmt: Format, *, printer: Printer | None = None) -> bytes:
    """The report file's bytes in `fmt`; a PDF needs `printer`."""
    if fmt == "html":
        return html(figures).encode("utf-8")
    if fmt == "xlsx":
        return xlsx(figures)
    if fmt == "pdf":
        if printer is None:
            raise ValueError("a PDF needs a printer (HTML -> PDF)")
        return printer(html(figures))
    raise ValueError(f"unknown format {fmt}")
