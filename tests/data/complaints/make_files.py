# ruff: noqa: E501 - tables of data read best one record per line
"""Writes the messy complaint files the import tests read (run it to regenerate; the output is committed).

Each file carries the same kinds of trouble real exchanges do: a title row above the header, a header
split over two merged rows, trailing blank rows, a duplicated row, a row whose date cannot be read, a
row without its id, Excel serial dates, 年月日 dates, a GB18030 encoding, a BOM, unknown columns.
The personal data in them is invented (ID numbers with valid check digits, phones in the 138 range).

    python tests/data/complaints/make_files.py
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
from openpyxl import Workbook

HERE = Path(__file__).resolve().parent

PEOPLE = {
    "name": "王五",
    "phone": "13812345678",
    "id_number": "11010519491231002X",
    "address": "宁夏回族自治区银川市兴庆区解放西街12号3单元501室",
    "card": "6222021234567890128",
}
"""The personal values planted in the files; tests search every output for them."""


def xlsx_merged_header(path: Path) -> None:
    """Title row, then a two-row header with merged groups (被投诉人 over 名称 | 统一社会信用代码, 投诉人 over
    姓名 | 电话) and vertically merged single headers; Excel serial and text dates; 3 trailing blank rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = "投诉明细"
    ws.append(["2026年10月 网络交易投诉明细（导出）"])
    ws.merge_cells("A1:J1")
    ws.append(
        ["登记编号", "登记日期", "被投诉人", None, "网络平台", "投诉内容", "投诉人", None, "投诉问题分类", "办理状态"]
    )
    ws.append([None, None, "名称", "统一社会信用代码", None, None, "姓名", "电话", None, None])
    for col in ("A", "B", "E", "F", "I", "J"):
        ws.merge_cells(f"{col}2:{col}3")
    ws.merge_cells("C2:D2")
    ws.merge_cells("G2:H2")
    ws.append(["X-001", 46298, "银川老王枸杞有限公司", "91110000600037341L", "淘宝", f"我叫{PEOPLE['name']}，买到的枸杞发霉，电话{PEOPLE['phone']}", PEOPLE["name"], PEOPLE["phone"], "110101103 商品质量", "处理中"])  # fmt: skip
    ws.append(["X-002", "2026年10月4日 09:30", "鑫达化工商行", "", "拼多多", "王女士反映商家虚假宣传", "李*", "", "110203101", "已办结"])  # fmt: skip
    ws.append(["X-003", "2026/10/5", "某某商贸", "91110000600037341X", "京东", f"退款打到卡号{PEOPLE['card']}未到账", "", "", "", "处理中"])  # fmt: skip
    for _ in range(3):
        ws.append([None] * 10)
    wb.save(path)


HEADER = ["投诉编号", "受理时间", "被投诉人", "网店名称", "网址", "诉求", "投诉人姓名", "联系电话", "身份证号码", "投诉人地址", "挽回经济损失（元）", "备注"]  # fmt: skip
ROWS = [
    [
        "G-1",
        "2026-10-03 14:05",
        "上海鑫达化工有限公司",
        "鑫达化工旗舰店",
        "https://demo-mall.example/shop/S1?spm=a1",
        "退一赔三",
        PEOPLE["name"],
        PEOPLE["phone"],
        PEOPLE["id_number"],
        PEOPLE["address"],
        "200",
        "无",
    ],
    ["G-2", "2026年10月3日", "", "老字号茶庄", "", f"本人{PEOPLE['name']}要求退款", "", "", "", "", "", ""],
    ["G-2", "2026年10月3日", "", "老字号茶庄", "", f"本人{PEOPLE['name']}要求退款", "", "", "", "", "", ""],
    ["G-3", "三月五号", "", "无名小店", "", "日期写错的一行", "", "", "", "", "", ""],
    ["", "2026-10-06", "", "没有编号的店", "", "缺编号", "", "", "", "", "", ""],
    ["G-4", "2026.10.7", "", "好运来食品店", "", "挽回金额写成了文字", "", "", "", "", "五十元", ""],
    ["G-5", "46300", "", "好运来食品店", "", "Excel 序列日期", "", "", "", "", "￥1,200.50", ""],
]


def gb18030_csv(path: Path) -> None:
    """The rows above in GB18030 (as Chinese Excel saves CSV), with two trailing blank lines."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(ROWS)
    buf.write(",,,,,,,,,,,\r\n\r\n")
    path.write_bytes(buf.getvalue().encode("gb18030"))


def bom_csv(path: Path) -> None:
    """UTF-8 with a BOM, semicolon-separated, with the row G-1 updated (a new status)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(["投诉编号", "受理时间", "网店名称", "诉求", "办理状态"])
    writer.writerow(["G-1", "2026-10-03 14:05", "鑫达化工旗舰店", "退一赔三", "已办结"])
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))


def jsonl(path: Path) -> None:
    lines = [
        {
            "complaint_id": "J-1",
            "received_at": "2026-10-08T10:00:00+08:00",
            "platform": "demo-mall",
            "shop_name": "鑫达化工商行",
            "text": f"联系人{PEOPLE['name']}，手机{PEOPLE['phone']}",
        },
        {"登记编号": "J-2", "登记日期": "2026/10/9", "网店名称": "好运来食品店", "投诉内容": "无个人信息"},
        "not an object",
        {"complaint_id": "J-3"},
    ]
    body = b"\n".join(orjson.dumps(x) for x in lines[:2]) + b"\n{broken json\n" + orjson.dumps(lines[2]) + b"\n"
    path.write_bytes(body + orjson.dumps(lines[3]) + b"\n\n")


if __name__ == "__main__":
    xlsx_merged_header(HERE / "merged_header.xlsx")
    gb18030_csv(HERE / "gb18030.csv")
    bom_csv(HERE / "utf8_bom_update.csv")
    jsonl(HERE / "lines.jsonl")
    print("written to", HERE)
