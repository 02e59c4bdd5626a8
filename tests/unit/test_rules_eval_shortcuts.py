"""The evaluation's shortcuts decide exactly what the long way decides.

Each shortcut skips work the scan does per listing (a regex search, a lookup) only where the skipped work
could not change the answer; these tests hold each one against the long way on generated inputs.
"""

from __future__ import annotations

import random

import pytest

from rules import Rulebook, load_rulebook
from rules.checks import _SC_STRIP, SC_RE, _values_give_sc
from rules.compiler import in_scope
from rules.evaluation import NEGATION_RE, NEGATION_SUFFIXES, NEGATION_WORDS, _may_negate
from sweep.models import Listing, Shop


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook()


def test_negation_skip_never_hides_a_negation() -> None:
    words = [w + s for w in NEGATION_WORDS for s in ("", *NEGATION_SUFFIXES)]
    for w in words:
        assert _may_negate(w[-1]), w
    rnd = random.Random(7)
    alphabet = [*"".join(words), "\n", " ", "x", "氰", "钠"]
    for _ in range(50_000):
        window = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
        if NEGATION_RE.search(window):
            assert _may_negate(window[-1]), repr(window)


def test_one_sc_search_over_joined_values_finds_what_one_per_value_finds() -> None:
    rnd = random.Random(11)
    pieces = ["sc", "SC", "ſc", "Sc", "s c", "SC:", "SC：", "-", " ", "\t", "a", "K", "1", "12345678901234", "厂"]
    for _ in range(20_000):
        values = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5))) for _ in range(rnd.randint(0, 4))]
        per_value = any(SC_RE.search(_SC_STRIP.sub("", v)) for v in values)
        assert _values_give_sc("\x00".join(values)) == per_value, values


def test_candidates_are_the_hit_and_always_on_rules_in_scope(book: Rulebook) -> None:
    engine = book.engine
    shop_orders = {r.order for r in engine.shop_rules}
    titles = ["出售氰化钠 99%", "国家级 中宁枸杞", "高仿 名牌包", "苦荞茶", "硝酸铵 工业级", ""]
    for category in (None, "食品/茶", "化工原料", "箱包", "未知类目"):
        for title in titles:
            listing = Listing(platform="p", listing_id="1", title=title, category=category, shop=Shop(name="店"))
            prep = engine.prepare(listing)
            hit = {r.order for lex in prep.by_lexicon for r in engine.book.lexicon_rules.get(lex, ())}
            always = {r.order for r in engine.book.always_rules} - shop_orders
            expected = [r for r in book.rules if (r.order in hit or r.order in always) and in_scope(r, prep.category)]
            assert engine.candidates(prep) == expected, (category, title)


def test_findings_are_built_with_the_book_version(book: Rulebook) -> None:
    listing = Listing(platform="p", listing_id="1", title="出售氰化钠", shop=Shop(name="店"))
    stamped = book.scan(listing)
    assert stamped and {f.rulebook_version for f in stamped} == {book.version}
    unstamped = book.engine.scan(listing)  # an engine run without a book leaves the version unset
    assert [f.rulebook_version for f in unstamped] == [None] * len(stamped)
    assert all("rulebook_version" not in f.model_fields_set for f in unstamped)
    assert [f.model_copy(update={"rulebook_version": None}) for f in stamped] == unstamped
