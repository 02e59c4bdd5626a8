"""Which column is which: the fields of a complaint record and the headers they go by.

12315 platform exports, provincial systems and bureaus' own sheets name the same column many ways
(登记编号/投诉编号/工单编号, 登记日期/受理时间 …), sometimes split over two merged header rows (被投诉人 over
名称 and 统一社会信用代码). Headers are compared after `header_key` (full-width folded, spaces, brackets,
units and required-field stars removed), so 挽回经济损失（元） and 挽回经济损失 are one header. What the
table here does not know, a mapping file names: YAML or JSON, `{"表头": "field"}`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import yaml

FIELDS: dict[str, tuple[str, ...]] = {
    "complaint_id": (
        "登记编号",
        "投诉编号",
        "举报编号",
        "投诉举报编号",
        "工单编号",
        "工单号",
        "编号",
        "案件编号",
        "登记号",
        "诉求编号",
    ),
    "received_at": (
        "登记日期",
        "登记时间",
        "受理时间",
        "受理日期",
        "投诉日期",
        "投诉时间",
        "举报时间",
        "接收时间",
        "创建时间",
        "来电时间",
    ),
    "seller_name": (
        "被投诉人",
        "被投诉人名称",
        "被投诉方",
        "被投诉单位",
        "被举报人",
        "被举报人名称",
        "被投诉人姓名",
        "经营者名称",
        "被投诉经营者",
        "商家名称",
        "企业名称",
    ),
    "shop_uscc": (
        "被投诉人统一社会信用代码",
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "被举报人统一社会信用代码",
        "营业执照号",
        "营业执照注册号",
    ),
    "platform": ("网络平台", "平台", "平台名称", "电商平台", "交易平台", "网络交易平台", "购买平台"),
    "shop_name": ("网店名称", "店铺名称", "被投诉人网店名称", "网店", "店铺", "店名"),
    "shop_id": ("店铺id", "店铺编号", "网店id", "商家id", "店铺号"),
    "url": ("网址", "网店网址", "店铺网址", "链接", "商品链接", "店铺链接", "网店链接", "url", "商品网址"),
    "product": ("商品名称", "商品", "产品名称", "涉及商品", "商品服务名称", "涉及商品服务"),
    "text": ("投诉内容", "举报内容", "投诉举报内容", "问题描述", "内容", "事由", "投诉事由", "诉求内容", "反映内容"),
    "demand": ("诉求", "投诉诉求", "消费者诉求", "具体诉求"),
    "category": ("投诉问题分类", "问题分类", "投诉分类", "举报问题分类", "分类", "问题类别"),
    "category_code": ("分类代码", "问题分类代码", "投诉问题分类代码", "投诉举报分类代码"),
    "kind": ("类型", "诉求类型", "投诉举报类型", "信息类型"),
    "status": ("办理状态", "处理状态", "状态", "办结状态", "当前状态"),
    "closed_at": ("办结日期", "办结时间", "结案日期", "办结时限"),
    "result": ("处理结果", "办理结果", "办结意见", "处理情况", "调解结果"),
    "recovered_loss": ("挽回经济损失", "挽回损失", "挽回金额", "挽回经济损失金额"),
    "region": (
        "所属区域",
        "属地",
        "地区",
        "管辖区域",
        "承办单位",
        "处理单位",
        "管辖单位",
        "被投诉人所在地",
        "被投诉人地址",
        "经营地址",
    ),
    "handler": ("承办人", "处理人", "经办人", "承办人员"),
    "complainant_name": ("投诉人", "投诉人姓名", "举报人", "举报人姓名", "消费者姓名", "姓名", "联系人", "投诉人名称"),
    "complainant_phone": (
        "联系电话",
        "投诉人电话",
        "投诉人联系电话",
        "手机",
        "手机号",
        "手机号码",
        "电话",
        "联系方式",
        "举报人电话",
    ),
    "complainant_id_number": ("身份证号", "身份证号码", "证件号码", "投诉人证件号码", "投诉人身份证号", "证件号"),
    "complainant_address": ("投诉人地址", "联系地址", "住址", "地址", "消费者地址", "投诉人住址", "通讯地址"),
}
"""Field -> header variants. The field names themselves (as JSON lines use them) are recognised too."""

PERSONAL_FIELDS = ("complainant_name", "complainant_phone", "complainant_id_number", "complainant_address")
FREE_TEXT_FIELDS = ("text", "demand", "result")
"""Columns people type sentences into: personal data is looked for (and masked) inside them."""
REQUIRED = ("complaint_id", "received_at")

_UNITS = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
_NOISE = re.compile(r"[\s*:：_\-·./、]+")


def header_key(header: object) -> str:
    """The comparable form of a header: NFKC, lower case, bracketed units and punctuation removed."""
    text = unicodedata.normalize("NFKC", str(header or "")).lower()
    return _NOISE.sub("", _UNITS.sub("", text))


_VARIANTS: dict[str, str] = {header_key(v): field for field, variants in FIELDS.items() for v in variants}
_VARIANTS.update({header_key(field): field for field in FIELDS})


def load_mapping(path: Path) -> dict[str, str]:
    """A mapping file (`{"表头": "field"}`, YAML or JSON) as header keys -> fields; unknown fields are an
    error naming them, so a typo in the file is not silently ignored."""
    text = path.read_text(encoding="utf-8-sig")
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a mapping file is an object of header -> field")
    unknown = sorted({str(v) for v in data.values()} - set(FIELDS))
    if unknown:
        raise ValueError(f"{path}: unknown fields {unknown}; known: {sorted(FIELDS)}")
    return {header_key(k): str(v) for k, v in data.items()}


def recognise(header: object, mapping: dict[str, str] | None = None) -> str | None:
    """The field a header stands for, or None. The mapping file wins over the built-in variants."""
    key = header_key(header)
    if not key:
        return None
    if mapping and key in mapping:
        return mapping[key]
    return _VARIANTS.get(key)


def column_fields(headers: list[object], mapping: dict[str, str] | None = None) -> dict[int, str]:
    """Column index -> field for one header row; the first column of a field wins (a sheet with two
    电话 columns keeps the first as the phone and reports nothing for the second)."""
    out: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        field = recognise(header, mapping)
        if field and field not in taken:
            out[index] = field
            taken.add(field)
    return out
