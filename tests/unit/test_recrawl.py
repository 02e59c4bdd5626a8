"""Incremental recrawl without servers: fingerprints, listing-state transitions, interval policy,
`Lead.seen_again`, the SQLite store's states and the leads they move, the crawler's pipeline decision,
and the due-listings target (`sweep.recrawl`, `spiders.pipelines.RecrawlPipeline`, `operations.recrawl`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.store.sqlite import SqliteLeadStore
from operations.recrawl import due_listings, recheck_target
from sweep.models import Evidence, Finding, Lead, LeadEvent, Listing, Permit, Shop
from sweep.recrawl import (
    ListingGone,
    ListingSeen,
    ListingState,
    RecrawlPolicy,
    candidate_lead_ids,
    fingerprint,
    part_hashes,
)
from sweep.store.base import Judged
from sweep.store.operations import Target

T0 = datetime(2026, 6, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = RecrawlPolicy(min_s=6 * 3600, max_s=14 * 86400, initial_s=86400)


def listing(**kw: Any) -> Listing:
    base: dict[str, Any] = {
        "platform": "mall",
        "listing_id": "L1",
        "title": "氰化钠 98% 现货",
        "price": 120.0,
        "unit": "500g/瓶",
        "description": "高纯度  工业级\n私聊发货",
        "category": "chemicals",
        "url": "http://127.0.0.1:8000/item/L1.html",
        "images": ["http://127.0.0.1:8000/img/L1-1.svg"],
        "attributes": {"CAS号": "143-33-9", "纯度": "98%"},
        "shop": Shop(shop_id="S1", name="华东化工", licence_no="91x", permits=[Permit(type="危化", number="1")]),
        "crawled_at": T0.isoformat(),
    }
    return Listing.model_validate(base | kw)


# -- fingerprints ---------------------------------------------------------------------------------------
def test_fingerprint_ignores_url_host_crawl_time_and_spacing() -> None:
    a = listing()
    same = listing(
        url="http://other:9/item/L1.html",
        images=["http://cdn.example/img/L1-1.svg"],
        crawled_at=(T0 + HOUR).isoformat(),
        description=" 高纯度 工业级 私聊发货 ",
        title="氰化钠 98%　现货",  # a full-width space: NFKC
    )
    assert fingerprint(a) == fingerprint(same)


@pytest.mark.parametrize(
    ("change", "part"),
    [
        ({"title": "氰化钠 99% 现货"}, "title"),
        ({"price": 121.0}, "price"),
        ({"description": "另一段描述"}, "description"),
        ({"images": ["http://h/img/L1-1.svg", "http://h/img/L1-2.svg"]}, "images"),
        ({"attributes": {"CAS号": "143-33-9"}}, "attributes"),
        ({"shop": Shop(shop_id="S1", name="华东化工", licence_no="91y")}, "shop"),
        ({"unit": "25kg/袋"}, "unit"),
    ],
)
def test_fingerprint_covers_every_part_and_says_which(change: dict[str, Any], part: str) -> None:
    a, b = listing(), listing(**change)
    assert fingerprint(a) != fingerprint(b)
    assert [k for k, v in part_hashes(a).items() if part_hashes(b)[k] != v] == [part]


# -- states ----------------------------------------------------------------------------------------------
def test_state_transitions_and_history() -> None:
    s1 = ListingState.first(listing(), T0, POLICY)
    assert (s1.state, s1.times_seen, s1.interval_s) == ("online", 1, 86400)
    assert s1.next_due == T0 + timedelta(days=1)

    seen = ListingSeen(platform="mall", listing_id="L1", fingerprint=s1.fingerprint, seen_at=T0 + 24 * HOUR)
    s2 = s1.seen(seen, POLICY)
    assert (s2.times_seen, s2.last_seen, s2.interval_s) == (2, T0 + 24 * HOUR, 86400 * 1.5)
    assert s2.seen(seen, POLICY) is s2  # a replay
    assert s2.is_unchanged(listing(crawled_at="x"), rulebook_version=None)

    changed = listing(title="氰化钠 98% 现货 包邮", price=99.0, crawled_at=(T0 + 48 * HOUR).isoformat())
    s3 = s2.observed(changed, T0 + 48 * HOUR, POLICY)
    assert s3.state == "changed" and s3.times_changed == 1 and s3.content_since == T0 + 48 * HOUR
    entry = s3.history[-1]
    assert entry.kind == "changed" and entry.fields == ["title", "price"]
    assert (entry.title_before, entry.title_after) == ("氰化钠 98% 现货", "氰化钠 98% 现货 包邮")
    assert (entry.price_before, entry.price_after) == (120.0, 99.0)
    assert s3.interval_s == 86400 * 0.75
    assert s3.observed(changed, T0 + 48 * HOUR, POLICY) is s3  # a replay of the changed copy

    gone = ListingGone(platform="mall", listing_id="L1", reason="http_404", at=T0 + 72 * HOUR)
    s4 = s3.gone(gone, POLICY)
    assert (s4.state, s4.removed_at, s4.removed_reason) == ("removed", T0 + 72 * HOUR, "http_404")
    assert s4.gone(gone, POLICY) is s4
    stale = ListingGone(platform="mall", listing_id="L1", reason="delisted", at=T0 + 47 * HOUR)
    assert s3.gone(stale, POLICY) is s3  # seen online after it: stale

    back = ListingSeen(platform="mall", listing_id="L1", fingerprint=s4.fingerprint, seen_at=T0 + 96 * HOUR)
    s5 = s4.seen(back, POLICY)
    assert s5.state == "online" and s5.removed_at is None
    assert [h.kind for h in s5.history] == ["changed", "removed", "back_online"]
    facts = s5.lead_facts()
    assert facts["listing_state"] == "online" and len(facts["listing_history"]) == 3


def test_older_copy_counts_but_never_replaces_the_content() -> None:
    s1 = ListingState.first(listing(), T0 + HOUR, POLICY)
    older = listing(title="旧标题", crawled_at=T0.isoformat())
    s2 = s1.observed(older, T0, POLICY)
    assert s2.title == s1.title and s2.fingerprint == s1.fingerprint
    assert (s2.times_seen, s2.first_seen) == (2, T0)


def test_rulebook_version_decides_unchanged_when_the_crawler_detects() -> None:
    s = ListingState.first(listing(), T0, POLICY, judged_by="v1", severity="high")
    assert s.is_unchanged(listing(), rulebook_version="v1")
    assert not s.is_unchanged(listing(), rulebook_version="v2")  # a new book judges everything once
    assert s.is_unchanged(listing(), rulebook_version=None)  # detection elsewhere: content only


def test_policy_bounds_and_severity() -> None:
    policy = RecrawlPolicy(min_s=3600, max_s=10 * 3600, initial_s=4 * 3600)
    s = ListingState.first(listing(), T0, policy)
    for k in range(1, 12):  # stable: grows to the maximum and stays there
        s = s.seen(
            ListingSeen(platform="mall", listing_id="L1", fingerprint=s.fingerprint, seen_at=T0 + k * HOUR), policy
        )
    assert s.interval_s == 10 * 3600 and s.next_due == s.last_seen + timedelta(hours=10)
    high = s.with_severity("high", policy)
    assert high.next_due == s.last_seen + timedelta(hours=2.5)  # x0.25 for high-severity leads
    for k in range(12, 20):  # changing every time: shrinks to the minimum
        s = s.observed(listing(price=float(k), crawled_at="x"), T0 + k * HOUR, policy)
    assert s.interval_s == 3600
    settings = SimpleNamespace(ops_recrawl_min_hours=2, ops_recrawl_max_hours=48, ops_recrawl_initial_hours=100)
    assert RecrawlPolicy.from_settings(settings).initial_s == 48 * 3600  # kept within the bounds
    with pytest.raises(ValueError, match="below"):
        RecrawlPolicy.from_settings(
            SimpleNamespace(ops_recrawl_min_hours=5, ops_recrawl_max_hours=1, ops_recrawl_initial_hours=1)
        )


def test_seen_again_counts_once_and_keeps_detection_facts() -> None:
    lead = Lead.from_event(_event(listing(), "chem.toxic", T0))
    again = lead.seen_again(T0 + HOUR)
    assert (again.times_seen, again.last_seen, again.evidence) == (2, T0 + HOUR, lead.evidence)
    assert again.seen_again(T0 + HOUR) is again
    assert again.with_listing_facts({"listing_state": "online"}) is again


# -- the SQLite store -------------------------------------------------------------------------------------
def _event(item: Listing, family: str, at: datetime, severity: str = "high") -> LeadEvent:
    finding = Finding(
        platform=item.platform,
        listing_id=item.listing_id,
        family=family,
        rule_id=f"{family}.r",
        severity=severity,  # type: ignore[arg-type]
        evidence=[Evidence(field="title", text="氰化钠", start=0, end=3)],
        rulebook_version="v1",
    )
    return LeadEvent.of(finding, item, at)


@pytest.fixture
def store(tmp_path: Path) -> SqliteLeadStore:
    s = SqliteLeadStore(tmp_path / "leads.sqlite")
    s.recrawl_policy = POLICY
    return s


def test_store_sightings_move_current_leads_only(store: SqliteLeadStore) -> None:
    first = listing()
    store.apply_events([_event(first, "chem.toxic", T0), _event(first, "ad.absolute_terms", T0, "low")])
    store.index_listings([first], judged={first.key: Judged("v1", "high")})
    # the content changes: absolute terms are gone, the toxic lead is found again
    t1 = T0 + 24 * HOUR
    changed = listing(title="氰化钠 98%", crawled_at=t1.isoformat())
    store.apply_events([_event(changed, "chem.toxic", t1)])
    store.index_listings([changed], judged={changed.key: Judged("v1", "high")})
    toxic, absolute = candidate_lead_ids("mall", "L1")[0], candidate_lead_ids("mall", "L1")[5]
    assert store.get(toxic).listing_state == "changed"  # type: ignore[union-attr]
    assert store.get(absolute).listing_history[-1].title_before == "氰化钠 98% 现货"  # type: ignore[union-attr]

    t2 = t1 + 24 * HOUR
    seen = ListingSeen(platform="mall", listing_id="L1", fingerprint=fingerprint(changed), seen_at=t2)
    done = store.record_observations([seen, seen])
    assert (done.seen, done.unchanged, done.leads_sighted) == (1, 1, 1)
    assert store.get(toxic).times_seen == 3 and store.get(toxic).listing_state == "online"  # type: ignore[union-attr]
    assert store.get(absolute).times_seen == 1  # type: ignore[union-attr]  # not in the current content
    state = store.listing_states([changed.key])[changed.key]
    assert state.severity == "high" and state.next_due == t2 + timedelta(
        seconds=POLICY.effective(state.interval_s, "high")
    )

    wrong = ListingSeen(platform="mall", listing_id="L1", fingerprint="0" * 32, seen_at=t2 + HOUR)
    assert store.record_observations([wrong]).leads_sighted == 0  # a race with another content: listing only
    unknown = ListingGone(platform="mall", listing_id="nope", reason="http_404", at=t2)
    assert store.record_observations([unknown]).unknown == 1


def test_store_removal_marks_every_lead_and_category_listing(store: SqliteLeadStore) -> None:
    a, b = listing(), listing(listing_id="L2", title="另一件")
    store.apply_events([_event(a, "chem.toxic", T0)])
    store.index_listings([a, b])
    assert {s.listing_id for s in store.listings_in_category("mall", "chemicals")} == {"L1", "L2"}
    gone = ListingGone(platform="mall", listing_id="L1", reason="delisted", at=T0 + HOUR)
    assert store.record_observations([gone]).removed == 1
    lead = store.get(candidate_lead_ids("mall", "L1")[0])
    assert lead is not None and (lead.listing_state, lead.removed_reason) == ("removed", "delisted")
    assert lead.removed_at == T0 + HOUR and lead.times_seen == 1
    assert {s.listing_id for s in store.listings_in_category("mall", "chemicals")} == {"L2"}
    # due: removed ones only when asked; most overdue first
    late = T0 + timedelta(days=30)
    assert [s.listing_id for s in store.due_listings(late)] == ["L2"]
    assert [s.listing_id for s in store.due_listings(late, include_removed=True)] == ["L2", "L1"]
    assert store.due_listings(T0) == []


def test_recheck_target_of_due_listings(store: SqliteLeadStore) -> None:
    store.index_listings([listing(), listing(listing_id="L2"), listing(platform="other", listing_id="X")])
    base = Target(name="mall", spider="demo_mall", base_url="http://m", categories=["chemicals"], settings={"a": 1})
    assert recheck_target(store, base, platform="mall", now=T0) is None
    target = recheck_target(store, base, platform="mall", now=T0 + timedelta(days=2))
    assert target is not None and target.name == "mall-due" and target.categories == []
    assert sorted(target.listings) == ["L1", "L2"] and target.settings == {"a": 1}
    assert len(due_listings(store, now=T0 + timedelta(days=2))) == 3


# -- the crawler's pipeline ----------------------------------------------------------------------------------
class _Stats(dict):
    def inc_value(self, key: str, n: int = 1) -> None:
        self[key] = self.get(key, 0) + n

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value


class _Signals:
    def __init__(self) -> None:
        self.sent: list[tuple[object, dict]] = []

    def connect(self, *a: Any, **k: Any) -> None:
        pass

    def send_catch_log(self, signal: object, **kw: Any) -> None:
        self.sent.append((signal, kw))


def test_pipeline_decides_and_reports_removals(store: SqliteLeadStore) -> None:
    from spiders import recrawl
    from spiders.pipelines import CrawledListing, RecrawlPipeline

    known, other = listing(), listing(listing_id="L2")
    store.index_listings([known, other], judged={known.key: Judged("v1"), other.key: Judged("v1")})
    crawler = SimpleNamespace(stats=_Stats(), signals=_Signals(), sweep_store=store, sweep_rulebook_version="v1")
    pipe = RecrawlPipeline(crawler, enabled=True)
    pipe.open_spider()
    chain = recrawl.chain_meta(None, 1)
    pipe.category_listed("mall", "chemicals", chain, 1, ["L1", "L3"], last=False)
    assert pipe.process_item(CrawledListing(listing(crawled_at="later"))).recrawl == "unchanged"
    assert pipe.process_item(CrawledListing(listing(price=1.0))).recrawl == "changed"
    assert pipe.process_item(CrawledListing(listing(listing_id="L3"))).recrawl == "new"
    crawler.sweep_rulebook_version = "v2"
    assert pipe.process_item(CrawledListing(listing())).recrawl == "changed"  # judged by another book

    pipe.category_listed("mall", "chemicals", recrawl.chain_meta(chain, 2), 2, ["L4"], last=True)
    removed = [kw["gone"] for sig, kw in crawler.signals.sent if sig is recrawl.listing_removed]
    assert [(g.listing_id, g.reason) for g in removed] == [("L2", "missing_from_category")]
    assert removed[0].at == datetime.fromisoformat(chain["started"])

    pipe.page_gone("mall", "L1", "http_404", "http://m/item/L1.html")
    pipe.page_gone("mall", "L9", "http_404")  # never crawled as a listing
    removed = [kw["gone"] for sig, kw in crawler.signals.sent if sig is recrawl.listing_removed]
    assert [(g.listing_id, g.reason) for g in removed][1:] == [("L1", "http_404")]
    assert crawler.stats["sweep/gone_unknown"] == 1 and crawler.stats["sweep/listings_removed"] == 2


def test_an_incomplete_category_chain_removes_nothing() -> None:
    from spiders.recrawl import CategoryChains, chain_meta

    chains = CategoryChains()
    first = chain_meta(None, 1)
    assert chains.listed("p", "c", chain_meta(first, 2), 2, ["a"], last=True) is None  # page 1 never seen
    started_late = chain_meta(None, 3)  # a chain that starts on page 3 is never complete
    assert chains.listed("p", "c", started_late, 3, ["b"], last=True) is None
    assert chains.listed("p", "c", first, 1, ["c"], last=False) is not None  # now 1 and 2: complete


def test_the_detector_leaves_recrawl_observations_alone(tmp_path: Path) -> None:
    """`listing_seen` / `listing_gone` share the listings topic with listings: the detector judges only
    the listing, dead-letters nothing, and commits them all; the indexer applies them."""
    from adapters.bus.sqlite import SqliteBus
    from consumers.detector import Detector
    from consumers.indexer import Indexer
    from rules import load_rulebook
    from sweep.bus.base import Topics
    from sweep.publishing import Publisher

    topics = Topics("rcd")
    bus = SqliteBus(tmp_path / "bus.sqlite")
    item = listing(listing_id="L7", title="出售氰化钠 工业级 99%")
    publisher = Publisher(bus, topics)
    publisher.publish_listing(item)
    publisher.publish_observation(
        ListingSeen(platform="mall", listing_id="L7", fingerprint=fingerprint(item), seen_at=T0 + HOUR)
    )
    publisher.publish_observation(ListingGone(platform="mall", listing_id="L7", reason="delisted", at=T0 + 2 * HOUR))
    publisher.flush()
    stats = Detector(bus, load_rulebook(), topics=topics, overlap=False).run(stop_when_idle=True, idle_s=0.2)
    assert (stats.messages, stats.listings, stats.observations, stats.deadlettered) == (3, 1, 2, 0)
    assert stats.lead_events >= 1
    store = SqliteLeadStore(tmp_path / "leads.sqlite")
    ix = Indexer(bus, store, topics=[topics.leads, topics.listings], deadletter_topic=topics.deadletter, overlap=False)
    done = ix.run(stop_when_idle=True, idle_s=0.2)
    assert (done.deadlettered, done.listings_seen, done.listings_removed) == (0, 1, 1)
    state = store.listing_states([item.key])[item.key]
    assert state.state == "removed" and state.times_seen == 2
    lead = store.get(candidate_lead_ids("mall", "L7")[0])
    assert lead is not None and lead.times_seen == 2 and lead.listing_state == "removed"
    store.close()
    bus.close()
