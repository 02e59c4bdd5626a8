"""Scrapy extensions of sweep's own."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class RichProgress:
    """A live progress line for people watching a crawl (`SWEEP_RICH_PROGRESS = True`): pages fetched,
    pages rendered in the browser, listings emitted, findings and dropped items, with rates. Scrapy's own
    log lines say the same every 30 s; this says it every moment without flooding the terminal."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.console = Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[b]抓取[/b] {task.fields[pages]} pages ({task.fields[browser]} 浏览器渲染)"),
            TextColumn("· {task.fields[listings]} listings · {task.fields[findings]} findings"),
            TextColumn("· {task.fields[rate]:.0f} pages/s"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task("crawl", total=None, pages=0, browser=0, listings=0, findings=0, rate=0.0)
        self.elapsed = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RichProgress:
        if not crawler.settings.getbool("SWEEP_RICH_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.update, signal=signals.response_received)
        crawler.signals.connect(ext.update, signal=signals.item_scraped)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.progress.start()

    def update(self, *args: Any, **kwargs: Any) -> None:
        s = self.stats.get_stats()
        task = self.progress.tasks[0]
        elapsed = task.elapsed or 0.0
        pages = int(s.get("response_received_count", 0)) - int(s.get("sweep/shop_waits", 0))
        self.progress.update(
            self.task,
            pages=pages,
            browser=int(s.get("sweep/browser_pages", 0)),
            listings=int(s.get("item_scraped_count", 0)),
            findings=int(s.get("sweep/findings", 0)),
            rate=pages / elapsed if elapsed > 0.5 else 0.0,
        )

    def spider_closed(self, spider: Spider) -> None:
        self.update()
        self.progress.stop()
