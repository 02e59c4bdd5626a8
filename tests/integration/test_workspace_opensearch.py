"""The same workspace on OpenSearch (the production lead store): jurisdiction, safe highlights, decisions
written through to the index, dismissal memory and a bulk action over a search. Real server from
`services/up.sh opensearch`; indices named with `run_prefix` and deleted afterwards."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.people.sql import SqlPeopleStore
from adapters.store.searchengine import admin, open_search_store
from app.web import create_app
from sweep.settings import Settings
from tests.unit.test_workspace_support import PASSWORD, USERS, event, seed_events
from workspace.auth import add_user

pytestmark = pytest.mark.integration


@pytest.fixture
def app_on_opensearch(opensearch_url: str, run_prefix: str, tmp_path: Path) -> Iterator[tuple]:
    prefix = f"{run_prefix}-ws-{uuid.uuid4().hex[:6]}"
    store = open_search_store(Settings(search_url=opensearch_url), prefix=prefix, refresh="wait_for", ensure=True)
    people = SqlPeopleStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    for name, (role, region) in USERS.items():
        add_user(people, name, PASSWORD, role, region)
    events = seed_events()
    store.apply_events(events)
    app = create_app(Settings(data_dir=tmp_path, search_url=opensearch_url), store=store, people=people)
    try:
        yield app, store, people, {e.finding.listing_id: e.lead_id for e in events}
    finally:
        admin.delete_all(store)
        store.close()
        people.close()


def login(app: object, username: str) -> tuple[TestClient, str]:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert (
        client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 200
    )
    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/leads").text).group(1)
    return client, csrf


def test_workspace_on_opensearch(app_on_opensearch: tuple) -> None:
    app, store, people, ids = app_on_opensearch
    client, csrf = login(app, "officer")

    # jurisdiction and highlights
    found = client.get("/api/v1/leads", params={"q": "氰化钠"}).json()
    assert sorted(item["lead"]["listing_id"] for item in found["leads"]) == ["L1", "L2", "X1"]
    assert client.get(f"/leads/{ids['Q1']}").status_code == 404
    page = client.get("/leads", params={"q": "氰化钠"}).text
    assert "<em>氰化钠</em>" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page

    # a decision reaches the index
    client.post(f"/leads/{ids['L3']}/assign", data={"csrf_token": csrf, "version": "0", "assignee": "officer"})
    assert store.get(ids["L3"]).assignee == "officer"

    # dismissal memory keeps the shop's new listing out of the queue
    client.post(
        f"/leads/{ids['L1']}/dismiss",
        data={"csrf_token": csrf, "version": "0", "reason": "lawful_seller", "scope": "shop"},
    )
    assert store.get(ids["L2"]).status.value == "dismissed"
    fresh = event("L9", "氰化钠 新上架", shop_id="S1")
    store.apply_events([fresh])
    queue = client.get("/api/v1/leads", params={"status": "new"}).json()
    assert "L9" not in [item["lead"]["listing_id"] for item in queue["leads"]]
    assert store.get(fresh.lead_id).status.value == "dismissed"

    # bulk over a search, as a supervisor
    boss, boss_csrf = login(app, "supervisor")
    job = boss.post(
        "/api/v1/bulk",
        json={"action": "status", "status": "triaged", "query": "q=氰化钾", "wait": True},
        headers={"X-CSRF-Token": boss_csrf},
    ).json()
    assert (job["state"], job["done"]) == ("done", 1)
    assert store.get(ids["L3"]).status.value == "triaged"
    assert people.audit_count(action="lead.bulk_status") == 1
