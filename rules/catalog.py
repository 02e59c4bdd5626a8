"""Catalogs as data: CSV files analysts edit, each with `# source:` and `# date:` header lines.

A catalog row is one substance or phrase. The columns that produce match terms are the first column
(`name`, `term` or `claim`) plus `aliases` and `formulas` (`|`-separated); `cas` is validated by its
check digit; `exclude` lists context words that cancel this row only (镁粉 next to 防滑粉); `min_pct`
is a concentration at or below which the substance is not listed (过氧化氢 >8%); `regions` are the
place names an origin claim must agree with; `stands_for` (evasions.csv) is the listed name a seller's
spelling stands for.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from rules.errors import RulebookError
from rules.normalize import cas_valid

NAME_COLUMNS = ("name", "term", "claim")


@dataclass(slots=True)
class Entry:
    catalog: str
    row: int  # index within the catalog
    line: int  # 1-based line in the CSV file
    name: str
    terms: list[str]
    formulas: list[str] = field(default_factory=list)
    cas: str | None = None
    exclude: list[str] = field(default_factory=list)
    min_pct: float | None = None
    regions: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    category: str | None = None
    note: str | None = None
    serial: str | None = None  # the entry's number in the official list it was generated from
    stands_for: str | None = None  # evasions.csv: the listed name this spelling stands for


@dataclass(slots=True)
class Catalog:
    name: str
    path: Path
    sources: list[str]
    date: str
    entries: list[Entry]


def _split(value: str | None) -> list[str]:
    if not value:
        return []  # most cells are empty: thousands of generated rows load without a split
    return [p.strip() for p in value.split("|") if p.strip()]


def load_catalog(path: Path) -> Catalog:
    """Parse one catalog CSV; any problem raises RulebookError with the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulebookError(path, None, f"无法读取目录文件: {exc}") from exc
    lines = text.splitlines()
    sources: list[str] = []
    date = ""
    body_start = 0
    for i, line in enumerate(lines):
        s = line.strip()
        if not s.startswith("#"):
            body_start = i
            break
        key, _, value = s.lstrip("#").strip().partition(":")
        if key.strip() == "source":
            sources.append(value.strip())
        elif key.strip() == "date":
            date = value.strip()
    else:
        body_start = len(lines)
    if not sources:
        raise RulebookError(path, 1, "缺少 '# source:' 来源说明行")
    if not date:
        raise RulebookError(path, 1, "缺少 '# date:' 日期行")
    reader = csv.reader(io.StringIO("\n".join(lines[body_start:])))
    rows = list(reader)
    if not rows:
        raise RulebookError(path, body_start + 1, "缺少表头")
    header = [h.strip() for h in rows[0]]
    name_col = next((c for c in NAME_COLUMNS if c in header), None)
    if name_col is None:
        raise RulebookError(path, body_start + 1, f"表头需含 {'/'.join(NAME_COLUMNS)} 之一")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for offset, row in enumerate(rows[1:], start=1):
        line_no = body_start + 1 + offset
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) != len(header):
            raise RulebookError(path, line_no, f"列数为 {len(row)}，表头为 {len(header)} 列")
        rec = dict(zip(header, (c.strip() for c in row), strict=True))
        name = rec[name_col]
        if not name:
            raise RulebookError(path, line_no, f"{name_col} 为空")
        cas = rec.get("cas") or None
        if cas and not cas_valid(cas):
            raise RulebookError(path, line_no, f"CAS 号 {cas} 校验位错误")
        min_pct = None
        if rec.get("min_pct"):
            try:
                min_pct = float(rec["min_pct"])
            except ValueError as exc:
                raise RulebookError(path, line_no, f"min_pct {rec['min_pct']!r} 不是数字") from exc
        terms = [name, *_split(rec.get("aliases")), *_split(rec.get("formulas"))]
        if name_col == "name" and (len(name) == 1 or rec.get("name_match") == "no"):
            # a bare element name (钠, 镁) would match inside every salt; name_match=no marks an official name
            # that is an everyday word (汽油, 冰片) or belongs to another entry: it labels, it does not match
            terms = terms[1:]
        for t in terms:
            if t in seen:
                raise RulebookError(path, line_no, f"词条 {t!r} 与第 {seen[t]} 行重复")
            seen[t] = line_no
        entries.append(
            Entry(
                catalog=path.stem,
                row=len(entries),
                line=line_no,
                name=name,
                terms=terms,
                formulas=_split(rec.get("formulas")),
                cas=cas,
                exclude=_split(rec.get("exclude")),
                min_pct=min_pct,
                regions=_split(rec.get("regions")),
                parents=_split(rec.get("parents")),
                category=rec.get("category") or None,
                note=rec.get("note") or None,
                serial=rec.get("serial") or None,
                stands_for=rec.get("stands_for") or None,
            )
        )
    return Catalog(path.stem, path, sources, date, entries)
