"""The generic product spider: any shop site, no site-specific code.

It starts where a polite crawler starts, at the site's robots.txt: the sitemaps listed there (or
`/sitemap.xml` when none is) give the pages, and each page that carries a product becomes a listing
(`spiders.extraction`: schema.org Product data, Open Graph product tags, a site profile's selectors
when one is given, and the visible heading and price). A site without any sitemap, or explicit start
URLs, is crawled by following its own links instead, to `DEPTH_LIMIT` (3 by default).

    scrapy crawl product_pages -a base_url=https://shop.example.com -O listings.jsonl
    scrapy crawl product_pages -a start_urls=https://shop.example.com/p/1,https://shop.example.com/p/2
    scrapy crawl product_pages -a base_url=... -a profile=spiders/profiles/shop.yaml
    sweep crawl product_pages --base-url https://shop.example.com -o listings.jsonl --no-publish

Pages that are not product pages (home, categories, articles) are counted (`sweep/not_product`) and
left; pages a site refuses are the blocking middleware's business (spiders.blocking). Politeness:
two requests at a time per site, a second apart, AutoThrottle on, robots.txt and its crawl delay obeyed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.spiders import SitemapSpider
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from spiders.extraction import extract_product, listing_from_product
from spiders.profiles import Profile, load_profile
from spiders.spiders.profile import rfc3339_now

logger = logging.getLogger(__name__)

_NOT_PAGES = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".css", ".js", ".pdf", ".zip", ".xml", ".json", ".ico", ".mp4",
)  # fmt: skip


class ProductPagesSpider(SitemapSpider):
    name = "product_pages"
    custom_settings = {  # noqa: RUF012 (Scrapy reads this class attribute)
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_DELAY": 1.0,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "DEPTH_LIMIT": 3,
    }
    sitemap_rules = [("", "parse_page")]  # noqa: RUF012 (SitemapSpider reads it): every sitemap URL is a page

    def __init__(
        self,
        base_url: str | None = None,
        start_urls: str | list[str] | None = None,
        profile: str | None = None,
        follow: str | bool = True,
        render_js: str | bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = start_urls.split(",") if isinstance(start_urls, str) else list(start_urls or [])
        self.given_urls = [u.strip() for u in given if u.strip()]
        if not base_url and not self.given_urls:
            raise ValueError("product_pages needs -a base_url=https://shop.example.com or -a start_urls=URL,URL")
        root = base_url or self.given_urls[0]
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"product_pages: {root!r} is not an http(s) URL")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_url = base_url.rstrip("/") if base_url else None
        self.profile: Profile | None = load_profile(profile) if profile else None
        hosts = {urlsplit(u).hostname for u in [root, *self.given_urls]}
        if self.profile:
            hosts |= set(self.profile.allowed_domains)
        self.allowed_domains = sorted(h for h in hosts if h)
        self.follow = str(follow).lower() not in ("0", "false", "no", "off")
        self.sitemap_urls = [f"{self.origin}/robots.txt"] if self.base_url and not self.given_urls else []
        self.links = LinkExtractor(  # offsite links: OffsiteMiddleware's business (see spiders.spiders.profile)
            deny=list(self.profile.links.deny) if self.profile else [],
            deny_extensions=[e.lstrip(".") for e in _NOT_PAGES],
        )
        self.crawling_links = False
        """True once the site turned out to have no sitemap: pages are then found by their links."""

    # ---- where the pages come from ---------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        if self.given_urls:
            self.crawling_links = self.follow
            for url in self.given_urls:
                yield scrapy.Request(url, callback=self.parse_page, errback=self.page_failed)
            return
        yield scrapy.Request(
            f"{self.origin}/robots.txt", callback=self.parse_robots, errback=self.no_sitemap, dont_filter=True
        )

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        """The sitemaps robots.txt names, else the conventional /sitemap.xml."""
        sitemaps = list(sitemap_urls_from_robots(response.text, base_url=response.url))
        self.crawler.stats.set_value("sweep/sitemaps_in_robots", len(sitemaps))
        if not sitemaps:
            sitemaps = [f"{self.origin}/sitemap.xml"]
        for url in sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.no_sitemap)

    def parse_sitemap(self, response: Response) -> Iterable[scrapy.Request]:
        """A sitemap or sitemap index (Scrapy's SitemapSpider reading: gzip, size limits, alternates);
        something that is no sitemap means crawling by links."""
        if self._get_sitemap_body(response) is None:
            logger.warning("%s is not a sitemap: crawling %s by its links", response.url, self.origin)
            yield from self.crawl_by_links()
            return
        self.crawler.stats.inc_value("sweep/sitemaps")
        for request in self._parse_sitemap(response):
            if request.callback == self._parse_sitemap:
                request = request.replace(callback=self.parse_sitemap, errback=self.no_sitemap)
            else:
                request = request.replace(errback=self.page_failed)
            yield request

    def no_sitemap(self, failure: Failure) -> Iterator[scrapy.Request]:
        """robots.txt or the sitemap could not be had: crawl from the home page by links instead."""
        request = failure.request  # type: ignore[attr-defined]
        why = (
            f"HTTP {failure.value.response.status}" if failure.check(HttpError) else failure.getErrorMessage()  # type: ignore[union-attr]
        )
        logger.warning("no sitemap at %s (%s): crawling %s by its links", request.url, why, self.origin)
        yield from self.crawl_by_links()

    def crawl_by_links(self) -> Iterator[scrapy.Request]:
        if self.crawling_links:
            return
        self.crawling_links = True
        self.crawler.stats.set_value("sweep/crawled_by_links", True)
        yield scrapy.Request((self.base_url or self.origin) + "/", callback=self.parse_page, errback=self.page_failed)

    # ---- pages -----------------------------------------------------------------------------------
    def parse_page(self, response: Response) -> Iterator[Any]:
        """A page: its listing when it carries a product; its links when crawling by links."""
        stats = self.crawler.stats
        if not hasattr(response, "text"):
            stats.inc_value("sweep/not_html")
            return
        product = extract_product(
            response.body,
            response.url,
            encoding=getattr(response, "encoding", None),
            selectors=self.profile.field_selectors() if self.profile else None,
            prefer_selectors=bool(self.profile and self.profile.prefer_selectors),
        )
        if product.is_product:
            item = listing_from_product(
                product,
                url=response.url,
                crawled_at=rfc3339_now(),
                platform=self.profile.platform if self.profile else None,
            )
            if self.profile and self.profile.currency and not item.get("currency"):
                item["currency"] = self.profile.currency
            for source in sorted(product.signals):
                stats.inc_value(f"sweep/product_by/{source}")
            yield item
        else:
            stats.inc_value("sweep/not_product")
        if self.crawling_links:
            for link in self.links.extract_links(response):
                yield scrapy.Request(link.url, callback=self.parse_page, errback=self.page_failed)

    def page_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError) and failure.value.response.status == 404:  # type: ignore[union-attr]
            self.crawler.stats.inc_value("sweep/not_found")
            logger.info("page gone %s", request.url)
            return
        logger.error("page failed %s: %s", request.url, failure.getErrorMessage())
        self.crawler.stats.inc_value("sweep/page_errors")
