"""The demo mall is test ground truth: it must be deterministic, cover every family, and serve what
it claims (robots, sitemap, client-rendered shells that really hide the content)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from demomall.generator import CATEGORIES, PLATFORM, generate
from demomall.server import Site, run_in_thread
from demomall.uscc import is_valid_uscc, make_uscc
from sweep.models import FAMILIES, Listing


def test_same_seed_same_mall_different_seed_different() -> None:
    a, b, c = generate(120, 7), generate(120, 7), generate(120, 8)
    assert [i.listing for i in a.items] == [i.listing for i in b.items]
    assert a.truth_rows() == b.truth_rows()
    assert [i.client_rendered for i in a.items] == [i.client_rendered for i in b.items]
    assert Site(a).routes == Site(b).routes
    assert [i.listing for i in a.items] != [i.listing for i in c.items]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 42])
def test_every_family_present_in_a_50_listing_mall(seed: int) -> None:
    mall = generate(50, seed)
    seen = {f for item in mall.items for f in item.families}
    assert seen == set(FAMILIES)


def test_mix_is_mostly_clean_and_ids_are_unique() -> None:
    mall = generate(2000, 5)
    clean = sum(1 for item in mall.items if not item.families) / len(mall.items)
    assert 0.5 <= clean <= 0.7
    ids = [item.listing.listing_id for item in mall.items]
    assert len(set(ids)) == len(ids) == 2000
    assert all(i.startswith("DM") and len(i) == 8 for i in ids)
    assert {item.listing.category for item in mall.items} == set(CATEGORIES)
    shares = sum(item.client_rendered for item in mall.items) / len(mall.items)
    assert 0.06 <= shares <= 0.14


def test_truth_rows_and_listing_files(tmp_path) -> None:
    mall = generate(60, 3)
    rows = mall.truth_rows()
    assert rows[0].keys() == {"platform", "listing_id", "families"}
    assert all(r["platform"] == PLATFORM and r["families"] == sorted(r["families"]) for r in rows)
    truth = mall.write_truth(tmp_path / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in truth] == rows
    lines = mall.write_listings(tmp_path / "l.jsonl", "http://h:1").read_text(encoding="utf-8").splitlines()
    listings = [Listing.model_validate_json(line) for line in lines]
    assert listings[0].url == f"http://h:1/item/{listings[0].listing_id}.html"
    assert listings[0].shop and listings[0].shop.url and listings[0].shop.url.startswith("http://h:1/shop/")


def test_uscc_check_chars() -> None:
    # published codes: the GB 32100 worked example and Xiaomi's (小米科技有限责任公司)
    assert is_valid_uscc("91350100M000100Y43") and is_valid_uscc("91110108551385082Q")
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc(None) and not is_valid_uscc("")
    assert make_uscc("110108", "55138508") == "91110108551385082Q"
    good = make_uscc("640521", "12345678")
    bad = make_uscc("640521", "12345678", valid=False)
    assert good == "91640521123456788T"  # worked by hand: org check 8 (GB 11714), overall T (GB 32100)
    assert is_valid_uscc(good) and not is_valid_uscc(bad) and good[:17] == bad[:17]
    for shop in generate(300, 11).shops:
        licence = shop.shop.licence_no
        if "shop.licence_missing" in shop.families:
            assert licence is None
        elif "shop.licence_invalid" in shop.families:
            assert licence and len(licence) == 18 and not is_valid_uscc(licence)
        else:
            assert is_valid_uscc(licence)


def test_shop_families_apply_to_every_listing_of_the_shop() -> None:
    mall = generate(300, 4)
    for item in mall.items:
        shop = mall.shop(item.listing.shop.shop_id)  # type: ignore[union-attr]
        assert shop.families <= item.families


def test_permits_follow_shop_kind() -> None:
    mall = generate(300, 9)
    for item in mall.items:
        fams = item.families
        permits = {p.type for p in item.listing.shop.permits}  # type: ignore[union-attr]
        if "chem.unlicensed" in fams:
            assert "危险化学品经营许可证" not in permits
        if "food.sanwu" in fams:
            attrs = item.listing.attributes
            assert not {"生产许可证编号", "厂名", "厂址"} <= attrs.keys()


def test_evasive_spellings_exist() -> None:
    titles = [i.listing.title for i in generate(3000, 1).items if "chem.toxic" in i.families]
    assert any("143-33-9" in t or "151-50-8" in t or "1327-53-3" in t for t in titles)
    assert any(t.startswith(("NaCN", "KCN", "As2O3", "HgCl2")) for t in titles)
    assert any(c in "".join(titles) for c in "鈉鉀強")
    assert any("砒霜" in t or "升汞" in t for t in titles)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, object]]:
    mall = generate(80, 2, malformed=2)
    url, stop = run_in_thread(mall)
    yield url, mall
    stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_robots_and_sitemap(served) -> None:
    url, mall = served
    status, robots = _get(url + "/robots.txt")
    assert status == 200
    assert "Disallow: /cart" in robots and "Disallow: /admin" in robots
    assert f"Sitemap: {url}/sitemap.xml" in robots
    status, sitemap = _get(url + "/sitemap.xml")
    assert status == 200 and sitemap.startswith("<?xml")
    for item in mall.items:
        assert f"{url}/item/{item.listing.listing_id}.html" in sitemap
    assert _get(url + "/cart")[0] == 403
    assert _get(url + "/nope")[0] == 404


def test_client_rendered_shell_lacks_title(served) -> None:
    url, mall = served
    js = next(i for i in mall.items if i.client_rendered)
    static = next(i for i in mall.items if not i.client_rendered)
    _, shell = _get(f"{url}/item/{js.listing.listing_id}.html")
    assert js.listing.title not in shell and "item-title" not in shell and "规格参数" not in shell
    assert 'data-render="client"' in shell
    _, api = _get(f"{url}/api/item/{js.listing.listing_id}.json")
    assert json.loads(api)["title"] == js.listing.title
    _, page = _get(f"{url}/item/{static.listing.listing_id}.html")
    assert "item-title" in page and "规格参数" in page


def test_category_pagination_and_escaping(served) -> None:
    url, mall = served
    n_goji = sum(1 for i in mall.items if i.listing.category == "food/goji")
    n_goji += sum(1 for m in mall.malformed if m.category == "food/goji")
    seen = 0
    page_no = 1
    while True:
        status, page = _get(f"{url}/c/food/goji?page={page_no}")
        assert status == 200
        cards = page.count('class="item-card"')
        assert cards <= 20
        seen += cards
        if 'rel="next"' not in page:
            break
        page_no += 1
    assert seen == n_goji and page_no == max(1, -(-n_goji // 20))
    assert _get(url + "/c/food/goji")[1] == _get(url + "/c/food/goji?page=1")[1]
    status, search = _get(url + "/search?q=%3Cscript%3E")
    assert status == 200 and "<script>" not in search and "&lt;script&gt;" in search
