"""Checks that are not keyword matches: licence numbers, permits, producer facts, origins.

Keyword rules cannot tell whether a credit code is genuine or whether a producer address contradicts a
claimed origin; these functions can, and the YAML rules reference them by name (`check:`, looked up in
`CHECK_FUNCS`). The keyword tables they read (which attribute keys name an origin, a producer, an
address, an importer) live here too, beside the code that interprets them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from stdnum.cn import uscc as stdnum_uscc

from rules.catalog import Entry
from rules.matching import Prepared, Trigger
from rules.normalize import norm_term
from sweep.identifiers import USCC_ALPHABET, org_code_check_char
from sweep.models import Evidence, Listing, Shop


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


# -------------------------------------------------------------------- checks referenced by rules
ORIGIN_KEYS = ("产地", "原产地", "产区", "生产地", "种植地", "养殖地", "出产地", "省份", "生产地区")
NOT_PRODUCER_KEYS = ("发货", "店铺", "门店", "退货", "收货", "售后", "仓库", "公司地址")
"""Attribute keys that name the seller's logistics, never the producer or the product's origin."""
ADDRESS_KEYS = (
    "厂址",
    "生产地址",
    "厂家地址",
    "生产企业地址",
    "企业地址",
    "生产商地址",
    "制造商地址",
    "工厂地址",
    "生产厂址",
    "地址",
)
IMPORT_KEYS = ("原产国", "进口商", "进口代理商", "国内代理商", "境内代理商", "报关单")
MAKER_KEYS = ("厂名", "生产厂家", "生产商", "生产企业", "制造商", "厂家名称", "生产者", "厂家", "生产单位", "委托方")
SC_KEYS = ("生产许可证", "许可证编号", "SC", "sc编号", "食品生产许可")
MAKER_TEXT_RE = re.compile(r"(?:厂名|生产厂家|生产商|生产企业|制造商)\s*[:：]\s*[^\s，。；;]{2,}")
ADDRESS_TEXT_RE = re.compile(r"(?:厂址|生产地址|厂家地址)\s*[:：]\s*[^\s，。；;]{2,}")
_SC_STRIP = re.compile(r"[\s\-]")

CheckResult = tuple[bool, list[Evidence], str]
"""(fired, evidence, note): the note says why in the analyst's language, fired or not."""


ORIGIN, ADDRESS, IMPORT, MAKER = 1, 2, 4, 8
"""What an attribute key can name (bits of `_key_kinds`): MAKER is a maker key that is not an address."""
_KEY_GROUPS = ((ORIGIN, ORIGIN_KEYS), (ADDRESS, ADDRESS_KEYS), (IMPORT, IMPORT_KEYS), (MAKER, MAKER_KEYS))
KEY_CACHE_LIMIT = 4096
"""Attribute keys whose kind is remembered (sellers reuse a few dozen; crawled text could invent more)."""
_key_kind_cache: dict[str, int] = {}


def _key_has(k: str, keys: tuple[str, ...]) -> bool:
    low = k.lower()
    return any(key.lower() in low for key in keys)


def _key_kinds(k: str) -> int:
    """The kinds of fact an attribute key names (ORIGIN | ADDRESS | IMPORT | MAKER bits), cached per key;
    shipping/shop/return keys name the seller's logistics and are none of them."""
    kinds = _key_kind_cache.get(k)
    if kinds is not None:
        return kinds
    kinds = 0
    if not _key_has(k, NOT_PRODUCER_KEYS):
        for bit, keys in _KEY_GROUPS:
            if _key_has(k, keys) and not (bit == MAKER and "地址" in k):
                kinds |= bit
    if len(_key_kind_cache) >= KEY_CACHE_LIMIT:
        _key_kind_cache.clear()
    _key_kind_cache[k] = kinds
    return kinds


def _attr_items(listing: Listing, kind: int) -> list[tuple[str, str]]:
    """Attributes whose key names a fact of this kind (ORIGIN, ADDRESS …), in the listing's order."""
    return [(k, v) for k, v in listing.attributes.items() if _key_kinds(k) & kind]


def check_uscc_invalid(prep: Prepared, live: list[Trigger]) -> CheckResult:
    shop = prep.listing.shop
    if shop is None or blank(shop.licence_no):
        return False, [], "未公示执照号（由 licence_missing 处理）"
    code = shop.licence_no or ""
    problem = uscc_problem(code)
    if problem is None:
        return False, [], "统一社会信用代码校验通过"
    return True, [Evidence(field="shop.licence_no", text=code, start=0, end=len(code))], problem


def check_licence_missing(prep: Prepared, live: list[Trigger]) -> CheckResult:
    shop: Shop | None = prep.listing.shop
    if shop is None:
        return False, [], "无店铺信息，无法判断"
    if not blank(shop.licence_no):
        return False, [], "已公示执照号"
    return (
        True,
        [Evidence(field="shop.licence_no", text=shop.licence_no or "", start=0, end=0)],
        "店铺未公示营业执照号",
    )


def _values_give_sc(values: str) -> bool:
    """Whether attribute values, joined by NUL, give an SC number (spaces and dashes inside ignored).

    One search over the joined values finds what one search per value would: NUL is neither a letter,
    a digit, a separator SC_RE skips nor one `_SC_STRIP` removes, so no match spans two values and each
    value's edges look to SC_RE like the string's. Values without a c/C (the only characters SC_RE's
    `c` matches) need neither the strip nor the search."""
    return _may_give_sc(values) and SC_RE.search(_SC_STRIP.sub("", values)) is not None


def _may_give_sc(text: str) -> bool:
    """Whether SC_RE can match `text` at all: its `c` matches only c and C, even ignoring case."""
    return "c" in text or "C" in text


def check_food_sanwu(prep: Prepared, live: list[Trigger]) -> CheckResult:
    listing = prep.listing
    desc = listing.description or ""
    # one pass over the attributes; an imported product decides at its first importer/origin-country value
    attrs = listing.attributes
    has_maker = has_address = False
    for k, v in attrs.items():
        kinds = _key_kinds(k)
        if kinds & IMPORT and not blank(v):
            # imported food carries 原产国 and the importer instead of an SC number (食品安全法 第九十七条)
            return False, [], f"进口食品（{k}：{v}），不适用SC编号要求"
        if kinds & MAKER and not has_maker and not blank(v):
            has_maker = True
        if kinds & ADDRESS and not has_address and not blank(v):
            has_address = True
    missing = []
    # a description gives an SC number only with a c/C in it, a maker or an address only after a colon
    colon = ":" in desc or "：" in desc
    if not _values_give_sc("\x00".join(attrs.values())) and not (_may_give_sc(desc) and SC_RE.search(desc)):
        missing.append("SC食品生产许可证编号")
    if not has_maker and not (colon and MAKER_TEXT_RE.search(desc)):
        missing.append("厂名")
    if not has_address and not (colon and ADDRESS_TEXT_RE.search(desc)):
        missing.append("厂址")
    if not missing:
        return False, [], "SC编号、厂名、厂址齐全"
    note = "缺少" + "、".join(missing)
    return True, [Evidence(field="attributes", text=note, start=0, end=0)], note


_ADMIN_WORDS = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "回族",
    "藏族",
    "蒙古族",
    "维吾尔",
    "壮族",
    "中华人民共和国",
    "中国大陆",
    "中国",
    "大陆",
    "国产",
    "境内",
    "详见包装",
    "见包装",
    "产地直发",
    "原产地",
)
_ADMIN_CHARS = frozenset("省市县区州盟旗镇乡村")


@lru_cache(maxsize=8192)
def _norm_cached(value: str) -> str:
    return norm_term(value)


def _norm_regions(entry: Entry) -> list[str]:
    return [_norm_cached(r) for r in entry.regions]


def _residual_place(value: str, parents: list[str]) -> bool:
    """Whether `value` still names a place once the claim's parent regions and administrative words
    are removed ("西藏自治区拉萨市" says nothing against 尼木藏香; "宁夏银川市" does against 中宁枸杞)."""
    v = _norm_cached(value)
    for p in parents:
        v = v.replace(p, "")
    for w in _ADMIN_WORDS:
        v = v.replace(w, "")
    if any(p in v for p in PROVINCES):
        return True
    # an origin attribute is a place by definition: two or more remaining name characters (银川, 沙坡头)
    return sum(1 for c in v if "\u4e00" <= c <= "\u9fff" and c not in _ADMIN_CHARS) >= 2


def check_gi_mismatch(prep: Prepared, live: list[Trigger]) -> CheckResult:
    listing = prep.listing
    claims = [t for t in live if t.entry is not None and t.entry.regions and not t.hit.field.startswith("attributes.")]
    if not claims:
        return False, [], "无产地宣称"
    origin_attrs = [(k, v) for k, v in _attr_items(listing, ORIGIN) if not blank(v)]
    addr_attrs = [(k, v) for k, v in _attr_items(listing, ADDRESS) if not blank(v) and (k, v) not in origin_attrs]
    t = claims[0]
    entry = t.entry
    assert entry is not None
    regions = _norm_regions(entry)
    parents = [_norm_cached(p) for p in entry.parents]
    # the product's own origin decides; a producer address is only used when no origin is given
    for group in (origin_attrs, addr_attrs):
        if not group:
            continue
        agree = [(k, v) for k, v in group if any(r in _norm_cached(v) for r in regions)]
        if agree:
            return False, [], f"{agree[0][0]}「{agree[0][1]}」与宣称产地一致"
        against = [(k, v) for k, v in group if _residual_place(v, parents)]
        if not against and any(p in _norm_cached(v) for _, v in group for p in parents):
            return False, [], "只标到上级产区，与宣称不矛盾"
        if against:
            k, v = against[0]
            ev = [
                prep.evidence(t.hit.start, t.hit.end),
                Evidence(field=f"attributes.{k}", text=v, start=0, end=len(v)),
            ]
            return True, ev, f"宣称「{entry.name}」（{'/'.join(entry.regions[:3])}），但{k}为「{v}」"
    return False, [], "未标明可比对的产地/厂址"


CHECK_FUNCS: dict[str, Callable[[Prepared, list[Trigger]], CheckResult]] = {
    "uscc_invalid": check_uscc_invalid,
    "licence_missing": check_licence_missing,
    "food_sanwu": check_food_sanwu,
    "gi_mismatch": check_gi_mismatch,
}
"""Checks by the name rules give in `check:`."""
