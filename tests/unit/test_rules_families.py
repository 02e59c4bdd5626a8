"""Each family on crafted listings, hard negatives, evidence offsets, suppression, explain."""

from __future__ import annotations

from typing import Any

import pytest

from rules import load_rulebook
from sweep.models import Listing, Permit, Shop

BOOK = load_rulebook()
GOOD_LICENCE = "91110108063781246F"


def listing(
    title: str,
    description: str | None = None,
    category: str | None = "chemicals",
    attributes: dict[str, str] | None = None,
    *,
    permits: tuple[str, ...] = (),
    licence: str | None = GOOD_LICENCE,
    shop: bool = True,
) -> Listing:
    return Listing(
        platform="t",
        listing_id="1",
        title=title,
        description=description,
        category=category,
        attributes=attributes or {},
        shop=Shop(shop_id="s", name="店", licence_no=licence, permits=[Permit(type=p) for p in permits])
        if shop
        else None,
    )


def families(item: Listing) -> set[str]:
    return {f.family for f in BOOK.scan(item)}


# ---------------------------------------------------------------- chemicals
@pytest.mark.parametrize(
    "title",
    [
        "氰化钠 98% 现货",
        "氰 化 钠 工业级",
        "氰*化*鈉 量大从优",
        "NaCN 现货速发",
        "ＮａＣＮ 高纯",
        "CAS 143-33-9 懂的来",
        "CAS：１４３－３３－９",
        "砒霜 500g",
        "白砒 工业",
        "升汞 分析纯",
        "毒鼠强 原药",
        "叠氮化钠 99%",
        "As₂O₃ 现货",
        "HgCl2 AR",
        "氰\u200b化\u200b钾 电镀",
        "三氧化二砷",
        "硫酸铊 分析纯",
    ],
)
def test_toxic(title: str) -> None:
    assert "chem.toxic" in families(listing(title))


def test_toxic_from_attributes_only() -> None:
    assert "chem.toxic" in families(listing("化工原料 现货", attributes={"CAS号": "7487-94-7"}))


@pytest.mark.parametrize(
    "title",
    [
        "硝酸钾 99%",
        "硝 酸 钾 工业",
        "硝酸鉀",
        "KNO3 工业级",
        "KClO3 烟花原料",
        "六亚甲基四胺 乌洛托品 500g",
        "硼氢化钠 98%",
        "过氧化氢苯甲酰 过苯甲酸",
        "双氧水 30% 25kg",
        "过氧化氢 50%",
        "金属镁粉 200目",
        "高氯酸钾",
        "硝基甲烷 模型燃料",
        "CAS 7757-79-1 现货",
    ],
)
def test_explosive(title: str) -> None:
    assert "chem.explosive_precursor" in families(listing(title))


@pytest.mark.parametrize("title", ["硝酸铵 99%", "硝 酸 铵 工业", "硝酸銨", "NH4NO3 工业级", "CAS 6484-52-2 现货"])
def test_ammonium_nitrate_is_hazchem_not_explosive_precursor(title: str) -> None:
    """硝酸铵 is in the 2015 catalog (序号2286) but not on the 2017 易制爆 list: an unlicensed sale, no more."""
    assert families(listing(title)) & {"chem.explosive_precursor", "chem.unlicensed"} == {"chem.unlicensed"}


@pytest.mark.parametrize(
    "title",
    [
        "丙酮 分析纯",
        "硫-酸 98%",
        "鹽酸 31%",
        "麻黄素 100g",
        "CAS 67-64-1",
        "乙酸酐",
        "三氯甲烷 氯仿",
        "(CH3CO)2O 99%",
        "N-苯乙基-4-哌啶酮",
        "羟亚胺",
    ],
)
def test_drug_precursor(title: str) -> None:
    assert "chem.drug_precursor" in families(listing(title))


def test_permanganate_is_both_explosive_and_drug_precursor() -> None:
    fams = families(listing("高锰酸钾 KMnO4 99%"))
    assert {"chem.explosive_precursor", "chem.drug_precursor"} <= fams
    assert "chem.unlicensed" not in fams


@pytest.mark.parametrize(
    "title",
    ["甲醇 99%", "无水乙醇 99.7%", "氢氧化钠 片碱", "烧碱 25kg", "次氯酸钠 10%", "乙酸乙酯", "二甲苯", "NaOH 99%"],
)
def test_unlicensed_needs_missing_permit(title: str) -> None:
    assert "chem.unlicensed" in families(listing(title))
    assert "chem.unlicensed" not in families(listing(title, permits=("危险化学品经营许可证",)))


def test_unlicensed_not_reported_with_a_more_specific_family() -> None:
    fams = families(listing("氰化钠 甲醇 混合现货"))
    assert "chem.toxic" in fams and "chem.unlicensed" not in fams
    explained = BOOK.explain(listing("氰化钠 甲醇 混合现货"))
    statuses = {r["rule_id"]: r["status"] for r in explained["rules"]}
    assert statuses["chem.unlicensed/catalog"] == "suppressed"


@pytest.mark.parametrize(
    "title, description, category",
    [
        ("氰化物快速检测试纸 50条装", "用于水质中氰化物含量的快速检测，不含任何危险化学品。", "daily"),
        ("氰化钠检测仪 便携式", "检测水中氰化钠浓度。", "instrument"),
        ("手工冷制皂 山茶花 100g", "采用传统冷制工艺，氢氧化钠与油脂充分皂化。", "daily"),
        ("攀岩镁粉 防滑粉 碳酸镁 200g", "主要成分碳酸镁（MgCO3），攀岩、举重、体操防滑用，非金属镁粉。", "daily"),
        ("防化服 连体 耐酸碱", "可防硫酸、盐酸等液体飞溅，适用于实验室与化工厂个人防护。", "daily"),
        ("余氯检测仪 泳池水质", "检测次氯酸钠消毒后的余氯浓度，电池供电。", "daily"),
        ("医用过氧化氢消毒液 3% 100ml", "浓度3%，用于皮肤伤口清洗消毒，按医疗器械管理。", "daily"),
        ("硫酸钾型复合肥 45% 40kg", "氮磷钾15-15-15，硫酸钾型，适用于果树蔬菜。", "agri"),
        ("硝酸铵钙 水溶肥", "钙肥。", "agri"),
        ("盐酸二甲双胍片", "处方药。", "pharmacy"),
        ("硫酸软骨素 氨糖", "关节营养。", "health"),
        ("乙二胺四乙酸二钠 EDTA二钠 99%", "螯合剂。", "chemicals"),
        ("维生素C 500mg 片", "每片含维生素C 500 mg。", "health"),
        ("本店不含甲醇 纯粮酿造", "不含甲醇。", "food/liquor"),
        ("硫磺皂 除螨 香皂", "含硫磺，除螨止痒。", "daily"),
        ("除甲醛 活性炭包", "吸附甲醛、苯、甲苯等有害气体。", "daily"),
        ("碳酸氢钠 小苏打", "CAS 144-55-8，食品级。", "chemicals"),
    ],
)
def test_chemical_hard_negatives(title: str, description: str, category: str) -> None:
    fams = families(listing(title, description, category))
    assert not {f for f in fams if f.startswith("chem.")}, fams


# ---------------------------------------------------------------- food, ads, origin
def food(
    title: str, description: str = "", attrs: dict[str, str] | None = None, category: str = "food/goji"
) -> Listing:
    base = {
        "产地": "宁夏回族自治区中卫市中宁县",
        "生产许可证编号": "SC11764052100123",
        "厂名": "中宁某食品有限公司",
        "厂址": "宁夏中卫市中宁县工业园区8号",
    }
    return listing(title, description, category, {**base, **(attrs or {})})


@pytest.mark.parametrize(
    "text",
    [
        "降血糖",
        "治疗高血压效果明显",
        "抗癌防癌",
        "根治失眠",
        "可替代药物调理糖尿病",
        "提高免疫力，预防肿瘤",
        "降 血 糖",
        "治療胃病",
        "药到病除",
    ],
)
def test_medical_claim(text: str) -> None:
    assert "food.medical_claim" in families(food("枸杞 500g", f"长期食用{text}。"))


@pytest.mark.parametrize(
    "text",
    ["本品为普通食品，不能代替药物治疗疾病。", "本品不能代替药物", "不具有疾病预防、治疗功能", "营养丰富，老少皆宜"],
)
def test_medical_claim_negatives(text: str) -> None:
    assert "food.medical_claim" not in families(food("枸杞 500g", text))


def test_medical_claim_only_for_food() -> None:
    assert "food.medical_claim" not in families(listing("胃药 治疗胃病", category="pharmacy"))


@pytest.mark.parametrize(
    "title",
    [
        "国家级品质 枸杞",
        "最高级 枸杞",
        "全网最佳 枸杞",
        "行业第一品牌 枸杞",
        "顶级 枸杞",
        "全网销量第一 枸杞",
        "100%纯天然 蜂蜜",
        "史上最强 枸杞",
        "绝对正宗 枸杞",
        "极品 枸杞",
        "送礼首选 枸杞",
        "独一无二 枸杞",
        "销量冠军 枸杞",
        "最低价 枸杞",
        "万能 清洁剂",
    ],
)
def test_absolute_terms(title: str) -> None:
    assert "ad.absolute_terms" in families(food(title))


@pytest.mark.parametrize(
    "title",
    [
        "特级 枸杞",
        "一级 枸杞",
        "第一次购买享优惠 枸杞",
        "最新采摘 枸杞",
        "新客第一单包邮 枸杞",
        "枸杞 最佳食用期12个月",
        "顶部封口防潮设计 枸杞",
        "100%纯棉 T恤",
        "第一批新货 枸杞",
    ],
)
def test_absolute_terms_negatives(title: str) -> None:
    assert "ad.absolute_terms" not in families(food(title))


def test_gi_mismatch() -> None:
    assert "origin.gi_mismatch" in families(food("柴达木枸杞 特级", attrs={"产地": "河北省邢台市巨鹿县"}))
    assert "origin.gi_mismatch" in families(
        food("那曲牦牛 牦牛肉干", category="food/yak", attrs={"产地": "内蒙古自治区呼和浩特市"})
    )
    assert "origin.gi_mismatch" in families(
        listing("西藏藏香 盘香", category="incense", attributes={"产地": "河北省保定市"})
    )


def test_gi_honest_and_unknown() -> None:
    assert "origin.gi_mismatch" not in families(
        food("柴达木枸杞", attrs={"产地": "青海省海西蒙古族藏族自治州格尔木市"})
    )
    assert "origin.gi_mismatch" not in families(food("中宁枸杞", attrs={"产地": "宁夏回族自治区中卫市中宁县"}))
    assert "origin.gi_mismatch" not in families(food("柴达木枸杞", attrs={"产地": "见包装", "厂址": "见包装"}))
    # no usable origin, but the producer address places it elsewhere
    assert "origin.gi_mismatch" in families(food("柴达木枸杞", attrs={"产地": "见包装"}))
    assert "origin.gi_mismatch" not in families(food("枸杞 新货", attrs={"产地": "甘肃省张掖市"}))
    # grown at home, packed elsewhere: the origin attribute decides
    assert "origin.gi_mismatch" not in families(
        food("柴达木枸杞", attrs={"产地": "青海省格尔木市", "厂址": "浙江省杭州市分装厂"})
    )


def test_gi_evidence_points_at_claim_and_attribute() -> None:
    (f,) = [
        f
        for f in BOOK.scan(food("特价 柴达木枸杞", attrs={"产地": "河北省邢台市"}))
        if f.family == "origin.gi_mismatch"
    ]
    assert f.evidence[0].field == "title" and f.evidence[0].text == "柴达木枸杞" and f.evidence[0].start == 3
    assert f.evidence[1].field == "attributes.产地"


@pytest.mark.parametrize("drop", [("生产许可证编号",), ("厂名",), ("厂址",), ("厂名", "厂址")])
def test_sanwu(drop: tuple[str, ...]) -> None:
    item = food("蜂蜜 500g", category="food/honey")
    for k in drop:
        item.attributes.pop(k)
    assert "food.sanwu" in families(item)


def test_sanwu_negatives() -> None:
    assert "food.sanwu" not in families(food("蜂蜜 500g", category="food/honey"))
    assert "food.sanwu" not in families(listing("保温杯", category="daily"))
    item = food("蜂蜜", attrs={"生产许可证编号": "无"})
    assert "food.sanwu" in families(item)


# ---------------------------------------------------------------- ip, privacy, shops
@pytest.mark.parametrize(
    "title",
    [
        "AJ1 篮球鞋 莆田纯原",
        "LV 老花手袋 原单 专柜品质",
        "AirPods 1:1复刻",
        "劳力士 A货",
        "古驰 同款高仿 腰带",
        "香奈儿 超A 链条包",
        "巴黎世家 精仿",
    ],
)
def test_counterfeit(title: str) -> None:
    assert "ip.counterfeit" in families(listing(title, category="apparel"))


@pytest.mark.parametrize(
    "title", ["原单价199元，限时特惠89元", "仿古风 帆布包", "拒绝高仿 正品保障", "洗衣液 兑水1:1使用"]
)
def test_counterfeit_negatives(title: str) -> None:
    assert "ip.counterfeit" not in families(listing(title, category="apparel"))


@pytest.mark.parametrize(
    "title",
    [
        "全国手机号数据 按地区筛选",
        "快递单号信息 含收件人电话",
        "小区业主名单",
        "车主信息 车险到期",
        "精准客源 宝妈",
        "身份证信息 实名",
    ],
)
def test_personal_data_sale(title: str) -> None:
    assert "privacy.personal_data_sale" in families(listing(title, category="services"))


@pytest.mark.parametrize(
    "title",
    [
        "快递面单纸 热敏 100*150",
        "身份证信息读卡器",
        "客户资料管理软件 CRM",
        "快递单号查询 物流跟踪",
        "快递代发 仓储服务",
    ],
)
def test_personal_data_negatives(title: str) -> None:
    assert "privacy.personal_data_sale" not in families(listing(title, category="services"))


def test_shop_licence() -> None:
    assert "shop.licence_missing" in families(listing("保温杯", category="daily", licence=None))
    assert "shop.licence_missing" in families(listing("保温杯", category="daily", licence="暂无"))
    assert "shop.licence_missing" not in families(listing("保温杯", category="daily", shop=False))
    assert "shop.licence_invalid" in families(listing("保温杯", category="daily", licence=GOOD_LICENCE[:-1] + "G"))
    fams = families(listing("保温杯", category="daily"))
    assert not fams


# ---------------------------------------------------------------- output contract
def test_at_most_one_finding_per_family_and_offsets_index_original() -> None:
    item = listing("氰化钠 氰化钾 砒霜 NaCN", "另有氰 化 钠。", attributes={"CAS号": "143-33-9"})
    found = BOOK.scan(item)
    fams = [f.family for f in found]
    assert len(fams) == len(set(fams))
    toxic = next(f for f in found if f.family == "chem.toxic")
    assert toxic.severity == "high" and toxic.legal_basis and toxic.rule_id.startswith("chem.toxic/")
    texts = {"title": item.title, "description": item.description, "attributes.CAS号": "143-33-9"}
    for ev in toxic.evidence:
        assert texts[ev.field][ev.start : ev.end] == ev.text
    assert any(ev.text == "氰 化 钠" for ev in toxic.evidence)


def test_scan_is_pure() -> None:
    item = listing("氰化钠 98%")
    before = item.model_dump()
    a = [f.model_dump() for f in BOOK.scan(item)]
    b = [f.model_dump() for f in BOOK.scan(item)]
    assert a == b and item.model_dump() == before


def test_explain_lists_every_rule() -> None:
    exp: dict[str, Any] = BOOK.explain(listing("手工冷制皂", "氢氧化钠与油脂皂化", "daily"))
    assert len(exp["rules"]) == len(BOOK.rules)
    row = next(r for r in exp["rules"] if r["rule_id"] == "chem.unlicensed/catalog")
    assert row["status"] == "excluded" and row["excluded"] and row["excluded"][0]["text"] == "氢氧化钠"
    assert exp["findings"] == []


def test_gi_parent_regions_and_bare_place_names() -> None:
    # a parent region does not contradict the claim; a sibling place does
    assert "origin.gi_mismatch" not in families(
        listing("尼木藏香 手工", category="incense", attributes={"产地": "西藏拉萨"})
    )
    assert "origin.gi_mismatch" not in families(food("中宁枸杞", attrs={"产地": "宁夏回族自治区中卫市"}))
    assert "origin.gi_mismatch" in families(food("中宁枸杞", attrs={"产地": "宁夏银川市"}))
    assert "origin.gi_mismatch" not in families(food("青海牦牛 牦牛肉干", category="food/yak", attrs={"产地": "西宁"}))


def test_sanwu_key_and_format_variants() -> None:
    base = {"厂名": "某公司", "厂址": "陕西省西安市"}
    assert "food.sanwu" not in families(food("蜂蜜", attrs={**base, "生产许可证编号": "SC 1176 4052 1001 23"}))
    item = food("蜂蜜")
    item.attributes.pop("厂址")
    item.attributes["地址"] = "宁夏中卫市"
    assert "food.sanwu" not in families(item)
    item.attributes["发货地址"] = item.attributes.pop("地址")
    assert "food.sanwu" in families(item)


@pytest.mark.parametrize(
    "title, family",
    [
        ("Sodium Cyanide 98%", "chem.toxic"),
        ("Hydrogen Peroxide 35% drum", "chem.explosive_precursor"),
        ("Acetone 99.5%", "chem.drug_precursor"),
        ("sodium hydroxide flakes", "chem.unlicensed"),
    ],
)
def test_english_names(title: str, family: str) -> None:
    assert family in families(listing(title))


def test_english_names_respect_word_boundaries_and_thresholds() -> None:
    assert not families(listing("hydrogen peroxide 3% first aid", category="health"))
    assert "chem.drug_precursor" not in families(listing("acetonex solvent free", category="daily"))
