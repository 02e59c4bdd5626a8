"""The seller directory on the production servers, end to end: `sweep complaints sync-sellers --from-leads`
fills the sellers index from the leads index, and a workspace (another process, in production another
machine) shows a lead's "same company" from it, inside the officer's jurisdiction. On OpenSearch and on
the minimal Elasticsearch; no Kafka needed (the bus is embedded, the leads are written directly).

Each case has its own index prefix, removed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from adapters import open_seller_directory
from adapters.people.sql import SqlPeopleStore
from adapters.store.searchengine import admin, open_search_store
from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.sellers import SearchSellerDirectory
from app.cli.main import app as cli
from app.web import create_app
from sweep.settings import get_settings
from tests.integration.test_workspace_opensearch import login
from tests.unit.test_workspace_casework import LHASA_USCC, OTHER_USCC, licensed
from tests.unit.test_workspace_support import PASSWORD, QINGHAI, USERS, event
from workspace.auth import add_user

pytestmark = pytest.mark.integration


@pytest.fixture(params=["opensearch", "elasticsearch-minimal"])
def leads(
    request: pytest.FixtureRequest, run_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SearchEngineStore]:
    url = request.getfixturevalue("opensearch_url" if request.param == "opensearch" else "es_minimal_url")
    prefix = f"{run_prefix}-selws{uuid.uuid4().hex[:6]}"
    monkeypatch.delenv("SWEEP_KAFKA", raising=False)  # the embedded bus in the data dir: nothing on it
    monkeypatch.setenv("SWEEP_SEARCH_URL", url)
    monkeypatch.setenv("SWEEP_INDEX_PREFIX", prefix)
    monkeypatch.setenv("SWEEP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    store = open_search_store(refresh="wait_for", ensure=True)
    try:
        yield store
    finally:
        try:
            for name in store.get_indices(f"{prefix}-*"):
                store.delete_index(name)
            admin.delete_all(store)
        except Exception as exc:  # cleaning up must not hide the test's own outcome
            print(f"cleanup of {prefix}: {exc}")
        store.close()
        get_settings.cache_clear()


def test_sync_sellers_fills_the_index_and_the_workspace_shows_the_same_company(
    leads: SearchEngineStore, tmp_path: Path
) -> None:
    events = [
        licensed(event("U1", "氰化钠 旗舰店", shop_id="S1"), LHASA_USCC),
        licensed(event("U2", "氰化钠 另一平台", shop_id="T1", shop_name="拉萨化工二店", platform="other"), LHASA_USCC),
        licensed(
            event("U3", "氰化钠 外省分店", shop_id="T2", shop_name="西宁分店", platform="other", region=QINGHAI),
            LHASA_USCC,
        ),
        licensed(event("U4", "氰化钾 无关企业", shop_id="T3", shop_name="别家", platform="other"), OTHER_USCC),
    ]
    leads.apply_events(events)
    ids = {e.finding.listing_id: e.lead_id for e in events}

    result = CliRunner().invoke(cli, ["complaints", "sync-sellers", "--from-leads"])
    assert result.exit_code == 0, result.output
    assert "从线索库读取 4 条线索" in result.output
    assert "卖家目录共 4 个店铺" in result.output
    with open_seller_directory() as directory:  # another process: the index, not a local file
        assert isinstance(directory, SearchSellerDirectory)
        assert not (tmp_path / "data" / "complaints.sqlite").exists()
        assert [s.key for s in directory.with_uscc(LHASA_USCC)] == ["demo\x1fS1", "other\x1fT1", "other\x1fT2"]
        shop = directory.get("other", "T1")
        assert shop is not None and shop.name == "拉萨化工二店" and shop.lead_ids == [ids["U2"]]
    again = CliRunner().invoke(cli, ["complaints", "sync-sellers", "--from-leads"])
    assert again.exit_code == 0 and "卖家目录共 4 个店铺" in again.output  # a second sync adds nothing

    people = SqlPeopleStore(f"sqlite:///{tmp_path / 'people.sqlite'}")
    try:
        for name, (role, region) in USERS.items():
            add_user(people, name, PASSWORD, role, region)
        workspace = create_app(get_settings(), store=leads, people=people)
        assert isinstance(workspace.state.workspace.sellers, SearchSellerDirectory)
        officer, _ = login(workspace, "officer")
        page = officer.get(f"/leads/{ids['U1']}").text
        company = page.split('id="same-company"')[1].split("</ul>")[0]
        assert "氰化钠 另一平台" in company and "other · 拉萨化工二店" in company
        assert "外省分店" not in company  # Qinghai: outside the officer's 540100
        assert "无关企业" not in company and "氰化钠 旗舰店" not in company
        admin_client, _ = login(workspace, "admin")
        assert "外省分店" in admin_client.get(f"/leads/{ids['U1']}").text.split('id="same-company"')[1]
    finally:
        people.close()
