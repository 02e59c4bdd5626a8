"""Normalisation: evasions are undone and offsets still point into the original text."""

from __future__ import annotations

import pytest

from rules.normalize import cas_valid, find_cas, normalize


@pytest.mark.parametrize(
    "text",
    ["氰 化 钠", "氰*化*钠", "氰-化-钠", "氰·化·钠", "氰\u200b化\u200c钠", "氰化鈉", "氰　化　鈉", "氰/化/钠"],
)
def test_evasions_normalise_to_the_name(text: str) -> None:
    assert normalize(text).text == "氰化钠"


def test_fullwidth_and_case() -> None:
    n = normalize("ＮａＣＮ　ＣＡＳ１４３－３３－９")
    assert "nacn" in n.text
    assert find_cas(n.text)[0][2] == "143-33-9"


def test_offsets_map_back_to_original() -> None:
    original = "特价！氰 * 化 * 鈉 现货 CAS：143-33-9"
    n = normalize(original)
    i = n.text.index("氰化钠")
    s, e = n.orig_span(i, i + 3)
    assert original[s:e] == "氰 * 化 * 鈉"
    ((cs, ce, cas),) = find_cas(n.text)
    s, e = n.orig_span(cs, ce)
    assert original[s:e] == "143-33-9" and cas == "143-33-9"


def test_offsets_with_expanding_nfkc() -> None:
    original = "㎏装 氰化钠"  # ㎏ expands to two characters under NFKC
    n = normalize(original)
    i = n.text.index("氰化钠")
    s, e = n.orig_span(i, i + 3)
    assert original[s:e] == "氰化钠"


def test_punctuation_is_not_a_filler() -> None:
    # joining across a comma would create words the seller never wrote
    assert "最佳" not in normalize("最，佳").text
    assert "最佳" not in normalize("最。佳").text


@pytest.mark.parametrize("cas", ["143-33-9", "151-50-8", "1327-53-3", "7487-94-7", "80-12-6", "7722-84-1", "64-17-5"])
def test_cas_check_digit_valid(cas: str) -> None:
    assert cas_valid(cas)


@pytest.mark.parametrize("cas", ["143-33-8", "151-50-9", "2023-12-19", "12-34-5", "abc"])
def test_cas_check_digit_invalid(cas: str) -> None:
    assert not cas_valid(cas)


def test_find_cas_tolerates_spaces_and_rejects_bad_digits() -> None:
    assert [c for _, _, c in find_cas("cas 143 - 33 - 9 和 143-33-8")] == ["143-33-9"]


@pytest.mark.parametrize(
    ("text", "joined"),
    [("出售氰，化，钠现货", "出售氰化钠现货"), ("氯、化、汞", "氯化汞"), ("高 ， 锰 ， 酸 ， 钾", "高锰酸钾")],
)
def test_characters_spelled_out_with_commas_are_joined(text: str, joined: str) -> None:
    n = normalize(text)
    assert n.text == joined
    name = joined.removeprefix("出售").removesuffix("现货")
    i = n.text.index(name)
    s, e = n.orig_span(i, i + len(name))
    assert text[s:e].startswith(name[0]) and text[s:e].endswith(name[-1])


@pytest.mark.parametrize("text", ["我们，你们，他们", "酸甜苦辣，口味多", "配料：盐，糖", "最，佳", "产地：宁夏，中卫"])
def test_ordinary_lists_are_not_joined(text: str) -> None:
    assert normalize(text).text == text


def test_spelled_out_toxic_substance_is_found():
    from rules import load_rulebook
    from sweep.models import Listing

    listing = Listing(platform="p", listing_id="1", title="出售氰，化，钠 99% 现货", shop={"licence_no": None})
    toxic = [f for f in load_rulebook().scan(listing) if f.family == "chem.toxic"]
    assert [e.text for e in toxic[0].evidence] == ["氰，化，钠"]
