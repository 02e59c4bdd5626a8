"""The operators' pages (/ops): targets, schedules, jobs, alerts and complaint-suggested targets, through
the workspace application with its real stores (SQLite), permission table, CSRF and audit log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sweep.store.operations import Alert, JobState, JobStats, Trigger
from tests.unit.test_workspace_support import PASSWORD, Env, csrf_of, make_env
from workspace.auth import add_user


@pytest.fixture
def env(tmp_path: Path) -> Env:
    e = make_env(tmp_path)
    add_user(e.people, "operator", PASSWORD, "operator", "000000")
    return e


def login(env: Env, username: str) -> tuple[TestClient, str]:
    """Like `Env.client`, landing on /ops/jobs (an operator may not open the lead queue)."""
    if username != "operator":
        return env.client(username)
    client = TestClient(env.app, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/ops/jobs"}
    )
    assert r.status_code == 200, r.text[:300]
    return client, csrf_of(r.text)


def ops(env: Env):  # type: ignore[no-untyped-def]
    return env.app.state.operations.store


def test_operator_adds_target_schedule_and_runs_it(env: Env) -> None:
    client, token = login(env, "operator")
    page = client.get("/leads")  # where a login lands: an operator is sent to the crawl jobs
    assert page.url.path == "/ops/jobs" and 'href="/ops/jobs"' in page.text
    r = client.post(
        "/ops/targets",
        data={
            "csrf_token": token,
            "name": "chem-daily",
            "base_url": "http://127.0.0.1:8000/",
            "spider": "demo_mall",
            "categories": "chemicals, food",
            "keywords": "氰化钠\n硝酸铵",
        },
    )
    assert r.status_code == 200 and "chem-daily" in r.text
    target = ops(env).get_target("chem-daily")
    assert target.base_url == "http://127.0.0.1:8000"
    assert target.categories == ["chemicals", "food"]
    assert target.keywords == ["氰化钠", "硝酸铵"]

    r = client.post("/ops/schedules", data={"csrf_token": token, "target_id": str(target.id), "cron": "0 8 * * *"})
    assert r.status_code == 200 and "0 8 * * *" in r.text
    (schedule,) = ops(env).list_schedules()
    assert (schedule.target_id, schedule.timezone, schedule.paused) == (target.id, "Asia/Shanghai", False)

    client.post(f"/ops/schedules/{schedule.id}/pause", data={"csrf_token": token})
    assert ops(env).get_schedule(schedule.id).paused is True
    client.post(f"/ops/schedules/{schedule.id}/resume", data={"csrf_token": token})
    assert ops(env).get_schedule(schedule.id).paused is False

    r = client.post(f"/ops/schedules/{schedule.id}/run", data={"csrf_token": token})
    assert r.status_code == 200
    (job,) = ops(env).list_jobs()
    assert (job.target_name, job.trigger, job.state, job.requested_by) == (
        "chem-daily",
        Trigger.PERSON,
        JobState.QUEUED,
        "operator",
    )
    assert job.id in r.text and "排队中" in r.text
    # two categories + two keyword searches were put on the frontier
    assert ops(env).frontier_count(job.id) == 4

    listing = client.get("/ops/jobs")
    assert job.id in listing.text and "chem-daily" in listing.text

    actions = [r.event.action for r in env.people.audit_search(actor="operator")]
    for expected in (
        "ops.target.add",
        "ops.schedule.add",
        "ops.schedule.pause",
        "ops.schedule.resume",
        "ops.job.start",
    ):
        assert expected in actions


def test_remove_target_and_bad_input(env: Env) -> None:
    client, token = login(env, "operator")
    client.post("/ops/targets", data={"csrf_token": token, "name": "t1", "base_url": "http://example.test"})
    target = ops(env).get_target("t1")
    assert (
        client.post("/ops/targets", data={"csrf_token": token, "name": "t1", "base_url": "http://x.test"}).status_code
        == 400
    )
    assert (
        client.post("/ops/targets", data={"csrf_token": token, "name": "t2", "base_url": "ftp://x"}).status_code == 400
    )
    assert (
        client.post(
            "/ops/targets", data={"csrf_token": token, "name": "t3", "base_url": "http://x.test", "spider": "nope"}
        ).status_code
        == 400
    )
    bad_cron = client.post(
        "/ops/schedules", data={"csrf_token": token, "target_id": str(target.id), "cron": "every day"}
    )
    assert bad_cron.status_code == 400
    client.post(f"/ops/targets/{target.id}/remove", data={"csrf_token": token})
    assert ops(env).get_target("t1") is None
    assert ops(env).list_targets() == []


def test_changes_need_the_csrf_token(env: Env) -> None:
    client, _token = login(env, "operator")
    r = client.post("/ops/targets", data={"csrf_token": "wrong", "name": "t1", "base_url": "http://example.test"})
    assert r.status_code == 403
    assert ops(env).list_targets() == []


@pytest.mark.parametrize("user", ["officer", "supervisor", "analyst", "auditor"])
def test_other_roles_cannot_see_the_pages(env: Env, user: str) -> None:
    client, token = env.client(user)
    assert 'href="/ops/jobs"' not in client.get("/leads").text
    for path in ("/ops/jobs", "/ops/targets", "/ops/schedules", "/ops/suggestions"):
        assert client.get(path).status_code == 403, path
    r = client.post("/ops/targets", data={"csrf_token": token, "name": "t1", "base_url": "http://example.test"})
    assert r.status_code == 403
    assert ops(env).list_targets() == []


def test_admin_reads_but_does_not_change(env: Env) -> None:
    client, token = env.client("admin")
    assert client.get("/ops/jobs").status_code == 200
    r = client.post("/ops/targets", data={"csrf_token": token, "name": "t1", "base_url": "http://example.test"})
    assert r.status_code == 403


def test_job_page_shows_errors_and_alerts_escaped(env: Env) -> None:
    from operations.jobs import launch
    from sweep.store.operations import Target

    store = ops(env)
    target = store.add_target(Target(name="mall", spider="demo_mall", base_url="http://127.0.0.1:9"))
    bus = env.app.state.operations.open_bus()
    try:
        job = launch(store, bus, env.settings.topics.crawl_requests, target, trigger=Trigger.SCHEDULE)
    finally:
        bus.close()
    assert store.frontier_count(job.id) == 1  # the home page: the target names nothing narrower
    store.set_job_state(job.id, JobState.RUNNING)
    store.append_log(job.id, [("ERROR", "fetch failed <script>alert(1)</script>")])
    store.set_job_state(job.id, JobState.FAILED, message="job failed: errors: http_404=3")
    store.add_alert(Alert("failed", job.id, "mall", "job failed: 1 page(s), errors: http_404=3"))
    with_errors = JobStats(errors={"http_404": 3, "timeout": 1})
    store.complete(job.id, [], with_errors)

    client, _ = login(env, "operator")
    listing = client.get("/ops/jobs")
    assert "任务失败" in listing.text and "失败" in listing.text
    page = client.get(f"/ops/jobs/{job.id}")
    assert page.status_code == 200
    assert "http_404" in page.text and "timeout" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert client.get("/ops/jobs/no-such-job").status_code == 404


def test_lead_and_case_pages_show_takedown_checks(env: Env) -> None:
    from datetime import UTC, datetime

    from sweep.store.operations import TakedownCheck, TakedownOutcome

    lead_id = env.ids["L1"]
    client, token = env.client("officer")
    assert 'id="takedown"' not in client.get(f"/leads/{lead_id}").text  # nothing checked yet
    ops(env).add_takedown_checks(
        [
            TakedownCheck(
                lead_id=lead_id,
                platform="demo",
                listing_id="L1",
                url="http://mall.test/item/L1.html",
                outcome=TakedownOutcome.RELISTED,
                checked_at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
                job_id="20261201-020000-abcdef",
                http_status=404,
                relisted_id="L1-NEW<b>",
                relisted_url="javascript:alert(1)",
                similarity=97.5,
                detail="HTTP 404",
            )
        ]
    )
    page = client.get(f"/leads/{lead_id}").text
    assert 'id="takedown"' in page and "换链接重新上架" in page and "2026-12-01 10:00" in page
    assert "L1-NEW&lt;b&gt;" in page and "javascript:alert" not in page  # escaped, and no unsafe link
    assert "相似度 98" in page
    assert 'href="/ops/jobs/' not in page  # an officer sees the job id, not a link to the operators' pages

    r = client.post("/cases", data={"csrf_token": token, "lead_ids": [lead_id], "title": "复查测试"})
    assert r.status_code == 200
    case_page = r.text
    assert 'id="takedown"' in case_page and "换链接重新上架" in case_page


def test_operator_runs_due_takedown_rechecks_from_the_page(tmp_path: Path) -> None:
    from demomall.generator import absolutize, generate
    from demomall.server import serve_in_thread
    from sweep.models import TriageStatus
    from tests.unit.test_operations_takedown import lead_event

    env = make_env(tmp_path, ops_takedown_recheck_after_hours=0)
    add_user(env.people, "operator", PASSWORD, "operator", "000000")
    mall = generate(300, 7)
    with serve_in_thread(mall) as server:
        item = next(it for it in mall.items if it.families and not it.client_rendered)
        event = lead_event(absolutize(item.listing, server.base_url), sorted(item.families)[0])
        env.add(event)
        env.store.set_status(event.lead_id, TriageStatus.confirmed)
        server.replace(mall.evolve(remove=[item.listing.listing_id], removal="404", seed=3))

        client, token = login(env, "operator")
        page = client.get("/ops/takedown")
        assert page.status_code == 200
        assert "到期待复查：<strong>1</strong>" in page.text
        assert item.listing.title not in page.text  # a count, not the records
        r = client.post("/ops/takedown/run", data={"csrf_token": token})
        assert r.status_code == 200 and "下架复查" in r.text
        assert "online=0, removed=1, relisted=0, unreachable=0" in r.text
        assert "到期待复查：<strong>0</strong>" in client.get("/ops/takedown").text
        assert client.post("/ops/takedown/run", data={"csrf_token": token}).status_code == 400
        assert "ops.takedown.recheck" in [x.event.action for x in env.people.audit_search(actor="operator")]

    officer, officer_token = env.client("officer")
    assert officer.get("/ops/takedown").status_code == 403
    assert officer.post("/ops/takedown/run", data={"csrf_token": officer_token}).status_code == 403
    admin, _ = env.client("admin")  # the mall's shops are outside the officer's Lhasa jurisdiction
    lead_page = admin.get(f"/leads/{event.lead_id}").text
    assert 'data-outcome="removed"' in lead_page and "已下架" in lead_page


def test_json_api_for_jobs_and_takedown_checks(env: Env) -> None:
    from datetime import UTC, datetime

    from sweep.store.operations import TakedownCheck, TakedownOutcome

    client, token = login(env, "operator")
    client.post("/ops/targets", data={"csrf_token": token, "name": "t1", "base_url": "http://example.test"})
    client.post(f"/ops/targets/{ops(env).get_target('t1').id}/run", data={"csrf_token": token})
    (job,) = client.get("/api/v1/ops/jobs").json()
    assert (job["target_name"], job["trigger"], job["state"], job["requested_by"]) == (
        "t1",
        "person",
        "queued",
        "operator",
    )
    one = client.get(f"/api/v1/ops/jobs/{job['id']}").json()
    assert one["pending_requests"] == 1 and "seed request" in one["log"][0]["message"]
    assert client.get("/api/v1/ops/jobs/nope").status_code == 404
    assert client.get("/api/v1/ops/alerts").json() == []
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/ops/jobs/{job_id}" in paths and "/api/v1/leads/{lead_id}/takedown" in paths

    lead_id = env.ids["L1"]
    ops(env).add_takedown_checks(
        [
            TakedownCheck(
                lead_id=lead_id,
                platform="demo",
                listing_id="L1",
                url="http://mall.test/item/L1.html",
                outcome=TakedownOutcome.REMOVED,
                checked_at=datetime(2026, 12, 1, tzinfo=UTC),
                http_status=404,
            )
        ]
    )
    officer, _ = env.client("officer")
    (check,) = officer.get(f"/api/v1/leads/{lead_id}/takedown").json()
    assert (check["outcome"], check["http_status"], check["listing_id"]) == ("removed", 404, "L1")
    assert officer.get("/api/v1/ops/jobs").status_code == 403
    qinghai, _ = env.client("qh_officer")
    assert qinghai.get(f"/api/v1/leads/{lead_id}/takedown").status_code == 404  # outside the jurisdiction
