"""Workspace security on the embedded stores: login, lock-out, session expiry, CSRF on every change,
the role × endpoint matrix, and jurisdiction (an officer of 540100 cannot read or change a lead of
630000, through pages or API, even by guessing ids)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute

from tests.unit.test_workspace_support import PASSWORD, Env, csrf_of, make_env
from workspace.auth import SESSION_COOKIE, digest, new_api_token


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def login(env: Env, username: str, password: str) -> httpx.Response:
    client, _ = env.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_login_sets_a_server_side_httponly_samesite_session(env: Env) -> None:
    client, _ = env.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    stored = env.people.get_session(digest(value))
    assert stored is not None and stored.username == "officer"
    assert env.people.get_session(value) is None  # the store never holds the cookie itself


def test_login_without_the_form_token_is_refused(env: Env) -> None:
    client, _ = env.client()
    client.get("/login")
    response = client.post("/login", data={"username": "officer", "password": PASSWORD})
    assert response.status_code == 403


def test_wrong_password_says_nothing_about_the_account(env: Env) -> None:
    assert "用户名或密码错误" in login(env, "officer", "wrong password!").text
    assert "用户名或密码错误" in login(env, "nobody", "wrong password!").text


def test_five_failures_lock_the_account_even_for_the_right_password(env: Env) -> None:
    for _ in range(4):
        assert login(env, "officer", "wrong password!").status_code == 401
    fifth = login(env, "officer", "wrong password!")
    assert "已锁定" in fifth.text
    locked = login(env, "officer", PASSWORD)
    assert locked.status_code == 401
    assert "已锁定" in locked.text
    failures = env.people.audit_search(actor="officer", action="auth.login", limit=20)
    assert [r.event.action for r in failures].count("auth.login_failed") == 5
    assert failures[0].event.action == "auth.login_refused"


def test_idle_and_expired_sessions_end(env: Env) -> None:
    client, _ = env.client("officer")
    cookie = client.cookies[SESSION_COOKIE]
    env.people.touch_session(digest(cookie), datetime.now(UTC) - timedelta(seconds=1))
    response = client.get("/leads", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert env.people.get_session(digest(cookie)) is None


def test_logout_ends_the_session_everywhere(env: Env) -> None:
    client, csrf = env.client("officer")
    cookie = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 200
    assert env.people.get_session(digest(cookie)) is None


def test_api_token_authenticates_scripts(env: Env) -> None:
    token = new_api_token(env.people, "officer")
    client, _ = env.client()
    assert client.get("/api/v1/me").status_code == 401
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "officer"
    assert me["jurisdiction"] == "540100"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer swp_not-a-token"}).status_code == 401


# -- CSRF -----------------------------------------------------------------------------------------
def all_routes(routes: list) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI wraps them)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += all_routes(route.original_router.routes)
    return found


def state_changing_routes(env: Env) -> list[tuple[str, str]]:
    routes = []
    for route in all_routes(env.app.routes):
        for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
            routes.append((method, route.path))
    return sorted(set(routes))


def test_there_are_state_changing_routes_to_check(env: Env) -> None:
    paths = {path for _, path in state_changing_routes(env)}
    assert {"/login", "/logout", "/leads/{lead_id}/status", "/bulk/run", "/cases", "/api/v1/bulk"} <= paths


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_state_changing_route_rejects_a_missing_or_wrong_csrf_token(env: Env, token: str | None) -> None:
    client, _ = env.client("supervisor")
    lead_id = env.ids["L1"]
    audit_before = env.people.audit_count()
    for method, path in state_changing_routes(env):
        url = path.replace("{lead_id}", lead_id).replace("{case_id}", "1")
        data = {"status": "triaged", "version": "0", "assignee": "officer", "action": "assign", "target": "search"}
        if token is not None:
            data["csrf_token"] = token
        headers = {"X-CSRF-Token": token} if token is not None else {}
        form = client.request(method, url, data=data, headers=headers)
        assert form.status_code == 403, (method, path, form.status_code)
        body = client.request(method, url, json={"action": "assign", "assignee": "officer"}, headers=headers)
        assert body.status_code == 403, (method, path, body.status_code)
    assert env.store.get(lead_id).status.value == "new"
    changes = [r for r in env.people.audit_search(limit=500) if r.seq > audit_before]
    assert [r.event.action for r in changes if not r.event.action.startswith("auth.")] == []


def test_a_cross_site_form_without_session_changes_nothing(env: Env) -> None:
    client, _ = env.client()
    response = client.post(f"/leads/{env.ids['L1']}/status", data={"status": "confirmed", "version": "0"})
    assert response.status_code == 403
    assert env.store.get(env.ids["L1"]).status.value == "new"


# -- role × endpoint ------------------------------------------------------------------------------
ROLES = ("officer", "supervisor", "analyst", "auditor", "admin")
MATRIX = {
    # (method, path): expected status per role, in ROLES order
    ("GET", "/leads"): (200, 200, 200, 200, 200),
    ("GET", "/leads/{L1}"): (200, 200, 200, 200, 200),
    ("POST", "/leads/{L1}/assign"): (303, 303, 403, 403, 403),
    ("GET", "/export/leads.csv"): (200, 200, 200, 403, 403),
    ("POST", "/bulk/run"): (403, 303, 403, 403, 403),
    ("GET", "/cases"): (200, 200, 403, 200, 200),
    ("POST", "/cases"): (303, 303, 403, 403, 403),
    ("GET", "/audit"): (403, 200, 403, 200, 200),
    ("GET", "/audit/export.csv"): (403, 200, 403, 200, 200),
    ("GET", "/api/v1/leads"): (200, 200, 200, 200, 200),
    ("POST", "/api/v1/leads/{L1}/status"): (200, 200, 403, 403, 403),
    ("GET", "/api/v1/audit"): (403, 200, 403, 200, 200),
}


@pytest.fixture(scope="module")
def per_role(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Env, httpx.Client, str]]:
    """One workspace per role, so one role's changes never decide another's answer."""
    out = {}
    for role in ROLES:
        env = make_env(tmp_path_factory.mktemp(role))
        client, csrf = env.client(role)
        out[role] = (env, client, csrf)
    return out


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_role_by_endpoint_matrix(per_role: dict, method: str, path: str) -> None:
    got = []
    for role in ROLES:
        env, client, csrf = per_role[role]
        lead_id = env.ids["L1"]
        version = env.people.decisions([lead_id]).get(lead_id)
        version = version.version if version else 0
        url = path.replace("{L1}", lead_id)
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        elif path.startswith("/api/"):
            body = {"status": "triaged", "version": version}
            response = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        else:
            data = {
                "csrf_token": csrf,
                "assignee": "officer",
                "version": str(version),
                "action": "assign",
                "target": "search",
                "query": "q=氰化钠",
                "lead_ids": lead_id,
            }
            response = client.post(url, data=data, follow_redirects=False)
        got.append(response.status_code)
    assert tuple(got) == MATRIX[(method, path)], dict(zip(ROLES, got, strict=True))


# -- jurisdiction ---------------------------------------------------------------------------------
def test_officer_of_540100_never_sees_a_lead_of_630000(env: Env) -> None:
    client, _ = env.client("officer")
    qinghai = env.ids["Q1"]
    queue = client.get("/leads?q=氰化钠").text
    assert "西宁" not in queue
    assert client.get(f"/leads/{qinghai}").status_code == 404
    assert client.get(f"/api/v1/leads/{qinghai}").status_code == 404
    assert client.get(f"/api/v1/leads/{qinghai}/history").status_code == 404
    api = client.get("/api/v1/leads", params={"q": "西宁"}).json()
    assert api["total"] == 0
    # asking for the region explicitly does not widen the jurisdiction
    assert client.get("/api/v1/leads", params={"region": "青海省西宁市城中区"}).json()["total"] == 0


def test_officer_of_540100_cannot_change_a_lead_of_630000_by_any_door(env: Env) -> None:
    client, csrf = env.client("officer")
    qinghai = env.ids["Q1"]
    form = {"csrf_token": csrf, "version": "0"}
    assert client.post(f"/leads/{qinghai}/status", data=form | {"status": "confirmed"}).status_code == 404
    assert client.post(f"/leads/{qinghai}/assign", data=form | {"assignee": "officer"}).status_code == 404
    dismiss = form | {"reason": "false_positive", "scope": "shop"}
    assert client.post(f"/leads/{qinghai}/dismiss", data=dismiss).status_code == 404
    headers = {"X-CSRF-Token": csrf}
    api = client.post(f"/api/v1/leads/{qinghai}/status", json={"status": "confirmed", "version": 0}, headers=headers)
    assert api.status_code == 404
    bulk = client.post(
        "/api/v1/bulk",
        json={"action": "assign", "assignee": "officer", "lead_ids": [qinghai], "wait": True},
        headers=headers,
    )
    assert bulk.status_code == 200
    assert bulk.json()["done"] == 0
    case = client.post("/cases", data={"csrf_token": csrf, "lead_ids": qinghai})
    assert case.status_code == 404
    lead = env.store.get(qinghai)
    assert (lead.status.value, lead.assignee) == ("new", None)


def test_guessed_ids_get_the_same_answer_as_foreign_ones(env: Env) -> None:
    client, _ = env.client("officer")
    foreign = client.get(f"/api/v1/leads/{env.ids['Q1']}")
    guessed = client.get("/api/v1/leads/0123456789abcdef01234567")
    assert foreign.status_code == guessed.status_code == 404
    assert foreign.json() == guessed.json()


def test_supervisor_of_the_province_sees_the_city_below(env: Env) -> None:
    client, _ = env.client("supervisor")
    assert client.get(f"/leads/{env.ids['L1']}").status_code == 200
    assert client.get(f"/leads/{env.ids['Q1']}").status_code == 404


def test_pages_carry_a_strict_content_security_policy(env: Env) -> None:
    client, _ = env.client("officer")
    policy = client.get("/leads").headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "object-src 'none'" in policy


def test_hostile_listing_text_is_escaped_in_every_server_page(env: Env) -> None:
    """The real-browser check is tests/integration/test_workspace_browser.py; this one reads the HTML."""
    client, csrf = env.client("supervisor")
    x1 = env.ids["X1"]
    case = client.post("/cases", data={"csrf_token": csrf, "lead_ids": x1})
    pages = [
        client.get("/leads").text,
        client.get("/leads?q=氰化钠").text,
        client.get(f"/leads/{x1}").text,
        case.text,
    ]
    for html in pages:
        assert "<script>alert" not in html
        assert "onerror=alert(1)>" not in html
        assert "<svg onload" not in html
        assert 'href="javascript:' not in html
        assert "<em onmouseover" not in html
        assert "{{7*7}}" in html  # shown as written, never evaluated
    detail = pages[2]
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in detail
    assert "{{7*7}}" in detail
    assert csrf_of(detail)


def test_a_second_process_shares_sessions_and_versions(env: Env) -> None:
    """Two applications over the same stores (as two `sweep serve` processes behind a load balancer)."""
    from fastapi.testclient import TestClient

    from adapters.people.sql import SqlPeopleStore
    from adapters.store.sqlite import SqliteLeadStore
    from app.web import create_app

    data = env.settings.data_dir
    other = create_app(
        env.settings,
        store=SqliteLeadStore(data / "leads.sqlite"),
        people=SqlPeopleStore(f"sqlite:///{data / 'people.sqlite'}"),
    )
    first, csrf = env.client("officer")
    second = TestClient(other)
    second.cookies.set(SESSION_COOKIE, first.cookies[SESSION_COOKIE])
    lead_id = env.ids["L1"]
    assert second.get(f"/leads/{lead_id}").status_code == 200  # the session is known to both
    ok = second.post(f"/leads/{lead_id}/status", data={"csrf_token": csrf, "version": "0", "status": "triaged"})
    assert ok.status_code == 200
    stale = first.post(f"/leads/{lead_id}/status", data={"csrf_token": csrf, "version": "0", "status": "confirmed"})
    assert stale.status_code == 409
    first.post("/logout", data={"csrf_token": csrf})
    assert second.get("/leads", follow_redirects=False).status_code == 303  # logged out everywhere
