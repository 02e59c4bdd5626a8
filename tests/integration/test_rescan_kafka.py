"""Re-applying rules on the servers: the detector consumer on real Kafka, and `sweep rules rescan` against
real Kafka + OpenSearch after a rule was edited in a copy of the rulebook.

Each test has its own topics (`SWEEP_TOPIC_PREFIX`), consumer groups and index prefix. The expected
lead ids come from the fixture listings below, whose families under each book are written by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from adapters.store.searchengine import admin, open_search_store
from adapters.store.searchengine.base import SearchEngineStore
from consumers.detector import Detector
from consumers.indexer import Indexer
from rules import Rulebook, load_rulebook
from rules.book import EXAMPLE_LICENCE
from rules.loader import DEFAULT_BOOK, DEFAULT_CATALOGS
from sweep.bus import envelope
from sweep.models import LeadEvent, Listing, Shop, TriageStatus, lead_id_for
from sweep.publishing import KIND_LEAD_EVENT, Publisher
from sweep.settings import Settings

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 3
SHOP = Shop(shop_id="s1", name="好物店", licence_no=EXAMPLE_LICENCE)
CRAWLED = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
"""Inside `--since 30d` of the run: rescans judge what was crawled recently."""

AD = "ad.absolute_terms"
AD_RULE_BEFORE = """      - catalog: absolute_terms
        fields: [title, description]
    exclude:
      - negation: true
"""
AD_RULE_AFTER = """      - catalog: absolute_terms
        fields: [title, description]
      - terms: [秒杀同行]
        fields: [title, description]
    exclude:
      - negation: true
      - terms: [保温杯]
        anywhere: true
        reason: 保温杯的“最强”说的是保温性能
"""


def listing(listing_id: str, title: str) -> Listing:
    return Listing(platform="mall", listing_id=listing_id, title=title, shop=SHOP, crawled_at=CRAWLED.isoformat())


FLASK = listing("flask", "史上最强 保温杯 316不锈钢")  # packaged: ad.absolute_terms; edited: nothing
HONEY = listing("honey", "秒杀同行 土蜂蜜 500g")  # packaged: nothing; edited: ad.absolute_terms
FIRST = listing("first", "全网销量第一 蜂蜜")  # ad.absolute_terms in both
CYANIDE = listing("cyanide", "出售氰化钠 工业级 99%")  # chem.toxic in both
TSHIRT = listing("tshirt", "纯棉T恤 白色")  # nothing in either
LISTINGS = [FLASK, HONEY, FIRST, CYANIDE, TSHIRT]

ID_FLASK = lead_id_for("mall", "flask", AD)
ID_HONEY = lead_id_for("mall", "honey", AD)
ID_FIRST = lead_id_for("mall", "first", AD)
ID_CYANIDE = lead_id_for("mall", "cyanide", "chem.toxic")


@dataclass
class Deployment:
    kafka: str
    search_url: str
    topic_prefix: str
    index_prefix: str

    @property
    def settings(self) -> Settings:
        return Settings(
            kafka=self.kafka,
            kafka_partitions=PARTITIONS,
            search_url=self.search_url,
            topic_prefix=self.topic_prefix,
            index_prefix=self.index_prefix,
        )

    def bus(self):  # type: ignore[no-untyped-def]
        from adapters.bus.kafka import KafkaBus

        return KafkaBus(self.settings)

    def store(self) -> SearchEngineStore:
        return open_search_store(self.settings, ensure=True)

    def index(self, bus, store: SearchEngineStore) -> None:  # type: ignore[no-untyped-def]
        topics = self.settings.topics
        Indexer(
            bus,
            store,
            group=f"{self.index_prefix}-indexer",
            topics=[topics.leads, topics.listings],
            deadletter_topic=topics.deadletter,
        ).run(stop_when_idle=True, idle_s=6)
        store.refresh()

    def sweep(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.pop("SWEEP_RULEBOOK", None)
        env.update(
            SWEEP_KAFKA=self.kafka,
            SWEEP_KAFKA_PARTITIONS=str(PARTITIONS),
            SWEEP_SEARCH_URL=self.search_url,
            SWEEP_TOPIC_PREFIX=self.topic_prefix,
            SWEEP_INDEX_PREFIX=self.index_prefix,
            PYTHONPATH=str(REPO),
        )
        return subprocess.run(
            [sys.executable, "-m", "app.cli.main", *args], env=env, capture_output=True, text=True, timeout=600
        )


@pytest.fixture
def deployment(kafka_bootstrap: str, opensearch_url: str, run_prefix: str) -> Iterator[Deployment]:
    tid = uuid.uuid4().hex[:6]
    d = Deployment(kafka_bootstrap, opensearch_url, f"{run_prefix}.{tid}", f"{run_prefix}-{tid}")
    yield d
    with open_search_store(d.settings) as store:
        admin.delete_all(store)


@pytest.fixture(scope="module")
def packaged() -> Rulebook:
    return load_rulebook()


@pytest.fixture
def edited_dir(tmp_path: Path) -> Path:
    """A copy of the packaged rulebook with one rule changed: ad.absolute_terms/terms also matches
    秒杀同行 and reports nothing on a 保温杯."""
    shutil.copytree(DEFAULT_BOOK, tmp_path / "book")
    (tmp_path / "catalogs").mkdir()
    for csv in DEFAULT_CATALOGS.glob("*.csv"):
        shutil.copy(csv, tmp_path / "catalogs" / csv.name)
    ad = tmp_path / "book" / "ad.yaml"
    text = ad.read_text(encoding="utf-8")
    assert AD_RULE_BEFORE in text
    ad.write_text(text.replace(AD_RULE_BEFORE, AD_RULE_AFTER), encoding="utf-8")
    return tmp_path


def test_detector_consumer_listings_in_leads_out(deployment: Deployment, packaged: Rulebook) -> None:
    topics = deployment.settings.topics
    with deployment.bus() as bus:
        publisher = Publisher(bus, topics)
        for item in LISTINGS:  # a crawler with detect_in_crawler = false: listings only
            publisher.publish_listing(item)
        bus.publish(topics.listings, "junk", b"not an envelope")
        publisher.flush()

        stats = Detector(bus, packaged, topics=topics, group=f"{deployment.index_prefix}-detector", batch=2).run(
            stop_when_idle=True, idle_s=6
        )
        assert (stats.listings, stats.lead_events, stats.deadlettered) == (5, 3, 1)

        reader = bus.consumer([topics.leads, topics.deadletter], f"{deployment.index_prefix}-reader")
        got: list = []
        try:
            for _ in range(30):
                got += reader.poll(100, timeout_s=1.0)
                if len(got) >= 4:
                    break
        finally:
            reader.close()
        leads = [m for m in got if m.topic == topics.leads]
        events = [LeadEvent.model_validate(envelope.decode(m.value, KIND_LEAD_EVENT)[1]) for m in leads]
        assert {e.lead_id for e in events} == {ID_FLASK, ID_FIRST, ID_CYANIDE}
        assert {e.finding.rulebook_version for e in events} == {packaged.version}
        assert [m.value for m in got if m.topic == topics.deadletter] == [b"not an envelope"]

        with deployment.store() as store:
            deployment.index(bus, store)
            hits = store.search_raw(
                store.leads_alias, {"query": {"term": {"rulebook_version": packaged.version}}, "size": 10}
            )["hits"]["hits"]
            assert {h["_id"] for h in hits} == {ID_FLASK, ID_FIRST, ID_CYANIDE}


def test_rescan_after_a_rule_edit_creates_and_retires_leads(
    deployment: Deployment, packaged: Rulebook, edited_dir: Path
) -> None:
    edited = load_rulebook(edited_dir)
    with deployment.bus() as bus, deployment.store() as store:
        publisher = Publisher(bus, deployment.settings.topics)
        for item in LISTINGS:  # a crawl with the packaged book, detecting in the crawler
            publisher.publish_listing(item)
            publisher.publish_findings(item, packaged.scan(item))
        publisher.flush()
        deployment.index(bus, store)
        assert set(store.get_many([ID_FLASK, ID_HONEY, ID_FIRST, ID_CYANIDE])) == {ID_FLASK, ID_FIRST, ID_CYANIDE}
        triaged = store.set_status(ID_FLASK, TriageStatus.confirmed, assignee="zhang.san", note="已截图取证")

        done = deployment.sweep("rules", "rescan", "--since", "30d", "--rulebook", str(edited_dir), "--json")
        assert done.returncode == 0, done.stderr
        report = orjson.loads(done.stdout)
        assert report["rulebook_version"] == edited.version
        assert (report["new_lead_ids"], report["retired_lead_ids"]) == ([ID_HONEY], [ID_FLASK])
        assert report["families"][AD] == {
            "new": 1,
            "restored": 0,
            "retired": 1,
            "unchanged": 1,
            "still_retired": 0,
            "kept_newer": 0,
        }
        assert report["families"]["chem.toxic"]["unchanged"] == 1
        assert report["retired_written"] == 1

        deployment.index(bus, store)  # the production indexer applies the rescan's lead events
        honey = store.get(ID_HONEY)
        assert honey is not None
        assert (honey.rulebook_version, honey.first_seen, honey.times_seen) == (edited.version, CRAWLED, 1)
        flask = store.get(ID_FLASK)
        assert flask is not None
        assert flask.retired_at is not None and flask.retired_by_rulebook == edited.version
        assert (flask.status, flask.assignee, flask.note, flask.status_updated_at) == (
            TriageStatus.confirmed,
            "zhang.san",
            "已截图取证",
            triaged.status_updated_at,
        )
        first = store.get(ID_FIRST)
        assert first is not None and (first.rulebook_version, first.times_seen) == (edited.version, 1)
        assert store.count() == 4
        retired = store.search_raw(store.leads_alias, {"query": {"exists": {"field": "retired_at"}}})["hits"]["hits"]
        assert [h["_id"] for h in retired] == [ID_FLASK]

        # the edit is rolled back: the packaged book finds the flask again and no longer the honey
        back = deployment.sweep("rules", "rescan", "--since", "30d", "--json")
        assert back.returncode == 0, back.stderr
        again = orjson.loads(back.stdout)
        assert (again["restored_lead_ids"], again["retired_lead_ids"]) == ([ID_FLASK], [ID_HONEY])
        deployment.index(bus, store)
        flask = store.get(ID_FLASK)
        assert flask is not None
        assert (flask.retired_at, flask.rulebook_version, flask.status, flask.note) == (
            None,
            packaged.version,
            TriageStatus.confirmed,
            "已截图取证",
        )
        honey = store.get(ID_HONEY)
        assert honey is not None and honey.retired_by_rulebook == packaged.version


def test_rescan_table_names_the_families_in_chinese(deployment: Deployment, edited_dir: Path) -> None:
    with deployment.bus() as bus, deployment.store() as store:
        publisher = Publisher(bus, deployment.settings.topics)
        for item in (FLASK, HONEY):
            publisher.publish_listing(item)
        publisher.flush()
        deployment.index(bus, store)
    done = deployment.sweep("rules", "rescan", "--since", "30d", "--rulebook", str(edited_dir), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "广告绝对化用语" in done.stdout and "演练" in done.stdout
