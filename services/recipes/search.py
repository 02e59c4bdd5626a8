"""Health and version checks shared by OpenSearch and Elasticsearch (same REST API for both)."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable

from services.process import http_json, port_open


def search_healthy(port: int) -> Callable[[], bool]:
    """Healthy once the cluster answers yellow or green (single node: replicas never allocate)."""

    def check() -> bool:
        if not port_open(port):
            return False
        try:
            health = http_json(f"http://127.0.0.1:{port}/_cluster/health?timeout=2s")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return health.get("status") in ("yellow", "green")

    return check


def search_version(port: int, fallback: str) -> Callable[[], str]:
    """'opensearch 2.19.1' from `GET /`; `fallback` when the server does not say (the minimal
    Elasticsearch has no main action)."""

    def version() -> str:
        try:
            v = http_json(f"http://127.0.0.1:{port}/", timeout=2)["version"]
            return f"{v.get('distribution', 'elasticsearch')} {v['number']}"
        except Exception:
            return fallback

    return version
