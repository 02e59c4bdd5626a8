"""The dashboard in real Chromium: an officer of 浙江省 sees the charts drawn (ECharts canvases) and
their numbers one click away, and none of 江苏省's numbers or names; the officer of 江苏省 the reverse.
SWEEP_SCREENSHOTS=docs/screenshots writes the README's picture of the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_workspace_browser import Served, browser, chromium_or_fail, shots_dir  # noqa: F401
from tests.unit.test_dashboard import DAY, PASSWORD, app_settings  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.browser]


class _Env:
    def __init__(self, app: object) -> None:
        self.app = app


def log_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state()


def test_dashboard_per_jurisdiction(app_settings, browser, tmp_path: Path) -> None:  # noqa: F811
    chromium_or_fail()
    app, _ = app_settings
    with Served(_Env(app)) as served:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        log_in(page, served.url, "zj")
        page.goto(f"{served.url}/dashboard?{DAY}")
        page.wait_for_selector('[data-chart="leads_per_day"] canvas')
        assert page.locator("[data-chart] canvas").count() >= 5  # every chart with data was drawn
        assert page.inner_text("#kpi-leads .value") == "3"
        assert page.inner_text("#kpi-done .value") == "66.7%"
        text = page.inner_text("main")
        for other in ("丙店", "南京丙公司", "江苏省"):
            assert other not in text
        shops = page.locator("#t-top_shops_leads details")
        assert not shops.locator("table").is_visible()
        shops.locator("summary").click()  # the numbers behind the chart: one click
        assert shops.locator("tbody tr").first.inner_text().split("\t") == ["甲化工店", "2"]
        assert page.evaluate("window.__xss") is None  # the hostile shop name ran nowhere
        page.screenshot(path=str(shots_dir(tmp_path) / "dashboard.png"), full_page=True)
        assert not errors, errors

        other = browser.new_context(locale="zh-CN").new_page()
        log_in(other, served.url, "js")
        other.goto(f"{served.url}/dashboard?{DAY}")
        other.wait_for_selector('[data-chart="leads_per_day"] canvas')
        assert other.inner_text("#kpi-leads .value") == "1"
        text = other.inner_text("main")
        for mine in ("甲化工店", "乙店", "浙江省", "杭州甲化工有限公司"):
            assert mine not in text
        context.close()
