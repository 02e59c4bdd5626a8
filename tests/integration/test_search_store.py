"""The search-engine LeadStore against real servers.

Parametrized over: OpenSearch (analysis-common -> cjk_bigram), the minimal Elasticsearch (no
analysis-common, no painless, no reindex module -> fallback analyzer, client-side reindex) and, when
`SWEEP_TEST_ELASTICSEARCH_URL` is set, a full Elasticsearch. Every run uses its own index prefix and
deletes its indices and templates afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.store.searchengine import admin, detect_flavor, open_search_store, server_info
from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.errors import SearchError
from sweep.models import Evidence, Finding, LeadEvent, Listing, ListingSummary, TriageStatus
from sweep.settings import Settings
from sweep.store.base import LeadQuery

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

BACKENDS = ["opensearch", "es_minimal"]
if os.environ.get("SWEEP_TEST_ELASTICSEARCH_URL"):
    BACKENDS.append("es_full")


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param == "opensearch":
        return request.param, request.getfixturevalue("opensearch_url")
    if request.param == "es_minimal":
        return request.param, request.getfixturevalue("es_minimal_url")
    return request.param, os.environ["SWEEP_TEST_ELASTICSEARCH_URL"]


@pytest.fixture
def store(backend_url: tuple[str, str], request: pytest.FixtureRequest) -> Iterator[SearchEngineStore]:
    name, url = backend_url
    prefix = f"it-{RUN}-{name.replace('_', '')}-{uuid.uuid4().hex[:6]}"
    s = open_search_store(Settings(search_url=url), prefix=prefix, refresh="wait_for", ensure=True)
    s.backend_name = name  # type: ignore[attr-defined]
    try:
        yield s
    finally:
        admin.delete_all(s)
        s.close()


def event(
    n: int,
    title: str,
    *,
    minutes: int = 0,
    family: str = "chem.toxic",
    severity: str = "high",
    region: str = "上海",
    shop: str = "华东化工旗舰店",
    platform: str = "demomall",
    description: str | None = None,
) -> LeadEvent:
    finding = Finding(
        platform=platform,
        listing_id=f"L{n}",
        family=family,
        rule_id=f"{family}/r{n % 3}",
        severity=severity,  # type: ignore[arg-type]
        evidence=[Evidence(field="title", text=title[:4], start=0, end=min(4, len(title)))],
    )
    return LeadEvent(
        lead_id=finding.lead_id,
        observed_at=T0 + timedelta(minutes=minutes),
        finding=finding,
        listing=ListingSummary(
            title=title, description=description, region=region, shop_name=shop, shop_id=f"S{n % 4}"
        ),
    )


def test_backend_detected_from_server(store: SearchEngineStore, backend_url: tuple[str, str]) -> None:
    name, url = backend_url
    flavor = detect_flavor(server_info(url))
    assert store.flavor == flavor == ("opensearch" if name == "opensearch" else "elasticsearch")
    assert store.analysis_mode() == ("fallback" if name == "es_minimal" else "cjk")
    status = admin.status(store)
    assert all(k["indices"][0]["aliased"] for k in status["kinds"].values())


def test_chinese_phrase_search_precision(store: SearchEngineStore) -> None:
    store.apply_events(
        [
            event(1, "出售氰化钠 99% 工业级"),
            event(2, "氰化物检测仪 便携式"),
            event(3, "高纯度NaCN 氰化钠片剂", description="厂家直销"),
            event(4, "食用碱 纯碱", family="food.sanwu", severity="low"),
        ]
    )
    hits = {lead.listing.title for lead in store.search(LeadQuery(text="氰化钠")).leads}
    assert hits == {"出售氰化钠 99% 工业级", "高纯度NaCN 氰化钠片剂"}
    both = {lead.listing.title for lead in store.search(LeadQuery(text="氰化")).leads}
    assert "氰化物检测仪 便携式" in both and len(both) == 3
    assert {lead.listing.title for lead in store.search(LeadQuery(text="nacn")).leads} == {"高纯度NaCN 氰化钠片剂"}
    assert store.search(LeadQuery(text="氰化钠 -工业级")).total == 1
    assert store.search(LeadQuery(text="厂家直销")).total == 1  # description is searched too
    # full-width Latin is folded where cjk_width exists
    if store.analysis_mode() == "cjk":
        assert store.search(LeadQuery(text="ＮａＣＮ")).total == 1


def test_substance_name_finds_cas_and_formula_only_listings(store: SearchEngineStore) -> None:
    """Evidence carries the catalog entry a CAS number or formula was recognised as."""
    cas_only = event(7, "CAS 143-33-9 99% 现货")
    cas_only.finding.evidence[0] = Evidence(
        field="title", text="143-33-9", start=4, end=12, matched="氰化钠 CAS 143-33-9"
    )
    store.apply_events([cas_only, event(8, "CAS 7732-18-5 蒸馏水", family="food.sanwu", severity="low")])
    assert [lead.listing_id for lead in store.search(LeadQuery(text="氰化钠")).leads] == ["L7"]


def test_facets_and_filters(store: SearchEngineStore) -> None:
    events = [event(i, f"出售氰化钠 {i}", region="上海" if i % 2 else "江苏") for i in range(6)]
    events += [event(10 + i, f"高仿名牌包 {i}", family="ip.counterfeit", severity="medium") for i in range(3)]
    store.apply_events(events)
    result = store.search(LeadQuery(size=0))
    assert result.total == 9
    assert result.facets["family"] == {"chem.toxic": 6, "ip.counterfeit": 3}
    assert result.facets["severity"] == {"high": 6, "medium": 3}
    assert result.facets["status"] == {"new": 9}
    assert result.facets["region"] == {"上海": 6, "江苏": 3}
    assert result.facets["shop"] == {"华东化工旗舰店": 9}
    filtered = store.search(LeadQuery(families=["chem.toxic"], regions=["江苏"]))
    assert filtered.total == 3 and filtered.facets["region"] == {"江苏": 3}
    assert store.search(LeadQuery(shop="S1")).total == 2  # shop id (L1, L5)
    assert store.search(LeadQuery(shop="华东化工旗舰店")).total == 9  # exact shop name
    assert store.search(LeadQuery(platforms=["other"])).total == 0
    assert store.search(LeadQuery(seen_from=T0 + timedelta(minutes=1))).total == 0
    assert store.search(LeadQuery(seen_from=T0, seen_to=T0)).total == 9


def test_highlight_escapes_crawled_html(store: SearchEngineStore) -> None:
    ev = event(1, '<script>alert("x")</script>出售氰化钠<b>现货</b>')
    store.apply_events([ev])
    result = store.search(LeadQuery(text="氰化钠"))
    fragments = result.highlights[ev.lead_id]["title"]
    joined = "".join(fragments)
    assert "<script>" not in joined and "<b>" not in joined
    assert "&lt;script&gt;" in joined
    assert "<em>氰化钠</em>" in joined


@pytest.mark.parametrize("sort", ["recent", "priority"])
def test_search_after_pages_exactly(store: SearchEngineStore, sort: str) -> None:
    severities = ["high", "medium", "low"]
    events = [event(i, f"出售氰化钠 批次{i}", minutes=i % 5, severity=severities[i % 3]) for i in range(47)]
    store.apply_events(events)
    store.apply_events([event(i, f"出售氰化钠 批次{i}", minutes=10) for i in range(0, 47, 7)])  # times_seen 2
    everything = store.search(LeadQuery(sort=sort, size=100))  # type: ignore[arg-type]
    assert everything.total == 47 and everything.next_cursor is None
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.search(LeadQuery(sort=sort, size=10, search_after=cursor, text="氰化钠"))  # type: ignore[arg-type]
        seen += [lead.lead_id for lead in page.leads]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 5
    assert seen == [lead.lead_id for lead in everything.leads]
    if sort == "priority":
        first = everything.leads[0]
        assert first.severity == "high" and first.times_seen == 2


def test_replays_are_idempotent(store: SearchEngineStore) -> None:
    events = [event(i, f"出售氰化钠 {i}") for i in range(20)]
    first = store.apply_events(events + events)  # duplicates inside one batch
    assert first.created == 20
    for _ in range(3):
        again = store.apply_events(events)
        assert again.created == 0 and again.updated == 0 and again.unchanged == 20
    assert store.count() == 20
    assert all(store.get(e.lead_id).times_seen == 1 for e in events[:3])  # type: ignore[union-attr]


def test_triage_never_overwritten_by_replay_or_newer_sighting(store: SearchEngineStore) -> None:
    ev = event(1, "出售氰化钠")
    store.apply_events([ev])
    triaged = store.set_status(ev.lead_id, TriageStatus.confirmed, assignee="张三", note="已电话核实")
    assert triaged.status == TriageStatus.confirmed and triaged.status_updated_at is not None
    store.apply_events([ev])  # replay
    newer = event(1, "出售氰化钠 新款", minutes=30, severity="medium")
    older = event(1, "出售氰化钠 旧款", minutes=-30)
    stats = store.apply_events([newer, older])
    assert stats.updated == 2
    lead = store.get(ev.lead_id)
    assert lead is not None
    assert (lead.status, lead.assignee, lead.note) == (TriageStatus.confirmed, "张三", "已电话核实")
    assert lead.status_updated_at == triaged.status_updated_at
    assert lead.times_seen == 3 and lead.listing.title == "出售氰化钠 新款" and lead.severity == "medium"
    assert lead.first_seen == older.observed_at and lead.last_seen == newer.observed_at
    # partial status update keeps assignee when not given
    again = store.set_status(ev.lead_id, TriageStatus.referred)
    assert store.get(ev.lead_id).assignee == "张三" == again.assignee  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        store.set_status("no-such-lead", TriageStatus.dismissed)
    assert store.search(LeadQuery(statuses=["referred"])).total == 1


def test_concurrent_writers_and_triage(store: SearchEngineStore, backend_url: tuple[str, str]) -> None:
    """Two indexers and a person race on the same leads: optimistic concurrency keeps every sighting
    exactly once and the triage state intact."""
    _name, url = backend_url
    other = open_search_store(Settings(search_url=url), prefix=store.prefix, refresh=False)
    ids = [event(i, "t").lead_id for i in range(5)]
    store.apply_events([event(i, f"出售氰化钠 {i}") for i in range(5)])
    per_writer = [[event(i, f"出售氰化钠 {i}", minutes=m) for m in range(1, 21) for i in range(5)]]
    errors: list[BaseException] = []

    def write(s: SearchEngineStore, evs: list[LeadEvent]) -> None:
        try:
            for k in range(0, len(evs), 5):
                s.apply_events(evs[k : k + 5])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def triage() -> None:
        try:
            for k in range(10):
                store.set_status(ids[k % 5], TriageStatus.triaged, note=f"n{k}")
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(store, per_writer[0])),
        # the same stream delivered again (e.g. after a rebalance) by a second indexer, concurrently;
        # (out-of-order delivery would legitimately count less: Lead.sighted ignores sightings inside
        # [first_seen, last_seen] as replays)
        threading.Thread(target=write, args=(other, per_writer[0])),
        threading.Thread(target=triage),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert not errors, errors
    for k, lead_id in enumerate(ids):
        lead = store.get(lead_id)
        assert lead is not None
        assert lead.times_seen == 21, (lead_id, lead.times_seen)
        assert lead.status == TriageStatus.triaged
        assert lead.note == f"n{5 + k}"


def test_listings_keep_latest_copy(store: SearchEngineStore) -> None:
    new = Listing(platform="demomall", listing_id="X1", title="出售氰化钠 新", crawled_at="2026-11-02T00:00:00Z")
    old = Listing(platform="demomall", listing_id="X1", title="出售氰化钠 旧", crawled_at="2026-11-01T00:00:00Z")
    assert store.index_listings([new]) == 1
    assert store.index_listings([old]) == 0  # older replay does not win
    assert store.index_listings([new]) == 0  # identical replay is harmless: nothing written
    doc = store.get_doc(store.listings_alias, new.key)
    assert doc is not None and doc["_source"]["title"] == "出售氰化钠 新"
    # the recrawl state counted both crawls (the older copy is a late sighting, sweep.recrawl)
    state = store.listing_states([new.key])[new.key]
    assert state.times_seen == 2 and state.title == "出售氰化钠 新" and state.state == "online"
    assert store.count_listings() == 1


def test_reindex_swaps_alias_and_keeps_data(store: SearchEngineStore) -> None:
    store.apply_events([event(i, f"出售氰化钠 {i}") for i in range(12)])
    ev = event(0, "x")
    store.set_status(ev.lead_id, TriageStatus.dismissed)
    result = admin.reindex(store, "leads")
    assert result["to"].endswith("-leads-v2") and result["docs"] == 12
    assert store.count() == 12
    assert store.search(LeadQuery(text="氰化钠")).total == 12
    assert store.get(ev.lead_id).status == TriageStatus.dismissed  # type: ignore[union-attr]
    store.apply_events([event(0, "出售氰化钠 0", minutes=5)])  # writes go to v2 via the alias
    assert store.get(ev.lead_id).times_seen == 2  # type: ignore[union-attr]
    assert admin.drop_old(store, "leads") == [result["from"]]


def test_reindex_rebuilds_derived_search_fields_of_old_documents(store: SearchEngineStore) -> None:
    """A document written before `search.text` existed (mapping v1) is found by text after a reindex."""
    store.apply_events([event(1, "出售氰化钠 旧文档")])
    lead_id = event(1, "x").lead_id
    old = store.get_doc(store.leads_alias, lead_id)
    assert old is not None
    source = {k: v for k, v in old["_source"].items() if k != "search"}
    store.bulk([{"index": {"_index": store.leads_alias, "_id": lead_id}}, source], refresh="wait_for")
    assert store.search(LeadQuery(text="旧文档")).total == 0  # as an index from before the field looks
    result = admin.reindex(store, "leads")
    assert result["method"] == "rebuilt" and result["docs"] == 1
    assert [lead.lead_id for lead in store.search(LeadQuery(text="旧文档")).leads] == [lead_id]


def _prefix_footprint(url: str, prefix: str) -> tuple[list[str], list[str]]:
    """(indices, index templates) whose name starts with `prefix`, asked with plain HTTP."""

    def get(path: str) -> object:
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}{path}", timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    indices = get(f"/_cat/indices/{prefix}*?format=json&expand_wildcards=all") or []
    templates = (get(f"/_index_template/{prefix}*") or {}).get("index_templates", [])  # type: ignore[union-attr]
    return sorted(i["index"] for i in indices), sorted(t["name"] for t in templates)  # type: ignore[union-attr]


def test_opening_for_search_creates_nothing_and_the_first_write_creates_it(opensearch_url: str) -> None:
    """Least privilege: searching, showing and triaging must work with read rights, so opening the store
    (as `sweep leads search/show/triage` do through open_lead_store) may not PUT templates or indices."""
    from adapters import open_lead_store

    prefix = f"it-{RUN}-readonly-{uuid.uuid4().hex[:6]}"
    settings = Settings(search_url=opensearch_url, index_prefix=prefix)
    with open_lead_store(settings) as store:
        for look in (lambda: store.search(LeadQuery(text="氰化钠")), lambda: store.get("nope"), store.count):
            with contextlib.suppress(SearchError):  # nothing to find: an error or an empty answer
                look()
        with pytest.raises((KeyError, SearchError)):
            store.set_status("nope", TriageStatus.confirmed)
    assert _prefix_footprint(opensearch_url, prefix) == ([], [])

    with open_search_store(settings, prefix=prefix, refresh="wait_for") as writer:
        try:
            writer.apply_events([event(1, "出售氰化钠")])
            indices, templates = _prefix_footprint(opensearch_url, prefix)
            assert f"{prefix}-leads-v1" in indices
            assert f"{prefix}-leads" in templates
            assert writer.count() == 1
        finally:
            admin.delete_all(writer)
