from datetime import UTC, datetime

from sweep.models import Complaint
from sweep.privacy import mask_complaint, mask_name, mask_text


def test_names_keep_only_the_surname():
    assert mask_name("张三") == "张*"
    assert mask_name("李小龙") == "李**"
    assert mask_name("欧阳娜娜") == "欧阳**"


def test_phone_id_card_and_email_are_masked_in_free_text():
    text = "我叫王五，电话13812345678，身份证110101199003071234，邮箱wangwu@example.com，座机010-62345678"
    masked = mask_text(text)
    for secret in ("13812345678", "110101199003071234", "wangwu@", "62345678"):
        assert secret not in masked
    assert "138****5678" in masked and "110101********" in masked and "w***@example.com" in masked


def test_ordinary_numbers_are_left_alone():
    assert mask_text("CAS号 143-33-9，规格 500g，订单号 20261101") == "CAS号 143-33-9，规格 500g，订单号 20261101"


def test_mask_complaint_masks_every_personal_field():
    c = Complaint(
        complaint_id="12315-1",
        received_at=datetime(2026, 11, 1, tzinfo=UTC),
        text="买到假枸杞，联系我 13900001111",
        complainant_name="赵六",
        complainant_phone="13900001111",
    )
    m = mask_complaint(c)
    assert (m.complainant_name, m.complainant_phone) == ("赵*", "139****1111")
    assert "13900001111" not in m.text
