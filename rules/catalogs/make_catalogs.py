# ruff: noqa: E501  (the catalog header lines are legal citations, kept whole on one line each)
"""Generate the chemical catalogs from the official lists plus curated overlays.

    python rules/catalogs/make_catalogs.py          # rewrites rules/catalogs/{hazchem,toxic,explosive,drug_precursor,shadows}.csv
                                                    # and rules/catalogs/pinyin_readings.txt

Inputs (all in the repository, so a rebuild needs no network):
  * sources/hazchem_2015.tsv     - 《危险化学品目录（2015版）》, all 2,828 entries (序号, 品名, 别名, CAS号, 备注 剧毒)
  * sources/explosive_2017.tsv   - 《易制爆危险化学品名录（2017年版）》, all 74 entries with the hazard-class notes
  * sources/drug_precursor_list.tsv - 《易制毒化学品的分类和品种目录》 with every addition through 2021 (written by hand)
  * curated/*.csv          - curated additions per substance: trade names, formulas, English names, context
                                   words that cancel a match (山奈 next to 香料), concentration thresholds
The two .tsv transcriptions of the official texts were taken entry by entry from the public machine-readable
transcription in repository kiwi2000/chem-management-system_v2, file scripts/data/china.json (sections HAZ,
HYPERTOX, EXPLOSIVE), and every CAS number was checked by its check digit.

`shadows.csv` (names that contain a listed name but are another, unlisted substance or product: 硝酸铵钙,
苯甲酸钠, 聚乙烯, 丙烯颜料) is the curated list `curated/shadows.csv` plus rows generated from the catalogs by
the patterns of `shadow_rows()`; a shadow that is itself a listed name is never written.

Overlays are merged by CAS number (by name only when the overlay row has no CAS). An overlay row whose CAS
disagrees with the official entry of the same name is rejected and reported: the official list wins.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

CATALOGS = Path(__file__).resolve().parent
SOURCES = CATALOGS / "sources"
OVERLAY = CATALOGS / "curated"
DATE = "2026-12-02"
COLUMNS = [
    "name",
    "name_match",
    "cas",
    "aliases",
    "formulas",
    "category",
    "min_pct",
    "exclude",
    "serial",
    "official_name",
    "note",
]

AMBIGUOUS = {
    # official aliases that are everyday words for something else in a marketplace; matching them would
    # report jewellery, herbs, art supplies and fuels for cooking as chemical sales
    "冰片": "中药材/香料",
    "龙脑": "中药材/香料",
    "朱砂": "文玩/中药材",
    "祖母绿": "宝石",
    "翡翠绿": "颜色名",
    "帝绿": "颜色名/翡翠",
    "苔绿": "颜色名",
    "草地绿": "颜色名",
    "翠绿": "颜色名",
    "维也纳绿": "颜色名",
    "大漆": "漆器工艺品",
    "生漆": "漆器工艺品",
    "松脂": "琴弦松香/工艺品",
    "原油": "期货/行情用语",
    "沼气": "沼气池设备",
    "天然气": "燃气服务/灶具",
    "煤气": "燃气灶具",
    "水煤气": "工业术语",
    "氢气": "富氢水杯",
    "磷酸": "食品添加剂/磷酸盐",
    "醋酸": "醋酸纤维（眼镜架、布料）",
    "蚁酸": "昆虫科普",
    "硼酸": "硼酸洗液（药品）",
    "铅丹": "中药材",
    "黄丹": "中药材",
    "红丹": "防锈漆俗称",
    "甘汞": "电极/中药",
    "赛璐珞": "乒乓球/文具材质",
    "尸毒素": "科普用语",
    "腐肉碱": "科普用语",
    "附子精": "中药",
    "肾上腺素": "药品/医学用语",
    "付肾素": "药品",
    "付肾碱": "药品",
    "地高辛": "药品",
    "尼古丁": "电子烟烟油（另有监管）",
    "烟碱": "电子烟烟油（另有监管）",
    "丁烷": "打火机充气",
    "正丁烷": "打火机充气",
    "乙炔": "焊接气瓶服务",
    "电石气": "焊接",
    "笑气": "奶油发泡气弹（另有监管）",
    "精萘": "樟脑丸",
    "萘饼": "樟脑丸",
    "粗萘": "樟脑丸",
    "二氧化碳": "鱼缸/饮料二氧化碳",
    "碳酸酐": "同上",
    "氧化铅": "陶瓷釉料术语",
    "火油": "煤油灯",
    "汽油": "车用燃油（加油站另有监管）",
    "苯酐": "塑料原料术语",
    "保险粉": "染布用品（仍为危化品，另由 hazchem 名称匹配）",
    "臭碱": "俗称",
    "水银": "体温计/温度计",
    "磷化氢": "熏蒸服务",
}
"""Official names or aliases never used as match terms, with the reason. The entry stays in the catalog and is
still matched by its other names and its CAS number; `sweep rules lint` reports entries left with nothing."""

UNMATCHED = "不匹配："
"""Note prefix of an entry left deliberately without match terms; `sweep rules lint` reports any other."""

EXPLOSIVE_CLASSES = {
    "1": "1 酸类",
    "2": "2 硝酸盐类",
    "3": "3 氯酸盐类",
    "4": "4 高氯酸盐类",
    "5": "5 重铬酸盐类",
    "6": "6 过氧化物和超氧化物类",
    "7": "7 易燃物还原剂类",
    "8": "8 硝基化合物类",
    "9": "9 其他",
}
EXPLOSIVE_MIN_PCT = {"6.1": 8.0}  # 过氧化氢溶液（含量>8%）

DRUG_PRECURSOR_OVERLAY_SERIAL = {
    "麻黄碱": "1-12",
    "伪麻黄碱": "1-12",
    "消旋麻黄碱": "1-12",
    "去甲麻黄碱": "1-12",
    "甲基麻黄碱": "1-12",
    "麻黄浸膏": "1-12",
}
DRUG_PRECURSOR_EXTRA = [
    # official items whose overlay row was missing or merged two items; CAS from the substance registries
    {"serial": "2-9", "name": "α-乙酰乙酰苯胺", "cas": "102-01-2", "aliases": "乙酰乙酰苯胺|APAA"},
    {"serial": "2-10", "name": "3,4-亚甲基二氧苯基-2-丙酮缩水甘油酸", "cas": "", "aliases": "PMK缩水甘油酸|PMK甘油酸"},
    {
        "serial": "2-11",
        "name": "3,4-亚甲基二氧苯基-2-丙酮缩水甘油酯",
        "cas": "13605-48-6",
        "aliases": "PMK缩水甘油酯|PMK缩水甘油酸甲酯|PMK甲酯",
    },
]

_BRACKET = re.compile(r"\s*(?:\[[^\]]*\]|［[^］]*］|（[^）]*(?:含|%|＞|<|>)[^）]*）|\([^)]*(?:含|%|＞|<|>)[^)]*\))\s*$")
_CJK_SEP = re.compile(r"(?<=[\u4e00-\u9fff\]）)])[,、](?=[\u4e00-\u9fff])")


def clean(term: str) -> str:
    """An official name as listings write it: qualifiers in brackets dropped, full-width commas unified."""
    t = term.replace("，", ",").strip()
    while True:
        s = _BRACKET.sub("", t)
        if s == t:
            return t
        t = s


def split_aliases(value: str) -> list[str]:
    out: list[str] = []
    for piece in value.replace("；", ";").split(";"):
        out.extend(p.strip() for p in _CJK_SEP.split(piece) if p.strip())
    return out


def usable(term: str) -> bool:
    """Whether a name is specific enough to be a match term."""
    t = term.strip()
    if t in AMBIGUOUS:
        return False
    if t.isascii():
        return len(t) >= 3 and not t.isdigit()
    return len(t) >= 2


@dataclass
class Row:
    name: str
    cas: str = ""
    aliases: list[str] = field(default_factory=list)
    formulas: list[str] = field(default_factory=list)
    category: str = ""
    min_pct: str = ""
    exclude: list[str] = field(default_factory=list)
    serial: str = ""
    official_name: str = ""
    note: str = ""


def read_tsv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8"), delimiter="\t"))


def read_overlay(name: str) -> list[dict[str, str]]:
    lines = [ln for ln in (OVERLAY / f"{name}.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def official_rows(records: list[dict[str, str]], alias_key: str = "别名") -> list[Row]:
    rows = []
    for r in records:
        cases = [c.strip() for c in r["CAS号"].replace("；", ";").split(";") if c.strip()]
        name = clean(r["品名"])
        aliases = [clean(a) for a in split_aliases(r[alias_key])] + cases[1:]
        rows.append(
            Row(
                name=name,
                cas=cases[0] if cases else "",
                aliases=aliases,
                serial=r["序号"],
                official_name=r["品名"] if clean(r["品名"]) != r["品名"] else "",
            )
        )
    return rows


def merge(rows: list[Row], overlays: list[dict[str, str]], report: list[str], label: str) -> None:
    """Add curated aliases/formulas/exclusions to official rows (by CAS, else by name when the overlay has none)."""
    by_cas: dict[str, Row] = {}
    by_name: dict[str, Row] = {}
    for r in rows:
        if r.cas:
            by_cas.setdefault(r.cas, r)
        by_name.setdefault(r.name, r)
    for o in overlays:
        cas = (o.get("cas") or "").strip()
        target = by_cas.get(cas) if cas else by_name.get(clean(o["name"]))
        if target is None:
            if cas and clean(o["name"]) in by_name:
                report.append(f"{label}: 覆盖行 {o['name']} CAS {cas} 与名录不符，未采用")
            else:
                report.append(f"{label}: 覆盖行 {o['name']} 不在名录中，未采用")
            continue
        extra = [clean(o["name"]), *split_aliases((o.get("aliases") or "").replace("|", ";"))]
        target.aliases.extend(a for a in extra if a != target.name)
        target.formulas.extend(f for f in (o.get("formulas") or "").split("|") if f.strip())
        target.exclude.extend(x for x in (o.get("exclude") or "").split("|") if x.strip())
        if o.get("min_pct") and not target.min_pct:
            target.min_pct = o["min_pct"]
        if o.get("note") and not target.note:
            target.note = o["note"]


def finalize(rows: list[Row], report: list[str], label: str) -> list[list[str]]:
    """CSV rows: unusable and duplicate terms dropped (a term names one entry of a catalog)."""
    seen: dict[str, str] = {}
    out = []
    for r in rows:
        terms = []
        for t in [r.name, *r.aliases, *r.formulas]:
            t = t.strip()
            if not t or t in terms:
                continue
            terms.append(t)
        kept = []
        for t in terms:
            if t in seen and seen[t] != r.serial:
                report.append(f"{label}: 词条 {t} 已属于 {seen[t]}，{r.serial} 不再使用")
                continue
            seen[t] = r.serial
            kept.append(t)
        formulas = [f for f in dict.fromkeys(r.formulas) if f in kept]
        aliases = [a for a in kept[1:] if a not in formulas and usable(a)]
        name = r.name
        # an ambiguous or duplicate name still labels the entry, but is not a match term
        name_match = "" if usable(name) and name in kept else "no"
        note = r.note
        if not r.cas and not (name_match == "" or aliases):
            why = [AMBIGUOUS[t] for t in terms if t in AMBIGUOUS] or [
                f"名称已属第{seen[t]}条" for t in terms if t in seen
            ]
            note = f"{UNMATCHED}{'；'.join(why) or '无可用名称且无CAS号'}"
        out.append(
            [
                name,
                name_match,
                r.cas,
                "|".join(aliases),
                "|".join(formulas),
                r.category,
                r.min_pct,
                "|".join(dict.fromkeys(r.exclude)),
                r.serial,
                r.official_name,
                note,
            ]
        )
    return out


def write(name: str, header_lines: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    for line in header_lines:
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    (CATALOGS / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")


TRANSCRIPTION = (
    "transcribed: 逐条取自公开的机读转录（仓库 kiwi2000/chem-management-system_v2，scripts/data/china.json），"
    "存于 rules/catalogs/sources/，由 rules/catalogs/make_catalogs.py 生成；CAS 号均经校验位检查"
)


def build() -> list[str]:
    report: list[str] = []
    haz_src = read_tsv(SOURCES / "hazchem_2015.tsv")
    all_overlays = {n: read_overlay(n) for n in ("hazchem", "toxic", "explosive", "drug_precursor")}

    # 危险化学品目录: every entry; curated knowledge from all overlays applies (氰化钠 is 山奈 in every catalog)
    haz = official_rows(haz_src)
    for r, src in zip(haz, haz_src, strict=True):
        if src["备注"]:
            r.category = src["备注"]
    for n in ("hazchem", "toxic", "explosive", "drug_precursor"):
        merge(haz, all_overlays[n], [], "hazchem")
    write(
        "hazchem",
        [
            "source: 《危险化学品目录（2015版）》国家安全生产监督管理总局等10部门公告2015年第5号，全部2828个条目（序号、品名、别名、CAS号、剧毒备注）",
            "source: 附加的俗称、化学式、英文名与排除词来自 rules/catalogs/curated/（分析员整理）",
            f"date: {DATE}",
            f"note: {TRANSCRIPTION}",
            "note: 含剧毒、易制爆条目（chem.unlicensed 以此为准；剧毒/易制爆/易制毒另有专门目录，同一商品只报告更具体的类别）",
            "note: 名称中的方括号限定语（[稳定的]、[含量＞5%]）不作为匹配词，原名见 official_name 列",
        ],
        finalize(haz, report, "hazchem"),
    )

    # 剧毒: the 148 entries marked 剧毒
    toxic = [r for r, src in zip(official_rows(haz_src), haz_src, strict=True) if src["备注"] == "剧毒"]
    for r in toxic:
        r.category = "剧毒"
    merge(toxic, [o for o in all_overlays["toxic"]], report, "toxic")
    write(
        "toxic",
        [
            "source: 《危险化学品目录（2015版）》备注栏标注“剧毒”的全部148个条目",
            "source: 俗称、化学式、英文名与排除词来自 rules/catalogs/curated/toxic.csv（分析员整理）",
            f"date: {DATE}",
            f"note: {TRANSCRIPTION}",
            "note: 不属剧毒但国家禁用的农药见 banned_pesticides.csv（另有法律依据）",
        ],
        finalize(toxic, report, "toxic"),
    )

    # 易制爆: all 74 entries of the 2017 list
    ex_src = read_tsv(SOURCES / "explosive_2017.tsv")
    explosive = official_rows(ex_src)
    for r, src in zip(explosive, ex_src, strict=True):
        r.category = EXPLOSIVE_CLASSES[r.serial.split(".")[0]]
        r.note = src["主要的燃爆危险性分类"]
        if r.serial in EXPLOSIVE_MIN_PCT:
            r.min_pct = f"{EXPLOSIVE_MIN_PCT[r.serial]:g}"
    merge(explosive, all_overlays["explosive"], report, "explosive")
    write(
        "explosive",
        [
            "source: 公安部《易制爆危险化学品名录（2017年版）》全部9类74种（序号、品名、别名、CAS号、主要的燃爆危险性分类）",
            "source: 俗称、化学式、英文名与排除词来自 rules/catalogs/curated/explosive.csv（分析员整理）",
            f"date: {DATE}",
            f"note: {TRANSCRIPTION}",
            "note: min_pct 为名录规定的浓度下限（过氧化氢溶液含量>8%），不高于该值的不报",
        ],
        finalize(explosive, report, "explosive"),
    )

    # 易制毒: the official list (hand-written from the regulation and its additions) + overlay rows
    dp_src = read_tsv(SOURCES / "drug_precursor_list.tsv")
    official = {r["品名"]: r for r in dp_src}
    dp_rows: list[Row] = []
    for o in all_overlays["drug_precursor"]:
        name = clean(o["name"])
        serial = DRUG_PRECURSOR_OVERLAY_SERIAL.get(name) or (official[name]["序号"] if name in official else "")
        if not serial or name == "3,4-亚甲基二氧苯基-2-丙酮缩水甘油酸":
            if not serial:
                report.append(f"drug_precursor: 覆盖行 {name} 不在目录中，未采用")
            continue
        if name == "α-乙酰乙酰苯胺":
            continue
        cat = next(r["类别"] for r in dp_src if r["序号"] == serial)
        dp_rows.append(
            Row(
                name=name,
                cas=o.get("cas", ""),
                aliases=split_aliases((o.get("aliases") or "").replace("|", ";")),
                formulas=[f for f in (o.get("formulas") or "").split("|") if f],
                category=cat,
                exclude=[x for x in (o.get("exclude") or "").split("|") if x],
                serial=serial,
                note=next(r["列入依据"] for r in dp_src if r["序号"] == serial),
            )
        )
    for e in DRUG_PRECURSOR_EXTRA:
        src = next(r for r in dp_src if r["序号"] == e["serial"])
        dp_rows.append(
            Row(
                name=e["name"],
                cas=e["cas"],
                aliases=e["aliases"].split("|"),
                category=src["类别"],
                serial=e["serial"],
                note=src["列入依据"],
            )
        )
    dp_rows.sort(key=lambda r: tuple(int(x) for x in r.serial.split("-")))
    missing = {r["序号"] for r in dp_src} - {r.serial for r in dp_rows}
    if missing:
        raise SystemExit(f"易制毒目录缺少条目: {sorted(missing)}")
    write(
        "drug_precursor",
        [
            "source: 《易制毒化学品管理条例》（国务院令第445号，2005）附表《易制毒化学品的分类和品种目录》",
            "source: 增列：羟亚胺（2008）；邻氯苯基环戊酮（2012）；1-苯基-2-溴-1-丙酮、3-氧-2-苯基丁腈（2014）；国办函〔2017〕120号（N-苯乙基-4-哌啶酮等3种列第一类，溴素、1-苯基-1-丙酮列第二类）；国办函〔2021〕58号（α-苯乙酰乙酸甲酯、α-乙酰乙酰苯胺、3,4-亚甲基二氧苯基-2-丙酮缩水甘油酸、缩水甘油酯列第二类，苯乙腈、γ-丁内酯列第三类）",
            f"date: {DATE}",
            "note: 官方条目见 rules/catalogs/sources/drug_precursor_list.tsv（共38种：第一类19、第二类11、第三类8），serial 为其序号；麻黄素类物质（1-12）按品种分行",
            "note: 俗称、化学式、英文名与排除词来自 rules/catalogs/curated/drug_precursor.csv",
        ],
        finalize(dp_rows, report, "drug_precursor"),
    )
    build_shadows(report)
    build_pinyin_readings()
    return report


# ---------------------------------------------------------------- shadows
CATIONS = ("钠", "钾", "钙", "镁", "铵", "锌", "铁", "亚铁", "铜", "铝", "锰", "锂", "钡", "银", "二钠", "氢钠")
"""Cations and acid-salt endings: a listed acid followed by one of these names a salt (乙酸 -> 乙酸钠)."""
ESTERS = ("甲酯", "乙酯", "丙酯", "丁酯", "戊酯", "异丙酯", "异丁酯", "异戊酯", "苄酯", "芳樟酯", "香叶酯", "龙脑酯")
"""Ester and derivative endings of an acid (乙酸 -> 乙酸芳樟酯, a fragrance)."""
ACID_PREFIXES = ("亚", "次", "焦", "偏", "原", "苯", "硫代", "过")
"""Prefixes that make another acid of a listed one (硫酸 -> 亚硫酸, 焦硫酸; 甲酸 -> 苯甲酸)."""
MONOMER_ENDINGS = ("烯", "醛", "酸", "胺", "酯", "腈", "醇", "醚", "酮", "酰胺")
"""Listed names with these endings can be monomers; 聚 + monomer is a polymer (聚乙烯, 聚丙烯酰胺)."""
PRODUCT_SUFFIXES = ("树脂", "纤维", "橡胶", "乳液", "颜料", "塑料", "板材", "薄膜")
"""Materials named after a monomer (丙烯颜料, 丙烯酸树脂) are goods, not the monomer."""

_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")


def matchable_terms(path: Path) -> set[str]:
    """Every term a generated or hand-written chemical catalog matches on (names, aliases, formulas)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out: set[str] = set()
    for r in csv.DictReader(io.StringIO("\n".join(lines))):
        if r.get("name_match") != "no" and len(r["name"]) > 1:
            out.add(r["name"])
        for col in ("aliases", "formulas"):
            out.update(t.strip() for t in (r.get(col) or "").split("|") if t.strip())
    return out


def shadow_rows(listed: set[str]) -> list[tuple[str, str]]:
    """(term, note) for names that contain a listed name but are another substance, by pattern:
    salts and esters of a listed acid, other acids made by a prefix, polymers of a listed monomer and
    materials named after one. A generated name that is itself listed is skipped (the longest match is
    then the listed entry, which is what should be reported)."""
    rows: dict[str, str] = {}

    def add(term: str, why: str) -> None:
        if term not in listed and term not in rows:
            rows[term] = f"生成：{why}"

    for t in sorted(listed):
        if not _CJK_ONLY.match(t) or len(t) < 2:
            continue
        n = len(t)
        if t.endswith("酸"):
            # the shorter the acid's name, the more other names contain it: salts for names of up to four
            # characters, esters up to three, other acids by a prefix for two (硫酸 -> 亚硫酸)
            if n <= 4:
                for c in CATIONS:
                    add(t + c, f"{t}的盐")
                add(t + "盐", f"{t}的盐类统称")
            if n <= 3:
                for e in ESTERS:
                    add(t + e, f"{t}的酯")
            if n == 2:
                for pre in ACID_PREFIXES:
                    add(pre + t, f"另一种酸（{pre}+{t}）")
        if t.endswith("铵") and n <= 4:  # a listed ammonium salt + another cation is a double salt (硝酸铵钙)
            for c in ("钙", "镁", "钾", "钠", "磷"):
                add(t + c, f"{t}的复盐")
        if n <= 4 and t.endswith(MONOMER_ENDINGS):
            add("聚" + t, f"{t}的聚合物")
            if n <= 3 and t.endswith(("烯", "酸", "酯")):
                for suf in PRODUCT_SUFFIXES:
                    add(t + suf, f"以{t}命名的材料")
    return sorted(rows.items())


def build_shadows(report: list[str]) -> None:
    listed: set[str] = set()
    for name in ("hazchem", "toxic", "explosive", "drug_precursor", "banned_pesticides"):
        listed |= matchable_terms(CATALOGS / f"{name}.csv")
    curated_lines = [
        ln for ln in (OVERLAY / "shadows.csv").read_text(encoding="utf-8").splitlines() if not ln.startswith("#")
    ]
    curated: list[tuple[str, str]] = []
    for r in csv.DictReader(io.StringIO("\n".join(curated_lines))):
        if r["term"] in listed:
            report.append(f"shadows: 人工阴影词 {r['term']} 本身是目录词条，未采用")
            continue
        curated.append((r["term"], r.get("note") or ""))
    seen = {t for t, _ in curated}
    generated = [(t, n) for t, n in shadow_rows(listed) if t not in seen]
    buf = io.StringIO()
    for line in (
        "source: 名称中包含受管化学品名称、但本身是另一种物质或非化学品的词（最长匹配优先：被这些词完整覆盖的短词不算命中）",
        "source: 人工整理部分见 rules/catalogs/curated/shadows.csv（药品盐酸盐、肥料、价格用语等）；其余由 rules/catalogs/make_catalogs.py 按模式从目录生成（盐、酯、另一种酸、聚合物、以单体命名的材料），本身在目录中的名称不生成",
        f"date: {DATE}",
        f"note: 人工 {len(curated)} 条，生成 {len(generated)} 条",
    ):
        buf.write(f"# {line}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["term", "note"])
    w.writerows(curated)
    w.writerows(generated)
    (CATALOGS / "shadows.csv").write_text(buf.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------- pinyin readings
READINGS_FILE = CATALOGS / "pinyin_readings.txt"


def build_pinyin_readings() -> int:
    """Tone-less readings of every GB2312 character (the characters Chinese input methods offer first,
    so the ones sellers type), from pypinyin's dictionary, most common reading first. `rules.pinyin`
    reads this file at load time instead of importing pypinyin's 40,000-entry dictionary (~0.2 s)."""
    import unicodedata

    import pypinyin
    from pypinyin.pinyin_dict import pinyin_dict

    lines = [
        f"# source: pypinyin {pypinyin.__version__}（pinyin_dict，汉字拼音数据）；GB2312 字符集内的汉字，去掉声调，ü 记作 v，常用读音在前",
        f"# date: {DATE}",
        "# note: 由 rules/catalogs/make_catalogs.py 生成；rules/pinyin.py 用它识别拼音、拼音汉字混写和同音字写法",
    ]
    count = 0
    for cp in range(0x4E00, 0xA000):
        ch = chr(cp)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        raw = pinyin_dict.get(cp)
        if not raw:
            continue
        readings: list[str] = []
        for r in raw.split(","):
            decomposed = unicodedata.normalize("NFD", r).replace("u\u0308", "v")  # ü (lǜ) before tones go
            plain = "".join(c for c in decomposed if not unicodedata.combining(c)).strip()
            # m, n, ng, hm, hng (interjections) have no vowel and no place in a substance's name
            if any(v in plain for v in "aeiouv") and plain not in readings:
                readings.append(plain)
        if readings:
            lines.append(f"{ch}\t{','.join(readings)}")
            count += 1
    READINGS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return count


if __name__ == "__main__":
    for line in build():
        print(line, file=sys.stderr)
