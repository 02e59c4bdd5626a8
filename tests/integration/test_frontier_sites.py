"""Real-site spiders on the shared frontier (embedded: SQLite bus, one `sweep crawl-worker`): a target
of the generic product_pages spider (from robots.txt's sitemap, from a sitemap named on the target, or
from start pages by links) and one of a site profile file are crawled by a worker started for the demo
mall; each job ends with exactly the tiny shop's products, each page fetched once, robots.txt obeyed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.bus.sqlite import SqliteBus
from adapters.people.operations_sql import SqlOperationsStore
from operations.jobs import launch
from sweep.bus import envelope
from sweep.bus.base import Topics
from sweep.store.operations import JobState, Trigger
from tests.integration.tiny_shop import SECRET, TinyShop

pytestmark = [pytest.mark.integration]

SKUS = ["SKU-1", "SKU-2", "SKU-3"]


@pytest.fixture
def shop() -> Iterator[TinyShop]:
    site = TinyShop.start()
    yield site
    site.stop()


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_PEOPLE_URL")}
    return env | {"SWEEP_DATA_DIR": str(data), "SWEEP_TOPIC_PREFIX": "emb", "COLUMNS": "200"}


def _sweep(data: Path, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *argv], env=_env(data), capture_output=True, text=True, timeout=timeout
    )


def _run_target(data: Path, name: str) -> tuple[SqlOperationsStore, str]:
    """Launch the target's job, run one worker (started for the demo mall) until the frontier is idle."""
    store = SqlOperationsStore(f"sqlite:///{(data / 'people.sqlite').resolve()}")
    target = store.get_target(name)
    assert target is not None
    bus = SqliteBus(data / "bus.sqlite")
    job = launch(store, bus, Topics("emb").crawl_requests, target, trigger=Trigger.PERSON, requested_by="test")
    bus.close()
    worker = _sweep(data, "crawl-worker", "--no-js", "--idle-exit", "3", timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    return store, job.id


def _listing_ids(data: Path) -> list[str]:
    bus = SqliteBus(data / "bus.sqlite")
    ids: list[str] = []
    with bus.consumer([Topics("emb").listings], "check") as consumer:
        while batch := consumer.poll(5000, timeout_s=0.2):
            ids += [envelope.decode(m.value)[1]["listing_id"] for m in batch]
    bus.close()
    return ids


def _assert_exactly_the_shop(store: SqlOperationsStore, job_id: str, data: Path, shop: TinyShop) -> None:
    job = store.get_job(job_id)
    assert job is not None and job.state == JobState.FINISHED, job
    assert job.stats.listings == 3
    assert sorted(_listing_ids(data)) == SKUS
    assert store.pending_count(job_id) == 0
    for path in ("/p/1.html", "/p/2.html", "/p/3.html"):
        assert shop.fetched(path) == 1, shop.hits  # per-job de-dup: linked from every page, fetched once
    assert shop.fetched(SECRET) == 0  # robots.txt disallows it (the sitemap lists it)
    assert all(ua.startswith("sweep/") for _, ua in shop.hits)


def test_product_pages_target_from_robots_sitemap(shop: TinyShop, tmp_path: Path) -> None:
    added = _sweep(tmp_path, "targets", "add", "shop", "--spider", "product_pages", "--base-url", shop.url)
    assert added.returncode == 0, added.stderr
    store, job_id = _run_target(tmp_path, "shop")
    _assert_exactly_the_shop(store, job_id, tmp_path, shop)
    assert shop.fetched("/sitemap.xml") == 1
    assert shop.fetched("/about.html") == 1  # in the sitemap: fetched, no product, no listing


def test_product_pages_target_by_links_from_a_start_page(shop: TinyShop, tmp_path: Path) -> None:
    added = _sweep(
        tmp_path, "targets", "add", "shop", "--spider", "product_pages", "--base-url", shop.url,
        "--start-url", f"{shop.url}/about.html",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    store, job_id = _run_target(tmp_path, "shop")
    _assert_exactly_the_shop(store, job_id, tmp_path, shop)
    assert shop.fetched("/sitemap.xml") == 0  # pages found by their links, from the start page


def test_product_pages_target_with_a_named_sitemap(shop: TinyShop, tmp_path: Path) -> None:
    added = _sweep(
        tmp_path, "targets", "add", "shop", "--spider", "product_pages", "--base-url", shop.url,
        "--sitemap", f"{shop.url}/sitemap.xml",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    store, job_id = _run_target(tmp_path, "shop")
    _assert_exactly_the_shop(store, job_id, tmp_path, shop)


PROFILE = r"""
name: tiny_shop
platform: tiny-shop
allowed_domains: [127.0.0.1]
start_urls: ["http://127.0.0.1/"]
links:
  list: ['/$', '/about\.html$']
  detail: ['/p/\d+\.html$', '/private/']
currency: CNY
selectors:
  title: {css: h1}
politeness:
  delay: 0.1
  concurrency: 1
"""


def test_site_profile_file_target(shop: TinyShop, tmp_path: Path) -> None:
    profile = tmp_path / "tiny_shop.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    added = _sweep(tmp_path, "targets", "add", "tiny", "--profile", str(profile), "--base-url", shop.url)
    assert added.returncode == 0, added.stderr
    shown = _sweep(tmp_path, "targets", "list")
    assert "profile profile=" in shown.stdout and "base_url" not in shown.stdout
    store, job_id = _run_target(tmp_path, "tiny")
    _assert_exactly_the_shop(store, job_id, tmp_path, shop)
    assert shop.fetched("/") == 1


def test_a_target_whose_spider_cannot_start_is_refused(tmp_path: Path) -> None:
    bad = _sweep(tmp_path, "targets", "add", "x", "--spider", "product_pages", "--base-url", "http://127.0.0.1:1",
                 "--category", "toys")  # fmt: skip
    assert bad.returncode == 2
    assert "start URLs only" in bad.stderr
    missing = _sweep(tmp_path, "targets", "add", "y", "--profile", str(tmp_path / "nope.yaml"),
                     "--base-url", "http://127.0.0.1:1")  # fmt: skip
    assert missing.returncode == 2


def test_a_job_whose_spider_cannot_be_built_fails_instead_of_hanging(shop: TinyShop, tmp_path: Path) -> None:
    profile = tmp_path / "tiny_shop.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    added = _sweep(tmp_path, "targets", "add", "tiny", "--profile", str(profile), "--base-url", shop.url)
    assert added.returncode == 0, added.stderr
    store = SqlOperationsStore(f"sqlite:///{(tmp_path / 'people.sqlite').resolve()}")
    target = store.get_target("tiny")
    assert target is not None
    bus = SqliteBus(tmp_path / "bus.sqlite")
    job = launch(store, bus, Topics("emb").crawl_requests, target, trigger=Trigger.PERSON, requested_by="test")
    bus.close()
    profile.unlink()  # the worker cannot read the profile any more
    worker = _sweep(tmp_path, "crawl-worker", "--no-js", "--idle-exit", "3", timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    failed = store.get_job(job.id)
    assert failed is not None and failed.state == JobState.FAILED
    assert "could not be built" in failed.message and "cannot read the profile" in failed.message
    assert shop.hits == []
