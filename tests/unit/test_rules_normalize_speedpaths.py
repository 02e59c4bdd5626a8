"""The quick paths of normalisation, CAS search and sound keys give the answers of the plain method.

normalize() skips NFKC, the translate table and the zero-width pass when one character-class scan finds
none of their characters, finds filler runs and lone spelled-out characters in one scan, find_cas() runs its
regex only when a CAS-shaped tail is present, and SoundIndex.keys() translates through a list. Expected
values here are written by hand from the rules of each step, not computed by the code under test.
"""

from __future__ import annotations

import re
import sys

import pytest

from rules.normalize import _ZERO_WIDTH_CHARS, find_cas, normalize
from rules.pinyin import SoundIndex


def test_lower_never_makes_a_zero_width_character() -> None:
    """normalize() skips the zero-width pass when the text before lower() has none: this must hold."""
    zero_width = re.compile(f"[{_ZERO_WIDTH_CHARS}]")
    made = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and not zero_width.search(chr(c)) and zero_width.search(chr(c).lower())
    ]
    assert made == []


@pytest.mark.parametrize(
    ("text", "expected", "spans"),
    [
        # fillers between CJK characters go, with offsets back to the original
        ("氰 化 钠", "氰化钠", [(0, 1), (2, 3), (4, 5)]),
        ("氰 *· 化钠", "氰化钠", [(0, 1), (5, 6), (6, 7)]),
        ("氰\u3000化\U0001f525钠", "氰化钠", [(0, 1), (2, 3), (4, 5)]),
        # a filler run not between two CJK characters stays
        (" 氰化钠 ", " 氰化钠 ", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
        ("氰 a 化", "氰 a 化", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),
        ("氰 ，化", "氰 ，化", [(0, 1), (1, 2), (2, 3), (3, 4)]),
        # zero-width characters go everywhere, soft hyphen too; a filler run they hid is then removed
        ("a\u200bb", "ab", [(0, 1), (2, 3)]),
        ("氰 \u00ad化", "氰化", [(0, 1), (3, 4)]),
        # characters spelled out with separators are joined when a lone character sits between two of them
        ("售氰，化，钠", "售氰化钠", [(0, 1), (1, 2), (3, 4), (5, 6)]),
        ("氰 、 化 、 钾", "氰化钾", [(0, 1), (4, 5), (8, 9)]),
        ("氰化，钠，钾", "氰化钠钾", [(0, 1), (1, 2), (3, 4), (5, 6)]),
        ("氰化，钠钾", "氰化，钠钾", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]),  # no lone character
        ("氰，化​，钠", "氰化钠", [(0, 1), (2, 3), (5, 6)]),  # after the zero-width pass
        # full-width, traditional, case, and a compatibility character that expands
        ("ＮａＣＮ", "nacn", [(0, 1), (1, 2), (2, 3), (3, 4)]),
        ("氰化鈉", "氰化钠", [(0, 1), (1, 2), (2, 3)]),
        ("㎏氰", "kg氰", [(0, 1), (0, 1), (1, 2)]),
        ("\u212a氰 化", "k氰化", [(0, 1), (1, 2), (3, 4)]),
        ("İ氰", "i\u0307氰", [(0, 1), (0, 1), (1, 2)]),
    ],
)
def test_normalised_text_and_offsets(text: str, expected: str, spans: list[tuple[int, int]]) -> None:
    n = normalize(text)
    assert n.text == expected
    assert [n.orig_span(i, i + 1) for i in range(len(expected))] == spans


def test_empty_span_after_removed_characters() -> None:
    n = normalize("氰 化 钠")
    assert n.orig_span(1, 1) == (2, 2)
    assert n.orig_span(0, 3) == (0, 5)
    assert n.orig_span(3, 3) == (5, 5)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("CAS 143-33-9", [(4, 12, "143-33-9")]),
        ("x7782-50-5y", [(1, 10, "7782-50-5")]),
        ("0143-33-9", [(0, 9, "143-33-9")]),  # leading zero dropped
        ("143 - 33 - 9", [(0, 12, "143-33-9")]),
        ("143-33-9 与 7782-50-5", [(0, 8, "143-33-9"), (11, 20, "7782-50-5")]),
        ("143-33-8", []),  # wrong check digit
        ("12-143-33-9", []),  # inside a longer run of digits and dashes
        ("143-33-9-1", []),
        ("1143-33-9", []),  # 1143-33-9: check digit would be 3
        ("12345678-90-1", []),  # eight digits before the first dash
        ("2024-05-01", []),
        ("٣143-33-9", []),  # an Arabic-Indic digit before: part of the number, which is then invalid
        ("1 - 2 - 3", []),
        ("no dash here 1433339", []),
    ],
)
def test_find_cas(text: str, found: list[tuple[int, int, str]]) -> None:
    assert find_cas(text) == found
    assert find_cas(text) == found  # second call: from the cache of checked numbers


def test_sound_keys() -> None:
    index = SoundIndex([("氰化钠", "homophone", ("v",))])
    # codes in order of first use: qing 0, hua 1, huo 2 (化 reads hua or huo), na 3
    qing, hua, na = "\U000f0000", "\U000f0001", "\U000f0003"
    assert index.keys("氰化钠") == (qing + hua + na, None)
    # a reading no name uses breaks (一 yi); characters without a reading or past the table stay as they are
    assert index.keys("一氰5，㐀\U00020000") == ("\x01" + qing + "5，㐀\U00020000", None)
    # pinyin runs become codes, each with its span; a run that is not pinyin stays
    assert index.keys("qinghuana") == (qing + hua + na, [(0, 4), (4, 7), (7, 9)])
    assert index.keys("钠 ml") == (na + " ml", None)
    assert index.keys("钠a") == (na + "\x01", [(0, 1), (1, 2)])
    assert index.keys("qing 化钠") == (qing + " " + hua + na, [(0, 4), (4, 5), (5, 6), (6, 7)])
