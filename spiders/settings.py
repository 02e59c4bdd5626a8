"""Scrapy settings of the sweep project (module `spiders.settings`).

Defaults are polite for real platforms (robots.txt obeyed, AutoThrottle on, a few concurrent requests
per site); the demo spider raises concurrency in its own `custom_settings` because its target is a
local server built to take it. Pages that need JavaScript go through scrapy-playwright with the
system Chromium (see `spiders.browser`); plain pages keep Scrapy's fast HTTP downloader.
"""

from __future__ import annotations

from spiders.browser import CHROMIUM_ARGS, find_chromium


def _configured_chromium() -> str | None:
    try:
        from sweep.settings import get_settings

        return get_settings().chromium
    except Exception:  # settings errors surface elsewhere; here we only want a browser path
        return None


BOT_NAME = "sweep"
SPIDER_MODULES = ["spiders.spiders"]
NEWSPIDER_MODULE = "spiders.spiders"

USER_AGENT = "sweep/0.1 (+market-regulator web monitoring; 网络交易监测)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0.25
DOWNLOAD_TIMEOUT = 30
CONCURRENT_ITEMS = 8
"""Scrapy starts this many asyncio workers for the output of *every* callback; our callbacks yield a
handful of items/requests, and the default 100 cost ~25% of a static crawl's CPU (measured)."""

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 10.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
FEED_EXPORT_ENCODING = "utf-8"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
CHROMIUM_PATH = find_chromium(_configured_chromium())
"""None when no browser exists; `spiders.run.crawl` then refuses to start a JavaScript crawl."""
PLAYWRIGHT_LAUNCH_OPTIONS = {"headless": True, "args": CHROMIUM_ARGS}
if CHROMIUM_PATH:
    PLAYWRIGHT_LAUNCH_OPTIONS["executable_path"] = CHROMIUM_PATH
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_ABORT_REQUEST = "spiders.browser_hooks.abort_request"

ITEM_PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.DetectPipeline": 300,
    "spiders.pipelines.PublishPipeline": 500,
    "spiders.pipelines.JsonLinesPipeline": 800,
}

SWEEP_PUBLISH = True
"""Publish listings and findings to the bus (adapters.open_bus)."""
SWEEP_OUTPUT = None
"""Path of a JSON-lines file of listings (overwritten per crawl), or None."""
SWEEP_DETECT = True
"""Run the rulebook on every listing."""
