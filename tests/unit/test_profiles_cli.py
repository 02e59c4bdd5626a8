"""`sweep profiles check|list` against the demo mall served in a thread, and on a hostile saved page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli.main import app
from demomall.generator import generate
from demomall.server import run_in_thread

runner = CliRunner()


@pytest.fixture(scope="module")
def mall() -> Iterator[tuple[object, str]]:
    mall = generate(30, 7)
    url, stop = run_in_thread(mall)
    yield mall, url
    stop()


def test_check_shows_what_each_selector_extracts_from_a_live_page(mall) -> None:
    m, url = mall
    item = next(i for i in m.items if not i.client_rendered)
    lst = item.listing
    result = runner.invoke(
        app, ["profiles", "check", "demo_mall", "--url", f"{url}/item/{lst.listing_id}.html"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "css main.item h1.item-title" in out and lst.title in out
    assert f"{lst.price:.2f}" in out  # the price as the page prints it
    assert "css main.item a.shop @href" in out and f"/shop/{lst.shop.shop_id}.html" in out
    assert "is a product page" in out and "未找到" not in out


def test_check_reports_selectors_that_find_nothing_and_robots_refusals(mall) -> None:
    _, url = mall
    home = runner.invoke(app, ["profiles", "check", "demo_mall", "--url", f"{url}/"], env={"COLUMNS": "250"})
    assert home.exit_code == 0 and "未找到 not found" in home.output and "selector(s) extracted nothing" in home.output
    cart = runner.invoke(app, ["profiles", "check", "demo_mall", "--url", f"{url}/cart"], env={"COLUMNS": "250"})
    assert cart.exit_code == 1 and "robots.txt" in cart.output and "disallows" in cart.output


def test_check_cleans_hostile_page_text_and_names_profile_errors(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '<html><body><main class="item" data-listing-id="X1"><h1 class="item-title">Evil\x1b[2J\x1b]0;pwned\x07 '
        'title</h1><span class="price-value">9.90</span></main></body></html>',
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["profiles", "check", "demo_mall", "--url", "http://mall.test/item/X1.html", "--html", str(page)]
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "Evil" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nplatform: b\nstart_urls: ['http://b.test/']\nlinks: {detail: ['(']}\n", encoding="utf-8")
    broken = runner.invoke(app, ["profiles", "check", str(bad), "--url", "http://b.test/p"], env={"COLUMNS": "250"})
    assert broken.exit_code == 2 and "bad.yaml: links.detail:" in broken.output


def test_list_shows_the_packaged_profiles() -> None:
    result = runner.invoke(app, ["profiles", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "demo_mall_profile" in result.output and "demo-mall" in result.output
