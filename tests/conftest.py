"""Shared fixtures: every test gets its own SWEEP_DATA_DIR so nothing touches a developer's data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sweep.models import Evidence, Finding, LeadEvent, Listing, Shop


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_DATA_DIR", str(tmp_path / "sweep-data"))
    monkeypatch.setenv("SWEEP_CONFIG", str(tmp_path / "no-such-sweep.toml"))
    # servers are opted into by integration fixtures: a developer's shell with .services/env loaded must not
    # send a unit test's writes to the shared Kafka, search engine or PostgreSQL
    for backend in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL"):
        monkeypatch.delenv(backend, raising=False)
    from sweep.settings import get_settings

    get_settings.cache_clear()


def make_listing(listing_id: str = "L1", title: str = "出售高纯氰化钠 98%", **kw) -> Listing:
    shop = kw.pop("shop", Shop(shop_id="S1", name="鑫达化工商行", region="河北省石家庄市"))
    return Listing(platform="demo-mall", listing_id=listing_id, title=title, shop=shop, **kw)


def make_event(
    listing_id: str = "L1",
    family: str = "chem.toxic",
    at: datetime | None = None,
    title: str = "出售高纯氰化钠 98%",
    severity: str = "high",
) -> LeadEvent:
    listing = make_listing(listing_id, title)
    finding = Finding(
        platform=listing.platform,
        listing_id=listing_id,
        family=family,
        rule_id=f"{family}/test",
        severity=severity,
        evidence=[Evidence(field="title", text=title[:3], start=0, end=min(3, len(title)))],
        legal_basis="危险化学品安全管理条例",
    )
    return LeadEvent.of(finding, listing, at or datetime(2026, 11, 1, tzinfo=UTC))


@pytest.fixture
def t0() -> datetime:
    return datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def later(t0: datetime):
    return lambda hours: t0 + timedelta(hours=hours)
