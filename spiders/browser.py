"""Finding the Chromium executable for JavaScript pages.

`playwright install` cannot download browsers here (and should not in production: the distro's
Chromium gets security updates), so the spider always launches an existing executable: the one
`SWEEP_CHROMIUM` names, else the first of the usual Debian/Ubuntu paths on PATH.
"""

from __future__ import annotations

import os
import shutil

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
