"""Checks that are not keyword matches: licence numbers, permits, producer facts, origins.

Keyword rules cannot tell whether a credit code is genuine or whether a producer address contradicts a
claimed origin; these functions can, and the YAML rules reference them by name (`check:`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {c: (int(c) if c.isdigit() else ord(c) - ord("A") + 10) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def uscc_check_char(first17: str) -> str | None:
    """Check character of a unified social credit code (GB 32100-2015) for its first 17 characters."""
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    except (KeyError, ValueError):
        return None
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str | None:
    """Check character of the embedded organisation code (GB 11714-1997) for its first 8 characters."""
    try:
        total = sum(_ORG_VALUE[c] * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    except (KeyError, ValueError):
        return None
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


@lru_cache(maxsize=65536)
def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid unified social credit code, or None when it is.

    Cached by licence string: a shop's code is the same on each of its thousands of listings.
    """
    c = re.sub(r"[\s\-_:：]", "", unicodedata.normalize("NFKC", code)).upper()
    c = re.sub(r"^(?:统一社会信用代码|信用代码|USCC)", "", c)
    if len(c) != 18:
        return f"长度为{len(c)}位，应为18位"
    bad = [ch for ch in c if ch not in _USCC_VALUE]
    if bad:
        return f"含非法字符 {''.join(bad)!r}（GB 32100 不使用 I、O、Z、S、V）"
    if c[0] not in "123456789ANY":
        return f"登记管理部门码 {c[0]!r} 无效"
    expected = uscc_check_char(c[:17])
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


def make_uscc(body16: str) -> str:
    """Complete a code from its first 16 characters: used by tests and the dev-set generator.

    Characters 9-16 are the organisation code body; its check digit (char 17) and the overall check
    character (char 18) are computed.
    """
    org_check = org_code_check_char(body16[8:16])
    assert org_check is not None
    first17 = body16 + org_check
    check = uscc_check_char(first17)
    assert check is not None
    return first17 + check


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
