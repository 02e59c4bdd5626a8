"""The chemical catalogs against the official lists: complete, correctly classified, valid CAS numbers.

Expected counts and categories are written here by hand from the official texts, not read from the
catalogs: 《危险化学品目录（2015版）》 has 2,828 entries, 148 of them marked 剧毒; the 2017 易制爆 list has
74 entries in 9 classes; the 易制毒 list (2005 附表 plus additions in 2008, 2012, 2014, 2017 and 2021) has
38 items: 19 in 第一类, 11 in 第二类, 8 in 第三类.
"""

from __future__ import annotations

from collections import Counter

import pytest

from rules.loader import DEFAULT_CATALOGS, load_catalogs
from rules.normalize import cas_valid

CATALOGS = load_catalogs(DEFAULT_CATALOGS)


def serials(name: str) -> list[str]:
    return [e.serial for e in CATALOGS[name].entries]


def test_hazchem_holds_every_entry_of_the_2015_catalog() -> None:
    s = serials("hazchem")
    assert len(s) == 2828
    assert sorted(int(x) for x in s) == list(range(1, 2829))


def test_toxic_holds_the_148_entries_marked_judu_and_nothing_else() -> None:
    s = serials("toxic")
    assert len(s) == len(set(s)) == 148
    assert {e.category for e in CATALOGS["toxic"].entries} == {"剧毒"}
    # spot checks by hand from the catalog: entries the first edition missed, and ones it wrongly held
    by_serial = {e.serial: e for e in CATALOGS["toxic"].entries}
    assert by_serial["1381"].cas == "7782-50-5"  # 氯（液氯）
    assert by_serial["732"].cas == "7782-41-4"  # 氟
    assert by_serial["1854"].cas == "76-06-2"  # 氯化苦
    assert by_serial["2144"].cas == "87-86-5"  # 五氯酚
    assert by_serial["2133"].cas == "302-27-2"  # 乌头碱
    assert by_serial["849"].cas == "17702-41-9"  # 癸硼烷
    cas = {e.cas for e in CATALOGS["toxic"].entries}
    for not_judu in ("592-01-8", "7784-34-1", "77-78-1", "298-00-0"):  # 氰化钙 三氯化砷 硫酸二甲酯 甲基对硫磷
        assert not_judu not in cas


def test_explosive_holds_the_74_entries_of_the_2017_list_by_class() -> None:
    s = serials("explosive")
    assert len(s) == len(set(s)) == 74
    per_class = Counter(x.split(".")[0] for x in s)
    assert per_class == {"1": 3, "2": 11, "3": 3, "4": 4, "5": 4, "6": 15, "7": 16, "8": 11, "9": 7}
    by_serial = {e.serial: e for e in CATALOGS["explosive"].entries}
    assert by_serial["6.13"].name == "过氧化氢苯甲酰" and by_serial["6.13"].cas == "93-59-4"
    assert by_serial["7.5"].name == "镁铝粉" and by_serial["7.5"].cas is None  # the list gives no CAS
    assert [by_serial[f"7.{i}"].cas for i in range(11, 17)] == [
        "100-97-0",
        "107-15-3",
        "74-89-5",
        "16949-15-8",
        "16940-66-2",
        "13762-51-1",
    ]
    assert by_serial["6.1"].min_pct == 8.0
    assert "6484-52-2" not in {e.cas for e in CATALOGS["explosive"].entries}  # 硝酸铵 is not on the 2017 list


def test_drug_precursor_holds_every_item_with_the_right_category() -> None:
    items = {(e.serial, e.category) for e in CATALOGS["drug_precursor"].entries}
    assert len({s for s, _ in items}) == 38
    per_cat = Counter(c for _, c in items)
    assert per_cat == {"第一类": 19, "第二类": 11, "第三类": 8}
    cat = {e.name: e.category for e in CATALOGS["drug_precursor"].entries}
    for name in (
        "α-苯乙酰乙酸甲酯",
        "α-乙酰乙酰苯胺",
        "3,4-亚甲基二氧苯基-2-丙酮缩水甘油酸",
        "3,4-亚甲基二氧苯基-2-丙酮缩水甘油酯",
    ):
        assert cat[name] == "第二类", name
    for name in ("苯乙腈", "γ-丁内酯", "高锰酸钾", "丙酮"):
        assert cat[name] == "第三类", name
    assert cat["溴素"] == cat["1-苯基-1-丙酮"] == "第二类"
    assert cat["N-苯乙基-4-哌啶酮"] == "第一类"


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_every_cas_check_digit_is_valid(name: str) -> None:
    bad = [(e.line, e.cas) for e in CATALOGS[name].entries if e.cas and not cas_valid(e.cas)]
    assert not bad


ALLOWED_OVERLAPS = {("explosive", "drug_precursor"): {"7722-64-7"}}  # 高锰酸钾: 易制爆 9.3 and 易制毒 第三类
"""Substances legitimately on two specific lists (checked by hand against both texts)."""


def test_no_substance_in_two_specific_catalogs_by_mistake() -> None:
    names = ("toxic", "explosive", "drug_precursor", "banned_pesticides")
    cas = {n: {e.cas for e in CATALOGS[n].entries if e.cas} for n in names}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert cas[a] & cas[b] == ALLOWED_OVERLAPS.get((a, b), set()), (a, b)


NOT_IN_2015_CATALOG = {"115-77-5"}  # 季戊四醇: on the 2017 易制爆 list (9.7) but not a 2015 危险化学品


def test_every_specific_substance_is_also_a_hazardous_chemical() -> None:
    haz = {e.cas for e in CATALOGS["hazchem"].entries if e.cas}
    for n in ("toxic", "explosive", "banned_pesticides"):
        missing = {e.cas for e in CATALOGS[n].entries if e.cas and e.cas not in haz}
        assert missing == (NOT_IN_2015_CATALOG if n == "explosive" else set()), n


def test_every_catalog_names_source_and_date() -> None:
    for cat in CATALOGS.values():
        assert cat.sources and cat.date


def test_lint_reports_entries_that_can_never_match(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from rules.catalog import load_catalog
    from rules.lint import unmatchable_entries

    f = tmp_path / "demo.csv"
    f.write_text(
        "# source: test\n# date: 2026-12-02\nname,name_match,cas,note\n"
        "钡,,,\n"  # a bare element name is dropped as a term and there is no CAS: never matches
        "镁,,7439-95-4,\n"  # matched by its CAS number
        "汽油,no,,不匹配：车用燃油\n"  # deliberately unmatched, says why
        "甲醇,,,\n",
        encoding="utf-8",
    )
    problems = unmatchable_entries(load_catalog(f))
    assert [p.where for p in problems] == ["demo.csv:4"]
    assert "钡" in problems[0].message


def _make_catalogs():  # type: ignore[no-untyped-def]
    import importlib.util
    import sys

    from rules.loader import DEFAULT_CATALOGS as catalogs_dir

    spec = importlib.util.spec_from_file_location("make_catalogs", catalogs_dir / "make_catalogs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_catalogs", module)  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_shadow_patterns_name_other_substances_and_never_a_listed_one() -> None:
    rows = dict(_make_catalogs().shadow_rows({"乙酸", "乙酸乙酯", "硫酸", "亚硫酸", "乙烯", "硝酸铵"}))
    assert "乙酸钠" in rows and rows["乙酸钠"] == "生成：乙酸的盐"
    assert "乙酸芳樟酯" in rows  # an ester used in perfume
    assert "乙酸乙酯" not in rows  # listed itself: the longest match is the listed entry
    assert "焦硫酸" in rows and "亚硫酸" not in rows
    assert "聚乙烯" in rows and "硝酸铵钙" in rows


def test_generated_shadows_hold_no_listed_name() -> None:
    shadows = {e.name for e in CATALOGS["shadows"].entries}
    listed = {
        t for n in ("hazchem", "toxic", "explosive", "drug_precursor") for e in CATALOGS[n].entries for t in e.terms
    }
    assert not shadows & listed
    assert {"苯甲酸", "甲酸钠", "聚乙烯", "丙烯颜料", "硝酸铵钙", "盐酸二甲双胍"} <= shadows
    # 亚硫酸氢钠 and 硫酸氢钠 are in the 2015 catalog: the curated list once shadowed them by mistake
    assert not {"亚硫酸", "亚硫酸氢钠", "硫酸氢钠"} & shadows
