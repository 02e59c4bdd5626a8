"""Report files: HTML (Jinja2, autoescaped: shop names and titles are crawled text), PDF (the HTML
printed by a printer the caller passes in, e.g. the workspace's Chromium print, so this package needs
no browser of its own) and XLSX (openpyxl, one sheet per table)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from reports.figures import Figures, rate, trend
from reports.tables import Table, tables

Format = Literal["html", "pdf", "xlsx"]
Printer = Callable[[str], bytes]
"""HTML in, PDF bytes out."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def _safe(value: str | int) -> str | int:
    """A cell as written: control characters dropped, and text that Excel would run as a formula
    prefixed with an apostrophe (a crawled shop name is not a formula)."""
    if isinstance(value, int):
        return value
    text = _CONTROL.sub("", value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def xlsx(figures: Figures, table_list: list[Table] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for table in table_list if table_list is not None else tables(figures):
        sheet = book.create_sheet(_sheet_title(table.title, taken))
        sheet.append([_safe(h) for h in table.headers])
        for c in sheet[1]:
            c.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_safe(v) for v in row])
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
