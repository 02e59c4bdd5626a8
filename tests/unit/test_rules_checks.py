"""Licence numbers (GB 32100-2015 check character, embedded GB 11714 organisation code) and CAS numbers.

The check characters come from python-stdnum and sweep.identifiers, shared with the demo mall and the
dev set; the published codes below pin that shared implementation from outside.
"""

from __future__ import annotations

import pytest

from rules.checks import SC_RE, uscc_problem, uscc_valid
from rules.normalize import cas_valid
from sweep.identifiers import complete_uscc, org_code_check_char, uscc_check_char

# Published codes: the GB 32100 worked example, the code in python-stdnum's documentation, and
# Xiaomi's (小米科技有限责任公司, as printed on its business licence).
PUBLISHED = ["91350100M000100Y43", "91110000600037341L", "91110108551385082Q"]


@pytest.mark.parametrize("code", [*PUBLISHED, "91110108063781246F"])
def test_valid_codes(code: str) -> None:
    assert uscc_valid(code), uscc_problem(code)


@pytest.mark.parametrize("code", PUBLISHED)
def test_shared_check_characters_reproduce_published_codes(code: str) -> None:
    assert uscc_check_char(code[:17]) == code[17]
    assert org_code_check_char(code[8:16]) == code[16]
    assert complete_uscc(code[:16]) == code


def test_spellings_a_seller_uses_are_read_as_the_code() -> None:
    assert uscc_valid("统一社会信用代码：91350100M000100Y43")
    assert uscc_valid("91350100m000100y43")
    assert uscc_valid("９１３５０１００Ｍ０００１００Ｙ４３")  # full-width
    assert uscc_valid("913501-00M000-100Y43")


def test_shared_helpers_refuse_what_is_not_a_code() -> None:
    assert uscc_check_char("9135010OM000100Y4") is None  # letter O
    assert uscc_check_char("91350100M000100Y") is None  # 16 characters
    assert org_code_check_char("M000100") is None
    assert org_code_check_char("m000100y") is None
    with pytest.raises(ValueError):
        complete_uscc("9135010OM000100Y")


def test_wrong_check_character() -> None:
    code = complete_uscc("9111010806378124")
    assert code == "91110108063781246F"
    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if c != code[-1]:
            assert not uscc_valid(code[:-1] + c)


@pytest.mark.parametrize(
    "code, why",
    [
        ("9111010806378124", "长度"),
        ("91110108O63781246F", "非法字符"),
        ("91110108063781246I", "非法字符"),
        ("0111010806378124XX", "登记管理部门"),
    ],
)
def test_format_problems(code: str, why: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and why in problem


def test_embedded_organisation_code_is_checked() -> None:
    # a code whose overall check character is right but whose organisation-code check digit is wrong
    body = "91110108" + "06378124"
    bad_org = "1" if org_code_check_char("06378124") != "1" else "2"
    first17 = body + bad_org
    code = first17 + (uscc_check_char(first17) or "")
    problem = uscc_problem(code)
    assert problem is not None and "组织机构代码" in problem


def test_wrong_overall_check_character_is_named() -> None:
    assert uscc_problem("91350100M000100Y44") == "校验码应为 3，实为 4"


def test_org_code_check_examples() -> None:
    assert org_code_check_char("06378124") == "6"
    assert org_code_check_char("M000100Y") == "4"  # letters count A=10 ... Z=35
    assert org_code_check_char("00000000") == "0"  # 11 - 0 = 11 is written 0
    assert org_code_check_char("00000006") == "X"  # 6*2 = 12, 11 - 12 mod 11 = 10 is written X


@pytest.mark.parametrize("cas", ["7732-18-5", "64-17-5", "50-00-0", " 7732-18-5 "])
def test_cas_numbers_with_the_right_check_digit(cas: str) -> None:
    # water, ethanol, formaldehyde (CAS's own check-digit example is 7732-18-5)
    assert cas_valid(cas)


@pytest.mark.parametrize(
    "cas, why",
    [
        ("7732-18-4", "wrong check digit"),
        ("7732185", "digits run together: stdnum would accept it, listing text never means a CAS number so"),
        ("7732 18 5", "spaces instead of dashes"),
        ("0064-17-5", "leading zero: no CAS number has one"),
        ("7-12-3", "first group shorter than 2 digits"),
    ],
)
def test_cas_numbers_refused(cas: str, why: str) -> None:
    assert not cas_valid(cas), why


def test_sc_number() -> None:
    assert SC_RE.search("生产许可证编号：SC11764052100123")
    assert SC_RE.search("sc 11764052100123")
    assert not SC_RE.search("SC1176405210012")  # 13 digits
    assert not SC_RE.search("QS110001011234")
