"""Checks that are not keyword matches: licence numbers, permits, producer facts, origins.

Keyword rules cannot tell whether a credit code is genuine or whether a producer address contradicts a
claimed origin; these functions can, and the YAML rules reference them by name (`check:`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from stdnum.cn import uscc as stdnum_uscc

from sweep.identifiers import USCC_ALPHABET, org_code_check_char


@lru_cache(maxsize=65536)
def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None when it is.

    Cached by licence string: a shop's code is the same on each of its thousands of listings. The
    check characters come from stdnum and sweep.identifiers (shared with the demo mall and the dev
    set); the steps here only say, in the analyst's language, which part of the code is wrong.
    stdnum's own `validate` is not used as the verdict: it demands digits in the first 8 characters,
    while GB 32100 also issues codes whose registration authority is A, N or Y.
    """
    c = re.sub(r"[\s\-_:：]", "", unicodedata.normalize("NFKC", code)).upper()
    c = re.sub(r"^(?:统一社会信用代码|信用代码|USCC)", "", c)
    if len(c) != 18:
        return f"长度为{len(c)}位，应为18位"
    bad = [ch for ch in c if ch not in USCC_ALPHABET]
    if bad:
        return f"含非法字符 {''.join(bad)!r}（GB 32100 不使用 I、O、Z、S、V）"
    if c[0] not in "123456789ANY":
        return f"登记管理部门码 {c[0]!r} 无效"
    expected = stdnum_uscc.calc_check_digit(c[:17])
    if expected != c[17]:
        return f"校验码应为 {expected}，实为 {c[17]}"
    org = c[8:17]
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", org):
        return "组织机构代码部分格式无效"
    org_expected = org_code_check_char(org[:8])
    if org_expected != org[8]:
        return f"组织机构代码校验码应为 {org_expected}，实为 {org[8]}"
    return None


def uscc_valid(code: str) -> bool:
    return uscc_problem(code) is None


SC_RE = re.compile(r"(?<![0-9a-z])sc\s*[:：]?\s*(\d{14})(?!\d)", re.IGNORECASE)
"""Food production licence number: 'SC' followed by 14 digits (食品生产许可管理办法)."""

EMPTY_VALUES = frozenset({"", "无", "暂无", "没有", "-", "--", "/", "none", "null", "n/a", "na", "不详", "未知"})


def blank(value: str | None) -> bool:
    """A value a seller filled in without stating anything."""
    return value is None or value.strip().lower() in EMPTY_VALUES


PROVINCES = (
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "台湾",
    "香港",
    "澳门",
)
_PLACE_RE = re.compile("|".join(PROVINCES) + r"|[\u4e00-\u9fff]{1,6}(?:省|市|县|区|州|旗|盟|镇|乡)")


def names_place(text: str) -> bool:
    """Whether an attribute value names a concrete place (so it can contradict a claimed origin)."""
    return bool(_PLACE_RE.search(text))
