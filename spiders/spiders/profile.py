"""Spiders built from site profiles (spiders/profiles/*.yaml): a site without Python.

Every packaged profile becomes a spider of its own name (`demo_mall_profile` from demo_mall.yaml);
any other profile file runs as the generic `profile` spider:

    scrapy crawl demo_mall_profile -O listings.jsonl [-a base_url=http://127.0.0.1:8000]
    sweep crawl demo_mall_profile --base-url http://127.0.0.1:8000 --no-publish
    scrapy crawl profile -a profile=path/to/site.yaml [-a base_url=...]

The crawl walks list pages to detail pages by the profile's URL patterns (or starts from robots.txt's
sitemaps), extracts each detail page with `spiders.extraction` (the profile's selectors first, the
page's structured data for what they leave out), joins the shop's facts from the shop page the detail
page links to (one request per shop; listings of a shop whose page is on its way wait in memory for
it), and renders client-side pages in Chromium when the profile says which pages need it. `base_url`
moves the whole profile to another address (a test server on a free port): its scheme and host
replace those of the start URLs and the allowed domains.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import SitemapSpider
from twisted.python.failure import Failure

from spiders.extraction import extract_product, listing_from_product
from spiders.profiles import Profile, ProfileError, RowsSpec, SelectorSpec, load_profile, packaged_profiles

logger = logging.getLogger(__name__)


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def truthy(value: Any) -> bool:
    return str(value).lower() not in ("0", "false", "no", "off", "")


def rebase(url: str, base_url: str | None) -> str:
    """`url` at `base_url`'s scheme and host (path and query kept)."""
    if not base_url:
        return url
    b, u = urlsplit(base_url), urlsplit(url)
    return urlunsplit((b.scheme, b.netloc, u.path or "/", u.query, ""))


def rows(sel: Any, spec: RowsSpec, raw: bool) -> list[tuple[str, str | None]]:
    """(key, value) of every row of a name/value table; rows without a key are skipped."""
    out: list[tuple[str, str | None]] = []
    for row in sel.css(spec.rows):
        key_nodes, value_nodes = row.css(spec.key), row.css(spec.value)
        key = key_nodes[0].xpath("string(.)").get() if key_nodes else None
        value = value_nodes[0].xpath("string(.)").get() if value_nodes else None
        if not raw:
            key = " ".join((key or "").split()) or None
            value = " ".join((value or "").split()) or None
        if key and key.strip():
            out.append((key, value if value else None))
    return out


def first(sel: Any, spec: SelectorSpec | None, raw: bool) -> str | None:
    return spec.field_selector(raw=raw).value(sel) if spec else None


class ProfileSpider(SitemapSpider):
    """A site profile as a spider (see the module doc)."""

    name = "profile"
    profile_path: str | None = None
    """Set on the spiders made from packaged profiles; the generic one takes `-a profile=FILE`."""

    def __init__(
        self,
        profile: str | None = None,
        base_url: str | None = None,
        render_js: str | bool = True,
        shop_cache_size: int | str = 2048,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        ref = profile or self.profile_path
        if not ref:
            raise ValueError("the profile spider needs -a profile=FILE.yaml (or a packaged profile's name)")
        self.profile: Profile = load_profile(ref)
        self.base_url = base_url.rstrip("/") if base_url else None
        self.render_js = truthy(render_js)
        self.raw = self.profile.keep_whitespace
        self.selectors = self.profile.field_selectors()
        p = self.profile
        self.start_urls = [rebase(u, self.base_url) for u in p.start_urls]
        domains = {urlsplit(u).hostname for u in self.start_urls} | (set() if self.base_url else set(p.allowed_domains))
        self.allowed_domains = sorted(d for d in domains if d)
        self.detail_patterns = [re.compile(x) for x in p.links.detail]
        self.list_patterns = [re.compile(x) for x in p.links.list]
        # other sites' links are the offsite middleware's to drop (LinkExtractor's allow_domains
        # compares host:port with a bare host, so a site on a port would lose every link)
        self.links = LinkExtractor(allow=[*p.links.list, *p.links.detail], deny=list(p.links.deny))
        origin = urlsplit(self.start_urls[0])
        self.sitemap_urls = [f"{origin.scheme}://{origin.netloc}/robots.txt"] if p.sitemaps else []
        self.sitemap_rules = [(x, "parse_detail") for x in p.links.detail] + [(x, "parse_list") for x in p.links.list]
        self._cbs = [(re.compile(r), getattr(self, c)) for r, c in self.sitemap_rules]
        self.shop_cache_size = int(shop_cache_size)
        self.shops: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.waiting: dict[str, list[dict[str, Any]]] = {}
        """Listings waiting for their shop's page, by shop URL (one request per shop in flight)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ProfileSpider:
        kwargs.setdefault("shop_cache_size", crawler.settings.getint("SWEEP_SHOP_CACHE_SIZE", 2048))
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, ProfileSpider)
        spider.apply_politeness(crawler)
        return spider

    def apply_politeness(self, crawler: Crawler) -> None:
        """The profile's pace as this crawl's settings (a spider's priority: the command line wins)."""
        if getattr(crawler.settings, "frozen", False):
            return
        pol = self.profile.politeness
        for key, value in (
            ("DOWNLOAD_DELAY", pol.delay),
            ("CONCURRENT_REQUESTS_PER_DOMAIN", pol.concurrency),
            ("AUTOTHROTTLE_ENABLED", pol.autothrottle),
            ("AUTOTHROTTLE_START_DELAY", max(pol.delay, 0.0)),
        ):
            crawler.settings.set(key, value, priority="spider")

    # ---- navigation ------------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        if self.sitemap_urls:
            async for request in super().start():
                yield request
        for url in self.start_urls:
            callback = self.parse_detail if self.is_detail(url) else self.parse_list
            yield scrapy.Request(url, callback=callback, meta=self.browser_meta())

    def is_detail(self, url: str) -> bool:
        return any(p.search(url) for p in self.detail_patterns)

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        """Follow a list page's links: detail pages to `parse_detail`, list pages here again."""
        for link in self.links.extract_links(response):
            if self.is_detail(link.url):
                yield scrapy.Request(
                    link.url, callback=self.parse_detail, errback=self.detail_failed, meta=self.browser_meta()
                )
            elif any(p.search(link.url) for p in self.list_patterns):
                yield scrapy.Request(link.url, callback=self.parse_list)

    def browser_meta(self) -> dict[str, Any]:
        """Request meta of a page the profile always renders (none when the browser is off)."""
        if not (self.profile.browser.always and self.render_js):
            return {}
        return self._render_meta()

    def _render_meta(self) -> dict[str, Any]:
        b = self.profile.browser
        meta: dict[str, Any] = {"playwright": True, "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"}}
        if b.wait_for:
            from scrapy_playwright.page import PageMethod

            meta["playwright_page_methods"] = [PageMethod("wait_for_selector", b.wait_for, timeout=b.timeout_ms)]
        return meta

    # ---- detail pages ----------------------------------------------------------------------------
    def parse_detail(self, response: Response) -> Iterator[Any]:
        """A product detail page: its listing, joined with its shop's facts."""
        stats = self.crawler.stats
        rendered = bool(response.meta.get("playwright"))
        if rendered:
            stats.inc_value("sweep/browser_pages")
        when = self.profile.browser.when
        if when and not rendered and response.css(when):
            stats.inc_value("sweep/client_rendered_shells")
            if not self.render_js:
                stats.inc_value("sweep/client_rendered_skipped")
                return
            yield response.request.replace(
                meta=self._render_meta(), dont_filter=True, callback=self.parse_detail, errback=self.detail_failed
            )
            return
        item = self.extract(response)
        if not item.get("title"):
            self.malformed(response, "no title")
        shop = self.profile.shop
        if shop is None:
            yield item
            return
        sel = response
        href = first(sel, shop.link, raw=False)
        shop_id = first(sel, shop.shop_id, raw=False)
        name = first(sel, shop.name, raw=self.raw)
        if not href:
            if shop.link is not None:
                self.malformed(response, "no shop link")
            facts = self.shop_facts(response)
            if any(facts.values()):
                item["shop"] = facts
            yield item
            return
        shop_url = response.urljoin(href)
        item["shop"] = {"shop_id": shop_id, "name": name, "url": shop_url}
        yield from self.join_shop(item, shop_url)

    def extract(self, response: Response) -> dict[str, Any]:
        """The listing of a detail page: the profile's selectors, then the page's structured data."""
        product = extract_product(
            response.body,
            response.url,
            encoding=getattr(response, "encoding", None),
            selectors=self.selectors,
            prefer_selectors=self.profile.prefer_selectors,
        )
        item = listing_from_product(product, url=response.url, crawled_at=rfc3339_now(), platform=self.profile.platform)
        if not product.listing_id:
            item["listing_id"] = response.url.rsplit("/", 1)[-1].removesuffix(".html") or item["listing_id"]
        if self.profile.currency and not (product.currency and "currency" in product.sources):
            item["currency"] = self.profile.currency
        if self.profile.attributes:  # the specification table, over what structured data said
            table = {k: v for k, v in rows(response, self.profile.attributes, self.raw) if v is not None}
            item["attributes"] = {**(item.get("attributes") or {}), **table}
        item.pop("shop", None)
        return item

    def shop_facts(self, response: Response) -> dict[str, Any]:
        """The shop's facts on a page (a shop page, or the detail page when there is none)."""
        shop = self.profile.shop
        assert shop is not None
        facts: dict[str, Any] = {}
        for key, spec in shop.selectors.items():
            value = first(response, spec, raw=self.raw and key not in ("shop_id", "licence_no", "url"))
            if key == "licence_no" and value:
                value = value.strip() or None
            facts[key] = response.urljoin(value) if key == "url" and value else value
        if shop.permits:
            facts["permits"] = [{"type": t, "number": n or None} for t, n in rows(response, shop.permits, self.raw)]
        return facts

    # ---- shops -----------------------------------------------------------------------------------
    def join_shop(self, item: dict[str, Any], shop_url: str) -> Iterator[Any]:
        key = item["shop"].get("shop_id") or shop_url
        known = self.shops.get(key)
        if known is not None:
            self.shops.move_to_end(key)
            item["shop"] = known
            yield item
            return
        if shop_url in self.waiting:
            self.waiting[shop_url].append(item)
            return
        self.waiting[shop_url] = [item]
        yield scrapy.Request(
            shop_url,
            callback=self.parse_shop,
            errback=self.shop_failed,
            cb_kwargs={"asked_for": item["shop"].get("shop_id")},
            dont_filter=True,
            priority=10,
        )

    def parse_shop(self, response: Response, asked_for: str | None = None) -> Iterator[dict[str, Any]]:
        """A shop page: its facts joined into every listing waiting for it."""
        stats = self.crawler.stats
        stats.inc_value("sweep/shop_pages")
        facts = self.shop_facts(response)
        shop = {
            "shop_id": facts.get("shop_id") or asked_for,
            "name": facts.get("name"),
            "url": response.url,
            "licence_no": facts.get("licence_no"),
            "licence_company": facts.get("licence_company") or None,
            "region": facts.get("region") or None,
            "permits": facts.get("permits", []),
        }
        key = shop["shop_id"] or response.url
        if self.shop_cache_size > 0:
            if key not in self.shops:
                stats.inc_value("sweep/shops")
            self.shops[key] = shop
            self.shops.move_to_end(key)
            while len(self.shops) > self.shop_cache_size:
                self.shops.popitem(last=False)
        for listing in self.waiting.pop(response.request.url, []) + self.waiting.pop(response.url, []):
            listing["shop"] = shop
            yield listing

    def shop_failed(self, failure: Failure) -> Iterator[dict[str, Any]]:
        """The shop page could not be fetched: the waiting listings go out with what their detail
        pages said about the shop."""
        request = failure.request  # type: ignore[attr-defined]
        logger.error("shop page failed %s: %s", request.url, failure.getErrorMessage())
        self.crawler.stats.inc_value("sweep/shop_errors")
        yield from self.waiting.pop(request.url, [])

    def detail_failed(self, failure: Failure) -> None:
        logger.error("detail page failed %s: %s", failure.request.url, failure.getErrorMessage())  # type: ignore[attr-defined]
        self.crawler.stats.inc_value("sweep/item_errors")

    def malformed(self, response: Response, why: str) -> None:
        logger.warning("malformed page %s: %s", response.url, why)
        self.crawler.stats.inc_value("sweep/malformed")


def _spider_classes() -> dict[str, type[ProfileSpider]]:
    """One spider class per packaged profile, named as the profile says."""
    out: dict[str, type[ProfileSpider]] = {}
    try:
        profiles = packaged_profiles()
    except ProfileError as exc:  # one broken file must not hide every other spider from `scrapy list`
        logger.error("site profiles not loaded: %s", exc)
        return out
    for path, profile in profiles:
        cls_name = "".join(part.title() for part in profile.name.split("_")) + "Spider"
        out[cls_name] = type(
            cls_name,
            (ProfileSpider,),
            {"name": profile.name, "profile_path": str(Path(path)), "__doc__": f"Spider of the profile {path.name}."},
        )
    return out


globals().update(_spider_classes())
