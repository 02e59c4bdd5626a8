"""The engine's caches are keyed by crawled values; a site that invents a new category or licence
string on every page must not make them grow without bound."""

from __future__ import annotations

import pytest

import rules.engine
from rules import load_rulebook
from sweep.models import Listing, Shop


def test_caches_keyed_by_crawled_values_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules.engine, "CACHE_LIMIT", 50)
    book = load_rulebook()
    for i in range(400):
        listing = Listing(
            platform="p",
            listing_id=str(i),
            title="出售氰化钠",
            category=f"类目{i}",
            shop=Shop(name="店", licence_no=f"91{i:016d}"),
        )
        findings = book.scan(listing)
        assert "chem.toxic" in {f.family for f in findings}  # caching never changes the answer
    assert 0 < len(book.engine._scope_cache) <= 50
    assert 0 < len(book.engine._shop_cache) <= 50
