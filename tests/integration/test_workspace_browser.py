"""The workspace in real Chromium (Debian's, driven by Playwright) against `sweep serve`'s application
under uvicorn on 127.0.0.1: the officer's day end to end, hostile listings rendered inert on every
page, and the README screenshots (SWEEP_SCREENSHOTS=docs/screenshots writes them there)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from rules.book import load_rulebook
from spiders.browser import find_chromium
from sweep.models import LeadEvent, Listing, Shop
from tests.unit.test_workspace_support import LHASA, PASSWORD, Env, event, make_env

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]


def shots_dir(tmp_path: Path) -> Path:
    """Where screenshots go: SWEEP_SCREENSHOTS=docs/screenshots refreshes the README's; otherwise a
    temporary folder, so an ordinary test run leaves the work tree as it was."""
    configured = os.environ.get("SWEEP_SCREENSHOTS")
    path = (ROOT / configured) if configured else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_or_fail() -> str:
    path = find_chromium(os.environ.get("SWEEP_CHROMIUM"))
    if not path:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true but no Chromium: `make install-browser` installs Debian's", pytrace=False)
        pytest.skip("no Chromium (set SWEEP_CHROMIUM)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def more_events() -> list[LeadEvent]:
    """A believable queue for the screenshots, beside the fixed leads of the unit tests."""
    rows = [
        ("M1", "剧毒 氰化钾 500g 实验室用 包邮", "S5", "城关化学试剂店", LHASA, "chem.toxic", "high"),
        (
            "M2",
            "高锰酸钾 工业级 25kg/袋 量大从优",
            "S6",
            "拉萨鑫盛化工",
            "西藏自治区拉萨市堆龙德庆区",
            "chem.drug_precursor",
            "medium",
        ),
        (
            "M3",
            "硝酸铵 现货 可开票",
            "S6",
            "拉萨鑫盛化工",
            "西藏自治区拉萨市堆龙德庆区",
            "chem.explosive_precursor",
            "high",
        ),
        (
            "M4",
            "藏红花 降三高 治疗失眠 正品",
            "S7",
            "高原特产馆",
            "西藏自治区拉萨市城关区",
            "food.medical_claim",
            "medium",
        ),
        (
            "M5",
            "全网最低价 第一品牌 牦牛肉干",
            "S7",
            "高原特产馆",
            "西藏自治区拉萨市城关区",
            "ad.absolute_terms",
            "low",
        ),
        ("M6", "氰化钠 电镀级 拉萨自提", "S8", "达孜精细化工", "西藏自治区拉萨市达孜区", "chem.toxic", "high"),
    ]
    return [
        event(
            lid,
            title,
            shop_id=shop,
            shop_name=name,
            region=region,
            family=family,
            rule_id=f"{family}.demo",
            severity=sev,
            description=f"{title}。详情请咨询客服，支持批发。",
        )
        for lid, title, shop, name, region, family, sev in rows
    ]


class Served:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(env.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    chromium_or_fail()
    env = make_env(tmp_path)
    env.add(*more_events())
    with Served(env) as s:
        yield s


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_or_fail()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


def log_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/leads")
    assert "/login" in page.url
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/leads")


def total(page: object) -> int:
    return int(page.inner_text("#total strong"))


def test_an_officers_day_in_the_browser(served: Served, browser: object, tmp_path: Path) -> None:
    env, base = served.env, served.url
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base, "supervisor")

    # search 氰化钠 and narrow by a facet
    page.fill("#q", "氰化钠")
    page.press("#q", "Enter")
    page.wait_for_selector("tr.lead")
    everything = total(page)
    assert everything == 4  # L1, L2, X1 and M6 in Lhasa; never Q1 of Qinghai
    assert page.locator("tr.lead em").count() >= 1  # highlighted matches
    page.click('section[data-facet="shop"] a:has-text("拉萨化工旗舰店")')
    page.wait_for_load_state()
    assert total(page) == 2
    page.goto(f"{base}/leads?q=氰化钠")
    shots = shots_dir(tmp_path)
    page.screenshot(path=str(shots / "queue.png"))

    # keyboard: j moves, x selects
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.inner_text("#selected-count") == "1"

    # open a lead and assign it
    l1 = env.ids["L1"]
    page.goto(f"{base}/leads/{l1}")
    assert page.locator("#lead-title mark").inner_text() == "氰化钠"
    assert "危险化学品安全管理条例" in page.inner_text(".rule")
    page.select_option('#assign-form select[name="assignee"]', "officer")
    page.click('#assign-form button[type="submit"]')
    page.wait_for_selector("#lead-assignee")
    assert page.inner_text("#lead-assignee") == "officer"
    page.screenshot(path=str(tmp_path / "lead.png"), full_page=True)  # the README's is the casework test's

    # dismiss with the shop as scope
    page.select_option('#dismiss-form select[name="reason"]', "lawful_seller")
    page.select_option('#dismiss-form select[name="scope"]', "shop")
    page.click('#dismiss-form button[type="submit"]')
    page.wait_for_load_state()
    assert page.inner_text("#lead-status") == "已排除"
    assert env.store.get(env.ids["L2"]).status.value == "dismissed"

    # detection runs again: the rulebook finds a new listing of the dismissed shop
    fresh = Listing(
        platform="demo",
        listing_id="N1",
        title="氰化钠 新到一批 现货速发",
        url="http://mall.test/item/N1.html",
        shop=Shop(shop_id="S1", name="拉萨化工旗舰店", region=LHASA, licence_no="91540100MA6T000000"),
    )
    findings = [f for f in load_rulebook().scan(fresh) if f.family == "chem.toxic"]
    assert findings
    env.add(*(LeadEvent.of(f, fresh) for f in findings))
    page.goto(f"{base}/leads?q=氰化钠&status=new")
    assert "新到一批" not in page.inner_text("#leads")
    page.goto(f"{base}/dismissals")
    assert page.inner_text("#dismissals .suppressed") == "2"  # L2 then N1, counted

    # bulk-assign everything a search returns, with the count before it runs
    page.goto(f"{base}/leads?q=拉萨")
    expected = total(page)
    page.check("#target-search")
    page.select_option("#bulk-action", "assign")
    page.select_option('#bulk select[name="assignee"]', "officer")
    page.click("#bulk-preview-button")
    page.wait_for_selector("#bulk-count")
    assert int(page.inner_text("#bulk-count")) == expected
    page.click("#bulk-run")
    page.wait_for_selector("#job-finished", timeout=60_000)
    assert env.people.audit_count(action="lead.bulk_assign") == expected

    # a case from two leads, exported
    page.goto(f"{base}/leads?q=高原特产馆")
    boxes = page.locator('tr.lead input[name="lead_ids"]')
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#make-case")
    page.wait_for_selector("#case-number")
    number = page.inner_text("#case-number")
    assert page.locator("#case-leads tbody tr").count() == 2
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)  # the README's is the casework test's
    with page.expect_download(timeout=120_000) as download:
        page.click("#export-pdf")
    pdf = tmp_path / "case.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    with page.expect_download() as download:
        page.click("#export-xlsx")
    assert download.value.suggested_filename == f"case-{number}.xlsx"

    # all of it in the audit log
    page.goto(f"{base}/audit")
    log = page.inner_text("#audit")
    for action in (
        "auth.login",
        "lead.assign",
        "lead.dismiss",
        "dismissal.add",
        "lead.suppressed",
        "lead.bulk_assign",
        "case.create",
        "export",
    ):
        assert action in log, action
    assert dialogs == []
    context.close()


def test_hostile_listings_are_inert_on_every_page(served: Served, browser: object) -> None:
    env, base = served.env, served.url
    x1 = env.ids["X1"]
    ws = env.app.state.workspace
    from sweep.people import Actor, Role

    case = ws.create_case(Actor("supervisor", Role.supervisor, ("540000",)), [x1], source="t")
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    foreign: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith(base) else foreign.append(r.url))
    log_in(page, base, "supervisor")
    pages = [
        "/leads",
        "/leads?q=氰化钠",
        "/leads?q=script",
        f"/leads/{x1}",
        f"/cases/{case.id}",
        "/cases",
        "/audit",
        "/dismissals",
        "/leads?mine=1",
    ]
    for path in pages:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        for el in page.locator("mark, em, a, td").all()[:200]:
            el.hover(timeout=2000, trial=False) if el.is_visible() else None
        state = page.evaluate(
            """() => ({
                inlineScripts: document.querySelectorAll('script:not([src])').length,
                badImages: document.querySelectorAll('img[src="x"]').length,
                svg: document.querySelectorAll('svg').length,
                iframes: document.querySelectorAll('iframe').length,
                handlers: [...document.querySelectorAll('*')].filter(
                    e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
                jsLinks: [...document.querySelectorAll('a[href]')].filter(
                    a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript')).length,
                evaluated: document.body.innerText.includes('49 49'),  // {{7*7}} ${7*7} if evaluated
            })"""
        )
        assert state == {
            "inlineScripts": 0,
            "badImages": 0,
            "svg": 0,
            "iframes": 0,
            "handlers": 0,
            "jsLinks": 0,
            "evaluated": False,
        }, (path, state)
    page.goto(f"{base}/leads/{x1}")
    text = page.inner_text("body")
    assert '<script>alert("t")</script>' in text
    assert "{{7*7}}" in text
    assert "javascript:alert(6)" in text  # the URL is shown, not linked
    assert dialogs == []
    assert foreign == []
    context.close()
