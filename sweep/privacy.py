"""Personal data in complaint records (个人信息保护法): found, kept apart, masked everywhere else.

`find_personal_data` finds names, mobile and landline numbers, resident ID numbers (身份证), bank card
numbers, e-mail addresses and street addresses in free text; `mask_text` replaces each with a masked
form. The masked complaint is what is stored, indexed, published, exported, logged and shown; the
values found travel only inside `PersonalData`, which the store keeps encrypted.

Precision and recall are weighed differently for the two uses. Masking leans to recall: an 18-digit
number shaped like an ID (region, real birth date) is masked even when its check digit is wrong,
because a mistyped ID number is still somebody's. Recording a value *as* an ID number requires the
check digit (python-stdnum `stdnum.cn.ric`), and a bank card the Luhn check (`stdnum.luhn`). The
original text is kept in `PersonalData.text`, so nothing masked is lost to the officer handling it.

Names in free text are found by their cues — 我叫王五, 本人王五, 姓名：王五, 联系人王五, 王女士/王先生 —
anchored on common surnames so that 我是消费者 is not taken for a name. A name is masked to its surname
(王五 -> 王*); a surname with a title is masked whole (王女士 -> *女士), as it is all there is of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import luhn
from stdnum.cn import ric

from sweep.models import Complaint

# The common single-character surnames (well over 90 % of the population) and compound surnames.
_SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施"
    "文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
    "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷"
    "晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_SURNAMES_2 = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "令狐",
    "夏侯",
    "宇文",
    "司徒",
)
_SURNAME = "(?:" + "|".join(_SURNAMES_2) + f"|[{_SURNAMES_1}])"
_GIVEN_STOP = "在于的了是和与从到给向把被对买购电手联家住身今昨曾因但而也都就还要已想反投诉举报先女小"
"""Characters that end a given name taken from free text (我叫王五在… -> 王五): verbs and particles."""

_CUES = (
    r"(?:我叫|我是|本人叫|本人是|本人|姓名[:：]?|名字[:：]?|联系人[:：]?|投诉人[:：]?|举报人[:：]?|消费者[:：]?"
    r"|收件人[:：]?)"
)
_NAME_AFTER_CUE = re.compile(rf"{_CUES}\s*({_SURNAME}[\u4e00-\u9fff]{{1,2}})")
_TITLED = re.compile(rf"(?<![\u4e00-\u9fff])({_SURNAME})(先生|女士|小姐|阿姨|大爷|师傅)")
# A titled surname right after a few cue characters (联系王女士, 找了王先生) is still a person.
_TITLED_AFTER = re.compile(rf"(?<=[联系找叫问和与给让请是])({_SURNAME})(先生|女士|小姐)")

_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{4})(\d{2})(\d{2})(\d{3}[\dXx])(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\d-])(\d{4}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?)(?![\d-])")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_ADDRESS_CUE = re.compile(
    r"(?:住址|家庭住址|家住|住在|现住|收货地址|联系地址|通讯地址|地址)[:：]?\s*([^\s，。；;,!！?？、]{4,60})"
)
_STREET = re.compile(
    r"([\u4e00-\u9fff]{2,}(?:省|市|区|县|镇|乡)[\u4e00-\u9fff0-9]*?(?:路|街|大道|巷|弄|村|小区|花园)"
    r"[\u4e00-\u9fff0-9\-号栋幢楼单元室]*\d+[号栋幢楼室][\u4e00-\u9fff0-9\-号栋幢楼单元室]*)"
)
_ADMIN_END = re.compile(r"^.*?(?:自治区|自治州|省|市|区|县|旗)")

KINDS = ("name", "phone", "id_number", "bank_card", "email", "address")


@dataclass(frozen=True, slots=True)
class Found:
    """One personal value in a text: `text[start:end] == value`, to be replaced by `masked`."""

    kind: str
    start: int
    end: int
    value: str
    masked: str
    valid: bool = True
    """For id_number and bank_card: whether the check digit holds (only those are recorded as such)."""


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧阳**: the surname is enough to tell complaints apart when read aloud."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    keep = 2 if len(name) >= 4 or name[:2] in _SURNAMES_2 else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_phone(phone: str) -> str:
    """138****5678; a landline keeps its area code and last four digits; anything else is masked whole
    except its last four characters."""
    text = mask_text(phone)
    if text != phone:
        return text
    digits = phone.strip()
    return "*" * max(len(digits) - 4, 1) + digits[-4:] if len(digits) > 4 else "*" * len(digits)


def mask_id_number(number: str) -> str:
    """110101************: the region of issue stays (it is in every address anyway), the rest goes."""
    number = number.strip()
    return number[:6] + "*" * (len(number) - 6) if len(number) > 6 else "*" * len(number)


def mask_address(address: str) -> str:
    """宁夏回族自治区银川市兴庆区解放西街12号3单元 -> 宁夏回族自治区银川市兴庆区***: the administrative part up to
    the district stays (it decides jurisdiction), the street and house go."""
    address = address.strip()
    admin = ""
    rest = address
    while (m := _ADMIN_END.match(rest)) and len(admin) + len(m.group(0)) < len(address):
        admin += m.group(0)
        rest = rest[len(m.group(0)) :]
    return (admin + "***") if admin else "***"


def mask_bank_card(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _plausible_id(m: re.Match[str]) -> bool:
    year, month, day = int(m.group(2)), int(m.group(3)), int(m.group(4))
    return 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


def find_personal_data(text: str) -> list[Found]:
    """Every personal value in `text`, in order, without overlaps (an ID number is not also a phone)."""
    if not text:
        return []
    spans: list[Found] = []
    taken: list[tuple[int, int]] = []

    def add(found: Found) -> None:
        if any(found.start < end and start < found.end for start, end in taken):
            return
        taken.append((found.start, found.end))
        spans.append(found)

    has_digits = any(c.isdigit() for c in text)
    if has_digits:
        for m in _ID.finditer(text):
            if _plausible_id(m):
                value = m.group(0)
                add(Found("id_number", m.start(), m.end(), value, mask_id_number(value), ric.is_valid(value.upper())))
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group(1))
            if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
                add(Found("bank_card", m.start(1), m.end(1), m.group(1), mask_bank_card(m.group(1))))
        for m in _MOBILE.finditer(text):
            add(Found("phone", m.start(), m.end(), m.group(0), f"{m.group(1)}****{m.group(3)}"))
        for m in _LANDLINE.finditer(text):
            add(Found("phone", m.start(), m.end(), m.group(0), f"{m.group(1)}-****{m.group(3)}"))
    if "@" in text:
        for m in _EMAIL.finditer(text):
            add(Found("email", m.start(), m.end(), m.group(0), f"{m.group(1)}***{m.group(2)}"))
    for m in _NAME_AFTER_CUE.finditer(text):
        name = m.group(1)
        if len(name) == 3 and name[2] in _GIVEN_STOP:
            name = name[:2]
        if len(name) >= 2 and name[-1] not in _GIVEN_STOP:
            add(Found("name", m.start(1), m.start(1) + len(name), name, mask_name(name)))
    for pattern in (_TITLED, _TITLED_AFTER):
        for m in pattern.finditer(text):
            add(Found("name", m.start(), m.end(), m.group(0), "*" + m.group(2)))
    for m in _ADDRESS_CUE.finditer(text):
        add(Found("address", m.start(1), m.end(1), m.group(1), mask_address(m.group(1))))
    if has_digits:
        for m in _STREET.finditer(text):
            add(Found("address", m.start(1), m.end(1), m.group(1), mask_address(m.group(1))))
    spans.sort(key=lambda f: f.start)
    return spans


def apply_masks(text: str, found: list[Found]) -> str:
    """`text` with every found value replaced by its masked form (`found` as `find_personal_data` gives)."""
    if not found:
        return text
    out: list[str] = []
    pos = 0
    for f in found:
        out.append(text[pos : f.start])
        out.append(f.masked)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def mask_text(text: str) -> str:
    """`text` with every personal value `find_personal_data` recognises masked."""
    return apply_masks(text, find_personal_data(text))


def mask_complaint(complaint: Complaint) -> Complaint:
    """The masked form of a complaint whose personal fields are still clear (a record built in code)."""
    return complaint.model_copy(
        update={
            "text": mask_text(complaint.text),
            "demand": mask_text(complaint.demand) if complaint.demand else None,
            "result": mask_text(complaint.result) if complaint.result else None,
            "complainant_name": mask_name(complaint.complainant_name) if complaint.complainant_name else None,
            "complainant_phone": mask_phone(complaint.complainant_phone) if complaint.complainant_phone else None,
            "complainant_id_number": (
                mask_id_number(complaint.complainant_id_number) if complaint.complainant_id_number else None
            ),
            "complainant_address": (
                mask_address(complaint.complainant_address) if complaint.complainant_address else None
            ),
        }
    )
