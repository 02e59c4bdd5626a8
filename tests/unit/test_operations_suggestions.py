"""Complaint-driven crawl targets: an unmatched complaint naming a shop address or shop id is suggested,
and accepting it — from the CLI or the operators' page — creates one target (source: complaint)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adapters import open_audit_log, open_complaint_store, open_seller_directory
from adapters.people.operations_sql import open_operations_store
from app.cli.main import app as cli
from app.web import create_app
from complaints.readers import Row, Table
from complaints.service import ComplaintService
from operations import suggestions as suggested
from sweep.people import Actor, Role
from sweep.settings import get_settings
from sweep.store.complaints import Seller
from sweep.store.operations import JobState, TargetExistsError, Trigger
from tests.unit.test_workspace_support import LHASA, PASSWORD, Env, csrf_of, make_env
from workspace.auth import add_user

ROWS = [
    {  # matched to a shop sweep knows: no suggestion
        "complaint_id": "C-KNOWN",
        "received_at": "2026-11-01",
        "platform": "demo",
        "shop_id": "S1",
        "shop_name": "拉萨化工旗舰店",
        "text": "无资质销售",
        "region": LHASA,
    },
    {  # unknown shop with its address: suggested, the site comes from the address
        "complaint_id": "C-URL",
        "received_at": "2026-11-02",
        "platform": "demo-mall",
        "shop_name": "雪域未知化工",
        "url": "http://127.0.0.1:8000/shop/S0777.html",
        "text": "出售剧毒化学品，电话13812345678",
        "region": LHASA,
    },
    {  # unknown shop id only: suggested, the operator names the site
        "complaint_id": "C-ID",
        "received_at": "2026-11-03",
        "platform": "demo-mall",
        "shop_id": "S0888",
        "shop_name": "高原杂货铺",
        "text": "假冒商品",
        "region": LHASA,
    },
    {  # a name only: nowhere to start a crawl, not suggested
        "complaint_id": "C-NAME",
        "received_at": "2026-11-04",
        "platform": "别的商城",
        "shop_name": "某小店",
        "text": "商品与描述不符",
        "region": LHASA,
    },
]


def seed(settings) -> None:  # type: ignore[no-untyped-def]
    store, sellers = open_complaint_store(settings), open_seller_directory(settings)
    sellers.observe([Seller("demo", "S1", name="拉萨化工旗舰店", region=LHASA, lead_ids=["x"])])
    service = ComplaintService(store, sellers, open_audit_log(settings))
    rows = iter([Row(i + 2, dict(values)) for i, values in enumerate(ROWS)])
    report = service.import_table(Table(source="t.jsonl", rows=rows), Actor("importer", Role.operator))
    assert report.accepted == 4 and report.error_count == 0
    store.close()
    sellers.close()


def test_suggestions_are_unmatched_complaints_with_an_address_or_shop_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEP_PEOPLE_URL", raising=False)  # this test's own data dir, not a shared server
    settings = get_settings()
    seed(settings)
    complaints = open_complaint_store(settings)
    found = {s.complaint_id: s for s in suggested.suggestions(complaints)}
    assert sorted(found) == ["C-ID", "C-URL"]
    assert found["C-URL"].base_url == "http://127.0.0.1:8000"
    assert found["C-ID"].base_url is None
    with pytest.raises(suggested.SuggestionError):
        suggested.suggestion(complaints, "C-KNOWN")
    with pytest.raises(suggested.SuggestionError):
        suggested.suggestion(complaints, "C-NAME")
    with pytest.raises(suggested.SuggestionError):
        suggested.suggestion(complaints, "C-NONE")
    with pytest.raises(suggested.SuggestionError):  # no address and no site named
        suggested.accept(open_operations_store(settings), complaints, "C-ID")


def test_accept_from_the_cli_creates_one_target_and_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEP_PEOPLE_URL", raising=False)  # this test's own data dir, not a shared server
    seed(get_settings())
    runner = CliRunner()
    done = runner.invoke(cli, ["targets", "accept-suggestion", "C-URL", "--run"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    store = open_operations_store(get_settings())
    target = store.get_target("complaint-C-URL")
    assert target.base_url == "http://127.0.0.1:8000"
    assert target.start_urls == ["http://127.0.0.1:8000/shop/S0777.html"]
    assert target.settings["trigger"] == "complaint"
    assert target.settings["complaint_id"] == "C-URL"
    (job,) = store.list_jobs()
    assert (job.target_name, job.trigger, job.state) == ("complaint-C-URL", Trigger.COMPLAINT, JobState.QUEUED)
    assert store.frontier_count(job.id) == 1
    again = runner.invoke(cli, ["targets", "accept-suggestion", "C-URL"])
    assert again.exit_code == 1 and "already accepted" in again.output
    assert len(store.list_targets()) == 1

    no_site = runner.invoke(cli, ["targets", "accept-suggestion", "C-ID"])
    assert no_site.exit_code == 1
    with_site = runner.invoke(cli, ["targets", "accept-suggestion", "C-ID", "--base-url", "http://127.0.0.1:8000"])
    assert with_site.exit_code == 0, with_site.output
    assert store.get_target("complaint-C-ID").shops == ["S0888"]
    assert runner.invoke(cli, ["targets", "accept-suggestion", "C-KNOWN"]).exit_code == 1
    listed = runner.invoke(cli, ["targets", "suggestions", "--json"])
    assert sorted(re.findall(r'"complaint_id": ?"([^"]+)"', listed.output)) == ["C-ID", "C-URL"]


def test_accept_from_the_operators_page(tmp_path: Path) -> None:
    env: Env = make_env(tmp_path)
    seed(env.settings)
    add_user(env.people, "operator", PASSWORD, "operator", "000000")
    env.app = create_app(env.settings, store=env.store, people=env.people)
    client = TestClient(env.app, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    page = client.post(
        "/login",
        data={"username": "operator", "password": PASSWORD, "csrf_token": token, "next": "/ops/suggestions"},
    )
    assert page.status_code == 200
    assert "C-URL" in page.text and "C-ID" in page.text and "C-KNOWN" not in page.text
    assert "13812345678" not in page.text and "出售剧毒" not in page.text  # shop facts only
    token = csrf_of(page.text)
    r = client.post("/ops/suggestions/accept", data={"csrf_token": token, "complaint_id": "C-URL", "run_now": "1"})
    assert r.status_code == 200 and "投诉" in r.text
    store = env.app.state.operations.store
    (job,) = store.list_jobs()
    assert job.trigger == Trigger.COMPLAINT and job.requested_by == "operator"
    assert store.get_target("complaint-C-URL").settings["complaint_id"] == "C-URL"
    assert "已采纳" in client.get("/ops/suggestions").text
    twice = client.post("/ops/suggestions/accept", data={"csrf_token": token, "complaint_id": "C-URL"})
    assert twice.status_code == 400
    assert len(store.list_targets()) == 1
    actions = [r.event.action for r in env.people.audit_search(actor="operator")]
    assert "ops.suggestion.accept" in actions

    officer, officer_token = env.client("officer")
    refused = officer.post("/ops/suggestions/accept", data={"csrf_token": officer_token, "complaint_id": "C-ID"})
    assert refused.status_code == 403
    with pytest.raises(TargetExistsError):
        suggested.accept(store, env.app.state.workspace.complaints, "C-URL")
