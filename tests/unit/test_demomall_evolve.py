"""The demo mall changes like a real one (`Mall.evolve`): changed, removed (404 / 下架) and relisted
listings, deterministic from the seeds, served at the same address by a running server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from demomall.generator import generate
from demomall.pages import DELISTED_NOTICE
from demomall.server import Site, serve_in_thread


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_evolve_is_deterministic_and_disjoint() -> None:
    base = generate(200, 7)
    a = base.evolve(change=20, remove=10, relist=3, seed=1)
    b = generate(200, 7).evolve(change=20, remove=10, relist=3, seed=1)
    c = base.evolve(change=20, remove=10, relist=3, seed=2)
    assert a.changes.as_dict() == b.changes.as_dict()
    assert Site(a).routes == Site(b).routes
    assert a.changes.as_dict() != c.changes.as_dict()
    changed, removed, relisted = set(a.changes.changed), set(a.changes.removed), set(a.changes.relisted)
    assert (len(changed), len(removed), len(relisted)) == (20, 10, 3)
    assert not (changed & removed) and not (changed & relisted) and not (removed & relisted)
    assert sorted(a.changes.removed.values()).count("404") == 5  # "mixed": half and half
    # the parent is untouched; the evolved mall offers 200 - 10 - 3 + 3 listings
    assert len(base.items) == 200 and not base.gone and base.generation == 0
    assert len(a.items) == 190 and a.generation == 1
    assert set(a.gone) == removed | relisted
    offered = {i.listing.listing_id for i in a.items}
    assert not offered & set(a.gone)
    assert set(a.changes.relisted.values()) <= offered


def test_changes_are_what_the_record_says() -> None:
    base = generate(150, 3)
    later = base.evolve(change=30, seed=5)
    for lid, (before, after) in later.changes.changed.items():
        kinds = later.changes.change_kinds[lid]
        assert kinds[0] == "price" and before.price != after.price
        assert later.item(lid).listing == after and base.item(lid).listing == before
        differs = {
            "title": before.title != after.title,
            "description": before.description != after.description,
            "images": before.images != after.images,
        }
        assert [k for k, v in differs.items() if v] == [kinds[1]]
        assert later.item(lid).families == base.item(lid).families
    summary = later.changes.as_dict()["changed"]
    lid = next(iter(later.changes.changed))
    assert summary[lid]["before"]["price"] == base.item(lid).listing.price  # type: ignore[index]


def test_changed_listings_keep_their_families_under_the_rulebook() -> None:
    from rules import load_rulebook

    book = load_rulebook()
    base = generate(300, 7)
    later = base.evolve(change=60, seed=9)
    for lid, (before, after) in later.changes.changed.items():
        assert {f.family for f in book.scan(before)} == {f.family for f in book.scan(after)}, lid


def test_explicit_ids_and_errors() -> None:
    base = generate(60, 1)
    ids = [i.listing.listing_id for i in base.items[:4]]
    later = base.evolve(change=ids[:2], remove=ids[2:3], relist=ids[3:], removal="delisted")
    assert set(later.changes.changed) == set(ids[:2])
    assert later.changes.removed == {ids[2]: "delisted"}
    assert later.changes.relisted == {ids[3]: "DM000061"} and later.changes.relisted_how == {ids[3]: "delisted"}
    with pytest.raises(ValueError, match="more than one"):
        base.evolve(change=ids[:2], remove=ids[1:2])
    with pytest.raises(ValueError, match="not offered"):
        later.evolve(remove=[ids[2]])  # already gone
    with pytest.raises(ValueError, match="left to choose"):
        base.evolve(remove=61)
    # gone listings accumulate; new ids never reuse an old one
    again = later.evolve(relist=[later.changes.relisted[ids[3]]])
    assert set(again.gone) == {ids[2], ids[3], "DM000061"}
    assert again.changes.relisted == {"DM000061": "DM000062"}


def test_relisted_listing_is_the_same_content_in_the_same_shop() -> None:
    base = generate(80, 4)
    later = base.evolve(relist=2, seed=3)
    for old, new in later.changes.relisted.items():
        a, b = base.item(old), later.item(new)
        assert b.listing.shop == a.listing.shop and b.families == a.families
        for name in ("title", "description", "price", "unit", "category", "attributes"):
            assert getattr(b.listing, name) == getattr(a.listing, name)
        assert b.listing.url == f"/item/{new}.html" and all(new in u for u in b.listing.images)
    truth_ids = {r["listing_id"] for r in later.truth_rows()}
    assert truth_ids == {i.listing.listing_id for i in later.items}


def test_a_running_server_serves_the_evolved_mall() -> None:
    base = generate(120, 2)
    later = base.evolve(change=5, remove=4, relist=2, seed=1)
    with serve_in_thread(base) as server:
        url = server.base_url
        removed = list(later.changes.removed)
        assert all(_get(f"{url}/item/{lid}.html")[0] == 200 for lid in removed)
        server.replace(later)
        assert server.mall is later
        for lid, how in {**later.changes.removed, **later.changes.relisted_how}.items():
            status, page = _get(f"{url}/item/{lid}.html")
            if how == "404":
                assert status == 404
            else:
                assert status == 200 and DELISTED_NOTICE in page and 'data-state="offline"' in page
                assert 'class="price"' not in page and "规格参数" not in page
        for old, new in later.changes.relisted.items():
            if not later.item(new).client_rendered:
                status, page = _get(f"{url}/item/{new}.html")
                assert status == 200 and base.item(old).listing.title.replace("<", "&lt;") in page
            status, api = _get(f"{url}/api/item/{new}.json")
            assert status == 200 and json.loads(api)["title"] == base.item(old).listing.title
        lid, (_before, after) = next(iter(later.changes.changed.items()))
        status, api = _get(f"{url}/api/item/{lid}.json")
        assert status == 200 and json.loads(api)["price"] == f"{after.price:.2f}"
        # category pages and the sitemap list exactly the offered listings
        _, sitemap = _get(url + "/sitemap.xml")
        for gone in later.gone:
            assert f"/item/{gone}.html" not in sitemap
        for new in later.changes.relisted.values():
            assert f"/item/{new}.html" in sitemap
        category = later.item(next(iter(later.changes.relisted.values()))).listing.category
        listed: list[str] = []
        page_no = 1
        while True:
            _, page = _get(f"{url}/c/{category}?page={page_no}")
            listed += [part.split('"')[0] for part in page.split('class="item-link" href="/item/')[1:]]
            if 'rel="next"' not in page:
                break
            page_no += 1
        expected = [f"{i.listing.listing_id}.html" for i in later.items if i.listing.category == category]
        assert listed == expected
