from __future__ import annotations

from pathlib import Path

import jsonschema
import orjson
import pytest

from sweep.contracts import listing_schema
from sweep.models import FAMILIES, Lead, Listing, Permit, Shop, lead_id_for
from tests.conftest import make_event

ROOT = Path(__file__).resolve().parents[2]


def _schema() -> dict:
    """The listing contract as the repository ships it (sweep/contracts/listing.schema.json)."""
    return listing_schema()


def test_listing_fields_match_the_shared_schema():
    schema = _schema()
    assert set(Listing.model_fields) == set(schema["properties"])
    assert set(schema["required"]) == {n for n, f in Listing.model_fields.items() if f.is_required()}
    shop_props = set(schema["properties"]["shop"]["properties"])
    assert set(Shop.model_fields) == shop_props


def test_a_dumped_listing_validates_against_the_schema():
    listing = Listing.model_validate(
        {
            "platform": "demo-mall",
            "listing_id": "X1",
            "title": "宁夏中宁枸杞 500g",
            "price": 39.9,
            "attributes": {"产地": "宁夏中宁"},
            "shop": {"name": "店", "permits": [{"type": "食品经营许可证", "number": "JY1"}]},
        }
    )
    jsonschema.validate(listing.model_dump(mode="json"), _schema())


def test_families_are_the_taxonomy_families():
    taxonomy = (ROOT / "docs" / "taxonomy.md").read_text(encoding="utf-8")
    listed = {line.split("`")[1] for line in taxonomy.splitlines() if line.startswith("| `")}
    assert listed == set(FAMILIES)


def test_lead_id_is_stable_and_distinguishes_family():
    assert lead_id_for("p", "1", "chem.toxic") == lead_id_for("p", "1", "chem.toxic")
    assert lead_id_for("p", "1", "chem.toxic") != lead_id_for("p", "1", "ad.absolute_terms")
    assert lead_id_for("p", "12", "x") != lead_id_for("p1", "2", "x")


def test_late_sightings_count_once_and_their_replays_not_at_all(t0, later):
    lead = Lead.from_event(make_event(at=t0))
    lead = lead.sighted(make_event(at=later(10)))
    late = lead.sighted(make_event(at=later(5), title="迟到的 氰化钠"))  # out of order, inside the range
    assert (late.times_seen, late.first_seen, late.last_seen) == (3, t0, later(10))
    assert late.listing.title == "出售高纯氰化钠 98%"  # facts come from the newest sighting only
    assert late.sighted(make_event(at=later(5))) is late
    assert late.sighted(make_event(at=later(10))) is late


def test_replays_older_than_the_window_are_not_counted_again(t0, later):
    from sweep.models import SIGHTING_WINDOW

    lead = Lead.from_event(make_event(at=t0))
    for h in range(1, SIGHTING_WINDOW + 5):
        lead = lead.sighted(make_event(at=later(h)))
    assert lead.times_seen == SIGHTING_WINDOW + 5 and len(lead.recent_sightings) == SIGHTING_WINDOW
    assert lead.sighted(make_event(at=later(2))) is lead  # fell out of the window: assumed a replay
    assert lead.sighted(make_event(at=later(-1))).times_seen == SIGHTING_WINDOW + 6  # earlier than first_seen


def test_leads_stored_before_the_window_existed_still_merge(t0, later):
    lead = Lead.from_event(make_event(at=t0)).model_copy(update={"recent_sightings": [], "last_seen": later(4)})
    assert lead.sighted(make_event(at=later(4))) is lead
    assert lead.sighted(make_event(at=later(2))) is lead
    assert lead.sighted(make_event(at=later(6))).times_seen == 2


def test_sighting_replay_changes_nothing_and_newer_sighting_counts(t0, later):
    lead = Lead.from_event(make_event(at=t0))
    assert lead.sighted(make_event(at=t0)) is lead
    newer = lead.sighted(make_event(at=later(5), title="新标题 氰化钠"))
    assert (newer.times_seen, newer.last_seen, newer.first_seen) == (2, later(5), t0)
    assert newer.listing.title == "新标题 氰化钠"
    older = newer.sighted(make_event(at=later(-3)))
    assert (older.times_seen, older.first_seen, older.last_seen) == (3, later(-3), later(5))
    assert older.listing.title == "新标题 氰化钠"  # an older sighting does not bring back old facts


def test_sighting_never_touches_triage(t0, later):
    from sweep.models import TriageStatus

    lead = Lead.from_event(make_event(at=t0)).model_copy(update={"status": TriageStatus.confirmed, "note": "已立案"})
    updated = lead.sighted(make_event(at=later(1)))
    assert updated.status == TriageStatus.confirmed and updated.note == "已立案"


def test_a_listing_within_limits_is_untouched() -> None:
    doc = {
        "platform": "demo-mall",
        "listing_id": "X1",
        "title": "宁夏中宁枸杞 500g",
        "description": "详" * 20_000,
        "attributes": {"产": "地" * 512},
        "images": ["/img/a.svg"] * 32,
    }
    listing = Listing.model_validate(doc)
    assert listing.truncated == []
    assert listing.description == "详" * 20_000 and listing.attributes == {"产": "地" * 512}


def test_oversized_fields_are_cut_with_a_marker_and_named() -> None:
    shop = Shop(shop_id="S1", name="店" * 300, permits=[Permit(type="食品经营许可证", number="JY1")] * 40)
    listing = Listing(
        platform="demo-mall",
        listing_id="X1",
        title="标" * 600,
        description="长" * 5_000_000,
        attributes={f"k{i}": "v" for i in range(70)} | {"规格": "大" * 600},
        images=[f"/img/{i}.svg" for i in range(40)],
        shop=shop,
    )
    assert listing.title == "标" * 507 + "…[截断]" and len(listing.title) == 512
    assert listing.description == "长" * 19_995 + "…[截断]"
    assert len(listing.attributes) == 64 and "规格" not in listing.attributes  # the 71st entry is dropped
    assert len(listing.images) == 32 and listing.images[-1] == "/img/31.svg"
    assert listing.shop is not None and listing.shop.name == "店" * 251 + "…[截断]" and len(listing.shop.permits) == 32
    assert listing.truncated == ["title", "description", "attributes", "images", "shop.name", "shop.permits"]
    assert shop.name == "店" * 300  # the caller's Shop is not changed in place


def test_an_oversized_attribute_value_is_named_by_its_key() -> None:
    listing = Listing(platform="p", listing_id="1", title="t", attributes={"规格": "大" * 600, "产地": "宁夏"})
    assert listing.attributes == {"规格": "大" * 507 + "…[截断]", "产地": "宁夏"}
    assert listing.truncated == ["attributes.规格"]


def test_truncation_survives_a_round_trip_and_is_not_repeated() -> None:
    listing = Listing(platform="p", listing_id="1", title="t", description="长" * 30_000)
    again = Listing.model_validate_json(listing.model_dump_json())
    assert again.truncated == ["description"] and again.description == listing.description


@pytest.mark.parametrize("char", ["长", "😀", "\x01"])
def test_the_largest_listing_fits_a_kafka_message(char: str) -> None:
    """Every field at its limit, in 3-byte, 4-byte and escaped (6-byte JSON) characters: still under
    the broker's default 1 MB message limit."""
    big = char * 100_000
    listing = Listing(
        platform=big,
        listing_id=big,
        url=big,
        title=big,
        description=big,
        category=big,
        currency=big,
        unit=big,
        crawled_at=big,
        attributes={f"{i:02d}{big}": big for i in range(100)},
        images=[big] * 100,
        shop=Shop(
            shop_id=big,
            name=big,
            url=big,
            licence_no=big,
            licence_company=big,
            region=big,
            permits=[Permit(type=big, number=big)] * 100,
        ),
        truncated=[big] * 100,
    )
    assert len(orjson.dumps(listing.model_dump(mode="json"))) < 1_000_000
