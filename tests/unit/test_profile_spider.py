"""Site profiles (spiders/profiles) and the spiders built from them (spiders/spiders/profile.py),
without a reactor or network: the demo mall's pre-rendered pages are fed to the spiders' callbacks
by a small in-process driver.

The demo mall's profile must give the same listings as the hand-written demo_mall spider."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler

from demomall.generator import generate
from demomall.server import Site
from spiders.profiles import PROFILES_DIR, ProfileError, load_profile, packaged_profiles, parse_profile
from spiders.spiders.demo_mall import DemoMallSpider
from spiders.spiders.profile import ProfileSpider
from sweep.models import Listing

BASE = "http://mall.test"


@pytest.fixture(scope="module")
def mall_site():
    mall = generate(80, 11, malformed=2)
    return mall, Site(mall)


def crawl_offline(spider: Any, site: Site, first: list[Request]) -> tuple[list[dict[str, Any]], int]:
    """Run a spider's callbacks over the mall's pages, breadth first, as Scrapy would (duplicate
    URLs filtered unless `dont_filter`); browser requests are counted, not rendered."""
    queue: deque[Request] = deque(first)
    seen: set[str] = set()
    items: list[dict[str, Any]] = []
    browser = 0
    while queue:
        request = queue.popleft()
        if request.meta.get("playwright"):
            browser += 1
            continue
        if not request.dont_filter:
            if request.url in seen:
                continue
            seen.add(request.url)
        if request.url.startswith("data:"):
            response: Any = TextResponse(url=request.url, body=b"", request=request)
        else:
            path = request.url.removeprefix(BASE)
            raw = site.routes.get(path)
            if raw is None:
                continue
            body = raw[raw.index(b"\r\n\r\n") + 4 :]
            response = HtmlResponse(url=request.url, body=body, encoding="utf-8", request=request)
        callback = request.callback or spider.parse
        for out in callback(response, **request.cb_kwargs) or ():
            if isinstance(out, Request):
                queue.append(out)
            else:
                items.append(dict(out))
    return items, browser


def make(spider_cls: type, **kwargs: Any) -> Any:
    crawler = get_crawler(spider_cls)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return spider_cls.from_crawler(crawler, **({"base_url": BASE, "render_js": False} | kwargs))


def valid(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for item in items:
        if item.get("title"):
            listing = Listing.model_validate(item)
            out[listing.listing_id] = listing.model_dump(exclude={"crawled_at"})
    return out


def test_demo_mall_profile_extracts_the_same_listings_as_the_hand_written_spider(mall_site) -> None:
    mall, site = mall_site
    hand = make(DemoMallSpider)
    hand_items, hand_browser = crawl_offline(hand, site, [Request(BASE + "/", callback=hand.parse_home)])
    profile_cls = next(c for c in ProfileSpider.__subclasses__() if c.name == "demo_mall_profile")
    prof = make(profile_cls)
    assert prof.allowed_domains == ["mall.test"] and prof.start_urls == [BASE + "/"]
    prof_items, prof_browser = crawl_offline(prof, site, [Request(BASE + "/", callback=prof.parse_list)])
    by_hand, by_profile = valid(hand_items), valid(prof_items)
    static = {i.listing.listing_id for i in mall.items if not i.client_rendered}
    assert set(by_hand) == static  # the reference spider found every static listing
    assert set(by_profile) == set(by_hand)
    for listing_id, listing in by_hand.items():
        assert by_profile[listing_id] == listing, listing_id
    # and both against the generator's ground truth
    truth = {lst.listing_id: lst.model_dump(exclude={"crawled_at"}) for lst in mall.listings(BASE)}
    assert all(by_profile[i] == truth[i] for i in static)
    # client-rendered shells go to the browser in both (counted here, rendered in the integration test)
    assert prof_browser == 0 and prof.crawler.stats.get_value("sweep/client_rendered_skipped") == len(
        [i for i in mall.items if i.client_rendered]
    )
    assert hand_browser == 0
    # every shop page was asked for once
    assert prof.crawler.stats.get_value("sweep/shop_pages") == len({lst["shop"]["shop_id"] for lst in by_hand.values()})


def test_profile_spider_renders_shells_in_the_browser_when_js_is_on(mall_site) -> None:
    mall, site = mall_site
    shell = next(i for i in mall.items if i.client_rendered)
    prof = make(next(c for c in ProfileSpider.__subclasses__() if c.name == "demo_mall_profile"), render_js=True)
    url = f"{BASE}/item/{shell.listing.listing_id}.html"
    raw = site.routes[f"/item/{shell.listing.listing_id}.html"]
    response = HtmlResponse(url=url, body=raw[raw.index(b"\r\n\r\n") + 4 :], encoding="utf-8", request=Request(url))
    out = list(prof.parse_detail(response))
    assert len(out) == 1 and isinstance(out[0], Request) and out[0].meta["playwright"] is True
    methods = out[0].meta["playwright_page_methods"]
    assert methods[0].args == ('main#app[data-rendered="1"]',)


def test_packaged_profiles_are_valid_and_each_is_a_spider() -> None:
    found = packaged_profiles()
    assert [p.name for p in Path(PROFILES_DIR).glob("*.yaml")] and found
    names = {c.name for c in ProfileSpider.__subclasses__()}
    assert {profile.name for _, profile in found} <= names


def test_profile_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "shop.yaml"
    bad.write_text(
        "name: shop\nplatform: shop\nstart_urls: ['https://shop.example.com/']\n"
        "links: {detail: ['/p/(']}\nselectors: {title: {css: 'h1', xpath: '//h1'}}\npoliteness: {delay: -1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as err:
        load_profile(bad)
    text = str(err.value)
    assert f"{bad}: links.detail:" in text and "is not a regular expression" in text
    assert f"{bad}: selectors.title:" in text and "exactly one of css or xpath" in text
    assert f"{bad}: politeness.delay:" in text
    with pytest.raises(ProfileError, match=r"x\.yaml: selectors: .*unknown listing field\(s\) \['titel'\]"):
        parse_profile(
            "name: x1\nplatform: x\nstart_urls: ['http://x.test/']\nlinks: {detail: [p]}\n"
            "selectors: {titel: {css: h1}}",
            "x.yaml",
        )
    with pytest.raises(ProfileError, match=r"y\.yaml: not valid YAML"):
        parse_profile("name: [unclosed", "y.yaml")
    with pytest.raises(ProfileError, match=r"missing\.yaml: cannot read the profile"):
        load_profile(tmp_path / "missing.yaml")


def test_product_pages_takes_a_profile_as_fallback_and_skips_pages_without_a_product(mall_site) -> None:
    from spiders.spiders.product_pages import ProductPagesSpider

    mall, site = mall_site
    item = next(i for i in mall.items if not i.client_rendered)
    spider = make(ProductPagesSpider, start_urls=f"{BASE}/", profile="demo_mall")
    spider.crawling_links = True

    def page(path: str) -> HtmlResponse:
        raw = site.routes[path]
        return HtmlResponse(url=BASE + path, body=raw[raw.index(b"\r\n\r\n") + 4 :], encoding="utf-8")

    out = list(spider.parse_page(page(f"/item/{item.listing.listing_id}.html")))
    listings = [o for o in out if isinstance(o, dict)]
    assert len(listings) == 1
    got = listings[0]
    assert (got["platform"], got["listing_id"], got["title"], got["price"], got["currency"]) == (
        "demo-mall",
        item.listing.listing_id,
        item.listing.title,
        item.listing.price,
        "CNY",
    )
    assert got["attributes"] == {}  # product_pages reads selectors, not the profile's tables
    home = list(spider.parse_page(page("/")))
    assert not [o for o in home if isinstance(o, dict)]
    assert {r.url for r in home if isinstance(r, Request)} >= {f"{BASE}/c/chemicals"}
    assert spider.crawler.stats.get_value("sweep/not_product") == 1
