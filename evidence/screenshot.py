"""Full-page PNG screenshots of captured static pages, rendered in Chromium (Playwright).

Browser-rendered pages are photographed by the crawl itself (`spiders.capture`); a static page is
photographed on demand (`sweep evidence screenshot`) or, with `evidence_static_screenshots`, as it is
captured. Either way the page rendered is the captured response itself, served to Chromium from memory
for the page's own URL (so relative links resolve as on the site), with every other request refused:
the picture shows what was archived and nothing fetched later. Styles and images the page loads from
elsewhere are therefore missing from it, which the 取证说明 of a bundle does not hide (the capture
records who rendered it and from which response).

Playwright's sync API may not run on a thread with an asyncio loop (Scrapy's reactor thread has one),
so one worker thread owns the browser and every screenshot is a job for it.
"""

from __future__ import annotations

import gzip
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

VIEWPORT = {"width": 1280, "height": 900}


def decoded_body(body: bytes, headers: list[tuple[str, str]]) -> bytes:
    """The entity as a browser would see it: captured bodies keep their Content-Encoding."""
    encoding = next((v.strip().lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if encoding == "br":
        import brotli  # scrapy's optional dependency, present when a site sent br at all

        return brotli.decompress(body)
    return body


class Screenshotter:
    """One Chromium in one worker thread; `submit` returns a Future of PNG bytes."""

    def __init__(self, executable_path: str, args: list[str] | None = None, timeout_ms: int = 15_000) -> None:
        self.executable_path = executable_path
        self.args = args or ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage"]
        self.timeout_ms = timeout_ms
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence-screenshot")
        self._pw: Any = None
        self._browser: Any = None

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=self.executable_path, args=self.args)

    def _shoot(self, url: str, html: bytes, content_type: str) -> bytes:
        if self._browser is None:
            self._start()
        context = self._browser.new_context(viewport=VIEWPORT, java_script_enabled=True)
        try:
            page = context.new_page()

            def serve(route: Any) -> None:
                if route.request.url == url and route.request.resource_type == "document":
                    route.fulfill(status=200, body=html, content_type=content_type or "text/html; charset=utf-8")
                else:  # only what was archived: nothing fetched now
                    route.abort()

            page.route("**/*", serve)
            page.goto(url, wait_until="load", timeout=self.timeout_ms)
            return page.screenshot(full_page=True, type="png")
        finally:
            context.close()

    def submit(self, url: str, body: bytes, headers: list[tuple[str, str]]) -> Future[bytes]:
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "text/html")
        return self._pool.submit(self._shoot, url, decoded_body(body, headers), content_type)

    def shoot(self, url: str, body: bytes, headers: list[tuple[str, str]]) -> bytes:
        return self.submit(url, body, headers).result()

    def close(self) -> None:
        def stop() -> None:
            if self._browser is not None:
                self._browser.close()
            if self._pw is not None:
                self._pw.stop()

        self._pool.submit(stop).result()
        self._pool.shutdown()
