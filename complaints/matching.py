"""Which sellers a complaint concerns: exact keys first, names only with corroboration.

Precision comes first: linking a complaint to the wrong shop puts a case on an innocent seller, while a
missed link is a crawl target and stays visible. So, in order:

1. a unified social credit code (USCC) whose check character holds (`stdnum.cn.uscc`) — a code with a
   bad check character is a typo or an invention and is never used as a key;
2. the platform's shop id (with the platform, or unique across platforms);
3. a URL: a listing URL sweep has seen, or a shop URL carrying a known shop id of that host's platform;
4. the normalised name of the shop or of the business (`normalise_name`: full-width, traditional,
   spacing, brackets, shop suffixes such as 旗舰店/专营店/官方, company forms such as 有限公司/有限责任公司):
   equal names, or equal once a place name that is the seller's own region is removed (杭州鑫达化工 vs
   鑫达化工 in 浙江省杭州市); near-equal names (rapidfuzz ratio ≥ 0.92, for names of 6 characters and
   more) only on the same platform and in a compatible region. Equal names of several different sellers
   with nothing to tell them apart match none of them.

A seller found by any of these carries its whole identity along: the other shops with the same valid
USCC (one company on two platforms) are matched too, with the reason saying so. Every match has a
score (1.0 for exact keys) and its reasons in words staff can check.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from rapidfuzz import fuzz
from stdnum.cn import uscc as stdnum_uscc

from adapters.store.cjk import fold
from sweep.models import Complaint, ComplaintMatch
from sweep.store.complaints import Seller

MIN_SCORE = 0.85
FUZZY_MIN_RATIO = 92.0
FUZZY_MIN_LENGTH = 6
COMMON_BIGRAM = 2000
"""A bigram shared by more sellers than this (化工, 商贸) does not narrow the fuzzy candidates."""
MATCH_LEAD_IDS = 50
"""Lead ids a match lists (newest first); the seller's page in the lead store has them all."""

SHOP_SUFFIXES = (
    "官方旗舰店", "旗舰店", "专营店", "专卖店", "官方店", "企业店", "自营店", "直营店", "工厂店", "品牌店",
    "网店", "小店", "店铺", "商店", "店",
)  # fmt: skip
COMPANY_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "集团公司", "分公司", "公司", "个体工商户", "商贸行", "商行",
    "经营部", "门市部", "工作室", "厂",
)  # fmt: skip
PROVINCES = (
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "黑龙江省", "北京市",
    "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "江苏省", "浙江省", "安徽省", "福建省",
    "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省",
    "甘肃省", "青海省", "台湾省", "内蒙古", "黑龙江", "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林",
    "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南",
    "陕西", "甘肃", "青海", "广西", "西藏", "宁夏", "新疆",
)  # fmt: skip
PLATFORM_ALIASES: dict[str, str] = {
    "淘宝": "taobao", "淘宝网": "taobao", "天猫": "tmall", "天猫商城": "tmall", "京东": "jd", "京东商城": "jd",
    "拼多多": "pinduoduo", "抖音": "douyin", "抖音电商": "douyin", "快手": "kuaishou", "闲鱼": "xianyu",
    "1688": "1688", "阿里巴巴": "1688", "美团": "meituan", "小红书": "xiaohongshu", "唯品会": "vip",
    "苏宁易购": "suning", "微店": "weidian", "演示商城": "demo-mall",
}  # fmt: skip
SHOP_QUERY_KEYS = frozenset(
    {
        "shop",
        "shopid",
        "shop_id",
        "store",
        "storeid",
        "store_id",
        "seller",
        "sellerid",
        "seller_id",
        "sid",
        "user_number_id",
    }
)
SHOP_PATH_MARKS = frozenset({"shop", "store", "seller", "s", "dp", "mall"})
TRACKING_KEYS = frozenset(
    {"spm", "scm", "from", "share", "sharefrom", "ref", "pvid", "track", "_t", "t", "timestamp", "src"}
)

_PUNCT = re.compile(r"[\s()（）\[\]【】{}<>《》「」『』\"'“”‘’·•\-_.,，。、/\\|:：;；!！?？&+*#@~]+")
_ADMIN_PART = re.compile(r"[^省市区县旗州盟]*?(?:自治区|自治州|省|市|区|县|旗|州|盟)")


_SUFFIX_RUN = re.compile(
    "(?:" + "|".join(sorted({*SHOP_SUFFIXES, *COMPANY_SUFFIXES, "官方"}, key=len, reverse=True)) + ")+$"
)
_PROVINCE_START = re.compile("^(?:" + "|".join(sorted(PROVINCES, key=len, reverse=True)) + ")")


@lru_cache(maxsize=200_000)
def normalise_name(name: str | None) -> str:
    """Full-width folded, traditional to simplified, lower case, no spaces, brackets or punctuation."""
    if not name:
        return ""
    return _PUNCT.sub("", fold(unicodedata.normalize("NFKC", name)))


@lru_cache(maxsize=200_000)
def core_name(name: str | None) -> str:
    """`normalise_name` without shop suffixes, company forms and 官方 (鑫达化工官方旗舰店 -> 鑫达化工,
    上海鑫达化工有限公司 -> 上海鑫达化工). Never shorter than two characters: 旗舰店 alone stays as it is.
    Cached: the same shop is named by many complaints and the same seller indexed once per name."""
    text = normalise_name(name)
    if text in SHOP_SUFFIXES or text in COMPANY_SUFFIXES:
        return text  # a bare 旗舰店 names nobody; it stays whole rather than becoming 旗舰
    m = _SUFFIX_RUN.search(text)
    if m and m.start() >= 2:
        text = text[: m.start()]
    elif m:  # stripping the whole run would leave less than two characters: strip one suffix at a time
        changed = True
        while changed:
            changed = False
            for suffix in (*SHOP_SUFFIXES, *COMPANY_SUFFIXES):
                if text.endswith(suffix) and len(text) - len(suffix) >= 2:
                    text, changed = text[: -len(suffix)], True
                    break
    if text.startswith("官方") and len(text) > 4:
        text = text[2:]
    return text


def strip_province(core: str) -> str | None:
    """The core without a leading province (上海鑫达化工 -> 鑫达化工), or None when it has none."""
    m = _PROVINCE_START.match(core)
    return core[m.end() :] if m and len(core) - m.end() >= 2 else None


def place_names(region: str | None) -> set[str]:
    """The place names a region is made of, with and without their level (浙江省杭州市 -> 浙江省, 浙江,
    杭州市, 杭州), for recognising a seller's own place at the start of its company name."""
    if not region:
        return set()
    out: set[str] = set()
    for part in _ADMIN_PART.findall(normalise_name(region)):
        out.add(part)
        for level in ("自治区", "自治州", "省", "市", "区", "县", "旗", "州", "盟"):
            if part.endswith(level) and len(part) - len(level) >= 2:
                out.add(part[: -len(level)])
                break
    return out


def canonical_platform(platform: str | None) -> str | None:
    if not platform:
        return None
    text = re.sub(r"\s+", "", fold(unicodedata.normalize("NFKC", platform)))
    return PLATFORM_ALIASES.get(text, text) or None


def valid_uscc(code: str | None) -> str | None:
    """The compact code when its check character holds, else None."""
    if not code:
        return None
    compact = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", str(code))).upper()
    return compact if len(compact) == 18 and stdnum_uscc.is_valid(compact) else None


def normalise_url(url: str | None) -> tuple[str, str, list[str]] | None:
    """(host, normalised URL, shop-id candidates) for a URL as people paste it: scheme, www./m. and
    tracking parameters removed, query sorted. Candidates are path segments after shop/store/seller and
    values of shop-ish query keys (plus a shop123 subdomain)."""
    if not url:
        return None
    text = unicodedata.normalize("NFKC", url).strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    for prefix in ("www.", "m.", "h5.", "wap."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    if not host:
        return None
    path = parts.path.rstrip("/")
    pairs = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in TRACKING_KEYS and not k.startswith("utm_")]
    query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    tokens = [v for k, v in pairs if k.lower() in SHOP_QUERY_KEYS and v]
    segments = [s for s in path.split("/") if s]
    tokens += [segments[i + 1] for i in range(len(segments) - 1) if segments[i].lower() in SHOP_PATH_MARKS]
    first_label = host.split(".")[0]
    if first_label.startswith("shop") and len(first_label) > 4:
        tokens.append(first_label[4:])
    return host, host + path + (f"?{query}" if query else ""), tokens


def complaint_keys(c: Complaint) -> list[str]:
    """The lookup keys of a complaint, stored with it so that a seller arriving later finds it."""
    keys: list[str] = []
    if code := valid_uscc(c.shop_uscc):
        keys.append(f"uscc:{code}")
    if c.shop_id:
        keys.append(f"sid:{c.shop_id.strip()}")
    if parsed := normalise_url(c.url):
        host, norm, tokens = parsed
        keys.append(f"url:{norm}")
        keys.extend(f"urltok:{host}:{t}" for t in tokens[:8])
    for name in (c.shop_name, c.seller_name):
        core = core_name(name)
        if len(core) >= 2:
            keys.append(f"name:{core}")
            if stripped := strip_province(core):
                keys.append(f"name:{stripped}")
    return list(dict.fromkeys(keys))


def seller_keys(s: Seller) -> list[str]:
    """The keys under which complaints about `s` were stored (see `complaint_keys`)."""
    keys = [f"sid:{s.shop_id}"]
    if s.uscc:
        keys.append(f"uscc:{s.uscc}")
    hosts = set()
    for url in s.urls:
        if parsed := normalise_url(url):
            keys.append(f"url:{parsed[1]}")
            hosts.add(parsed[0])
    keys.extend(f"urltok:{h}:{s.shop_id}" for h in sorted(hosts))
    for name in (s.name, s.company):
        core = core_name(name)
        if len(core) >= 2:
            keys.append(f"name:{core}")
            if stripped := strip_province(core):
                keys.append(f"name:{stripped}")
    return list(dict.fromkeys(keys))


def _province(region: str | None) -> str:
    return normalise_name(region)[:2] if region else ""


@dataclass(slots=True)
class _Hit:
    score: float
    reasons: list[str] = field(default_factory=list)


class SellerIndex:
    """The sellers sweep knows, indexed in memory for matching (built from `SellerDirectory.iter_all`
    pages; 100,000 sellers take a few hundred MB at most). `add` takes new or changed sellers."""

    def __init__(self, sellers: Iterable[Seller] = ()) -> None:
        self.sellers: list[Seller] = []
        self._slot: dict[str, int] = {}
        self.by_uscc: dict[str, list[int]] = defaultdict(list)
        self.by_shop: dict[tuple[str, str], int] = {}
        self.by_shop_id: dict[str, list[int]] = defaultdict(list)
        self.by_url: dict[str, int] = {}
        self.host_platform: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_core: dict[str, list[int]] = defaultdict(list)
        self.bigrams: dict[str, list[int]] = defaultdict(list)
        self.cores: dict[int, set[str]] = {}
        self.platforms: set[str] = set()
        self.add(sellers)

    def __len__(self) -> int:
        return len(self.sellers)

    def add(self, sellers: Iterable[Seller]) -> None:
        for s in sellers:
            slot = self._slot.get(s.key)
            if slot is None:
                slot = len(self.sellers)
                self._slot[s.key] = slot
                self.sellers.append(s)
                self.by_shop[(s.platform, s.shop_id)] = slot
                self.by_shop_id[s.shop_id].append(slot)
                self.platforms.add(s.platform)
            else:  # a changed seller: its new facts are added to the index, old ones stay findable
                self.sellers[slot] = s
            if s.uscc and slot not in self.by_uscc[s.uscc]:
                self.by_uscc[s.uscc].append(slot)
            for url in s.urls:
                if parsed := normalise_url(url):
                    self.by_url[parsed[1]] = slot
                    self.host_platform[parsed[0]][s.platform] += 1
            cores = self.cores.setdefault(slot, set())
            for name in (s.name, s.company):
                core = core_name(name)
                if len(core) < 2:
                    continue
                for variant in filter(None, (core, strip_province(core))):
                    if variant not in cores:
                        cores.add(variant)
                        self.by_core[variant].append(slot)
                        for bigram in {variant[i : i + 2] for i in range(len(variant) - 1)}:
                            self.bigrams[bigram].append(slot)

    def platform_of_host(self, host: str) -> str | None:
        counts = self.host_platform.get(host)
        return counts.most_common(1)[0][0] if counts else None

    # -- matching -------------------------------------------------------------------------------
    def match(self, c: Complaint) -> list[ComplaintMatch]:
        hits: dict[int, _Hit] = {}
        platform = canonical_platform(c.platform)
        code = valid_uscc(c.shop_uscc)

        def hit(slot: int, score: float, reason: str) -> None:
            current = hits.get(slot)
            if current is None:
                hits[slot] = _Hit(score, [reason])
            else:
                current.score = max(current.score, score)
                if reason not in current.reasons:
                    current.reasons.append(reason)

        if code:
            for slot in self.by_uscc.get(code, ()):
                hit(slot, 1.0, f"统一社会信用代码一致 {code}")
        if c.shop_id:
            sid = c.shop_id.strip()
            if platform and (slot := self.by_shop.get((platform, sid))) is not None:
                hit(slot, 1.0, f"店铺ID一致 {sid}")
            elif not platform and len(slots := self.by_shop_id.get(sid, [])) == 1:
                hit(slots[0], 0.95, f"店铺ID一致 {sid}（投诉未注明平台）")
        if parsed := normalise_url(c.url):
            host, norm, tokens = parsed
            if (slot := self.by_url.get(norm)) is not None:
                hit(slot, 1.0, "网址与已知商品/店铺链接一致")
            host_platform = self.platform_of_host(host)
            if host_platform:
                platform = platform or host_platform
                for token in tokens:
                    if (slot := self.by_shop.get((host_platform, token))) is not None:
                        hit(slot, 1.0, f"网址含店铺ID {token}")
        if not hits:
            self._match_names(c, platform, code, hit)
        # one identity across platforms: shops sharing a valid USCC with a matched shop
        for slot in list(hits):
            uscc = self.sellers[slot].uscc
            if not uscc or uscc == code:
                continue
            via = self.sellers[slot]
            for other in self.by_uscc.get(uscc, ()):
                if other not in hits:
                    hits[other] = _Hit(
                        hits[slot].score,
                        [f"同一经营者（统一社会信用代码 {uscc}，经由 {via.platform} 店铺 {via.shop_id}）"],
                    )
        out = []
        for slot, h in hits.items():
            if h.score < MIN_SCORE:
                continue
            s = self.sellers[slot]
            if code and s.uscc and s.uscc != code:
                continue  # the complaint names another company: never link across a USCC conflict
            if platform and s.platform == platform and "平台一致" not in h.reasons and h.score < 1.0:
                h.reasons.append("平台一致")
            out.append(
                ComplaintMatch(
                    platform=s.platform,
                    shop_id=s.shop_id,
                    score=round(min(h.score, 1.0), 3),
                    reasons=h.reasons,
                    lead_ids=s.lead_ids[:MATCH_LEAD_IDS],
                    shop_name=s.name or s.company,
                )
            )
        out.sort(key=lambda m: (-m.score, m.platform, m.shop_id))
        return out

    def _match_names(self, c: Complaint, platform: str | None, code: str | None, hit) -> None:
        region_p = _province(c.region)

        def fits(slot: int) -> bool:
            s = self.sellers[slot]
            if platform and s.platform != platform:
                return False
            if code and s.uscc and s.uscc != code:
                return False
            return not (region_p and s.region and _province(s.region) != region_p)

        for name in filter(None, (c.shop_name, c.seller_name)):
            core = core_name(name)
            if len(core) < 2:
                continue
            exact: dict[int, str] = {}
            for slot in self.by_core.get(core, ()):
                if fits(slot):
                    exact[slot] = f"名称一致（{core}）"
            stripped = strip_province(core)
            if stripped:
                for slot in self.by_core.get(stripped, ()):
                    if fits(slot) and slot not in exact:
                        exact[slot] = f"名称去掉地名后一致（{stripped}）"
            # a place name in front of the company name that is the seller's own region
            if not exact:
                for size in (2, 3, 4):
                    prefix, rest = core[:size], core[size:]
                    if len(rest) < 2:
                        break
                    for slot in self.by_core.get(rest, ()):
                        if fits(slot) and prefix in place_names(self.sellers[slot].region):
                            exact[slot] = f"名称去掉所在地「{prefix}」后一致（{rest}）"
            if exact:
                identities = {self.sellers[s].uscc or self.sellers[s].key for s in exact}
                if len(identities) > 1:
                    continue  # several different sellers of this name and nothing to tell them apart
                for slot, reason in exact.items():
                    s = self.sellers[slot]
                    score = 0.88 + (0.07 if platform and s.platform == platform else 0.0)
                    score += 0.03 if region_p and s.region and _province(s.region) == region_p else 0.0
                    hit(slot, score, reason)
                continue
            if len(core) >= FUZZY_MIN_LENGTH and platform:
                self._fuzzy(core, platform, region_p, fits, hit)

    def _fuzzy(self, core: str, platform: str, region_p: str, fits, hit) -> None:
        grams = {core[i : i + 2] for i in range(len(core) - 1)}
        counts: Counter[int] = Counter()
        for gram in grams:
            posting = self.bigrams.get(gram, ())
            if len(posting) <= COMMON_BIGRAM:
                counts.update(posting)
        need = max(2, int(len(grams) * 0.6))
        for slot, shared in counts.most_common(50):
            if shared < need:
                break
            s = self.sellers[slot]
            if s.platform != platform or not fits(slot):
                continue
            if region_p and not s.region:
                continue  # a near-equal name needs the region to agree, not just be unknown
            best = max((fuzz.ratio(core, other) for other in self.cores.get(slot, ())), default=0.0)
            if best >= FUZZY_MIN_RATIO:
                hit(slot, 0.85 + 0.1 * (best - FUZZY_MIN_RATIO) / (100 - FUZZY_MIN_RATIO), f"名称相近 {best / 100:.2f}")
