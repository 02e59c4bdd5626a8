"""Administrative divisions (GB/T 2260): region names as listings spell them, and the codes jurisdictions use.

A listing says where its shop is in words ("西藏自治区拉萨市城关区"); an account's jurisdiction is a code
(540000 the province, 540100 the city, 540102 the district). The code carries its own hierarchy: two
digits of province, two of prefecture, two of county, zeros where a level is not given. So "within" is a
prefix test, and the only data needed is the name of each code (`data/regions.csv`, vendored: no lookup
at run time).

Pure standard library, so the core owns it and every capability (workspace, complaints, reports) asks
the same question the same way.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "regions.csv"
NATIONAL = "000000"
"""The jurisdiction of national staff: every region, and leads whose region is unknown."""


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    """code -> official name of every province, prefecture and county."""
    with _DATA.open(encoding="utf-8") as f:
        rows = csv.reader(line for line in f if not line.startswith("#"))
        next(rows)  # header
        return {code: name for code, name in rows}


def level(code: str) -> int:
    """1 province, 2 prefecture, 3 county (0 for the national code)."""
    if code == NATIONAL:
        return 0
    if code.endswith("0000"):
        return 1
    if code.endswith("00"):
        return 2
    return 3


def _prefix(code: str) -> str:
    return code[: 2 * level(code)]


def within(code: str | None, jurisdiction: str | None) -> bool:
    """Whether a region (by code; None for unknown) lies in a jurisdiction. National staff (NATIONAL or
    None) see everything, unknown regions included; everyone else sees their code and the codes below it."""
    if jurisdiction in (None, NATIONAL):
        return True
    if code is None:
        return False
    return code.startswith(_prefix(jurisdiction))


def _short(name: str) -> str:
    """A name without its administrative suffix, as people often write it (西藏 for 西藏自治区)."""
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def _children() -> dict[str, list[tuple[str, str]]]:
    """parent prefix -> [(code, name)] of the next level ("" -> provinces)."""
    tree: dict[str, list[tuple[str, str]]] = {}
    for code, name in names().items():
        lv = level(code)
        parent = code[: 2 * (lv - 1)]
        tree.setdefault(parent, []).append((code, name))
    # a municipality's counties sit directly under the province code (310101 under 310000, no 310100)
    for code, name in list(names().items()):
        if level(code) == 3 and code[:4] + "00" not in names():
            tree.setdefault(code[:2], []).append((code, name))
    for entries in tree.values():  # longest names first so 海西蒙古族藏族自治州 wins over a shorter match
        entries.sort(key=lambda item: -len(item[1]))
    return tree


def _match(text: str, parent: str) -> tuple[str, int] | None:
    for code, name in _children().get(parent, []):
        for candidate in (name, _short(name)):
            if text.startswith(candidate):
                return code, len(candidate)
    return None


_PLACEHOLDERS = ("市辖区", "县")
"""Names in the table that stand for a grouping, not a place (330101 市辖区): never matched on their own."""
_BARE_SUFFIXES = ("自治州", "自治县", "自治旗", "地区", "新区", "林区", "市", "区", "县", "盟", "州", "旗")


def _bare(name: str) -> str:
    """A prefecture's or county's name without its suffix, as people write it (杭州 for 杭州市)."""
    for suffix in _BARE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def _below_province() -> dict[str, frozenset[str]]:
    """Full and bare name -> the codes of every prefecture and county so named (several: 西湖区, 朝阳)."""
    index: dict[str, set[str]] = {}
    for code, name in names().items():
        if level(code) < 2 or name in _PLACEHOLDERS or "直辖" in name:
            continue
        for key in {name, _bare(name)}:
            index.setdefault(key, set()).add(code)
    return {key: frozenset(codes) for key, codes in index.items()}


def _match_below_province(text: str) -> tuple[str, int] | None:
    """A region written without its province (杭州, 杭州市西湖区): the longest name it starts with, taken
    only when one place has it. An ambiguous name (朝阳: a city in Liaoning, districts in Beijing and
    Changchun) is no region rather than a guess: precision first, as jurisdiction depends on it."""
    index = _below_province()
    for n in range(min(len(text), 16), 1, -1):
        codes = index.get(text[:n])
        if codes is not None:
            return (next(iter(codes)), n) if len(codes) == 1 else None
    return None


@lru_cache(maxsize=65536)
def code_for(region: str | None) -> str | None:
    """The most specific code a region name spells out ("西藏自治区拉萨市城关区" -> 540102,
    "青海省" -> 630000, "上海市" -> 310000, "浙江杭州" -> 330100, "杭州" -> 330100), or None when no
    province is recognised and no prefecture or county of that name is the only one."""
    if not region:
        return None
    text = "".join(region.split())
    found = _match(text, "") or _match_below_province(text)
    if found is None:
        return None
    code, used = found
    for _ in range(3 - level(code)):
        nxt = _match(text[used:], _prefix(code))
        if nxt is None:
            break
        code, step = nxt
        used += step
    return code


def normalise(region: str | None) -> str | None:
    """A region as listings and leads store it: the GB/T 2260 full name of the most specific division it
    spells out (浙江 and 浙江省 -> 浙江省; 杭州, 杭州市 and 浙江杭州 -> 浙江省杭州市), so that the queue's
    jurisdiction filter and the reports (`names_under`, exact names) count it. Text past the county (a
    street) is dropped: the field is the division, the address is on the listing. A region no division
    is recognised in is kept as written (stripped), for a person to read."""
    if region is None:
        return None
    code = code_for(region)
    return full_name(code) if code else (region.strip() or None)


def full_name(code: str) -> str:
    """The name listings use: province, prefecture and county names joined (540102 -> 西藏自治区拉萨市城关区)."""
    table = names()
    parts = []
    for prefix_len in (2, 4, 6):
        part = code[:prefix_len].ljust(6, "0")
        if part in table and (not parts or table[part] != parts[-1]):
            parts.append(table[part])
        if level(code) * 2 == prefix_len:
            break
    return "".join(parts)


@lru_cache(maxsize=4096)
def names_under(jurisdiction: str) -> tuple[str, ...]:
    """Every full region name within a jurisdiction, as a store filter on the listing's region field.
    A lead whose region is spelt otherwise is found by `code_for` on read, not by this filter."""
    prefix = _prefix(jurisdiction)
    return tuple(sorted({full_name(code) for code in names() if code.startswith(prefix)}))


def label(code: str | None) -> str:
    """How a code is shown to people: its full name and the code (全国 for NATIONAL)."""
    if code in (None, NATIONAL):
        return "全国"
    return f"{full_name(code)}（{code}）"
