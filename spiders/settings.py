"""Scrapy settings of the sweep project (module `spiders.settings`).

Declarative only: importing this module probes nothing (no browser lookup, no sweep settings read), so
`scrapy list` and `scrapy check` start instantly anywhere. The system Chromium is found when a crawler
is built, by the `spiders.browser.SystemChromium` add-on.

Defaults are polite for real platforms (robots.txt obeyed, AutoThrottle on, a few concurrent requests
per site); the demo spider raises concurrency in its own `custom_settings` because its target is a
local server built to take it. Pages that need JavaScript go through scrapy-playwright with the
system Chromium (see `spiders.browser`); plain pages keep Scrapy's fast HTTP downloader.
"""

from __future__ import annotations

from spiders.browser import CHROMIUM_ARGS

BOT_NAME = "sweep"
SPIDER_MODULES = ["spiders.spiders"]
NEWSPIDER_MODULE = "spiders.spiders"
COMMANDS_MODULE = "spiders.commands"
"""`scrapy shell` without the browser download handler (see spiders/commands/shell.py)."""

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
PLAYWRIGHT_LAUNCH_OPTIONS = {"headless": True, "args": CHROMIUM_ARGS}
"""`executable_path` is added by the SystemChromium add-on (SWEEP_CHROMIUM, else the usual paths)."""
ADDONS = {
    "spiders.browser.SystemChromium": 0,
    "spiders.capture.EvidenceCapture": 10,
    "spiders.blocking.EtiquetteAddon": 20,
}
"""EtiquetteAddon (spiders.blocking): the bureau's user agent, the environment's proxy, block detection
with per-host back-off, and robots.txt's crawl delay."""
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
PLAYWRIGHT_ABORT_REQUEST = "spiders.browser_hooks.abort_request"

ITEM_PIPELINES = {
    "spiders.pipelines.ValidatePipeline": 100,
    "spiders.pipelines.RecrawlPipeline": 200,
    "spiders.pipelines.DetectPipeline": 300,
    "spiders.pipelines.PublishPipeline": 500,
    "spiders.pipelines.ListingItemPipeline": 900,
}
"""Listings leave the pipelines as plain dicts of the listing contract, which is what Scrapy's feed
exports write: `scrapy crawl demo_mall -O listings.jsonl` (or `FEEDS`) is the JSON-lines output."""

SPIDER_CONTRACTS = {
    "spiders.contracts.PathContract": 10,
    "spiders.contracts.ListingContract": 20,
}
"""`scrapy check`: `@path` joins a path to the spider's base URL (so contracts work on any port);
`@listing` checks the fields of the listing a detail page yields or carries to its shop page."""

DEMO_MALL_URL = "http://127.0.0.1:8000"
"""Where the demo_mall spider crawls unless `-a base_url=...` says otherwise: `sweep demo-mall`'s
default address, so `sweep demo-mall` + `scrapy crawl demo_mall` (or `scrapy check`) need no argument."""

SWEEP_SHOP_CACHE_SIZE = 2048
"""Shops whose facts a spider keeps in memory (least recently used first out). A cache only: a miss
costs one more shop page, never a listing, and JOBDIR resumes start with it empty."""

SWEEP_PUBLISH = True
"""Publish listings and findings to the bus (adapters.open_bus)."""
SWEEP_DETECT = True
"""Run the rulebook on every listing (but those a recrawl found unchanged)."""
SWEEP_RECRAWL = True
"""Incremental recrawl (`spiders.pipelines.RecrawlPipeline`, `sweep.recrawl`): listings whose content is
unchanged since the last crawl are not judged or published again, only recorded as seen; listings found
gone are recorded as removed. False judges and publishes everything, as a first crawl does."""
