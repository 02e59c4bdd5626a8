"""Generic product extraction (spiders/extraction.py): small hand-written pages for each layer, and
the accuracy on real-world product pages that other people's shops served.

The real pages live beside the repository in `../shared/pages/html/` (never copied into it); their
expected title, price and currency were written by hand from what each page shows a shopper
(`tests/data/product_pages_expected.json`). The accuracy test skips, saying so, in a lone clone.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from spiders.extraction import (
    FieldSelector,
    currency_code,
    extract_product,
    listing_from_product,
    parse_amount,
)
from sweep.contracts import listing_schema

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO.parent / "shared" / "pages"
EXPECTED = REPO / "tests" / "data" / "product_pages_expected.json"


# ---- the layers, on pages written for the test ------------------------------------------------------
JSON_LD = """<html lang="en"><head><title>Blue kettle 1.7 l | Example Shop</title>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"BreadcrumbList","itemListElement":[]},
 {"@type":"Product","name":"Blue kettle 1.7 l","sku":"K-17","brand":{"@type":"Brand","name":"Acme"},
  "image":["/img/k1.jpg",{"@type":"ImageObject","url":"https://cdn.example.com/k2.jpg"}],
  "description":"A kettle.","offers":{"@type":"Offer","price":"1,299.00","priceCurrency":"usd",
  "seller":{"@type":"Organization","name":"Acme Store"}}}]}</script></head>
<body><h1>Blue kettle 1.7 l</h1><p class="price">$1,299.00</p></body></html>"""


def test_json_ld_product_gives_every_field_and_a_valid_listing() -> None:
    p = extract_product(JSON_LD, "https://shop.example.com/p/k17")
    assert (p.title, p.price, p.currency) == ("Blue kettle 1.7 l", 1299.0, "USD")
    assert p.images == ["https://shop.example.com/img/k1.jpg", "https://cdn.example.com/k2.jpg"]
    assert p.attributes["brand"] == "Acme" and p.attributes["sku"] == "K-17"
    assert p.shop["name"] == "Acme Store"
    assert p.sources["price"] == "json-ld" and p.is_product
    listing = listing_from_product(p, url="https://shop.example.com/p/k17", crawled_at="2026-01-01T00:00:00Z")
    assert listing["platform"] == "shop.example.com" and listing["listing_id"] == "K-17"
    from jsonschema import Draft202012Validator

    assert list(Draft202012Validator(listing_schema()).iter_errors(listing)) == []


def test_microdata_and_opengraph_layers() -> None:
    micro = """<html><body><div itemscope itemtype="https://schema.org/Product">
    <h1 itemprop="name">Gartenschlauch 20 m</h1><div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
    <meta itemprop="price" content="24.95"><meta itemprop="priceCurrency" content="EUR"></div></div></body></html>"""
    p = extract_product(micro, "https://garten.example.de/x")
    assert (p.title, p.price, p.currency, p.sources["price"]) == ("Gartenschlauch 20 m", 24.95, "EUR", "microdata")
    og = """<html><head><meta property="og:type" content="product"><meta property="og:title" content="Tea cup">
    <meta property="og:image" content="/c.jpg"><meta property="product:price:amount" content="12,50">
    <meta property="product:price:currency" content="EUR"></head><body></body></html>"""
    p = extract_product(og, "https://cups.example.fr/tea")
    assert (p.title, p.price, p.currency, p.images) == ("Tea cup", 12.5, "EUR", ["https://cups.example.fr/c.jpg"])
    assert p.sources["price"] == "opengraph" and p.is_product


def test_rdfa_product() -> None:
    page = """<html><head><title>Lampe</title></head><body vocab="https://schema.org/">
    <div typeof="Product"><h1 property="name">Lampe Atelier</h1><img property="image" src="/l.jpg">
    <div property="offers" typeof="Offer"><span property="price" content="39.90">39,90 €</span>
    <meta property="priceCurrency" content="EUR"><div property="seller" typeof="Organization">
    <span property="name">Atelier SARL</span></div></div></div></body></html>"""
    p = extract_product(page, "https://lampes.example.fr/p")
    assert (p.title, p.price, p.currency, p.sources["price"]) == ("Lampe Atelier", 39.9, "EUR", "rdfa")
    assert p.images == ["https://lampes.example.fr/l.jpg"] and p.shop == {"name": "Atelier SARL"}


def test_visible_price_skips_old_struck_shipping_and_instalment_prices() -> None:
    page = """<html lang="zh-TW"><head><title>鵝肉鬆 250g｜某商店街</title></head><body>
    <div class="side">消費滿額享$590起 加購</div>
    <h1>鵝肉鬆 250g</h1>
    <div>建議售價 $420 元</div><s>$400</s>
    <div>3 期 0 利率 每期 $ 98</div>
    <div>一次付清特價 <b>7 折</b> <span>294</span><span> 元 </span> 適用折價券</div>
    <button>放入購物車</button></body></html>"""
    p = extract_product(page, "https://shop.example.tw/p/1")
    assert (p.title, p.price, p.currency) == ("鵝肉鬆 250g", 294.0, "TWD")
    assert p.sources["price"] == "page" and p.is_product


def test_profile_selectors_fill_what_the_page_does_not_mark_up_and_can_come_first() -> None:
    page = """<html><body><div class="t">Hand soap</div><span class="p">¥ 9.90</span>
    <img class="g" src="/a.jpg"><img class="g" src="/b.jpg"><dl><dt>产地</dt><dd class="origin">浙江</dd></dl>
    <a class="shop" href="/s/7">Soap Shop</a>
    <script type="application/ld+json">{"@type":"Product","name":"Wrong name"}</script></body></html>"""
    selectors = {
        "title": FieldSelector(css=".t"),
        "price": FieldSelector(css=".p"),
        "images": FieldSelector(css="img.g", attr="src", all=True),
        "attributes.产地": FieldSelector(xpath="//dd[@class='origin']"),
        "shop.name": FieldSelector(css="a.shop"),
        "shop.url": FieldSelector(css="a.shop", attr="href"),
    }
    after = extract_product(page, "https://soap.example.cn/p", selectors=selectors)
    assert after.title == "Wrong name" and after.price == 9.9  # structured data first, selectors fill the gaps
    first = extract_product(page, "https://soap.example.cn/p", selectors=selectors, prefer_selectors=True)
    assert (first.title, first.price, first.currency) == ("Hand soap", 9.9, "CNY")
    assert first.images == ["https://soap.example.cn/a.jpg", "https://soap.example.cn/b.jpg"]
    assert first.attributes["产地"] == "浙江"
    assert first.shop == {"name": "Soap Shop", "url": "https://soap.example.cn/s/7"}


def test_a_page_without_a_product_is_not_taken_for_one() -> None:
    page = """<html><head><title>About us - Example</title></head><body><h1>About us</h1>
    <p>Founded 1999. Free shipping over $50.</p></body></html>"""
    assert not extract_product(page, "https://example.com/about").is_product


def test_hostile_text_comes_out_as_plain_single_line_text() -> None:
    page = """<html><head><script type="application/ld+json">{"@type":"Product",
    "name":"Evil\\u001b[31m <b>kettle</b>\\u202e\\n name","offers":{"price":"5","priceCurrency":"GBP"}}</script>
    </head><body></body></html>"""
    p = extract_product(page, "https://x.example/p")
    assert p.title == "Evil[31m <b>kettle</b> name"  # the caller escapes markup; control characters are gone


@pytest.mark.parametrize(
    ("symbol", "lang", "host", "code"),
    [
        ("$", "zh-TW", None, "TWD"),
        ("$", "en", "shop.example.com", "USD"),
        ("$", None, "www.bestbuy.ca", "CAD"),
        ("¥", "zh-CN", None, "CNY"),
        ("元", None, "i3fresh.tw", "TWD"),
        ("тг", "ru", None, "KZT"),
        ("zł", "pl", None, "PLN"),
        ("Lei", "ro", None, "RON"),
        ("US $", "en", None, "USD"),
        ("eur", None, None, "EUR"),
    ],
)
def test_currency_signs_are_read_in_the_pages_language_and_country(symbol, lang, host, code) -> None:
    assert currency_code(symbol, lang=lang, host=host) == code


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("1,299.00", 1299.0), ("1.299,00", 1299.0), ("49.9", 49.9), (17, 17.0), ("", None), ("n/a", None)],
)
def test_structured_amounts(raw, amount) -> None:
    assert parse_amount(raw) == amount


# ---- real-world pages ------------------------------------------------------------------------------
def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


@pytest.mark.skipif(
    not (PAGES / "html").is_dir(),
    reason=f"the real-world product pages are not beside this clone ({PAGES}/html is absent)",
)
def test_accuracy_on_real_world_product_pages(capsys) -> None:
    expected = {k: v for k, v in json.loads(EXPECTED.read_text(encoding="utf-8")).items() if not k.startswith("_")}
    sources = {}
    for line in (PAGES / "sources.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc = json.loads(line)
            sources[doc["file"]] = doc
    assert set(expected) == {p.name for p in (PAGES / "html").glob("*.html")}
    rows = []
    hits = {"title": 0, "price": 0, "currency": 0, "images": 0, "product": 0}
    priced = 0
    for name, want in sorted(expected.items()):
        src = sources[name]
        got = extract_product(
            (PAGES / "html" / name).read_bytes(), src.get("original_url") or None, encoding=src.get("charset")
        )
        titles = {_fold(t) for t in [want["title"], *want.get("titles_also", [])]}
        ok_title = got.title is not None and _fold(got.title) in titles
        hits["title"] += ok_title
        first_image = (got.images[0] if got.images else "").lower()
        ok_image = any(token.lower() in first_image for token in want["image"])
        hits["images"] += ok_image
        hits["product"] += got.is_product  # what product_pages needs to emit a listing
        mark_price = mark_currency = "-"
        if want["price"] is not None:
            priced += 1
            ok_price = got.price is not None and abs(got.price - want["price"]) < 0.005
            ok_currency = got.currency == want["currency"]
            hits["price"] += ok_price
            hits["currency"] += ok_currency
            mark_price, mark_currency = ("ok" if ok_price else "MISS"), ("ok" if ok_currency else "MISS")
        rows.append(
            f"{name} title={'ok' if ok_title else 'MISS'} price={mark_price} currency={mark_currency} "
            f"image={'ok' if ok_image else 'MISS'} got={got.price} {got.currency} via {got.sources.get('price')}"
        )
    pages = len(expected)
    table = [
        "field     correct  of  accuracy",
        f"title     {hits['title']:7d} {pages:3d}  {hits['title'] / pages:.3f}",
        f"price     {hits['price']:7d} {priced:3d}  {hits['price'] / priced:.3f}   (pages that show a price)",
        f"currency  {hits['currency']:7d} {priced:3d}  {hits['currency'] / priced:.3f}   (pages that show a price)",
        f"images    {hits['images']:7d} {pages:3d}  {hits['images'] / pages:.3f}   (first image: the product's)",
        f"product   {hits['product']:7d} {pages:3d}  {hits['product'] / pages:.3f}   (taken for a product page)",
    ]
    with capsys.disabled():
        print("\n" + "\n".join([*rows, "", *table]))
    assert hits["title"] / pages >= 0.95, table
    assert hits["price"] / priced >= 0.90, table
    assert hits["product"] / pages >= 0.95, table
