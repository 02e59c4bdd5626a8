"""Crawl etiquette and access: who we say we are, how fast we go, and what we do when a site says no.

A bureau's crawler must be recognisable and polite, and must notice when it is refused rather than
record a block page as "no listings". Two Scrapy components, in their usual slots:

- `EtiquetteAddon` (in `ADDONS`): when a crawler is built, it names the bureau and a contact in the
  user agent (`SWEEP_CRAWL_BUREAU`, `SWEEP_CRAWL_CONTACT`; a `USER_AGENT` given on the command line
  wins), takes a production proxy from the environment only (`SWEEP_CRAWL_PROXY`, which may carry
  credentials, so it is never read from a file; Scrapy's own `http_proxy`/`https_proxy`/`no_proxy`
  work as well), and installs the middleware below.
- `BlockingMiddleware` (a downloader middleware): recognises a block — HTTP 429, HTTP 403, or a
  captcha / bot-challenge page served with any status — counts it per host in the crawl stats
  (`sweep/blocked`, `sweep/blocked/<kind>`, `sweep/blocked_host/<host>`), logs an error that names
  the host and what it said, and backs off: the host's download slot waits longer (Retry-After when
  the site says how long, else doubling from `SWEEP_BLOCK_BASE_DELAY` up to `SWEEP_BLOCK_MAX_DELAY`),
  the refused request is tried again up to `SWEEP_BLOCK_RETRIES` times, and a host that blocked
  `SWEEP_BLOCK_HOST_LIMIT` times is given up for the rest of the crawl (its remaining requests are
  dropped and counted in `sweep/blocked_skipped`). Good answers relax the back-off again.
  It also keeps every host's slot delay at least its robots.txt `Crawl-delay` for our user agent
  (Scrapy obeys robots.txt rules but not its crawl delay; AutoThrottle may lower a delay, so the floor
  is set again after every response).

Per-host concurrency is Scrapy's `CONCURRENT_REQUESTS_PER_DOMAIN` (the product spiders keep it low).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES

logger = logging.getLogger(__name__)

DEFAULT_BUREAU = "market regulation bureau"
PROJECT_AGENT = "sweep/0.1"

# markup of bot challenges (reCAPTCHA, hCaptcha, Cloudflare, Alibaba's slider, DataDome, PerimeterX ...)
_CHALLENGE = re.compile(
    rb"(g-recaptcha|h-captcha|hcaptcha\.com/1/api|cf-chl-|challenge-platform|cf_captcha|"
    rb"/_____tmd_____/|x5secdata|punish\?|nc_1_n1z|geetest_|px-captcha|distil_r_captcha|captcha-delivery\.com)"
)
"""Searched in the lower-cased page: a case-sensitive search of lower-cased bytes is several times
faster than IGNORECASE, and every small page of a crawl passes through here."""
# page titles that only block pages have (a product may well be called "短信验证码…": not these)
_BLOCK_TITLE = re.compile(
    r"(访问验证|安全验证|人机验证|滑块验证|验证码拦截|访问受限|访问被拒绝|请求过于频繁|訪問受限|安全驗證|"
    r"robot check|access denied|attention required|just a moment|are you a robot|are you human|"
    r"verify you are human|request blocked|security check|bot check|pardon our interruption)",
    re.IGNORECASE,
)
_CAPTCHA_TITLE = re.compile(r"^\W*(captcha|验证码|驗證碼)\W*(\s[-|–_]\s.{0,40})?$", re.IGNORECASE)
"""A title that is the word alone ("Captcha", "验证码 - example.com"), not a product named after it."""
# sentences that only block pages say, looked for in small pages
_BLOCK_SENTENCE = re.compile(
    r"(unusual traffic from your (computer )?network|we have detected unusual|verify you are (a )?human|"
    r"are you a robot|enable javascript and cookies to continue|请完成(下方)?(安全)?验证|请拖动(下方)?滑块|"
    r"请输入验证码(后)?继续访问|访问过于频繁|滑块验证后继续)"
)
"""Searched in the lower-cased text, as `_CHALLENGE`."""
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
SMALL_PAGE = 64_000
"""Bytes under which a page with challenge markup or a block page's sentence is taken for a block
page; a bigger page is a real one that happens to carry a captcha (a review form's reCAPTCHA)."""


def block_kind(response: Response) -> str | None:
    """Why a response is a refusal ("429", "403", "captcha") or None when it is an answer."""
    if response.status == 429:
        return "429"
    head = response.body[:SMALL_PAGE]
    if isinstance(response, TextResponse) or b"<html" in head[:2048].lower():
        small = len(response.body) < SMALL_PAGE or response.status in (403, 503)
        title = _TITLE.search(head)
        title_text = " ".join(title.group(1).decode("utf-8", "replace").split()) if title else ""
        if _BLOCK_TITLE.search(title_text) or _CAPTCHA_TITLE.match(title_text):
            return "captcha"
        lower = head.lower() if small else b""
        if small and (_CHALLENGE.search(lower) or _BLOCK_SENTENCE.search(lower.decode("utf-8", "replace"))):
            return "captcha"
    if response.status == 403:
        return "403"
    return None


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None when absent or
    unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def user_agent(bureau: str | None, contact: str | None) -> str:
    """`sweep/0.1 (+CONTACT; BUREAU; 网络交易监测)`: the bureau and how a site can reach it."""
    parts = [f"+{contact}" if contact else "+market-regulator web monitoring", bureau or DEFAULT_BUREAU, "网络交易监测"]
    clean = [re.sub(r"[\x00-\x1f\x7f()]", " ", p).strip() for p in parts]
    return f"{PROJECT_AGENT} ({'; '.join(clean)})"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _redacted(proxy: str) -> str:
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.port else f"{parts.scheme}://{parts.hostname}"


class EtiquetteAddon:
    """Scrapy add-on: user agent, proxy, and the blocking middleware (see the module doc)."""

    def update_settings(self, settings: Any) -> None:
        try:
            from sweep.settings import get_settings

            cfg = get_settings()
            bureau, contact = cfg.crawl_bureau, cfg.crawl_contact
        except Exception as exc:  # a broken sweep.toml must not make `scrapy list` fail
            logger.warning("sweep settings unreadable (%s): default user agent", exc)
            bureau, contact = None, None
        if (settings.getpriority("USER_AGENT") or 0) <= SETTINGS_PRIORITIES["project"]:
            # the project's default names no bureau; a spider's or the command line's own wins
            settings.set("USER_AGENT", user_agent(bureau, contact), priority="project")
        proxy = os.environ.get("SWEEP_CRAWL_PROXY", "").strip()
        if proxy:
            settings.set("SWEEP_CRAWL_PROXY", proxy, priority="project")
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares.setdefault("spiders.blocking.BlockingMiddleware", 560)  # sees 429s before RetryMiddleware (550)
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority=settings.getpriority("DOWNLOADER_MIDDLEWARES"))


class BlockingMiddleware:
    """Downloader middleware: block detection with per-host counts and back-off, crawl-delay floor,
    and the production proxy (see the module doc)."""

    def __init__(self, crawler: Any) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.base_delay = s.getfloat("SWEEP_BLOCK_BASE_DELAY", 5.0)
        self.max_delay = s.getfloat("SWEEP_BLOCK_MAX_DELAY", 300.0)
        self.retries = s.getint("SWEEP_BLOCK_RETRIES", 2)
        self.host_limit = s.getint("SWEEP_BLOCK_HOST_LIMIT", 10)
        self.proxy = s.get("SWEEP_CRAWL_PROXY") or None
        self.user_agent = s.get("USER_AGENT") or "*"
        self.blocked: Counter[str] = Counter()
        self.backoff: dict[str, float] = {}
        """Extra delay each blocking host's slot keeps (0 once it answers well again)."""
        self.given_up: set[str] = set()
        self.crawl_delays: dict[str, float | None] = {}
        if self.proxy:
            logger.info("crawling through the proxy %s (SWEEP_CRAWL_PROXY)", _redacted(self.proxy))

    @classmethod
    def from_crawler(cls, crawler: Any) -> BlockingMiddleware:
        return cls(crawler)

    # ---- requests --------------------------------------------------------------------------------
    def process_request(self, request: Request, spider: Any = None) -> None:
        host = _host(request.url)
        if host in self.given_up and not request.url.startswith("data:"):
            self.stats.inc_value("sweep/blocked_skipped")
            raise IgnoreRequest(f"{host} has blocked this crawl {self.blocked[host]} times: not asking again")
        if self.proxy and "proxy" not in request.meta and request.url.startswith(("http://", "https://")):
            request.meta["proxy"] = self.proxy
        self._floor(request, host)

    # ---- responses -------------------------------------------------------------------------------
    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        host = _host(request.url)
        if request.url.endswith("/robots.txt") or request.meta.get("dont_obey_robotstxt"):
            return response  # robots.txt's own answers are RobotsTxtMiddleware's business
        kind = block_kind(response)
        if kind is None:
            self._relax(host)
            self._floor(request, host)
            return response
        self.blocked[host] += 1
        self.stats.inc_value("sweep/blocked")
        self.stats.inc_value(f"sweep/blocked/{kind}")
        self.stats.inc_value(f"sweep/blocked_host/{host}")
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        previous = self.backoff.get(host, 0.0)
        delay = min(self.max_delay, wait if wait is not None else max(self.base_delay, previous * 2))
        self.backoff[host] = delay
        self._floor(request, host)
        what = {"429": "429 Too Many Requests", "403": "403 Forbidden", "captcha": "a captcha / bot-check page"}[kind]
        logger.error(
            "blocked by %s: %s at %s (%d on this host so far); waiting %.0f s between its requests",
            host,
            what,
            request.url,
            self.blocked[host],
            delay,
        )
        if self.blocked[host] >= self.host_limit:
            if host not in self.given_up:
                self.given_up.add(host)
                self.stats.inc_value("sweep/blocked_hosts_given_up")
                logger.error("giving up on %s: it blocked this crawl %d times", host, self.blocked[host])
            raise IgnoreRequest(f"blocked by {host} ({what})")
        tries = int(request.meta.get("sweep_block_tries", 0))
        if tries < self.retries:
            again = request.replace(dont_filter=True, priority=request.priority - 1)
            again.meta["sweep_block_tries"] = tries + 1
            return again
        raise IgnoreRequest(f"blocked by {host} ({what}) {tries + 1} times for {request.url}")

    # ---- delays ----------------------------------------------------------------------------------
    def _relax(self, host: str) -> None:
        if self.backoff.get(host):
            self.backoff[host] = self.backoff[host] / 2 if self.backoff[host] / 2 >= 1.0 else 0.0

    def _crawl_delay(self, request: Request, host: str) -> float | None:
        """The host's robots.txt Crawl-delay for our user agent, once RobotsTxtMiddleware has it."""
        if host in self.crawl_delays:
            return self.crawl_delays[host]
        downloader = self._downloader()
        robots = None
        for mw in getattr(getattr(downloader, "middleware", None), "middlewares", ()):
            if type(mw).__name__ == "RobotsTxtMiddleware":
                robots = mw
        parsers = getattr(robots, "_parsers", None)
        if parsers is None:
            return None
        netloc = urlsplit(request.url).netloc
        if netloc in parsers and parsers[netloc] is None:  # no robots.txt (or it failed): no delay asked
            self.crawl_delays[host] = None
            return None
        parser = parsers.get(netloc)
        if parser is None or not hasattr(parser, "crawl_delay"):
            return None  # not fetched yet (a Deferred), or no robots.txt
        try:
            delay = parser.crawl_delay(self.user_agent)
        except Exception:
            delay = None
        self.crawl_delays[host] = float(delay) if delay else None
        if delay:
            logger.info("%s asks for a crawl delay of %s s (robots.txt): obeyed", host, delay)
            self.stats.set_value(f"sweep/crawl_delay/{host}", float(delay))
        return self.crawl_delays[host]

    def _floor(self, request: Request, host: str) -> None:
        """Keep the host's download slot at least as slow as its crawl delay and our back-off."""
        floor = max(self._crawl_delay(request, host) or 0.0, self.backoff.get(host, 0.0))
        if floor <= 0:
            return
        slot = self._slot(request)
        if slot is not None and slot.delay < floor:
            slot.delay = floor

    def _downloader(self) -> Any:
        """The crawl's downloader, or None before the crawl starts (and in tests without one)."""
        try:
            engine = self.crawler.engine
        except (AttributeError, RuntimeError):
            return None
        return getattr(engine, "downloader", None)

    def _slot(self, request: Request) -> Any:
        downloader = self._downloader()
        if downloader is None:
            return None
        try:
            _, slot = downloader._get_slot(request)
        except Exception:  # another Scrapy's internals: back-off then rests on the retries alone
            return None
        return slot
