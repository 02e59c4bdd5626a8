"""Masking of personal data in complaint records (个人信息保护法): names, mobile numbers, ID-card
numbers and e-mail addresses are masked before a complaint is stored, indexed or shown, so that
search results and exports never carry a complainant's identity."""

from __future__ import annotations

import re

from sweep.models import Complaint

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧阳**: the surname is enough to tell complaints apart when read aloud."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_text(text: str) -> str:
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * 12, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)


def mask_complaint(complaint: Complaint) -> Complaint:
    return complaint.model_copy(
        update={
            "text": mask_text(complaint.text),
            "complainant_name": mask_name(complaint.complainant_name) if complaint.complainant_name else None,
            "complainant_phone": mask_text(complaint.complainant_phone) if complaint.complainant_phone else None,
        }
    )
