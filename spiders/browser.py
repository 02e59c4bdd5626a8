"""Finding the Chromium executable for JavaScript pages.

`playwright install` cannot download browsers here (and should not in production: the distro's
Chromium gets security updates), so the spider always launches an existing executable: the one
`SWEEP_CHROMIUM` names, else the first of the usual Debian/Ubuntu paths on PATH.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

logger = logging.getLogger(__name__)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # fewer renderer processes and no /dev/shm: cheaper on small (2-core, container) machines
    "--renderer-process-limit=2",
    "--disable-extensions",
    "--disable-dev-shm-usage",
]


class BrowserNotFoundError(RuntimeError):
    """No Chromium to render JavaScript pages; raised before a crawl starts, not in the middle of it."""


def find_chromium(configured: str | None = None) -> str | None:
    """The browser executable to use, or None. `configured` (SWEEP_CHROMIUM) wins when it exists."""
    if configured:
        path = configured if os.path.isfile(configured) else shutil.which(configured)
        return path if path and os.access(path, os.X_OK) else None
    for name in ("/usr/bin/chromium", *CANDIDATES):
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def require_chromium(configured: str | None = None) -> str:
    path = find_chromium(configured)
    if path:
        return path
    if configured:
        raise BrowserNotFoundError(
            f"SWEEP_CHROMIUM={configured!r} is not an executable browser. Point SWEEP_CHROMIUM at Chromium "
            "(e.g. /usr/bin/chromium, `apt-get install chromium`), or crawl without JavaScript rendering."
        )
    raise BrowserNotFoundError(
        "No Chromium found for JavaScript-rendered pages (looked for /usr/bin/chromium, chromium, "
        "chromium-browser, google-chrome). Install it (`apt-get install chromium`) or set SWEEP_CHROMIUM to "
        "the browser executable, or crawl without JavaScript rendering."
    )


def configured_chromium() -> str | None:
    """SWEEP_CHROMIUM from sweep's settings (environment or config file), or None."""
    try:
        from sweep.settings import get_settings

        return get_settings().chromium
    except Exception:  # a broken sweep config is reported by the commands that need it, not here
        logger.debug("sweep settings unreadable; looking for Chromium in the usual places", exc_info=True)
        return None


def _uses_playwright(settings: Any) -> bool:
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    return any("scrapy_playwright" in str(path) for path in handlers.values())


class SystemChromium:
    """Scrapy add-on (`ADDONS`): points scrapy-playwright at the system Chromium.

    It runs when a crawler is built, not when the settings module is imported, so `scrapy list` and
    `scrapy check` probe nothing, and a crawl without the browser download handler (`--no-js`) never
    looks for a browser. An `executable_path` already in PLAYWRIGHT_LAUNCH_OPTIONS wins. Without a
    browser the crawl still starts (static pages need none) and the log says why JavaScript pages will
    fail; `spiders.run.crawl` refuses to start instead, before any page is fetched.
    """

    def update_settings(self, settings: Any) -> None:
        if not _uses_playwright(settings):
            return
        launch = dict(settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"))
        if launch.get("executable_path"):
            return
        configured = configured_chromium()
        path = find_chromium(configured)
        if path is None:
            logger.warning(
                "no Chromium found (SWEEP_CHROMIUM=%r): JavaScript-rendered pages will fail; "
                "install chromium or crawl with -a render_js=false",
                configured,
            )
            return
        launch["executable_path"] = path
        # at the priority the project gave these options, so this refines them rather than being ignored
        settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority=settings.getpriority("PLAYWRIGHT_LAUNCH_OPTIONS"))
