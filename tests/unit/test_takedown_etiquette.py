"""The takedown recheck's fetching has the crawler's etiquette: robots.txt read once per site and
obeyed (a disallowed listing is not fetched and the check concludes nothing), the Crawl-delay (or the
crawler's download delay) between two requests to one site, and the crawler's user agent naming the
bureau. Against a local server; the clock and the sleep are fakes, so no test waits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.people.operations_sql import SqlOperationsStore
from adapters.store.sqlite import SqliteLeadStore
from operations import takedown
from operations.takedown import ROBOTS_DISALLOWED, PoliteFetch, TakedownOutcome
from sweep.models import Evidence, Finding, LeadEvent, Listing, TriageStatus
from sweep.settings import get_settings

ROBOTS = "User-agent: *\nCrawl-delay: 3\nDisallow: /private/\n"


class Site:
    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # header text arrives as Latin-1: back to the UTF-8 the crawler meant
                hits.append((self.path, self.headers.get("User-Agent", "").encode("latin-1").decode("utf-8")))
                if self.path == "/robots.txt":
                    body, status = ROBOTS.encode(), 200
                elif self.path.startswith(("/item/", "/private/")):
                    body, status = "<html><h1>保温杯</h1></html>".encode(), 200
                else:
                    body, status = b"not here", 404
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [p for p, _ in self.hits]


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def polite(fake: FakeTime, agent: str = "sweep/0.1 (+test; bureau; 网络交易监测)") -> PoliteFetch:
    return PoliteFetch(agent, delay_s=0.25, clock=fake.clock, sleep=fake.sleep)


def test_robots_read_once_disallowed_never_fetched_crawl_delay_kept(site: Site, fake_time: FakeTime) -> None:
    fetch = polite(fake_time)
    a = fetch(f"{site.url}/item/a.html")
    b = fetch(f"{site.url}/item/b.html")
    hidden = fetch(f"{site.url}/private/c.html")
    assert (a.status, b.status) == (200, 200)
    assert (hidden.status, hidden.error) == (None, ROBOTS_DISALLOWED)
    assert site.paths() == ["/robots.txt", "/item/a.html", "/item/b.html"]
    assert fake_time.slept == [3.0, 3.0]  # robots.txt's Crawl-delay, longer than the 0.25 s floor


def test_the_floor_delay_holds_without_a_crawl_delay_and_time_already_passed_counts(fake_time: FakeTime) -> None:
    pages: list[str] = []

    def raw(url: str, agent: str) -> takedown.Page:
        pages.append(url)
        return takedown.Page(url, 404 if url.endswith("robots.txt") else 200, "")

    fetch = PoliteFetch("sweep/0.1", delay_s=0.25, raw=raw, clock=fake_time.clock, sleep=fake_time.sleep)
    fetch("http://s.test/1")
    fake_time.now += 0.1
    fetch("http://s.test/2")
    fake_time.now += 5.0
    fetch("http://s.test/3")
    fetch("http://other.test/1")  # another site: its own robots.txt, no wait for s.test's clock
    assert pages == [
        "http://s.test/robots.txt",
        "http://s.test/1",
        "http://s.test/2",
        "http://s.test/3",
        "http://other.test/robots.txt",
        "http://other.test/1",
    ]
    assert fake_time.slept == [0.25, 0.15, 0.25]  # no robots.txt (404): nothing disallowed


def test_the_user_agent_is_the_crawlers(site: Site, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_CRAWL_BUREAU", "拉萨市市场监督管理局")
    monkeypatch.setenv("SWEEP_CRAWL_CONTACT", "https://amr.example.gov.cn/crawler")
    get_settings.cache_clear()
    try:
        fetch = PoliteFetch.from_settings()
    finally:
        get_settings.cache_clear()
    fetch.clock, fetch.sleep = fake_time.clock, fake_time.sleep
    fetch(f"{site.url}/item/a.html")
    agents = {ua for _, ua in site.hits}
    assert agents == {"sweep/0.1 (+https://amr.example.gov.cn/crawler; 拉萨市市场监督管理局; 网络交易监测)"}


def test_a_recheck_of_a_disallowed_listing_concludes_nothing(site: Site, fake_time: FakeTime, tmp_path: Path) -> None:
    listing = Listing.model_validate(
        {
            "platform": "tiny",
            "listing_id": "c",
            "title": "保温杯",
            "url": f"{site.url}/private/c.html",
            "crawled_at": "2026-11-01T00:00:00Z",
        }
    )
    finding = Finding(
        platform="tiny",
        listing_id="c",
        family="ad",
        rule_id="ad/demo",
        severity="high",
        evidence=[Evidence(field="title", text="保温", start=0, end=2)],
        legal_basis="测试",
    )
    event = LeadEvent.of(finding, listing, datetime(2026, 11, 1, tzinfo=UTC))
    leads = SqliteLeadStore(tmp_path / "leads.sqlite")
    leads.apply_events([event])
    lead = leads.set_status(event.lead_id, TriageStatus.confirmed)
    ops = SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    report = takedown.recheck(ops, [lead], fetch=polite(fake_time), now=datetime.now(UTC) + timedelta(days=1))
    [check] = report.checks
    assert check.outcome == TakedownOutcome.UNREACHABLE and check.detail == ROBOTS_DISALLOWED
    assert site.paths() == ["/robots.txt"]
    ops.close()
    leads.close()
