"""Hooks scrapy-playwright loads by path (kept import-light: loaded inside the download handler)."""

from __future__ import annotations

from typing import Any

_SKIP = {"image", "media", "font", "stylesheet"}


def abort_request(request: Any) -> bool:
    """Don't let the browser download images, fonts or styles: only the DOM text matters to us and
    it roughly halves the time per rendered page."""
    return request.resource_type in _SKIP
