"""The search language (`sweep.query`): what each kind of search string parses to."""

from __future__ import annotations

import pytest

from sweep.query import FieldFilter, SearchQuery, Text, parse


def words(*values: str) -> tuple[tuple[Text, ...], ...]:
    """all_of for plain words, each its own group."""
    return tuple((Text(v),) for v in values)


def test_empty_and_blank_searches_mean_everything() -> None:
    assert parse(None) == SearchQuery()
    assert parse("") == SearchQuery()
    assert parse("  \u3000 ") == SearchQuery()  # ideographic space too
    assert not parse("   ").has_text


def test_words_are_all_required() -> None:
    assert parse("氰化钠 现货") == SearchQuery(all_of=words("氰化钠", "现货"))


def test_leading_minus_excludes_a_word_or_phrase_inner_minus_does_not() -> None:
    q = parse('氰化钠 -检测 -"检测 仪器" 143-33-9')
    assert q.all_of == words("氰化钠", "143-33-9")
    assert q.none_of == (Text("检测"), Text("检测 仪器", quoted=True))


def test_exclusions_only() -> None:
    q = parse("-检测")
    assert q == SearchQuery(none_of=(Text("检测"),)) and q.has_text and q.positive_texts == []


def test_quoted_phrases_keep_order_collapse_spaces_and_make_operators_literal() -> None:
    assert parse('"高纯   氰化钠"').all_of == ((Text("高纯 氰化钠", quoted=True),),)
    assert parse('"a OR b" "-x" "shop:y"').all_of == (
        (Text("a OR b", quoted=True),),
        (Text("-x", quoted=True),),
        (Text("shop:y", quoted=True),),
    )


def test_chinese_quotes_and_unterminated_quote() -> None:
    assert parse("“高纯 氰化钠” 现货").all_of == ((Text("高纯 氰化钠", quoted=True),), (Text("现货"),))
    assert parse('现货 "高纯 氰化钠').all_of == ((Text("现货"),), (Text("高纯 氰化钠", quoted=True),))


def test_or_joins_neighbours_and_binds_tighter_than_and() -> None:
    q = parse('氰化钠 OR 氰化钾 OR "三氧化 二砷" 现货')
    assert q.all_of == (
        (Text("氰化钠"), Text("氰化钾"), Text("三氧化 二砷", quoted=True)),
        (Text("现货"),),
    )


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("OR 氰化钠", words("氰化钠")),  # nothing before it
        ("氰化钠 OR", words("氰化钠")),  # nothing after it
        ("氰化钠 OR OR 氰化钾", ((Text("氰化钠"), Text("氰化钾")),)),  # doubled
        ("氰化钠 or 氰化钾", words("氰化钠", "or", "氰化钾")),  # lower case is a word
        ("氰化钠 OR family:chem.toxic 现货", words("氰化钠", "现货")),  # next to a filter
    ],
)
def test_or_that_joins_nothing_is_ignored(search: str, expected: tuple) -> None:
    assert parse(search).all_of == expected


def test_or_next_to_an_exclusion_is_ignored() -> None:
    q = parse("氰化钠 OR -检测")
    assert q.all_of == words("氰化钠") and q.none_of == (Text("检测"),)
    assert parse("-OR").none_of == (Text("OR"),)


def test_field_filters() -> None:
    q = parse('family:chem.toxic Family:food.sanwu -region:上海 shop:"华东 化工" status：new 氰化钠')
    assert q.all_of == words("氰化钠")
    assert q.filters == (
        FieldFilter("family", "chem.toxic"),
        FieldFilter("family", "food.sanwu"),
        FieldFilter("shop", "华东 化工"),
        FieldFilter("status", "new"),  # full-width colon
    )
    assert q.excluded == (FieldFilter("region", "上海"),)
    assert q.values("family") == ["chem.toxic", "food.sanwu"]
    assert q.excluded_values("region") == ["上海"] and q.values("region") == []
    assert not SearchQuery(filters=q.filters).has_text


def test_unknown_field_and_empty_value_are_ordinary_words() -> None:
    assert parse("CAS:143-33-9").all_of == words("CAS:143-33-9")
    assert parse("shop: 华东").all_of == words("shop:", "华东")
    assert parse("shop:").filters == ()


def test_words_without_letters_digits_or_chinese_are_ignored() -> None:
    assert parse('% - "" “” -- ***') == SearchQuery()
    assert parse("99% 现货").all_of == words("99%", "现货")


def test_full_width_input_is_folded_before_parsing() -> None:
    q = parse("ＮａＣＮ　－检测　ＯＲ")
    assert q.all_of == words("NaCN") and q.none_of == (Text("检测"),)


def test_duplicates_collapse_and_the_parse_prints_back() -> None:
    q = parse('氰化钠 氰化钠 -检测 -检测 a OR a "x y" family:chem.toxic -shop:"华 东"')
    assert q.all_of == ((Text("氰化钠"),), (Text("a"),), (Text("x y", quoted=True),))
    assert str(q) == '氰化钠 a "x y" -检测 family:chem.toxic -shop:"华 东"'
    assert parse(str(q)) == q
