"""Run a spider in this process and return what it did.

Twisted's reactor can be started only once per process, so `crawl()` can be called once per process:
the CLI calls it once; tests and benchmarks run `python -m spiders.run ...` (or `sweep crawl`) in a
subprocess and read the stats JSON that `__main__` prints as its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from spiders.browser import require_chromium


class CrawlFailedError(RuntimeError):
    """The crawl ran but its results are not safe to trust (e.g. the bus did not confirm delivery)."""


@dataclass
class CrawlStats:
    pages: int = 0
    static_pages: int = 0
    browser_pages: int = 0
    listings: int = 0
    findings: int = 0
    invalid: int = 0
    errors: int = 0
    seconds: float = 0.0
    shops: int = 0
    malformed: int = 0
    js_skipped: int = 0
    truncated: int = 0
    """Listings cut to the model's size limits (published, marked, never dropped)."""
    shop_pages: int = 0
    finish_reason: str | None = None
    detection: str | None = None
    detections: int = 0
    """Listings the rulebook judged in this crawl (a recrawl skips unchanged ones, `sweep.recrawl`)."""
    listings_new: int = 0
    listings_changed: int = 0
    listings_unchanged: int = 0
    listings_removed: int = 0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"pages_per_second": round(self.pages_per_second, 1)}


def build_settings(
    *, output: Path | None, publish: bool, render_js: bool, overrides: dict[str, Any] | None, progress: bool
) -> Any:
    """The project settings (`spiders.settings`) plus what this run asks for. The output file is a
    Scrapy feed (replaced, like `scrapy crawl -O`); with JavaScript rendering the browser is looked up
    here, so a missing one fails before the crawl with the setting's name."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("spiders.settings", priority="project")
    if render_js:
        from spiders.browser import configured_chromium

        path = require_chromium(configured_chromium())
        launch = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
        launch["executable_path"] = path
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="project")
    else:
        # plain Scrapy downloader only: no browser is launched or even loaded
        settings.set("DOWNLOAD_HANDLERS", {}, priority="project")
    if output:
        feed = {"format": "jsonlines", "encoding": "utf-8", "overwrite": True}
        settings.set("FEEDS", {str(output): feed}, priority="cmdline")
    settings.set("SWEEP_PUBLISH", publish, priority="cmdline")
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    if progress:
        settings.set("SWEEP_RICH_PROGRESS", True, priority="cmdline")
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions["spiders.extensions.RichProgress"] = 0
        settings.set("EXTENSIONS", extensions, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def crawl(
    spider: str,
    *,
    base_url: str,
    output: Path | None = None,
    publish: bool = True,
    settings_overrides: dict[str, Any] | None = None,
    progress: bool = False,
    render_js: bool = True,
    spider_args: dict[str, str] | None = None,
) -> CrawlStats:
    """Crawl `base_url` with the named spider in this process (once per process: see module doc).
    `spider_args` are the spider's arguments, as `scrapy crawl -a NAME=VALUE` gives them (e.g. the
    profile spider's `profile`); they win over `base_url` and `render_js`.

    Raises `BrowserNotFoundError` before starting when JavaScript rendering is on and no Chromium is
    found, and `CrawlFailedError` after the crawl when publishing failed.
    """
    from scrapy.crawler import CrawlerProcess

    settings = build_settings(
        output=output, publish=publish, render_js=render_js, overrides=settings_overrides, progress=progress
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    started = time.monotonic()
    kwargs: dict[str, Any] = {"render_js": render_js}
    if base_url:  # none: the spider's own default address (a frontier worker, a site profile)
        kwargs["base_url"] = base_url
    process.crawl(crawler, **(kwargs | (spider_args or {})))
    process.start()
    elapsed = time.monotonic() - started
    s = crawler.stats.get_stats()
    browser = int(s.get("sweep/browser_pages", 0))
    # data: responses of listings waiting for their shop page are no pages of the site
    pages = int(s.get("response_received_count", 0)) - int(s.get("sweep/shop_waits", 0))
    stats = CrawlStats(
        pages=pages,
        static_pages=pages - browser,
        browser_pages=browser,
        listings=int(s.get("item_scraped_count", 0)),
        findings=int(s.get("sweep/findings", 0)),
        invalid=int(s.get("sweep/invalid", 0)),
        errors=int(s.get("log_count/ERROR", 0)),
        seconds=round(float(s.get("elapsed_time_seconds", elapsed)), 3),
        shops=int(s.get("sweep/shops", 0)),
        malformed=int(s.get("sweep/malformed", 0)),
        js_skipped=int(s.get("sweep/client_rendered_skipped", 0)),
        truncated=int(s.get("sweep/listings_truncated", 0)),
        shop_pages=int(s.get("sweep/shop_pages", 0)),
        finish_reason=s.get("finish_reason"),
        detection=s.get("sweep/detection"),
        detections=int(s.get("sweep/detections", 0)),
        listings_new=int(s.get("sweep/listings_new", 0)),
        listings_changed=int(s.get("sweep/listings_changed", 0)),
        listings_unchanged=int(s.get("sweep/listings_unchanged", 0)),
        listings_removed=int(s.get("sweep/listings_removed", 0)),
    )
    if stats.finish_reason is None:
        why = s.get("sweep/detection") if str(s.get("sweep/detection", "")).startswith("failed") else None
        raise CrawlFailedError(f"the spider did not run to the end ({why or 'see the log above'})")
    if s.get("sweep/frontier_failed"):
        raise CrawlFailedError(f"frontier: {s['sweep/frontier_failed']} ({stats.to_dict()})")
    if s.get("sweep/publish_failed"):
        raise CrawlFailedError(f"publishing failed: {s['sweep/publish_failed']} ({stats.to_dict()})")
    return stats


def work(
    spider: str,
    *,
    bus: Any,
    store: Any,
    topic: str,
    on_job_done: Any = None,
    group: str | None = None,
    batch: int = 200,
    idle_exit_s: float = 0.0,
    render_js: bool = True,
    settings_overrides: dict[str, Any] | None = None,
) -> CrawlStats:
    """Run this process as a frontier worker (`spiders.frontier`) until it is stopped (SIGINT/SIGTERM:
    Scrapy finishes in-flight pages; what was not confirmed is replayed by another worker) or, with
    `idle_exit_s`, until the frontier has been empty that long. Once per process, like `crawl`."""
    from spiders import frontier

    frontier.RUNTIME.update(bus=bus, store=store, topic=topic, on_job_done=on_job_done)
    overrides = {
        "SWEEP_FRONTIER": True,
        "SWEEP_FRONTIER_GROUP": group,
        "SWEEP_FRONTIER_BATCH": batch,
        "SWEEP_FRONTIER_IDLE_EXIT": idle_exit_s,
        "LOGSTATS_INTERVAL": 0,
    }
    from scrapy.settings import Settings as ScrapySettings

    project = ScrapySettings()
    project.setmodule("spiders.settings", priority="project")
    extensions = dict(project.getdict("EXTENSIONS"))
    extensions["spiders.frontier.FrontierWorker"] = 100
    middlewares = dict(project.getdict("SPIDER_MIDDLEWARES"))
    middlewares["spiders.frontier.FrontierSpiderMiddleware"] = 30
    overrides |= {"EXTENSIONS": extensions, "SPIDER_MIDDLEWARES": middlewares}
    return crawl(
        spider,
        base_url="",
        publish=True,
        settings_overrides=overrides | (settings_overrides or {}),
        render_js=render_js,
    )


def parse_spider_args(values: list[str]) -> dict[str, str]:
    """`-a NAME=VALUE` pairs as scrapy crawl reads them: text values, the last one of a name wins."""
    out: dict[str, str] = {}
    for kv in values:
        key, sep, value = kv.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"spider argument {kv!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def _parse_set(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in values:
        key, _, raw = kv.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m spiders.run", description="Run one sweep spider.")
    ap.add_argument("spider")
    ap.add_argument("--base-url", default="", help="the site (optional for spiders that know theirs)")
    ap.add_argument("-a", dest="spider_args", action="append", default=[], metavar="NAME=VALUE", help="spider argument")
    ap.add_argument("-o", "--output", type=Path, help="JSON-lines feed of the listings (replaced)")
    ap.add_argument("--no-publish", action="store_true", help="do not publish to the bus")
    ap.add_argument("--no-detect", action="store_true", help="do not run the rulebook")
    ap.add_argument("--no-js", action="store_true", help="skip client-rendered pages (no browser)")
    ap.add_argument("--progress", action="store_true", help="show a live progress line on stderr")
    ap.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", help="Scrapy setting")
    args = ap.parse_args(argv)
    try:
        stats = crawl(
            args.spider,
            base_url=args.base_url,
            output=args.output,
            publish=not args.no_publish,
            settings_overrides={"SWEEP_DETECT": not args.no_detect} | _parse_set(args.set),
            progress=args.progress,
            render_js=not args.no_js,
            spider_args=parse_spider_args(args.spider_args),
        )
    except Exception as exc:
        print(f"crawl failed: {exc}", file=sys.stderr)
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return 1
    print(json.dumps(stats.to_dict(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
