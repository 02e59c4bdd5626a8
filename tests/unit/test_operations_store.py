"""The operations store: targets, jobs surviving a reopen, the frontier ledger's replay rules, alerts
and their webhook (against a tiny local HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from adapters.people.operations_sql import SqlOperationsStore
from operations.jobs import AlertPolicy, cancel, job_completed_handler, judge
from spiders.frontier import OffsetTracker, partition_key, request_key, stats_delta
from sweep.bus.base import Message
from sweep.store.operations import (
    CrawlJob,
    FrontierEntry,
    JobState,
    JobStats,
    Target,
    TargetExistsError,
    Trigger,
)


@pytest.fixture
def store(tmp_path: Path) -> SqlOperationsStore:
    return SqlOperationsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")


def _target(store: SqlOperationsStore, name: str = "chem") -> Target:
    return store.add_target(
        Target(
            name=name,
            spider="demo_mall",
            base_url="http://127.0.0.1:8000",
            categories=["chemicals"],
            keywords=["氰化钠"],
            settings={"frontier_shards": 2},
        )
    )


def _job(target: Target, job_id: str, **kw: object) -> CrawlJob:
    return CrawlJob(
        id=job_id, target_id=target.id, target_name=target.name, spider="demo_mall", trigger=Trigger.PERSON, **kw
    )  # type: ignore[arg-type]


def test_targets_round_trip_and_names_are_unique(store: SqlOperationsStore) -> None:
    t = _target(store)
    got = store.get_target("chem")
    assert got is not None and got.id == t.id
    assert (got.categories, got.keywords, got.settings) == (["chemicals"], ["氰化钠"], {"frontier_shards": 2})
    assert store.get_target(str(t.id)) is not None
    with pytest.raises(TargetExistsError):
        _target(store)
    assert store.remove_target(t.id or 0) and store.get_target("chem") is None


def test_job_history_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    first = SqlOperationsStore(url)
    t = _target(first)
    first.create_job(_job(t, "j1"))
    first.enqueue([FrontierEntry("j1", "k1", "seed")])
    first.set_job_state("j1", JobState.RUNNING)
    first.complete("j1", ["k1"], JobStats(pages=3, listings=2, findings=1, errors={"http_404": 1}))
    first.append_log("j1", [("ERROR", "detail page failed http://x/item/1.html")])
    first.close()
    again = SqlOperationsStore(url)
    job = again.get_job("j1")
    assert job is not None and job.state == JobState.RUNNING
    assert (job.stats.pages, job.stats.listings, job.stats.findings, job.stats.errors) == (3, 2, 1, {"http_404": 1})
    assert [line.message for line in again.job_log("j1")] == ["detail page failed http://x/item/1.html"]


def test_ledger_dedupes_per_job_and_lets_the_same_parent_replay(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "j1"))
    store.create_job(_job(t, "j2"))
    assert store.enqueue([FrontierEntry("j1", "a", "p1"), FrontierEntry("j1", "b", "p1")]) == [
        FrontierEntry("j1", "a", "p1"),
        FrontierEntry("j1", "b", "p1"),
    ]
    # another page links to a: a duplicate; p1 replayed after a crash: published again
    assert store.enqueue([FrontierEntry("j1", "a", "p2")]) == []
    assert store.enqueue([FrontierEntry("j1", "a", "p1")]) == [FrontierEntry("j1", "a", "p1")]
    # the same page in another job is that job's own request
    assert store.enqueue([FrontierEntry("j2", "a", "p2")]) == [FrontierEntry("j2", "a", "p2")]
    assert store.frontier_count("j1") == 2 and store.pending_count("j1") == 2


def test_a_replayed_batch_adds_its_stats_once(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "j1"))
    store.enqueue([FrontierEntry("j1", "a", "seed"), FrontierEntry("j1", "b", "seed")])
    assert store.complete("j1", ["a", "b"], JobStats(pages=2, listings=2, errors={"timeout": 1})) == 2
    assert store.complete("j1", ["a", "b"], JobStats(pages=2, listings=2, errors={"timeout": 1})) == 0
    job = store.get_job("j1")
    assert job is not None and (job.stats.pages, job.stats.listings, job.stats.errors) == (2, 2, {"timeout": 1})
    assert store.pending_count("j1") == 0
    assert store.done_keys("j1", ["a", "b", "c"]) == {"a", "b"}


def test_cancel_only_a_live_job(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "j1"))
    assert cancel(store, "j1")
    assert not cancel(store, "j1")
    job = store.get_job("j1")
    assert job is not None and job.state == JobState.CANCELLED and job.finished_at is not None


def test_offsets_commit_only_below_the_oldest_unfinished_message() -> None:
    def m(p: int, o: int) -> Message:
        return Message("t", p, o, None, b"")

    tracker = OffsetTracker()
    tracker.polled([m(0, 5), m(0, 6), m(0, 7), m(1, 3)])
    assert tracker.done([m(0, 7)]) == []  # 5 and 6 are still open
    assert sorted((x.partition, x.offset) for x in tracker.done([m(0, 5), m(1, 3)])) == [(0, 5), (1, 3)]
    assert [(x.partition, x.offset) for x in tracker.done([m(0, 6)])] == [(0, 7)]
    assert tracker.pending() == 0


def test_request_keys_and_partition_keys() -> None:
    assert request_key("http://a/c/x?page=2&b=1#top") == request_key("http://a/c/x?b=1&page=2")
    assert request_key("http://a/c/x") != request_key("http://a/c/y")
    assert partition_key("http://Mall.example:8000/item/1.html") == "mall.example"
    keys = {partition_key(f"http://m/item/{i}.html", 4) for i in range(100)}
    assert keys == {"m#0", "m#1", "m#2", "m#3"}


def test_stats_delta_names_errors_by_kind() -> None:
    before = {"response_received_count": 10, "item_scraped_count": 4}
    after = {
        "response_received_count": 25,
        "sweep/shop_waits": 3,
        "item_scraped_count": 12,
        "sweep/findings": 5,
        "downloader/response_bytes": 9000,
        "downloader/response_status_count/200": 13,
        "downloader/response_status_count/404": 2,
        "downloader/exception_type_count/twisted.internet.error.TimeoutError": 1,
        "sweep/malformed": 1,
    }
    s = stats_delta(before, after)
    assert (s.pages, s.listings, s.findings, s.bytes) == (12, 8, 5, 9000)
    assert s.errors == {"http_404": 2, "TimeoutError": 1, "malformed": 1}


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> object:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_an_empty_job_after_a_full_one_alerts_and_posts_the_webhook(store: SqlOperationsStore, webhook: str) -> None:
    t = _target(store)
    from datetime import UTC, datetime

    store.create_job(_job(t, "full", created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    store.complete("full", [], JobStats(pages=500, listings=480))
    store.set_job_state("full", JobState.FINISHED)
    store.create_job(_job(t, "empty", created_at=datetime(2025, 1, 2, tzinfo=UTC)))
    store.complete("empty", [], JobStats(pages=11, listings=0))
    store.set_job_state("empty", JobState.FINISHED)

    job_completed_handler(AlertPolicy(webhook_url=webhook, empty_min_previous=100))(store, "empty")

    [alert] = store.list_alerts()
    assert (alert.kind, alert.job_id, alert.target_name, alert.delivered) == ("empty", "empty", "chem", "ok 204")
    assert "480" in alert.message
    assert [(r["kind"], r["job_id"], r["target"]) for r in _Hook.received] == [("empty", "empty", "chem")]
    job = store.get_job("empty")
    assert job is not None and job.state == JobState.FINISHED


def test_a_job_with_no_page_fails_and_alerts_without_a_webhook(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "down"))
    store.complete("down", [], JobStats(pages=0, errors={"ConnectionRefusedError": 3}))
    store.set_job_state("down", JobState.FINISHED)
    job_completed_handler(AlertPolicy())(store, "down")
    [alert] = store.list_alerts()
    assert alert.kind == "failed" and "ConnectionRefusedError=3" in alert.message and alert.delivered == ""
    job = store.get_job("down")
    assert job is not None and job.state == JobState.FAILED


def test_a_small_empty_job_is_no_alert(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "a"))
    store.complete("a", [], JobStats(pages=3, listings=5))
    store.set_job_state("a", JobState.FINISHED)
    store.create_job(_job(t, "b"))
    store.complete("b", [], JobStats(pages=3, listings=0))
    store.set_job_state("b", JobState.FINISHED)
    job = store.get_job("b")
    assert job is not None and judge(store, job, AlertPolicy(empty_min_previous=100)) is None


def test_an_unreachable_webhook_is_recorded(store: SqlOperationsStore) -> None:
    t = _target(store)
    store.create_job(_job(t, "down"))
    store.set_job_state("down", JobState.FINISHED)
    job_completed_handler(AlertPolicy(webhook_url="http://127.0.0.1:9/none"))(store, "down")
    [alert] = store.list_alerts()
    assert alert.delivered.startswith("error:")
