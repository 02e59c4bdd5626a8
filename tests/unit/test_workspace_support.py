"""Shared set-up of the workspace tests (no tests here): embedded stores, one account per role, leads in
Lhasa (540100), Qinghai (630000) and one listing full of hostile markup, and a logged-in client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from adapters.people.sql import SqlPeopleStore
from adapters.store.sqlite import SqliteLeadStore
from app.web import create_app
from sweep.models import Evidence, Finding, LeadEvent, Listing, Shop
from sweep.settings import Settings
from workspace import auth
from workspace.auth import add_user

# argon2-cffi's default profile (64 MiB, 3 passes) costs about a second per hash on a busy 2-CPU
# machine; the tests check what is hashed and compared, not the cost, so they use a cheap profile.
auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PASSWORD = "correct horse battery"
LHASA = "西藏自治区拉萨市城关区"
QINGHAI = "青海省西宁市城中区"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

XSS_TITLE = '氰化钠 <script>alert("t")</script><img src=x onerror=alert(1)> {{7*7}} ${7*7}'
XSS_DESCRIPTION = (
    '出售氰化钠 <svg onload=alert(2)></svg> <a href="javascript:alert(3)">点我</a> '
    '<iframe src="javascript:alert(4)"></iframe> {{ config }} {% print(7*7) %} <em onmouseover=alert(5)>x</em>'
)
XSS_URL = "javascript:alert(6)"
EVIDENCE_WORDS = ("氰化钠", "氰化钾", "高锰酸钾", "硝酸铵", "降三高", "最低价", "最好")

USERS = {
    # name: (role, jurisdiction)
    "officer": ("officer", "540100"),
    "qh_officer": ("officer", "630000"),
    "supervisor": ("supervisor", "540000"),
    "analyst": ("analyst", "540100"),
    "auditor": ("auditor", "000000"),
    "admin": ("admin", "000000"),
}


def event(
    listing_id: str,
    title: str,
    *,
    shop_id: str = "S1",
    shop_name: str = "拉萨化工旗舰店",
    region: str = LHASA,
    family: str = "chem.toxic",
    rule_id: str = "chem.toxic.sale",
    severity: str = "high",
    description: str = "",
    url: str | None = None,
    when: datetime = T0,
    platform: str = "demo",
) -> LeadEvent:
    """A sighting whose evidence is the first of EVIDENCE_WORDS in the title (offsets on the raw title)."""
    listing = Listing(
        platform=platform,
        listing_id=listing_id,
        title=title,
        description=description or None,
        url=url or f"http://mall.test/item/{listing_id}.html",
        category="化工原料",
        price=120.0,
        shop=Shop(shop_id=shop_id, name=shop_name, region=region),
    )
    word = next((w for w in EVIDENCE_WORDS if w in title), title[:2])
    start = title.find(word)
    finding = Finding(
        platform=platform,
        listing_id=listing_id,
        family=family,
        rule_id=rule_id,
        severity=severity,
        evidence=[Evidence(field="title", text=word, start=start, end=start + len(word), matched=f"{word} (剧毒)")],
        legal_basis="《危险化学品安全管理条例》第三十八条",
        title_zh="网售剧毒化学品",
    )
    return LeadEvent.of(finding, listing, when)


def seed_events() -> list[LeadEvent]:
    return [
        event(
            "L1",
            "工业级氰化钠 98% 现货",
            shop_id="S1",
            description="工业级氰化钠，纯度 98%，25kg/桶，现货供应，可开票。",
        ),
        event("L2", "氰化钠 电镀用 大量供应", shop_id="S1", when=T0 + timedelta(hours=1)),
        event("L3", "氰化钾 分析纯", shop_id="S2", shop_name="城关试剂商行", when=T0 + timedelta(hours=2)),
        event(
            "L4",
            "广告：最好的藏香",
            shop_id="S3",
            shop_name="藏香铺",
            family="ad.absolute_terms",
            rule_id="ad.absolute",
            severity="low",
            when=T0 + timedelta(hours=3),
        ),
        event("Q1", "氰化钠 西宁现货", shop_id="S9", shop_name="西宁化工", region=QINGHAI),
        event(
            "X1",
            XSS_TITLE,
            shop_id="S4",
            shop_name="<b>恶意</b>店铺{{7*7}}",
            description=XSS_DESCRIPTION,
            url=XSS_URL,
            when=T0 + timedelta(hours=4),
        ),
    ]


@dataclass
class Env:
    root: Path
    settings: Settings
    store: SqliteLeadStore
    people: SqlPeopleStore
    app: FastAPI
    ids: dict[str, str] = field(default_factory=dict)
    """listing id -> lead id"""

    def client(self, username: str | None = None) -> tuple[TestClient, str]:
        """A client (logged in as `username` when given) and its CSRF token."""
        client = TestClient(self.app, follow_redirects=True)
        if username is None:
            return client, ""
        login_page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text).group(1)
        response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 200, response.text[:500]
        return client, csrf_of(client.get("/leads").text)

    def add(self, *events: LeadEvent) -> None:
        self.store.apply_events(events)
        for e in events:
            self.ids[e.finding.listing_id] = e.lead_id


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]*)"', html).group(1)


def make_env(root: Path, **settings: object) -> Env:
    data = root / "data"
    cfg = Settings(data_dir=data, **settings)
    store = SqliteLeadStore(data / "leads.sqlite")
    people = SqlPeopleStore(f"sqlite:///{data / 'people.sqlite'}")
    for name, (role, region) in USERS.items():
        add_user(people, name, PASSWORD, role, region)
    app = create_app(cfg, store=store, people=people)
    env = Env(root, cfg, store, people, app)
    env.add(*seed_events())
    return env
