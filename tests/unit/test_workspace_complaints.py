"""Complaint records (12315) in the workspace: the list and detail pages and their JSON, who may open
them (role × endpoint, jurisdiction by GB/T 2260 code, guessed ids), the personal-data view (a POST with
a stated purpose, CSRF-checked, written to the hash-chained audit before anything is shown) and the
complaints against a lead's seller on the lead page."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import open_audit_log, open_complaint_store, open_seller_directory
from app.web import create_app
from complaints.readers import Row, Table
from complaints.service import ComplaintService
from sweep.audit import verify_chain
from sweep.people import Actor, Role
from sweep.permissions import COMPLAINTS_VIEW_PERSONAL_DATA, region_prefixes
from sweep.store.complaints import ComplaintQuery, Seller
from tests.unit.test_workspace_support import LHASA, QINGHAI, Env, make_env

NAME, PHONE, ID_NUMBER = "张三丰", "13987654321", "11010519491231002X"
TEXT_NAME, TEXT_PHONE = "王五", "13812345678"
SECRETS = (NAME, PHONE, ID_NUMBER, TEXT_NAME, TEXT_PHONE)
HOSTILE = '买到假货 <script>alert("c")</script> {{7*7}} <img src=x onerror=alert(9)> 我叫王五，电话13812345678'

ROWS = [
    {
        "complaint_id": "C-LS-1",
        "received_at": "2026-11-01",
        "platform": "demo",
        "shop_id": "S1",
        "shop_name": "拉萨化工旗舰店",
        "text": HOSTILE,
        "complainant_name": NAME,
        "complainant_phone": PHONE,
        "complainant_id_number": ID_NUMBER,
        "region": LHASA,
        "status": "处理中",
        "handler": "officer",
    },
    {
        "complaint_id": "C-LS-2",
        "received_at": "2026-11-02",
        "platform": "别的商城",
        "shop_name": "雪域未知小店",
        "text": "商品与描述不符，要求退货",
        "region": "西藏自治区拉萨市堆龙德庆区",
        "status": "已办结",
    },
    {
        "complaint_id": "C-QH-1",
        "received_at": "2026-11-03",
        "platform": "demo",
        "shop_id": "S9",
        "shop_name": "西宁化工",
        "text": "氰化钠无资质销售",
        "region": QINGHAI,
        "status": "处理中",
    },
]


def seed_complaints(env: Env) -> ComplaintService:
    """The complaint rows above imported into the workspace's data dir, matched to the sellers of the
    seeded leads (shop S1 in Lhasa, S9 in Qinghai), and the app rebuilt with the complaint store."""
    store, sellers = open_complaint_store(env.settings), open_seller_directory(env.settings)
    sellers.observe(
        [
            Seller("demo", "S1", name="拉萨化工旗舰店", region=LHASA, lead_ids=[env.ids["L1"], env.ids["L2"]]),
            Seller("demo", "S9", name="西宁化工", region=QINGHAI, lead_ids=[env.ids["Q1"]]),
        ]
    )
    service = ComplaintService(store, sellers, open_audit_log(env.settings))
    rows = iter([Row(i + 2, dict(values)) for i, values in enumerate(ROWS)])
    report = service.import_table(Table(source="test.jsonl", rows=rows), Actor("importer", Role.operator))
    assert report.accepted == 3 and report.error_count == 0
    env.app = create_app(env.settings, store=env.store, people=env.people, complaints=store, sellers=sellers)
    return service


@pytest.fixture
def env(tmp_path: Path) -> Env:
    env = make_env(tmp_path)
    seed_complaints(env)
    return env


def test_the_seed_is_what_the_tests_assume(env: Env) -> None:
    store = env.app.state.workspace.complaints
    assert [m.shop_id for m in store.matches(["C-LS-1"])["C-LS-1"]] == ["S1"]
    assert [m.shop_id for m in store.matches(["C-QH-1"])["C-QH-1"]] == ["S9"]
    assert store.matches(["C-LS-2"]).get("C-LS-2", []) == []
    assert store.personal_data("C-LS-1").name == NAME
    assert NAME not in store.get("C-LS-1").model_dump_json()


# -- the jurisdiction rule, in the complaints capability itself ------------------------------------
def test_a_jurisdiction_code_stands_for_its_region_names() -> None:
    assert region_prefixes(Actor("a", Role.officer, ("540100",))) == ("西藏自治区拉萨市",)
    assert region_prefixes(Actor("a", Role.supervisor, ("540000",))) == ("西藏自治区",)
    assert region_prefixes(Actor("a", Role.officer, ("宁夏回族自治区银川市",))) == ("宁夏回族自治区银川市",)
    assert region_prefixes(Actor("a", Role.officer, ("000000",))) == ()
    assert region_prefixes(Actor("a", Role.admin, ("540100",))) == ()
    assert region_prefixes(Actor("a", Role.officer, ())) != ()  # no jurisdiction: nothing, not everything
    assert region_prefixes(Actor("a", Role.officer, ("999999",))) != ()  # an unknown code: nothing


def test_complaint_search_and_export_by_code_jurisdiction(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    service = seed_complaints(env)
    lhasa = Actor("officer", Role.officer, ("540100",))
    qinghai = Actor("qh_officer", Role.officer, ("630000",))
    nobody = Actor("x", Role.officer, ())
    found = service.search(lhasa, ComplaintQuery(size=50))
    assert sorted(c.complaint_id for c in found.complaints) == ["C-LS-1", "C-LS-2"]
    assert found.total == 2
    assert [c.complaint_id for c in service.search(qinghai, ComplaintQuery()).complaints] == ["C-QH-1"]
    assert service.search(nobody, ComplaintQuery()).complaints == []
    assert sorted(r["complaint_id"] for r in service.export_records(Actor("a", Role.analyst, ("540000",)))) == [
        "C-LS-1",
        "C-LS-2",
    ]


# -- role × endpoint -------------------------------------------------------------------------------
ROLES = ("officer", "supervisor", "analyst", "auditor", "admin", "qh_officer")
MATRIX = {
    ("GET", "/complaints"): (200, 200, 200, 200, 200, 200),
    ("GET", "/complaints/C-LS-1"): (200, 200, 200, 200, 200, 404),
    ("POST", "/complaints/C-LS-1/personal-data"): (200, 200, 403, 403, 403, 404),
    ("GET", "/api/v1/complaints"): (200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/complaints/C-LS-1"): (200, 200, 200, 200, 200, 404),
    ("POST", "/api/v1/complaints/C-LS-1/personal-data"): (200, 200, 403, 403, 403, 404),
}
"""officer handles C-LS-1 (540100); supervisor is of 540000; analyst 540100; auditor and admin nationwide
but never see personal data by role; qh_officer is of 630000."""


@pytest.fixture(scope="module")
def per_role(tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = make_env(tmp_path_factory.mktemp("complaints"))
    seed_complaints(env)
    return {role: (env, *env.client(role)) for role in ROLES}


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
def test_role_by_endpoint_matrix(per_role: dict, method: str, path: str) -> None:
    got = []
    for role in ROLES:
        _env, client, csrf = per_role[role]
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        elif path.startswith("/api/"):
            response = client.post(path, json={"purpose": "核实投诉"}, headers={"X-CSRF-Token": csrf})
        else:
            response = client.post(path, data={"csrf_token": csrf, "purpose": "核实投诉"}, follow_redirects=False)
        got.append(response.status_code)
    assert tuple(got) == MATRIX[(method, path)], dict(zip(ROLES, got, strict=True))


def test_new_routes_are_in_the_matrix(per_role: dict) -> None:
    env = per_role["officer"][0]
    from tests.unit.test_workspace_security import all_routes

    mine = {
        (m, r.path.replace("{complaint_id}", "C-LS-1"))
        for r in all_routes(env.app.routes)
        if "complaint" in r.path and not r.path.startswith(("/cases/", "/api/v1/cases/"))  # a case's links: casework
        for m in r.methods - {"HEAD"}
    }
    assert mine == set(MATRIX)


# -- jurisdiction by code, guessed ids --------------------------------------------------------------
def test_officer_of_630000_sees_only_qinghai_complaints(env: Env) -> None:
    client, _ = env.client("qh_officer")
    page = client.get("/complaints").text
    assert "C-QH-1" in page and "C-LS-1" not in page and "C-LS-2" not in page
    assert '<a href="/complaints">投诉</a>' in client.get("/leads").text  # reachable from the navigation
    listed = client.get("/api/v1/complaints").json()
    assert [c["complaint"]["complaint_id"] for c in listed["complaints"]] == ["C-QH-1"]
    assert listed["total"] == 1
    assert set(listed["facets"]["region"]) == {QINGHAI}


def test_officer_of_540100_sees_lhasa_complaints_by_code(env: Env) -> None:
    client, _ = env.client("officer")
    listed = client.get("/api/v1/complaints").json()
    assert sorted(c["complaint"]["complaint_id"] for c in listed["complaints"]) == ["C-LS-1", "C-LS-2"]
    page = client.get("/complaints").text
    assert "C-LS-1" in page and "C-LS-2" in page and "C-QH-1" not in page


def test_a_foreign_complaint_and_a_guessed_id_get_the_same_answer(env: Env) -> None:
    client, _ = env.client("qh_officer")
    for base in ("/complaints/", "/api/v1/complaints/"):
        foreign, guessed = client.get(base + "C-LS-1"), client.get(base + "C-LS-999")
        assert foreign.status_code == guessed.status_code == 404
        assert foreign.text.replace("C-LS-1", "?") == guessed.text.replace("C-LS-999", "?")
    refused = client.post("/api/v1/complaints/C-LS-1/personal-data", json={"purpose": "好奇"}, headers=_csrf(client))
    guessed = client.post("/api/v1/complaints/C-LS-999/personal-data", json={"purpose": "好奇"}, headers=_csrf(client))
    assert refused.status_code == guessed.status_code == 404
    assert refused.json() == guessed.json()


def _csrf(client) -> dict[str, str]:
    from tests.unit.test_workspace_support import csrf_of

    return {"X-CSRF-Token": csrf_of(client.get("/complaints").text)}


# -- list filters and paging ----------------------------------------------------------------------
def test_list_filters_by_text_platform_status_and_matching(env: Env) -> None:
    client, _ = env.client("supervisor")

    def ids(**params) -> list[str]:
        body = client.get("/api/v1/complaints", params=params).json()
        return sorted(c["complaint"]["complaint_id"] for c in body["complaints"])

    assert ids() == ["C-LS-1", "C-LS-2"]
    assert ids(matched="no") == ["C-LS-2"]
    assert ids(matched="yes") == ["C-LS-1"]
    assert ids(platform="demo") == ["C-LS-1"]
    assert ids(status="已办结") == ["C-LS-2"]
    assert ids(q="退货") == ["C-LS-2"]
    page = client.get("/complaints", params={"matched": "no"}).text
    assert "C-LS-2" in page and 'href="/complaints/C-LS-1"' not in page
    assert "未关联（可作为采集目标）" in page


def test_list_pages_with_a_cursor(env: Env) -> None:
    client, _ = env.client("supervisor")
    first = client.get("/api/v1/complaints", params={"size": 1}).json()
    assert [c["complaint"]["complaint_id"] for c in first["complaints"]] == ["C-LS-2"]  # newest first
    second = client.get("/api/v1/complaints", params={"size": 1, "after": first["next_cursor"]}).json()
    assert [c["complaint"]["complaint_id"] for c in second["complaints"]] == ["C-LS-1"]
    assert client.get("/api/v1/complaints", params={"after": "garbage"}).status_code == 400


# -- personal data ----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_personal_data_is_never_in_list_or_detail_html(env: Env, role: str) -> None:
    """Whatever the role, the pages and JSON a GET returns carry masked values only: the unmasked view
    is a POST with a purpose, never a page one can link to."""
    client, _ = env.client(role)
    for url in ("/complaints", "/complaints/C-LS-1", f"/leads/{env.ids['L1']}", "/api/v1/complaints"):
        body = client.get(url).text
        assert [s for s in SECRETS if s in body] == [], (role, url)


def test_detail_shows_masked_fields_matches_and_leads(env: Env) -> None:
    client, _ = env.client("analyst")
    page = client.get("/complaints/C-LS-1").text
    assert "张**" in page or "张*" in page
    assert "拉萨化工旗舰店" in page and "1.00" in page
    assert f'href="/leads/{env.ids["L1"]}"' in page and f'href="/leads/{env.ids["L2"]}"' in page
    assert 'id="personal-form"' not in page and "您无权查看本投诉的个人信息" in page
    detail = client.get("/api/v1/complaints/C-LS-1").json()
    assert detail["matches"][0]["shop_id"] == "S1" and detail["matches"][0]["reasons"]
    assert detail["complaint"]["complainant_phone"] != PHONE


def test_hostile_complaint_text_is_escaped(env: Env) -> None:
    client, _ = env.client("supervisor")
    page = client.get("/complaints/C-LS-1").text
    assert '<script>alert("c")' not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "{{7*7}}" in page


def test_supervisor_sees_personal_data_with_a_purpose_and_the_view_is_audited(env: Env) -> None:
    client, csrf = env.client("supervisor")
    before = env.people.audit_count(action=COMPLAINTS_VIEW_PERSONAL_DATA)
    shown = client.post("/complaints/C-LS-1/personal-data", data={"csrf_token": csrf, "purpose": "核实投诉人身份"})
    assert shown.status_code == 200
    assert NAME in shown.text and PHONE in shown.text and ID_NUMBER in shown.text and TEXT_PHONE in shown.text
    assert 'id="personal-data"' in shown.text
    assert env.people.audit_count(action=COMPLAINTS_VIEW_PERSONAL_DATA) == before + 1
    record = env.people.audit_search(action=COMPLAINTS_VIEW_PERSONAL_DATA, limit=1)[0].event
    assert (record.actor, record.resource_type, record.resource_id, record.allowed) == (
        "supervisor",
        "complaint",
        "C-LS-1",
        True,
    )
    assert "核实投诉人身份" in record.detail and NAME not in record.detail
    checked, broken = verify_chain(env.people.audit_records())
    assert broken is None and checked == env.people.audit_count()
    # the page that follows is an ordinary GET again: masked
    assert NAME not in client.get("/complaints/C-LS-1").text


def test_the_handling_officer_sees_personal_data_through_the_api(env: Env) -> None:
    client, csrf = env.client("officer")
    response = client.post(
        "/api/v1/complaints/C-LS-1/personal-data", json={"purpose": "回访投诉人"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["phone"]) == (NAME, PHONE)
    assert env.people.audit_search(action=COMPLAINTS_VIEW_PERSONAL_DATA, actor="officer", limit=1)


def test_a_view_without_a_purpose_shows_nothing_and_records_nothing(env: Env) -> None:
    client, csrf = env.client("supervisor")
    response = client.post("/complaints/C-LS-1/personal-data", data={"csrf_token": csrf, "purpose": "  "})
    assert response.status_code == 400 and NAME not in response.text
    assert env.people.audit_count(action=COMPLAINTS_VIEW_PERSONAL_DATA) == 0


def test_a_refused_view_is_on_record(env: Env) -> None:
    client, csrf = env.client("analyst")
    response = client.post(
        "/api/v1/complaints/C-LS-1/personal-data", json={"purpose": "看看"}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 403 and NAME not in response.text
    record = env.people.audit_search(action=COMPLAINTS_VIEW_PERSONAL_DATA, limit=1)[0].event
    assert (record.actor, record.resource_id, record.allowed) == ("analyst", "C-LS-1", False)


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_the_personal_data_post_needs_the_csrf_token(env: Env, token: str | None) -> None:
    client, _ = env.client("supervisor")
    form = {"purpose": "核实"} | ({"csrf_token": token} if token else {})
    headers = {"X-CSRF-Token": token} if token else {}
    by_form = client.post("/complaints/C-LS-1/personal-data", data=form)
    by_api = client.post("/api/v1/complaints/C-LS-1/personal-data", json={"purpose": "核实"}, headers=headers)
    assert by_form.status_code == by_api.status_code == 403
    assert NAME not in by_form.text and NAME not in by_api.text
    assert env.people.audit_count(action=COMPLAINTS_VIEW_PERSONAL_DATA) == 0


# -- on the lead page -------------------------------------------------------------------------------
def test_lead_page_lists_the_complaints_against_its_seller(env: Env) -> None:
    client, _ = env.client("officer")
    page = client.get(f"/leads/{env.ids['L1']}").text
    assert 'id="lead-complaints"' in page and 'href="/complaints/C-LS-1"' in page
    assert "C-QH-1" not in page and "C-LS-2" not in page
    other = client.get(f"/leads/{env.ids['L3']}").text  # shop S2: no complaints
    assert 'id="lead-complaints"' in other and "C-LS-1" not in other
    qh, _ = env.client("qh_officer")
    assert 'href="/complaints/C-QH-1"' in qh.get(f"/leads/{env.ids['Q1']}").text


def test_a_workspace_without_complaints_still_works(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    client, _ = env.client("supervisor")
    assert "尚未导入投诉记录" in client.get("/complaints").text
    assert client.get("/api/v1/complaints").json()["total"] == 0
    assert client.get("/complaints/C-LS-1").status_code == 404
    assert client.get(f"/leads/{env.ids['L1']}").status_code == 200
