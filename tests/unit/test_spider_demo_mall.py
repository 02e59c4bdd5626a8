"""The demo_mall spider's parsing and the item pipelines, without a reactor or network: responses
are built from the demo mall's pre-rendered pages."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from demomall.generator import generate
from demomall.server import Site
from spiders.browser import BrowserNotFoundError, require_chromium
from spiders.pipelines import CrawledListing, JsonLinesPipeline, PublishPipeline, ValidatePipeline
from spiders.spiders.demo_mall import DemoMallSpider
from sweep.models import Listing

BASE = "http://mall.test"


@pytest.fixture(scope="module")
def mall_site():
    mall = generate(120, 5, malformed=2)
    return mall, Site(mall)


def response(site: Site, path: str, **meta: Any) -> HtmlResponse:
    raw = site.routes[path]
    body = raw[raw.index(b"\r\n\r\n") + 4 :]
    return HtmlResponse(url=BASE + path, body=body, encoding="utf-8", request=Request(BASE + path, meta=meta))


@pytest.fixture
def spider() -> DemoMallSpider:
    crawler = get_crawler(DemoMallSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return DemoMallSpider.from_crawler(crawler, base_url=BASE)


def test_static_page_and_shop_merge(mall_site, spider) -> None:
    mall, site = mall_site
    expected = {lst.listing_id: lst for lst in mall.listings(BASE)}
    item = next(i for i in mall.items if not i.client_rendered)
    lid = item.listing.listing_id
    out = list(spider.parse_item(response(site, f"/item/{lid}.html")))
    assert len(out) == 1 and isinstance(out[0], Request) and "/shop/" in out[0].url  # shop fetched first
    shop_id = item.listing.shop.shop_id  # type: ignore[union-attr]
    emitted = list(spider.parse_shop(response(site, f"/shop/{shop_id}.html"), shop_id=shop_id))
    assert len(emitted) == 1
    got = Listing.model_validate(emitted[0])
    assert got.crawled_at
    assert got.model_dump(exclude={"crawled_at"}) == expected[lid].model_dump(exclude={"crawled_at"})
    # a second item of the same shop is emitted at once, without another shop request
    other = next(
        (i for i in mall.items if i.listing.shop.shop_id == shop_id and i is not item and not i.client_rendered),  # type: ignore[union-attr]
        None,
    )
    if other:
        again = list(spider.parse_item(response(site, f"/item/{other.listing.listing_id}.html")))
        assert len(again) == 1 and isinstance(again[0], dict)
    # the same item seen twice is emitted once
    assert list(spider.parse_item(response(site, f"/item/{lid}.html"))) == []


def test_client_rendered_shell_is_requested_with_playwright(mall_site, spider) -> None:
    _, site = mall_site
    mall, _ = mall_site
    item = next(i for i in mall.items if i.client_rendered)
    out = list(spider.parse_item(response(site, f"/item/{item.listing.listing_id}.html")))
    assert len(out) == 1 and isinstance(out[0], Request)
    assert out[0].meta["playwright"] is True and out[0].dont_filter
    assert out[0].meta["playwright_page_methods"]


def test_no_js_spider_skips_shells(mall_site) -> None:
    mall, site = mall_site
    crawler = get_crawler(DemoMallSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    spider = DemoMallSpider.from_crawler(crawler, base_url=BASE, render_js="false")
    item = next(i for i in mall.items if i.client_rendered)
    assert list(spider.parse_item(response(site, f"/item/{item.listing.listing_id}.html"))) == []
    assert crawler.stats.get_value("sweep/client_rendered_skipped") == 1  # type: ignore[union-attr]


def test_malformed_page_is_reported_and_dropped_by_validation(mall_site, spider) -> None:
    mall, site = mall_site
    page = (
        next(m for m in mall.malformed if m.broken_table)
        if any(m.broken_table for m in mall.malformed)
        else mall.malformed[0]
    )
    item = spider.extract_listing(response(site, f"/item/{page.page_id}.html"))
    assert item is not None and "title" not in item
    assert spider.crawler.stats.get_value("sweep/malformed") >= 1
    pipeline = ValidatePipeline(spider.crawler.stats)
    with pytest.raises(DropItem, match="title"):
        pipeline.process_item(item)
    assert spider.crawler.stats.get_value("sweep/invalid") == 1


def test_validate_rejects_wrong_types_with_field(spider) -> None:
    pipeline = ValidatePipeline(spider.crawler.stats)
    with pytest.raises(DropItem, match="price"):
        pipeline.process_item({"platform": "demo-mall", "listing_id": "X", "title": "t", "price": "12元"})
    ok = pipeline.process_item({"platform": "demo-mall", "listing_id": "X", "title": "t", "price": 12.0})
    assert isinstance(ok, CrawledListing) and ok.listing.price == 12.0


class _FailingBus:
    def __init__(self) -> None:
        self.published = 0
        self.closed = False

    def publish(self, topic: str, key: str | None, value: bytes, headers: dict | None = None) -> None:
        self.published += 1

    def flush(self, timeout_s: float = 60.0) -> None:
        raise OSError("broker unreachable")

    def close(self) -> None:
        self.closed = True


def test_publish_flush_failure_fails_loudly(monkeypatch, spider) -> None:
    bus = _FailingBus()
    monkeypatch.setattr("adapters.open_bus", lambda settings=None: bus)
    pipeline = PublishPipeline(spider.crawler.stats, enabled=True)
    pipeline.open_spider()
    pipeline.process_item(CrawledListing(Listing(platform="demo-mall", listing_id="A", title="t")))
    assert bus.published == 1
    with pytest.raises(OSError):
        pipeline.close_spider()
    assert "broker unreachable" in spider.crawler.stats.get_value("sweep/publish_failed")
    assert bus.closed


def test_jsonlines_output_is_replaced(tmp_path) -> None:
    path = tmp_path / "o.jsonl"
    for _ in range(2):
        p = JsonLinesPipeline(str(path))
        p.open_spider()
        p.process_item(CrawledListing(Listing(platform="demo-mall", listing_id="A", title="枸杞")))
        p.close_spider()
    assert path.read_text(encoding="utf-8").count("\n") == 1
    assert "枸杞" in path.read_text(encoding="utf-8")


def test_missing_browser_names_the_setting(tmp_path) -> None:
    with pytest.raises(BrowserNotFoundError, match="SWEEP_CHROMIUM"):
        require_chromium(str(tmp_path / "no-such-chromium"))
