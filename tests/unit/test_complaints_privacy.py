"""Every output of an import is scanned for the personal data the files contained: store reads and
searches, exports in every format, the terminal, log records, bus messages and dead letters, and the
database files themselves (personal data is encrypted at rest). None of it may appear unmasked.
Personal data is given out only through the permission check, and each view is audited."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from adapters import open_audit_log, open_bus, open_complaint_store, open_seller_directory
from app.cli.main import app
from complaints.readers import open_table
from complaints.service import ComplaintService, Refused, Topics
from consumers.complaints import drain
from sweep.audit import verify_chain
from sweep.bus.base import TOPIC_COMPLAINTS, TOPIC_DEADLETTER
from sweep.people import Actor, Role
from sweep.privacy import find_personal_data, mask_text
from sweep.settings import get_settings
from sweep.store.complaints import ComplaintQuery
from tests.data.complaints.make_files import PEOPLE

DATA = Path(__file__).resolve().parents[1] / "data" / "complaints"
SECRETS = [PEOPLE["name"], PEOPLE["phone"], PEOPLE["id_number"], PEOPLE["card"], "解放西街12号", "李小龙", "王女士"]
"""Values planted in the files (the address by its street part: the district may stay)."""


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


@pytest.fixture
def imported(caplog: pytest.LogCaptureFixture) -> ComplaintService:
    caplog.set_level(logging.DEBUG)
    service = ComplaintService(
        open_complaint_store(),
        open_seller_directory(),
        open_audit_log(),
        open_bus(),
        Topics(TOPIC_COMPLAINTS, TOPIC_DEADLETTER),
    )
    actor = Actor("importer", Role.operator)
    for name in ("merged_header.xlsx", "gb18030.csv", "lines.jsonl"):
        service.import_table(open_table(DATA / name), actor)
    drain(service.bus, service.writer, rematch=False)  # the complaints consumer stores what was published
    yield service
    service.store.close()
    service.directory.close()
    service.audit.close()
    service.bus.close()


def test_the_files_do_contain_the_personal_data(imported):
    """The scan below means something only if the values went in (and were found)."""
    personal = imported.store.personal_data("G-1")
    assert (personal.name, personal.phone, personal.id_number) == (PEOPLE["name"], PEOPLE["phone"], PEOPLE["id_number"])
    assert personal.found["id_number"] == [PEOPLE["id_number"]]  # the check digit holds
    assert imported.store.personal_data("X-003").found["bank_card"] == [PEOPLE["card"]]
    assert imported.store.personal_data("X-002").found["name"] == ["王女士", "李*"]  # the file already masked 李*
    assert imported.store.get("G-1").pii_kinds == ["address", "id_number", "name", "phone"]


def test_no_output_carries_personal_data_unmasked(imported, caplog, tmp_path):
    store = imported.store
    outputs: dict[str, str] = {}
    result = store.search(ComplaintQuery(size=100))
    outputs["search"] = "\n".join(c.model_dump_json() for c in result.complaints)
    outputs["search by text"] = "\n".join(
        c.model_dump_json() for c in store.search(ComplaintQuery(text="枸杞")).complaints
    )
    outputs["get"] = "\n".join(store.get(c.complaint_id).model_dump_json() for c in result.complaints)
    admin = Actor("chief", Role.admin)
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"out.{fmt}"
        imported.export(admin, fmt, path)
        outputs[f"export {fmt}"] = path.read_bytes().decode("utf-8-sig")
    imported.export(admin, "xlsx", tmp_path / "out.xlsx")
    wb = load_workbook(tmp_path / "out.xlsx", read_only=True)
    outputs["export xlsx"] = "\n".join(str(v) for row in wb.active.iter_rows(values_only=True) for v in row)
    wb.close()
    with imported.bus.consumer([TOPIC_COMPLAINTS, TOPIC_DEADLETTER], "privacy-test") as consumer:
        messages = consumer.poll(1000, timeout_s=0.5)
    assert {m.topic for m in messages} == {TOPIC_COMPLAINTS, TOPIC_DEADLETTER}
    outputs["bus"] = "\n".join(m.value.decode() + repr(m.headers) for m in messages if m.topic == TOPIC_COMPLAINTS)
    outputs["dead letters"] = "\n".join(
        m.value.decode() + repr(m.headers) for m in messages if m.topic == TOPIC_DEADLETTER
    )
    outputs["logs"] = "\n".join(r.getMessage() for phase in ("setup", "call") for r in caplog.get_records(phase))
    runner = CliRunner()
    outputs["cli list"] = runner.invoke(app, ["complaints", "list", "--size", "100"]).output
    outputs["cli list json"] = runner.invoke(app, ["complaints", "list", "--json"]).output
    outputs["cli show"] = "".join(
        runner.invoke(app, ["complaints", "show", i]).output for i in ("G-1", "X-001", "X-003")
    )
    outputs["cli export"] = runner.invoke(app, ["complaints", "export"]).output
    data_dir = get_settings().data_dir
    outputs["database files"] = "".join(
        p.read_bytes().decode("utf-8", errors="replace") for p in data_dir.glob("*.sqlite*")
    )
    assert all(outputs.values()), [k for k, v in outputs.items() if not v]
    leaks = {where: found for where, text in outputs.items() if (found := _leaks(text))}
    assert not leaks


def test_free_text_personal_data_is_masked():
    text = (
        f"我叫{PEOPLE['name']}，身份证{PEOPLE['id_number']}，卡号{PEOPLE['card']}，家住{PEOPLE['address']}，王女士作证"
    )
    masked = mask_text(text)
    assert not _leaks(masked)
    assert (
        masked
        == "我叫王*，身份证110105************，卡号6222***********0128，家住宁夏回族自治区银川市兴庆区***，*女士作证"
    )
    kinds = [(f.kind, f.valid) for f in find_personal_data(text)]
    assert kinds == [("name", True), ("id_number", True), ("bank_card", True), ("address", True), ("name", True)]


def test_an_id_number_with_a_wrong_check_digit_is_masked_but_not_recorded_as_valid():
    found = find_personal_data("证件号110105194912310021")
    assert [(f.kind, f.valid) for f in found] == [("id_number", False)]
    assert mask_text("订单号 20261101，规格 500g，CAS 143-33-9") == "订单号 20261101，规格 500g，CAS 143-33-9"


def test_personal_data_only_for_the_handler_and_supervisors_and_every_view_audited(imported):
    store = imported.store
    complaint = store.get("G-1")
    store.upsert([])  # nothing
    # give the complaint a region and a handler, as the bureau's assignment would
    from sweep.store.complaints import ComplaintRecord

    assigned = complaint.model_copy(update={"region": "宁夏回族自治区银川市兴庆区", "handler": "zhang"})
    store.upsert([ComplaintRecord(assigned, store.personal_data("G-1"), ())])
    officer = Actor("zhang", Role.officer, ("宁夏回族自治区银川市",))
    colleague = Actor("li", Role.officer, ("宁夏回族自治区银川市",))
    supervisor = Actor("ma", Role.supervisor, ("宁夏回族自治区",))
    elsewhere = Actor("zhou", Role.supervisor, ("浙江省",))
    analyst = Actor("wu", Role.analyst, ("宁夏回族自治区",))
    assert imported.personal_data(officer, "G-1", "回访投诉人").phone == PEOPLE["phone"]
    assert imported.personal_data(supervisor, "G-1", "督办").id_number == PEOPLE["id_number"]
    for actor in (colleague, elsewhere, analyst, Actor("root", Role.admin)):
        with pytest.raises(Refused):
            imported.personal_data(actor, "G-1", "好奇")
    records = imported.audit.query(resource_id="G-1")
    assert [(r.event.actor, r.event.allowed) for r in records] == [
        ("root", False), ("wu", False), ("zhou", False), ("li", False), ("ma", True), ("zhang", True)
    ]  # fmt: skip
    assert records[-1].event.detail == "purpose: 回访投诉人"
    assert not _leaks(" ".join(r.event.detail for r in records))
    assert verify_chain(imported.audit.audit_records())[1] is None


def test_the_cli_shows_personal_data_only_when_allowed_and_with_a_purpose(imported):
    runner = CliRunner()
    refused = runner.invoke(
        app, ["complaints", "show", "G-1", "--personal-data", "--purpose", "核查", "--role", "analyst"]
    )
    assert refused.exit_code == 2 and not _leaks(refused.output)
    no_purpose = runner.invoke(app, ["complaints", "show", "G-1", "--personal-data", "--role", "supervisor"])
    assert no_purpose.exit_code == 2
    shown = runner.invoke(
        app, ["complaints", "show", "G-1", "--personal-data", "--purpose", "核查", "--role", "supervisor"]
    )
    assert shown.exit_code == 0 and PEOPLE["phone"] in shown.output


def test_the_key_file_is_private_and_a_server_setup_needs_the_variable(monkeypatch):
    from adapters import PII_KEY_FILE, pii_key

    pii_key()
    assert (get_settings().data_dir / PII_KEY_FILE).stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("SWEEP_KAFKA", "127.0.0.1:9")
    get_settings.cache_clear()
    with pytest.raises(RuntimeError, match="SWEEP_PII_KEY"):
        pii_key()
