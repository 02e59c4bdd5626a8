"""Session fixtures for the real servers started by `services/up.sh` (see services/manager.py).

Addresses come from the environment first, then from `.services/env` (written by `up`). A missing or
unreachable server skips the test on a developer machine but FAILS it when CI=true: CI starts the
servers itself, so a skip there would hide a broken setup behind a green run.

Every fixture value is a plain address string; tests name their topics / indices with `run_prefix`
(unique per test session) so runs and parallel developers never see each other's data.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES_ENV = Path(os.environ.get("SWEEP_SERVICES_DIR", REPO / ".services")) / "env"


def _services_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if SERVICES_ENV.exists():
        for line in SERVICES_ENV.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def _address(var: str) -> str | None:
    return os.environ.get(var) or _services_env().get(var)


def _missing(what: str) -> None:
    msg = f"{what} -- start it with `services/up.sh` (see services/manager.py)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {msg}", pytrace=False)
    pytest.skip(msg)


def _tcp_ok(hostport: str) -> bool:
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=3):
            return True
    except (OSError, ValueError):
        return False


def _search_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_cluster/health?timeout=5s", timeout=10) as resp:
            return json.loads(resp.read()).get("status") in ("green", "yellow")
    except (urllib.error.URLError, OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def run_prefix() -> str:
    """Unique per test session: prefix topics, consumer groups and indices with it."""
    return f"it{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """`host:port` of a Kafka broker (SWEEP_KAFKA)."""
    bootstrap = _address("SWEEP_KAFKA")
    if not bootstrap:
        _missing("SWEEP_KAFKA is not set and .services/env has no Kafka")
    assert bootstrap
    if not all(_tcp_ok(hp) for hp in bootstrap.split(",")):
        _missing(f"Kafka at {bootstrap} is unreachable")
    return bootstrap


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    """Base URL of an OpenSearch node with analysis-common and painless (SWEEP_SEARCH_URL)."""
    url = _address("SWEEP_SEARCH_URL")
    if not url:
        _missing("SWEEP_SEARCH_URL is not set and .services/env has no OpenSearch")
    assert url
    if not _search_ok(url):
        _missing(f"OpenSearch at {url} is unreachable or not yellow/green")
    return url


@pytest.fixture(scope="session")
def es_minimal_url() -> str:
    """Base URL of the minimal Elasticsearch (integ-test-zip: no analysis-common, no painless)."""
    url = _address("SWEEP_TEST_ES_MINIMAL_URL")
    if not url:
        _missing("SWEEP_TEST_ES_MINIMAL_URL is not set and .services/env has no minimal Elasticsearch")
    assert url
    if not _search_ok(url):
        _missing(f"minimal Elasticsearch at {url} is unreachable or not yellow/green")
    return url
