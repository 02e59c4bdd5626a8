"""Hooks scrapy-playwright loads by path (kept import-light: loaded inside the download handler)."""

from __future__ import annotations

from typing import Any

_SKIP = {"image", "media", "font", "stylesheet"}


def abort_request(request: Any) -> bool:
    """Don't let the browser download images, fonts or styles: only the DOM text matters to us and
    it roughly halves the time per rendered page."""
    return request.resource_type in _SKIP


def abort_media_only(request: Any) -> bool:
    """While evidence is captured, the screenshot must show the page as a shopper saw it — product
    photos, styles and fonts included — so only audio and video stay out (slower per rendered page)."""
    return request.resource_type == "media"
