"""Spider for the demo marketplace (`demomall`), the reference for real platform spiders.

Walks home -> categories -> pagination -> detail pages, and fetches each shop's licence page once.
Detail items wait for their shop's facts in a per-shop queue, so each listing is emitted exactly once
with the shop merged in whatever order responses arrive. Detail pages that are client-rendered shells
(no title in the HTML) are fetched again through Chromium (scrapy-playwright) and parsed from the
rendered DOM with the same code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

PLATFORM = "demo-mall"


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(sel: Any) -> str | None:
    """String value of the first node of a selector list (entities decoded, whitespace kept)."""
    if not sel:
        return None
    return sel[0].xpath("string(.)").get()


def _text_of(el: Any) -> str:
    """XPath string(): all descendant text, entities decoded, whitespace kept."""
    return "".join(el.itertext())


def _by_class(root: Any, cls: str, tag: str | None = None) -> list[Any]:
    return [e for e in root.find_class(cls) if tag is None or e.tag == tag]


def _first_text(root: Any, cls: str, tag: str | None = None) -> str | None:
    found = _by_class(root, cls, tag)
    return _text_of(found[0]) if found else None


class DemoMallSpider(scrapy.Spider):
    name = "demo_mall"
    platform = PLATFORM
    custom_settings = {  # noqa: RUF012 (Scrapy reads this class attribute)
        # A local target built for load: let AutoThrottle open up instead of starting slow.
        "CONCURRENT_REQUESTS": 64,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 64,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_START_DELAY": 0.0,
        "AUTOTHROTTLE_MAX_DELAY": 2.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 48.0,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 6,
    }

    def __init__(self, base_url: str | None = None, render_js: str | bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not base_url:
            raise ValueError("demo_mall needs -a base_url=http://127.0.0.1:PORT")
        self.base_url = base_url.rstrip("/")
        self.render_js = str(render_js).lower() not in ("0", "false", "no", "off")
        self.shops: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self.emitted: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.base_url + "/", callback=self.parse_home)

    # ---- navigation ----------------------------------------------------------------------------
    def parse_home(self, response: Response) -> Iterator[scrapy.Request]:
        links = response.css("nav.categories a::attr(href)").getall()
        if not links:
            self._malformed(response, "home page without category links")
        for href in links:
            yield response.follow(href, callback=self.parse_category)

    def parse_category(self, response: Response) -> Iterator[scrapy.Request]:
        for href in response.css("a.item-link::attr(href)").getall():
            yield response.follow(href, callback=self.parse_item, errback=self.item_failed)
        for href in response.css('a[rel="next"]::attr(href)').getall():
            yield response.follow(href, callback=self.parse_category)

    # ---- detail pages --------------------------------------------------------------------------
    def parse_item(self, response: Response) -> Iterator[Any]:
        stats = self.crawler.stats
        rendered = bool(response.meta.get("playwright"))
        if rendered:
            stats.inc_value("sweep/browser_pages")
        main = response.css("main.item")
        if not main.css("h1.item-title") and response.css('main#app[data-render="client"]'):
            if rendered:
                self._malformed(response, "client-rendered page still empty after rendering")
                return
            stats.inc_value("sweep/client_rendered_shells")
            if not self.render_js:
                stats.inc_value("sweep/client_rendered_skipped")
                return
            from scrapy_playwright.page import PageMethod

            yield response.request.replace(
                meta={
                    "playwright": True,
                    # the shell's DOM is all we need; don't wait for the window load event
                    "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
                    "playwright_page_methods": [
                        PageMethod("wait_for_selector", 'main#app[data-rendered="1"]', timeout=15_000)
                    ],
                },
                dont_filter=True,
                callback=self.parse_item,
                errback=self.item_failed,
            )
            return
        item = self.extract_listing(response)
        if item is None:
            return
        shop_link = main.css("a.shop")
        shop_id = shop_link.attrib.get("data-shop-id") if shop_link else None
        shop_href = shop_link.attrib.get("href") if shop_link else None
        if not shop_id or not shop_href:
            self._malformed(response, "no shop link")
            yield from self._emit(item)
            return
        item["shop"] = {"shop_id": shop_id, "name": _text(shop_link), "url": response.urljoin(shop_href)}
        yield from self._with_shop(item, shop_id, response.urljoin(shop_href))

    def extract_listing(self, response: Response) -> dict[str, Any] | None:
        """Listing fields of a (static or rendered) detail page. Missing parts are reported and left
        out; the validate pipeline decides whether what remains is a listing.

        Walks the lxml tree directly instead of issuing parsel queries per field: at several hundred
        pages per second, per-query overhead was the spider's largest own cost (measured).
        """
        main_sel = response.css("main.item")
        if not main_sel:
            self._malformed(response, "no main.item element")
            return None
        main = main_sel[0].root
        listing_id = main.get("data-listing-id") or response.url.rsplit("/", 1)[-1].removesuffix(".html")
        item: dict[str, Any] = {
            "platform": PLATFORM,
            "listing_id": listing_id,
            "url": response.url,
            "category": main.get("data-category") or None,
            "currency": "CNY",
            "crawled_at": rfc3339_now(),
        }
        title = _first_text(main, "item-title", "h1")
        if title:
            item["title"] = title
        else:
            self._malformed(response, "missing title")
        price_text = (_first_text(main, "price-value") or "").strip().replace(",", "")
        if price_text:
            try:
                item["price"] = float(price_text)
            except ValueError:
                self._malformed(response, f"unparsable price {price_text!r}")
        item["unit"] = _first_text(main, "unit", "span") or None
        attrs: dict[str, str] = {}
        broken_rows = 0
        for table in _by_class(main, "spec", "table"):
            for row in table.iter("tr"):
                ths = [c for c in row if c.tag == "th"]
                tds = [c for c in row if c.tag == "td"]
                if len(ths) == 1 and len(tds) == 1:
                    attrs[_text_of(ths[0])] = _text_of(tds[0])
                else:
                    broken_rows += 1
        if broken_rows:
            self._malformed(response, f"{broken_rows} broken row(s) in the 规格参数 table")
        item["attributes"] = attrs
        paragraphs = [_text_of(p) for sec in _by_class(main, "desc", "section") for p in sec if p.tag == "p"]
        item["description"] = "\n".join(paragraphs) if paragraphs else None
        item["images"] = [
            response.urljoin(img.get("src"))
            for gallery in _by_class(main, "gallery")
            for img in gallery.iter("img")
            if img.get("src")
        ]
        return item

    # ---- shops ---------------------------------------------------------------------------------
    def _with_shop(self, item: dict[str, Any], shop_id: str, shop_url: str) -> Iterator[Any]:
        known = self.shops.get(shop_id)
        if known is not None:
            item["shop"] = known
            yield from self._emit(item)
            return
        queue = self.pending.get(shop_id)
        if queue is not None:
            queue.append(item)
            return
        self.pending[shop_id] = [item]
        yield scrapy.Request(
            shop_url,
            callback=self.parse_shop,
            errback=self.shop_failed,
            cb_kwargs={"shop_id": shop_id},
            dont_filter=True,
            priority=10,
        )

    def parse_shop(self, response: Response, shop_id: str) -> Iterator[Any]:
        main = response.css("main.shop")
        if not main:
            self._malformed(response, "shop page without main.shop")
        permits = []
        for row in main.css("table.permits tr.permit"):
            ptype = _text(row.css(".permit-type"))
            if ptype:
                permits.append({"type": ptype, "number": _text(row.css(".permit-no")) or None})
        shop = {
            "shop_id": main.attrib.get("data-shop-id") or shop_id,
            "name": _text(main.css("h1.shop-name")),
            "url": response.url,
            "licence_no": (_text(main.css("dl.licence dd.uscc")) or "").strip() or None,
            "licence_company": _text(main.css("dl.licence dd.company")) or None,
            "region": _text(main.css("dl.licence dd.region")) or None,
            "permits": permits,
        }
        self.shops[shop_id] = shop
        self.crawler.stats.inc_value("sweep/shops")
        for item in self.pending.pop(shop_id, []):
            item["shop"] = shop
            yield from self._emit(item)

    def shop_failed(self, failure: Failure) -> Iterator[Any]:
        """The shop page could not be fetched: emit the waiting items with the shop facts the detail
        page gave (id, name, url) rather than lose them."""
        shop_id = failure.request.cb_kwargs.get("shop_id")  # type: ignore[attr-defined]
        self.logger.error("shop page failed %s: %s", failure.request.url, failure.getErrorMessage())  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("sweep/shop_errors")
        for item in self.pending.pop(shop_id, []):
            yield from self._emit(item)

    def item_failed(self, failure: Failure) -> None:
        self.logger.error("detail page failed %s: %s", failure.request.url, failure.getErrorMessage())  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("sweep/item_errors")

    def closed(self, reason: str) -> None:
        """Every queued item is released by its shop response or errback; anything left here is a bug
        worth an error in the log (and in the crawl's error count) rather than silent loss."""
        lost = sum(len(v) for v in self.pending.values())
        if lost:
            self.logger.error("%d listing(s) never emitted: shop pages %s did not resolve", lost, sorted(self.pending))
            self.crawler.stats.set_value("sweep/lost_listings", lost)

    # ---- helpers -------------------------------------------------------------------------------
    def _emit(self, item: dict[str, Any]) -> Iterator[dict[str, Any]]:
        lid = item.get("listing_id")
        if lid in self.emitted:
            self.crawler.stats.inc_value("sweep/duplicates_skipped")
            return
        self.emitted.add(lid)
        yield item

    def _malformed(self, response: Response, why: str) -> None:
        self.logger.warning("malformed page %s: %s", response.url, why)
        self.crawler.stats.inc_value("sweep/malformed")
