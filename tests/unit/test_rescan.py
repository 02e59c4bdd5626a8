"""`sweep rules rescan` on the embedded stack (SQLite bus + SQLite store): a rule edited in a copy of the
rulebook creates the leads it now finds, retires the ones it no longer finds (kept, triage untouched),
a later rescan un-retires them; and every lead records the rulebook version of its latest sighting.

The fixture listings and which families each one carries under each book are written by hand below.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.bus.sqlite import SqliteBus
from adapters.store.sqlite import SqliteLeadStore
from consumers.indexer import Indexer
from rules import Rulebook, load_rulebook
from rules.book import EXAMPLE_LICENCE
from rules.loader import DEFAULT_BOOK, DEFAULT_CATALOGS
from rules.rescan import FamilyChanges, parse_since, rescan
from sweep.bus.base import Topics
from sweep.models import Finding, Lead, LeadEvent, Listing, Shop, TriageStatus, lead_id_for
from sweep.publishing import Publisher

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CRAWLED = NOW - timedelta(days=3)
OLD_CRAWL = NOW - timedelta(days=40)
TOPICS = Topics("rescan")
SHOP = Shop(shop_id="s1", name="好物店", licence_no=EXAMPLE_LICENCE)

AD_EDIT_OLD = """      - catalog: absolute_terms
        fields: [title, description]
    exclude:
      - negation: true
"""
AD_EDIT_NEW = """      - catalog: absolute_terms
        fields: [title, description]
      - terms: [秒杀同行]
        fields: [title, description]
    exclude:
      - negation: true
      - terms: [保温杯]
        anywhere: true
        reason: 保温杯的“最强”说的是保温性能
"""


def edited_book(root: Path) -> Path:
    """A copy of the packaged rulebook where ad.absolute_terms/terms also matches 秒杀同行 and no longer
    reports anything on a 保温杯 (vacuum flask)."""
    shutil.copytree(DEFAULT_BOOK, root / "book")
    (root / "catalogs").mkdir()
    for csv in DEFAULT_CATALOGS.glob("*.csv"):
        shutil.copy(csv, root / "catalogs" / csv.name)
    ad = root / "book" / "ad.yaml"
    text = ad.read_text(encoding="utf-8")
    assert AD_EDIT_OLD in text
    ad.write_text(text.replace(AD_EDIT_OLD, AD_EDIT_NEW), encoding="utf-8")
    return root


def listing(listing_id: str, title: str, crawled: datetime = CRAWLED) -> Listing:
    return Listing(platform="mall", listing_id=listing_id, title=title, shop=SHOP, crawled_at=crawled.isoformat())


FLASK = listing("flask", "史上最强 保温杯 316不锈钢")  # packaged: ad.absolute_terms; edited: nothing
HONEY = listing("honey", "秒杀同行 土蜂蜜 500g")  # packaged: nothing; edited: ad.absolute_terms
FIRST = listing("first", "全网销量第一 蜂蜜")  # ad.absolute_terms in both
CYANIDE = listing("cyanide", "出售氰化钠 工业级 99%")  # chem.toxic in both
OLD_FLASK = listing("old-flask", "最强保温 保温杯 旧款", OLD_CRAWL)  # outside a 30-day window

AD = "ad.absolute_terms"
ID_FLASK = lead_id_for("mall", "flask", AD)
ID_HONEY = lead_id_for("mall", "honey", AD)
ID_FIRST = lead_id_for("mall", "first", AD)
ID_CYANIDE = lead_id_for("mall", "cyanide", "chem.toxic")
ID_OLD_FLASK = lead_id_for("mall", "old-flask", AD)


@pytest.fixture(scope="module")
def packaged() -> Rulebook:
    return load_rulebook()


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Rulebook:
    return load_rulebook(edited_book(tmp_path_factory.mktemp("edited")))


class Stack:
    """Embedded pipeline: crawl (publish listings + findings) -> indexer -> SQLite store."""

    def __init__(self, root: Path) -> None:
        self.bus = SqliteBus(root / "bus.sqlite")
        self.store = SqliteLeadStore(root / "leads.sqlite")
        self.publisher = Publisher(self.bus, TOPICS)

    def crawl(self, book: Rulebook, listings: list[Listing]) -> None:
        for item in listings:
            self.publisher.publish_listing(item)
            self.publisher.publish_findings(item, book.scan(item))
        self.publisher.flush()
        self.index()

    def index(self) -> None:
        Indexer(
            self.bus,
            self.store,
            topics=[TOPICS.leads, TOPICS.listings],
            deadletter_topic=TOPICS.deadletter,
            overlap=False,
        ).run(stop_when_idle=True, idle_s=0.2)

    def rescan(self, book: Rulebook, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
        report = rescan(
            book,
            self.store,
            None if dry_run else self.publisher,
            since=parse_since("30d", now=NOW),
            now=NOW,
            batch=2,  # several pages, so paging is exercised
        )
        self.index()
        return report

    def close(self) -> None:
        self.store.close()
        self.bus.close()


@pytest.fixture
def stack(tmp_path: Path, packaged: Rulebook) -> Stack:
    s = Stack(tmp_path)
    s.crawl(packaged, [FLASK, HONEY, FIRST, CYANIDE, OLD_FLASK])
    yield s
    s.close()


def test_rulebook_version_is_a_content_hash(packaged: Rulebook, edited: Rulebook, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_BOOK, copy / "book")
    shutil.copytree(DEFAULT_CATALOGS, copy / "catalogs")
    assert load_rulebook(copy).version == packaged.version  # where a book lies does not matter
    assert edited.version != packaged.version  # what it says does
    assert len(packaged.version) == 16 and int(packaged.version, 16) >= 0
    findings = packaged.scan(CYANIDE)
    assert [(f.family, f.rulebook_version) for f in findings] == [("chem.toxic", packaged.version)]


def test_crawled_leads_record_the_version_in_the_document_and_the_column(stack: Stack, packaged: Rulebook) -> None:
    found = stack.store.get_many([ID_FLASK, ID_HONEY, ID_FIRST, ID_CYANIDE, ID_OLD_FLASK])
    assert set(found) == {ID_FLASK, ID_FIRST, ID_CYANIDE, ID_OLD_FLASK}
    assert stack.store.get(ID_CYANIDE).rulebook_version == packaged.version  # type: ignore[union-attr]
    rows = sqlite3.connect(stack.store.path).execute("SELECT DISTINCT rulebook_version, retired_at FROM leads")
    assert rows.fetchall() == [(packaged.version, None)]


def test_rescan_creates_retires_and_keeps_triage(stack: Stack, packaged: Rulebook, edited: Rulebook) -> None:
    stack.store.set_status(ID_FLASK, TriageStatus.confirmed, assignee="zhang.san", note="已取证")
    before = stack.store.get(ID_FLASK)
    assert before is not None

    report = stack.rescan(edited)

    assert report.listings == 4  # OLD_FLASK was crawled before the window
    assert report.new_lead_ids == [ID_HONEY]
    assert report.retired_lead_ids == [ID_FLASK]
    assert report.restored_lead_ids == []
    assert report.retired_written == 1
    assert report.families[AD] == FamilyChanges(new=1, retired=1, unchanged=1)
    assert report.families["chem.toxic"] == FamilyChanges(unchanged=1)
    assert report.lead_events == 3  # honey, first, cyanide

    flask = stack.store.get(ID_FLASK)
    assert flask is not None
    assert flask.retired_at == NOW and flask.retired_by_rulebook == edited.version
    assert (flask.status, flask.assignee, flask.note, flask.status_updated_at) == (
        TriageStatus.confirmed,
        "zhang.san",
        "已取证",
        before.status_updated_at,
    )
    assert flask.rulebook_version == packaged.version  # the book that found it; edited retired it
    assert flask.times_seen == 1

    honey = stack.store.get(ID_HONEY)
    assert honey is not None
    assert (honey.first_seen, honey.times_seen, honey.rulebook_version) == (CRAWLED, 1, edited.version)
    first = stack.store.get(ID_FIRST)
    assert first is not None
    assert (first.times_seen, first.rulebook_version, first.retired_at) == (1, edited.version, None)
    old = stack.store.get(ID_OLD_FLASK)
    assert old is not None and old.retired_at is None and old.rulebook_version == packaged.version
    assert stack.store.count() == 5


def test_rescanning_with_the_same_book_changes_nothing(stack: Stack, edited: Rulebook) -> None:
    stack.rescan(edited)
    leads_before = stack.store.get_many([ID_FLASK, ID_HONEY, ID_FIRST, ID_CYANIDE, ID_OLD_FLASK])

    again = stack.rescan(edited)

    assert again.new_lead_ids == [] and again.retired_lead_ids == [] and again.retired_written == 0
    assert again.families[AD] == FamilyChanges(unchanged=2, still_retired=1)
    assert stack.store.get_many(leads_before) == leads_before


def test_a_later_rescan_that_finds_a_retired_lead_again_unretires_it(
    stack: Stack, packaged: Rulebook, edited: Rulebook
) -> None:
    stack.store.set_status(ID_FLASK, TriageStatus.dismissed, note="仅为保温性能描述")
    stack.rescan(edited)

    back = stack.rescan(packaged)  # the edit is rolled back

    assert back.restored_lead_ids == [ID_FLASK]
    assert back.retired_lead_ids == [ID_HONEY]
    assert back.families[AD] == FamilyChanges(restored=1, retired=1, unchanged=1)
    flask = stack.store.get(ID_FLASK)
    assert flask is not None
    assert (flask.retired_at, flask.retired_by_rulebook, flask.rulebook_version) == (None, None, packaged.version)
    assert (flask.status, flask.note, flask.times_seen) == (TriageStatus.dismissed, "仅为保温性能描述", 1)
    honey = stack.store.get(ID_HONEY)
    assert honey is not None and honey.retired_by_rulebook == packaged.version


def test_dry_run_reports_without_writing(stack: Stack, edited: Rulebook, packaged: Rulebook) -> None:
    report = stack.rescan(edited, dry_run=True)
    assert (report.new_lead_ids, report.retired_lead_ids, report.lead_events) == ([ID_HONEY], [ID_FLASK], 0)
    assert stack.store.get(ID_HONEY) is None
    flask = stack.store.get(ID_FLASK)
    assert flask is not None and flask.retired_at is None and flask.rulebook_version == packaged.version


def test_a_lead_with_a_newer_sighting_than_the_kept_listing_is_not_retired(
    stack: Stack, packaged: Rulebook, edited: Rulebook
) -> None:
    later = CRAWLED + timedelta(hours=2)
    stack.publisher.publish_findings(FLASK, packaged.scan(FLASK), observed_at=later)  # listing copy not updated
    stack.publisher.flush()
    stack.index()

    report = stack.rescan(edited)

    assert report.retired_lead_ids == []
    assert report.families[AD].kept_newer == 1
    flask = stack.store.get(ID_FLASK)
    assert flask is not None and flask.retired_at is None and flask.last_seen == later


def test_cli_rescan_embedded(stack: Stack, edited: Rulebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sweep rules rescan --rulebook DIR` publishes, runs the indexer (embedded bus) and prints the table."""
    from app.cli.main import app
    from sweep.settings import get_settings

    monkeypatch.setenv("SWEEP_DATA_DIR", str(stack.store.path.parent))
    monkeypatch.setenv("SWEEP_TOPIC_PREFIX", TOPICS.prefix)
    get_settings.cache_clear()
    book_dir = str(edited_book_dir(edited))
    result = CliRunner().invoke(app, ["rules", "rescan", "--since", "3650d", "--rulebook", book_dir])
    assert result.exit_code == 0, result.output
    assert "广告绝对化用语" in result.output and "退役" in result.output
    honey = stack.store.get(ID_HONEY)
    assert honey is not None and honey.rulebook_version == edited.version
    flask = stack.store.get(ID_FLASK)
    assert flask is not None and flask.retired_by_rulebook == edited.version
    old = stack.store.get(ID_OLD_FLASK)
    assert old is not None and old.retired_by_rulebook == edited.version  # inside a ten-year window


def edited_book_dir(book: Rulebook) -> Path:
    return book.files[0].parent.parent


# -- the merge behind it (Lead.sighted / Lead.retired) ----------------------------------------------


def _event(version: str | None, at: datetime, rule_id: str = "ad.absolute_terms/terms") -> LeadEvent:
    finding = Finding(
        platform="mall",
        listing_id="flask",
        family=AD,
        rule_id=rule_id,
        severity="low",
        rulebook_version=version,
    )
    return LeadEvent.of(finding, FLASK, observed_at=at)


def test_a_rejudgement_of_the_latest_sighting_updates_facts_without_counting() -> None:
    lead = Lead.from_event(_event("v1", CRAWLED))
    rejudged = lead.sighted(_event("v2", CRAWLED, rule_id="ad.absolute_terms/other"))
    assert (rejudged.rule_id, rejudged.rulebook_version, rejudged.times_seen) == ("ad.absolute_terms/other", "v2", 1)
    assert rejudged.sighted(_event("v2", CRAWLED)) is rejudged  # the same judgement again: a replay
    assert lead.sighted(_event(None, CRAWLED)) is lead  # no version: an ordinary replay


def test_retirement_is_undone_by_a_new_sighting_or_another_book() -> None:
    lead = Lead.from_event(_event("v1", CRAWLED))
    retired = lead.retired("v2", NOW, CRAWLED)
    assert (retired.retired_at, retired.retired_by_rulebook) == (NOW, "v2")
    assert retired.retired("v3", NOW, CRAWLED) is retired  # already retired: kept as it was
    assert lead.retired("v2", NOW, CRAWLED - timedelta(hours=1)) is lead  # judged copy older than the lead
    assert retired.sighted(_event("v2", CRAWLED)) is retired  # the retiring book cannot find it
    assert retired.sighted(_event("v1", CRAWLED)).retired_at is None  # rolled back: found again
    later = retired.sighted(_event("v2", CRAWLED + timedelta(days=1)))
    assert (later.retired_at, later.times_seen, later.rulebook_version) == (None, 2, "v2")
