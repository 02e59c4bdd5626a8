"""The complaints stream, embedded: `sweep complaints import` seals personal data into the store and
publishes masked records on the complaints topic; the complaints consumer stores and matches them,
dead-letters what it cannot read (masked), changes nothing on a replay, updates a record whose status
changed, and matches a complaint again when a lead arrives for its seller.

The integration tests (tests/integration/test_complaints_stream.py) run the same scenarios through
Kafka into OpenSearch and the minimal Elasticsearch with the helpers defined here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from adapters import open_bus, open_complaint_store, open_seller_directory
from app.cli.main import app
from complaints.service import ComplaintWriter
from consumers.complaints import ComplaintConsumer, masked
from sweep.bus import envelope
from sweep.bus.base import Bus, Message, Topics
from sweep.models import SCHEMA_VERSION, Complaint, Evidence, Finding, LeadEvent, Listing, Shop
from sweep.publishing import KIND_LEAD_EVENT
from sweep.settings import get_settings
from sweep.store.complaints import ComplaintStore, SellerDirectory
from tests.data.complaints.make_files import PEOPLE

DATA = Path(__file__).resolve().parents[1] / "data" / "complaints"
SECRETS = [PEOPLE["name"], PEOPLE["phone"], PEOPLE["id_number"], PEOPLE["card"], "解放西街12号"]
"""Personal values planted in the files (the address by its street part)."""
USCC = "91110000600037341L"


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def read_all(bus: Bus, topics: Sequence[str], group: str, *, polls: int = 3, timeout_s: float = 0.5) -> list[Message]:
    """Every message on `topics` from the start (a fresh group), until `polls` empty polls in a row."""
    out: list[Message] = []
    empty = 0
    with bus.consumer(list(topics), group) as consumer:
        while empty < polls:
            got = consumer.poll(1000, timeout_s=timeout_s)
            empty = 0 if got else empty + 1
            out.extend(got)
    return out


def consume(
    bus: Bus,
    store: ComplaintStore,
    directory: SellerDirectory,
    topics: Topics,
    group: str,
    *,
    idle_s: float = 0.5,
):
    """One run of the complaints consumer until the topics are drained."""
    consumer = ComplaintConsumer(bus, ComplaintWriter(store, directory), topics=topics, group=group)
    return consumer.run(stop_when_idle=True, idle_s=idle_s)


def lead_event_for(uscc: str, shop_id: str = "S77") -> LeadEvent:
    """A lead on a shop whose licence shows `uscc` (what tells the matcher who the seller is)."""
    listing = Listing(
        platform="demo-mall",
        listing_id="L-77",
        title="出售高纯氰化钠 98%",
        url="https://demo-mall.example/item/L-77",
        shop=Shop(shop_id=shop_id, name="鑫达化工旗舰店", licence_no=uscc, region="上海市"),
    )
    finding = Finding(
        platform="demo-mall",
        listing_id="L-77",
        family="chem.toxic",
        rule_id="chem.toxic/test",
        severity="high",
        evidence=[Evidence(field="title", text="氰化钠", start=4, end=7)],
        legal_basis="危险化学品安全管理条例",
    )
    return LeadEvent.of(finding, listing, datetime(2026, 11, 1, tzinfo=UTC))


def _import(*args: str):
    return CliRunner().invoke(app, ["complaints", "import", *args])


def test_import_publishes_masked_records_and_the_consumer_stores_them() -> None:
    result = _import(str(DATA / "gb18030.csv"), "--no-sync")
    assert result.exit_code == 1, result.output  # three rows skipped
    topics = get_settings().topics
    with open_bus() as bus:
        messages = read_all(bus, [topics.complaints, topics.deadletter], "test-reader")
    published = [m for m in messages if m.topic == topics.complaints]
    dead = [m for m in messages if m.topic == topics.deadletter]
    assert [m.key for m in published] == ["G-1", "G-2", "G-5"]  # the duplicate G-2 once
    assert [orjson.loads(m.value)["payload"]["row"] for m in dead] == [5, 6, 7]
    assert [m.headers["error"] for m in dead] == [
        "G-3: 登记日期无法识别 '三月五号'",
        "缺少登记编号（complaint_id）",
        "G-4: 挽回经济损失不是金额 '五十元'",
    ]
    assert not leaks("".join(m.value.decode() + repr(m.headers) for m in messages))
    with open_complaint_store() as store:
        assert {c.complaint_id for page in store.iter_all() for c in page} == {"G-1", "G-2", "G-5"}
        assert store.get("G-1").complainant_phone == "138****5678"
        personal = store.personal_data("G-1")  # sealed by the import, never sent
        assert (personal.name, personal.phone, personal.id_number) == ("王五", "13812345678", "11010519491231002X")


def test_a_replay_changes_nothing_and_an_update_updates() -> None:
    assert _import(str(DATA / "gb18030.csv"), "--no-sync").exit_code == 1
    assert _import(str(DATA / "utf8_bom_update.csv"), "--no-sync").exit_code == 0
    topics = get_settings().topics
    with open_bus() as bus, open_complaint_store() as store, open_seller_directory() as directory:
        assert store.get("G-1").status == "已办结"
        before = {c.complaint_id: c for page in store.iter_all() for c in page}
        replay = consume(bus, store, directory, topics, "replay-from-the-start")
        after = {c.complaint_id: c for page in store.iter_all() for c in page}
        assert store.count() == 3
    # G-1, G-2, G-5 from the first file, then G-1 again from the update: the first G-1 (no status) is
    # laid over the stored record (keeping its 已办结), the update once more: nothing changes
    assert replay.loop.messages == 4
    assert (replay.counts.created, replay.counts.updated, replay.counts.unchanged) == (0, 0, 3)
    assert after == before


def test_the_consumer_commits_so_a_second_run_reads_nothing() -> None:
    assert _import(str(DATA / "lines.jsonl"), "--no-sync").exit_code == 1
    topics = get_settings().topics
    with open_bus() as bus, open_complaint_store() as store, open_seller_directory() as directory:
        again = consume(bus, store, directory, topics, "sweep-complaints")  # the import's own group
    assert again.loop.messages == 0


def test_a_malformed_message_is_dead_lettered_with_its_reason_and_masked() -> None:
    topics = get_settings().topics
    with open_bus() as bus:
        no_date = {
            "kind": "complaint",
            "schema_version": SCHEMA_VERSION,
            "payload": {"complaint_id": "M-1", "text": f"我叫王五，电话{PEOPLE['phone']}"},
        }
        bus.publish(topics.complaints, "M-1", orjson.dumps(no_date))
        bus.publish(topics.complaints, "M-2", f"not json, 身份证 {PEOPLE['id_number']}".encode())
        bus.flush()
        with open_complaint_store() as store, open_seller_directory() as directory:
            stats = consume(bus, store, directory, topics, "sweep-complaints")
            assert store.count() == 0
        dead = read_all(bus, [topics.deadletter], "dead-reader")
    assert stats.loop.deadlettered == 2
    assert [m.key for m in dead] == ["M-1", "M-2"]
    assert dead[0].headers["error"] == "ValidationError: received_at: Field required"
    assert dead[1].headers["error"].startswith("EnvelopeError: not JSON")
    assert dead[0].headers["source_topic"] == topics.complaints and dead[0].headers["masked"] == "true"
    assert orjson.loads(dead[0].value)["payload"]["text"] == "我叫王*，电话138****5678"
    assert dead[1].value.decode() == "not json, 身份证 110105************"
    assert not leaks("".join(m.value.decode() + repr(m.headers) for m in dead))


def test_what_a_careless_producer_sends_unmasked_is_masked_before_it_is_stored() -> None:
    careless = Complaint(
        complaint_id="P-1",
        received_at=datetime(2026, 10, 1, tzinfo=UTC),
        text=f"电话{PEOPLE['phone']}，我叫王五",
        complainant_phone=PEOPLE["phone"],
        complainant_name="王五",
    )
    stored = masked(careless)
    assert (stored.text, stored.complainant_phone, stored.complainant_name) == (
        "电话138****5678，我叫王*",
        "138****5678",
        "王*",
    )
    assert masked(stored) == stored  # what is masked stays as it is


def test_a_new_lead_for_a_seller_with_complaints_matches_them_again(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    row = {"complaint_id": "R-1", "received_at": "2026-10-08", "platform": "demo-mall",
           "seller_name": "上海鑫达化工有限公司", "shop_uscc": USCC, "text": "卖危险化学品"}  # fmt: skip
    path.write_bytes(orjson.dumps(row) + b"\n")
    assert _import(str(path)).exit_code == 0
    with open_complaint_store() as store:
        assert store.matches(["R-1"]) == {}  # sweep knows no such seller yet
    topics = get_settings().topics
    event = lead_event_for(USCC)
    with open_bus() as bus:
        bus.publish(topics.leads, event.lead_id, envelope.encode(KIND_LEAD_EVENT, event))
        bus.flush()
    result = CliRunner().invoke(app, ["consume", "complaints", "--until-idle", "--idle", "0.5", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "complaints [sweep-complaints]" in result.output
    with open_complaint_store() as store:
        (match,) = store.matches(["R-1"])["R-1"]
    assert (match.platform, match.shop_id, match.lead_ids) == ("demo-mall", "S77", [event.lead_id])
    assert any("统一社会信用代码" in reason or "USCC" in reason for reason in match.reasons)


def test_a_record_and_its_update_in_one_batch_are_laid_over_each_other_in_order() -> None:
    first = Complaint(
        complaint_id="U-1",
        received_at=datetime(2026, 10, 1, tzinfo=UTC),
        shop_name="好运来食品店",
        text="过期食品",
        status="处理中",
    )
    update = Complaint(complaint_id="U-1", received_at=datetime(2026, 10, 1, tzinfo=UTC), status="已办结")
    with open_complaint_store() as store, open_seller_directory() as directory:
        done = ComplaintWriter(store, directory).apply([first, update])
        stored = store.get("U-1")
    assert (done.created, done.updated, done.unchanged) == (1, 0, 0)
    assert (stored.shop_name, stored.text, stored.status) == ("好运来食品店", "过期食品", "已办结")
