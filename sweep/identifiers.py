"""Check characters of the national identifiers on shop pages, in one place for the whole house.

The detector (rules/), the demo mall that is its ground truth (demomall/) and the dev-set generator
(tests/data/) must agree on what a genuine unified social credit code (统一社会信用代码, GB 32100-2015)
looks like. The overall check character comes from python-stdnum (`stdnum.cn.uscc`), so neither side
computes it by hand. The 9-character organisation code embedded in characters 9-17 has its own check
digit (GB 11714-1997); stdnum has no module for it, so that one rule lives here, once, pinned by
published codes in the tests. It sits in the core because the demo mall may not import the detector.
"""

from __future__ import annotations

from stdnum.cn import uscc as _stdnum_uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters GB 32100 allows (no I, O, S, V, Z)."""

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE = {c: (int(c) if c.isdigit() else ord(c) - ord("A") + 10) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def uscc_check_char(first17: str) -> str | None:
    """The 18th character of a code whose first 17 characters are `first17` (stdnum), or None when
    `first17` is not 17 characters of the GB 32100 alphabet (so callers need not catch anything)."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        return None
    return _stdnum_uscc.calc_check_digit(first17)


def org_code_check_char(first8: str) -> str | None:
    """Check character of the organisation code (GB 11714-1997) for its first 8 characters, or None
    when they are not 8 digits or capital letters.

    Letters count A=10 … Z=35; weights 3,7,9,10,5,8,4,2; check = 11 - sum mod 11, where 10 is written
    X and 11 is written 0.
    """
    if len(first8) != 8 or any(c not in _ORG_VALUE for c in first8):
        return None
    check = 11 - sum(_ORG_VALUE[c] * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def complete_uscc(first16: str) -> str:
    """A valid 18-character code from its first 16: appends the organisation-code check digit
    (character 17) and the overall check character (character 18).

    Raises ValueError for a prefix that cannot be completed, since a generator asking for one is a bug.
    """
    org_check = org_code_check_char(first16[8:16]) if len(first16) == 16 else None
    check = uscc_check_char(first16 + org_check) if org_check is not None else None
    if org_check is None or check is None:
        raise ValueError(f"cannot complete a unified social credit code from {first16!r}")
    return first16 + org_check + check
