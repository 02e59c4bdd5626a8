"""`scrapy shell` for this project: Scrapy's shell with the plain HTTP downloader.

scrapy-playwright's download handler never gets its browser going in the thread the shell runs the
reactor in (the shell hangs at "Crawled 0 pages"), so the shell fetches with Scrapy's own HTTP
handler: static pages look exactly as the spider sees them, and a client-rendered page shows as the
empty shell it is. Everything else is the built-in command.
"""

from __future__ import annotations

import argparse

from scrapy.commands.shell import Command as ScrapyShell
from scrapy.settings import SETTINGS_PRIORITIES


class Command(ScrapyShell):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        # above the project's settings, below `-s` on the command line (as `scrapy check` does for feeds)
        priority = (SETTINGS_PRIORITIES["spider"] + SETTINGS_PRIORITIES["cmdline"]) // 2
        self.settings.set("DOWNLOAD_HANDLERS", {}, priority=priority)
        self.settings.set("LOGSTATS_INTERVAL", 0, priority=priority)
