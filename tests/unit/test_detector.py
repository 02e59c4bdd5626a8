"""The detector consumer on the embedded stack (SQLite bus, SQLite store): listings in, lead events out,
offsets committed after the flush, poison dead-lettered; and the crawler's detect toggle.

Which families each fixture listing carries is written by hand (packaged rulebook)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from adapters.bus.sqlite import SqliteBus
from adapters.store.sqlite import SqliteLeadStore
from consumers.detector import Detector
from consumers.indexer import Indexer
from rules import Rulebook, load_rulebook
from rules.book import EXAMPLE_LICENCE
from sweep.bus import envelope
from sweep.bus.base import Bus, BusConsumer, Message, Topics
from sweep.models import LeadEvent, Listing, Shop, lead_id_for
from sweep.publishing import KIND_LEAD_EVENT, Publisher

TOPICS = Topics("detect")
SHOP = Shop(shop_id="s1", name="好物店", licence_no=EXAMPLE_LICENCE)
CRAWLED = "2026-11-20T08:00:00+00:00"


def listing(listing_id: str, title: str) -> Listing:
    return Listing(platform="mall", listing_id=listing_id, title=title, shop=SHOP, crawled_at=CRAWLED)


LISTINGS = [
    listing("cyanide", "出售氰化钠 工业级 99%"),  # chem.toxic
    listing("tshirt", "纯棉T恤 白色"),  # nothing
    listing("first", "全网销量第一 蜂蜜"),  # ad.absolute_terms
]
EXPECTED = {lead_id_for("mall", "cyanide", "chem.toxic"), lead_id_for("mall", "first", "ad.absolute_terms")}


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook()


@pytest.fixture
def bus(tmp_path: Path) -> SqliteBus:
    b = SqliteBus(tmp_path / "bus.sqlite")
    yield b
    b.close()


def publish_listings(bus: Bus, listings: Sequence[Listing]) -> None:
    publisher = Publisher(bus, TOPICS)
    for item in listings:
        publisher.publish_listing(item)
    publisher.flush()


def read_all(bus: Bus, topic: str) -> list[Message]:
    consumer: BusConsumer = bus.consumer([topic], f"reader-{topic}")
    try:
        return consumer.poll(1000, timeout_s=0.2)
    finally:
        consumer.close()


def events(bus: Bus) -> list[LeadEvent]:
    return [LeadEvent.model_validate(envelope.decode(m.value, KIND_LEAD_EVENT)[1]) for m in read_all(bus, TOPICS.leads)]


def detector(bus: Bus, book: Rulebook, **kw: object) -> Detector:
    return Detector(bus, book, topics=TOPICS, overlap=False, **kw)  # type: ignore[arg-type]


def test_listings_in_lead_events_out_with_the_rulebook_version(bus: SqliteBus, book: Rulebook) -> None:
    publish_listings(bus, LISTINGS)

    stats = detector(bus, book).run(stop_when_idle=True, idle_s=0.2)

    out = events(bus)
    assert {e.lead_id for e in out} == EXPECTED
    assert {e.finding.rulebook_version for e in out} == {book.version}
    assert {e.observed_at.isoformat() for e in out} == {CRAWLED}  # the crawl's time, as in-crawler detection
    assert (stats.messages, stats.listings, stats.lead_events, stats.deadlettered) == (3, 3, 2, 0)
    again = detector(bus, book).run(stop_when_idle=True, idle_s=0.2)  # committed: nothing left for the group
    assert again.messages == 0
    assert len(events(bus)) == 2


def test_the_indexer_stores_what_the_detector_published(bus: SqliteBus, book: Rulebook, tmp_path: Path) -> None:
    publish_listings(bus, LISTINGS)
    detector(bus, book).run(stop_when_idle=True, idle_s=0.2)
    with SqliteLeadStore(tmp_path / "leads.sqlite") as store:
        Indexer(bus, store, topics=[TOPICS.leads, TOPICS.listings], deadletter_topic=TOPICS.deadletter).run(
            stop_when_idle=True, idle_s=0.2
        )
        leads = store.get_many(EXPECTED)
        assert set(leads) == EXPECTED
        assert {lead.rulebook_version for lead in leads.values()} == {book.version}
        assert store.count_listings() == 3


def test_poison_and_foreign_kinds_go_to_dead_letters_with_their_bytes(bus: SqliteBus, book: Rulebook) -> None:
    publish_listings(bus, LISTINGS[:1])
    bus.publish(TOPICS.listings, "junk", b"\xff not json")
    wrong_kind = envelope.encode(KIND_LEAD_EVENT, {"lead_id": "x"})
    bus.publish(TOPICS.listings, "event", wrong_kind)
    bus.flush()

    stats = detector(bus, book).run(stop_when_idle=True, idle_s=0.2)

    dead = read_all(bus, TOPICS.deadletter)
    assert [(m.key, m.value) for m in dead] == [("junk", b"\xff not json"), ("event", wrong_kind)]
    assert dead[0].headers["source_topic"] == TOPICS.listings
    assert dead[0].headers["consumer_group"] == "sweep-detector"
    assert "not JSON" in dead[0].headers["error"]
    assert "expected kind 'listing'" in dead[1].headers["error"]
    assert [e.lead_id for e in events(bus)] == [lead_id_for("mall", "cyanide", "chem.toxic")]
    assert (stats.messages, stats.deadlettered) == (3, 2)


class Exploding:
    """A rulebook that fails on one listing (an engine bug) and delegates otherwise."""

    def __init__(self, book: Rulebook, bad: str) -> None:
        self.book, self.bad, self.version = book, bad, book.version

    def scan(self, item: Listing):  # type: ignore[no-untyped-def]
        if item.listing_id == self.bad:
            raise RuntimeError("engine bug")
        return self.book.scan(item)


def test_a_listing_the_rulebook_fails_on_is_dead_lettered_and_the_rest_detected(bus: SqliteBus, book: Rulebook) -> None:
    publish_listings(bus, LISTINGS)

    stats = detector(bus, Exploding(book, "cyanide")).run(stop_when_idle=True, idle_s=0.2)  # type: ignore[arg-type]

    dead = read_all(bus, TOPICS.deadletter)
    assert [orjson.loads(m.value)["payload"]["listing_id"] for m in dead] == ["cyanide"]
    assert dead[0].headers["error"] == "detection failed: RuntimeError: engine bug"
    assert [e.lead_id for e in events(bus)] == [lead_id_for("mall", "first", "ad.absolute_terms")]
    assert stats.lead_events == 1


class BusDeliveryError(Exception):
    """Named like the Kafka adapter's delivery error, which the indexer's retry takes for transient."""


class FlakyBus(SqliteBus):
    """Refuses to confirm delivery `failures` times, recording whether anything was committed meanwhile."""

    def __init__(self, path: Path, failures: int) -> None:
        super().__init__(path)
        self.failures = failures
        self.committed_while_failing = False

    def flush(self, timeout_s: float = 60.0) -> None:
        if self.failures:
            self.failures -= 1
            raise BusDeliveryError("broker did not acknowledge")
        super().flush(timeout_s)


def test_offsets_are_committed_only_after_the_lead_events_are_flushed(tmp_path: Path, book: Rulebook) -> None:
    setup = SqliteBus(tmp_path / "bus.sqlite")
    publish_listings(setup, LISTINGS)
    setup.close()
    flaky = FlakyBus(tmp_path / "bus.sqlite", failures=2)
    group_offset: list[int | None] = []

    def sleep(_seconds: float) -> None:  # between attempts: the group's offset must not have moved
        row = flaky._conn.execute("SELECT next_offset FROM group_offsets WHERE grp = 'sweep-detector'").fetchone()
        group_offset.append(row[0] if row else None)

    stats = detector(flaky, book, sleep=sleep).run(stop_when_idle=True, idle_s=0.2)

    assert group_offset == [None, None]
    assert stats.retries == 2
    assert {e.lead_id for e in events(flaky)} == EXPECTED
    flaky.close()


def test_crawler_detection_is_delegated_when_detect_in_crawler_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    from spiders.pipelines import CrawledListing, DetectPipeline
    from sweep.settings import get_settings

    class Stats:
        def __init__(self) -> None:
            self.values: dict[str, object] = {}

        def set_value(self, key: str, value: object) -> None:
            self.values[key] = value

        def inc_value(self, key: str, count: int = 1) -> None:
            self.values[key] = int(self.values.get(key, 0)) + count  # type: ignore[call-overload]

    class Crawler:
        class settings:  # Scrapy's attribute name
            @staticmethod
            def getbool(name: str, default: bool) -> bool:
                return default

        stats = Stats()

    monkeypatch.setenv("SWEEP_DETECT_IN_CRAWLER", "false")
    get_settings.cache_clear()
    pipeline = DetectPipeline.from_crawler(Crawler)
    pipeline.open_spider()
    item = pipeline.process_item(CrawledListing(LISTINGS[0]))
    assert item.findings == []
    assert Crawler.stats.values["sweep/detection"] == "consumer"

    monkeypatch.setenv("SWEEP_DETECT_IN_CRAWLER", "true")
    get_settings.cache_clear()
    crawler_stats = Stats()
    Crawler.stats = crawler_stats
    pipeline = DetectPipeline.from_crawler(Crawler)
    pipeline.open_spider()
    assert crawler_stats.values["sweep/detection"] == "on"
    found = pipeline.process_item(CrawledListing(LISTINGS[0])).findings
    assert [(f.family, f.rulebook_version) for f in found] == [("chem.toxic", load_rulebook().version)]
