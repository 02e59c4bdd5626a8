"""A deterministic, believable Chinese B2C marketplace ("惠民优选商城") with ground truth.

Everything is derived from `random.Random(seed)`: no global random state and no clock, so the same
seed gives byte-identical pages, listings and truth rows on every machine. That determinism is what
lets the crawl test compare the spider's output field by field with what was generated, and lets
rule backtests be repeated.

Each item carries the exact `Listing` the spider must produce (URLs relative to the site root until
`Mall.listings(base_url)` makes them absolute) and the set of taxonomy families it really belongs to.
Roughly 60% of items are clean or hard negatives (words that look like violations but are not), 40%
are violations of every family, including evasive spellings of chemical names.

A mall also changes, as real ones do, for recrawl and takedown tests (`Mall.evolve`, below): listings
change (price and title, description or images), are removed (a 404 or a 下架 page) or are relisted
under a new listing id in the same shop. The evolved mall is again a pure function of its parent and
the evolve seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import orjson

from demomall.uscc import make_uscc
from sweep.models import FAMILIES, Listing, Permit, Shop

PLATFORM = "demo-mall"
SITE_NAME = "惠民优选商城"

CATEGORIES: dict[str, str] = {
    "chemicals": "化工原料",
    "food/goji": "枸杞",
    "food/honey": "蜂蜜",
    "food/quinoa": "藜麦",
    "food/yak": "牦牛肉",
    "incense": "藏香",
    "daily": "日用百货",
    "digital": "数码",
    "apparel": "服饰鞋包",
    "services": "其他服务",
}
"""Category key -> Chinese name, in the order the home page shows them."""

CATEGORY_GROUPS: dict[str, list[str]] = {
    "化工原料": ["chemicals"],
    "地方特产/食品": ["food/goji", "food/honey", "food/quinoa", "food/yak"],
    "藏香": ["incense"],
    "日用百货": ["daily"],
    "数码/服饰": ["digital", "apparel"],
    "其他服务": ["services"],
}

HAZ_PERMIT = "危险化学品经营许可证"
FOOD_PERMIT = "食品经营许可证"


# --------------------------------------------------------------------------------------------------
# Reference data: real substances with real CAS numbers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Substance:
    name: str
    cas: str
    formula: str | None
    families: frozenset[str]
    aliases: tuple[str, ...] = ()
    traditional: str | None = None
    units: tuple[str, ...] = ("500g/瓶", "25kg/袋")
    purity: str = "99%"
    use: str = "工业原料"


def _s(name: str, cas: str, formula: str | None, fams: str, **kw: object) -> Substance:
    return Substance(name, cas, formula, frozenset(fams.split()), **kw)  # type: ignore[arg-type]


TOXIC = [
    _s("氰化钠", "143-33-9", "NaCN", "chem.toxic", traditional="氰化鈉", use="电镀、选矿"),
    _s("氰化钾", "151-50-8", "KCN", "chem.toxic", traditional="氰化鉀", use="电镀、分析试剂"),
    _s(
        "三氧化二砷",
        "1327-53-3",
        "As2O3",
        "chem.toxic",
        aliases=("砒霜", "白砒"),
        traditional="三氧化二砷",
        use="玻璃澄清剂",
    ),
    _s("氯化汞", "7487-94-7", "HgCl2", "chem.toxic", aliases=("升汞",), traditional="氯化汞", use="分析试剂"),
    _s(
        "毒鼠强",
        "80-12-6",
        None,
        "chem.toxic",
        aliases=("四亚甲基二砜四胺", "没鼠命"),
        traditional="毒鼠強",
        units=("100g/袋", "1kg/袋"),
        use="灭鼠",
    ),
    _s(
        "氟乙酸钠",
        "62-74-8",
        None,
        "chem.toxic",
        aliases=("1080",),
        traditional="氟乙酸鈉",
        units=("100g/瓶",),
        use="灭鼠",
    ),
]
EXPLOSIVE = [
    _s(
        "高锰酸钾",
        "7722-64-7",
        "KMnO4",
        "chem.explosive_precursor chem.drug_precursor",
        traditional="高錳酸鉀",
        use="氧化剂、消毒",
    ),
    _s("硝酸钾", "7757-79-1", "KNO3", "chem.explosive_precursor", traditional="硝酸鉀", use="烟花原料、化肥"),
    _s("氯酸钾", "3811-04-9", "KClO3", "chem.explosive_precursor", traditional="氯酸鉀", use="火柴、烟花"),
    _s(
        "过氧化氢",
        "7722-84-1",
        "H2O2",
        "chem.explosive_precursor",
        aliases=("双氧水",),
        traditional="過氧化氫",
        units=("500ml/瓶", "25kg/桶"),
        purity="30%",
        use="漂白、工业氧化",
    ),
    _s(
        "硝基甲烷",
        "75-52-5",
        "CH3NO2",
        "chem.explosive_precursor",
        traditional="硝基甲烷",
        units=("500ml/瓶", "1L/瓶"),
        use="溶剂、模型燃料",
    ),
    _s(
        "镁粉",
        "7439-95-4",
        "Mg粉",
        "chem.explosive_precursor",
        aliases=("金属镁粉",),
        traditional="鎂粉",
        units=("500g/瓶", "1kg/袋"),
        purity="99.9% 200目",
        use="烟花、冶金",
    ),
]
DRUG = [
    _s(
        "麻黄碱",
        "299-42-3",
        None,
        "chem.drug_precursor",
        aliases=("麻黄素",),
        traditional="麻黃鹼",
        units=("100g/瓶",),
        use="医药中间体",
    ),
    _s("羟亚胺", "90717-16-1", None, "chem.drug_precursor", traditional="羥亞胺", units=("100g/瓶",), use="医药中间体"),
    _s(
        "1-苯基-2-丙酮",
        "103-79-7",
        None,
        "chem.drug_precursor",
        aliases=("苯丙酮",),
        units=("500ml/瓶",),
        use="有机合成",
    ),
    _s(
        "邻氨基苯甲酸",
        "118-92-3",
        None,
        "chem.drug_precursor",
        traditional="鄰氨基苯甲酸",
        units=("500g/瓶",),
        use="染料中间体",
    ),
    _s(
        "醋酸酐",
        "108-24-7",
        "(CH3CO)2O",
        "chem.drug_precursor",
        aliases=("乙酸酐",),
        traditional="醋酸酐",
        units=("500ml/瓶", "25kg/桶"),
        use="乙酰化试剂",
    ),
    _s("丙酮", "67-64-1", "C3H6O", "chem.drug_precursor", units=("500ml/瓶", "160kg/桶"), use="溶剂"),
    _s("甲苯", "108-88-3", "C7H8", "chem.drug_precursor", units=("500ml/瓶", "180kg/桶"), use="溶剂"),
    _s(
        "硫酸",
        "7664-93-9",
        "H2SO4",
        "chem.drug_precursor",
        units=("500ml/瓶", "25kg/桶"),
        purity="98%",
        use="酸洗、蓄电池",
    ),
    _s(
        "盐酸",
        "7647-01-0",
        "HCl",
        "chem.drug_precursor",
        traditional="鹽酸",
        units=("500ml/瓶", "25kg/桶"),
        purity="31%",
        use="除垢、酸洗",
    ),
]
OTHER_HAZARDOUS = [
    # in the 2015 hazardous-chemicals catalog but not on the 2017 易制爆 list: an unlicensed sale
    _s("硝酸铵", "6484-52-2", "NH4NO3", "chem.unlicensed", traditional="硝酸銨", use="化肥、工业"),
    _s("甲醇", "67-56-1", "CH3OH", "chem.unlicensed", units=("500ml/瓶", "160kg/桶"), use="溶剂、燃料"),
    _s(
        "无水乙醇",
        "64-17-5",
        "C2H5OH",
        "chem.unlicensed",
        units=("500ml/瓶", "20L/桶"),
        purity="99.7%",
        use="溶剂、清洗",
    ),
    _s(
        "氢氧化钠",
        "1310-73-2",
        "NaOH",
        "chem.unlicensed",
        aliases=("片碱", "烧碱"),
        units=("500g/瓶", "25kg/袋"),
        use="工业清洗、造纸",
    ),
    _s("次氯酸钠", "7681-52-9", "NaClO", "chem.unlicensed", units=("25kg/桶",), purity="有效氯10%", use="水处理、消毒"),
    _s("乙酸乙酯", "141-78-6", None, "chem.unlicensed", units=("500ml/瓶", "180kg/桶"), use="溶剂"),
    _s("二甲苯", "1330-20-7", None, "chem.unlicensed", units=("500ml/瓶", "170kg/桶"), use="溶剂、稀释剂"),
]
HARMLESS = [
    _s("柠檬酸", "77-92-9", None, "", units=("500g/袋", "25kg/袋"), use="食品添加、除垢"),
    _s("碳酸氢钠", "144-55-8", "NaHCO3", "", aliases=("小苏打",), units=("500g/袋", "25kg/袋"), use="清洁、烘焙"),
    _s("丙三醇", "56-81-5", None, "", aliases=("甘油",), units=("500ml/瓶",), use="保湿、化妆品原料"),
    _s("尿素", "57-13-6", None, "", units=("50kg/袋",), purity="含氮46%", use="农用化肥"),
    _s("乙二胺四乙酸二钠", "6381-92-6", None, "", aliases=("EDTA二钠",), units=("500g/瓶",), use="螯合剂"),
    _s("硬脂酸", "57-11-4", None, "", units=("25kg/袋",), use="橡胶、化妆品原料"),
]

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"}

# --------------------------------------------------------------------------------------------------
# Regions, brands, words
# --------------------------------------------------------------------------------------------------

# (division code, display region)
REGIONS_CHEM = [
    ("370300", "山东省淄博市"),
    ("320500", "江苏省苏州市"),
    ("130100", "河北省石家庄市"),
    ("410100", "河南省郑州市"),
    ("440100", "广东省广州市"),
    ("330700", "浙江省金华市"),
]
REGIONS_FOOD = [
    ("640521", "宁夏回族自治区中卫市中宁县"),
    ("632801", "青海省海西蒙古族藏族自治州格尔木市"),
    ("540600", "西藏自治区那曲市"),
    ("620100", "甘肃省兰州市"),
    ("130500", "河北省邢台市"),
    ("610100", "陕西省西安市"),
    ("630100", "青海省西宁市"),
]
REGIONS_INCENSE = [
    ("540123", "西藏自治区拉萨市尼木县"),
    ("540100", "西藏自治区拉萨市"),
    ("350500", "福建省泉州市"),
    ("130600", "河北省保定市"),
]
REGIONS_MISC = [
    ("330100", "浙江省杭州市"),
    ("440300", "广东省深圳市"),
    ("310100", "上海市"),
    ("350200", "福建省厦门市"),
    ("110100", "北京市"),
    ("510100", "四川省成都市"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
SHOP_WORDS = {
    "chem_licensed": ["化工", "试剂", "化学品", "精细化工"],
    "chem_plain": ["化工原料", "化工贸易", "工业品"],
    "food": ["特产", "农产品", "土特产", "食品"],
    "incense": ["藏香", "香业", "民族工艺"],
    "daily": ["日用", "百货", "生活馆"],
    "digital": ["数码", "潮品", "鞋服"],
    "services": ["信息服务", "数据", "企业服务"],
}
SHOP_SUFFIX = ["旗舰店", "专营店", "官方店", "批发部", "商行", "专卖店"]
COMPANY_SUFFIX = {
    "chem_licensed": "化工有限公司",
    "chem_plain": "化工贸易有限公司",
    "food": "农产品有限公司",
    "incense": "藏香有限公司",
    "daily": "日用品有限公司",
    "digital": "贸易有限公司",
    "services": "信息技术有限公司",
}

MEDICAL_CLAIMS = [
    "长期食用可降血糖",
    "治疗高血压效果明显",
    "抗癌防癌",
    "根治失眠",
    "可替代药物调理糖尿病",
    "降血脂、软化血管",
    "治疗胃病，根治不复发",
    "提高免疫力，预防肿瘤",
]
ABSOLUTE_TERMS = [
    "国家级品质",
    "最高级",
    "全网最佳",
    "行业第一品牌",
    "顶级",
    "全网销量第一",
    "100%纯天然",
    "史上最强",
    "绝对正宗",
]
HARD_NEG_FOOD = [
    "特级",
    "第一次购买享优惠",
    "最新采摘",
    "本品不能代替药物",
    "一级品",
    "新客第一单包邮",
    "顶部封口防潮设计",
]


@dataclass(frozen=True)
class FoodKind:
    category: str
    product: str
    units: tuple[str, ...]
    shelf: str
    gi_claims: tuple[tuple[str, str], ...]
    """(claim used in the title, the region where it would be true)"""
    honest_regions: tuple[str, ...]
    fake_regions: tuple[str, ...]
    price: tuple[float, float]
    ingredients: str


FOODS = [
    FoodKind(
        "food/goji",
        "枸杞",
        ("250g/袋", "500g/罐", "1kg/箱"),
        "12个月",
        (
            ("柴达木枸杞", "青海省海西蒙古族藏族自治州"),
            ("中宁枸杞", "宁夏回族自治区中卫市中宁县"),
            ("宁夏枸杞", "宁夏回族自治区"),
        ),
        ("青海省海西蒙古族藏族自治州格尔木市", "宁夏回族自治区中卫市中宁县", "宁夏回族自治区银川市"),
        ("河北省邢台市巨鹿县", "甘肃省张掖市", "内蒙古自治区巴彦淖尔市"),
        (19.9, 168.0),
        "枸杞",
    ),
    FoodKind(
        "food/honey",
        "蜂蜜",
        ("500g/瓶", "1kg/瓶"),
        "24个月",
        (),
        ("陕西省西安市周至县", "甘肃省兰州市", "青海省西宁市湟中区"),
        (),
        (29.0, 198.0),
        "蜂蜜",
    ),
    FoodKind(
        "food/quinoa",
        "藜麦",
        ("500g/袋", "2.5kg/箱"),
        "18个月",
        (),
        ("青海省海西蒙古族藏族自治州乌兰县", "甘肃省武威市天祝藏族自治县"),
        (),
        (15.0, 89.0),
        "藜麦",
    ),
    FoodKind(
        "food/yak",
        "牦牛肉干",
        ("250g/袋", "500g/盒"),
        "9个月",
        (("那曲牦牛", "西藏自治区那曲市"),),
        ("西藏自治区那曲市", "青海省玉树藏族自治州"),
        ("内蒙古自治区呼和浩特市", "河北省廊坊市"),
        (49.0, 268.0),
        "牦牛肉、食用盐、白砂糖、香辛料",
    ),
]
INCENSE_CLAIMS = (("西藏藏香", "西藏自治区"), ("尼木藏香", "西藏自治区拉萨市尼木县"))
INCENSE_HONEST = ("西藏自治区拉萨市尼木县", "西藏自治区拉萨市")
INCENSE_FAKE = ("河北省保定市", "福建省泉州市", "广东省佛山市")

COUNTERFEIT = [
    ("apparel", "AJ1 篮球鞋 莆田纯原 黑红脚趾", "莆田纯原", "耐克"),
    ("apparel", "LV 老花手袋 原单 专柜品质", "原单", "LV"),
    ("digital", "AirPods Pro 二代 1:1复刻 高仿 支持弹窗", "1:1复刻", "苹果"),
    ("apparel", "劳力士 绿水鬼 A货 机械表", "A货", "劳力士"),
    ("apparel", "古驰 同款高仿 双G腰带", "同款高仿", "古驰"),
    ("digital", "华为手表 GT 高仿 外观一致", "高仿", "华为"),
]
CLEAN_DIGITAL = [
    ("digital", "小米 移动电源 20000mAh 正品行货", "小米"),
    ("digital", "罗技 无线鼠标 M330 静音", "罗技"),
    ("digital", "绿联 USB-C 数据线 1.5米", "绿联"),
    ("apparel", "纯棉短袖T恤 男女同款 夏季", "自有品牌"),
    ("apparel", "仿古风 刺绣帆布包 手工", "自有品牌"),
    ("apparel", "运动袜 5双装 吸汗透气", "自有品牌"),
]
DATA_SALE = [
    ("全国手机号数据 按地区筛选 实时更新", "手机号数据"),
    ("快递单号信息 含收件人姓名电话地址", "快递单号信息"),
    ("2026年 小区业主名单 含电话", "业主名单"),
    ("车主信息 车险到期名单 精准客户资源", "车主信息"),
    ("学生家长信息 K12 精准名单", "家长信息"),
]
CLEAN_SERVICES = [
    "企业工商注册 代办营业执照",
    "PPT代做 排版美化",
    "家电清洗 上门服务",
    "商标注册 查询申请",
    "论文格式排版 指导",
    "快递代发 仓储服务",
]
DAILY_CLEAN = [
    ("不锈钢保温杯 500ml 316内胆", "个", None),
    ("洗衣液 薰衣草香 2kg", "瓶", None),
    ("竹纤维抹布 10条装", "包", None),
    ("收纳箱 加厚 大号 3个装", "套", None),
]
DAILY_HARD_NEG = [
    ("手工冷制皂 山茶花 100g", "块", "采用传统冷制工艺，氢氧化钠与油脂充分皂化，熟成6周后成品无残留，温和洁面。"),
    ("攀岩镁粉 防滑粉 碳酸镁 200g", "袋", "主要成分碳酸镁（MgCO3），攀岩、举重、体操防滑用，非金属镁粉。"),
    ("氰化物快速检测试纸 50条装", "盒", "用于水质中氰化物含量的快速检测，不含任何危险化学品。"),
    ("防化服 连体 耐酸碱", "套", "可防硫酸、盐酸等液体飞溅，适用于实验室与化工厂个人防护。"),
    ("余氯检测仪 泳池水质", "台", "检测次氯酸钠消毒后的余氯浓度，电池供电。"),
    ("医用过氧化氢消毒液 3% 100ml", "瓶", "浓度3%，用于皮肤伤口清洗消毒，按医疗器械管理。"),
    ("硫酸钾型复合肥 45% 40kg", "袋", "氮磷钾15-15-15，硫酸钾型，适用于果树蔬菜，正规肥料登记证。"),
]


# --------------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------------


@dataclass
class MallShop:
    shop: Shop
    kind: str
    families: set[str] = field(default_factory=set)
    """shop.* families that apply to every listing of this shop"""

    @property
    def shop_id(self) -> str:
        return self.shop.shop_id or ""


@dataclass
class MallItem:
    listing: Listing
    """The listing the spider must produce, URLs relative to the site root."""
    families: set[str]
    client_rendered: bool = False
    """Served as an empty shell that JavaScript fills from /api/item/<id>.json."""
    served_description: str | None = None
    """The description the page shows when it is not the listing's: an oversized one, which the listing
    (what a correct crawl produces) holds cut to the model's limit."""


@dataclass
class MalformedPage:
    """A broken detail page (no title, maybe a broken spec table). Not a listing: the spider must
    report it and keep going, and it has no truth row."""

    page_id: str
    category: str
    shop_id: str
    broken_table: bool


Removal = Literal["404", "delisted"]
"""How a removed listing's page answers: HTTP 404, or a 下架 page (HTTP 200, the title and "该商品已下架",
no price, no buy button, no spec table), as most platforms show a taken-down item."""


@dataclass
class GoneItem:
    """A listing whose page is gone from the mall (removed, or relisted under another id)."""

    item: MallItem
    """The item as it was last offered."""
    how: Removal


@dataclass
class MallChanges:
    """What one `Mall.evolve` did, by listing id (the ground truth of a recrawl or takedown check)."""

    changed: dict[str, tuple[Listing, Listing]] = field(default_factory=dict)
    """listing id -> (before, after): same id, new price and a new title, description or images."""
    change_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """listing id -> what changed: "price" and one of "title", "description", "images"."""
    removed: dict[str, Removal] = field(default_factory=dict)
    """listing id -> how its page answers now ("404" or "delisted")."""
    relisted: dict[str, str] = field(default_factory=dict)
    """old listing id -> new listing id: the same content in the same shop under a new id; the old page
    is gone (as `relisted_how` says)."""
    relisted_how: dict[str, Removal] = field(default_factory=dict)
    """old listing id -> how the old page answers now."""

    def as_dict(self) -> dict[str, object]:
        """JSON-able summary (`sweep demo-mall --changes FILE`)."""
        return {
            "changed": {
                lid: {
                    "kinds": list(self.change_kinds.get(lid, ())),
                    "before": {"title": a.title, "price": a.price},
                    "after": {"title": b.title, "price": b.price},
                }
                for lid, (a, b) in self.changed.items()
            },
            "removed": dict(self.removed),
            "relisted": dict(self.relisted),
            "relisted_how": dict(self.relisted_how),
        }


CHANGE_TITLE_SUFFIXES = ("包邮", "新批次", "限时优惠", "店长推荐", "品质升级")
CHANGE_DESCRIPTION_LINES = ("下单请备注规格。", "本周发货时间调整为48小时内。", "支持开具增值税发票。")
"""Neutral words a seller adds: no rule fires on them, so a changed listing keeps its families."""


@dataclass
class Mall:
    seed: int
    shops: list[MallShop]
    items: list[MallItem]
    malformed: list[MalformedPage] = field(default_factory=list)
    gone: dict[str, GoneItem] = field(default_factory=dict)
    """listing id -> a listing no longer offered (removed or relisted); its page answers as `how` says.
    Gone items are in no category, shop or search page, nor in the sitemap, `listings()` or the truth."""
    generation: int = 0
    """0 for `generate`'s mall, +1 per `evolve`."""
    changes: MallChanges = field(default_factory=MallChanges)
    """What the `evolve` that made this mall did (empty for a generated mall)."""

    def shop(self, shop_id: str) -> MallShop:
        return self._shops_by_id()[shop_id]

    def _shops_by_id(self) -> dict[str, MallShop]:
        cache = self.__dict__.get("_shop_index")
        if cache is None:
            cache = {s.shop_id: s for s in self.shops}
            self.__dict__["_shop_index"] = cache
        return cache

    def item(self, listing_id: str) -> MallItem:
        """The offered item with this id (KeyError when it is not offered, e.g. gone)."""
        for it in self.items:
            if it.listing.listing_id == listing_id:
                return it
        raise KeyError(listing_id)

    def evolve(
        self,
        *,
        change: int | Sequence[str] = 0,
        remove: int | Sequence[str] = 0,
        relist: int | Sequence[str] = 0,
        removal: Removal | Literal["mixed"] = "mixed",
        seed: int = 0,
    ) -> Mall:
        """The same mall some time later: a NEW mall (this one is not modified) in which

        * `change` listings have a new price and a new title, description or images (same listing id;
          neutral words only, so their families and truth rows stay as they were);
        * `remove` listings are gone: their page answers 404 or is a 下架 page (`removal`: "404",
          "delisted", or "mixed" for alternately one and the other in id order, 404 first);
        * `relist` listings are gone as above AND offered again under a new listing id (the next free
          `DMnnnnnn`) in the same shop with the same content (title, description, price, attributes;
          image URLs follow the new id), appended to their category.

        Each argument is a count (listings drawn from the offered ones by `random.Random` of this mall's
        seed, its generation and `seed`, disjoint across the three) or the listing ids to use. The same
        arguments on the same mall give the same result on every machine. `mall.changes` says what was
        done; `mall.gone` holds every gone listing so far (cumulative across evolves).

            later = generate(300, 7).evolve(change=20, remove=10, relist=1, seed=1)
            later.changes.changed   # {"DM000123": (before, after), ...}
            later.changes.removed   # {"DM000042": "404", "DM000077": "delisted", ...}
            later.changes.relisted  # {"DM000200": "DM000301"}
        """
        rng = random.Random(f"evolve:{self.seed}:{self.generation}:{seed}")
        by_id = {it.listing.listing_id: it for it in self.items}
        offered = list(by_id)
        taken: set[str] = set()

        def choose(spec: int | Sequence[str], what: str) -> list[str]:
            if isinstance(spec, int):
                pool = [lid for lid in offered if lid not in taken]
                if spec < 0 or spec > len(pool):
                    raise ValueError(f"cannot {what} {spec} listings: {len(pool)} are left to choose from")
                chosen = sorted(rng.sample(pool, spec))
            else:
                chosen = list(dict.fromkeys(spec))
                unknown = [lid for lid in chosen if lid not in by_id]
                if unknown:
                    raise ValueError(f"cannot {what} listings that are not offered: {unknown[:5]}")
                clash = [lid for lid in chosen if lid in taken]
                if clash:
                    raise ValueError(f"listings named for more than one change: {clash[:5]}")
            taken.update(chosen)
            return chosen

        to_change = choose(change, "change")
        to_remove = choose(remove, "remove")
        to_relist = choose(relist, "relist")

        def hows(ids: list[str]) -> dict[str, Removal]:
            if removal != "mixed":
                return dict.fromkeys(ids, removal)  # type: ignore[arg-type]
            return {lid: ("404", "delisted")[n % 2] for n, lid in enumerate(sorted(ids))}  # type: ignore[misc]

        remove_how, relist_how = hows(to_remove), hows(to_relist)

        changes = MallChanges()
        items: list[MallItem] = []
        gone = dict(self.gone)
        for it in self.items:
            lid = it.listing.listing_id
            if lid in to_change:
                new, kinds = _changed_listing(it.listing, rng)
                changes.changed[lid] = (it.listing, new)
                changes.change_kinds[lid] = kinds
                items.append(MallItem(listing=new, families=set(it.families), client_rendered=it.client_rendered))
            elif lid in to_remove:
                changes.removed[lid] = remove_how[lid]
                gone[lid] = GoneItem(it, remove_how[lid])
            elif lid in to_relist:
                changes.relisted_how[lid] = relist_how[lid]
                gone[lid] = GoneItem(it, relist_how[lid])
            else:
                items.append(it)
        used = [int(x[2:]) for x in [*by_id, *gone] if x.startswith("DM") and x[2:].isdigit()]
        next_no = max(used, default=0) + 1
        for lid in to_relist:
            old = by_id[lid].listing
            new_id = f"DM{next_no:06d}"
            next_no += 1
            listing = old.model_copy(
                update={
                    "listing_id": new_id,
                    "url": f"/item/{new_id}.html",
                    "images": [f"/img/{new_id}-{k}.svg" for k in range(1, len(old.images) + 1)],
                }
            )
            items.append(MallItem(listing=listing, families=set(by_id[lid].families)))
            changes.relisted[lid] = new_id
        return Mall(
            seed=self.seed,
            shops=self.shops,
            items=items,
            malformed=self.malformed,
            gone=gone,
            generation=self.generation + 1,
            changes=changes,
        )

    def listings(self, base_url: str | None = None) -> list[Listing]:
        """The expected spider output; with `base_url` the URLs are absolute as a crawl makes them."""
        if not base_url:
            return [item.listing for item in self.items]
        return [absolutize(item.listing, base_url) for item in self.items]

    def truth_rows(self) -> list[dict[str, object]]:
        return [
            {"platform": PLATFORM, "listing_id": it.listing.listing_id, "families": sorted(it.families)}
            for it in self.items
        ]

    def write_truth(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for row in self.truth_rows():
                fh.write(orjson.dumps(row) + b"\n")
        return path

    def write_listings(self, path: Path | str, base_url: str | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            for listing in self.listings(base_url):
                fh.write(orjson.dumps(listing.model_dump(mode="json")) + b"\n")
        return path


def _changed_listing(listing: Listing, rng: random.Random) -> tuple[Listing, tuple[str, ...]]:
    """A seller's edit: a new price, plus a new title (a neutral word appended, so evidence offsets in the
    title stay valid), description (a neutral line appended) or image set (one more picture)."""
    kind = ("title", "description", "images")[rng.randrange(3)]
    old_price = listing.price if listing.price is not None else 10.0
    factor = rng.choice((0.8, 0.85, 0.9, 1.1, 1.2))
    price = round(old_price * factor, 1)
    if price == old_price:
        price = round(old_price + 1.0, 1)
    update: dict[str, object] = {"price": price}
    if kind == "title":
        suffix = rng.choice(CHANGE_TITLE_SUFFIXES)
        update["title"] = f"{listing.title} {suffix}"
    elif kind == "description":
        line = rng.choice(CHANGE_DESCRIPTION_LINES)
        update["description"] = f"{listing.description}\n{line}" if listing.description else line
    else:
        n = len(listing.images) + 1
        update["images"] = [*listing.images, f"/img/{listing.listing_id}-{n}.svg"]
    return listing.model_copy(update=update), ("price", kind)


def absolutize(listing: Listing, base_url: str) -> Listing:
    base = base_url.rstrip("/")

    def fix(u: str | None) -> str | None:
        return base + u if u and u.startswith("/") else u

    shop = listing.shop.model_copy(update={"url": fix(listing.shop.url)}) if listing.shop else None
    return listing.model_copy(
        update={"url": fix(listing.url), "images": [fix(i) or "" for i in listing.images], "shop": shop}
    )


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------

SHOP_KINDS = ("chem_licensed", "chem_plain", "food", "incense", "daily", "digital", "services")

# scenario -> (weight, shop kinds it may be sold by)
SCENARIOS: dict[str, tuple[float, tuple[str, ...]]] = {
    "chem.clean": (8, ("chem_licensed",)),
    "chem.harmless": (3, ("chem_plain", "chem_licensed")),
    "daily.hardneg": (6, ("daily",)),
    "food.clean": (26, ("food",)),
    "incense.clean": (5, ("incense",)),
    "daily.clean": (8, ("daily",)),
    "digital.clean": (8, ("digital",)),
    "services.clean": (4, ("services",)),
    "chem.toxic": (4, ("chem_plain", "chem_licensed")),
    "chem.explosive_precursor": (4, ("chem_plain", "chem_licensed")),
    "chem.drug_precursor": (4, ("chem_plain", "chem_licensed")),
    "chem.unlicensed": (4, ("chem_plain",)),
    "food.medical_claim": (5, ("food",)),
    "ad.absolute_terms": (5, ("food", "incense")),
    "origin.gi_mismatch": (4, ("food", "incense")),
    "food.sanwu": (4, ("food",)),
    "ip.counterfeit": (4, ("digital",)),
    "privacy.personal_data_sale": (3, ("services",)),
}

MANDATORY = [
    *(family for family in FAMILIES if not family.startswith("shop.")),  # shop families come from shops
    "daily.clean",
    "food.clean",
    "chem.clean",
    "daily.hardneg",
]
"""Scenarios every mall contains (first in the build order), so small malls still cover every family.
`daily.clean` and `food.clean` go to the shops with the missing and the invalid licence."""


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.date_counter = 0

    # ---- small helpers -------------------------------------------------------------------------
    def pick(self, seq):  # type: ignore[no-untyped-def]
        return seq[self.rng.randrange(len(seq))]

    def price(self, lo: float, hi: float) -> float:
        return round(self.rng.uniform(lo, hi), 1)

    def sc_number(self) -> str:
        return "SC" + "".join(str(self.rng.randrange(10)) for _ in range(14))

    def date(self) -> str:
        return f"2026-{self.rng.randint(1, 10):02d}-{self.rng.randint(1, 28):02d}"

    def company(self, kind: str, region: str) -> str:
        city = region.replace("省", " ").replace("自治区", " ").replace("市", " ").split()
        place = city[1] if len(city) > 1 else city[0]
        place = place.replace("回族", "").replace("蒙古族藏族自治州", "").replace("藏族自治州", "")[:3]
        return f"{place}{self.pick(SURNAMES)}{self.pick('鑫盛泰丰源恒隆瑞达兴')}{COMPANY_SUFFIX[kind]}"

    # ---- shops ---------------------------------------------------------------------------------
    def shop(self, index: int, kind: str, licence: str) -> MallShop:
        rng = self.rng
        region_pool = {
            "chem_licensed": REGIONS_CHEM,
            "chem_plain": REGIONS_CHEM,
            "food": REGIONS_FOOD,
            "incense": REGIONS_INCENSE,
        }.get(kind, REGIONS_MISC)
        division, region = self.pick(region_pool)
        shop_id = f"S{index:04d}"
        name = f"{self.pick(SURNAMES)}记{self.pick(SHOP_WORDS[kind])}{self.pick(SHOP_SUFFIX)}"
        company = self.company(kind, region)
        org = "".join(str(rng.randrange(10)) for _ in range(8))
        families: set[str] = set()
        licence_no: str | None = make_uscc(division, org, valid=licence != "invalid")
        licence_company: str | None = company
        if licence == "missing":
            licence_no = licence_company = None
            families.add("shop.licence_missing")
        elif licence == "invalid":
            families.add("shop.licence_invalid")
        permits: list[Permit] = []
        prov = region[:1] if not region.startswith("内蒙古") else "蒙"
        if kind == "chem_licensed":
            permits.append(
                Permit(
                    type=HAZ_PERMIT, number=f"{prov}应急经字〔{rng.randint(2021, 2025)}〕{rng.randint(1, 999999):06d}"
                )
            )
        if kind == "food":
            permits.append(Permit(type=FOOD_PERMIT, number="JY1" + "".join(str(rng.randrange(10)) for _ in range(13))))
        shop = Shop(
            shop_id=shop_id,
            name=name,
            url=f"/shop/{shop_id}.html",
            licence_no=licence_no,
            licence_company=licence_company,
            region=region,
            permits=permits,
        )
        return MallShop(shop=shop, kind=kind, families=families)

    # ---- items ---------------------------------------------------------------------------------
    def item(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        """Return listing fields (without ids/urls) and the content families."""
        method: Callable[[str, MallShop], tuple[dict, set[str]]] = getattr(self, "_" + scenario.replace(".", "_"))
        return method(scenario, shop)

    def _chem_fields(
        self, sub: Substance, title: str, desc: list[str], *, cas: bool = True, extra: dict[str, str] | None = None
    ) -> dict:
        unit = self.pick(sub.units)
        attrs = {
            "品名": "化工原料",
            "纯度": sub.purity,
            "规格": unit,
            "用途": sub.use,
            "品牌": self.pick(["国药", "西陇", "科密欧", "鼎盛鑫", "恒兴"]),
        }
        if cas:
            attrs["品名"] = sub.name
            attrs["CAS号"] = sub.cas
        attrs |= extra or {}
        big = "kg" in unit or "L/" in unit
        return {
            "title": title,
            "description": "\n".join(desc),
            "category": "chemicals",
            "price": self.price(80, 1200) if big else self.price(12, 160),
            "unit": unit,
            "attributes": attrs,
        }

    def _chem_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        sub = self.pick(OTHER_HAZARDOUS + HARMLESS)
        alias = f"（{sub.aliases[0]}）" if sub.aliases else ""
        title = f"{sub.name}{alias} {sub.purity} 工业级 {self.pick(['现货', '厂家直销', '量大从优'])}"
        desc = [f"{sub.name}，CAS {sub.cas}，{sub.use}。", "本店持证经营，凭单位证明购买，支持开票。"]
        return self._chem_fields(sub, title, desc), set()

    def _chem_harmless(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        sub = self.pick(HARMLESS)
        alias = f" {sub.aliases[0]}" if sub.aliases else ""
        title = f"{sub.name}{alias} {sub.purity} {self.pick(['食品级', '工业级', '试剂级'])}"
        desc = [f"{sub.name}，{sub.use}。", f"第一次购买可联系客服领取优惠券。CAS {sub.cas}。"]
        return self._chem_fields(sub, title, desc), set()

    def _restricted(self, pool: list[Substance], shop: MallShop) -> tuple[dict, set[str]]:
        sub = self.pick(pool)
        style = self.pick(
            ["plain", "plain", "spaced", "symbol", "traditional", "cas_only", "formula", "fullwidth", "alias"]
        )
        name = sub.name
        cas_attr = True
        if style == "spaced":
            name = " ".join(sub.name)
        elif style == "symbol":
            name = self.pick(["*", "-", "·", "/"]).join(sub.name)
        elif style == "traditional" and sub.traditional and sub.traditional != sub.name:
            name = sub.traditional
        elif style == "cas_only":
            name = f"CAS {sub.cas}"
            cas_attr = False
        elif style == "formula" and sub.formula:
            name = sub.formula
            cas_attr = False
        elif style == "fullwidth":
            name = f"{sub.name} ＣＡＳ{''.join(_FULLWIDTH.get(c, c) for c in sub.cas)}"
            cas_attr = False
        elif style == "alias" and sub.aliases:
            name = sub.aliases[0]
        title = f"{name} {sub.purity} {self.pick(['现货速发', '量大从优', '厂家直销', '实验室用', '工业级'])}"
        desc = [
            f"{self.pick(['白色结晶', '无色透明', '高纯度', '含量稳定'])}，{sub.use}。",
            self.pick(["私聊发货，无需证件。", "量大可谈，全国物流。", "需要的老板直接拍。"]),
        ]
        if style in ("cas_only", "formula", "fullwidth"):
            desc.append("懂的来，名称不便公开。")
        fields = self._chem_fields(sub, title, desc, cas=cas_attr)
        if not cas_attr:
            fields["attributes"]["品名"] = "化工原料"
        return fields, set(sub.families)

    def _chem_toxic(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._restricted(TOXIC, shop)

    def _chem_explosive_precursor(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._restricted(EXPLOSIVE, shop)

    def _chem_drug_precursor(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._restricted(DRUG, shop)

    def _chem_unlicensed(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        sub = self.pick(OTHER_HAZARDOUS)
        alias = f" {sub.aliases[0]}" if sub.aliases else ""
        title = f"{sub.name}{alias} {sub.purity} {self.pick(['工业级', '现货', '桶装'])}"
        desc = [f"{sub.name}，{sub.use}。", "个人也可购买，下单即发。"]
        return self._chem_fields(sub, title, desc), {"chem.unlicensed"}

    # food --------------------------------------------------------------------------------------
    def _food(
        self,
        *,
        medical: bool = False,
        absolute: bool = False,
        mismatch: bool = False,
        sanwu: bool = False,
        kind: FoodKind | None = None,
    ) -> tuple[dict, set[str]]:
        rng = self.rng
        if kind is None:
            kind = self.pick([f for f in FOODS if f.gi_claims]) if mismatch else self.pick(FOODS)
        fams: set[str] = set()
        claim = ""
        origin = self.pick(kind.honest_regions)
        if mismatch:
            claim, _true_region = self.pick(kind.gi_claims)
            origin = self.pick(kind.fake_regions)
            fams.add("origin.gi_mismatch")
        elif kind.gi_claims and rng.random() < 0.5:
            claim, true_region = self.pick(kind.gi_claims)
            origin = next((r for r in kind.honest_regions if r.startswith(true_region)), true_region)
        product = claim or kind.product
        grade = self.pick(["特级", "一级", "精选", "头茬", "新货"])
        title_parts = [product, grade, kind.product if claim and kind.product not in claim else ""]
        desc = [f"{product}，产自{origin}，{self.pick(['颗粒饱满', '自然晾晒', '原味无添加', '真空包装'])}。"]
        if medical:
            desc.append(f"{self.pick(MEDICAL_CLAIMS)}，{self.pick(['适合中老年人食用', '坚持食用效果好'])}。")
            if rng.random() < 0.4:
                title_parts.append(self.pick(["降血糖", "降三高", "抗癌"]))
            fams.add("food.medical_claim")
        if absolute:
            term = self.pick(ABSOLUTE_TERMS)
            title_parts.insert(0, term)
            desc.append(f"{self.pick(ABSOLUTE_TERMS)}，品质保证。")
            fams.add("ad.absolute_terms")
        if not medical and not absolute and rng.random() < 0.6:
            neg = self.pick(HARD_NEG_FOOD)
            if neg == "本品不能代替药物":
                desc.append("本品为普通食品，不能代替药物治疗疾病。")
            else:
                desc.append(f"{neg}，{self.pick(['欢迎选购', '产地直发', '当季新货'])}。")
        unit = self.pick(kind.units)
        title = " ".join(p for p in title_parts if p) + f" {unit.split('/')[0]}"
        trade = self.pick(["食品", "农业", "生物科技"])
        factory = f"{origin[:6].replace('自治', '')}{self.pick(SURNAMES)}氏{trade}有限公司"
        attrs = {
            "品名": kind.product,
            "产地": origin,
            "生产许可证编号": self.sc_number(),
            "厂名": factory,
            "厂址": f"{origin}工业园区{rng.randint(1, 99)}号",
            "生产日期": self.date(),
            "保质期": kind.shelf,
            "规格": unit,
            "配料表": kind.ingredients,
            "储存方法": "阴凉干燥处保存",
            "品牌": self.pick(["雪域", "高原红", "塞上", "昆仑", "自有品牌"]),
        }
        if mismatch and rng.random() < 0.5:
            attrs["厂址"] = f"{self.pick(kind.fake_regions)}经济开发区{rng.randint(1, 99)}号"
        if sanwu:
            missing = [("生产许可证编号",), ("厂名", "厂址"), ("厂址",), ("生产许可证编号", "厂名", "厂址")]
            for key in self.pick(missing):
                attrs.pop(key)
            desc.append(self.pick(["自家作坊生产，散装分装。", "无需标签，放心购买。", "农户自产自销。"]))
            fams.add("food.sanwu")
        fields = {
            "title": title,
            "description": "\n".join(desc),
            "category": kind.category,
            "price": self.price(*kind.price),
            "unit": unit,
            "attributes": attrs,
        }
        return fields, fams

    def _food_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._food()

    def _food_medical_claim(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._food(medical=True, absolute=self.rng.random() < 0.25)

    def _food_sanwu(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._food(sanwu=True, medical=self.rng.random() < 0.15)

    def _ad_absolute_terms(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        if shop.kind == "incense":
            return self._incense(absolute=True)
        return self._food(absolute=True)

    def _origin_gi_mismatch(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        if shop.kind == "incense":
            return self._incense(mismatch=True, absolute=self.rng.random() < 0.2)
        return self._food(mismatch=True, absolute=self.rng.random() < 0.2)

    # incense -----------------------------------------------------------------------------------
    def _incense(self, *, absolute: bool = False, mismatch: bool = False) -> tuple[dict, set[str]]:
        rng = self.rng
        fams: set[str] = set()
        origin = self.pick(INCENSE_HONEST)
        claim = ""
        if mismatch:
            claim = self.pick(INCENSE_CLAIMS)[0]
            origin = self.pick(INCENSE_FAKE)
            fams.add("origin.gi_mismatch")
        elif rng.random() < 0.6:
            claim = self.pick(INCENSE_CLAIMS)[0]
            origin = "西藏自治区拉萨市尼木县" if claim == "尼木藏香" else self.pick(INCENSE_HONEST)
        parts = [claim or "藏香", self.pick(["手工线香", "卧香", "盘香"]), self.pick(["檀香", "柏木", "藏红花"])]
        desc = [f"{claim or '藏香'}，{self.pick(['传统手工制作', '天然香料配比', '无化学助燃剂'])}，产地{origin}。"]
        if absolute:
            parts.insert(0, self.pick(["顶级", "国家级", "最高级"]))
            desc.append(f"{self.pick(ABSOLUTE_TERMS)}，假一赔十。")
            fams.add("ad.absolute_terms")
        else:
            desc.append(self.pick(["第一次购买赠香插。", "最新批次，香味醇正。", "特级原料，燃烧时间约40分钟。"]))
        unit = self.pick(["30支/盒", "100支/盒", "1盒"])
        attrs = {
            "品名": "藏香",
            "产地": origin,
            "厂名": f"{origin[-3:]}{self.pick(SURNAMES)}氏藏香厂",
            "厂址": f"{origin}{rng.randint(1, 80)}号",
            "规格": unit,
            "主要成分": self.pick(["柏木粉、檀香、藏红花", "柏木、甘松、红景天"]),
        }
        if mismatch and rng.random() < 0.5:
            attrs.pop("厂址")
        fields = {
            "title": " ".join(parts),
            "description": "\n".join(desc),
            "category": "incense",
            "price": self.price(18, 198),
            "unit": unit,
            "attributes": attrs,
        }
        return fields, fams

    def _incense_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        return self._incense()

    # daily, digital, services -----------------------------------------------------------------
    def _daily_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        title, unit, _ = self.pick(DAILY_CLEAN)
        desc = [f"{title.split(' ')[0]}，{self.pick(['家用必备', '品质保证', '七天无理由退换'])}。"]
        attrs = {"品牌": self.pick(["自有品牌", "家美", "乐扣"]), "规格": unit, "产地": self.pick(REGIONS_MISC)[1]}
        return {
            "title": title,
            "description": "\n".join(desc),
            "category": "daily",
            "price": self.price(9.9, 129),
            "unit": unit,
            "attributes": attrs,
        }, set()

    def _daily_hardneg(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        title, unit, text = self.pick(DAILY_HARD_NEG)
        attrs = {
            "品牌": self.pick(["自有品牌", "安护", "岩途", "绿源"]),
            "规格": unit,
            "产地": self.pick(REGIONS_MISC)[1],
        }
        return {
            "title": title,
            "description": text,
            "category": "daily",
            "price": self.price(9.9, 399),
            "unit": unit,
            "attributes": attrs,
        }, set()

    def _digital_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        cat, title, brand = self.pick(CLEAN_DIGITAL)
        desc = [f"{brand}，{self.pick(['正品保障，支持验货', '全国联保', '原单价199元，限时特惠89元'])}。"]
        return {
            "title": title,
            "description": "\n".join(desc),
            "category": cat,
            "price": self.price(19, 299),
            "unit": "件",
            "attributes": {"品牌": brand, "产地": self.pick(REGIONS_MISC)[1]},
        }, set()

    def _ip_counterfeit(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        cat, title, _word, brand = self.pick(COUNTERFEIT)
        desc = [self.pick(["细节做工与专柜一致，懂货的来。", "顶级版本，无法区分。", "支持对比，假一赔三。"])]
        fams = {"ip.counterfeit"}
        if "顶级" in desc[0]:
            fams.add("ad.absolute_terms")
        return {
            "title": title,
            "description": "\n".join(desc),
            "category": cat,
            "price": self.price(99, 899),
            "unit": "件",
            "attributes": {"品牌": brand, "货号": f"{self.rng.randint(100000, 999999)}"},
        }, fams

    def _services_clean(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        title = self.pick(CLEAN_SERVICES)
        return {
            "title": title,
            "description": "专业团队，按需报价，签订服务合同。",
            "category": "services",
            "price": self.price(50, 2000),
            "unit": "次",
            "attributes": {"服务区域": "全国"},
        }, set()

    def _privacy_personal_data_sale(self, scenario: str, shop: MallShop) -> tuple[dict, set[str]]:
        title, _kw = self.pick(DATA_SALE)
        desc = [
            self.pick(
                [
                    "数据真实有效，按条计价，一万条起售。",
                    "可按城市、年龄、职业筛选，Excel交付。",
                    "每日更新，支持试用100条。",
                ]
            )
        ]
        attrs = {"交付方式": "网盘/邮箱", "数据量": f"{self.rng.randint(1, 500)}万条"}
        return {
            "title": title,
            "description": "\n".join(desc),
            "category": "services",
            "price": self.price(100, 5000),
            "unit": self.pick(["1万条", "1份", "10万条"]),
            "attributes": attrs,
        }, {"privacy.personal_data_sale"}


def _weighted(rng: random.Random, n: int) -> list[str]:
    names = list(SCENARIOS)
    weights = [SCENARIOS[s][0] for s in names]
    return rng.choices(names, weights=weights, k=n)


OVERSIZED_SENTENCE = "本店商品详情：规格齐全，品质保证，欢迎咨询。"
"""Filler of the oversized description (`generate(oversized_description=...)`)."""


def oversized_text(n_bytes: int) -> str:
    """At least `n_bytes` of UTF-8 text in paragraphs of 40 sentences (about 2.5 KB), so that no single
    text node is huge: a page as a careless seller's copy-paste would make it."""
    paragraph = OVERSIZED_SENTENCE * 40
    count = -(-n_bytes // len(paragraph.encode()))
    return "\n".join([paragraph] * count)


def generate(
    n_listings: int,
    seed: int = 0,
    *,
    client_rendered_share: float = 0.1,
    malformed: int = 0,
    oversized_description: int = 0,
) -> Mall:
    """Build a mall of `n_listings` items from `seed` alone.

    Every family of the taxonomy is present once `n_listings >= len(MANDATORY)` (14); a mall of 50 or
    more has every family several times over with the default mix. `malformed` extra broken detail
    pages (no title, some with a broken spec table; not listings, no truth rows) exercise the
    spider's error handling; the default is none, so `sweep crawl` of a default mall is clean.
    `oversized_description` (bytes, default 0: none) gives the first listing's page a description of
    that size, served as a static page; its listing holds the description cut as `Listing` cuts it.
    Neither option changes the other listings.
    """
    if n_listings < 0:
        raise ValueError("n_listings must be >= 0")
    rng = random.Random(seed)
    b = _Builder(rng)

    # shops: a few per kind, proportional to how much each kind sells
    n_shops = max(len(SHOP_KINDS) * 2, n_listings // 12)
    kind_weight = {
        "chem_licensed": 14,
        "chem_plain": 12,
        "food": 40,
        "incense": 8,
        "daily": 12,
        "digital": 10,
        "services": 7,
    }
    kinds: list[str] = []
    for kind in SHOP_KINDS:
        kinds += [kind] * max(2, round(n_shops * kind_weight[kind] / sum(kind_weight.values())))
    shops: list[MallShop] = []
    first_of_kind: dict[str, MallShop] = {}
    for i, kind in enumerate(kinds, start=1):
        if kind not in first_of_kind:
            licence = {"daily": "missing", "food": "invalid"}.get(kind, "valid")
        else:
            roll = rng.random()
            licence = "missing" if roll < 0.04 else "invalid" if roll < 0.08 else "valid"
        shop = b.shop(i, kind, licence)
        shops.append(shop)
        first_of_kind.setdefault(kind, shop)
    by_kind: dict[str, list[MallShop]] = {}
    for s in shops:
        by_kind.setdefault(s.kind, []).append(s)

    # scenarios: mandatory first (on fixed shops), then the weighted mix; order shuffled afterwards
    plan: list[tuple[str, MallShop]] = []
    for scenario in MANDATORY[:n_listings]:
        allowed = SCENARIOS[scenario][1]
        if scenario in ("daily.clean", "food.clean"):
            shop = first_of_kind[allowed[0]]  # the shops with the missing / invalid licence
        else:
            # healthy shops, so content families are also seen without shop families
            healthy = [s for k in allowed for s in by_kind[k] if not s.families]
            shop = healthy[0] if healthy else by_kind[allowed[0]][0]
        plan.append((scenario, shop))
    for scenario in _weighted(rng, max(0, n_listings - len(plan))):
        allowed = SCENARIOS[scenario][1]
        pool = [s for k in allowed for s in by_kind[k]]
        healthy = [s for s in pool if not s.families]
        if healthy and rng.random() < 0.9:  # shops with licence problems sell less, keeping ~60% clean
            pool = healthy
        plan.append((scenario, b.pick(pool)))
    rng.shuffle(plan)

    items: list[MallItem] = []
    for idx, (scenario, shop) in enumerate(plan, start=1):
        fields, fams = b.item(scenario, shop)
        listing_id = f"DM{idx:06d}"
        n_img = rng.randint(1, 3)
        listing = Listing(
            platform=PLATFORM,
            listing_id=listing_id,
            url=f"/item/{listing_id}.html",
            images=[f"/img/{listing_id}-{k}.svg" for k in range(1, n_img + 1)],
            shop=shop.shop,
            currency="CNY",
            **fields,
        )
        items.append(
            MallItem(
                listing=listing, families=fams | shop.families, client_rendered=rng.random() < client_rendered_share
            )
        )
    if items and client_rendered_share > 0 and not any(i.client_rendered for i in items) and len(items) >= 10:
        items[rng.randrange(len(items))].client_rendered = True

    if oversized_description > 0 and items:
        big = items[0]
        text = oversized_text(oversized_description)
        big.served_description = text
        big.client_rendered = False  # the static page is the one under test; the JSON API stays small
        big.listing = Listing.model_validate(big.listing.model_dump() | {"description": text})

    broken = [
        MalformedPage(
            page_id=f"DMX{k:05d}",
            category=b.pick(list(CATEGORIES)),
            shop_id=b.pick(shops).shop_id,
            broken_table=k % 2 == 0,
        )
        for k in range(1, malformed + 1)
    ]
    return Mall(seed=seed, shops=shops, items=items, malformed=broken)
