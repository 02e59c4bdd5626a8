"""The complaint pages in real Chromium (Debian's, driven by Playwright) against the workspace under
uvicorn on 127.0.0.1: a supervisor lists complaints, opens one whose text is hostile markup and sees it
inert, views its personal data with a stated purpose, follows the matched seller's lead and finds the
complaint listed on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sweep.permissions import COMPLAINTS_VIEW_PERSONAL_DATA
from tests.integration.test_workspace_browser import Served, browser, chromium_or_fail, log_in  # noqa: F401
from tests.unit.test_workspace_complaints import NAME, PHONE, seed_complaints
from tests.unit.test_workspace_support import make_env

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    chromium_or_fail()
    env = make_env(tmp_path)
    seed_complaints(env)
    with Served(env) as s:
        yield s


def test_a_supervisor_follows_a_complaint_to_its_lead(served: Served, browser: object) -> None:  # noqa: F811
    env, base = served.env, served.url
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, base, "supervisor")

    page.goto(f"{base}/complaints")
    assert page.inner_text("#total strong") == "2"  # both of Lhasa; never Qinghai's
    rows = page.locator("tr.complaint")
    assert sorted(rows.nth(i).get_attribute("data-id") for i in range(rows.count())) == ["C-LS-1", "C-LS-2"]
    assert NAME not in page.content() and PHONE not in page.content()

    page.click('a[href="/complaints/C-LS-1"]')
    page.wait_for_selector("#complaint-text")
    text = page.inner_text("#complaint-text")
    assert '<script>alert("c")</script>' in text and "{{7*7}}" in text and "<img src=x" in text
    assert page.locator("#complaint-text script, #complaint-text img").count() == 0
    assert NAME not in page.content()

    page.fill('#personal-form input[name="purpose"]', "核实投诉人身份")
    page.click('#personal-form button[type="submit"]')
    page.wait_for_selector("#personal-data")
    assert NAME in page.inner_text("#personal-data") and PHONE in page.inner_text("#personal-data")
    assert env.people.audit_search(action=COMPLAINTS_VIEW_PERSONAL_DATA, actor="supervisor", limit=1)

    lead_id = env.ids["L1"]
    page.click(f'#matches a.matched-lead[href="/leads/{lead_id}"]')
    page.wait_for_url(f"{base}/leads/{lead_id}")
    listed = page.locator('#lead-complaints a[href="/complaints/C-LS-1"]')
    assert listed.count() == 1 and listed.inner_text() == "C-LS-1"
    assert NAME not in page.content()
    assert dialogs == []
    context.close()
