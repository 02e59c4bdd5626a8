"""The workspace's later case work on the embedded stores: "add to case" over everything a search
returns, the lead page's sightings history and same-company leads, case attachments, complaints linked
to cases, and the users page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sweep.people import Actor, Role
from tests.unit.test_workspace_support import Env, event, make_env


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
