"""The dashboard and report downloads in the workspace: each officer sees their own jurisdiction's
figures (the hand-counted world of `test_reports`), never another province's, whatever the URL asks."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from adapters import open_complaint_store, open_lead_store
from adapters.people import open_people_store
from adapters.people.operations_sql import open_operations_store
from app.web import create_app
from sweep.settings import Settings
from tests.unit.test_reports import load_world
from workspace.auth import add_user

PASSWORD = "correct horse battery staple 9"
DAY = "from=2026-12-01&to=2026-12-01"


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Settings]]:
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    settings = Settings(data_dir=tmp_path, kafka=None, search_url=None, people_url=None)
    leads, complaints = open_lead_store(settings), open_complaint_store(settings)
    people, ops = open_people_store(settings), open_operations_store(settings)
    load_world(leads, complaints, people, ops)
    ops.close()
    add_user(people, "zj", PASSWORD, "officer", "330000")
    add_user(people, "js", PASSWORD, "officer", "320000")
    add_user(people, "nat", PASSWORD, "supervisor", "000000")
    yield create_app(settings, store=leads, people=people, complaints=complaints), settings
    for store in (leads, complaints, people):
        store.close()


def client_for(app: object, username: str) -> TestClient:
    client = TestClient(app, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    page = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert page.status_code == 200
    return client


def kpi(page: str, name: str) -> str:
    match = re.search(rf'id="kpi-{name}"><span class="label">[^<]*</span><span class="value">([^<]*)</span>', page)
    assert match, name
    return match.group(1)


def charts(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S).group(1)
    return orjson.loads(raw)


def test_each_officer_sees_only_their_province(app_settings: tuple[object, Settings]) -> None:
    app, _ = app_settings
    zj = client_for(app, "zj").get(f"/dashboard?{DAY}").text
    assert (kpi(zj, "leads"), kpi(zj, "complaints"), kpi(zj, "done"), kpi(zj, "cases")) == ("3", "3", "66.7%", "1")
    for other in ("丙店", "南京丙公司", "江苏省南京市", "丙店 案"):
        assert other not in zj
    assert charts(zj)["leads_per_day"]["series"] == [
        {"name": "剧毒化学品", "data": [2]},
        {"name": "广告绝对化用语", "data": [1]},
    ]
    assert "监测运行情况" not in zj  # crawl jobs have no region: only nationwide viewers see them

    js = client_for(app, "js").get(f"/dashboard?{DAY}").text
    assert (kpi(js, "leads"), kpi(js, "complaints"), kpi(js, "done"), kpi(js, "cases")) == ("1", "1", "100.0%", "1")
    for other in ("甲化工店", "杭州甲化工有限公司", "浙江省", "alert(1)"):
        assert other not in js

    nat = client_for(app, "nat").get(f"/dashboard?{DAY}").text
    assert (kpi(nat, "leads"), kpi(nat, "complaints")) == ("4", "4")
    assert "监测运行情况" in nat and "demo-mall" in nat


def test_crawled_text_is_escaped_in_the_page_and_its_chart_data(app_settings: tuple[object, Settings]) -> None:
    app, _ = app_settings
    page = client_for(app, "zj").get(f"/dashboard?{DAY}").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the table under the chart
    assert "\\u003cscript\\u003ealert(1)" in page  # the JSON block (tojson escapes < and >)
    assert charts(page)["top_shops_leads"]["categories"][1].endswith("<script>alert(1)</script>")


def test_report_downloads_are_scoped_too(app_settings: tuple[object, Settings]) -> None:
    app, _ = app_settings
    client = client_for(app, "js")
    response = client.get(f"/dashboard/report?kind=daily&format=xlsx&{DAY}")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book["一、总体情况"]["B2"].value == 1  # Jiangsu's one lead, not Zhejiang's three
    html = client.get(f"/dashboard/report?kind=campaign&format=html&{DAY}").text
    assert "江苏省（320000）" in html and "甲化工店" not in html
    assert client.get(f"/dashboard/report?kind=nope&format=html&{DAY}").status_code == 400
    assert client.get("/dashboard?from=2026-12-09&to=2026-12-01").status_code == 400


def test_the_dashboard_needs_a_login(app_settings: tuple[object, Settings]) -> None:
    app, _ = app_settings
    response = TestClient(app, follow_redirects=False).get("/dashboard")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_operator_health_page(app_settings: tuple[object, Settings]) -> None:
    app, _ = app_settings
    add_user(app.state.workspace.people, "adm", PASSWORD, "admin", "000000")
    page = client_for(app, "adm").get("/dashboard/health")
    assert page.status_code == 200
    assert "运行状态" in page.text and "内置 SQLite 存储" in page.text
    assert re.search(r"<th>线索总数</th><td>6</td>", page.text)  # the six leads of the world
    assert "24 小时内" in page.text
    assert client_for(app, "zj").get("/dashboard/health").status_code == 403  # officers do not run the system
