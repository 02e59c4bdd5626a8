"""Second-edition detection: names by sound (pinyin, mixed, same-sounding characters), curated evasive
spellings, consumer goods that contain a listed substance, shadows, and treatment claims on non-food
goods. Expected families are written by hand from the taxonomy."""

from __future__ import annotations

import pytest

from rules import load_rulebook
from rules.pinyin import fold
from sweep.models import Listing, Shop

BOOK = load_rulebook()


def listing(title: str, description: str | None = None, category: str | None = "chemicals") -> Listing:
    return Listing(
        platform="t",
        listing_id="1",
        title=title,
        description=description,
        category=category,
        shop=Shop(shop_id="s", name="店", licence_no="91110108063781246F"),
    )


def families(title: str, description: str | None = None, category: str | None = "chemicals") -> set[str]:
    return {f.family for f in BOOK.scan(listing(title, description, category))}


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("qinghuana 99% 现货", {"chem.toxic"}),
        ("qing化钠 现货速发", {"chem.toxic"}),
        ("氰hua钠 工业级", {"chem.toxic"}),
        ("jin shu na 25kg/袋 高纯", {"chem.explosive_precursor"}),
        ("gao meng suan jia 99% 包邮", {"chem.explosive_precursor", "chem.drug_precursor"}),
        ("chong ge suan jia 可开票", {"chem.explosive_precursor"}),  # 重 read chong, the list's zhong
        ("高猛酸钾 500g 厂家直销", {"chem.explosive_precursor", "chem.drug_precursor"}),
        ("硫酸他 500g 工业级", {"chem.toxic"}),  # 他 for 铊; 硫酸 inside it is not a separate sale
        ("录化氰 500g 工业级", {"chem.toxic"}),  # near-homophone: 录 lu for 氯 lü
        ("lin氨基苯甲酸 高纯", {"chem.drug_precursor"}),
    ],
)
def test_names_written_by_sound_in_a_sale(title: str, expected: set[str]) -> None:
    assert families(title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "拼音 qinghuana 科普",  # no sale or grade word
        "景德镇 青花家用碗 10只装 现货",  # qing-hua-jia, but every character is another word
        "清华大学 纪念品 帆布包 现货",
        "Xiaomi 小米 充电宝 现货",
    ],
)
def test_sounds_without_a_gated_name_or_context_do_not_count(title: str) -> None:
    assert not families(title, category="daily") & {"chem.toxic", "chem.explosive_precursor", "chem.drug_precursor"}


def test_a_listed_compound_that_sounds_like_another_is_itself() -> None:
    # 氢化钠 (qing hua na) is in the 2015 catalog; it is not 氰化钠 misspelt
    assert families("氢化钠 98% 化学纯 现货") == {"chem.unlicensed"}


def test_a_sound_match_does_not_cut_a_word_or_jump_a_gap() -> None:
    # 冰醋酸 + 工业级 would sound like 醋酸汞 (剧毒) across the word boundary
    assert families("冰醋酸工业级 可开票") == {"chem.unlicensed"}
    assert families("冰醋酸 工业级 可开票") == {"chem.unlicensed"}


def test_evidence_quotes_the_seller_and_says_how_it_was_found() -> None:
    (finding,) = BOOK.scan(listing("qing化钠 99% 现货"))
    ev = finding.evidence[0]
    assert (ev.field, ev.text, ev.start, ev.end) == ("title", "qing化钠", 0, 6)
    assert ev.matched == "氰化钠 CAS 143-33-9（拼音）"
    (finding,) = BOOK.scan(listing("硫酸他 500g 工业级"))
    assert finding.evidence[0].matched == "硫酸铊 CAS 7446-18-6（谐音）"


def test_curated_spellings_need_no_context() -> None:
    assert families("丙同 分析纯 500ml") == {"chem.drug_precursor"}
    assert families("氰化纳") == {"chem.toxic"}


def test_personal_data_words_half_in_pinyin() -> None:
    assert families("shen份证信息 一手 出售", "按条计价，Excel交付。", "services") == {"privacy.personal_data_sale"}
    assert families("手ji号数据 按地区 实时更新", None, "services") == {"privacy.personal_data_sale"}


def test_fold_joins_sounds_speakers_confuse() -> None:
    assert fold("zhong") == fold("zong") == "zong"  # -ong stays: only -ang, -eng, -ing lose their g
    assert fold("lv") == fold("lu") == fold("nu") == "nu"
    assert fold("qing") == fold("qin") == "qin"
    assert fold("chong") == "cong" and fold("jia") == "jia"


@pytest.mark.parametrize(
    ("title", "description", "category"),
    [
        ("75%酒精消毒液 500ml 家用", "乙醇含量75%±5%，用于皮肤及物体表面消毒。", "daily"),
        ("Zippo 打火机油 煤油 133ml", "防风打火机专用油。", "daily"),
        ("中石化 加油卡 92号汽油 500元", "全国通用加油卡充值。", "services"),
        ("指甲油 持久 12ml", "成分：乙酸乙酯、乙酸丁酯、硝化纤维素。", "beauty"),
        ("发胶 定型喷雾 420ml", "推进剂：丁烷、丙烷、异丁烷。", "beauty"),
        ("PVC管胶水 快干 100g", "含四氢呋喃、环己酮。", "home"),
        ("柴油发电机 5kW 家用", "使用0号柴油。", "machinery"),
        ("卸甲水 丙酮 100ml", None, "beauty"),
        ("苯甲酸钠 食品级 防腐剂", None, "chemicals"),
        ("聚乙烯 PE颗粒 注塑级", None, "chemicals"),
        ("丙烯颜料 24色 儿童画画", None, "art"),
        ("铝粉漆 银粉漆 耐高温 1kg", None, "home"),
    ],
)
def test_consumer_goods_and_shadowed_names_are_not_chemical_sales(
    title: str, description: str | None, category: str
) -> None:
    assert not {f for f in families(title, description, category) if f.startswith("chem.")}


def test_the_listed_substance_next_to_its_shadow_is_still_reported() -> None:
    assert families("甲酸 85% 工业级 现货") == {"chem.unlicensed"}
    assert families("乙烯 钢瓶 工业") == {"chem.unlicensed"}
    assert families("乙醇 99.7% 20L") == {"chem.unlicensed"}


@pytest.mark.parametrize(
    ("title", "description", "category"),
    [
        ("尼木藏香 手工线香 40支", "每晚点一支，治疗失眠，告别安眠药。", "incense"),
        ("祛斑霜 淡化 30g", "七天治愈黄褐斑，根治不复发。", "beauty"),
        ("负离子手环 磁疗", "长期佩戴可降血压。", "accessories"),
        ("远红外 保暖护膝", "专治关节炎、风湿。", None),
    ],
)
def test_treatment_claims_on_any_non_drug_product(title: str, description: str, category: str | None) -> None:
    assert "food.medical_claim" in families(title, description, category)


@pytest.mark.parametrize(
    ("title", "description", "category"),
    [
        ("盐酸二甲双胍片 0.5g*48片", "用于治疗2型糖尿病。", "pharmacy"),
        ("布洛芬缓释胶囊 国药准字H10900089", "用于治疗类风湿关节炎的疼痛。", None),
        ("护膝 保暖 运动 一对", "本品不能代替药物治疗关节炎。", "apparel"),
    ],
)
def test_drugs_may_state_indications_and_disclaimers_are_not_claims(
    title: str, description: str, category: str | None
) -> None:
    assert "food.medical_claim" not in families(title, description, category)
