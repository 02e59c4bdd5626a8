"""`sweep crawl SPIDER -a NAME=VALUE`: spider arguments as `scrapy crawl -a` gives them, so a site
profile file runs without a packaged spider and product_pages takes its start pages and options."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_frontier_sites import PROFILE
from tests.integration.tiny_shop import TinyShop

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def shop() -> Iterator[TinyShop]:
    site = TinyShop.start()
    yield site
    site.stop()


def sweep_crawl(data: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_CRAWL_PROXY")}
    return subprocess.run(
        [sys.executable, "-m", "app", "crawl", *argv],
        env=env | {"SWEEP_DATA_DIR": str(data), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def skus(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted(json.loads(line)["listing_id"] for line in lines if line.strip())


def test_profile_file_as_a_spider_argument(shop: TinyShop, tmp_path: Path) -> None:
    profile = tmp_path / "tiny_shop.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = sweep_crawl(
        tmp_path, "profile", "-a", f"profile={profile}", "-a", f"base_url={shop.url}", "--no-js", "--no-publish",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert skus(out) == ["SKU-1", "SKU-2", "SKU-3"]


def test_product_pages_start_urls_and_follow_as_arguments(shop: TinyShop, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    done = sweep_crawl(
        tmp_path, "product_pages", "-a", f"start_urls={shop.url}/p/2.html", "-a", "follow=false", "--no-js",
        "--no-publish", "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert skus(out) == ["SKU-2"]  # its links are not followed


def test_an_argument_without_a_value_is_refused(tmp_path: Path) -> None:
    done = sweep_crawl(tmp_path, "profile", "-a", "profile", "--no-js", "--no-publish")
    assert done.returncode == 2
    assert "NAME=VALUE" in done.stderr
