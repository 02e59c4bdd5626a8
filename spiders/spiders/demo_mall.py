"""Spider for the demo marketplace (`demomall`), the reference for real platform spiders.

Walks home -> categories -> pagination -> detail pages, and joins each listing with its shop's licence
page. The listing travels to the shop page in `cb_kwargs` (plain data, like every request of this
spider, so a `JOBDIR` crawl can be paused and resumed); a bounded cache of shop facts answers later
listings of a known shop without another request. Nothing the spider keeps grows with the size of the
site: duplicate detail URLs are Scrapy's dupefilter's business. Detail pages that are client-rendered
shells (no title in the HTML) are fetched again through Chromium (scrapy-playwright) and parsed from
the rendered DOM with the same code.

    sweep demo-mall &                      # the demo mall on 127.0.0.1:8000 (DEMO_MALL_URL)
    scrapy crawl demo_mall -O listings.jsonl [-a base_url=http://127.0.0.1:8000] [-a render_js=false]
    scrapy check demo_mall                 # the contracts below, against that mall
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from spiders import recrawl

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
    MAX_SHOP_WAITS = 20
    """Times a listing waits for a requested shop page before asking for the page itself."""
    handle_httpstatus_list = [404, 410]  # noqa: RUF012 (Scrapy reads this class attribute)
    """A detail page that answers 404/410 reaches `parse_item`, errback or not (a recheck job's seeds
    have none): the listing is gone (`spiders.recrawl`). Every callback checks the status."""
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

    def __init__(
        self,
        base_url: str | None = None,
        render_js: str | bool = True,
        shop_cache_size: int = 2048,
        frontier: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.frontier = frontier
        """A frontier worker (spiders.frontier): requests come from the bus, for any mall a target names."""
        if not base_url:
            raise ValueError("demo_mall needs -a base_url=http://127.0.0.1:PORT (or the DEMO_MALL_URL setting)")
        self.base_url = base_url.rstrip("/")
        host = urlsplit(self.base_url).hostname
        if not host:
            raise ValueError(f"demo_mall: base_url {base_url!r} is not an http(s) URL")
        if not frontier:
            self.allowed_domains = [host]
        self.render_js = str(render_js).lower() not in ("0", "false", "no", "off")
        self.shop_cache_size = int(shop_cache_size)
        self.shops: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Least recently used shop facts, at most `shop_cache_size`: a cache, never needed for correctness."""
        self.shops_requested: set[str] = set()
        """Shops whose page is requested and not answered yet: a few at a time (shop pages go first)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DemoMallSpider:
        """`-a base_url` wins over the DEMO_MALL_URL setting; the cache size is SWEEP_SHOP_CACHE_SIZE."""
        if not kwargs.get("base_url"):
            kwargs["base_url"] = crawler.settings.get("DEMO_MALL_URL")
        kwargs.setdefault("shop_cache_size", crawler.settings.getint("SWEEP_SHOP_CACHE_SIZE", 2048))
        kwargs.setdefault("frontier", crawler.settings.getbool("SWEEP_FRONTIER"))
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, DemoMallSpider)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.frontier:
            return  # the requests come from the bus
        yield scrapy.Request(self.base_url + "/", callback=self.parse_home)

    @classmethod
    def frontier_seeds(
        cls,
        base_url: str,
        *,
        start_urls: list[str] = (),  # type: ignore[assignment]
        categories: list[str] = (),  # type: ignore[assignment]
        keywords: list[str] = (),  # type: ignore[assignment]
        shops: list[str] = (),  # type: ignore[assignment]
        listings: list[str] = (),  # type: ignore[assignment]
    ) -> list[tuple[str, str]]:
        """(URL, callback name) of a target's first requests: the home page when nothing narrower is
        named; a category's first page; a keyword's search results (paged like a category); a listing's
        detail page. Shops are reached through their listings on this mall (no shop listing pages)."""
        base = base_url.rstrip("/")
        out: list[tuple[str, str]] = []
        for url in start_urls:
            path = urlsplit(url).path or "/"
            out.append((url, "parse_home" if path == "/" else "parse_category"))
        out += [(f"{base}/c/{quote(c)}", "parse_category") for c in categories]
        out += [(f"{base}/search?q={quote(k)}", "parse_category") for k in keywords]
        out += [(f"{base}/item/{quote(i)}.html", "parse_item") for i in listings]
        if not out and not shops:
            out.append((base + "/", "parse_home"))
        return out

    # ---- navigation ----------------------------------------------------------------------------
    def parse_home(self, response: Response) -> Iterator[scrapy.Request]:
        """Every category of the home page's navigation.

        @path /
        @returns requests 10 10
        @returns items 0 0
        """
        if self._http_failed(response):
            return
        links = response.css("nav.categories a::attr(href)").getall()
        if not links:
            self._malformed(response, "home page without category links")
        for href in links:
            yield response.follow(href, callback=self.parse_category)

    def parse_category(self, response: Response) -> Iterator[scrapy.Request]:
        """Every detail page of a category page, and the next page. A category's pages are one chain
        from its first page (`spiders.recrawl`): each reports the listings it links to, so a complete
        walk tells which known listings are no longer in the category.

        @path /c/chemicals
        @returns requests 2
        @returns items 0 0
        """
        if self._http_failed(response):
            return
        for href in response.css("a.item-link::attr(href)").getall():
            yield response.follow(href, callback=self.parse_item, errback=self.item_failed)
        next_pages = response.css('a[rel="next"]::attr(href)').getall()
        meta: dict[str, Any] = {}
        category = response.css("main.category::attr(data-category)").get()
        if category:
            page_no = parse_qs(urlsplit(response.url).query).get("page", ["1"])[0]
            page = int(page_no) if page_no.isdigit() else 0
            chain = recrawl.chain_meta(response.meta.get(recrawl.META_CHAIN), page)
            meta = {recrawl.META_CHAIN: chain}
            self.crawler.signals.send_catch_log(
                signal=recrawl.category_listed,
                platform=PLATFORM,
                category=category,
                chain=chain,
                page=page,
                listing_ids=response.css("li.item-card::attr(data-id)").getall(),
                last=not next_pages,
            )
        for href in next_pages:
            yield response.follow(href, callback=self.parse_category, meta=meta)

    # ---- detail pages --------------------------------------------------------------------------
    def parse_item(self, response: Response) -> Iterator[Any]:
        """A detail page: its listing, carried to the shop page unless the shop is already known
        (DM000001 is a static page of `sweep demo-mall`'s default mall, seed 7).

        @path /item/DM000001.html
        @returns requests 1 1
        @returns items 0 0
        @listing platform listing_id url title price unit category attributes description images shop.shop_id
        """
        stats = self.crawler.stats
        if response.status in (404, 410):
            self.logger.info("detail page gone (HTTP %d) %s", response.status, response.url)
            stats.inc_value("sweep/pages_gone")
            self._gone(response.url, None, f"http_{response.status}")
            return
        rendered = bool(response.meta.get("playwright"))
        if rendered:
            stats.inc_value("sweep/browser_pages")
        main = response.css("main.item")
        if main.attrib.get("data-state") == "offline" or main.css(".offline-notice"):
            stats.inc_value("sweep/pages_delisted")
            self._gone(response.url, main.attrib.get("data-listing-id"), "delisted")
            return
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
            yield item
            return
        shop_url = response.urljoin(shop_href)
        item["shop"] = {"shop_id": shop_id, "name": _text(shop_link), "url": shop_url}
        yield from self._join_shop(item, shop_id, shop_url, waits=0)

    def _join_shop(self, item: dict[str, Any], shop_id: str, shop_url: str, waits: int) -> Iterator[Any]:
        """Emit `item` with its shop's facts from the cache, or wait for the shop page already
        requested, or request it (carrying the item)."""
        known = self.shops.get(shop_id)
        if known is not None:
            self.shops.move_to_end(shop_id)
            item["shop"] = known
            yield item
            return
        if shop_id in self.shops_requested and waits < self.MAX_SHOP_WAITS:
            # The shop page is on its way: come back after the queued pages instead of fetching it again.
            # A data: URL is answered in-process (no network, no robots.txt) but queues in the site's
            # download slot, behind the shop page; a plain request, so it survives a JOBDIR pause.
            yield scrapy.Request(
                "data:,",
                callback=self.rejoin_shop,
                cb_kwargs={"listing": item, "shop_url": shop_url, "waits": waits + 1},
                meta={"download_slot": urlsplit(shop_url).hostname, "autothrottle_dont_adjust_delay": True},
                dont_filter=True,
                priority=-1,
            )
            return
        self.shops_requested.add(shop_id)
        yield scrapy.Request(
            shop_url,
            callback=self.parse_shop,
            errback=self.shop_failed,
            cb_kwargs={"listing": item},
            dont_filter=True,  # a cache miss may ask again for a page fetched before (and evicted)
            priority=10,  # shop pages first, so the cache answers the shop's other listings sooner
        )

    def rejoin_shop(self, response: Response, listing: dict[str, Any], shop_url: str, waits: int) -> Iterator[Any]:
        """A listing that waited for its shop's page (see `_join_shop`)."""
        self.crawler.stats.inc_value("sweep/shop_waits")
        yield from self._join_shop(listing, listing["shop"]["shop_id"], shop_url, waits)

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
    def parse_shop(self, response: Response, listing: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A shop's licence page, joined into the listing that asked for it.

        @path /shop/S0001.html
        @cb_kwargs {"listing": {"listing_id": "CHECK", "title": "合约检查", "shop": {"shop_id": "S0001"}}}
        @returns items 1 1
        @returns requests 0 0
        @listing shop.shop_id shop.name shop.url shop.licence_no shop.licence_company shop.region shop.permits
        """
        stats = self.crawler.stats
        if response.status >= 400:
            self.logger.error("shop page failed %s: HTTP %d", response.url, response.status)
            stats.inc_value("sweep/shop_errors")
            self.shops_requested.discard((listing.get("shop") or {}).get("shop_id"))
            yield listing
            return
        stats.inc_value("sweep/shop_pages")
        main = response.css("main.shop")
        if not main:
            self._malformed(response, "shop page without main.shop")
        permits = []
        for row in main.css("table.permits tr.permit"):
            ptype = _text(row.css(".permit-type"))
            if ptype:
                permits.append({"type": ptype, "number": _text(row.css(".permit-no")) or None})
        asked_for = (listing.get("shop") or {}).get("shop_id")
        self.shops_requested.discard(asked_for)
        shop_id = main.attrib.get("data-shop-id") or asked_for
        shop = {
            "shop_id": shop_id,
            "name": _text(main.css("h1.shop-name")),
            "url": response.url,
            "licence_no": (_text(main.css("dl.licence dd.uscc")) or "").strip() or None,
            "licence_company": _text(main.css("dl.licence dd.company")) or None,
            "region": _text(main.css("dl.licence dd.region")) or None,
            "permits": permits,
        }
        if shop_id and self.shop_cache_size > 0:
            if shop_id not in self.shops:
                stats.inc_value("sweep/shops")
            self.shops[shop_id] = shop
            self.shops.move_to_end(shop_id)
            while len(self.shops) > self.shop_cache_size:
                self.shops.popitem(last=False)
        listing["shop"] = shop
        yield listing

    def shop_failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        """The shop page could not be fetched: emit the listing with the shop facts the detail page
        gave (id, name, url) rather than lose it."""
        request = failure.request  # type: ignore[attr-defined]
        self.logger.error("shop page failed %s: %s", request.url, failure.getErrorMessage())
        self.crawler.stats.inc_value("sweep/shop_errors")
        listing = request.cb_kwargs.get("listing")
        if listing is not None:
            self.shops_requested.discard((listing.get("shop") or {}).get("shop_id"))
            yield listing

    def item_failed(self, failure: Failure) -> None:
        """A detail page that could not be had. 404/410 means the listing is gone (a recrawl records the
        removal, `spiders.recrawl`), not that the crawl failed."""
        url = failure.request.url  # type: ignore[attr-defined]
        if failure.check(HttpError) and failure.value.response.status in (404, 410):  # type: ignore[union-attr]
            status = failure.value.response.status  # type: ignore[union-attr]
            self.logger.info("detail page gone (HTTP %d) %s", status, url)
            self.crawler.stats.inc_value("sweep/pages_gone")
            self._gone(url, None, f"http_{status}")
            return
        self.logger.error("detail page failed %s: %s", url, failure.getErrorMessage())
        self.crawler.stats.inc_value("sweep/item_errors")

    def _gone(self, url: str, listing_id: str | None, reason: str) -> None:
        listing_id = listing_id or urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".html")
        self.crawler.signals.send_catch_log(
            signal=recrawl.page_gone, platform=PLATFORM, listing_id=listing_id, reason=reason, url=url
        )

    # ---- helpers -------------------------------------------------------------------------------
    def _http_failed(self, response: Response) -> bool:
        """A navigation page that answered 404/410 (`handle_httpstatus_list`): logged and counted as
        Scrapy reports other failed pages."""
        if response.status < 400:
            return False
        self.logger.error("page failed %s: HTTP %d", response.url, response.status)
        self.crawler.stats.inc_value("sweep/page_errors")
        return True

    def _malformed(self, response: Response, why: str) -> None:
        self.logger.warning("malformed page %s: %s", response.url, why)
        self.crawler.stats.inc_value("sweep/malformed")
