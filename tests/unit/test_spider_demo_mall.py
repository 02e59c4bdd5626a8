"""The demo_mall spider's parsing and the item pipelines, without a reactor or network: responses
are built from the demo mall's pre-rendered pages."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from demomall.generator import generate
from demomall.server import Site
from spiders.browser import BrowserNotFoundError, require_chromium
from spiders.pipelines import CrawledListing, ListingItemPipeline, PublishPipeline, ValidatePipeline
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


def make_spider(**kwargs: Any) -> DemoMallSpider:
    crawler = get_crawler(DemoMallSpider)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return DemoMallSpider.from_crawler(crawler, **({"base_url": BASE} | kwargs))


@pytest.fixture
def spider() -> DemoMallSpider:
    return make_spider()


def static_items(mall: Any) -> list[Any]:
    return [i for i in mall.items if not i.client_rendered]


def test_listing_travels_to_its_shop_page_and_later_ones_use_the_cache(mall_site, spider) -> None:
    mall, site = mall_site
    expected = {lst.listing_id: lst for lst in mall.listings(BASE)}
    item = static_items(mall)[0]
    lid = item.listing.listing_id
    shop_id = item.listing.shop.shop_id  # type: ignore[union-attr]
    out = list(spider.parse_item(response(site, f"/item/{lid}.html")))
    assert len(out) == 1 and isinstance(out[0], Request)
    assert out[0].url == f"{BASE}/shop/{shop_id}.html" and out[0].callback == spider.parse_shop
    carried = out[0].cb_kwargs["listing"]
    assert carried["listing_id"] == lid and carried["shop"] == {
        "shop_id": shop_id,
        "name": item.listing.shop.name,  # type: ignore[union-attr]
        "url": f"{BASE}/shop/{shop_id}.html",
    }
    emitted = list(spider.parse_shop(response(site, f"/shop/{shop_id}.html"), **out[0].cb_kwargs))
    assert len(emitted) == 1
    got = Listing.model_validate(emitted[0])
    assert got.crawled_at
    assert got.model_dump(exclude={"crawled_at"}) == expected[lid].model_dump(exclude={"crawled_at"})
    # another listing of the same shop is emitted at once, from the cache, without another shop request
    other = next(i for i in static_items(mall) if i.listing.shop.shop_id == shop_id and i is not item)  # type: ignore[union-attr]
    again = list(spider.parse_item(response(site, f"/item/{other.listing.listing_id}.html")))
    assert len(again) == 1 and isinstance(again[0], dict)
    assert again[0]["shop"]["licence_no"] == item.listing.shop.licence_no  # type: ignore[union-attr]
    assert spider.crawler.stats.get_value("sweep/shops") == 1


def test_listing_waits_for_a_shop_page_already_requested(mall_site, spider) -> None:
    mall, site = mall_site
    first, second = [i for i in static_items(mall) if i.listing.shop.shop_id == "S0002"][:2]  # type: ignore[union-attr]
    (shop_request,) = spider.parse_item(response(site, f"/item/{first.listing.listing_id}.html"))
    (wait,) = spider.parse_item(response(site, f"/item/{second.listing.listing_id}.html"))
    assert wait.url == "data:," and wait.callback == spider.rejoin_shop and wait.priority < 0
    # still unanswered: it waits again rather than fetching the page a second time
    (again,) = spider.rejoin_shop(response(site, "/"), **wait.cb_kwargs)
    assert again.url == "data:," and again.cb_kwargs["waits"] == 2
    list(spider.parse_shop(response(site, "/shop/S0002.html"), **shop_request.cb_kwargs))
    (joined,) = spider.rejoin_shop(response(site, "/"), **again.cb_kwargs)
    assert joined["listing_id"] == second.listing.listing_id and joined["shop"]["region"] == first.listing.shop.region  # type: ignore[union-attr]


def test_spider_state_is_bounded_by_the_shop_cache(mall_site) -> None:
    mall, site = mall_site
    spider = make_spider(shop_cache_size=2)
    shop_ids = sorted({i.listing.shop.shop_id for i in static_items(mall)})[:5]  # type: ignore[union-attr]
    for shop_id in shop_ids:
        listing = {"platform": "demo-mall", "listing_id": f"L-{shop_id}", "title": "t", "shop": {"shop_id": shop_id}}
        list(spider.parse_shop(response(site, f"/shop/{shop_id}.html"), listing=listing))
    assert list(spider.shops) == shop_ids[-2:]  # least recently used shops left first


def test_every_request_survives_a_jobdir_round_trip(mall_site, spider) -> None:
    """JOBDIR keeps the queue on disk: a request must come back with the same callback and data."""
    mall, site = mall_site
    shell = next(i for i in mall.items if i.client_rendered)
    requests = [
        *spider.parse_home(response(site, "/")),
        *spider.parse_category(response(site, "/c/chemicals")),
        *spider.parse_item(response(site, f"/item/{static_items(mall)[0].listing.listing_id}.html")),
        *spider.parse_item(response(site, f"/item/{static_items(mall)[1].listing.listing_id}.html")),
        *spider.parse_item(response(site, f"/item/{shell.listing.listing_id}.html")),
    ]
    assert {r.callback for r in requests} >= {spider.parse_category, spider.parse_item, spider.parse_shop}
    for request in requests:
        back = request_from_dict(pickle.loads(pickle.dumps(request.to_dict(spider=spider))), spider=spider)
        assert (back.url, back.callback, back.errback, back.cb_kwargs) == (
            request.url,
            request.callback,
            request.errback,
            request.cb_kwargs,
        )
        assert back.meta.get("playwright") == request.meta.get("playwright")


def test_base_url_sets_allowed_domains_and_comes_from_a_setting() -> None:
    crawler = get_crawler(DemoMallSpider, {"DEMO_MALL_URL": "http://mall.example:8000/"})
    spider = DemoMallSpider.from_crawler(crawler)
    assert spider.base_url == "http://mall.example:8000"
    assert spider.allowed_domains == ["mall.example"]
    assert make_spider(base_url="http://127.0.0.1:9/").allowed_domains == ["127.0.0.1"]


def test_settings_module_probes_nothing_and_the_addon_finds_the_browser(tmp_path, monkeypatch) -> None:
    import importlib

    import spiders.browser as browser
    import spiders.settings as project

    calls: list[str | None] = []
    monkeypatch.setattr(browser, "find_chromium", lambda configured=None: calls.append(configured) or "/opt/chromium")
    importlib.reload(project)
    assert calls == [] and "executable_path" not in project.PLAYWRIGHT_LAUNCH_OPTIONS
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule(project, priority="project")
    browser.SystemChromium().update_settings(settings)
    assert settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")["executable_path"] == "/opt/chromium"
    static = Settings({"DOWNLOAD_HANDLERS": {}})
    browser.SystemChromium().update_settings(static)
    assert len(calls) == 1  # no browser handler, no lookup


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
    spider = make_spider(render_js="false")
    crawler = spider.crawler
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


def test_listings_leave_the_pipelines_as_plain_dicts_for_feed_exports() -> None:
    listing = Listing(platform="demo-mall", listing_id="A", title="枸杞", description="详" * 30_000)
    doc = ListingItemPipeline().process_item(CrawledListing(listing))
    assert doc == listing.model_dump(mode="json")
    assert doc["truncated"] == ["description"] and doc["description"].endswith("…[截断]")


def test_oversized_listing_is_truncated_counted_and_kept(spider) -> None:
    pipeline = ValidatePipeline(spider.crawler.stats)
    doc = {"platform": "demo-mall", "listing_id": "BIG", "title": "t", "description": "长" * 5_000_000}
    out = pipeline.process_item(doc)
    assert len(out.listing.description) == 20_000 and out.listing.truncated == ["description"]
    assert spider.crawler.stats.get_value("sweep/listings_truncated") == 1
    pipeline.process_item({"platform": "demo-mall", "listing_id": "OK", "title": "t"})
    assert spider.crawler.stats.get_value("sweep/listings_truncated") == 1


def test_missing_browser_names_the_setting(tmp_path) -> None:
    with pytest.raises(BrowserNotFoundError, match="SWEEP_CHROMIUM"):
        require_chromium(str(tmp_path / "no-such-chromium"))
