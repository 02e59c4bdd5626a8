from __future__ import annotations

import json

import jsonschema

from sweep.models import FAMILIES, Lead, Listing, lead_id_for
from tests.conftest import SHARED, make_event


def _schema() -> dict:
    return json.loads((SHARED / "schemas" / "listing.schema.json").read_text())


def test_listing_fields_match_the_shared_schema():
    schema = _schema()
    assert set(Listing.model_fields) == set(schema["properties"])
    assert set(schema["required"]) == {n for n, f in Listing.model_fields.items() if f.is_required()}
    shop_props = set(schema["properties"]["shop"]["properties"])
    from sweep.models import Shop

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
    taxonomy = (SHARED / "taxonomy.md").read_text()
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
