"""The seeds of real-site targets on the frontier (product_pages, site profiles, sitemaps), the spider
arguments and crawl state their messages carry, and a job spider's domains and politeness."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from spiders.frontier import FrontierRequest, JobSpiders, keep_floor, offsite, pace_host, seed_requests
from spiders.spiders.product_pages import ProductPagesSpider
from spiders.spiders.profile import ProfileSpider

SITE = "http://127.0.0.1:8123"


def _seeds(spider: str, **kw: object) -> list[tuple[str, str | None, dict]]:
    return [(fr.url, fr.request["callback"], fr.request["meta"]) for fr in seed_requests("j", spider, SITE, **kw)]  # type: ignore[arg-type]


def test_product_pages_seeds_robots_sitemaps_or_start_pages() -> None:
    assert _seeds("product_pages") == [(f"{SITE}/robots.txt", "parse_robots", {})]
    assert _seeds("product_pages", sitemaps=[f"{SITE}/s.xml"]) == [(f"{SITE}/s.xml", "parse_sitemap", {})]
    # start pages are crawled by their links: state the worker's own spider object must share
    assert _seeds("product_pages", start_urls=[f"{SITE}/a"]) == [
        (f"{SITE}/a", "parse_page", {"sweep_state": {"crawling_links": True}})
    ]
    assert _seeds("product_pages", start_urls=[f"{SITE}/a"], spider_args={"follow": "false"}) == [
        (f"{SITE}/a", "parse_page", {})
    ]


def test_profile_seeds_are_its_start_pages_at_the_base_url() -> None:
    assert _seeds("demo_mall_profile") == [(f"{SITE}/", "parse_list", {})]
    assert _seeds("profile", spider_args={"profile": "demo_mall"}) == [(f"{SITE}/", "parse_list", {})]


def test_messages_carry_the_spider_arguments_but_not_the_start_urls() -> None:
    [fr] = seed_requests("j", "product_pages", SITE, start_urls=[f"{SITE}/a"], spider_args={"profile": "demo_mall"})
    assert fr.args == {"base_url": SITE, "profile": "demo_mall"}
    assert FrontierRequest.decode(fr.encode()) == fr
    [mall] = seed_requests("j", "demo_mall", SITE)
    assert mall.args == {} and b'"args"' not in mall.encode()  # the worker's own spider, as before


def test_targets_a_spider_cannot_start_from_are_refused() -> None:
    with pytest.raises(ValueError, match="start URLs only"):
        seed_requests("j", "product_pages", SITE, categories=["toys"])
    with pytest.raises(ValueError, match="does not read sitemaps"):
        seed_requests("j", "demo_mall_profile", SITE, sitemaps=[f"{SITE}/s.xml"])


def test_offsite_by_host_name_port_aside() -> None:
    spider = SimpleNamespace(allowed_domains=["127.0.0.1", "shop.example.com"])
    assert not offsite("http://127.0.0.1:8123/p/1", spider)
    assert not offsite("https://img.shop.example.com/x.jpg", spider)
    assert offsite("https://evil.example.com/", spider)
    assert not offsite("https://anywhere.test/", SimpleNamespace(allowed_domains=[]))


def test_job_spider_politeness_from_its_class_or_its_profile() -> None:
    pages = ProductPagesSpider(base_url=SITE)
    assert JobSpiders.politeness(pages) == {"delay": 1.0, "concurrency": 2}
    profiled = ProfileSpider(profile="demo_mall", base_url=SITE)
    assert JobSpiders.politeness(profiled) == {"delay": 0.0, "concurrency": 16}  # demo_mall.yaml's politeness


def test_a_job_spiders_pace_becomes_its_hosts_slot_and_autothrottle_keeps_above_it() -> None:
    downloader = SimpleNamespace(slots={"old.test": SimpleNamespace(delay=0.25, concurrency=8)}, per_slot_settings={})
    pace_host(downloader, "new.test", {"delay": 1.0, "concurrency": 2})
    assert downloader.per_slot_settings == {"new.test": {"delay": 1.0, "concurrency": 2}}  # the slot is made so
    pace_host(downloader, "old.test", {"delay": 1.0, "concurrency": 2})
    old = downloader.slots["old.test"]
    assert (old.delay, old.concurrency) == (1.0, 2)  # an existing slot is set now
    old.delay = 0.4  # AutoThrottle lowered it
    keep_floor(old, 1.0)
    assert old.delay == 1.0
    old.delay = 3.0  # raised (a slow site): kept
    keep_floor(old, 1.0)
    assert old.delay == 3.0
