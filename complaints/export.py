"""Export: one record per complaint with its fields (personal data masked) and `matches`.

`matches` is a list of `{"platform", "shop_id", "score", "reasons", "lead_ids"}`, empty when the
complaint matches no seller sweep knows. JSON lines carry it as a list; CSV and XLSX, being flat, carry
it as a JSON string in one column. CSV is written as UTF-8 with a BOM so that Excel on a Chinese
Windows opens it without garbling. Records come from the store in bounded pages, so an export of a
million complaints runs in constant memory (XLSX through openpyxl's write-only mode).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from sweep.models import Complaint, ComplaintMatch

FORMATS = ("jsonl", "csv", "xlsx")
COLUMNS = (
    "complaint_id", "received_at", "kind", "platform", "shop_name", "seller_name", "shop_uscc", "shop_id", "url",
    "product", "text", "demand", "category_code", "category", "status", "closed_at", "result", "recovered_loss",
    "region", "handler", "complainant_name", "complainant_phone", "complainant_id_number", "complainant_address",
    "pii_kinds", "matches",
)  # fmt: skip


def export_record(complaint: Complaint, matches: Iterable[ComplaintMatch]) -> dict[str, Any]:
    doc = complaint.model_dump(mode="json")
    doc["matches"] = [
        {"platform": m.platform, "shop_id": m.shop_id, "score": m.score, "reasons": m.reasons, "lead_ids": m.lead_ids}
        for m in matches
    ]
    return {name: doc.get(name) for name in COLUMNS}


def _flat(value: Any) -> Any:
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value


def write(records: Iterator[dict[str, Any]], fmt: str, out: BinaryIO | Path) -> int:
    """Write `records` in `fmt` to a binary stream (jsonl, csv) or a path (any); returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {FORMATS}")
    if fmt == "xlsx":
        if not isinstance(out, Path):
            raise ValueError("xlsx is written to a file (--output)")
        return _write_xlsx(records, out)
    if isinstance(out, Path):
        with out.open("wb") as stream:
            return write(records, fmt, stream)
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
            count += 1
        return count
    out.write(b"\xef\xbb\xbf")
    lines: list[str] = []

    class _Sink:
        def write(self, text: str) -> None:
            lines.append(text)

    writer = csv.writer(_Sink())
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_cell(_flat(record[name])) for name in COLUMNS])
        count += 1
        if len(lines) >= 1000:
            out.write("".join(lines).encode())
            lines.clear()
    out.write("".join(lines).encode())
    return count


def _write_xlsx(records: Iterator[dict[str, Any]], path: Path) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("投诉")
    ws.append(list(COLUMNS))
    count = 0
    for record in records:
        ws.append([_cell(_flat(record[name])) for name in COLUMNS])
        count += 1
    wb.save(path)
    return count


def _cell(value: Any) -> Any:
    """A value as a cell: complaint text is written by the public, and a cell starting with =, +, - or @
    is run as a formula when the file is opened in Excel (CSV injection); a leading quote keeps it text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
