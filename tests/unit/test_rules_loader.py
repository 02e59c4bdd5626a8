"""Loading: the packaged book loads fast; any error names file and line and loads nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rules import Rulebook, RulebookError, load_rulebook
from rules.loader import DEFAULT_BOOK, DEFAULT_CATALOGS
from sweep.models import FAMILIES


def test_default_book_loads_and_covers_every_family() -> None:
    # load time is measured by benchmarks/bench_rules.py, not asserted here (a shared machine's load decides it)
    book = load_rulebook()
    assert isinstance(book, Rulebook)
    assert {r.spec.family for r in book.rules} == set(FAMILIES)


def _copy_book(tmp_path: Path) -> Path:
    root = tmp_path / "book_root"
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    return root


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_copied_book_loads(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    assert len(load_rulebook(root).rules) == len(load_rulebook().rules)


def test_unknown_family_names_file_and_line(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "ip.yaml"
    _replace(f, "family: ip.counterfeit", "family: ip.fake_goods")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.file.endswith("ip.yaml")
    assert err.value.line == _line_of(f, "family: ip.fake_goods")
    assert "ip.fake_goods" in str(err.value)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "privacy.yaml"
    _replace(f, "    severity: high", "    severity: [high")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.file.endswith("privacy.yaml")
    assert err.value.line is not None and err.value.line >= _line_of(f, "severity: [high")


def test_misspelt_key_is_an_error(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "ip.yaml"
    _replace(f, "    exclude:", "    exlcude:")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.line == _line_of(f, "exlcude:")


def test_duplicate_rule_id(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "privacy.yaml"
    _replace(f, "id: privacy.personal_data_sale/terms", "id: ip.counterfeit/terms")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert "重复" in err.value.message
    assert err.value.line == _line_of(f, "id: ip.counterfeit/terms")


def test_unknown_catalog_reference(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "ip.yaml"
    _replace(f, "catalog: counterfeit", "catalog: counterfeits")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.file.endswith("ip.yaml")
    assert err.value.line is not None
    assert "counterfeits" in err.value.message


def test_bad_cas_check_digit_in_catalog(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "catalogs" / "toxic.csv"
    _replace(f, "氰化钠,,143-33-9,", "氰化钠,,143-33-8,")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.file.endswith("toxic.csv")
    assert err.value.line == _line_of(f, "氰化钠,,143-33-8,")
    assert "CAS" in err.value.message


def test_catalog_without_source_header(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "catalogs" / "brands.csv"
    f.write_text(
        "\n".join(line for line in f.read_text(encoding="utf-8").splitlines() if not line.startswith("# source")),
        encoding="utf-8",
    )
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.file.endswith("brands.csv") and err.value.line == 1


def test_bad_regex_names_line(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "food.yaml"
    text = f.read_text(encoding="utf-8")
    start = text.index("      - regex: '")
    end = text.index("\n", start)
    f.write_text(text[:start] + "      - regex: '(unclosed'" + text[end:], encoding="utf-8")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.line == _line_of(f, "(unclosed")


def test_error_loads_nothing(tmp_path: Path) -> None:
    """A broken book raises before returning anything; the caller keeps its old book intact."""
    good = load_rulebook()
    root = _copy_book(tmp_path)
    _replace(root / "book" / "shop.yaml", "severity: medium", "severity: urgent")
    book = good
    with pytest.raises(RulebookError):
        book = load_rulebook(root)
    assert book is good
    assert len(good.rules) == len(load_rulebook().rules)


def test_invalid_example_listing_names_its_line(tmp_path: Path) -> None:
    root = _copy_book(tmp_path)
    f = root / "book" / "shop.yaml"
    _replace(f, 'licence_no: "9133010034598455"}', "licence_no: 9133010034598455}")
    with pytest.raises(RulebookError) as err:
        load_rulebook(root)
    assert err.value.line == _line_of(f, "licence_no: 9133010034598455}")
    assert "样例" in err.value.message
