"""Licence numbers: GB 32100-2015 check character and the embedded GB 11714 organisation code."""

from __future__ import annotations

import pytest

from rules.checks import SC_RE, make_uscc, org_code_check_char, uscc_problem, uscc_valid


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "91110108063781246F"])
def test_valid_codes(code: str) -> None:
    assert uscc_valid(code), uscc_problem(code)


def test_wrong_check_character() -> None:
    code = make_uscc("9111010806378124")
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
    from rules.checks import uscc_check_char

    first17 = body + bad_org
    code = first17 + (uscc_check_char(first17) or "")
    problem = uscc_problem(code)
    assert problem is not None and "组织机构代码" in problem


def test_org_code_check_examples() -> None:
    assert org_code_check_char("M0001000") in "0123456789X"
    assert org_code_check_char("06378124") == "6"


def test_sc_number() -> None:
    assert SC_RE.search("生产许可证编号：SC11764052100123")
    assert SC_RE.search("sc 11764052100123")
    assert not SC_RE.search("SC1176405210012")  # 13 digits
    assert not SC_RE.search("QS110001011234")
