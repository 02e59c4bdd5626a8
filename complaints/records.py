"""One row of a complaint file -> a masked `Complaint` and its `PersonalData`, or a `RowError`.

The masked record is built here, at the first moment the row exists as a record, so nothing downstream
(store, bus, export, logs, error reports) ever holds a personal value outside `PersonalData`. Error
reasons quote only what cannot be personal (a date as written, a number), masked all the same.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from complaints.dates import parse_datetime
from complaints.matching import complaint_keys
from sweep.models import Complaint, PersonalData, clip
from sweep.privacy import (
    apply_masks,
    find_personal_data,
    mask_address,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)
from sweep.regions import normalise
from sweep.store.complaints import ComplaintRecord

TEXT_LIMIT = 20_000
FIELD_LIMIT = 512
ID_LIMIT = 128
_CODE = re.compile(r"^\s*(\d{9})\b\s*[-—:：、.]?\s*(.*)$")
"""A GB/T 42499-2023 code leading a category cell (`110101103 商品质量`): 9 digits, kept as written."""
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ADMIN = re.compile(r"^(?:[^省市区县旗州盟]{1,12}?(?:自治区|自治州|省|市|区|县|旗|州|盟))+")


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行: {self.reason}"


def _text(value: Any, limit: int = FIELD_LIMIT) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id or code Excel stored as a number
    text = unicodedata.normalize("NFC", str(value)).strip()
    return clip(text, limit) if text else None


def _money(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).replace(",", "").replace("，", "")
    m = _NUMBER.search(text)
    if not m or re.search(r"[A-Za-z]", text):
        raise ValueError
    return float(m.group(0))


def region_of(text: str | None) -> str | None:
    """The administrative part of a place or a bureau's name (宁夏回族自治区银川市兴庆区市场监督管理局 ->
    宁夏回族自治区银川市兴庆区), which is what jurisdiction compares."""
    if not text:
        return None
    m = _ADMIN.match(text.replace(" ", ""))
    # short and full names alike (浙江 / 浙江省, 杭州 / 浙江杭州), as leads store them: the queue's jurisdiction
    # and the reports then count complaints and leads of one place together
    return normalise(m.group(0) if m else text)


def build_record(number: int, values: dict[str, Any]) -> ComplaintRecord | RowError:
    """The record for one row, or why the row cannot be one."""
    if "__error__" in values:
        return RowError(number, str(values["__error__"]))
    complaint_id = _text(values.get("complaint_id"), ID_LIMIT)
    if not complaint_id:
        return RowError(number, "缺少登记编号（complaint_id）")
    raw_received = values.get("received_at")
    if raw_received is None:
        return RowError(number, f"{complaint_id}: 缺少登记日期（received_at）")
    received = parse_datetime(raw_received)
    if received is None:
        return RowError(number, f"{complaint_id}: 登记日期无法识别 {mask_text(str(raw_received))[:40]!r}")
    closed: datetime | None = None
    if values.get("closed_at") is not None:
        closed = parse_datetime(values["closed_at"])
        if closed is None:
            return RowError(number, f"{complaint_id}: 办结日期无法识别 {mask_text(str(values['closed_at']))[:40]!r}")
    loss = None
    if values.get("recovered_loss") is not None:
        try:
            loss = _money(values["recovered_loss"])
        except ValueError:
            return RowError(
                number, f"{complaint_id}: 挽回经济损失不是金额 {mask_text(str(values['recovered_loss']))[:40]!r}"
            )

    found: dict[str, list[str]] = {}
    kinds: set[str] = set()

    def remember(kind: str, value: str) -> None:
        kinds.add(kind.removesuffix("_unverified"))
        bucket = found.setdefault(kind, [])
        if value not in bucket:
            bucket.append(value)

    def free_text(value: Any, limit: int) -> tuple[str | None, str | None]:
        """(clear, masked) of a free-text cell, with what it contained remembered."""
        clear = _text(value, limit)
        if not clear:
            return None, None
        spans = find_personal_data(clear)
        for f in spans:
            remember(f.kind if f.valid else f"{f.kind}_unverified", f.value)
        return clear, apply_masks(clear, spans)

    text, masked_text = free_text(values.get("text"), TEXT_LIMIT)
    demand, masked_demand = free_text(values.get("demand"), TEXT_LIMIT)
    result, masked_result = free_text(values.get("result"), TEXT_LIMIT)

    name = _text(values.get("complainant_name"), 64)
    phone = _text(values.get("complainant_phone"), 64)
    id_number = _text(values.get("complainant_id_number"), 64)
    address = _text(values.get("complainant_address"))
    if name:
        remember("name", name)
    if phone:
        remember("phone", phone)
    if id_number:
        from stdnum.cn import ric

        remember("id_number" if ric.is_valid(id_number.upper()) else "id_number_unverified", id_number)
    if address:
        remember("address", address)

    category = _text(values.get("category"))
    code = _text(values.get("category_code"), 32)
    if category and (m := _CODE.match(category)):
        code = code or m.group(1)
        category = m.group(2) or None

    seller_name = _text(values.get("seller_name"))
    if seller_name and find_personal_data(seller_name):  # a sole trader named with a phone number, say
        seller_name = mask_text(seller_name)
    region = region_of(_text(values.get("region")))
    complaint = Complaint(
        complaint_id=complaint_id,
        received_at=received,
        platform=_text(values.get("platform"), 64),
        shop_name=_text(values.get("shop_name")),
        seller_name=seller_name,
        shop_uscc=_text(values.get("shop_uscc"), 64),
        shop_id=_text(values.get("shop_id"), 256),
        url=_text(values.get("url"), 2048),
        product=_text(values.get("product")),
        text=masked_text or "",
        demand=masked_demand,
        result=masked_result,
        category_code=code,
        category=category,
        kind=_text(values.get("kind"), 32),
        status=_text(values.get("status"), 64),
        closed_at=closed,
        recovered_loss=loss,
        region=region,
        handler=_text(values.get("handler"), 64),
        complainant_name=mask_name(name) if name else None,
        complainant_phone=mask_phone(phone) if phone else None,
        complainant_id_number=mask_id_number(id_number) if id_number else None,
        complainant_address=mask_address(address) if address else None,
        pii_kinds=sorted(kinds),
    )
    personal = PersonalData(
        complaint_id=complaint_id,
        name=name,
        phone=phone,
        id_number=id_number,
        address=address,
        text=text if text != masked_text else None,
        demand=demand if demand != masked_demand else None,
        result=result if result != masked_result else None,
        found=found,
    )
    return ComplaintRecord(complaint=complaint, personal=personal, match_keys=complaint_keys(complaint))
