"""GET /metrics on the workspace (embedded stores): the counts a Prometheus scrape sees, written by hand
from what the test stored, and the bearer token when one is configured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from adapters import open_bus, open_lead_store
from app.web import create_app
from sweep.models import Finding, LeadEvent, ListingSummary, TriageStatus
from sweep.settings import Settings

AT = datetime(2026, 12, 1, tzinfo=UTC)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("SWEEP_METRICS_TOKEN", raising=False)
    settings = Settings(data_dir=tmp_path, kafka=None, search_url=None, people_url=None, topic_prefix="m")
    store = open_lead_store(settings)
    events = []
    for n in range(3):
        finding = Finding(platform="taobao", listing_id=f"M{n}", family="chem.toxic", rule_id="r", severity="high")
        listing = ListingSummary(title=f"商品{n}", region="浙江省杭州市")
        events.append(
            LeadEvent(
                lead_id=finding.lead_id, observed_at=datetime(2026, 12, 1, tzinfo=UTC), finding=finding, listing=listing
            )
        )
    store.apply_events(events)
    store.set_status(events[0].lead_id, TriageStatus.confirmed)
    bus = open_bus(settings)
    bus.publish("m.deadletter", "x", b"bad")
    bus.publish("m.leads", "y", b"{}")
    bus.close()
    return TestClient(create_app(settings, store=store))


def test_metrics_count_what_the_stores_hold(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("sweep_leads", (("status", "new"),))] == 2
    assert got[("sweep_leads", (("status", "confirmed"),))] == 1
    assert got[("sweep_dead_letters", (("topic", "m.deadletter"),))] == 1
    assert got[("sweep_bus_messages", (("topic", "m.leads"),))] == 1
    assert got[("sweep_bus_up", ())] == 1
    assert got[("sweep_crawl_jobs_running", ())] == 0


def test_metrics_token(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_METRICS_TOKEN", "s3cret")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
