"""Rows out of the files bureaus exchange: XLSX, CSV and JSON lines, with their header recognised.

Every reader yields `Row`s: the row's number as the person who made the file sees it (the spreadsheet
row, the CSV record counting the header, the JSON line) and its values by field (`complaints.fields`).
Blank rows (the trailing ones every spreadsheet has) are skipped silently; everything else reaches the
caller, which reports what it cannot use by that number.

XLSX is read in openpyxl's read-only mode (constant memory, so a million-row export does not need
gigabytes). That mode does not expose merged cells, so their ranges are read from the sheet's XML
(`<mergeCell ref="A1:C1"/>`) in one streaming pass; a header split over two merged rows (被投诉人 over
名称 | 统一社会信用代码) is then read as 被投诉人名称 | 被投诉人统一社会信用代码.

CSV encodings: a BOM decides (UTF-8, UTF-16); otherwise the first 256 kB either decode as UTF-8 or the
file is GB18030 (the superset of GBK and GB2312 that Chinese Excel writes). The delimiter is sniffed
among comma, tab, semicolon and bar.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from complaints.fields import column_fields, recognise

HEADER_SCAN_ROWS = 20
"""Header rows are looked for among the first rows only (titles and notes may come before them)."""
SAMPLE_BYTES = 256 * 1024


class FileError(ValueError):
    """The file as a whole cannot be read (no header recognised, not a spreadsheet, bad encoding)."""


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]


@dataclass(slots=True)
class Table:
    """A file opened for reading: which columns became which fields, and its rows (read lazily)."""

    source: str
    fields: dict[str, str] = field(default_factory=dict)
    """header as written -> field, for the report."""
    ignored: list[str] = field(default_factory=list)
    """Headers no field claims (shown to the user, who may add a mapping file)."""
    encoding: str | None = None
    rows: Iterator[Row] = field(default_factory=lambda: iter(()))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _combine(top: Any, sub: Any, mapping: dict[str, str] | None) -> str:
    """The header of one column over two header rows."""
    top_s = "" if _blank(top) else str(top).strip()
    sub_s = "" if _blank(sub) else str(sub).strip()
    if not sub_s or top_s == sub_s:
        return top_s
    if not top_s:
        return sub_s
    if recognise(top_s + sub_s, mapping):
        return top_s + sub_s
    if recognise(sub_s, mapping):
        return sub_s
    return top_s + sub_s


def _find_header(grid: list[list[Any]], mapping: dict[str, str] | None) -> tuple[int, int, list[str]] | None:
    """(index of the first header row, number of header rows, header names) for the best reading of the
    first rows, or None when no row names at least two known fields."""
    best: tuple[int, int, int, list[str]] | None = None  # (recognised, -start, rows, names)
    for start in range(len(grid)):
        one = ["" if _blank(v) else str(v).strip() for v in grid[start]]
        candidates = [(1, one)]
        if start + 1 < len(grid):
            width = max(len(grid[start]), len(grid[start + 1]))
            top = grid[start] + [None] * (width - len(grid[start]))
            sub = grid[start + 1] + [None] * (width - len(grid[start + 1]))
            candidates.append((2, [_combine(t, s, mapping) for t, s in zip(top, sub, strict=True)]))
        for rows, names in candidates:
            score = len(column_fields(list(names), mapping))
            if score >= 2 and (best is None or score > best[0]):
                best = (score, start, rows, names)
        if best is not None and start > best[1] + 1:
            break
    return (best[1], best[2], best[3]) if best else None


def _table(
    source: str, names: list[str], mapping: dict[str, str] | None, encoding: str | None = None
) -> tuple[Table, dict[int, str]]:
    columns = column_fields(list(names), mapping)
    table = Table(
        source=source,
        fields={names[i]: f for i, f in columns.items()},
        ignored=[n for i, n in enumerate(names) if n and i not in columns],
        encoding=encoding,
    )
    return table, columns


def _rows(numbered: Iterator[tuple[int, list[Any]]], columns: dict[int, str]) -> Iterator[Row]:
    for number, cells in numbered:
        if all(_blank(v) for v in cells):
            continue
        values = {f: cells[i] for i, f in columns.items() if i < len(cells) and not _blank(cells[i])}
        yield Row(number, values)


# -- XLSX ---------------------------------------------------------------------------------------------
_CELL = re.compile(r"([A-Z]+)(\d+)")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+):([A-Z]+\d+)"')


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _merged_ranges(path: Path, sheet_xml: str | None, upto_row: int) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col), 0-based, of merged ranges starting in the first `upto_row`
    rows. Streams the sheet XML in chunks (it can be hundreds of MB); merges are listed at its end."""
    if not sheet_xml:
        return []
    found: list[tuple[int, int, int, int]] = []
    with zipfile.ZipFile(path) as archive, archive.open(sheet_xml.lstrip("/")) as xml:
        tail = b""
        while chunk := xml.read(1 << 20):
            data = tail + chunk
            last_end = 0
            for m in _MERGE.finditer(data):
                last_end = m.end()
                (c1, r1), (c2, r2) = (_CELL.fullmatch(g.decode()).groups() for g in m.groups())  # type: ignore[union-attr]
                if int(r1) <= upto_row:
                    found.append((int(r1) - 1, _col_index(c1), int(r2) - 1, _col_index(c2)))
            tail = data[max(last_end, len(data) - 200) :]
    return found


def read_xlsx(path: Path, sheet: str | None = None, mapping: dict[str, str] | None = None) -> Table:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise FileError(f"{path}: not a readable XLSX workbook ({type(exc).__name__})") from exc
    if sheet is not None and sheet not in wb.sheetnames:
        wb.close()
        raise FileError(f"{path}: no sheet {sheet!r}; sheets: {wb.sheetnames}")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    ws.reset_dimensions()  # some writers record wrong dimensions; read what is there
    rows = ws.iter_rows(values_only=True)
    head: list[list[Any]] = []
    for _ in range(HEADER_SCAN_ROWS):
        try:
            head.append(list(next(rows)))
        except StopIteration:
            break
    merges = _merged_ranges(path, getattr(ws, "_worksheet_path", None), HEADER_SCAN_ROWS)
    for r1, c1, r2, c2 in merges:  # a merged cell's value shown in every cell it covers
        if r1 >= len(head):
            continue
        value = head[r1][c1] if c1 < len(head[r1]) else None
        for r in range(r1, min(r2, len(head) - 1) + 1):
            row = head[r]
            if len(row) <= c2:
                row.extend([None] * (c2 + 1 - len(row)))
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1):
                    row[c] = value
    found = _find_header(head, mapping)
    if found is None:
        wb.close()
        raise FileError(f"{path}: no header row with at least two known columns in the first {HEADER_SCAN_ROWS} rows")
    start, header_rows, names = found
    table, columns = _table(str(path), names, mapping)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            first = start + header_rows
            for index in range(first, len(head)):
                yield index + 1, head[index]
            for index, values in enumerate(rows, start=len(head)):
                yield index + 1, list(values)
        finally:
            wb.close()

    table.rows = _rows(numbered(), columns)
    return table


# -- CSV ----------------------------------------------------------------------------------------------
def detect_encoding(sample: bytes) -> str:
    """utf-8-sig, utf-16 or utf-8 when the sample decodes as such, else gb18030."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def read_csv(path: Path, mapping: dict[str, str] | None = None) -> Table:
    with path.open("rb") as f:
        sample = f.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")
    try:
        dialect: Any = csv.Sniffer().sniff(text_sample[:20_000], delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    stream = io.TextIOWrapper(path.open("rb"), encoding=encoding, newline="")
    reader = csv.reader(stream, dialect)
    head: list[list[Any]] = []
    try:
        for _ in range(HEADER_SCAN_ROWS):
            head.append(next(reader))
    except StopIteration:
        pass
    except UnicodeDecodeError as exc:
        stream.close()
        raise FileError(f"{path}: not readable as {encoding} ({exc.reason})") from exc
    found = _find_header(head, mapping)
    if found is None:
        stream.close()
        raise FileError(f"{path}: no header row with at least two known columns in the first {HEADER_SCAN_ROWS} rows")
    start, header_rows, names = found
    table, columns = _table(str(path), names, mapping, encoding)

    def numbered() -> Iterator[tuple[int, list[Any]]]:
        try:
            first = start + header_rows
            for index in range(first, len(head)):
                yield index + 1, head[index]
            for index, values in enumerate(reader, start=len(head)):
                yield index + 1, values
        except UnicodeDecodeError as exc:
            raise FileError(f"{path}: a record after row {index} is not {encoding} ({exc.reason})") from exc
        finally:
            stream.close()

    table.rows = _rows(numbered(), columns)
    return table


# -- JSON lines ---------------------------------------------------------------------------------------
def read_jsonl(path: Path, mapping: dict[str, str] | None = None) -> Table:
    """One object per line; keys are field names or headers (both recognised). A line that is not a JSON
    object becomes a row whose only value is the error, so the caller reports it by line number."""
    table = Table(source=str(path), encoding="utf-8")
    seen_ignored: dict[str, None] = {}

    def rows() -> Iterator[Row]:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    doc = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    yield Row(number, {"__error__": f"not valid JSON ({exc})"})
                    continue
                if not isinstance(doc, dict):
                    yield Row(number, {"__error__": f"expected a JSON object, got {type(doc).__name__}"})
                    continue
                values: dict[str, Any] = {}
                for key, value in doc.items():
                    name = recognise(key, mapping)
                    if name is None:
                        if key not in seen_ignored and len(seen_ignored) < 50:
                            seen_ignored[key] = None
                            table.ignored.append(str(key))
                        continue
                    table.fields.setdefault(str(key), name)
                    if not _blank(value) and name not in values:
                        values[name] = value
                yield Row(number, values)

    table.rows = rows()
    return table


def open_table(path: Path, *, sheet: str | None = None, mapping: dict[str, str] | None = None) -> Table:
    """The reader for `path`'s kind, by extension (xlsx/xlsm, csv/tsv/txt, jsonl/ndjson/json)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet, mapping)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return read_jsonl(path, mapping)
    if suffix in (".csv", ".tsv", ".txt"):
        return read_csv(path, mapping)
    if suffix == ".xls":
        raise FileError(f"{path}: the old .xls format is not read; save it as .xlsx or .csv")
    raise FileError(f"{path}: unknown file kind {suffix!r} (xlsx, csv, jsonl)")
