"""Region names as pages and feeds write them (浙江, 杭州, 浙江杭州) become GB/T 2260 full names where a
listing becomes a lead event (`sweep.publishing.Publisher`), so the queue's jurisdiction filter and the
provincial report count the same leads. Expected values written by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reports import figures as fig
from sweep import regions
from sweep.bus import envelope
from sweep.models import Evidence, Finding, LeadEvent, Listing, Shop
from sweep.publishing import KIND_LEAD_EVENT, Publisher
from tests.unit.test_workspace_support import PASSWORD, Env, add_user, make_env


@pytest.mark.parametrize(
    ("written", "normal", "code"),
    [
        ("浙江", "浙江省", "330000"),
        ("浙江省", "浙江省", "330000"),
        ("杭州", "浙江省杭州市", "330100"),
        ("杭州市", "浙江省杭州市", "330100"),
        ("浙江杭州", "浙江省杭州市", "330100"),
        ("浙江 杭州", "浙江省杭州市", "330100"),
        ("浙江省杭州市", "浙江省杭州市", "330100"),
        ("杭州西湖区", "浙江省杭州市西湖区", "330106"),
        ("浙江省杭州市西湖区文三路 90 号", "浙江省杭州市西湖区", "330106"),
        ("浦东新区", "上海市浦东新区", "310115"),
        ("拉萨", "西藏自治区拉萨市", "540100"),
        ("西藏自治区拉萨市城关区", "西藏自治区拉萨市城关区", "540102"),
        # a name several places share is no region rather than a guess
        ("朝阳", "朝阳", None),  # 辽宁省朝阳市, 北京市朝阳区, 长春市朝阳区
        ("西湖区", "西湖区", None),  # 杭州市西湖区, 南昌市西湖区
        ("市辖区", "市辖区", None),
        ("火星基地 ", "火星基地", None),
        ("  ", None, None),
        (None, None, None),
    ],
)
def test_region_names_are_normalised_to_their_division(
    written: str | None, normal: str | None, code: str | None
) -> None:
    assert regions.normalise(written) == normal
    assert regions.code_for(written) == code


T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
WRITTEN = {"Z1": "浙江", "Z2": "杭州", "Z3": "浙江杭州", "Z4": "浙江省杭州市西湖区", "Q1": "青海省西宁市"}


class CapturingBus:
    """Only what `Publisher` calls: the messages are kept to be read back."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []

    def publish(self, topic: str, key: str, value: bytes, headers: dict[str, str] | None = None) -> None:
        self.messages.append((topic, key, value))

    def flush(self) -> None:
        pass


def published_events() -> list[LeadEvent]:
    bus = CapturingBus()
    publisher = Publisher(bus)  # type: ignore[arg-type]
    for listing_id, region in WRITTEN.items():
        listing = Listing(
            platform="demo",
            listing_id=listing_id,
            title=f"出售氰化钠 {listing_id}",
            shop=Shop(shop_id=f"S-{listing_id}", name=f"化工店{listing_id}", region=region),
        )
        finding = Finding(
            platform="demo",
            listing_id=listing_id,
            family="chem.toxic",
            rule_id="chem.toxic.sale",
            severity="high",
            evidence=[Evidence(field="title", text="氰化钠", start=2, end=5)],
        )
        publisher.publish_findings(listing, [finding], T0)
    events = []
    for _topic, _key, value in bus.messages:
        _kind, payload = envelope.decode(value, KIND_LEAD_EVENT)
        events.append(LeadEvent.model_validate(payload))
    return events


def test_the_published_lead_event_carries_the_full_name() -> None:
    got = {e.finding.listing_id: e.listing.region for e in published_events()}
    assert got == {
        "Z1": "浙江省",
        "Z2": "浙江省杭州市",
        "Z3": "浙江省杭州市",
        "Z4": "浙江省杭州市西湖区",
        "Q1": "青海省西宁市",
    }


@pytest.fixture
def env(tmp_path: Path) -> Env:
    env = make_env(tmp_path)
    env.add(*published_events())
    add_user(env.people, "zj_officer", PASSWORD, "officer", "330000")
    add_user(env.people, "hz_officer", PASSWORD, "officer", "330100")
    return env


def queue_ids(env: Env, username: str) -> set[str]:
    client, _ = env.client(username)
    body = client.get("/api/v1/leads", params={"size": 200}).json()
    return {item["lead"]["listing_id"] for item in body["leads"]}


def test_the_queue_filter_and_the_provincial_report_count_the_same_leads(env: Env) -> None:
    assert queue_ids(env, "zj_officer") == {"Z1", "Z2", "Z3", "Z4"}
    assert queue_ids(env, "hz_officer") == {"Z2", "Z3", "Z4"}  # 浙江 alone names no city
    day = fig.Period(date(2026, 12, 1), date(2026, 12, 1))
    province = fig.compute("daily", day, fig.Scope.parse("330000"), leads=env.store)
    assert province.leads.total == 4
    assert province.leads.by_region == {"浙江省杭州市": 2, "浙江省": 1, "浙江省杭州市西湖区": 1}
    city = fig.compute("daily", day, fig.Scope.parse("330100"), leads=env.store)
    assert city.leads.total == 3


def test_complaints_store_regions_as_leads_do() -> None:
    """A 12315 row names its place as people type it, or as the bureau that handled it; the record keeps
    the full division name that leads carry, so one jurisdiction counts both."""
    from complaints.records import region_of

    assert region_of("浙江") == "浙江省"
    assert region_of("杭州市") == "浙江省杭州市"
    assert region_of("浙江杭州西湖区") == "浙江省杭州市西湖区"
    assert region_of("宁夏回族自治区银川市兴庆区市场监督管理局") == "宁夏回族自治区银川市兴庆区"
    assert region_of("某某地方") == "某某地方"
    assert region_of("") is None
