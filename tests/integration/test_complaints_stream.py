"""The complaints stream on the real servers: `sweep complaints import` of messy files -> Kafka ->
`sweep consume complaints` -> the complaints index in OpenSearch and in the minimal Elasticsearch (no
analysis-common: single-character analysis). Searched by facet and by Chinese text, replayed without
duplicates, a malformed message dead-lettered, and every Kafka message and dead letter of the import,
and the indices' raw documents, scanned for the personal data the files contained.

The workspace's complaint pages then run on the complaints index: the unit tests of
tests/unit/test_workspace_complaints.py that read complaints, against a workspace whose complaint store
is the search engine.

Each test has its own topic and index prefix, so runs and parallel developers never see each other's data.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from adapters import open_bus, open_complaint_store, open_seller_directory
from adapters.store.searchengine.complaints import SearchComplaintStore
from app.cli.main import app
from sweep.bus import envelope
from sweep.bus.base import Bus, Message
from sweep.models import SCHEMA_VERSION
from sweep.publishing import KIND_LEAD_EVENT
from sweep.settings import get_settings
from sweep.store.complaints import ComplaintQuery
from tests.unit import test_workspace_complaints as workspace_tests
from tests.unit.test_complaints_stream import DATA, USCC, consume, lead_event_for, leaks
from tests.unit.test_workspace_support import make_env

pytestmark = pytest.mark.integration

IMPORTED = ["G-1", "G-2", "G-5", "X-001", "X-002", "X-003", "J-1", "J-2"]
"""What the three messy files hold that can be imported (tests/unit/test_complaints_import.py)."""


@dataclass
class Servers:
    prefix: str
    search_url: str

    def store(self) -> SearchComplaintStore:
        store = open_complaint_store(refresh="wait_for")
        assert isinstance(store, SearchComplaintStore)
        return store


def _cleanup(prefix: str) -> None:
    store = open_complaint_store()
    assert isinstance(store, SearchComplaintStore)
    try:
        for name in store.engine.get_indices(f"{prefix}-*"):
            store.engine.delete_index(name)
        for kind in ("leads", "listings", "complaints"):
            store.engine.delete_template(f"{prefix}-{kind}")
    except Exception as exc:  # cleaning up must not hide the test's own outcome
        print(f"cleanup of {prefix}: {exc}")
    finally:
        store.close()


@pytest.fixture(params=["opensearch", "elasticsearch-minimal"])
def servers(
    request: pytest.FixtureRequest, kafka_bootstrap: str, run_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Servers]:
    url = request.getfixturevalue("opensearch_url" if request.param == "opensearch" else "es_minimal_url")
    prefix = f"{run_prefix}-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("SWEEP_KAFKA", kafka_bootstrap)
    monkeypatch.setenv("SWEEP_SEARCH_URL", url)
    monkeypatch.setenv("SWEEP_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("SWEEP_INDEX_PREFIX", prefix)
    monkeypatch.setenv("SWEEP_PII_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    yield Servers(prefix, url)
    _cleanup(prefix)
    get_settings.cache_clear()


def read_until(bus: Bus, topics: Sequence[str], group: str, done: Callable[[list[Message]], bool]) -> list[Message]:
    """Messages on `topics` from the start (a fresh group) until `done` says so; bounded, not timed:
    the loop gives up after 60 s so a broken setup fails with what it read instead of hanging."""
    out: list[Message] = []
    give_up = time.monotonic() + 60
    with bus.consumer(list(topics), group) as consumer:
        while not done(out) and time.monotonic() < give_up:
            out.extend(consumer.poll(1000, timeout_s=1.0))
    return out


def _import_all() -> None:
    runner = CliRunner()
    for name, code, published in (("gb18030.csv", 1, 3), ("merged_header.xlsx", 0, 3), ("lines.jsonl", 1, 2)):
        result = runner.invoke(app, ["complaints", "import", str(DATA / name)])
        assert result.exit_code == code, result.output
        assert f"已发布 {published} 条投诉" in result.output  # with Kafka, the consumer stores them
    result = runner.invoke(app, ["consume", "complaints", "--until-idle", "--idle", "10", "--quiet"])
    assert result.exit_code == 0, result.output


def test_import_consume_search_replay_and_dead_letters(servers: Servers) -> None:
    _import_all()
    topics = get_settings().topics
    with servers.store() as store:
        store.refresh()
        assert store.count() == len(IMPORTED)
        everything = store.search(ComplaintQuery(size=50))
        assert sorted(c.complaint_id for c in everything.complaints) == sorted(IMPORTED)
        assert everything.facets["platform"] == {"淘宝": 1, "拼多多": 1, "京东": 1, "demo-mall": 1}
        assert everything.facets["status"] == {"处理中": 2, "已办结": 1}
        assert everything.facets["category_code"] == {"110101103": 1, "110203101": 1}
        assert everything.facets["month"] == {"2026-10": 8}
        by_platform = store.search(ComplaintQuery(platforms=["拼多多"]))
        assert [c.complaint_id for c in by_platform.complaints] == ["X-002"]
        by_status = store.search(ComplaintQuery(statuses=["处理中"]))
        assert sorted(c.complaint_id for c in by_status.complaints) == ["X-001", "X-003"]
        assert [c.complaint_id for c in store.search(ComplaintQuery(text="枸杞")).complaints] == ["X-001"]
        assert [c.complaint_id for c in store.search(ComplaintQuery(text="虚假宣传")).complaints] == ["X-002"]
        assert store.search(ComplaintQuery(text="枸霉")).total == 0  # the characters, not the phrase
        assert [c.complaint_id for c in store.search(ComplaintQuery(text="挽回金额")).complaints] == []
        newest = store.search(ComplaintQuery(size=3))
        # newest first; X-003 and G-5 share a day (2026-10-05 00:00), the id breaks the tie
        assert [c.complaint_id for c in newest.complaints] == ["J-2", "J-1", "G-5"]
        following = store.search(ComplaintQuery(size=3, cursor=newest.next_cursor))
        assert [c.complaint_id for c in following.complaints] == ["X-003", "X-002", "G-1"]
        assert store.get("G-1").complainant_phone == "138****5678"
        assert store.personal_data("G-1").phone == "13812345678"  # sealed by the import, never sent

        with open_bus() as bus, open_seller_directory() as directory:
            replay = consume(bus, store, directory, topics, f"{servers.prefix}-replay", idle_s=10)
            assert replay.loop.messages == len(IMPORTED)
            assert (replay.counts.created, replay.counts.updated, replay.counts.unchanged) == (0, 0, 8)
            store.refresh()
            assert store.count() == len(IMPORTED)
            assert store.search(ComplaintQuery(size=50)).total == len(IMPORTED)

            bad = {"kind": "complaint", "schema_version": SCHEMA_VERSION, "payload": {"complaint_id": "M-1"}}
            bus.publish(topics.complaints, "M-1", orjson.dumps(bad))
            bus.flush()
            poisoned = consume(bus, store, directory, topics, "sweep-complaints", idle_s=10)
            assert (poisoned.loop.messages, poisoned.loop.deadlettered) == (1, 1)
            dead = read_until(bus, [topics.deadletter], f"{servers.prefix}-dead", lambda got: len(got) >= 7)
        (letter,) = [m for m in dead if m.key == "M-1"]
        assert letter.headers["error"] == "ValidationError: received_at: Field required"
        assert letter.headers["source_topic"] == topics.complaints
        rows = sorted(orjson.loads(m.value)["payload"]["row"] for m in dead if m.key != "M-1")
        assert rows == [3, 4, 5, 5, 6, 7]  # gb18030.csv 5-7 and lines.jsonl 3-5, each with its reason
        assert store.get("M-1") is None


def test_a_lead_on_kafka_for_a_seller_with_complaints_matches_them_in_the_index(servers: Servers) -> None:
    _import_all()
    topics = get_settings().topics
    with servers.store() as store:
        store.refresh()
        assert store.search(ComplaintQuery(matched=True)).total == 0  # sweep knew no seller at import
        event = lead_event_for(USCC)  # the licence of a shop on another platform shows X-001's USCC
        with open_bus() as bus, open_seller_directory() as directory:
            bus.publish(topics.leads, event.lead_id, envelope.encode(KIND_LEAD_EVENT, event))
            bus.flush()
            stats = consume(bus, store, directory, topics, "sweep-complaints", idle_s=10)
        # looked at again: X-001 by its USCC, and G-1, X-002, J-1 whose shop names share 鑫达化工
        assert (stats.counts.sellers_changed, stats.counts.rematched) == (1, 4)
        store.refresh()
        # X-001 by the USCC; G-1 (鑫达化工旗舰店) and J-1 (demo-mall, 鑫达化工商行) by name on that platform;
        # X-002 (鑫达化工商行 on 拼多多) is another platform's shop and stays unmatched
        matched = store.search(ComplaintQuery(matched=True)).complaints
        assert sorted(c.complaint_id for c in matched) == ["G-1", "J-1", "X-001"]
        (match,) = store.matches(["X-001"])["X-001"]
    assert (match.platform, match.shop_id, match.lead_ids) == ("demo-mall", "S77", [event.lead_id])
    assert match.reasons == ["统一社会信用代码一致 91110000600037341L"]


def test_no_kafka_message_dead_letter_or_index_document_carries_personal_data(servers: Servers) -> None:
    _import_all()
    topics = get_settings().topics
    with open_bus() as bus:
        messages = read_until(
            bus,
            [topics.complaints, topics.deadletter],
            f"{servers.prefix}-privacy",
            lambda got: len(got) >= len(IMPORTED) + 6,
        )
    assert sorted(m.key for m in messages if m.topic == topics.complaints) == sorted(IMPORTED)
    assert len([m for m in messages if m.topic == topics.deadletter]) == 6
    outputs = {
        "complaints topic": "".join(
            m.value.decode() + repr(m.headers) for m in messages if m.topic == topics.complaints
        ),
        "dead letters": "".join(m.value.decode() + repr(m.headers) for m in messages if m.topic == topics.deadletter),
    }
    with servers.store() as store:
        store.refresh()
        raw = store.engine.search_raw(f"{servers.prefix}-*", {"query": {"match_all": {}}, "size": 100})
        outputs["index documents"] = orjson.dumps(raw["hits"]["hits"]).decode()
        outputs["search"] = "".join(c.model_dump_json() for c in store.search(ComplaintQuery(size=50)).complaints)
        sealed = store.engine.search_raw(store.personal_index, {"query": {"match_all": {}}, "size": 100})
        assert len(sealed["hits"]["hits"]) == len(IMPORTED)
        # the values are in the store, sealed: the officer who may see them gets them
        assert store.personal_data("X-003").found["bank_card"] == ["6222021234567890128"]
    found = {where: hit for where, text in outputs.items() if (hit := leaks(text))}
    assert not found


# -- the workspace's complaint pages on the complaints index --------------------------------------
READING_TESTS = [
    workspace_tests.test_the_seed_is_what_the_tests_assume,
    workspace_tests.test_officer_of_630000_sees_only_qinghai_complaints,
    workspace_tests.test_officer_of_540100_sees_lhasa_complaints_by_code,
    workspace_tests.test_a_foreign_complaint_and_a_guessed_id_get_the_same_answer,
    workspace_tests.test_list_filters_by_text_platform_status_and_matching,
    workspace_tests.test_list_pages_with_a_cursor,
    workspace_tests.test_detail_shows_masked_fields_matches_and_leads,
    workspace_tests.test_hostile_complaint_text_is_escaped,
    workspace_tests.test_supervisor_sees_personal_data_with_a_purpose_and_the_view_is_audited,
    workspace_tests.test_the_handling_officer_sees_personal_data_through_the_api,
    workspace_tests.test_lead_page_lists_the_complaints_against_its_seller,
]


@pytest.mark.parametrize("check", READING_TESTS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_workspace_complaint_pages_on_the_complaints_index(
    check: Callable[..., None], servers: Servers, tmp_path: Path
) -> None:
    env = make_env(tmp_path, search_url=servers.search_url, index_prefix=servers.prefix)
    workspace_tests.seed_complaints(env)
    complaints = env.app.state.workspace.complaints
    assert isinstance(complaints, SearchComplaintStore)
    complaints.refresh()
    check(env)
    for role in ("officer", "supervisor", "analyst"):
        workspace_tests.test_personal_data_is_never_in_list_or_detail_html(env, role)
