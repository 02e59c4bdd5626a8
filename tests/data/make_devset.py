"""Generate the labelled rulebook dev set `tests/data/devset.jsonl`.

Each row is a Listing (listing.schema.json) plus `"families": [...]`, the taxonomy families it truly
belongs to. Rows come from templates with variety: every family, the evasions sellers use (spaced,
symbol-separated, zero-width, full-width, traditional characters, CAS number only, formula, common
name), and many hard negatives (test kits, protective gear, soap, climbing chalk, medicines whose names
contain a listed acid, grade words, best-before dates, disclaimers, printing paper ...). Since the
rulebook's second edition (the full 2,828-entry catalog) also: consumer goods that contain a listed
substance (75% 酒精消毒液, 丁烷气罐, 油漆, 84 消毒液, 指甲油, 香水, 加油卡), harmless compounds whose names
contain a listed one (苯甲酸钠, 聚乙烯), names spelled in pinyin, half in pinyin or with a same-sounding
character (qinghuana, qing化钠, 氰化纳, 身fen证号) and treatment claims on incense, cosmetics and daily goods.

The labels follow shared/taxonomy.md, written independently of the rule catalogs: substances are
listed here with the families the official lists give them.

    python tests/data/make_devset.py            # writes tests/data/devset.jsonl (1,200 rows, seed 20261123)
    python tests/data/make_devset.py -n 200000 -o /tmp/bench.jsonl --seed 1

`generate(n, seed)` is also used by benchmarks/bench_rules.py.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from sweep.identifiers import USCC_ALPHABET, complete_uscc

PLATFORM = "devset"
HAZ_PERMIT = "危险化学品经营许可证"


# ---------------------------------------------------------------- licence numbers (GB 32100 / GB 11714)
def uscc(rng: random.Random, valid: bool = True) -> str:
    """A licence number; the check characters come from the implementation the detector uses too."""
    division = rng.choice(["110108", "310115", "330106", "440305", "370303", "632801", "640521", "540102"])
    org = "".join(str(rng.randrange(10)) for _ in range(8))
    code = complete_uscc("91" + division + org)
    body, check = code[:17], code[17]
    if not valid:
        kind = rng.randrange(3)
        if kind == 0:
            check = USCC_ALPHABET[(USCC_ALPHABET.index(check) + rng.randint(1, 30)) % 31]
        elif kind == 1:
            return body[:-1]  # 16 characters: both check characters missing
        else:
            return body[:5] + "O" + body[6:] + check  # letter O is not allowed
    return body + check


# ---------------------------------------------------------------- substances: (name, cas, formula, aliases)
TOXIC = [
    ("氰化钠", "143-33-9", "NaCN", ["山奈"]),
    ("氰化钾", "151-50-8", "KCN", ["山奈钾"]),
    ("三氧化二砷", "1327-53-3", "As2O3", ["砒霜", "白砒"]),
    ("氯化汞", "7487-94-7", "HgCl2", ["升汞"]),
    ("毒鼠强", "80-12-6", None, ["四亚甲基二砜四胺"]),
    ("氟乙酸钠", "62-74-8", None, []),
    ("叠氮化钠", "26628-22-8", "NaN3", []),
    ("硫酸铊", "7446-18-6", "Tl2SO4", []),
    ("四乙基铅", "78-00-2", None, []),
    ("甲基对硫磷", "298-00-0", None, []),
    ("久效磷", "6923-22-4", None, []),
    ("涕灭威", "116-06-3", None, ["铁灭克"]),
    ("克百威", "1563-66-2", None, ["呋喃丹"]),
    ("氢氰酸", "74-90-8", "HCN", ["氰化氢"]),
    ("硝酸汞", "10045-94-0", None, []),
    ("亚砷酸钠", "7784-46-5", None, []),
    ("氟乙酰胺", "640-19-7", None, []),
    ("亚硒酸钠", "10102-18-8", None, []),
    ("氯化氰", "506-77-4", None, []),
    ("对硫磷", "56-38-2", None, []),
]
EXPLOSIVE = [
    ("硝酸铵", "6484-52-2", "NH4NO3", []),
    ("硝酸钾", "7757-79-1", "KNO3", ["火硝"]),
    ("氯酸钾", "3811-04-9", "KClO3", []),
    ("高氯酸钾", "7778-74-7", "KClO4", []),
    ("重铬酸钾", "7778-50-9", "K2Cr2O7", ["红矾钾"]),
    ("硝基甲烷", "75-52-5", "CH3NO2", []),
    ("金属镁粉", "7439-95-4", None, []),
    ("铝粉", "7429-90-5", None, []),
    ("硫磺粉", "7704-34-9", None, ["硫黄"]),
    ("硝酸钠", "7631-99-4", "NaNO3", []),
    ("过氧化钠", "1313-60-6", "Na2O2", []),
    ("硝化棉", "9004-70-0", None, []),
    ("金属钠", "7440-23-5", None, []),
    ("水合肼", "10217-52-4", None, []),
    ("硝酸银", "7761-88-8", "AgNO3", []),
    ("高氯酸", "7601-90-3", "HClO4", []),
    ("氯酸钠", "7775-09-9", "NaClO3", []),
]
PEROXIDE_STRENGTHS = ["27.5%", "30%", "35%", "50%"]
NOT_ON_SPECIFIC_LIST = {"硝酸汞", "亚砷酸钠", "亚硒酸钠", "硝酸铵"}
"""In the pools above for their evasion styles, but by the official texts neither 剧毒 (危险化学品目录2015 备注)
nor on the 2017 易制爆 list: selling them is an unlicensed hazardous-chemical sale (unless the shop holds the
permit). Labelled from the law, not from what the rulebook happens to say."""
DRUG = [
    ("丙酮", "67-64-1", None, []),
    ("甲苯", "108-88-3", None, []),
    ("硫酸", "7664-93-9", "H2SO4", []),
    ("盐酸", "7647-01-0", "HCl", []),
    ("乙醚", "60-29-7", None, []),
    ("三氯甲烷", "67-66-3", "CHCl3", ["氯仿"]),
    ("醋酸酐", "108-24-7", None, ["乙酸酐"]),
    ("苯乙酸", "103-82-2", None, []),
    ("哌啶", "110-89-4", None, []),
    ("麻黄碱", "299-42-3", None, ["麻黄素"]),
    ("胡椒醛", "120-57-0", None, ["洋茉莉醛"]),
    ("邻氨基苯甲酸", "118-92-3", None, []),
    ("丁酮", "78-93-3", None, ["甲基乙基酮"]),
    ("溴素", "7726-95-6", None, []),
    ("羟亚胺", "90717-16-1", None, []),
    ("N-苯乙基-4-哌啶酮", "39742-60-4", None, []),
    ("黄樟素", "94-59-7", None, []),
    ("1-苯基-2-丙酮", "103-79-7", None, []),
]
BOTH = [("高锰酸钾", "7722-64-7", "KMnO4", ["灰锰氧"])]  # 易制爆 and 易制毒 (category 3)
HAZCHEM = [
    ("甲醇", "67-56-1", "CH3OH", []),
    ("无水乙醇", "64-17-5", None, []),
    ("氢氧化钠", "1310-73-2", "NaOH", ["烧碱", "片碱"]),
    ("次氯酸钠", "7681-52-9", None, []),
    ("乙酸乙酯", "141-78-6", None, []),
    ("二甲苯", "1330-20-7", None, []),
    ("正己烷", "110-54-3", None, []),
    ("氨水", "1336-21-6", None, []),
    ("石油醚", "8032-32-4", None, []),
    ("异丙醇", "67-63-0", None, []),
    ("环己烷", "110-82-7", None, []),
    ("氢氟酸", "7664-39-3", None, []),
    ("甲醛溶液", "50-00-0", None, ["福尔马林"]),
    ("冰醋酸", "64-19-7", None, []),
    ("苯酚", "108-95-2", None, []),
    ("二氯甲烷", "75-09-2", None, []),
    ("四氢呋喃", "109-99-9", None, []),
    ("乙腈", "75-05-8", None, []),
    ("电石", "75-20-7", None, ["碳化钙"]),
    ("氢氧化钾", "1310-58-3", "KOH", []),
]
HARMLESS_CHEM = [
    ("柠檬酸", "77-92-9"),
    ("碳酸氢钠", "144-55-8"),
    ("甘油", "56-81-5"),
    ("尿素", "57-13-6"),
    ("硬脂酸", "57-11-4"),
    ("葡萄糖", "50-99-7"),
    ("氯化钠", "7647-14-5"),
    ("碳酸钙", "471-34-1"),
    ("EDTA二钠", "6381-92-6"),
    ("硫酸镁", "7487-88-9"),
    ("硫酸铜", "7758-98-7"),
    ("碳酸钠", "497-19-8"),
]

CONSUMER = [
    # consumer products that contain a listed substance: not a sale of the chemical (issue 9, item 2)
    ("75%酒精消毒液 500ml 家用", "乙醇含量75%±5%，用于皮肤及物体表面消毒。", "daily"),
    ("医用酒精喷雾 75% 100ml", "有效成分：乙醇。", "health"),
    ("打火机充气 丁烷气罐 通用 300ml", "高纯丁烷，适用于各类充气打火机。", "daily"),
    ("卡式炉气罐 丁烷气 250g*4罐", "户外卡式炉专用燃气罐。", "outdoor"),
    ("Zippo 打火机油 煤油 133ml", "防风打火机专用油。", "daily"),
    ("煤油取暖器 家用 速热", "燃料：煤油，油箱5L。", "home"),
    ("醇酸调和漆 油漆 3kg 白色", "含二甲苯、乙酸丁酯，室内外木器金属用。", "home"),
    ("铝粉漆 银粉漆 耐高温 1kg", "暖气片、管道防锈装饰。", "home"),
    ("乳胶漆 内墙 20kg 净味", "水性涂料，零添加甲醛。", "home"),
    ("84消毒液 2.5kg 家用 含氯", "主要成分次氯酸钠，有效氯含量4.0%~6.5%。", "daily"),
    ("漂白水 衣物去渍 600g", "有效成分次氯酸钠，白色衣物适用。", "daily"),
    ("指甲油 持久 不可剥 12ml", "成分：乙酸乙酯、乙酸丁酯、硝化纤维素。", "beauty"),
    ("女士香水 淡香 50ml", "成分：乙醇、香精、水。", "beauty"),
    ("中石化 加油卡 92号汽油 500元", "全国通用加油卡充值。", "services"),
    ("柴油发电机 5kW 家用 静音", "使用0号柴油，油耗低。", "machinery"),
    ("汽油割草机 二冲程 家用", "使用92号汽油与机油混合。", "machinery"),
    ("燃气灶 液化气 家用 双灶", "适用液化石油气。", "home"),
    ("车用玻璃水 -25℃ 2L*2", "含甲醇、乙二醇，冬季防冻。", "auto"),
    ("发胶 定型喷雾 420ml", "推进剂：丁烷、丙烷、异丁烷。", "beauty"),
    ("烫发水 冷烫精 500ml", "主要成分巯基乙酸铵。", "beauty"),
    ("爆炸盐 洗衣 彩漂粉 1kg", "活性氧配方，过碳酸钠。", "daily"),
    ("二氧化氯 消毒泡腾片 100片", "家用消毒，一片兑水1L。", "daily"),
    ("煤焦油洗发水 去屑止痒 200ml", "温和去屑。", "beauty"),
    ("丙烯颜料 24色 儿童画画", "水性丙烯颜料，速干防水。", "art"),
    ("油画松节油 无味 100ml", "油画颜料稀释调色用。", "art"),
    ("502胶水 强力胶 10支", "主要成分：α-氰基丙烯酸乙酯。", "office"),
    ("PVC管胶水 快干 100g", "含四氢呋喃、环己酮。", "home"),
    ("火柴 家用 10盒装", "火柴头含氯酸钾。", "daily"),
]
"""Consumer goods whose text names a listed substance (labels: no family)."""
SHADOWED = [
    # harmless compounds whose names contain a listed name (苯甲酸钠 contains 甲酸; 聚乙烯 contains 乙烯)
    ("苯甲酸钠 食品级 防腐剂", "苯甲酸钠，食品添加剂。"),
    ("乙酸钠 无水 食品级 500g", "醋酸钠，缓冲剂。"),
    ("甲酸钙 饲料添加剂 25kg", "甲酸钙，饲料酸化剂。"),
    ("聚乙烯 PE颗粒 注塑级", "聚乙烯原料，吹膜注塑。"),
    ("聚丙烯 PP颗粒 25kg", "聚丙烯，注塑级。"),
    ("聚苯乙烯 泡沫板 保温", "EPS 聚苯乙烯板。"),
    ("丙烯酸树脂 水性 涂料用", "丙烯酸树脂乳液，成膜好。"),
    ("巯基乙酸钙 脱毛膏原料", "巯基乙酸钙，化妆品原料。"),
    ("硫酸亚铁 花肥 黄叶病", "硫酸亚铁，酸性土壤调节。"),
    ("柠檬酸钠 食品级 500g", "柠檬酸钠，酸度调节剂。"),
    ("醋酸钙 食品级 1kg", "乙酸钙，钙强化剂。"),
    ("硝酸钾肥 水溶 25kg", "硝酸钾型复合肥。"),
]
"""(title, description): compounds that are not in the catalogs but whose names contain a listed one."""
SHADOW_POSITIVE = [
    # the listed substance itself, next to its shadow's use: still reported
    ("甲酸", "64-18-6"),
    ("乙酸", "64-19-7"),
    ("乙烯", "74-85-1"),
    ("丙烯酸", "79-10-7"),
    ("巯基乙酸", "68-11-1"),
]
HOMOPHONE = {
    # characters sellers swap for a same-sounding one, as seen in enforcement notices
    "钠": "纳",
    "钾": "甲",
    "氰": "青",
    "锰": "猛",
    "氯": "录",
    "硝": "消",
    "汞": "拱",
    "砷": "申",
    "麻": "马",
    "碱": "减",
    "醚": "迷",
    "酐": "干",
    "磷": "林",
    "铊": "他",
}
NOT_CHEM_PINYIN = [
    # pinyin and same-sounding words that are not chemicals
    ("景德镇 青花家用碗 10只装 现货", "釉下彩，可进微波炉。", "home"),
    ("清华大学 纪念品 帆布包 现货", "校园文创 Qinghua University。", "gifts"),
    ("Xiaomi 小米 充电宝 10000mAh 现货", "包邮，可开票。", "digital"),
    ("纳米喷雾 补水仪 现货速发", "冷喷保湿。", "beauty"),
    ("马黄 Mahuang 原创插画 明信片 包邮", "插画师作品。", "office"),
    ("甲鱼 野生 2斤 现货", "鲜活发货。", "food/fresh"),
    ("Qing 晴 雨伞 三折 现货", "晴雨两用。", "daily"),
]
MEDICAL_NONFOOD = [
    # 广告法 第十七条: no product other than drugs and medical devices may claim to treat disease
    ("尼木藏香 手工线香 安神 40支", "每晚点一支，治疗失眠，告别安眠药。", "incense"),
    ("藏香 盘香 藏药配方", "熏香可预防感冒，治疗鼻炎。", "incense"),
    ("祛斑霜 淡化 30g", "七天治愈黄褐斑，根治不复发。", "beauty"),
    ("负离子手环 磁疗", "长期佩戴可降血压、治疗高血压。", "accessories"),
    ("艾草足贴 50贴", "调理糖尿病，缓解高血压，排出体内毒素。", "daily"),
    ("远红外 保暖护膝", "专治关节炎、风湿，根治不复发。", "apparel"),
    ("草本牙膏 120g", "治疗口腔溃疡，根治牙周炎。", "daily"),
    ("磁疗床垫 1.8m", "睡一晚降血糖，抗癌防癌。", "home"),
]
MEDICAL_NONFOOD_OK = [
    ("尼木藏香 手工线香 天然香料 40支", "传统工艺，香味淡雅。", "incense"),
    ("补水面霜 保湿 50g", "适合干性肌肤，温和不刺激。", "beauty"),
    ("盐酸二甲双胍片 0.5g*48片 国药准字", "用于治疗2型糖尿病。处方药，请遵医嘱。", "pharmacy"),
    ("布洛芬缓释胶囊 OTC 20粒", "用于缓解轻至中度疼痛，如头痛、关节痛。", "pharmacy"),
    ("电子血压计 家用 上臂式", "适用于高血压人群日常监测血压。", "medical"),
    ("护膝 保暖 运动 一对", "本品不能代替药物治疗关节炎。", "apparel"),
]

FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"}
SELL = ["现货速发", "量大从优", "厂家直销", "实验室用", "工业级", "分析纯AR", "高纯", "包邮", "可开票", "全国物流"]
CHEM_DESC = ["白色结晶粉末", "无色透明液体", "含量稳定", "正规厂家出品", "品质稳定", "密封包装"]
CHEM_TAIL = ["私聊发货，无需证件。", "量大可谈，全国物流。", "需要的老板直接拍。", "支持小批量，样品可寄。", "懂的来。"]

_S2T: Any = None


def traditional(text: str) -> str:
    """Simplified -> traditional (OpenCC s2t) for the traditional-character evasion."""
    global _S2T
    if _S2T is None:
        import opencc

        _S2T = opencc.OpenCC("s2t")
    return _S2T.convert(text)


def is_hanzi(text: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in text)


def pinyin(text: str) -> list[str]:
    """Tone-less pinyin per character, as a seller would type it (pypinyin, phrase-aware readings)."""
    from pypinyin import Style, lazy_pinyin

    return [p.replace("ü", "v") for p in lazy_pinyin(text, style=Style.NORMAL)]


def evasive_name(rng: random.Random, name: str, cas: str, formula: str | None, aliases: list[str]) -> tuple[str, str]:
    """A way of naming a substance; returns (title fragment, style)."""
    styles = [
        "plain",
        "plain",
        "spaced",
        "symbol",
        "zerowidth",
        "traditional",
        "cas",
        "cas_fullwidth",
        "alias",
        "formula",
        "fullwidth_name",
    ]
    style = rng.choice(styles)
    if style == "spaced":
        return " ".join(name), style
    if style == "symbol":
        return rng.choice(["*", "-", "·", "/", "_", "~"]).join(name), style
    if style == "zerowidth":
        return "\u200b".join(name), style
    if style == "traditional":
        return traditional(name), style
    if style == "cas":
        return f"{rng.choice(['CAS', 'CAS号', 'cas:', 'CAS NO.'])}{rng.choice(['', ' '])}{cas}", style
    if style == "cas_fullwidth":
        return "ＣＡＳ" + "".join(FULLWIDTH.get(c, c) for c in cas), style
    if style == "alias" and aliases:
        return rng.choice(aliases), style
    if style == "formula" and formula:
        return formula, style
    if style == "fullwidth_name":
        return name + " " + "".join(FULLWIDTH.get(c, c) for c in cas), style
    return name, "plain"


# ---------------------------------------------------------------- food
FOODS = [
    ("枸杞", "food/goji"),
    ("蜂蜜", "food/honey"),
    ("藜麦", "food/quinoa"),
    ("牦牛肉干", "food/yak"),
    ("苦荞茶", "food/tea"),
    ("黑枸杞", "food/goji"),
    ("红枣", "food/dried-fruit"),
    ("核桃", "food/nuts"),
    ("小米", "food/grain"),
    ("菊花茶", "food/tea"),
    ("桑葚干", "food/dried-fruit"),
    ("山药粉", "food/grain"),
]
MEDICAL = [
    "降血糖",
    "降血压",
    "降血脂",
    "治疗糖尿病",
    "根治胃病",
    "抗癌防癌",
    "可替代药物",
    "药到病除",
    "治疗高血压",
    "预防肿瘤",
    "治愈失眠",
    "降三高",
    "吃了可以停药",
    "专治痛风",
    "抗肿瘤",
    "防治心脑血管疾病",
    "根治便秘",
    "治疗前列腺炎",
    "消炎杀菌",
    "医治关节炎",
]
MEDICAL_SOFT = ["营养丰富", "口感香甜", "老少皆宜", "颗粒饱满", "自然晾晒", "精选原料", "冲泡方便"]
ABSOLUTE = [
    "国家级",
    "最高级",
    "最佳品质",
    "销量第一",
    "顶级",
    "极品",
    "送礼首选",
    "独一无二",
    "全网第一",
    "销量冠军",
    "史上最低价",
    "最低价",
    "万能",
    "100%有效",
    "行业第一品牌",
    "世界级",
    "全国第一",
    "最好的",
    "绝无仅有",
    "No.1",
    "史上最强",
]
HONEST_FOOD = [
    "特级",
    "一级",
    "二级",
    "精选",
    "头茬",
    "新货",
    "第一次购买送小样",
    "最新采摘",
    "最佳食用期12个月",
    "第一批新货",
    "顶部密封",
    "产地直发",
    "本品不能代替药物",
    "最好冷藏保存",
    "新客第一单包邮",
    "本品为普通食品，不能代替药物治疗疾病",
    "不具有疾病预防、治疗功能",
    "一级品",
]

GI = [
    (
        "柴达木枸杞",
        "枸杞",
        "food/goji",
        ["青海省海西蒙古族藏族自治州格尔木市", "青海省海西州都兰县诺木洪", "青海省德令哈市"],
    ),
    ("中宁枸杞", "枸杞", "food/goji", ["宁夏回族自治区中卫市中宁县", "宁夏中宁县舟塔乡"]),
    ("宁夏枸杞", "枸杞", "food/goji", ["宁夏回族自治区银川市", "宁夏回族自治区中卫市中宁县", "宁夏固原市"]),
    ("那曲牦牛", "牦牛肉干", "food/yak", ["西藏自治区那曲市色尼区", "西藏那曲市"]),
    ("玉树牦牛", "牦牛肉", "food/yak", ["青海省玉树藏族自治州"]),
    ("尼木藏香", "藏香", "incense", ["西藏自治区拉萨市尼木县"]),
    ("西藏藏香", "藏香", "incense", ["西藏自治区拉萨市", "西藏自治区日喀则市"]),
    ("海西藜麦", "藜麦", "food/quinoa", ["青海省海西蒙古族藏族自治州乌兰县"]),
    ("门源蜂蜜", "蜂蜜", "food/honey", ["青海省海北藏族自治州门源回族自治县"]),
    ("五常大米", "大米", "food/grain", ["黑龙江省哈尔滨市五常市"]),
]
ELSEWHERE = [
    "河北省邢台市巨鹿县",
    "甘肃省张掖市",
    "内蒙古自治区巴彦淖尔市",
    "河北省保定市",
    "福建省泉州市",
    "山东省临沂市",
    "广东省佛山市",
    "河南省周口市",
    "新疆维吾尔自治区精河县",
    "安徽省亳州市",
]

BRANDS = [
    "耐克",
    "阿迪达斯",
    "LV",
    "古驰",
    "香奈儿",
    "劳力士",
    "迪奥",
    "爱马仕",
    "AirPods",
    "巴黎世家",
    "卡地亚",
    "AJ1",
    "欧米茄",
    "普拉达",
    "戴森",
]
FAKE_SIGNALS = [
    "高仿",
    "1:1复刻",
    "A货",
    "原单",
    "莆田纯原",
    "同款高仿",
    "超A",
    "精仿",
    "顶级复刻",
    "1比1",
    "外贸原单",
    "公司级纯原",
    "仿品",
]
FAKE_GOODS = ["运动鞋", "手提包", "机械表", "无线耳机", "腰带", "围巾", "吹风机", "卫衣", "钱包", "墨镜"]
DATA_SALE = [
    "全国手机号数据",
    "快递单号信息 含收件人电话",
    "小区业主名单 含电话",
    "车主信息 车险到期",
    "客户资料 按行业分类",
    "身份证信息 实名",
    "精准客源 宝妈粉",
    "学生家长名单",
    "股民名单 精准",
    "企业主名单 老板电话",
    "贷款客户名单",
    "快递面单数据 实时",
    "手机号码资源 按地区",
]
DATA_DESC = [
    "数据真实有效，按条计价，一万条起售。",
    "可按城市、年龄、职业筛选，Excel交付。",
    "每日更新，支持试用100条。",
    "一手资源，非二手倒卖。",
    "网盘交付，量大优惠。",
]


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        self.shops = self._shops()

    # shops: (shop dict, families the shop gives every listing)
    def _shops(self) -> dict[str, list[tuple[dict[str, Any], set[str]]]]:
        rng = self.rng
        out: dict[str, list[tuple[dict[str, Any], set[str]]]] = {}
        kinds = {"chem_licensed": 6, "chem_plain": 8, "food": 10, "general": 10, "services": 4, "fashion": 5}
        k = 0
        for kind, count in kinds.items():
            out[kind] = []
            for i in range(count):
                k += 1
                fams: set[str] = set()
                lic: str | None = uscc(rng)
                if i == count - 1:
                    lic = None
                    fams.add("shop.licence_missing")
                elif i == count - 2:
                    lic = uscc(rng, valid=False)
                    fams.add("shop.licence_invalid")
                elif i == count - 3 and kind in ("general", "food"):
                    lic = rng.choice(["  ", "无", "暂无"])
                    fams.add("shop.licence_missing")
                permits = (
                    [{"type": HAZ_PERMIT, "number": f"鲁应急经字〔2024〕{rng.randint(1, 99999):06d}"}]
                    if kind == "chem_licensed"
                    else []
                )
                if kind == "food":
                    permits.append({"type": "食品经营许可证", "number": "JY1" + str(rng.randint(10**12, 10**13 - 1))})
                shop = {
                    "shop_id": f"DS{k:03d}",
                    "name": f"{rng.choice('王李张刘陈杨黄赵')}记{kind}店{k}",
                    "licence_no": lic,
                    "licence_company": None if lic is None else f"某某{kind}有限公司",
                    "region": rng.choice(["山东省淄博市", "浙江省杭州市", "青海省西宁市", "广东省深圳市"]),
                    "permits": permits,
                }
                out[kind].append((shop, fams))
        return out

    def shop(self, kind: str, healthy: float = 0.85) -> tuple[dict[str, Any], set[str]]:
        pool = self.shops[kind]
        if self.rng.random() < healthy:
            pool = [s for s in pool if not s[1]]
        return self.rng.choice(pool)

    def row(
        self,
        title: str,
        desc: str,
        category: str | None,
        attrs: dict[str, str],
        fams: set[str],
        shop_kind: str,
        healthy: float = 0.85,
        unit: str | None = None,
    ) -> dict[str, Any]:
        self.n += 1
        shop, shop_fams = self.shop(shop_kind, healthy)
        return {
            "platform": PLATFORM,
            "listing_id": f"D{self.n:06d}",
            "title": title,
            "description": desc,
            "category": category,
            "price": round(self.rng.uniform(5, 900), 1),
            "unit": unit,
            "shop": shop,
            "attributes": attrs,
            "families": sorted(fams | shop_fams),
        }

    # ------------------------------------------------------------ chemical scenarios
    def chem(self, pool: list, fams: set[str]) -> dict[str, Any]:
        rng = self.rng
        name, cas, formula, aliases = rng.choice(pool)
        frag, style = evasive_name(rng, name, cas, formula, aliases)
        extra = ""
        if name == "过氧化氢":
            extra = " " + rng.choice(PEROXIDE_STRENGTHS)
        title = (
            f"{frag}{extra} {rng.choice(['99%', '98%', 'AR500g', '25kg/袋', '500ml', ''])} {rng.choice(SELL)}".strip()
        )
        desc = f"{rng.choice(CHEM_DESC)}，{rng.choice(['用于电镀', '用于实验', '工业原料', '用于合成', '用途广泛'])}。"
        desc += rng.choice(CHEM_TAIL)
        attrs = {
            "规格": rng.choice(["500g/瓶", "25kg/袋", "500ml/瓶", "1kg/袋"]),
            "纯度": rng.choice(["99%", "98%", "AR", "工业级"]),
        }
        hide = style in ("cas", "cas_fullwidth", "formula")
        if not hide and rng.random() < 0.5:
            attrs["品名"] = name
        if not hide and rng.random() < 0.5:
            attrs["CAS号"] = cas
        if style == "plain" and rng.random() < 0.3:
            # name only in the attributes, title generic
            title = f"化工原料 {rng.choice(SELL)}"
            attrs["品名"] = name
        kind = "chem_licensed" if rng.random() < 0.4 else "chem_plain"
        if name in NOT_ON_SPECIFIC_LIST:
            fams = set() if kind == "chem_licensed" else {"chem.unlicensed"}
        return self.row(title, desc, "chemicals", attrs, fams, kind)

    def peroxide(self) -> dict[str, Any]:
        rng = self.rng
        strong = rng.random() < 0.6
        pct = rng.choice(PEROXIDE_STRENGTHS) if strong else rng.choice(["3%", "3%", "6%", "1.5%"])
        name = rng.choice(["过氧化氢", "双氧水", "过氧化氢溶液"])
        if strong:
            title = f"{name} {pct} 工业级 {rng.choice(['25kg/桶', '500ml'])}"
            desc = "工业漂白、污水处理用。"
            fams = {"chem.explosive_precursor"}
            cat = "chemicals"
        else:
            title = f"医用{name}消毒液 {pct} {rng.choice(['100ml', '500ml'])}"
            desc = f"浓度{pct}，用于皮肤伤口清洗消毒。"
            fams = set()
            cat = rng.choice(["health", "daily"])
        return self.row(title, desc, cat, {"规格": "瓶"}, fams, "chem_plain" if strong else "general")

    def unlicensed(self, licensed: bool) -> dict[str, Any]:
        rng = self.rng
        name, cas, formula, aliases = rng.choice(HAZCHEM)
        frag = rng.choice([name, name, *(aliases or [name])])
        if formula and rng.random() < 0.15:
            frag = formula
        title = f"{frag} {rng.choice(['99%', '工业级', '桶装', '分析纯', '25kg'])} {rng.choice(SELL)}"
        desc = f"{name}，{rng.choice(['溶剂', '清洗', '工业原料', '实验室用'])}。" + (
            "本店持证经营，凭单位证明购买。" if licensed else rng.choice(["个人也可购买。", "下单即发。", ""])
        )
        attrs = {"品名": name, "规格": rng.choice(["500ml/瓶", "25kg/桶", "20L/桶"])}
        if rng.random() < 0.5:
            attrs["CAS号"] = cas
        fams = set() if licensed else {"chem.unlicensed"}
        return self.row(title, desc, "chemicals", attrs, fams, "chem_licensed" if licensed else "chem_plain")

    def chem_harmless(self) -> dict[str, Any]:
        rng = self.rng
        name, cas = rng.choice(HARMLESS_CHEM)
        title = f"{name} {rng.choice(['食品级', '工业级', '试剂级'])} {rng.choice(['500g', '25kg/袋'])}"
        desc = f"{name}，CAS {cas}。{rng.choice(['第一次购买可领券。', '厂家直销。', '支持开票。'])}"
        return self.row(
            title, desc, "chemicals", {"CAS号": cas, "品名": name}, set(), rng.choice(["chem_plain", "chem_licensed"])
        )

    def chem_hardneg(self) -> dict[str, Any]:
        rng = self.rng
        cases = [
            ("氰化物快速检测试纸 50条装", "用于水质中氰化物含量的快速检测。", "daily"),
            ("氰化钠检测仪 便携式 水质检测", "可检测水中氰化钠、氰化钾残留浓度。", "instrument"),
            ("手工冷制皂 山茶花 100g", "传统冷制工艺，氢氧化钠与油脂充分皂化，熟成6周。", "daily"),
            ("氢氧化钠 制皂专用 手工皂DIY材料包", "手工皂材料包，含皂基、模具。", "daily"),
            ("攀岩镁粉 防滑粉 200g", "碳酸镁，攀岩、举重、体操防滑用。", "sports"),
            ("健身镁粉球 举重防滑", "防滑镁粉，单杠引体向上用。", "sports"),
            ("防化服 连体 耐酸碱", "可防硫酸、盐酸等液体飞溅，实验室个人防护。", "safety"),
            ("防毒面具 滤毒罐 防氰化氢 防氯气", "全面罩，适用于化工厂应急。", "safety"),
            ("硫酸钾型复合肥 45% 40kg", "氮磷钾15-15-15，硫酸钾型，正规肥料登记证。", "agri"),
            ("硝酸铵钙 水溶肥 25kg", "钙肥，叶面喷施。", "agri"),
            ("盐酸二甲双胍片 0.5g*48片", "处方药，请遵医嘱。", "pharmacy"),
            ("硫酸软骨素 氨糖 钙片 60粒", "中老年关节营养。", "health"),
            ("丙酮酸钙 运动补剂 90粒", "运动营养补充。", "health"),
            ("苯丙酮尿症 特医食品 无苯丙氨酸奶粉", "适用于苯丙酮尿症患者。", "food/special"),
            ("除甲醛 活性炭包 新房装修", "吸附甲醛、苯、甲苯等有害气体。", "daily"),
            ("甲醛检测仪 家用", "检测甲醛、TVOC。", "instrument"),
            ("酒精湿巾 75%酒精 80抽", "含乙醇，杀菌清洁。", "daily"),
            ("53度 酱香型白酒 500ml", "酒精度53%vol，粮食酿造，甲醇含量符合国标。", "food/liquor"),
            ("硫磺皂 除螨 香皂 4块", "含硫磺，除螨止痒。", "daily"),
            ("洗甲水 卸甲水 含丙酮 100ml", "快速卸除指甲油。", "beauty"),
            ("84消毒液 含次氯酸钠 家用", "家用含氯消毒液，稀释使用。", "daily"),
            ("硫酸纸 A4 描图纸 100张", "半透明硫酸纸，适用于描图。", "office"),
            ("锂电池 18650 充电", "3.7V 锂离子电池。", "digital"),
            ("硝酸咪康唑乳膏 20g", "外用抗真菌药。", "pharmacy"),
            ("低钠盐 400g", "低钠盐，氯化钾替代部分氯化钠。", "food/condiment"),
            ("危险化学品安全手册 2024版", "介绍氰化钠、硝酸铵等危险化学品的储存要求。", "books"),
            ("剧毒品 警示牌 氰化物 储存间标识", "PVC 警示标识牌。", "safety"),
            ("汽油滤芯 适配大众", "原厂规格，汽油滤清器。", "auto"),
            ("电池级碳酸锂 检测报告", "碳酸锂，不是金属锂。", "chemicals"),
            ("本店不卖氰化钠 只售电镀添加剂", "无氰电镀添加剂，环保。", "chemicals"),
        ]
        title, desc, cat = rng.choice(cases)
        attrs = self.food_attrs("贵州省遵义市") if cat.startswith("food") else {"规格": "1件"}
        return self.row(title, desc, cat, attrs, set(), rng.choice(["general", "chem_licensed"]))

    # ------------------------------------------------------------ food scenarios
    def food_attrs(self, origin: str, complete: bool = True) -> dict[str, str]:
        rng = self.rng
        attrs = {
            "产地": origin,
            "生产许可证编号": "SC" + "".join(str(rng.randrange(10)) for _ in range(14)),
            "厂名": f"{origin[:4]}{rng.choice('鑫盛泰丰源恒')}食品有限公司",
            "厂址": f"{origin}工业园区{rng.randint(1, 99)}号",
            "保质期": rng.choice(["12个月", "18个月", "24个月"]),
            "生产日期": f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        }
        return attrs

    def food(self, medical: bool = False, absolute: bool = False) -> dict[str, Any]:
        rng = self.rng
        product, cat = rng.choice(FOODS)
        origin = rng.choice(["甘肃省兰州市", "河北省邢台市", "陕西省西安市", "山东省临沂市", "青海省西宁市"])
        parts = [product, rng.choice(["特级", "一级", "精选", "新货", "头茬", "礼盒装"])]
        desc = [f"{product}，产自{origin}，{rng.choice(MEDICAL_SOFT)}。"]
        fams: set[str] = set()
        if medical:
            claim = rng.choice(MEDICAL)
            style = rng.random()
            if style < 0.15:
                claim = " ".join(claim)
            elif style < 0.25:
                claim = traditional(claim)
            if rng.random() < 0.4:
                parts.append(claim)
            else:
                desc.append(f"长期食用{claim}，{rng.choice(['效果明显', '中老年人适用', '坚持食用'])}。")
            fams.add("food.medical_claim")
        if absolute:
            term = rng.choice(ABSOLUTE)
            if rng.random() < 0.5:
                parts.insert(0, term)
            else:
                desc.append(f"{term}，品质保证。")
            fams.add("ad.absolute_terms")
        if not medical and not absolute:
            desc.append(rng.choice(HONEST_FOOD) + "。")
        attrs = self.food_attrs(origin)
        return self.row(" ".join(parts), "".join(desc), cat, attrs, fams, "food")

    def sanwu(self, sanwu: bool) -> dict[str, Any]:
        rng = self.rng
        product, cat = rng.choice(FOODS)
        origin = rng.choice(["甘肃省兰州市", "河北省邢台市", "陕西省西安市", "宁夏回族自治区银川市"])
        attrs = self.food_attrs(origin)
        desc = f"{product}，{rng.choice(MEDICAL_SOFT)}。"
        fams: set[str] = set()
        if sanwu:
            drop = rng.choice(
                [("生产许可证编号",), ("厂名",), ("厂址",), ("厂名", "厂址"), ("生产许可证编号", "厂名", "厂址")]
            )
            for k in drop:
                if rng.random() < 0.3:
                    attrs[k] = rng.choice(["无", "暂无", ""])
                else:
                    attrs.pop(k)
            if "生产许可证编号" in drop and rng.random() < 0.3:
                attrs["生产许可证编号"] = "QS" + str(rng.randint(10**11, 10**12 - 1))  # an obsolete QS number
            desc += rng.choice(["自家作坊生产，散装分装。", "农户自产自销。", "无需标签，放心购买。", ""])
            fams.add("food.sanwu")
        else:
            style = rng.random()
            if style < 0.25:  # facts under other keys
                attrs["食品生产许可证编号"] = attrs.pop("生产许可证编号")
                attrs["生产厂家"] = attrs.pop("厂名")
                attrs["生产地址"] = attrs.pop("厂址")
            elif style < 0.35:
                attrs["生产许可证编号"] = attrs["生产许可证编号"].replace("SC", "SC ")
        return self.row(
            f"{product} {rng.choice(['特级', '精选', '新货'])} {rng.choice(['500g', '1kg', '250g'])}",
            desc,
            cat,
            attrs,
            fams,
            "food",
        )

    def gi(self, mismatch: bool) -> dict[str, Any]:
        rng = self.rng
        claim, product, cat, homes = rng.choice(GI)
        origin = rng.choice(ELSEWHERE) if mismatch else rng.choice(homes)
        title = (
            f"{claim} {rng.choice(['特级', '精选', '新货', '手工'])} {product if product not in claim else ''}".strip()
        )
        desc = f"{claim}，{rng.choice(MEDICAL_SOFT)}。"
        attrs = (
            self.food_attrs(origin)
            if cat.startswith("food")
            else {"产地": origin, "厂名": "某某藏香厂", "厂址": f"{origin}{rng.randint(1, 80)}号"}
        )
        if mismatch and not cat.startswith("food") and rng.random() < 0.3:
            attrs.pop("厂址", None)  # incense is not food: a missing address is not food.sanwu
        if not mismatch and rng.random() < 0.3:  # packed elsewhere, grown at home: not a mismatch
            attrs["厂址"] = f"{rng.choice(ELSEWHERE)}分装厂"
        return self.row(title, desc, cat, attrs, {"origin.gi_mismatch"} if mismatch else set(), "food")

    def gi_negative_style(self) -> dict[str, Any]:
        rng = self.rng
        claim, product, cat, _ = rng.choice(GI)
        origin = rng.choice(ELSEWHERE)
        # no claim of the protected origin: plain product from elsewhere, or an explicit "not"
        title = rng.choice([f"{product} 精选 500g", f"非{claim} 普通{product} 实惠装"])
        attrs = (
            self.food_attrs(origin)
            if cat.startswith("food")
            else {"产地": origin, "厂名": "某某香厂", "厂址": f"{origin}1号"}
        )
        return self.row(title, f"{product}，{rng.choice(MEDICAL_SOFT)}。", cat, attrs, set(), "food")

    # ------------------------------------------------------------ other families
    def counterfeit(self, fake: bool) -> dict[str, Any]:
        rng = self.rng
        brand = rng.choice(BRANDS)
        goods = rng.choice(FAKE_GOODS)
        if fake:
            sig = rng.choice(FAKE_SIGNALS)
            title = f"{brand} {goods} {sig} {rng.choice(['细节对版', '支持验货', '专柜品质', '2026新款'])}"
            desc = rng.choice(["做工与专柜一致，懂货的来。", "无法区分，支持对比。", "品质过硬，放心入手。"])
            fams = {"ip.counterfeit"}
            if "顶级" in title:
                fams.add("ad.absolute_terms")
        else:
            title = rng.choice(
                [
                    f"{brand} {goods} 正品行货 专柜同款",
                    f"自有品牌 {goods} 仿古风",
                    f"{goods} 原单价299 限时89",
                    f"{goods} 拒绝高仿 假一赔十",
                    f"浓缩洗衣液 兑水1:1使用 {goods}",
                    f"1:1比例 {brand} 模型 手办",
                    f"{brand} 官方授权 {goods}",
                ]
            )
            desc = rng.choice(["正品保障，支持专柜验货。", "全国联保。", "原单价299元，现价89元。"])
            fams = set()
        return self.row(title, desc, rng.choice(["apparel", "digital", "bags"]), {"品牌": brand}, fams, "fashion")

    def data(self, sale: bool) -> dict[str, Any]:
        rng = self.rng
        if sale:
            t = rng.choice(DATA_SALE)
            if rng.random() < 0.15:
                t = traditional(t)
            title, desc, fams = t, rng.choice(DATA_DESC), {"privacy.personal_data_sale"}
        else:
            title = rng.choice(
                [
                    "快递面单纸 热敏 100*150 500张",
                    "身份证信息读卡器 二代证",
                    "客户资料管理软件 CRM 终身版",
                    "快递单号查询 物流跟踪 代查",
                    "隐私面单 防泄露 快递单涂抹章",
                    "企业工商注册 代办执照",
                    "手机号码 靓号 选号 (运营商营业厅)",
                    "快递代发 仓储服务",
                    "个人信息保护合规咨询",
                ]
            )
            desc, fams = rng.choice(["正规企业服务。", "支持开票。", "保护个人隐私。"]), set()
        return self.row(title, desc, "services", {"交付方式": rng.choice(["网盘", "邮箱", "快递"])}, fams, "services")

    def general(self) -> dict[str, Any]:
        rng = self.rng
        title = rng.choice(
            [
                "不锈钢保温杯 500ml",
                "洗衣液 薰衣草 2kg",
                "竹纤维抹布 10条",
                "收纳箱 加厚 3个装",
                "蓝牙音箱 便携",
                "纯棉短袖T恤",
                "运动袜 5双装",
                "数据线 1.5米 快充",
                "最新款 手机壳 防摔",
                "第一次养猫 猫砂 10kg",
            ]
        )
        return self.row(
            title,
            rng.choice(["家用必备。", "七天无理由退换。", "品质保证。"]),
            rng.choice(["daily", "digital"]),
            {"品牌": "自有品牌"},
            set(),
            "general",
            healthy=0.6,
        )

    def consumer(self) -> dict[str, Any]:
        """A consumer product that contains a listed substance: not a chemical sale."""
        title, desc, cat = self.rng.choice(CONSUMER)
        return self.row(title, desc, cat, {"规格": "1件"}, set(), "general")

    def shadowed(self) -> dict[str, Any]:
        """A harmless compound whose name contains a listed one, or (1 in 3) the listed one itself."""
        rng = self.rng
        if rng.random() < 0.33:
            name, cas = rng.choice(SHADOW_POSITIVE)
            title = f"{name} {rng.choice(['99%', '85%', '工业级'])} {rng.choice(SELL)}"
            attrs = {"品名": name, "CAS号": cas}
            return self.row(title, f"{name}，工业原料。", "chemicals", attrs, {"chem.unlicensed"}, "chem_plain")
        title, desc = rng.choice(SHADOWED)
        return self.row(title, desc, "chemicals", {"规格": "25kg/袋"}, set(), rng.choice(["chem_plain", "general"]))

    def evasion(self) -> dict[str, Any]:
        """A 剧毒/易制爆/易制毒 substance named in pinyin, mixed pinyin and hanzi, or with a same-sounding
        character (qing化钠, qinghuana, 氰化纳), offered for sale."""
        rng = self.rng
        pool, fams = rng.choice(
            [
                (TOXIC, {"chem.toxic"}),
                (EXPLOSIVE, {"chem.explosive_precursor"}),
                (DRUG, {"chem.drug_precursor"}),
                (BOTH, {"chem.explosive_precursor", "chem.drug_precursor"}),
            ]
        )
        names = [s[0] for s in pool if len(s[0]) >= 3 and s[0] not in NOT_ON_SPECIFIC_LIST and is_hanzi(s[0])]
        name = rng.choice(names)
        syllables = pinyin(name)
        style = rng.choice(["pinyin", "pinyin_spaced", "mixed", "mixed", "homophone", "homophone"])
        swappable = [i for i, c in enumerate(name) if c in HOMOPHONE]
        if style == "homophone" and not swappable:
            style = "mixed"
        if style == "pinyin":
            frag = "".join(syllables)
        elif style == "pinyin_spaced":
            frag = " ".join(syllables)
        elif style == "mixed":
            i = rng.randrange(len(name))
            frag = name[:i] + syllables[i] + name[i + 1 :]
        else:
            i = rng.choice(swappable)
            frag = name[:i] + HOMOPHONE[name[i]] + name[i + 1 :]
        title = f"{frag} {rng.choice(['99%', '98%', '500g', '25kg/袋', ''])} {rng.choice(SELL)}".replace("  ", " ")
        desc = f"{rng.choice(CHEM_DESC)}。{rng.choice(CHEM_TAIL)}"
        return self.row(title, desc, "chemicals", {"规格": "500g/瓶"}, fams, "chem_plain")

    def evasion_negative(self) -> dict[str, Any]:
        """Pinyin and same-sounding words in listings that sell no chemical."""
        title, desc, cat = self.rng.choice(NOT_CHEM_PINYIN)
        attrs = self.food_attrs("浙江省湖州市") if cat.startswith("food") else {"规格": "1件"}
        return self.row(title, desc, cat, attrs, set(), "general")

    def privacy_pinyin(self) -> dict[str, Any]:
        """Personal data offered for sale with the key word half in pinyin (身fen证号)."""
        rng = self.rng
        title = rng.choice(
            [
                "身fen证号 实名信息 出售",
                "shen份证信息 一手 出售",
                "手ji号数据 按地区 实时更新",
                "业主ming单 含电话 出售",
                "车主xin息 车险到期 一手",
            ]
        )
        return self.row(title, rng.choice(DATA_DESC), "services", {}, {"privacy.personal_data_sale"}, "services")

    def medical_nonfood(self, claim: bool) -> dict[str, Any]:
        """Treatment claims on incense, cosmetics and daily goods (广告法 第十七条), and honest ones."""
        title, desc, cat = self.rng.choice(MEDICAL_NONFOOD if claim else MEDICAL_NONFOOD_OK)
        fams = {"food.medical_claim"} if claim else set()
        return self.row(title, desc, cat, {"规格": "1件"}, fams, "general")

    def tricky(self) -> dict[str, Any]:
        """Harder cases, positive and negative, that keyword lists alone get wrong."""
        rng = self.rng
        k = rng.randrange(24)
        if k >= 16:
            return self.tricky2(k - 16)
        if k == 0:
            return self.row(
                "缅甸天然翡翠 A货 手镯 带证书", "天然A货翡翠，非B货C货。", "jewelry", {"材质": "翡翠"}, set(), "fashion"
            )
        if k == 1:
            return self.row(
                "莆田桂圆干 特级 500g",
                "福建莆田特产，桂圆肉厚。",
                "food/dried-fruit",
                self.food_attrs("福建省莆田市"),
                set(),
                "food",
            )
        if k == 2:
            return self.row(
                "纯棉四件套 床上用品 1.8m", "全棉磨毛，四件套含被套床单枕套。", "home", {"材质": "棉"}, set(), "general"
            )
        if k == 3:
            return self.row(
                "不锈钢锅 28cm",
                "下单后48小时内发货，发货后上传快递单号，可在订单中查看物流信息。",
                "home",
                {"材质": "304不锈钢"},
                set(),
                "general",
            )
        if k == 4:
            origin = "西藏自治区拉萨市尼木县"
            return self.row(
                "尼木藏香 国家级非物质文化遗产 手工线香",
                "尼木藏香制作技艺为国家级非物质文化遗产。",
                "incense",
                {"产地": origin, "厂名": "尼木某藏香合作社", "厂址": f"{origin}吞巴乡"},
                set(),
                "general",
            )
        if k == 5:
            return self.row(
                "新西兰进口 麦卢卡蜂蜜 UMF10+ 250g",
                "原装进口。",
                "food/honey",
                {"原产国": "新西兰", "进口商": "上海某进出口有限公司", "保质期": "36个月"},
                set(),
                "food",
            )
        if k == 6:
            return self.row(
                "新鲜水果 现摘现发 脆甜冬枣 5斤",
                "产地直发，坏果包赔。",
                "food/fruit",
                {"产地": "山东省滨州市沾化区"},
                set(),
                "food",
            )
        if k == 7:
            name = rng.choice(["氰化钠", "氰化钾", "硝酸铵", "丙酮"])
            fam = {
                "氰化钠": "chem.toxic",
                "氰化钾": "chem.toxic",
                "硝酸铵": "chem.unlicensed",  # not on the 2017 易制爆 list
                "丙酮": "chem.drug_precursor",
            }[name]
            return self.row(f"{name} 99% 送防护手套", "量大从优。", "chemicals", {"规格": "500g"}, {fam}, "chem_plain")
        if k == 8:
            name, fam = rng.choice(
                [
                    ("氰化钠", "chem.toxic"),
                    ("砒霜", "chem.toxic"),
                    ("硝酸钾", "chem.explosive_precursor"),
                    ("麻黄素", "chem.drug_precursor"),
                ]
            )
            sep = rng.choice(["🔥", "★", "❤", "→"])
            return self.row(f"{sep.join(name)} 现货", "懂的来。", "chemicals", {}, {fam}, "chem_plain")
        if k == 9:
            name, fam = rng.choice(
                [
                    ("氰化钾", "chem.toxic"),
                    ("高氯酸钾", "chem.explosive_precursor"),
                    ("三氯甲烷", "chem.drug_precursor"),
                    ("甲醇", "chem.unlicensed"),
                ]
            )
            return self.row(
                "工业原料 现货 量大从优",
                f"本店长期供应{name}，纯度99%，欢迎来电。",
                "chemicals",
                {},
                {fam},
                "chem_plain",
            )
        if k == 10:
            shop, shop_fams = self.shop("chem_plain")
            shop = {**shop, "permits": [{"type": "危化品经营许可证", "number": "浙杭安经〔2024〕001"}]}
            self.n += 1
            return {
                "platform": PLATFORM,
                "listing_id": f"D{self.n:06d}",
                "title": "甲醇 99% 工业级 200L/桶",
                "description": "持证经营。",
                "category": "chemicals",
                "price": 1200.0,
                "unit": "桶",
                "shop": shop,
                "attributes": {"CAS号": "67-56-1"},
                "families": sorted(shop_fams),
            }
        if k == 11:
            brand = rng.choice(["耐克", "LV", "劳力士", "迪奥"])
            sig = rng.choice(["1:1", "一比一", "原单", "公司级"])
            return self.row(
                f"{brand} {rng.choice(FAKE_GOODS)} {sig} 细节对版",
                "懂货的来。",
                "apparel",
                {"品牌": brand},
                {"ip.counterfeit"},
                "fashion",
            )
        if k == 12:
            return self.row(
                f"{rng.choice(['宝妈', '车主', '业主'])}手机号 一手数据 按条计价",
                "Excel交付。",
                "services",
                {},
                {"privacy.personal_data_sale"},
                "services",
            )
        if k == 13:
            product, cat = rng.choice(FOODS)
            claim = rng.choice(["缓解高血压", "辅助治疗糖尿病", "改善痛风", "预防老年痴呆", "降低血糖"])
            return self.row(
                f"{product} 精选",
                f"{product}，{claim}，中老年适用。",
                cat,
                self.food_attrs("甘肃省兰州市"),
                {"food.medical_claim"},
                "food",
            )
        if k == 14:
            product, cat = rng.choice(FOODS)
            term = rng.choice(["中国枸杞第一品牌", "全国销量第一", "行业第一", "史上最好吃"])
            return self.row(
                f"{product} {term}",
                "品质保证。",
                cat,
                self.food_attrs("宁夏回族自治区银川市"),
                {"ad.absolute_terms"},
                "food",
            )
        licence = rng.choice(
            ["统一社会信用代码：" + uscc(rng), uscc(rng).lower(), "".join(chr(ord(c) + 0xFEE0) for c in uscc(rng))]
        )
        self.n += 1
        return {
            "platform": PLATFORM,
            "listing_id": f"D{self.n:06d}",
            "title": "收纳箱 加厚",
            "description": "家用。",
            "category": "daily",
            "price": 39.0,
            "unit": "个",
            "shop": {"shop_id": "DSX", "name": "收纳店", "licence_no": licence, "permits": []},
            "attributes": {"品牌": "自有品牌"},
            "families": [],
        }

    def tricky2(self, k: int) -> dict[str, Any]:
        rng = self.rng
        if k == 0:  # a parent region is not a contradiction
            return self.row("尼木藏香 手工线香", "传统工艺。", "incense", {"产地": "西藏拉萨"}, set(), "general")
        if k == 1:
            attrs = self.food_attrs("宁夏回族自治区中卫市")
            return self.row("中宁枸杞 特优 500g", "颗粒饱满。", "food/goji", attrs, set(), "food")
        if k == 2:  # a sibling place is
            attrs = self.food_attrs(rng.choice(["宁夏银川", "宁夏中卫市沙坡头区", "宁夏石嘴山市"]))
            return self.row("中宁枸杞 特优 500g", "颗粒饱满。", "food/goji", attrs, {"origin.gi_mismatch"}, "food")
        if k == 3:  # facts written differently
            attrs = self.food_attrs("陕西省西安市")
            attrs["生产许可证编号"] = "SC 1176 4052 1001 23"
            attrs["地址"] = attrs.pop("厂址")
            return self.row("蜂蜜 500g 土蜂蜜", "农家自产。", "food/honey", attrs, set(), "food")
        if k == 4:  # a shipping address is not the producer address
            attrs = self.food_attrs("陕西省西安市")
            attrs["发货地址"] = attrs.pop("厂址")
            return self.row("蜂蜜 500g 土蜂蜜", "农家自产。", "food/honey", attrs, {"food.sanwu"}, "food")
        if k == 5:
            product, cat = rng.choice(FOODS)
            return self.row(
                f"{product} 礼盒",
                rng.choice(["洁厕灵 含盐酸"] and ["山奈 八角 桂皮 卤料包", "高仿真 绿植 摆件"]),
                cat,
                self.food_attrs("广西玉林市"),
                set(),
                "food",
            )
        if k == 6:
            return self.row(
                rng.choice(["洁厕灵 含盐酸 强力除垢", "管道疏通剂 主要成分氢氧化钠", "玻璃清洗剂 成分：异丙醇"]),
                "家用清洁。",
                "daily",
                {"规格": "500ml"},
                set(),
                "general",
            )
        return self.row(
            rng.choice(["企业名录 工商数据 老板手机号 按地区筛选", "出售公民信息 实名 手机号"]),
            "Excel交付。",
            "services",
            {},
            {"privacy.personal_data_sale"},
            "services",
        )

    def absolute_other(self) -> dict[str, Any]:
        rng = self.rng
        term = rng.choice(ABSOLUTE)
        goods = rng.choice(["保温杯", "藏香 盘香", "蓝牙耳机", "洗衣液", "羽绒服"])
        return self.row(
            f"{term} {goods}",
            "品质保证。",
            rng.choice(["daily", "incense", "digital"]),
            {"品牌": "自有品牌"},
            {"ad.absolute_terms"},
            "general",
        )


def generate(n: int, seed: int = 20261123) -> Iterator[dict[str, Any]]:
    g = Gen(seed)
    rng = g.rng
    plan = [
        (6, lambda: g.chem(TOXIC, {"chem.toxic"})),
        (5, lambda: g.chem(EXPLOSIVE, {"chem.explosive_precursor"})),
        (1, lambda: g.peroxide()),
        (5, lambda: g.chem(DRUG, {"chem.drug_precursor"})),
        (1, lambda: g.chem(BOTH, {"chem.explosive_precursor", "chem.drug_precursor"})),
        (5, lambda: g.unlicensed(False)),
        (3, lambda: g.unlicensed(True)),
        (2, lambda: g.chem_harmless()),
        (6, lambda: g.chem_hardneg()),
        (5, lambda: g.food(medical=True, absolute=rng.random() < 0.2)),
        (4, lambda: g.food(absolute=True)),
        (7, lambda: g.food()),
        (2, lambda: g.absolute_other()),
        (4, lambda: g.gi(True)),
        (3, lambda: g.gi(False)),
        (1, lambda: g.gi_negative_style()),
        (4, lambda: g.sanwu(True)),
        (3, lambda: g.sanwu(False)),
        (4, lambda: g.counterfeit(True)),
        (3, lambda: g.counterfeit(False)),
        (3, lambda: g.data(True)),
        (2, lambda: g.data(False)),
        (4, lambda: g.general()),
        (8, lambda: g.tricky()),
        # second edition: the big catalog's hard negatives, evasions, claims on non-food goods
        (5, lambda: g.consumer()),
        (3, lambda: g.shadowed()),
        (5, lambda: g.evasion()),
        (2, lambda: g.evasion_negative()),
        (1, lambda: g.privacy_pinyin()),
        (2, lambda: g.medical_nonfood(True)),
        (2, lambda: g.medical_nonfood(False)),
    ]
    weights = [w for w, _ in plan]
    makers = [m for _, m in plan]
    for _ in range(n):
        yield rng.choices(makers, weights=weights)[0]()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("-o", "--out", type=Path, default=Path(__file__).with_name("devset.jsonl"))
    args = ap.parse_args()
    with args.out.open("wb") as fh:
        for row in generate(args.n, args.seed):
            fh.write(orjson.dumps(row) + b"\n")
    print(f"wrote {args.n} rows to {args.out}")


if __name__ == "__main__":
    main()
