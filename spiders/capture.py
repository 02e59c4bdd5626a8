"""Evidence capture in Scrapy's slots: an add-on that enables a downloader middleware and an item pipeline.

* `EvidenceCaptureMiddleware` (downloader middleware, 950: next to the downloader, so it sees the
  request exactly as sent and the response as received, before decompression) keeps each page's
  request and response in a bounded buffer, keyed by URL. For browser pages (scrapy-playwright) it
  asks for a full-page PNG screenshot after the spider's own page methods and keeps the rendered DOM
  beside the raw HTTP response of the same URL (the client-rendered shell fetched first).
* `EvidencePipeline` (item pipeline, 400: after detection, before publishing) stores the page of each
  listing that produced a finding (setting `evidence_capture = "findings"`) — and, once captured, of
  that listing at every later crawl, so an unchanged recrawl (which `RecrawlPipeline` lets skip the
  rulebook) still records the page as a revisit, and a page that no longer shows the violation is
  on record too — or of every listing
  (`"all"`, which also stores pages that yielded no listing, when they leave the buffer). A listing
  is usually emitted after its shop page, so the buffer bridges the two; a page pushed out of a full
  buffer before its listing arrives is counted in `sweep/evidence_missing`.
* Static pages get a screenshot too with `evidence_static_screenshots` (Scrapy setting
  `SWEEP_EVIDENCE_STATIC_SCREENSHOTS`): the captured response rendered offline in Chromium
  (`evidence.screenshot`), in a thread of its own while the crawl goes on.
* `EvidenceCapture` (add-on, `ADDONS`): turns both on unless capture is off (`SWEEP_EVIDENCE` Scrapy
  setting, else sweep's `evidence_capture`), so one line in `spiders.settings` enables the feature.

Capture never drops a listing: a page that cannot be stored is logged and counted
(`sweep/evidence_failed`) and the listing goes on to the bus. Storage format and custody are the
`evidence` package's business.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from evidence.store import CaptureResult, EvidenceStore, now_local
from evidence.warc import CapturedPage
from spiders.pipelines import CrawledListing

logger = logging.getLogger(__name__)

MIDDLEWARE = "spiders.capture.EvidenceCaptureMiddleware"
PIPELINE = "spiders.capture.EvidencePipeline"
ABORT_FOR_SPEED = "spiders.browser_hooks.abort_request"
ABORT_FOR_EVIDENCE = "spiders.browser_hooks.abort_media_only"
META_REQUESTED_AT = "sweep_requested_at"
META_JOB = "sweep_job"
"""The frontier's job id on a request (spiders.frontier.META_JOB)."""


def _mode(settings: Any) -> str:
    mode = settings.get("SWEEP_EVIDENCE")
    if mode is None:
        from sweep.settings import get_settings

        mode = get_settings().evidence_capture
    mode = str(mode).lower()
    return {"true": "findings", "1": "findings", "false": "off", "0": "off", "none": "off"}.get(mode, mode)


class EvidenceCapture:
    """Scrapy add-on: enables the middleware and the pipeline unless evidence capture is off."""

    def update_settings(self, settings: Any) -> None:
        if _mode(settings) == "off":
            return
        for name, path, order in (("DOWNLOADER_MIDDLEWARES", MIDDLEWARE, 950), ("ITEM_PIPELINES", PIPELINE, 400)):
            components = dict(settings.getdict(name))
            components.setdefault(path, order)
            settings.set(name, components, priority=settings.getpriority(name) or "project")
        if settings.getbool("SWEEP_EVIDENCE_SCREENSHOTS", True) and settings.get("PLAYWRIGHT_ABORT_REQUEST") == (
            ABORT_FOR_SPEED
        ):
            # a screenshot for evidence shows the product photos and the page's styles, not a bare DOM
            settings.set(
                "PLAYWRIGHT_ABORT_REQUEST",
                ABORT_FOR_EVIDENCE,
                priority=settings.getpriority("PLAYWRIGHT_ABORT_REQUEST") or "project",
            )


class PageBuffer:
    """Pages waiting for their listing, least recently stored first out, bounded by bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.pages: OrderedDict[str, CapturedPage] = OrderedDict()
        self.size = 0
        self.evicted: list[CapturedPage] = []
        self.keep_evicted = False

    def put(self, page: CapturedPage) -> None:
        self.pop(page.url)
        self.pages[page.url] = page
        self.size += page.size
        while self.size > self.max_bytes and len(self.pages) > 1:
            _, old = self.pages.popitem(last=False)
            self.size -= old.size
            if self.keep_evicted:
                self.evicted.append(old)

    def get(self, url: str) -> CapturedPage | None:
        return self.pages.get(url)

    def pop(self, url: str) -> CapturedPage | None:
        page = self.pages.pop(url, None)
        if page is not None:
            self.size -= page.size
        return page


def _buffer(crawler: Any) -> PageBuffer:
    buffer = getattr(crawler, "sweep_evidence_buffer", None)
    if buffer is None:
        buffer = PageBuffer(crawler.settings.getint("SWEEP_EVIDENCE_BUFFER_MB", 128) * 1024 * 1024)
        crawler.sweep_evidence_buffer = buffer
    return buffer


def _headers(headers: Any) -> list[tuple[str, str]]:
    out = []
    for key, values in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        for value in values:
            out.append((name, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return out


class EvidenceCaptureMiddleware:
    def __init__(self, buffer: PageBuffer, screenshots: bool = True) -> None:
        self.buffer = buffer
        self.screenshots = screenshots

    @classmethod
    def from_crawler(cls, crawler: Any) -> EvidenceCaptureMiddleware:
        return cls(_buffer(crawler), crawler.settings.getbool("SWEEP_EVIDENCE_SCREENSHOTS", True))

    def process_request(self, request: Any, spider: Any = None) -> None:
        request.meta.setdefault(META_REQUESTED_AT, now_local())
        if self.screenshots and request.meta.get("playwright") and not request.meta.get("sweep_screenshot"):
            from scrapy_playwright.page import PageMethod

            methods = list(request.meta.get("playwright_page_methods") or [])
            methods.append(PageMethod("screenshot", full_page=True, type="png"))
            request.meta["playwright_page_methods"] = methods
            request.meta["sweep_screenshot"] = len(methods) - 1
        return None

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if urlsplit(response.url).scheme not in ("http", "https"):
            return response
        captured_at = now_local()
        requested_at = request.meta.get(META_REQUESTED_AT) or captured_at
        job = request.meta.get(META_JOB)
        if "playwright" in (response.flags or []) or request.meta.get("playwright"):
            shot = None
            index = request.meta.get("sweep_screenshot")
            methods = request.meta.get("playwright_page_methods") or []
            if index is not None and index < len(methods):
                result = getattr(methods[index], "result", None)
                shot = result if isinstance(result, bytes) else None
            raw = self.buffer.get(response.url)
            if raw is not None and not raw.browser:
                page = CapturedPage(**{f: getattr(raw, f) for f in CapturedPage.__slots__})
                page.captured_at = captured_at
            else:  # no raw HTTP exchange of this URL: the DOM and the screenshot only
                page = CapturedPage(
                    url=response.url,
                    method=request.method,
                    request_headers=_headers(request.headers),
                    request_body=request.body or b"",
                    status=None,
                    protocol=response.protocol or "HTTP/1.1",
                    response_headers=_headers(response.headers),
                    body=None,
                    requested_at=requested_at,
                    captured_at=captured_at,
                    job_id=job,
                )
            page.dom, page.screenshot, page.browser = response.body, shot, True
            self.buffer.put(page)
            return response
        self.buffer.put(
            CapturedPage(
                url=response.url,
                method=request.method,
                request_headers=_headers(request.headers),
                request_body=request.body or b"",
                status=response.status,
                protocol=response.protocol or "HTTP/1.1",
                response_headers=_headers(response.headers),
                body=response.body,
                requested_at=requested_at,
                captured_at=captured_at,
                job_id=job,
            )
        )
        return response


class EvidencePipeline:
    """Stores the page of each listing (with findings, or every one) in the evidence store."""

    def __init__(self, crawler: Any, store: EvidenceStore, mode: str, buffer: PageBuffer) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.store = store
        self.mode = mode
        self.buffer = buffer
        buffer.keep_evicted = mode == "all"
        self.rulebook_version: str | None = None
        self.crawler_info: dict[str, Any] = {}
        self.static_screenshots = False
        self.shooter: Any = None
        self.job_id: str | None = crawler.settings.get("SWEEP_JOB_ID")
        self.pool = ThreadPoolExecutor(
            max_workers=crawler.settings.getint("SWEEP_EVIDENCE_WRITERS", 2), thread_name_prefix="evidence-store"
        )

    @classmethod
    def from_crawler(cls, crawler: Any) -> EvidencePipeline:
        from sweep.settings import get_settings

        folder = crawler.settings.get("SWEEP_EVIDENCE_DIR") or get_settings().evidence_path
        pipeline = cls(crawler, EvidenceStore(folder), _mode(crawler.settings), _buffer(crawler))
        configured = crawler.settings.get("SWEEP_EVIDENCE_STATIC_SCREENSHOTS")
        pipeline.static_screenshots = (
            get_settings().evidence_static_screenshots
            if configured is None
            else crawler.settings.getbool("SWEEP_EVIDENCE_STATIC_SCREENSHOTS")
        )
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        import scrapy

        spider = spider or getattr(self.crawler, "spider", None)
        try:
            from importlib.metadata import version

            sweep_version = version("sweep")
        except Exception:
            sweep_version = "unknown"
        self.crawler_info = {
            "software": "sweep",
            "version": sweep_version,
            "scrapy": scrapy.__version__,
            "spider": getattr(spider, "name", None),
            "user_agent": self.crawler.settings.get("USER_AGENT"),
        }
        self.stats.set_value("sweep/evidence", self.mode)
        if self.static_screenshots:
            from evidence.screenshot import Screenshotter
            from spiders.browser import CHROMIUM_ARGS, configured_chromium, require_chromium

            launch = self.crawler.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
            path = launch.get("executable_path") or require_chromium(configured_chromium())
            self.shooter = Screenshotter(path, CHROMIUM_ARGS)

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledListing):
            return item
        import asyncio

        listing = item.listing
        url = listing.url or ""
        self.rulebook_version = (
            (item.findings[0].rulebook_version if item.findings else None)
            or item.judged_by
            or getattr(self.crawler, "sweep_rulebook_version", None)
            or self.rulebook_version
        )
        if self.buffer.evicted:  # `all` mode: pages pushed out of the buffer are stored as they leave
            evicted, self.buffer.evicted = self.buffer.evicted, []
            for page in evicted:
                self._count(await asyncio.wrap_future(self.pool.submit(self._write_page, page)))
        watched = item.findings or self.store.has_chain(listing.platform, listing.listing_id)
        if self.mode == "findings" and not watched:
            self.buffer.pop(url)
            return item
        page = self.buffer.pop(url)
        if page is None:
            self.stats.inc_value("sweep/evidence_missing")
            logger.warning("evidence: no captured page for listing %s (%s)", listing.listing_id, url)
            return item
        findings = [
            {"rule_id": f.rule_id, "family": f.family, "severity": str(f.severity), "title_zh": f.title_zh}
            for f in item.findings
        ]
        if self.shooter is not None and page.screenshot is None and page.body and page.status == 200:
            # a static page photographed (evidence_static_screenshots) in the browser's own thread while
            # the crawl goes on; a failed screenshot is counted and the capture stored without it
            try:
                shot = self.shooter.submit(page.url, page.body, page.response_headers)
                page.screenshot = await asyncio.wrap_future(shot)
            except Exception:
                logger.exception("evidence: screenshot of %s failed", page.url)
                self.stats.inc_value("sweep/evidence_screenshot_failed")
        # written (and fsync'd) in the store's threads while the reactor goes on with other pages; the
        # listing moves on to publishing only once its evidence is on disk
        job = self.pool.submit(
            self._write,
            page,
            listing.platform,
            listing.listing_id,
            listing.model_dump(mode="json"),
            findings,
            self.rulebook_version,
            item.recrawl,
        )
        self._count(await asyncio.wrap_future(job))
        return item

    def _write(
        self,
        page: CapturedPage,
        platform: str,
        listing_id: str,
        listing: dict[str, Any] | None,
        findings: list[dict[str, Any]],
        rulebook_version: str | None,
        recrawl: str | None = None,
    ) -> CaptureResult | None:
        """One capture into the store (any thread: no stats here, `_count` adds them on the reactor)."""
        if page.job_id is None:
            page.job_id = self.job_id
        try:
            return self.store.capture(
                page,
                platform=platform,
                listing_id=listing_id,
                listing=listing,
                findings=findings,
                crawler=self.crawler_info,
                rulebook_version=rulebook_version,
                recrawl=recrawl,
            )
        except Exception:
            logger.exception("evidence: capture of %s failed", page.url)
            return None

    def _count(self, result: CaptureResult | None) -> None:
        if result is None:
            self.stats.inc_value("sweep/evidence_failed")
            return
        self.stats.inc_value("sweep/evidence_captures")
        self.stats.inc_value("sweep/evidence_revisits", result.revisits)
        self.stats.inc_value("sweep/evidence_warc_bytes", result.warc_bytes)
        self.stats.inc_value("sweep/evidence_payload_bytes", result.stored_payload_bytes)

    def _write_page(self, page: CapturedPage) -> CaptureResult | None:
        """A page that yielded no listing (`all` mode): its chain is keyed by the URL's hash."""
        host = urlsplit(page.url).hostname or "unknown"
        key = hashlib.sha256(page.url.encode()).hexdigest()[:32]
        return self._write(page, f"page:{host}", key, None, [], self.rulebook_version)

    def close_spider(self, spider: Any = None) -> None:
        if self.shooter is not None:
            self.shooter.close()
            self.shooter = None
        if self.mode != "all":
            self.pool.shutdown(wait=True)
            left = len(self.buffer.pages)
            if left:
                self.stats.set_value("sweep/evidence_uncaptured_pages", left)
            return
        for page in [*self.buffer.evicted, *self.buffer.pages.values()]:
            self._count(self._write_page(page))
        self.buffer.evicted.clear()
        self.buffer.pages.clear()
        self.pool.shutdown(wait=True)
