"""The workspace's workflow on the embedded stores: decisions with optimistic concurrency, dismissal
memory (scopes, counting, expiry), bulk actions over a whole search, cases, and exports."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sweep.casework import VersionConflict
from sweep.people import Actor, Role
from tests.unit.test_workspace_support import Env, event, make_env
from workspace.service import Invalid, QueueParams


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


OFFICER = Actor("officer", Role.officer, ("540100",))
SUPERVISOR = Actor("supervisor", Role.supervisor, ("540000",))


def ws(env: Env):
    return env.app.state.workspace


def test_status_change_is_recorded_with_before_after_and_from_where(env: Env) -> None:
    client, csrf = env.client("officer")
    lead_id = env.ids["L1"]
    response = client.post(f"/leads/{lead_id}/status", data={"csrf_token": csrf, "version": "0", "status": "triaged"})
    assert response.status_code == 200
    assert env.store.get(lead_id).status.value == "triaged"
    record = env.people.audit_search(resource_id=lead_id, limit=1)[0]
    assert record.event.action == "lead.update"
    assert record.event.actor == "officer"
    assert record.event.before == '{"status": "new"}'
    assert record.event.after == '{"status": "triaged"}'
    assert record.event.source == "testclient"
    assert "lead.update" in response.text  # the history on the lead page


def test_the_second_of_two_officers_is_told_and_loses_nothing_silently(env: Env) -> None:
    first, csrf1 = env.client("officer")
    second, csrf2 = env.client("supervisor")
    lead_id = env.ids["L1"]
    ok = first.post(f"/leads/{lead_id}/assign", data={"csrf_token": csrf1, "version": "0", "assignee": "officer"})
    assert ok.status_code == 200
    lost = second.post(f"/leads/{lead_id}/status", data={"csrf_token": csrf2, "version": "0", "status": "dismissed"})
    assert lost.status_code == 409
    assert "officer 已于" in lost.text
    assert "您的修改没有保存" in lost.text
    lead = env.store.get(lead_id)
    assert (lead.status.value, lead.assignee) == ("new", "officer")
    api = second.post(
        f"/api/v1/leads/{lead_id}/status", json={"status": "triaged", "version": 0}, headers={"X-CSRF-Token": csrf2}
    )
    assert api.status_code == 409


def test_workflow_refuses_steps_it_does_not_have(env: Env) -> None:
    w = ws(env)
    lead_id = env.ids["L1"]
    w.change(OFFICER, lead_id, version=0, source="t", status="dismissed")
    with pytest.raises(Invalid):
        w.change(OFFICER, lead_id, version=1, source="t", status="confirmed")
    w.change(OFFICER, lead_id, version=1, source="t", status="triaged")
    assert env.store.get(lead_id).status.value == "triaged"


def test_shop_scope_dismissal_keeps_the_shops_new_listings_out_of_the_queue(env: Env) -> None:
    client, csrf = env.client("officer")
    l1, l2 = env.ids["L1"], env.ids["L2"]
    response = client.post(
        f"/leads/{l1}/dismiss",
        data={"csrf_token": csrf, "version": "0", "reason": "lawful_seller", "scope": "shop", "note": "持证经营"},
    )
    assert response.status_code == 200
    assert env.store.get(l1).status.value == "dismissed"
    assert env.store.get(l2).status.value == "dismissed"  # the shop's other open lead goes with it
    # detection raises a new listing of the same shop, and re-sights the dismissed one
    env.add(event("L9", "氰化钠 新品上架", shop_id="S1", when=datetime(2026, 11, 25, tzinfo=UTC)))
    env.add(event("L1", "工业级氰化钠 98% 现货", shop_id="S1", when=datetime(2026, 11, 26, tzinfo=UTC)))
    queue = client.get("/leads", params={"status": "new"}).text
    assert "新品上架" not in queue
    assert "工业级氰化钠" not in queue
    assert env.store.get(env.ids["L9"]).status.value == "dismissed"
    assert env.store.get(l1).times_seen == 2  # the re-sighting counted, the decision kept
    memory = env.people.dismissals()[0]
    assert (memory.scope.value, memory.shop_id, memory.suppressed) == ("shop", "S1", 2)  # L2 and L9
    suppressed = env.people.audit_search(action="lead.suppressed", limit=10)
    assert sorted(r.event.resource_id for r in suppressed) == sorted([l2, env.ids["L9"]])
    assert "排除记忆" in client.get("/dismissals").text
    # another shop is untouched
    assert env.store.get(env.ids["L3"]).status.value == "new"


def test_rule_on_shop_scope_leaves_other_rules_of_the_shop_alone(env: Env) -> None:
    w = ws(env)
    w.dismiss(OFFICER, env.ids["L3"], version=0, source="t", reason="false_positive", scope="shop_rule")
    env.add(
        event("L31", "氰化钾 新货", shop_id="S2", shop_name="城关试剂商行"),
        event(
            "L32",
            "最好的氰化钾",
            shop_id="S2",
            shop_name="城关试剂商行",
            family="ad.absolute_terms",
            rule_id="ad.absolute",
            severity="low",
        ),
    )
    w.maintain()
    assert env.store.get(env.ids["L31"]).status.value == "dismissed"
    assert env.store.get(env.ids["L32"]).status.value == "new"


def test_dismissal_memory_expires(env: Env) -> None:
    w = ws(env)
    past = datetime.now(UTC) - timedelta(days=1)
    w.dismiss(OFFICER, env.ids["L3"], version=0, source="t", reason="duplicate", scope="shop", until=past)
    env.add(event("L33", "氰化钾 到期后", shop_id="S2", shop_name="城关试剂商行"))
    w.maintain()
    assert env.store.get(env.ids["L33"]).status.value == "new"
    assert env.people.dismissals(active_at=datetime.now(UTC)) == []


def test_bulk_assign_everything_a_search_returns_with_the_count_first(env: Env) -> None:
    for i in range(30):
        env.add(event(f"B{i}", f"氰化钠 批量 {i}", shop_id=f"SB{i}", shop_name=f"批量店{i}"))
    client, csrf = env.client("supervisor")
    form = {"csrf_token": csrf, "target": "search", "query": "q=批量", "action": "assign", "assignee": "officer"}
    preview = client.post("/bulk/preview", data=form)
    assert 'id="bulk-count">30<' in preview.text
    api_count = client.get("/api/v1/bulk/count", params={"q": "批量"}).json()
    assert api_count == {"count": 30}
    job = client.post(
        "/api/v1/bulk",
        json={"action": "assign", "assignee": "officer", "query": "q=批量", "wait": True},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert (job["state"], job["total"], job["done"]) == ("done", 30, 30)
    assigned = [env.store.get(env.ids[f"B{i}"]).assignee for i in range(30)]
    assert assigned == ["officer"] * 30
    assert env.people.audit_count(action="lead.bulk_assign") == 30
    mine = client.get("/leads?mine=1").text  # the supervisor has none; the officer has 30
    assert "我的线索 0 条" in mine
    officer, _ = env.client("officer")
    assert "我的线索 30 条" in officer.get("/leads?mine=1").text


def test_bulk_page_flow_shows_progress(env: Env) -> None:
    client, csrf = env.client("supervisor")
    ids = [env.ids["L1"], env.ids["L3"]]
    form = {"csrf_token": csrf, "target": "selection", "lead_ids": ids, "action": "status", "status": "triaged"}
    preview = client.post("/bulk/preview", data=form)
    assert 'id="bulk-count">2<' in preview.text
    page = client.post("/bulk/run", data=form)
    assert page.status_code == 200
    assert "/ 2 条" in page.text
    job_id = page.url.path.rsplit("/", 1)[1]
    for _ in range(200):
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] != "running":
            break
        import time

        time.sleep(0.05)
    assert job["state"] == "done"
    assert [env.store.get(i).status.value for i in ids] == ["triaged", "triaged"]


def test_case_from_two_leads_numbered_owned_and_exported(env: Env) -> None:
    client, csrf = env.client("officer")
    page = client.post("/cases", data={"csrf_token": csrf, "lead_ids": [env.ids["L1"], env.ids["L2"]]})
    assert page.status_code == 200
    case = env.people.list_cases()[0]
    assert case.number == f"{datetime.now(UTC).year}-00001"
    assert case.owner == "officer"
    assert case.region == "540102"
    assert sorted(case.lead_ids) == sorted([env.ids["L1"], env.ids["L2"]])
    assert "拉萨化工旗舰店" in case.title
    xlsx = client.get(f"/cases/{case.id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("线索编号", "平台", "商品编号", "商品标题")
    assert sorted(r[0] for r in rows[1:]) == sorted([env.ids["L1"], env.ids["L2"]])
    assert env.people.audit_search(action="export", limit=1)[0].event.detail.endswith("xlsx")
    # the procedure: 立案 → 调查 → 处罚决定/不予处罚 → 结案, nothing skipped
    bad = client.post(f"/cases/{case.id}/update", data={"csrf_token": csrf, "version": "1", "status": "closed"})
    assert bad.status_code == 400
    good = client.post(f"/cases/{case.id}/update", data={"csrf_token": csrf, "version": "1", "status": "investigating"})
    assert "调查" in good.text
    stale = client.post(f"/cases/{case.id}/update", data={"csrf_token": csrf, "version": "1", "status": "penalty"})
    assert stale.status_code == 409


def test_cases_merge_and_split(env: Env) -> None:
    w = ws(env)
    a = w.create_case(OFFICER, [env.ids["L1"], env.ids["L2"]], source="t")
    b = w.create_case(OFFICER, [env.ids["L3"]], source="t")
    merged = w.merge_cases(OFFICER, a.id, b.id, source="t")
    assert sorted(merged.lead_ids) == sorted([env.ids["L1"], env.ids["L2"], env.ids["L3"]])
    assert env.people.get_case(b.id).merged_into == a.id
    split = w.split_case(OFFICER, a.id, [env.ids["L3"]], source="t")
    assert split.lead_ids == [env.ids["L3"]]
    assert env.ids["L3"] not in env.people.get_case(a.id).lead_ids


def test_officer_cannot_open_a_case_of_another_jurisdiction(env: Env) -> None:
    qh = Actor("qh_officer", Role.officer, ("630000",))
    case = ws(env).create_case(qh, [env.ids["Q1"]], source="t")
    client, _ = env.client("officer")
    assert client.get(f"/cases/{case.id}").status_code == 404
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 404
    assert case.number not in client.get("/cases").text


def test_search_export_has_chinese_headers_and_no_formulas(env: Env) -> None:
    env.add(event("F1", '=HYPERLINK("http://evil") 氰化钠', shop_id="S1"))
    client, _ = env.client("officer")
    csv_text = client.get("/export/leads.csv", params={"q": "氰化钠"}).content.decode("utf-8-sig")
    header, *rows = csv_text.strip().splitlines()
    assert header.startswith("线索编号,平台,商品编号,商品标题,店铺")
    assert len(rows) == 4  # L1, L2, X1, F1 — not Q1 of Qinghai
    assert any("'=HYPERLINK" in row for row in rows)
    assert not any(",=HYPERLINK" in row or '"=HYPERLINK' in row for row in rows)
    xlsx = client.get("/export/leads.xlsx", params={"q": "氰化钠"})
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 5


def test_search_within_jurisdiction_and_facets(env: Env) -> None:
    w = ws(env)
    result = w.search(OFFICER, QueueParams(text="氰化钠"))
    assert sorted(lead.listing_id for lead in result.leads) == ["L1", "L2", "X1"]
    assert result.facets["family"] == {"chem.toxic": 3}
    narrowed = w.search(OFFICER, QueueParams(text="氰化钠", platforms=["demo"], regions=["西藏自治区拉萨市城关区"]))
    assert narrowed.total == 3
    assert w.search(SUPERVISOR, QueueParams(text="西宁")).total == 0


def test_version_conflict_is_raised_before_anything_is_written(env: Env) -> None:
    w = ws(env)
    lead_id = env.ids["L1"]
    w.change(OFFICER, lead_id, version=0, source="t", assignee="officer")
    before = env.people.audit_count()
    with pytest.raises(VersionConflict):
        w.change(SUPERVISOR, lead_id, version=0, source="t", status="confirmed")
    assert env.people.audit_count() == before
    assert env.store.get(lead_id).status.value == "new"


def test_complaints_about_the_seller_raise_the_priority(tmp_path: Path) -> None:
    from adapters import open_complaint_store, open_seller_directory
    from app.web import create_app
    from complaints.matching import complaint_keys
    from sweep.models import Complaint, PersonalData
    from sweep.store.complaints import ComplaintRecord, Seller

    env = make_env(tmp_path)
    lead = env.store.get(env.ids["L1"])
    alone = ws(env).score(lead)
    complaint = Complaint(
        complaint_id="C1",
        received_at=datetime(2026, 11, 21, tzinfo=UTC),
        platform="demo",
        shop_name="拉萨化工旗舰店",
        text="买到无标签的氰化钠",
    )
    complaints = open_complaint_store(env.settings)
    complaints.upsert([ComplaintRecord(complaint, PersonalData(complaint_id="C1"), complaint_keys(complaint))])
    open_seller_directory(env.settings).observe([Seller("demo", "S1", name="拉萨化工旗舰店")])
    app = create_app(env.settings, store=env.store, people=env.people)
    assert app.state.workspace.score(lead) == pytest.approx(alone * 2, abs=0.011)  # × (1 + 1 complaint)
    other = env.store.get(env.ids["L3"])  # another shop: no complaint
    assert app.state.workspace.score(other) == ws(env).score(other)
