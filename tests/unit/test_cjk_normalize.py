"""The fast paths of `cjk.normalize` / `normalize_all` give exactly what the plain definition gives.

Both lead stores index `normalize`d text and look queries up the same way, and the embedded store
deletes full-text rows by recomputing their tokens: a single character of difference would make
documents unfindable. So the output is compared, character for character, with the definition
(NFKC, OpenCC t2s, lower case, dodge separators removed) over a corpus: the rulebook and its
catalogs, a generated demo mall, synthetic leads, and hostile or unusual Unicode.
"""

from __future__ import annotations

import random
import sys
import unicodedata
from pathlib import Path

import pytest

from adapters.store import cjk
from demomall.generator import generate

ROOT = Path(__file__).resolve().parents[2]


def reference(text: str) -> str:
    return cjk._FILLER.sub("", cjk._t2s()(unicodedata.normalize("NFKC", text)).lower())


def _corpus() -> list[str]:
    texts: list[str] = []
    for path in sorted([*(ROOT / "rules" / "book").glob("*.yaml"), *(ROOT / "rules" / "catalogs").rglob("*.csv")]):
        texts += [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    mall = generate(300, seed=11)
    for item in mall.items:
        texts += [t for t in (item.listing.title, item.listing.description) if t]
    texts += [s.shop.name for s in mall.shops if s.shop.name]
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_query import synthetic_event

    for i in range(300):
        event = synthetic_event(i)
        texts += [event.listing.title, event.listing.description or "", event.listing.shop_name or ""]
    texts += [
        "氰 * 化-钠 氰化鈉 ＮａＣＮ　全角空格，（括号）：",
        "ΑΣ ΟΔΟΣ σίσυφος ΣΑΣ",  # final sigma depends on the neighbours
        "Ａ\u0301 e\u0301 \u0301开头的组合符",  # combining marks after a full-width letter, at the start
        "\u1100\u1161\u11a8 ﬁ ㎏ ① ｶﾀｶﾅ ＄１２３",  # jamo, ligatures, squared and circled, half-width kana
        "後來發現髮型乾燥 著名 藥物",  # OpenCC phrases
        "\x01控制\x01字符\x1f\x00",
        "",
        " ",
    ]
    return texts


CORPUS = _corpus()


def test_corpus_is_large_and_chinese() -> None:
    assert len(CORPUS) > 1000
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in t) for t in CORPUS) > 500
    assert any("，" in t for t in CORPUS)


def test_normalize_matches_the_definition_on_the_corpus() -> None:
    for text in CORPUS:
        assert cjk.normalize(text) == reference(text), text


def test_normalize_all_matches_one_by_one() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        texts = rng.sample(CORPUS, rng.randint(1, 7))
        assert cjk.normalize_all(texts) == [reference(t) for t in texts], texts


@pytest.mark.parametrize("seed", range(5))
def test_random_unicode(seed: int) -> None:
    """Mixed ranges where NFKC, case and OpenCC do something: texts joined side by side must not
    influence each other."""
    rng = random.Random(seed)
    pools = [
        (0x20, 0x7E),
        (0x3000, 0x303F),
        (0x4E00, 0x9FFF),
        (0xFF00, 0xFFEF),
        (0x0300, 0x036F),
        (0x0370, 0x03FF),
        (0x1100, 0x11FF),
        (0xAC00, 0xAC40),
        (0x2460, 0x24FF),
        (0xF900, 0xFAFF),
    ]
    seps = " *·/\\_.|~+-\t\n"

    def text() -> str:
        out = []
        for _ in range(rng.randint(0, 25)):
            if rng.random() < 0.2:
                out.append(rng.choice(seps))
            else:
                lo, hi = rng.choice(pools)
                out.append(chr(rng.randint(lo, hi)))
        return "".join(out)

    for _ in range(500):
        texts = [text() for _ in range(rng.randint(1, 6))]
        assert [cjk.normalize(t) for t in texts] == [reference(t) for t in texts]
        assert cjk.normalize_all(texts) == [reference(t) for t in texts]


def test_full_width_table_is_nfkc() -> None:
    for wide, narrow in cjk._WIDE_TO_NARROW.items():
        assert unicodedata.normalize("NFKC", wide) == narrow
