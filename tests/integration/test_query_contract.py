"""The search language is one contract: the same leads, the same searches, the same answers on the
embedded SQLite store, OpenSearch (cjk_bigram analysis) and the minimal Elasticsearch (no
analysis-common: the fallback analysis).

Expected lead sets and facet counts below are written by hand from the fixture, not computed by the
code under test; each row says why where it is not obvious. See `sweep.query` for the definition.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.store.searchengine import admin, open_search_store
from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Evidence, Finding, LeadEvent, ListingSummary, TriageStatus
from sweep.settings import Settings
from sweep.store.base import FACETS, LeadQuery, LeadStore

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

STORES = ["sqlite", "opensearch", "es_minimal"]
if os.environ.get("SWEEP_TEST_ELASTICSEARCH_URL"):
    STORES.append("es_full")


def lead(
    n: int,
    title: str,
    *,
    family: str = "chem.toxic",
    severity: str = "high",
    platform: str = "taobao",
    region: str | None = "河北",
    category: str | None = "chem",
    shop: tuple[str, str] | None = ("S4", "鑫达化工商行"),
    description: str | None = None,
    evidence: list[Evidence] | None = None,
) -> LeadEvent:
    finding = Finding(
        platform=platform,
        listing_id=f"L{n}",
        family=family,
        rule_id=f"{family}/contract",
        severity=severity,  # type: ignore[arg-type]
        evidence=evidence or [],
    )
    shop_id, shop_name = shop if shop else (None, None)
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=T0 + timedelta(minutes=n),
        finding=finding,
        listing=ListingSummary(
            title=title,
            description=description,
            category=category,
            region=region,
            shop_id=shop_id,
            shop_name=shop_name,
        ),
    )


HUADONG = ("S1", "华东化工旗舰店")
CAS = "氰化钠 CAS 143-33-9"
SUZHOU = ("S2", "苏州仪器商行")
LEADS = [
    lead(1, "出售氰化钠 99% 工业级", region="上海", shop=HUADONG),
    lead(
        2,
        "氰化物检测仪 便携式",
        family="chem.unlicensed",
        severity="medium",
        platform="jd",
        region="江苏",
        category="instrument",
        shop=SUZHOU,
    ),
    lead(3, "高纯度NaCN 氰化钠片剂", description="厂家直销 检测报告齐全", region="上海", shop=HUADONG),
    lead(4, "出售氰化鈉 現貨", region="广东", shop=("S3", "廣州金盛化工")),  # traditional characters
    lead(5, "ＮａＣＮ 高纯 现货", region="广东", shop=("S3", "广州金盛化工")),  # full-width Latin
    lead(6, "氰 * 化-钠 现货 低价"),  # separators between the characters
    lead(7, "氰化钾 现货 实验室"),
    lead(8, "高纯 氰化钠 500g", region="上海", shop=HUADONG),
    lead(9, "高纯氰化钠 散装", platform="jd", region="江苏", shop=SUZHOU),
    lead(10, "CAS 143-33-9 现货", evidence=[Evidence(field="title", text="143-33-9", start=4, end=12, matched=CAS)]),
    lead(
        11,
        "国家级 顶级枸杞 全网销量第一",
        family="ad.absolute_terms",
        severity="low",
        platform="pinduoduo",
        region="宁夏",
        category="food",
        shop=("S5", "宁夏枸杞专营店"),
    ),
    lead(
        12,
        "高仿名牌包 1:1复刻",
        family="ip.counterfeit",
        severity="medium",
        region="福建",
        category="bags",
        shop=("S6", "莆田鞋业"),
    ),
    lead(13, "工业盐 批发", family="chem.unlicensed", severity="medium"),  # triaged below, with a note
    lead(14, "出售砒霜 现货", region=None, category=None, shop=None),  # no shop, region or category
]


def _ids(*numbers: int) -> set[str]:
    return {f"L{n}" for n in numbers}


TEXT_CASES: list[tuple[str, set[str]]] = [
    # words: characters adjacent; 氰化物 (L2) and 氰化钾 (L7) are not 氰化钠; L6 hides it behind
    # separators, L4 writes it in traditional characters, L10 only gives the CAS number (evidence), L13
    # has it in the triage note
    ("氰化钠", _ids(1, 3, 4, 6, 8, 9, 10, 13)),
    ("氰化鈉", _ids(1, 3, 4, 6, 8, 9, 10, 13)),
    ("氰化", _ids(1, 2, 3, 4, 6, 7, 8, 9, 10, 13)),
    ("氰化物检测仪", _ids(2)),
    ("高纯", _ids(3, 5, 8, 9)),  # 高纯度 contains 高纯
    ("nacn", _ids(3, 5)),
    ("ＮａＣＮ", _ids(3, 5)),
    ("143-33-9", _ids(10)),
    ("1:1复刻", _ids(12)),
    ("全网销量第一", _ids(11)),
    ("电话核实", _ids(13)),  # the note
    ("华东化工", _ids(1, 3, 8)),  # shop names are searched
    ("% 氰化钾", _ids(7)),  # % has nothing searchable: ignored
    # phrases: in order, adjacent; a space between Chinese words does not matter
    ('"高纯 氰化钠"', _ids(8, 9)),
    ("高纯氰化钠", _ids(8, 9)),
    ('"现货 低价"', _ids(6)),
    ('"氰化钠 OR 氰化钾"', set()),  # OR inside quotes is text
    # exclusion
    ("氰化钠 -检测", _ids(1, 4, 6, 8, 9, 10, 13)),  # L3's description has 检测
    ("-检测", _ids(1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)),
    ("NaCN -高纯度", _ids(5)),
    ('现货 -"现货 低价"', _ids(4, 5, 7, 10, 14)),
    # OR
    ("氰化钾 OR 砒霜", _ids(7, 14)),
    ("氰化钠 OR 氰化钾 现货", _ids(4, 6, 7, 10)),  # (氰化钠 or 氰化钾) and 现货 (現貨 in L4)
    # field filters
    ("shop:华东化工", _ids(1, 3, 8)),
    ('shop:"华东 化工"', _ids(1, 3, 8)),
    ("shop:S4", _ids(6, 7, 10, 13)),  # shop id
    ("shop:广州金盛", _ids(4, 5)),  # L4's shop name is traditional
    ("现货 -shop:S4", _ids(4, 5, 14)),  # L14 has no shop: kept
    ("现货 -region:广东", _ids(6, 7, 10, 14)),  # L14 has no region: kept
    ("family:chem.unlicensed", _ids(2, 13)),
    ("-family:chem.toxic", _ids(2, 11, 12, 13)),
    ("family:ad.absolute_terms family:ip.counterfeit", _ids(11, 12)),  # one field: either value
    ("category:food", _ids(11)),
    ("platform:jd 氰化钠", _ids(9)),
    ("severity:medium", _ids(2, 12, 13)),
    ("status:confirmed", _ids(13)),
    ("-status:new", _ids(1, 13)),
    ("region：上海 高纯", _ids(3, 8)),  # full-width colon
]

OPTION_CASES: list[tuple[LeadQuery, set[str]]] = [
    (LeadQuery(categories=["chem"], regions=["上海"]), _ids(1, 3, 8)),
    (LeadQuery(shop="S1"), _ids(1, 3, 8)),
    (LeadQuery(shop="金盛"), _ids(4, 5)),
    (LeadQuery(text="现货", families=["chem.toxic"], regions=["广东", "河北"]), _ids(4, 5, 6, 7, 10)),
    (LeadQuery(text="family:chem.toxic", families=["chem.unlicensed"]), set()),  # both must hold
]

ALL_FACETS = {
    "family": {"chem.toxic": 10, "chem.unlicensed": 2, "ad.absolute_terms": 1, "ip.counterfeit": 1},
    "severity": {"high": 10, "medium": 3, "low": 1},
    "status": {"new": 12, "confirmed": 1, "dismissed": 1},
    "platform": {"taobao": 11, "jd": 2, "pinduoduo": 1},
    "region": {"河北": 4, "上海": 3, "江苏": 2, "广东": 2, "宁夏": 1, "福建": 1},
    "shop": {
        "鑫达化工商行": 4,
        "华东化工旗舰店": 3,
        "苏州仪器商行": 2,
        "廣州金盛化工": 1,
        "广州金盛化工": 1,
        "宁夏枸杞专营店": 1,
        "莆田鞋业": 1,
    },
    "category": {"chem": 10, "instrument": 1, "food": 1, "bags": 1},
}

FACET_CASES: list[tuple[LeadQuery, int, dict[str, dict[str, int]]]] = [
    (LeadQuery(), 14, ALL_FACETS),  # the landing page
    (
        LeadQuery(text="现货"),
        6,
        {
            "family": {"chem.toxic": 6},
            "severity": {"high": 6},
            "status": {"new": 6},
            "platform": {"taobao": 6},
            "region": {"河北": 3, "广东": 2},
            "shop": {"鑫达化工商行": 3, "廣州金盛化工": 1, "广州金盛化工": 1},
            "category": {"chem": 5},
        },
    ),
    (
        LeadQuery(text="氰化钠 -检测", regions=["上海"]),
        2,
        {
            "family": {"chem.toxic": 2},
            "severity": {"high": 2},
            "status": {"dismissed": 1, "new": 1},
            "platform": {"taobao": 2},
            "region": {"上海": 2},
            "shop": {"华东化工旗舰店": 2},
            "category": {"chem": 2},
        },
    ),
]


@pytest.fixture(scope="module", params=STORES)
def contract_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeadStore]:
    """One store per kind, loaded once with LEADS and two triage decisions."""
    name = request.param
    engine = None
    if name == "sqlite":
        store: LeadStore = SqliteLeadStore(Path(tmp_path_factory.mktemp("contract")) / "leads.sqlite")
    else:
        url = {
            "opensearch": lambda: request.getfixturevalue("opensearch_url"),
            "es_minimal": lambda: request.getfixturevalue("es_minimal_url"),
            "es_full": lambda: os.environ["SWEEP_TEST_ELASTICSEARCH_URL"],
        }[name]()
        prefix = f"{request.getfixturevalue('run_prefix')}-contract-{name.replace('_', '')}-{uuid.uuid4().hex[:6]}"
        engine = open_search_store(Settings(search_url=url), prefix=prefix, ensure=True, refresh="wait_for")
        store = engine
    try:
        assert store.apply_events(LEADS).created == len(LEADS)
        store.set_status(LEADS[12].lead_id, TriageStatus.confirmed, note="疑似氰化钠 已电话核实")
        store.set_status(LEADS[0].lead_id, TriageStatus.dismissed)
        if engine is not None:
            engine.refresh()
        yield store
    finally:
        if engine is not None:
            admin.delete_all(engine)
        store.close()


def _found(store: LeadStore, query: LeadQuery) -> set[str]:
    query.size = 50
    result = store.search(query)
    found = {lead.listing_id for lead in result.leads}
    assert result.total == len(found)
    return found


@pytest.mark.parametrize(("text", "expected"), TEXT_CASES, ids=[t for t, _ in TEXT_CASES])
def test_search_text(contract_store: LeadStore, text: str, expected: set[str]) -> None:
    assert _found(contract_store, LeadQuery(text=text)) == expected


@pytest.mark.parametrize(("query", "expected"), OPTION_CASES, ids=[str(i) for i in range(len(OPTION_CASES))])
def test_filter_options(contract_store: LeadStore, query: LeadQuery, expected: set[str]) -> None:
    assert _found(contract_store, query) == expected


@pytest.mark.parametrize(("query", "total", "facets"), FACET_CASES, ids=["landing", "现货", "氰化钠 -检测 上海"])
def test_facet_counts(
    contract_store: LeadStore, query: LeadQuery, total: int, facets: dict[str, dict[str, int]]
) -> None:
    result = contract_store.search(query)
    assert result.total == total
    assert set(result.facets) == set(FACETS)
    assert result.facets == facets


def test_facets_follow_triage(contract_store: LeadStore) -> None:
    """A status change moves a lead between status buckets on every store (and back)."""
    lead_id = LEADS[13].lead_id
    contract_store.set_status(lead_id, TriageStatus.referred)
    if hasattr(contract_store, "refresh"):
        contract_store.refresh()
    try:
        assert contract_store.search(LeadQuery()).facets["status"] == {
            "new": 11,
            "confirmed": 1,
            "dismissed": 1,
            "referred": 1,
        }
        assert _found(contract_store, LeadQuery(text="status:referred 砒霜")) == _ids(14)
    finally:
        contract_store.set_status(lead_id, TriageStatus.new)
        if hasattr(contract_store, "refresh"):
            contract_store.refresh()
    assert contract_store.search(LeadQuery()).facets["status"] == ALL_FACETS["status"]


def test_highlights_mark_the_searched_words(contract_store: LeadStore) -> None:
    result = contract_store.search(LeadQuery(text="氰化钠 OR 砒霜 -检测"))
    title = {lead.listing_id: lead.lead_id for lead in result.leads}
    assert "<em>氰化钠</em>" in "".join(result.highlights[title["L1"]]["title"])
    assert "<em>砒霜</em>" in "".join(result.highlights[title["L14"]]["title"])
