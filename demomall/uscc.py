"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

The demo mall needs codes that pass the national check as well as codes that deliberately fail it,
so the `shop.licence_invalid` family has real ground truth. The check is implemented here rather
than imported from `rules/` because the generator must not depend on the detector it is testing.
"""

from __future__ import annotations

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters GB 32100 allows (no I, O, S, V, Z)."""

_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_code_check(body8: str) -> str:
    """Check character of the 9-character organisation code (GB 11714) embedded in a USCC."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check_char(body17: str) -> str:
    """The 18th character of a USCC whose first 17 characters are `body17`."""
    if len(body17) != 17 or any(c not in USCC_CHARSET for c in body17):
        raise ValueError(f"not a USCC body: {body17!r}")
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(code: str | None) -> bool:
    """True when `code` is 18 allowed characters and its last one is the GB 32100 check character."""
    if not code or len(code) != 18 or any(c not in USCC_CHARSET for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def make_uscc(division: str, org_digits: str, *, valid: bool = True) -> str:
    """Build a code for an enterprise (登记管理部门 9, 类别 1) registered in `division` (6 digits).

    `org_digits` are the 8 body digits of the organisation code. With `valid=False` the check
    character is replaced by a different allowed character, which is what a forged or mistyped
    licence looks like to a regulator.
    """
    body = "91" + division + org_digits + org_code_check(org_digits)
    check = uscc_check_char(body)
    if not valid:
        check = USCC_CHARSET[(USCC_CHARSET.index(check) + 7) % 31]
    return body + check
