"""Unified social credit codes (统一社会信用代码, GB 32100-2015) for the demo mall's shops.

The demo mall needs codes that pass the national check as well as codes that deliberately fail it,
so the `shop.licence_invalid` family has real ground truth. The check characters are not computed
here: they come from python-stdnum and `sweep.identifiers`, the same implementation the detector and
the dev set use (the mall may not import the detector it is testing, so the shared piece is in the
core), and the tests pin that implementation to published codes.
"""

from __future__ import annotations

from stdnum.cn import uscc as stdnum_uscc

from sweep.identifiers import USCC_ALPHABET, complete_uscc


def is_valid_uscc(code: str | None) -> bool:
    """True when `code` passes stdnum's GB 32100 check (length, alphabet, check character)."""
    return code is not None and stdnum_uscc.is_valid(code)


def make_uscc(division: str, org_digits: str, *, valid: bool = True) -> str:
    """Build a code for an enterprise (登记管理部门 9, 类别 1) registered in `division` (6 digits).

    `org_digits` are the 8 body digits of the organisation code. With `valid=False` the check
    character is replaced by a different allowed character, which is what a forged or mistyped
    licence looks like to a regulator.
    """
    code = complete_uscc("91" + division + org_digits)
    if valid:
        return code
    return code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 7) % 31]
