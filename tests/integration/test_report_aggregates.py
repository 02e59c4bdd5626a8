"""`LeadStore.aggregate` is one contract: the same leads give the same report counts on the embedded
SQLite store, on OpenSearch, on the minimal Elasticsearch, and through the port's default (paging
through `search`). Expected values are written by hand from the fixture below.

Days are China Standard Time: 15:30 UTC on 30 November is 23:30 that day in Beijing, 16:30 UTC is
00:30 on 1 December — the two leads fall on different report days.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.store.searchengine import admin, open_search_store
from adapters.store.sqlite import SqliteLeadStore
from sweep.models import Finding, LeadEvent, ListingSummary, TriageStatus
from sweep.settings import Settings
from sweep.store.base import LeadAggregates, LeadQuery, LeadStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PERIOD_FROM = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # 2026-11-30 00:00 Beijing
PERIOD_TO = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 2026-12-02 00:00 Beijing
ZHEJIANG = ["浙江省杭州市西湖区", "浙江省杭州市", "浙江省宁波市"]


def event(n: int, at: datetime, family: str, region: str, shop: tuple[str, str]) -> LeadEvent:
    finding = Finding(platform="taobao", listing_id=f"A{n}", family=family, rule_id=f"{family}/r", severity="high")
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=at,
        finding=finding,
        listing=ListingSummary(title=f"商品{n}", region=region, shop_id=shop[0], shop_name=shop[1]),
    )


JIA = ("S1", "甲化工店")
YI = ("S2", "乙刀具")
EVENTS = [
    event(1, datetime(2026, 11, 30, 15, 30, tzinfo=UTC), "chem.toxic", "浙江省杭州市西湖区", JIA),
    event(2, datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "chem.toxic", "浙江省杭州市", JIA),
    event(3, datetime(2026, 12, 1, 14, 0, tzinfo=UTC), "weapons.knife", "浙江省宁波市", YI),
    event(4, datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "chem.toxic", "江苏省南京市", ("S3", "丙商行")),
    event(5, datetime(2026, 11, 20, 0, 0, tzinfo=UTC), "chem.toxic", "浙江省杭州市", YI),
]


@pytest.fixture(scope="module", params=["sqlite", "sqlite_default", "opensearch", "es_minimal"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeadStore]:
    name = request.param
    engine = None
    if name.startswith("sqlite"):
        store: LeadStore = SqliteLeadStore(Path(tmp_path_factory.mktemp("agg")) / "leads.sqlite")
    else:
        url = request.getfixturevalue(f"{name}_url")
        prefix = f"{request.getfixturevalue('run_prefix')}-agg-{name.replace('_', '')}-{uuid.uuid4().hex[:6]}"
        engine = open_search_store(Settings(search_url=url), prefix=prefix, ensure=True, refresh="wait_for")
        store = engine
    try:
        store.apply_events(EVENTS)
        store.set_status(EVENTS[2].lead_id, TriageStatus.confirmed)
        if engine is not None:
            engine.refresh()
        if name == "sqlite_default":
            store.aggregate = lambda *a, **kw: LeadStore.aggregate(store, *a, **kw)  # type: ignore[method-assign]
        yield store
    finally:
        if engine is not None:
            admin.delete_all(engine)
        store.close()


def test_period_counts_in_one_jurisdiction(store: LeadStore) -> None:
    got = store.aggregate(LeadQuery(regions=ZHEJIANG), first_from=PERIOD_FROM, first_to=PERIOD_TO, now=NOW)
    assert got == LeadAggregates(
        total=3,  # A1, A2, A3: A4 is in Jiangsu, A5 was first seen before the period
        per_day={"2026-11-30": {"chem.toxic": 1}, "2026-12-01": {"chem.toxic": 1, "weapons.knife": 1}},
        by_family={"chem.toxic": 2, "weapons.knife": 1},
        by_status={"new": 2, "confirmed": 1},
        by_region={"浙江省杭州市西湖区": 1, "浙江省杭州市": 1, "浙江省宁波市": 1},
        top_shops={"甲化工店": 2, "乙刀具": 1},
        # ages at NOW: A1 1d20.5h, A2 1d19.5h, A3 22h
        status_age={"new": {"1-3d": 2}, "confirmed": {"lt1d": 1}},
    )


def test_whole_queue_without_a_period(store: LeadStore) -> None:
    got = store.aggregate(LeadQuery(regions=ZHEJIANG), now=NOW, top=1)
    assert got.total == 4
    assert got.status_age == {"new": {"1-3d": 2, "7-30d": 1}, "confirmed": {"lt1d": 1}}  # A5: 15.5 days
    assert got.top_shops == {"乙刀具": 2}  # a tie with 甲化工店 (2 each), broken by name: 乙 < 甲
    assert got.per_day["2026-11-20"] == {"chem.toxic": 1}  # 2026-11-20 08:00 Beijing


def test_nationwide_sees_every_region(store: LeadStore) -> None:
    got = store.aggregate(LeadQuery(), first_from=PERIOD_FROM, first_to=PERIOD_TO, now=NOW)
    assert got.total == 4
    assert got.by_region["江苏省南京市"] == 1
