"""The workspace's case work in real Chromium (Debian's, driven by Playwright): a supervisor adds
everything a search returns to a new case with the count shown first, uploads files to the case and
downloads them, links a 12315 complaint whose hostile text stays inert, reads a lead's price and title
history, its takedown state and the same company on another platform, and manages accounts on the users
page. SWEEP_SCREENSHOTS=docs/screenshots writes the README's lead and case screenshots (1280 wide)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from complaints.sellers import bootstrap_from_leads
from sweep.models import Listing, Shop
from sweep.recrawl import ListingGone
from tests.integration.test_workspace_browser import (
    Served,
    chromium_or_fail,
    log_in,
    more_events,
    shots_dir,
    total,
)
from tests.unit.test_workspace_complaints import seed_complaints
from tests.unit.test_workspace_support import LHASA, PASSWORD, T0, Env, event, make_env

pytestmark = [pytest.mark.integration, pytest.mark.browser]

USCC = "91540100MA6T000019"
WIDTH = 1280


def licensed(e, uscc: str = USCC):
    return e.model_copy(update={"listing": e.listing.model_copy(update={"shop_licence_no": uscc})})


def listing_copy(title: str, price: float, days: int) -> Listing:
    return Listing(
        platform="demo",
        listing_id="L1",
        title=title,
        url="http://mall.test/item/L1.html",
        category="化工原料",
        price=price,
        shop=Shop(shop_id="S1", name="拉萨化工旗舰店", region=LHASA, licence_no=USCC),
        crawled_at=(T0 + timedelta(days=days)).isoformat(),
    )


def casework_env(tmp_path: Path) -> Env:
    """The unit tests' world plus: complaints (seed_complaints), lead L1 crawled three times (price
    down, then title changed) and then found delisted, and the same company (USCC) on another platform."""
    env = make_env(tmp_path)
    env.add(*more_events())
    store = env.store
    store.index_listings([listing_copy("工业级氰化钠 98% 现货", 120.0, 0)])
    store.index_listings([listing_copy("工业级氰化钠 98% 现货", 98.0, 2)])
    store.index_listings([listing_copy("工业级氰化钠 99% 现货 包邮", 98.0, 4)])
    resighted = licensed(event("L1", "工业级氰化钠 99% 现货 包邮", when=T0 + timedelta(days=4)))
    env.add(resighted.model_copy(update={"listing": resighted.listing.model_copy(update={"price": 98.0})}))
    store.record_observations(
        [ListingGone(platform="demo", listing_id="L1", reason="delisted", at=T0 + timedelta(days=6))]
    )
    env.add(
        licensed(
            event(
                "U2", "氰化钠 工业级 另一平台直营", shop_id="T1", shop_name="拉萨化工旗舰店（拼购）", platform="pinduo"
            )
        )
    )
    seed_complaints(env)  # rebuilds the app with the complaint store and seller directory
    bootstrap_from_leads(env.store, env.app.state.workspace.sellers)  # as `sweep complaints sync-sellers`
    return env


@pytest.fixture(name="browser")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    path = chromium_or_fail()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--lang=zh-CN"])
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    chromium_or_fail()
    with Served(casework_env(tmp_path)) as s:
        yield s


def test_a_case_from_a_whole_search_with_files_and_complaints(served: Served, browser: object, tmp_path: Path) -> None:
    base = served.url
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base, "supervisor")

    # everything 拉萨化工 returns, into a new case, the count shown before it runs
    page.fill("#q", "氰化钾")
    page.press("#q", "Enter")
    page.wait_for_selector("tr.lead")
    expected = total(page)
    assert expected == 2  # L3 and M1 in Lhasa
    page.check("#target-search")
    page.select_option("#bulk-action", "case")
    page.select_option("#bulk-case", "new")
    page.click("#bulk-preview-button")
    page.wait_for_selector("#bulk-count")
    assert int(page.inner_text("#bulk-count")) == expected
    assert page.inner_text("#bulk-case-name") == "（新建案件）"
    page.click("#bulk-run")
    page.wait_for_selector("#job-finished", timeout=60_000)
    page.click("#job-case")
    page.wait_for_selector("#case-number")
    assert page.locator("#case-leads tbody tr").count() == expected
    assert page.inner_text("h1") == "「氰化钾」批量立案"
    case_url = page.url

    # attachments: a scanned notice and an HTML file that must come back as a file, not a page
    notice = b"%PDF-1.4\n" + "责令改正通知书".encode() * 200
    page.set_input_files(
        "#attach-form input[type=file]",
        files=[{"name": "责令改正通知书.pdf", "mimeType": "application/pdf", "buffer": notice}],
    )
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#case-attachments a:has-text('责令改正通知书.pdf')")
    hostile = b"<html><script>alert('attached')</script><img src=x onerror=alert(2)></html>"
    page.set_input_files(
        "#attach-form input[type=file]", files=[{"name": "店铺回复.html", "mimeType": "text/html", "buffer": hostile}]
    )
    page.click("#attach-form button[type=submit]")
    page.wait_for_selector("#case-attachments a:has-text('店铺回复.html')")
    rows = page.inner_text("#case-attachments")
    assert "application/pdf" in rows and "text/plain" in rows
    with page.expect_download() as download:
        page.click("#case-attachments a:has-text('责令改正通知书.pdf')")
    saved = tmp_path / "notice.pdf"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "责令改正通知书.pdf"
    assert saved.read_bytes() == notice
    with page.expect_download() as download:
        page.click("#case-attachments a:has-text('店铺回复.html')")
    download.value.save_as(tmp_path / "reply.html")
    assert (tmp_path / "reply.html").read_bytes() == hostile  # saved as a file, never opened
    assert page.url == case_url

    # a 12315 complaint linked to the case, its hostile text shown as text and its personal data masked
    page.fill("#link-complaints input[name=complaint_id_list]", "C-LS-1")
    page.click("#link-complaints button[type=submit]")
    page.wait_for_selector("#case-complaints a:has-text('C-LS-1')")
    linked = page.inner_text("#case-complaints")
    assert '<script>alert("c")</script>' in linked
    assert "13812345678" not in page.inner_text("body")
    page.screenshot(path=str(shots_dir(tmp_path) / "case.png"), full_page=True)

    # all of it on record
    page.goto(f"{base}/audit")
    log = page.inner_text("#audit")
    for action in ("lead.bulk_case", "case.attach", "case.attachment_download", "case.complaint_link"):
        assert action in log, action
    assert dialogs == []
    context.close()


def test_a_lead_shows_its_history_takedown_and_company(served: Served, browser: object, tmp_path: Path) -> None:
    env, base = served.env, served.url
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, base, "officer")
    page.goto(f"{base}/leads/{env.ids['L1']}")
    assert page.inner_text("#lead-online") == "已下架"
    versions = page.locator("#lead-versions tbody tr")
    assert versions.count() == 4  # now, removed, title changed, price changed (newest first)
    assert [versions.nth(i).locator("td").nth(1).inner_text() for i in range(4)] == [
        "当前",
        "下架",
        "内容变化",
        "内容变化",
    ]
    assert "已下架页面" in versions.nth(1).inner_text()
    assert versions.nth(2).locator("del").inner_text() == "工业级氰化钠 98% 现货"
    assert versions.nth(2).locator("ins").inner_text() == "工业级氰化钠 99% 现货 包邮"
    assert versions.nth(3).locator("del").inner_text() == "¥120.0"
    assert versions.nth(3).locator("ins").inner_text() == "¥98.0"
    company = page.inner_text("#same-company")
    assert "氰化钠 工业级 另一平台直营" in company and "pinduo" in company
    page.click("#same-company a")
    page.wait_for_selector("#lead-title")
    assert "另一平台直营" in page.inner_text("#lead-title")
    page.goto(f"{base}/leads/{env.ids['L1']}")
    page.screenshot(path=str(shots_dir(tmp_path) / "lead.png"), full_page=True)
    context.close()


def test_a_supervisor_opens_an_account_on_the_users_page(served: Served, browser: object) -> None:
    base = served.url
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, base, "supervisor")
    page.click("nav a:has-text('用户')")
    page.wait_for_selector("#users")
    assert page.locator('#users tr[data-user="qh_officer"]').count() == 0
    page.fill("#add-user input[name=username]", "zhaoliu")
    page.fill("#add-user input[name=display_name]", "赵六")
    page.select_option("#add-user select[name=role]", "officer")
    page.fill("#add-user input[name=region]", "540102")
    page.fill("#add-user input[name=password]", PASSWORD)
    page.click("#add-user button[type=submit]")
    page.wait_for_selector('#users tr[data-user="zhaoliu"]')
    row = page.locator('#users tr[data-user="zhaoliu"]')
    assert "执法人员" in row.inner_text() and "正常" in row.inner_text()
    row.locator("button:has-text('停用')").click()
    page.wait_for_selector('#users tr[data-user="zhaoliu"] .state:has-text("已停用")')
    other = browser.new_context()
    login = other.new_page()
    login.goto(f"{base}/login")
    login.fill('input[name="username"]', "zhaoliu")
    login.fill('input[name="password"]', PASSWORD)
    login.click('button[type="submit"]')
    login.wait_for_load_state()
    assert "/login" in login.url  # a disabled account cannot log in
    other.close()
    context.close()


def test_hostile_names_are_inert_on_the_new_pages(served: Served, browser: object) -> None:
    from sweep.people import Actor, Role
    from workspace.auth import add_user

    env, base = served.env, served.url
    ws = env.app.state.workspace
    supervisor = Actor("supervisor", Role.supervisor, ("540000",))
    add_user(env.people, "evil", PASSWORD, "officer", "540100", display_name="<img src=x onerror=alert(1)>{{7*7}}")
    case = ws.create_case(supervisor, [env.ids["X1"]], source="t")
    ws.attach(supervisor, case.id, '<svg onload=alert(2)>"{{7*7}}.html', b"<script>alert(3)</script>", source="t")
    ws.link_complaints(supervisor, case.id, ["C-LS-1"], source="t")
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base, "supervisor")
    for path in ("/users", f"/cases/{case.id}", f"/leads/{env.ids['X1']}", f"/leads/{env.ids['L1']}"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        state = page.evaluate(
            """() => ({
                inlineScripts: document.querySelectorAll('script:not([src])').length,
                badImages: document.querySelectorAll('img[src="x"]').length,
                svg: document.querySelectorAll('svg').length,
                handlers: [...document.querySelectorAll('*')].filter(
                    e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            })"""
        )
        assert state == {"inlineScripts": 0, "badImages": 0, "svg": 0, "handlers": 0}, (path, state)
    page.goto(f"{base}/users")
    assert "<img src=x onerror=alert(1)>{{7*7}}" in page.inner_text('#users tr[data-user="evil"]')  # as text
    page.goto(f"{base}/cases/{case.id}")
    assert "svg onload=alert(2){{77}}.html" in page.inner_text("#case-attachments")  # safe_filename's, not evaluated
    assert dialogs == []
    context.close()
