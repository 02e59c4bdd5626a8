"""The workspace's later case work on the embedded stores: "add to case" over everything a search
returns, the lead page's sightings history and same-company leads, case attachments, complaints linked
to cases, and the users page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sweep.people import Actor, Role
from tests.unit.test_workspace_support import QINGHAI, Env, event, make_env


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


SUPERVISOR = Actor("supervisor", Role.supervisor, ("540000",))


def ws(env: Env):
    return env.app.state.workspace


def wait_job(client, job_id: str) -> dict:
    for _ in range(400):
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running")


# -- bulk "add to case" -------------------------------------------------------------------------
def test_add_everything_a_search_returns_to_an_existing_case_with_the_count_first(env: Env) -> None:
    for i in range(12):
        env.add(event(f"C{i}", f"氰化钠 同案 {i}", shop_id="SC", shop_name="同案化工"))
    case = ws(env).create_case(SUPERVISOR, [env.ids["L1"]], source="t", title="同案化工 涉嫌违法经营")
    client, csrf = env.client("supervisor")
    queue = client.get("/leads?q=同案").text
    assert f'<option value="{case.id}">{case.number} 同案化工' in queue  # offered as a target
    form = {
        "csrf_token": csrf,
        "target": "search",
        "query": "q=同案",
        "action": "case",
        "case_id": str(case.id),
    }
    preview = client.post("/bulk/preview", data=form)
    assert 'id="bulk-count">12<' in preview.text
    assert f'加入案件 <span id="bulk-case-name">{case.number}「同案化工 涉嫌违法经营」' in preview.text
    page = client.post("/bulk/run", data=form)
    job = wait_job(client, page.url.path.rsplit("/", 1)[1])
    assert (job["state"], job["total"], job["done"]) == ("done", 12, 12)
    linked = env.people.get_case(case.id).lead_ids
    assert sorted(linked) == sorted([env.ids["L1"]] + [env.ids[f"C{i}"] for i in range(12)])
    assert env.people.audit_count(action="lead.bulk_case") == 12
    done = client.get(page.url.path).text
    assert f'id="job-case">{case.number}</a>' in done


def test_bulk_add_to_a_new_case_over_the_api_stays_in_the_jurisdiction(env: Env) -> None:
    client, csrf = env.client("supervisor")
    job = client.post(
        "/api/v1/bulk",
        json={"action": "case", "case_id": "new", "query": "q=氰化钠", "wait": True},
        headers={"X-CSRF-Token": csrf},
    ).json()
    assert job["state"] == "done"
    case_id = int(job["message"].split(":")[1])
    case = env.people.get_case(case_id)
    # L1, L2 and X1 in Lhasa; Q1 of Qinghai is outside the supervisor's 540000
    assert sorted(case.lead_ids) == sorted([env.ids["L1"], env.ids["L2"], env.ids["X1"]])
    assert case.region == "540000"
    assert env.ids["Q1"] not in case.lead_ids


def test_officers_may_not_add_a_whole_search_to_a_case_nor_reach_a_closed_case(env: Env) -> None:
    client, csrf = env.client("officer")
    refused = client.post(
        "/api/v1/bulk",
        json={"action": "case", "case_id": "new", "query": "q=氰化钠", "wait": True},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403
    sup, sup_csrf = env.client("supervisor")
    case = ws(env).create_case(SUPERVISOR, [env.ids["L1"]], source="t")
    for status in ("investigating", "no_penalty", "closed"):
        case = ws(env).update_case(SUPERVISOR, case.id, version=case.version, source="t", status=status)
    closed = sup.post(
        "/api/v1/bulk",
        json={"action": "case", "case_id": case.id, "query": "q=氰化钠", "wait": True},
        headers={"X-CSRF-Token": sup_csrf},
    )
    assert closed.status_code == 400
    assert "已结案" in closed.json()["detail"]


# -- the lead page: sightings, online, same company ---------------------------------------------
LHASA_USCC = "91540100MA6T000019"
OTHER_USCC = "91630100MA7Q000020"


def licensed(e, uscc: str):
    """The same event with the shop's licence number shown on the listing."""
    return e.model_copy(update={"listing": e.listing.model_copy(update={"shop_licence_no": uscc})})


def test_a_lead_page_lists_the_same_company_on_other_platforms_inside_the_jurisdiction(env: Env) -> None:
    from complaints.sellers import bootstrap_from_leads

    env.add(
        licensed(event("U1", "氰化钠 旗舰店", shop_id="S1"), LHASA_USCC),
        licensed(event("U2", "氰化钠 另一平台", shop_id="T1", shop_name="拉萨化工二店", platform="other"), LHASA_USCC),
        licensed(
            event("U3", "氰化钠 外省分店", shop_id="T2", shop_name="西宁分店", platform="other", region=QINGHAI),
            LHASA_USCC,
        ),
        licensed(event("U4", "氰化钾 无关企业", shop_id="T3", shop_name="别家", platform="other"), OTHER_USCC),
    )
    from adapters import open_seller_directory
    from app.web import create_app

    bootstrap_from_leads(env.store, open_seller_directory(env.settings))  # as `sweep complaints sync-sellers`
    env.app = create_app(env.settings, store=env.store, people=env.people)
    client, _ = env.client("officer")
    page = client.get(f"/leads/{env.ids['U1']}").text
    company = page.split('id="same-company"')[1].split("</ul>")[0]
    assert "氰化钠 另一平台" in company  # the same USCC on another platform
    assert "other · 拉萨化工二店" in company
    assert "外省分店" not in company  # Qinghai: outside the officer's 540100
    assert "无关企业" not in company  # another company
    assert "氰化钠 旗舰店" not in company  # itself
    supervisor_qh, _ = env.client("admin")
    assert "外省分店" in supervisor_qh.get(f"/leads/{env.ids['U1']}").text  # nationwide reading


def test_a_lead_without_recrawl_history_shows_its_one_version_and_an_unchecked_state(env: Env) -> None:
    client, _ = env.client("officer")
    page = client.get(f"/leads/{env.ids['L1']}").text
    sightings = page.split('id="lead-sightings"')[1].split("</table>")[0]
    assert "工业级氰化钠 98% 现货" in sightings
    assert "¥120.0" in sightings
    assert 'id="lead-online">未核查<' in page
    assert "同一企业在其他店铺、平台的线索" in page
    assert "未亮照" in page.split('id="same-company"')[0].rsplit("<h2>", 1)[1]


def test_the_history_marks_what_changed_and_the_state_says_when_it_went_offline(env: Env) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from workspace.service import online_state, sightings_history

    lead = env.store.get(env.ids["L1"])
    t1, t2, t3 = (datetime(2026, 11, d, 8, tzinfo=UTC) for d in (20, 22, 25))
    recorded = SimpleNamespace(
        listing=lead.listing,
        last_seen=t3,
        history=[
            {"at": t1.isoformat(), "title": "氰化钠 现货", "price": 120.0},
            {"at": t2.isoformat(), "title": "氰化钠 现货", "price": 98.5},
            {"at": t3.isoformat(), "title": "氰化钠 现货 包邮", "price": 98.5},
        ],
        listing_state="removed",
        removed_at=t3,
    )
    rows = sightings_history(recorded)
    assert [(r.at, r.price, r.price_changed, r.title_changed) for r in rows] == [
        (t1, 120.0, False, False),
        (t2, 98.5, True, False),
        (t3, 98.5, False, True),
    ]
    state = online_state(recorded)
    assert (state.state, state.label, state.since) == ("removed", "已下架", t3)
