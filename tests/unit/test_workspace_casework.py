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


def test_a_lead_without_recrawl_history_shows_its_current_version(env: Env) -> None:
    from sweep.models import Lead

    client, _ = env.client("officer")
    page = client.get(f"/leads/{env.ids['L1']}").text
    versions = page.split('id="lead-versions"')[1].split("</table>")[0]
    assert "工业级氰化钠 98% 现货" in versions
    assert "¥120.0" in versions
    assert versions.count("<tr class=") == 1
    assert "尚无变化记录" in page
    # a lead store that records listing states says "online" until a crawl finds it gone
    expected = "在售" if "listing_state" in Lead.model_fields else "未核查"
    assert f'id="lead-online">{expected}<' in page
    assert "同一企业在其他店铺、平台的线索" in page
    assert "未亮照" in page.split('id="same-company"')[0].rsplit("<h2>", 1)[1]


def test_the_history_shows_price_and_title_changes_and_when_the_listing_went_offline(env: Env) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from workspace.service import listing_versions, online_state

    lead = env.store.get(env.ids["L1"])
    t1, t2, t3 = (datetime(2026, 11, d, 8, tzinfo=UTC) for d in (20, 22, 25))
    recorded = SimpleNamespace(
        listing=lead.listing,
        last_seen=t2,
        listing_history=[
            {"at": t1, "kind": "changed", "fields": ["price"], "price_before": 120.0, "price_after": 98.5},
            {
                "at": t2,
                "kind": "changed",
                "fields": ["title"],
                "title_before": "氰化钠 现货",
                "title_after": "工业级氰化钠 98% 现货",
            },
            {"at": t3, "kind": "removed", "reason": "delisted"},
        ],
        listing_state="removed",
        removed_at=t3,
        removed_reason="delisted",
    )
    rows = listing_versions(recorded)
    assert [(r.kind, r.at) for r in rows] == [("current", t2), ("removed", t3), ("changed", t2), ("changed", t1)]
    assert (rows[1].label, rows[1].reason) == ("下架", "已下架页面")
    assert (rows[2].title_changed, rows[2].price_changed, rows[2].fields) == (True, False, ("标题",))
    assert (rows[3].price_before, rows[3].price_after, rows[3].price_changed) == (120.0, 98.5, True)
    state = online_state(recorded)
    assert (state.state, state.label, state.since, state.reason) == ("removed", "已下架", t3, "已下架页面")
    assert online_state(SimpleNamespace()).label == "未核查"
    assert online_state(SimpleNamespace(listing_state="changed", listing_changed_at=t1)).since == t1


# -- case attachments ---------------------------------------------------------------------------
HOSTILE_HTML = b'<html><body><script>alert("a")</script><img src=x onerror=alert(1)></body></html>'


def a_case(env: Env):
    return ws(env).create_case(SUPERVISOR, [env.ids["L1"]], source="t", title="附件测试案")


def test_an_attachment_is_stored_by_its_digest_sniffed_audited_and_downloaded_as_a_file(env: Env) -> None:
    import hashlib

    case = a_case(env)
    client, csrf = env.client("officer")
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    response = client.post(
        f"/cases/{case.id}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("../../询问笔录.html", pdf, "text/html")},  # the browser's word is not taken
    )
    assert response.status_code == 200
    digest = hashlib.sha256(pdf).hexdigest()
    stored = env.settings.attachments_path / digest[:2] / digest
    assert stored.read_bytes() == pdf
    [attachment] = env.people.attachments(case.id)
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "询问笔录.html",
        "application/pdf",
        len(pdf),
    )
    assert "询问笔录.html" in response.text and digest[:12] in response.text
    record = env.people.audit_search(action="case.attach", limit=1)[0]
    assert (record.event.actor, record.event.resource_id) == ("officer", str(case.id))
    assert digest in record.event.after
    download = client.get(f"/cases/{case.id}/attachments/{attachment.id}")
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E8%AF%A2%E9%97%AE%E7%AC%94%E5%BD%95.html" in download.headers["content-disposition"]
    assert download.headers["x-content-type-options"] == "nosniff"
    assert env.people.audit_count(action="case.attachment_download") == 1


def test_the_same_bytes_twice_are_one_file_and_html_is_served_as_text(env: Env) -> None:
    case = a_case(env)
    client, csrf = env.client("supervisor")
    for name in ("a.html", "b.htm"):
        client.post(f"/cases/{case.id}/attachments", data={"csrf_token": csrf}, files={"file": (name, HOSTILE_HTML)})
    files = [p for p in env.settings.attachments_path.rglob("*") if p.is_file()]
    assert len(files) == 1
    first = env.people.attachments(case.id)[0]
    download = client.get(f"/cases/{case.id}/attachments/{first.id}")
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-disposition"].startswith("attachment;")
    page = client.get(f"/cases/{case.id}").text
    assert "<script>alert" not in page


def test_attachments_are_refused_when_too_large_without_csrf_or_to_read_only_roles(tmp_path: Path) -> None:
    env = make_env(tmp_path, attachment_max_mb=1)
    case = a_case(env)
    client, csrf = env.client("officer")
    big = client.post(
        f"/cases/{case.id}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("big.bin", b"x" * (2 * 1024 * 1024))},
    )
    assert big.status_code == 413
    just_over = client.post(
        f"/cases/{case.id}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("over.bin", b"x" * (1024 * 1024 + 10))},
    )
    assert just_over.status_code == 400
    no_csrf = client.post(f"/cases/{case.id}/attachments", files={"file": ("a.txt", b"hello")})
    assert no_csrf.status_code == 403
    auditor, auditor_csrf = env.client("auditor")
    refused = auditor.post(
        f"/cases/{case.id}/attachments", data={"csrf_token": auditor_csrf}, files={"file": ("a.txt", b"hello")}
    )
    assert refused.status_code == 403
    assert env.people.attachments(case.id) == []
    assert not env.settings.attachments_path.exists() or not any(env.settings.attachments_path.rglob("*.*"))


def test_an_attachment_of_another_case_or_region_is_not_found(env: Env) -> None:
    case = a_case(env)
    other = ws(env).create_case(SUPERVISOR, [env.ids["L3"]], source="t")
    client, csrf = env.client("officer")
    client.post(f"/cases/{case.id}/attachments", data={"csrf_token": csrf}, files={"file": ("a.txt", b"hello")})
    [attachment] = env.people.attachments(case.id)
    assert client.get(f"/cases/{other.id}/attachments/{attachment.id}").status_code == 404
    qinghai, _ = env.client("qh_officer")
    assert qinghai.get(f"/cases/{case.id}/attachments/{attachment.id}").status_code == 404


# -- complaints linked to a case ----------------------------------------------------------------
def test_complaints_are_linked_to_a_case_shown_masked_and_unlinked(env: Env) -> None:
    from tests.unit.test_workspace_complaints import NAME, PHONE, TEXT_PHONE, seed_complaints

    seed_complaints(env)
    case = a_case(env)
    client, csrf = env.client("officer")
    page = client.post(f"/cases/{case.id}/complaints", data={"csrf_token": csrf, "complaint_id_list": "C-LS-1 C-LS-2"})
    assert page.status_code == 200
    assert env.people.get_case(case.id).complaint_ids == ["C-LS-1", "C-LS-2"]
    table = page.text.split('id="case-complaints"')[1].split("</table>")[0]
    assert "C-LS-1" in table and "C-LS-2" in table
    assert "&lt;script&gt;" in table  # the hostile complaint text, inert
    for secret in (NAME, PHONE, TEXT_PHONE):
        assert secret not in page.text  # masked as on the complaint pages
    assert env.people.audit_search(action="case.complaint_link", limit=1)[0].event.after == (
        '{"complaints": ["C-LS-1", "C-LS-2"]}'
    )
    # a complaint of Qinghai is "not found" to a Lhasa officer, and nothing is linked
    refused = client.post(f"/cases/{case.id}/complaints", data={"csrf_token": csrf, "complaint_id_list": "C-QH-1"})
    assert refused.status_code == 404
    assert env.people.get_case(case.id).complaint_ids == ["C-LS-1", "C-LS-2"]
    client.post(f"/cases/{case.id}/complaints", data={"csrf_token": csrf, "unlink": "1", "complaint_id": "C-LS-2"})
    assert env.people.get_case(case.id).complaint_ids == ["C-LS-1"]
    assert env.people.audit_count(action="case.complaint_unlink") == 1


def test_a_complaint_linked_by_someone_wider_is_counted_not_shown(env: Env) -> None:
    from tests.unit.test_workspace_complaints import seed_complaints

    seed_complaints(env)
    case = a_case(env)
    national = Actor("national", Role.supervisor, ("全国",))  # a national account links both
    env.people.link_complaints(
        case.id, ["C-LS-1", "C-QH-1"], ws(env)._event(national, "case.complaint_link", "case", str(case.id), "t")
    )
    officer, _ = env.client("officer")
    page = officer.get(f"/cases/{case.id}").text
    table = page.split('id="case-complaints"')[1].split("</table>")[0]
    assert "C-LS-1" in table and "C-QH-1" not in table
    assert 'id="hidden-complaints">另有 1 条' in page


def test_attachments_and_complaint_links_over_the_api(env: Env) -> None:
    from tests.unit.test_workspace_complaints import seed_complaints

    seed_complaints(env)
    case = a_case(env)
    client, csrf = env.client("supervisor")
    headers = {"X-CSRF-Token": csrf}
    made = client.post(
        f"/api/v1/cases/{case.id}/attachments", files={"file": ("回函.txt", "已下架。".encode())}, headers=headers
    ).json()
    assert (made["filename"], made["content_type"], made["size"]) == ("回函.txt", "text/plain; charset=utf-8", 12)
    listed = client.get(f"/api/v1/cases/{case.id}/attachments").json()
    assert [a["id"] for a in listed] == [made["id"]]
    got = client.get(f"/api/v1/cases/{case.id}/attachments/{made['id']}")
    assert got.content == "已下架。".encode()
    assert got.headers["content-disposition"].startswith("attachment;")
    linked = client.post(
        f"/api/v1/cases/{case.id}/complaints", json={"complaint_ids": ["C-LS-1"]}, headers=headers
    ).json()
    assert linked["complaint_ids"] == ["C-LS-1"]
    unlinked = client.post(
        f"/api/v1/cases/{case.id}/complaints", json={"complaint_ids": ["C-LS-1"], "unlink": True}, headers=headers
    ).json()
    assert unlinked["complaint_ids"] == []


# -- the users page -----------------------------------------------------------------------------
def test_an_admin_adds_a_user_who_can_log_in_and_disables_them(env: Env) -> None:
    from tests.unit.test_workspace_support import PASSWORD

    admin, csrf = env.client("admin")
    page = admin.get("/users")
    assert page.status_code == 200
    assert '<a href="/users">用户</a>' in page.text
    for name in ("officer", "qh_officer", "supervisor", "analyst", "auditor", "admin"):
        assert f'data-user="{name}"' in page.text
    made = admin.post(
        "/users",
        data={
            "csrf_token": csrf,
            "username": "zhao",
            "display_name": "赵<b>六</b>",
            "role": "officer",
            "region": "540102",
            "password": PASSWORD,
        },
    )
    assert made.status_code == 200
    assert "赵&lt;b&gt;六&lt;/b&gt;" in made.text
    user = env.people.get_user("zhao")
    assert (user.role, user.jurisdiction, user.active) == ("officer", "540102", True)
    zhao, _ = env.client("zhao")  # logs in with the password given
    assert zhao.get("/leads").status_code == 200
    admin.post("/users/zhao/active", data={"csrf_token": csrf, "active": "0"})
    assert env.people.get_user("zhao").active is False
    assert zhao.get("/leads", follow_redirects=False).status_code == 303  # the session ended: to the login page
    actions = [r.event.action for r in env.people.audit_search(resource_id="zhao", limit=10)]
    assert "user.add" in actions and "user.deactivate" in actions
    record = env.people.audit_search(action="user.add", resource_id="zhao", limit=1)[0].event
    assert (record.actor, record.role) == ("admin", "admin")
    assert record.after == '{"jurisdiction": "540102", "role": "officer"}'


def test_a_supervisor_manages_officers_of_their_region_only(env: Env) -> None:
    from tests.unit.test_workspace_support import PASSWORD

    sup, csrf = env.client("supervisor")  # 540000
    page = sup.get("/users").text
    assert 'data-user="officer"' in page and 'data-user="analyst"' in page
    assert 'data-user="qh_officer"' not in page  # Qinghai
    assert 'data-user="admin"' not in page  # nationwide
    roles = page.split('name="role">')[1].split("</select>")[0]
    assert 'value="officer"' in roles and 'value="analyst"' in roles
    assert 'value="supervisor"' not in roles and 'value="admin"' not in roles

    def add(name: str, role: str, region: str) -> int:
        data = {"csrf_token": csrf, "username": name, "role": role, "region": region, "password": PASSWORD}
        return sup.post("/users", data=data, follow_redirects=False).status_code

    assert add("li2", "officer", "540102") == 303
    assert add("qh2", "officer", "630000") == 403  # outside the region
    assert add("boss", "admin", "540000") == 403  # a role above theirs
    data = {"csrf_token": csrf, "username": "short", "role": "officer", "region": "540100", "password": "123"}
    assert "密码至少 10 个字符" in sup.post("/users", data=data).text  # refused as `sweep users add` refuses it
    assert add("bad name", "officer", "540100") == 400
    assert env.people.get_user("qh2") is None and env.people.get_user("boss") is None
    assert sup.post("/users/qh_officer/active", data={"csrf_token": csrf, "active": "0"}).status_code == 404
    assert sup.post("/users/supervisor/active", data={"csrf_token": csrf, "active": "0"}).status_code == 403
    assert env.people.get_user("supervisor").active is True


def test_officers_and_auditors_have_no_users_page(env: Env) -> None:
    for role in ("officer", "analyst", "auditor"):
        client, csrf = env.client(role)
        assert client.get("/users").status_code == 403
        assert '<a href="/users">' not in client.get("/leads").text
        data = {"csrf_token": csrf, "username": "x1", "role": "officer", "region": "540100", "password": "p" * 12}
        assert client.post("/users", data=data).status_code == 403
    assert env.people.get_user("x1") is None


# -- complaints in the stored priority sort -----------------------------------------------------
def test_a_complaint_count_moves_a_lead_up_the_stored_priority_sort(env: Env) -> None:
    from sweep.store.base import LeadQuery

    def order() -> list[str]:
        found = env.store.search(LeadQuery(text="氰化", sort="priority", size=10, regions=[]))
        by_id = {v: k for k, v in env.ids.items()}
        return [by_id[lead.lead_id] for lead in found.leads]

    # all high severity, seen once: the most recent first (X1 T0+4h, L3 +2h, L2 +1h, Q1 and L1 at T0)
    assert order() == ["X1", "L3", "L2", *sorted(["L1", "Q1"], key=lambda k: env.ids[k])]
    env.store.set_status(env.ids["L1"], "triaged", assignee="officer")
    assert env.store.set_seller_complaints({env.ids["L1"]: 2, "no-such-lead": 5}) == 1
    assert env.store.set_seller_complaints({env.ids["L1"]: 2}) == 0  # unchanged: not rewritten
    lead = env.store.get(env.ids["L1"])
    assert (lead.seller_complaints, lead.status.value, lead.assignee) == (2, "triaged", "officer")
    # × (1 + 2) outweighs four hours of recency: L1 first, the rest as before
    assert order()[0] == "L1"
    assert order()[1:4] == ["X1", "L3", "L2"]


def test_the_workspace_recounts_complaints_per_seller_when_they_change(env: Env) -> None:
    from tests.unit.test_workspace_complaints import seed_complaints

    seed_complaints(env)  # C-LS-1 matched to shop S1 (leads L1, L2); C-QH-1 to S9 (Q1)
    w = ws(env)
    assert w.recount_complaints_if_changed(background=False) is True
    counts = {k: env.store.get(env.ids[k]).seller_complaints for k in ("L1", "L2", "L3", "Q1", "X1")}
    assert counts == {"L1": 1, "L2": 1, "L3": 0, "Q1": 1, "X1": 0}
    assert w.recount_complaints_if_changed(background=False) is False  # nothing new since
    client, _ = env.client("supervisor")
    queue = client.get("/leads?q=氰化&sort=priority").text
    rows = [env.ids[k] for k in ("L2", "L1", "X1", "L3")]
    positions = [queue.index(f'data-id="{lead_id}"') for lead_id in rows]
    assert positions == sorted(positions)  # the complained-about shop's leads first


# -- role × endpoint for the new routes ----------------------------------------------------------
ROLES = ("officer", "supervisor", "analyst", "auditor", "admin")
NEW_ROUTES = {
    # (method, path): expected status per role, in ROLES order (404: a case the role may not see at all)
    ("GET", "/users"): (403, 200, 403, 403, 200),
    ("POST", "/users"): (403, 303, 403, 403, 303),
    ("POST", "/users/analyst/active"): (403, 303, 403, 403, 303),
    ("POST", "/cases/{case}/attachments"): (303, 303, 404, 403, 403),
    ("GET", "/cases/{case}/attachments/{attachment}"): (200, 200, 404, 200, 200),
    ("POST", "/cases/{case}/complaints"): (303, 303, 404, 403, 403),
    ("GET", "/api/v1/cases/{case}/attachments"): (200, 200, 404, 200, 200),
}


@pytest.mark.parametrize(("method", "path"), sorted(NEW_ROUTES))
def test_role_by_endpoint_of_the_case_work_routes(tmp_path: Path, method: str, path: str) -> None:
    got = []
    for role in ROLES:
        env = make_env(tmp_path / role)
        case = ws(env).create_case(SUPERVISOR, [env.ids["L1"]], source="t")
        attachment = ws(env).attach(SUPERVISOR, case.id, "a.txt", b"hello", source="t")
        client, csrf = env.client(role)
        url = path.replace("{case}", str(case.id)).replace("{attachment}", str(attachment.id))
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        elif "attachments" in path:
            files = {"file": ("b.txt", b"world")}
            response = client.post(url, data={"csrf_token": csrf}, files=files, follow_redirects=False)
        else:
            data = {
                "csrf_token": csrf,
                "username": f"new_{role}",
                "role": "officer",
                "region": "540100",
                "password": "a long password",
                "active": "0",
                "unlink": "1",
                "complaint_id": "C-1",
            }
            response = client.post(url, data=data, follow_redirects=False)
        got.append(response.status_code)
    assert tuple(got) == NEW_ROUTES[(method, path)], dict(zip(ROLES, got, strict=True))
