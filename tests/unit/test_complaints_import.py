"""`sweep complaints import` with messy real-world files: merged header cells, trailing blank rows,
GB18030, a BOM, a duplicate row, unreadable dates and amounts, rows without an id; nothing accepted is
lost, re-imports change nothing, an update file updates; `sweep ingest` reports like `sweep scan`."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from adapters import open_complaint_store
from app.cli.main import app
from complaints.dates import parse_datetime
from complaints.fields import load_mapping
from complaints.readers import detect_encoding, open_table

DATA = Path(__file__).resolve().parents[1] / "data" / "complaints"


def _import(*args: str):
    return CliRunner().invoke(app, ["complaints", "import", *args, "--no-sync"])


def _ids() -> set[str]:
    with open_complaint_store() as store:
        return {c.complaint_id for page in store.iter_all() for c in page}


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-10-03", "2026-10-03T00:00:00+08:00"),
        ("2026/10/3", "2026-10-03T00:00:00+08:00"),
        ("2026年10月3日", "2026-10-03T00:00:00+08:00"),
        ("2026年10月3日 14时05分", "2026-10-03T14:05:00+08:00"),
        ("2026-10-03 14:05:33", "2026-10-03T14:05:33+08:00"),
        ("2026.10.3", "2026-10-03T00:00:00+08:00"),
        ("20261003", "2026-10-03T00:00:00+08:00"),
        (46298, "2026-10-03T00:00:00+08:00"),
        ("46298.5", "2026-10-03T12:00:00+08:00"),
        ("2026-10-03T06:05:00Z", "2026-10-03T06:05:00+00:00"),
    ],
)
def test_dates_in_every_form_people_type(text, iso):
    assert parse_datetime(text).isoformat() == iso


@pytest.mark.parametrize("junk", ["2026-13-01", "三月五号", "", "12", True, 5])
def test_what_is_not_a_date_is_none(junk):
    assert parse_datetime(junk) is None


def test_encodings_are_told_apart():
    assert detect_encoding("登记编号".encode("gb18030")) == "gb18030"
    assert detect_encoding("登记编号".encode()) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + "登记编号".encode()) == "utf-8-sig"


def test_merged_two_row_header_is_read_as_one():
    table = open_table(DATA / "merged_header.xlsx")
    assert table.fields == {
        "登记编号": "complaint_id",
        "登记日期": "received_at",
        "被投诉人名称": "seller_name",
        "被投诉人统一社会信用代码": "shop_uscc",
        "网络平台": "platform",
        "投诉内容": "text",
        "投诉人姓名": "complainant_name",
        "投诉人电话": "complainant_phone",
        "投诉问题分类": "category",
        "办理状态": "status",
    }
    rows = list(table.rows)
    assert [r.number for r in rows] == [4, 5, 6]  # the title and both header rows skipped, blank rows too
    assert rows[0].values["shop_uscc"] == "91110000600037341L"


def test_xlsx_import_keeps_every_row_and_the_category_codes():
    result = _import(str(DATA / "merged_header.xlsx"))
    assert result.exit_code == 0, result.output
    with open_complaint_store() as store:
        first, second = store.get("X-001"), store.get("X-002")
    assert first.received_at.isoformat() == "2026-10-03T00:00:00+08:00"  # Excel serial 46298
    assert (first.category_code, first.category) == ("110101103", "商品质量")
    assert second.received_at.isoformat() == "2026-10-04T09:30:00+08:00"
    assert second.category_code == "110203101"
    assert _ids() == {"X-001", "X-002", "X-003"}


def test_gb18030_csv_reports_bad_rows_by_number_and_keeps_the_rest():
    result = _import(str(DATA / "gb18030.csv"))
    assert result.exit_code == 1  # something was skipped
    out = result.output
    assert "第 5 行: G-3: 登记日期无法识别 '三月五号'" in out
    assert "第 6 行: 缺少登记编号" in out
    assert "第 7 行: G-4: 挽回经济损失不是金额 '五十元'" in out
    assert _ids() == {"G-1", "G-2", "G-5"}  # the duplicate G-2 once, the blank rows ignored
    with open_complaint_store() as store:
        assert store.get("G-5").recovered_loss == 1200.5
        assert store.get("G-5").received_at.date().isoformat() == "2026-10-05"
        assert store.get("G-1").recovered_loss == 200.0


def test_reimport_changes_nothing_and_an_update_file_updates_only_what_it_has():
    assert _import(str(DATA / "gb18030.csv")).exit_code == 1
    assert _import(str(DATA / "gb18030.csv")).exit_code == 1
    with open_complaint_store() as store:
        before = store.get("G-1")
        personal_before = store.personal_data("G-1")
    update = _import(str(DATA / "utf8_bom_update.csv"))
    assert update.exit_code == 0, update.output
    with open_complaint_store() as store:
        after = store.get("G-1")
        personal_after = store.personal_data("G-1")
        assert store.count() == 3
    assert (before.status, after.status) == (None, "已办结")
    assert after.url == before.url and after.seller_name == "上海鑫达化工有限公司"
    assert personal_after.phone == personal_before.phone == "13812345678"


def test_reimport_counts(tmp_path):
    from adapters import open_audit_log, open_seller_directory
    from complaints.service import ComplaintService
    from sweep.people import Actor, Role

    service = ComplaintService(open_complaint_store(), open_seller_directory(), open_audit_log())
    actor = Actor("ops", Role.operator)
    first = service.import_table(open_table(DATA / "gb18030.csv"), actor)
    second = service.import_table(open_table(DATA / "gb18030.csv"), actor)
    assert (first.rows, first.created, first.error_count, first.duplicates) == (7, 3, 3, 1)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)


def test_jsonl_with_broken_lines():
    result = _import(str(DATA / "lines.jsonl"))
    assert result.exit_code == 1
    assert "第 3 行: not valid JSON" in result.output
    assert "第 4 行: expected a JSON object, got str" in result.output
    assert "第 5 行: J-3: 缺少登记日期" in result.output
    assert _ids() == {"J-1", "J-2"}


def test_mapping_file_names_unknown_headers(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("序号,来件日期,商户,反映问题\nA9,2026-10-03,某店,质量差\n", encoding="utf-8")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("序号: complaint_id\n来件日期: received_at\n商户: shop_name\n反映问题: text\n", encoding="utf-8")
    assert _import(str(path)).exit_code == 2  # no header recognised without the mapping
    result = _import(str(path), "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    with open_complaint_store() as store:
        assert store.get("A9").shop_name == "某店"
    mapping.write_text("序号: complaint_number\n", encoding="utf-8")
    with pytest.raises(ValueError, match="complaint_number"):
        load_mapping(mapping)


def test_sheet_option_and_unknown_sheet(tmp_path):
    target = tmp_path / "book.xlsx"
    shutil.copy(DATA / "merged_header.xlsx", target)
    assert _import(str(target), "--sheet", "投诉明细").exit_code == 0
    result = _import(str(target), "--sheet", "没有这个表")
    assert result.exit_code == 2 and "没有这个表" in result.output


def test_ingest_sends_listings_through_rules_to_the_bus(tmp_path):
    from adapters import open_bus
    from sweep.bus.base import TOPIC_LEADS, TOPIC_LISTINGS

    good = {
        "platform": "demo-mall",
        "listing_id": "A1",
        "title": "出售高纯氰化钠 98% 现货",
        "shop": {"shop_id": "S9", "name": "某化工商行"},
    }
    path = tmp_path / "feed.jsonl"
    path.write_bytes(orjson.dumps(good) + b"\n{not json\n" + orjson.dumps({"platform": "x"}) + b"\n")
    result = CliRunner().invoke(app, ["ingest", str(path)])
    assert result.exit_code == 1
    assert f"skipped {path}:2: not valid JSON" in result.output
    assert f"skipped {path}:3: field listing_id" in result.output
    with open_bus() as bus, bus.consumer([TOPIC_LISTINGS, TOPIC_LEADS], "t") as consumer:
        topics = [m.topic for m in consumer.poll(100, timeout_s=0.5)]
    assert topics.count(TOPIC_LISTINGS) == 1 and topics.count(TOPIC_LEADS) >= 1
