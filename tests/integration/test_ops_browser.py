"""The operators' pages in real Chromium: an operator adds a crawl target and a schedule, runs it now and
finds the job; an officer sees neither the menu entry nor the pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_workspace_browser import PASSWORD, Served, browser, chromium_or_fail, shots_dir
from tests.unit.test_workspace_support import make_env
from workspace.auth import add_user

pytestmark = [pytest.mark.integration, pytest.mark.browser]
__all__ = ["browser"]  # the fixture, imported for pytest


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    chromium_or_fail()
    env = make_env(tmp_path)
    add_user(env.people, "operator", PASSWORD, "operator", "000000")
    with Served(env) as s:
        yield s


def log_in(page: object, base: str, username: str, landing: str) -> None:
    page.goto(f"{base}{landing}")
    assert "/login" in page.url
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}{landing}")


def test_an_operator_schedules_and_runs_a_crawl(served: Served, browser: object, tmp_path: Path) -> None:
    base = served.url
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, base, "operator", "/ops/jobs")
    assert page.locator('header nav a:has-text("采集运维")').count() == 1
    assert "暂无采集任务" in page.inner_text("#jobs")

    page.click('.ops-nav a:has-text("采集目标")')
    page.wait_for_url(f"{base}/ops/targets")
    page.fill('#target-add input[name="name"]', "chem-daily")
    page.fill('#target-add input[name="base_url"]', "http://127.0.0.1:8000")
    page.fill('#target-add input[name="categories"]', "chemicals")
    page.fill('#target-add input[name="keywords"]', "氰化钠，硝酸铵")
    page.click('#target-add button[type="submit"]')
    page.wait_for_selector('tr.target[data-name="chem-daily"]')
    row = page.inner_text('tr.target[data-name="chem-daily"]')
    assert "类目：chemicals" in row and "关键词：氰化钠、硝酸铵" in row

    page.click('.ops-nav a:has-text("定时计划")')
    page.wait_for_url(f"{base}/ops/schedules")
    page.select_option('#schedule-add select[name="target_id"]', label="chem-daily")
    page.fill('#schedule-add input[name="cron"]', "0 8 * * *")
    page.click('#schedule-add button[type="submit"]')
    page.wait_for_selector("tr.schedule")
    assert "0 8 * * *" in page.inner_text("tr.schedule") and "生效中" in page.inner_text("tr.schedule .state")
    page.click("tr.schedule button.toggle")
    page.wait_for_load_state()
    assert page.inner_text("tr.schedule .state") == "已暂停"
    page.click("tr.schedule button.toggle")
    page.wait_for_load_state()
    assert page.inner_text("tr.schedule .state") == "生效中"

    page.click("tr.schedule button.run-now")
    page.wait_for_selector("#job-id")
    job_id = page.inner_text("#job-id")
    assert page.inner_text("#job-state") == "排队中"
    assert "chem-daily" in page.inner_text("#job-meta") and "operator" in page.inner_text("#job-meta")
    assert "3 seed request(s)" in page.inner_text("#job-log")  # one category, two keyword searches
    page.screenshot(path=str(shots_dir(tmp_path) / "ops_job.png"), full_page=True)

    page.click('.ops-nav a:has-text("采集任务")')
    page.wait_for_selector(f'tr.job[data-id="{job_id}"]')
    assert "chem-daily" in page.inner_text(f'tr.job[data-id="{job_id}"]')
    assert "人工" in page.inner_text(f'tr.job[data-id="{job_id}"]')
    page.screenshot(path=str(shots_dir(tmp_path) / "ops_jobs.png"), full_page=True)
    context.close()


def test_an_officer_cannot_see_the_operators_pages(served: Served, browser: object) -> None:
    base = served.url
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    log_in(page, base, "officer", "/leads")
    assert page.locator('header nav a:has-text("采集运维")').count() == 0
    for path in ("/ops/jobs", "/ops/targets", "/ops/schedules", "/ops/suggestions"):
        response = page.goto(f"{base}{path}")
        assert response.status == 403, path
        assert "无权" in page.inner_text("main")
    context.close()
