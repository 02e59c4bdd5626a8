"""Crawl etiquette and blocks (spiders/blocking.py): the middleware on hand-made responses, then a
real crawl (a subprocess, Twisted starts once per process) against a tiny local HTTP server that
answers 429, 403 and a captcha page, with a robots.txt crawl delay and the bureau's user agent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from spiders.blocking import BlockingMiddleware, EtiquetteAddon, block_kind, retry_after_seconds, user_agent

REPO = Path(__file__).resolve().parents[2]
CAPTCHA = b"""<html><head><title>Security check</title></head><body>
<form><div class="g-recaptcha" data-sitekey="x"></div></form></body></html>"""
CAPTCHA_ZH = "<html><head><title>访问验证</title></head><body>请完成滑块验证后继续访问</body></html>".encode()


def html(url: str, body: bytes, status: int = 200, headers: dict | None = None) -> HtmlResponse:
    return HtmlResponse(url=url, body=body, status=status, headers=headers or {}, request=Request(url))


# ---- on hand-made responses --------------------------------------------------------------------------
def test_block_kinds() -> None:
    assert block_kind(html("http://a.test/p", b"slow down", 429)) == "429"
    assert block_kind(html("http://a.test/p", b"<html>no</html>", 403)) == "403"
    assert block_kind(html("http://a.test/p", CAPTCHA)) == "captcha"
    assert block_kind(html("http://a.test/p", CAPTCHA_ZH)) == "captcha"
    assert block_kind(html("http://a.test/p", CAPTCHA, 403)) == "captcha"  # the page says more than the status
    normal = b"<html><head><title>Kettle</title></head><body><h1>Kettle</h1>" + b"<p>text</p>" * 2000
    assert block_kind(html("http://a.test/p", normal)) is None
    # a big product page whose footer mentions a captcha-protected login is no block page
    big = normal + b"<footer>Login (protected by captcha)</footer></body></html>"
    assert block_kind(html("http://a.test/p", big)) is None
    assert block_kind(Response("http://a.test/img.png", body=b"\x89PNG", status=200)) is None
    # a listing selling verification codes is exactly what the bureau looks for, not a block page
    sms = "<html><head><title>短信验证码接码平台 包月</title></head><body><h1>短信验证码接码平台</h1></body></html>"
    assert block_kind(html("http://a.test/p", sms.encode())) is None
    # a big product page with a reCAPTCHA in its review form is a product page
    review = normal + b'<form class="review"><div class="g-recaptcha"></div></form>' + b"<p>more</p>" * 8000
    assert block_kind(html("http://a.test/p", review)) is None
    assert block_kind(html("http://a.test/p", b"<html><head><title>Robot Check</title></head></html>")) == "captcha"
    word = "<html><head><title>验证码 - 某商城</title></head><body></body></html>".encode()
    assert block_kind(html("http://a.test/p", word)) == "captcha"


def test_retry_after_header() -> None:
    assert retry_after_seconds(b"120") == 120.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == 90.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def middleware(**settings: object) -> BlockingMiddleware:
    crawler = get_crawler(Spider, settings_dict={"SWEEP_BLOCK_BASE_DELAY": 5, "SWEEP_BLOCK_MAX_DELAY": 60} | settings)
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return BlockingMiddleware.from_crawler(crawler)


def test_blocks_are_counted_per_host_backed_off_retried_then_given_up() -> None:
    mw = middleware(SWEEP_BLOCK_RETRIES=1, SWEEP_BLOCK_HOST_LIMIT=4)
    stats = mw.stats
    url = "http://shop.test/p/1"
    again = mw.process_response(Request(url), html(url, b"", 429))
    assert isinstance(again, Request) and again.meta["sweep_block_tries"] == 1 and again.dont_filter
    assert mw.backoff["shop.test"] == 5  # the base delay
    with pytest.raises(IgnoreRequest, match=r"blocked by shop\.test"):
        mw.process_response(again, html(url, b"", 429))
    assert mw.backoff["shop.test"] == 10  # doubled
    retry = mw.process_response(
        Request("http://shop.test/p/2"), html("http://shop.test/p/2", b"", 429, {"Retry-After": "42"})
    )
    assert isinstance(retry, Request) and mw.backoff["shop.test"] == 42  # the site said how long
    # a good answer relaxes the back-off
    ok = html("http://shop.test/p/3", b"<html><title>ok</title></html>")
    assert mw.process_response(Request("http://shop.test/p/3"), ok) is ok and mw.backoff["shop.test"] == 21
    assert stats.get_value("sweep/blocked") == 3 and stats.get_value("sweep/blocked/429") == 3
    assert stats.get_value("sweep/blocked_host/shop.test") == 3
    # the fourth block on this host: given up for the rest of the crawl, other hosts unaffected
    with pytest.raises(IgnoreRequest):
        mw.process_response(Request("http://shop.test/p/4"), html("http://shop.test/p/4", CAPTCHA))
    assert stats.get_value("sweep/blocked/captcha") == 1 and "shop.test" in mw.given_up
    with pytest.raises(IgnoreRequest, match="blocked this crawl 4 times"):
        mw.process_request(Request("http://shop.test/p/5"))
    assert stats.get_value("sweep/blocked_skipped") == 1
    assert mw.process_request(Request("http://other.test/")) is None
    # robots.txt answers are left to RobotsTxtMiddleware
    robots = html("http://other.test/robots.txt", b"", 403)
    assert mw.process_response(Request("http://other.test/robots.txt"), robots) is robots


def test_back_off_is_capped() -> None:
    mw = middleware(SWEEP_BLOCK_RETRIES=0, SWEEP_BLOCK_HOST_LIMIT=100)
    for i in range(8):
        with pytest.raises(IgnoreRequest):
            mw.process_response(Request(f"http://s.test/{i}"), html(f"http://s.test/{i}", b"", 403))
    assert mw.backoff["s.test"] == 60 and mw.stats.get_value("sweep/blocked/403") == 8


def test_user_agent_names_the_bureau_and_contact_and_proxy_comes_from_the_environment(monkeypatch) -> None:
    from sweep.settings import get_settings

    monkeypatch.setenv("SWEEP_CRAWL_BUREAU", "拉萨市市场监督管理局")
    monkeypatch.setenv("SWEEP_CRAWL_CONTACT", "https://amr.example.gov.cn/crawler")
    monkeypatch.setenv("SWEEP_CRAWL_PROXY", "http://user:secret@proxy.internal:3128")
    get_settings.cache_clear()
    try:
        settings = Settings()
        settings.setmodule("spiders.settings", priority="project")
        EtiquetteAddon().update_settings(settings)
        assert settings["USER_AGENT"] == (
            "sweep/0.1 (+https://amr.example.gov.cn/crawler; 拉萨市市场监督管理局; 网络交易监测)"
        )
        assert settings.getdict("DOWNLOADER_MIDDLEWARES")["spiders.blocking.BlockingMiddleware"] == 560
        mw = middleware(SWEEP_CRAWL_PROXY=settings["SWEEP_CRAWL_PROXY"])
        request = Request("https://shop.test/p")
        mw.process_request(request)
        assert request.meta["proxy"] == "http://user:secret@proxy.internal:3128"
        # a user agent given on the command line wins
        cmdline = Settings()
        cmdline.setmodule("spiders.settings", priority="project")
        cmdline.set("USER_AGENT", "custom/1.0", priority="cmdline")
        EtiquetteAddon().update_settings(cmdline)
        assert cmdline["USER_AGENT"] == "custom/1.0"
    finally:
        get_settings.cache_clear()
    assert (
        user_agent(None, None) == "sweep/0.1 (+market-regulator web monitoring; market regulation bureau; 网络交易监测)"
    )
    assert "(" not in user_agent("bad (bureau)", "x")[10:-1].replace("(+", "")  # no stray parentheses


# ---- a real crawl against a tiny server ----------------------------------------------------------------
def product(name: str, price: str) -> bytes:
    doc = {"@context": "https://schema.org", "@type": "Product", "name": name,
           "offers": {"@type": "Offer", "price": price, "priceCurrency": "CNY"}}  # fmt: skip
    return (
        f'<html lang="zh-CN"><head><title>{name}</title><script type="application/ld+json">{json.dumps(doc)}'
        f"</script></head><body><h1>{name}</h1></body></html>"
    ).encode()


class Site(BaseHTTPRequestHandler):
    hits: list[tuple[str, str]]
    busy_left: dict[str, int]

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        # header bytes arrive as Latin-1 text; the crawler sends its user agent in UTF-8
        self.hits.append((self.path, self.headers.get("User-Agent", "").encode("latin-1").decode("utf-8")))
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        pages = ["/p/kettle", "/p/cup", "/about", "/p/busy", "/p/secret", "/p/check"]
        status, body, headers = 200, b"", {"Content-Type": "text/html; charset=utf-8"}
        if self.path == "/robots.txt":
            body = f"User-agent: *\nCrawl-delay: 0.5\nDisallow: /private\nSitemap: {base}/sitemap.xml\n".encode()
            headers["Content-Type"] = "text/plain"
        elif self.path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in [*pages, "/private/p"])
            body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
            headers["Content-Type"] = "application/xml"
        elif self.path == "/p/kettle":
            body = product("电热水壶 1.7L", "129.00")
        elif self.path == "/p/cup":
            body = product("保温杯 500ml", "59.90")
        elif self.path == "/about":
            body = "<html><head><title>关于我们</title></head><body><h1>关于我们</h1></body></html>".encode()
        elif self.path == "/p/busy":
            if self.busy_left["n"] > 0:
                self.busy_left["n"] -= 1
                status, headers["Retry-After"] = 429, "1"
            else:
                body = product("茶叶 250g", "88.00")
        elif self.path == "/p/secret":
            status, body = 403, b"<html><body>Forbidden</body></html>"
        elif self.path == "/p/check":
            body = CAPTCHA
        else:
            status = 404
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[tuple[str, type[Site]]]:
    handler = type("Handler", (Site,), {"hits": [], "busy_left": {"n": 1}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_crawl_obeys_robots_backs_off_on_blocks_and_names_the_bureau(site, tmp_path: Path) -> None:
    url, handler = site
    out, log = tmp_path / "listings.jsonl", tmp_path / "crawl.log"
    env = os.environ | {
        "SWEEP_DATA_DIR": str(tmp_path / "data"),
        "SWEEP_CRAWL_BUREAU": "测试市市场监督管理局",
        "SWEEP_CRAWL_CONTACT": "mailto:crawler@amr.example.gov.cn",
    }
    env.pop("SWEEP_KAFKA", None)
    env.pop("SWEEP_CRAWL_PROXY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "spiders.run", "product_pages", "--base-url", url, "-o", str(out),
         "--no-publish", "--no-detect", "--no-js",
         "-s", "LOG_LEVEL=INFO", "-s", f"LOG_FILE={log}", "-s", "SWEEP_BLOCK_BASE_DELAY=0.2",
         "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4",
         "-s", "SWEEP_RECRAWL=false"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    text = log.read_text(encoding="utf-8")
    listings = {json.loads(line)["title"]: json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()}
    assert set(listings) == {"电热水壶 1.7L", "保温杯 500ml", "茶叶 250g"}  # busy answered on the retry
    assert listings["电热水壶 1.7L"]["price"] == 129.0 and listings["电热水壶 1.7L"]["currency"] == "CNY"
    paths = [p for p, _ in handler.hits]
    assert "/private/p" not in paths  # robots.txt obeyed
    assert paths.count("/p/busy") == 2 and paths.count("/p/secret") == 3 and paths.count("/p/check") == 3
    assert all(
        ua == "sweep/0.1 (+mailto:crawler@amr.example.gov.cn; 测试市市场监督管理局; 网络交易监测)"
        for _, ua in handler.hits
    )
    # clear errors naming the host and what it said, and the counts per host in the stats
    assert "blocked by 127.0.0.1: 429 Too Many Requests at " in text
    assert "blocked by 127.0.0.1: 403 Forbidden at " in text
    assert "blocked by 127.0.0.1: a captcha / bot-check page at " in text
    assert re.search(r"'sweep/blocked': 7,", text) and re.search(r"'sweep/blocked_host/127.0.0.1': 7,", text)
    assert re.search(r"'sweep/blocked/403': 3,", text) and re.search(r"'sweep/blocked/captcha': 3,", text)
    assert "127.0.0.1 asks for a crawl delay of 0.5 s (robots.txt): obeyed" in text
    assert stats["listings"] == 3 and stats["errors"] >= 7
