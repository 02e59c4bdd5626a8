"""The Scrapy glue of evidence capture: the add-on enables the middleware and the pipeline unless
capture is off; the buffer that bridges a page and its later listing stays within its byte budget;
the middleware keeps the request as sent and merges a browser page's DOM and screenshot into the raw
exchange of the same URL; the pipeline stores pages with findings only (by default)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from evidence.store import EvidenceStore
from evidence.warc import CapturedPage
from spiders.capture import EvidenceCapture, EvidenceCaptureMiddleware, EvidencePipeline, PageBuffer
from spiders.pipelines import CrawledListing
from sweep.models import Finding, Listing


def settings(**values: object) -> Settings:
    s = Settings()
    s.setmodule("spiders.settings", priority="project")
    for key, value in values.items():
        s.set(key, value, priority="cmdline")
    return s


def test_the_addon_enables_both_components_unless_capture_is_off() -> None:
    on = settings(SWEEP_EVIDENCE="findings")
    EvidenceCapture().update_settings(on)
    assert on.getdict("DOWNLOADER_MIDDLEWARES")["spiders.capture.EvidenceCaptureMiddleware"] == 950
    assert on.getdict("ITEM_PIPELINES")["spiders.capture.EvidencePipeline"] == 400
    assert on.getdict("ITEM_PIPELINES")["spiders.pipelines.DetectPipeline"] == 300  # the project's kept
    off = settings(SWEEP_EVIDENCE="off")
    EvidenceCapture().update_settings(off)
    assert "spiders.capture.EvidenceCaptureMiddleware" not in off.getdict("DOWNLOADER_MIDDLEWARES")


def test_captured_browser_pages_load_their_images_and_styles_for_the_screenshot() -> None:
    """Crawling for speed, the browser skips images, fonts and styles; a screenshot kept as evidence must
    show the product photos, so capture lets them load (only audio and video stay out)."""
    from spiders.browser_hooks import abort_media_only, abort_request

    on = settings(SWEEP_EVIDENCE="findings")
    EvidenceCapture().update_settings(on)
    assert on.get("PLAYWRIGHT_ABORT_REQUEST") == "spiders.browser_hooks.abort_media_only"
    no_pictures = settings(SWEEP_EVIDENCE="findings", SWEEP_EVIDENCE_SCREENSHOTS=False)
    EvidenceCapture().update_settings(no_pictures)
    assert no_pictures.get("PLAYWRIGHT_ABORT_REQUEST") == "spiders.browser_hooks.abort_request"
    off = settings(SWEEP_EVIDENCE="off")
    EvidenceCapture().update_settings(off)
    assert off.get("PLAYWRIGHT_ABORT_REQUEST") == "spiders.browser_hooks.abort_request"
    image, video = SimpleNamespace(resource_type="image"), SimpleNamespace(resource_type="media")
    assert abort_request(image) and not abort_media_only(image)
    assert abort_media_only(video)
    assert "spiders.capture.EvidencePipeline" not in off.getdict("ITEM_PIPELINES")


def page(url: str, size: int) -> CapturedPage:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return CapturedPage(url, "GET", [], b"", 200, "HTTP/1.1", [], b"x" * size, now, now)


def test_the_buffer_keeps_within_its_byte_budget_oldest_out_first() -> None:
    buffer = PageBuffer(max_bytes=250)
    buffer.keep_evicted = True
    for i in range(4):
        buffer.put(page(f"http://m.test/{i}", 100))
    assert list(buffer.pages) == ["http://m.test/2", "http://m.test/3"]
    assert [p.url for p in buffer.evicted] == ["http://m.test/0", "http://m.test/1"]
    assert buffer.size == 200
    assert buffer.pop("http://m.test/2").url == "http://m.test/2"
    assert buffer.size == 100


def crawler(tmp_path: Path, **values: object) -> SimpleNamespace:
    c = SimpleNamespace(settings=settings(SWEEP_EVIDENCE_DIR=str(tmp_path), **values), spider=None)
    c.stats = MemoryStatsCollector(c)
    return c


def test_middleware_keeps_the_exchange_and_merges_the_rendered_dom(tmp_path: Path) -> None:
    c = crawler(tmp_path)
    mw = EvidenceCaptureMiddleware.from_crawler(c)
    url = "http://m.test/item/1.html"
    request = Request(url, headers={"User-Agent": "sweep/0.1"})
    mw.process_request(request)
    shell = HtmlResponse(url, status=200, headers={"Content-Type": "text/html"}, body=b"<main id=app></main>")
    assert mw.process_response(request, shell) is shell
    raw = c.sweep_evidence_buffer.get(url)
    assert (raw.status, raw.body, raw.browser) == (200, b"<main id=app></main>", False)
    assert ("User-Agent", "sweep/0.1") in raw.request_headers

    rendered_request = Request(url, meta={"playwright": True})
    mw.process_request(rendered_request)
    methods = rendered_request.meta["playwright_page_methods"]
    assert methods[-1].method == "screenshot" and methods[-1].kwargs == {"full_page": True, "type": "png"}
    methods[-1].result = b"\x89PNG-image"
    dom = HtmlResponse(url, body=b"<main id=app><h1>rendered</h1></main>", flags=["playwright"])
    mw.process_response(rendered_request, dom)
    merged = c.sweep_evidence_buffer.get(url)
    assert merged.body == b"<main id=app></main>"  # the raw HTTP response of the shell
    assert merged.dom == b"<main id=app><h1>rendered</h1></main>"
    assert (merged.screenshot, merged.browser) == (b"\x89PNG-image", True)


def test_pipeline_stores_pages_with_findings_only_by_default(tmp_path: Path) -> None:
    c = crawler(tmp_path, SWEEP_EVIDENCE="findings", SWEEP_EVIDENCE_STATIC_SCREENSHOTS=False)
    pipeline = EvidencePipeline.from_crawler(c)
    pipeline.open_spider()
    buffer = c.sweep_evidence_buffer
    for n in (1, 2):
        buffer.put(page(f"http://m.test/item/{n}.html", 10))
    clean = Listing(platform="demo", listing_id="1", title="大米", url="http://m.test/item/1.html")
    toxic = Listing(platform="demo", listing_id="2", title="氰化钾", url="http://m.test/item/2.html")
    finding = Finding(platform="demo", listing_id="2", family="chem.toxic", rule_id="chem.toxic.sale", severity="high")
    asyncio.run(pipeline.process_item(CrawledListing(clean)))
    asyncio.run(pipeline.process_item(CrawledListing(toxic, [finding])))
    store = EvidenceStore(tmp_path)
    assert store.manifests("demo", "1") == []
    [(_, manifest)] = store.manifests("demo", "2")
    assert manifest["findings"][0]["rule_id"] == "chem.toxic.sale"
    assert c.stats.get_value("sweep/evidence_captures") == 1
    assert buffer.pages == {}


def test_a_captured_listing_stays_under_capture_without_findings(tmp_path: Path) -> None:
    """An unchanged recrawl skips the rulebook (no findings on the item): the listing captured before
    is captured again (as revisits), one never captured is not."""
    c = crawler(tmp_path, SWEEP_EVIDENCE="findings", SWEEP_EVIDENCE_STATIC_SCREENSHOTS=False)
    pipeline = EvidencePipeline.from_crawler(c)
    pipeline.open_spider()
    finding = Finding(platform="demo", listing_id="2", family="chem.toxic", rule_id="chem.toxic.sale", severity="high")
    toxic = Listing(platform="demo", listing_id="2", title="氰化钾", url="http://m.test/item/2.html")
    clean = Listing(platform="demo", listing_id="1", title="大米", url="http://m.test/item/1.html")
    c.sweep_evidence_buffer.put(page("http://m.test/item/2.html", 10))
    asyncio.run(pipeline.process_item(CrawledListing(toxic, [finding])))
    for n in (1, 2):
        c.sweep_evidence_buffer.put(page(f"http://m.test/item/{n}.html", 10))
    asyncio.run(pipeline.process_item(CrawledListing(clean, recrawl="unchanged")))
    asyncio.run(pipeline.process_item(CrawledListing(toxic, recrawl="unchanged")))
    store = EvidenceStore(tmp_path)
    assert store.manifests("demo", "1") == []
    chain = [m for _, m in store.manifests("demo", "2")]
    assert [m["sequence"] for m in chain] == [1, 2]
    assert [r["revisit"] for r in chain[1]["records"] if r["kind"] == "response"] == [True]
    assert (chain[0].get("recrawl"), chain[1]["recrawl"]) == (None, "unchanged")
