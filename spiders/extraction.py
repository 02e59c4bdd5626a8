"""What a product page says about its product, from the page alone (no Scrapy, no network).

Shops describe their products in several layers, and this module reads them in order of trust:

1. schema.org `Product` data (JSON-LD, microdata, RDFa), read with extruct;
2. Open Graph product tags (`og:title`, `og:image`, `product:price:amount`, `og:price:currency` ...);
3. a site profile's CSS/XPath selectors (`FieldSelector`), for sites whose markup says nothing else
   (or, with `prefer_selectors`, before everything else for sites whose structured data is wrong);
4. the page as a shopper sees it: the product's name is the visible heading that the page's `<title>`
   repeats, its price the first price shown after that heading that is not a struck-out, "was",
   shipping or instalment price. Prices are parsed with price-parser, which knows the world's
   thousands and decimal separators.

`extract_product(html, url)` returns a `Product` telling, per field, which layer answered
(`Product.sources`), and whether the page carries a product at all (`Product.is_product`: structured
product data, an Open Graph product, a profile's title, or a visible heading with a price and a buy
button). `listing_from_product` turns it into a listing document of `sweep/contracts/listing.schema.json`.

Crawled pages are hostile input: every value is plain text (never markup) and the caller's listing
validation cuts oversized ones; nothing here executes or fetches anything the page names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from html import unescape as html_unescape
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from price_parser import Price

logger = logging.getLogger(__name__)

LISTING_FIELDS = ("title", "price", "currency", "description", "category", "unit", "images", "listing_id")
"""Listing fields a profile selector may fill (plus `attributes.NAME` and `shop.FIELD`)."""
SHOP_FIELDS = ("shop_id", "name", "url", "licence_no", "licence_company", "region")

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(value: Any) -> str | None:
    """One line of plain text: control and direction characters out, whitespace collapsed."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = next((v for v in value if v not in (None, "")), None)
        if value is None:
            return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("@value") or value.get("url")
        if not isinstance(value, str):
            return None
    text = _SPACE.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFC", str(value)))).strip()
    return text or None


def _fold(text: str) -> str:
    """Comparable form of a name: compatibility forms (full-width), case and spacing folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


# ---- selectors -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldSelector:
    """Where one field is on a site's pages: a CSS or an XPath expression, optionally an attribute
    to read instead of the text, a regular expression whose first group (or whole match) is kept,
    and `all` for a list (images)."""

    css: str | None = None
    xpath: str | None = None
    attr: str | None = None
    regex: str | None = None
    all: bool = False
    join: str | None = None
    """Join every match with this text (a description's paragraphs) into one value."""
    raw: bool = False
    """Keep the text exactly as the page has it (spacing, invisible characters): evidence."""

    def value(self, root: Any) -> str | None:
        """The field's one value: the first match, or all matches joined."""
        found = self.values(root)
        if not found:
            return None
        return self.join.join(found) if self.join is not None else found[0]

    def values(self, root: Any) -> list[str]:
        """What the selector finds in a parsel `Selector` of the page, cleaned (empty ones dropped)."""
        if self.css:
            nodes = root.css(self.css)
        elif self.xpath:
            nodes = root.xpath(self.xpath)
        else:
            return []
        out: list[str] = []
        for node in nodes:
            raw = node.attrib.get(self.attr) if self.attr else node.xpath("string(.)").get()
            if raw is None and not self.attr and isinstance(node.root, str):
                raw = node.root
            text = (raw if raw and raw.strip() else None) if self.raw else clean_text(raw)
            if text and self.regex:
                m = re.search(self.regex, text)
                text = clean_text(m.group(1) if m and m.groups() else (m.group(0) if m else None))
            if text:
                out.append(text)
            if out and not (self.all or self.join is not None):
                break
        return out


# ---- result --------------------------------------------------------------------------------------
@dataclass
class Product:
    """A product as one page presents it. `sources` names the layer each field came from:
    json-ld, microdata, rdfa, opengraph, selector, page (the visible heading and price)."""

    url: str | None = None
    title: str | None = None
    price: float | None = None
    currency: str | None = None
    description: str | None = None
    category: str | None = None
    unit: str | None = None
    listing_id: str | None = None
    images: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    shop: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    signals: set[str] = field(default_factory=set)
    """Why this page is taken for a product page: schema.org, opengraph, selector, page."""

    @property
    def is_product(self) -> bool:
        return bool(self.title) and bool(self.signals)

    def set(self, name: str, value: Any, source: str) -> None:
        """Fill `name` unless an earlier (more trusted) layer already did."""
        if value in (None, "", []) or getattr(self, name) not in (None, "", []):
            return
        setattr(self, name, value)
        self.sources[name] = source


# ---- prices and currencies -----------------------------------------------------------------------
_SYMBOLS = {
    "US$": "USD",
    "US $": "USD",
    "USD": "USD",
    "C$": "CAD",
    "CA$": "CAD",
    "CAD": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "NT$": "TWD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
    "€": "EUR",
    "EUR": "EUR",
    "£": "GBP",
    "GBP": "GBP",
    "₩": "KRW",
    "원": "KRW",
    "₹": "INR",
    "₽": "RUB",
    "руб": "RUB",
    "₪": "ILS",
    "₸": "KZT",
    "тг": "KZT",
    "zł": "PLN",
    "lei": "RON",
    "ر.س": "SAR",
    "円": "JPY",
    "RMB": "CNY",
}
_CODES = {
    "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CNY", "RMB", "TWD", "HKD", "JPY", "KRW", "KZT", "PLN",
    "RON", "SAR", "AED", "CHF", "SEK", "NOK", "DKK", "CZK", "HUF", "INR", "RUB", "ILS", "SGD", "BRL",
    "MXN", "TRY", "UAH",
}  # fmt: skip
_DOLLAR_BY_LANG = {"zh-tw": "TWD", "zh-hk": "HKD", "en-ca": "CAD", "fr-ca": "CAD", "en-au": "AUD", "en-nz": "NZD"}
_DOLLAR_BY_TLD = {"tw": "TWD", "hk": "HKD", "ca": "CAD", "au": "AUD", "nz": "NZD", "sg": "SGD"}
_YUAN_BY_LANG = {"zh-tw": "TWD", "zh-hant": "TWD", "zh-hk": "HKD", "ja": "JPY"}


def currency_code(symbol: str | None, *, lang: str | None = None, host: str | None = None) -> str | None:
    """ISO 4217 code of what a page writes next to a price ($, ¥, 元, NT$, zł, тг, EUR ...). A bare
    dollar, yen or yuan sign is read in the page's language and country (zh-TW `$` is TWD, en `$`
    USD; zh-CN `¥`/`元` CNY)."""
    if not symbol:
        return None
    s = symbol.strip()
    up = s.upper()
    if up in _CODES:
        return "CNY" if up == "RMB" else up
    if s in _SYMBOLS:
        return _SYMBOLS[s]
    low = s.lower()
    if low in _SYMBOLS:
        return _SYMBOLS[low]
    lang = (lang or "").lower()
    tld = (host or "").rsplit(".", 1)[-1].lower()
    if s in ("$", "＄"):
        return _DOLLAR_BY_LANG.get(lang) or _DOLLAR_BY_TLD.get(tld) or "USD"
    if s in ("¥", "￥", "元", "圓"):
        if tld == "tw":
            return "TWD"
        for prefix, code in _YUAN_BY_LANG.items():
            if lang.startswith(prefix):
                return code
        return "CNY"
    return None


def parse_amount(value: Any) -> float | None:
    """A price amount from structured data ("1,299.00", "1.299,00", 49.9, "49.90 EUR")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    text = clean_text(value)
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    amount = Price.fromstring(text).amount_float
    return amount if amount is not None and amount >= 0 else None


_NUMBER = r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_BEFORE = (
    r"US\s?\$|C\$|CA\$|AU?\$|NZ\$|NT\$|HK\$|S\$|R\$|\$|＄|€|£|¥|￥|₩|₹|₽|₪|₸|"
    r"\b(?:USD|EUR|GBP|CAD|AUD|NZD|CNY|RMB|TWD|HKD|JPY|KRW|KZT|PLN|RON|SAR|CHF)\b"
)
_AFTER = (
    r"元|圓|円|원|€|£|zł|[Ll]ei|тг|₸|руб|₽|ر\.س|₪|"
    r"\b(?:USD|EUR|GBP|CAD|AUD|NZD|CNY|RMB|TWD|HKD|JPY|KRW|KZT|PLN|RON|SAR|CHF|NZD)\b"
)
_PRICE_IN_TEXT = re.compile(
    rf"(?P<b>{_BEFORE})\s*(?P<n1>{_NUMBER})|(?P<n2>{_NUMBER})\s*(?P<a>{_AFTER})",
)
_OLD_LABEL = re.compile(
    r"^\W*(原價|原价|建議售價|建议售价|市價|市价|定價|定价|參考價|参考价|專櫃價|专柜价|吊牌價|吊牌价|"
    r"uvp|rrp|was\b|list\b|list price|regular|reg\.|msrp|compare|statt|ersparnis|save|you save|"
    r"typical|avant|antes|было|старая|前|省)",
    re.IGNORECASE,
)
_NOISE = re.compile(
    r"(運費|运费|免運|免运|運送|配送|宅配|shipping|delivery|versand|livraison|envío|envio|доставк|"
    r"每期|分期|期 ?0 ?利率|/ ?month|/ ?mo\b|mtl\.|monthly|per month|raten|"
    r"積點|积分|點數|points|reward|coupon|優惠券|优惠券|折價券|折抵|滿\s*\$?\d|满\s*\d|"
    r"滿額|满额|加購|加购|\bover\b|under\b|& ?under|gifts|bonus|бонус|cashback|回饋|回馈)",
    re.IGNORECASE,
)
_OLD_CLASS = re.compile(r"(old|was|orig|before|list|regular|strike|through|msrp|rrp|uvp|cross|previous|compare)", re.I)
_PRICE_CLASS = re.compile(r"price|preis|prix|precio|preco|cena|цена|jiage|价|價", re.I)
_STRUCK = {"del", "s", "strike"}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head", "title", "select", "option", "textarea"}
_BUY = re.compile(
    r"(add to (your )?(cart|bag|basket|trolley)|buy now|buy it now|in den warenkorb|ajouter au panier|"
    r"añadir al (carro|carrito)|adicionar ao carrinho|dodaj do koszyka|adaug[aă] [iî]n co[sș]|купить|"
    r"в корзину|加入購物車|加入购物车|立即購買|立即购买|立刻購買|馬上購買|马上购买|放入購物車|我要買|我要購買|我要购买|"
    r"장바구니|바로구매|구매하기|أضف إلى|הוסף לסל|קנה עכשיו|add to trolley|sepete ekle)",
    re.IGNORECASE,
)


@dataclass
class _PriceSeen:
    order: int
    amount: float
    symbol: str | None


def _price_of_text(text: str) -> tuple[float, str | None] | None:
    """The first price written in `text` ("$ 99", "294 元", "€ 119,01", "44 890 тг."), by price-parser."""
    m = _PRICE_IN_TEXT.search(text)
    if not m:
        return None
    number = m.group("n1") or m.group("n2")
    symbol = m.group("b") or m.group("a")
    amount = Price.fromstring(number.replace("\u00a0", " ").replace("\u202f", " ")).amount_float
    if amount is None:
        return None
    return amount, symbol


_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "table", "tbody", "td", "th", "tr", "ul",
}  # fmt: skip


def _element_text(el: Any) -> str:
    """The text a browser shows for an element: block children are separated by a space
    (`<div>DJUNGELSKOG</div><div>Soft toy</div>` reads "DJUNGELSKOG Soft toy"), inline ones are not."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node.tag, str) or node.tag in _SKIP_TAGS:
            if node.tail and node is not el:
                parts.append(node.tail)
            return
        block = node.tag in _BLOCK_TAGS
        if block:
            parts.append(" ")
        if node.text:
            parts.append(node.text)
        for child in node:
            walk(child)
        if block:
            parts.append(" ")
        if node.tail and node is not el:
            parts.append(node.tail)

    walk(el)
    return _SPACE.sub(" ", "".join(parts)).strip()


# ---- the parts of a page -------------------------------------------------------------------------
def decode_html(body: bytes | str, *, encoding: str | None = None, content_type: str | None = None) -> str:
    """Text of a page: as given, or decoded by the HTTP charset, the page's BOM or `<meta charset>`
    (w3lib's browser-like rules), `encoding` standing in for the HTTP header."""
    if isinstance(body, str):
        return body
    from w3lib.encoding import html_to_unicode

    header = content_type or (f"text/html; charset={encoding}" if encoding else None)
    _, text = html_to_unicode(header, body)
    return text


def _parse(html: str) -> Any:
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html><body></body></html>")


_RDFA_TYPE = re.compile(r"\stypeof\s*=", re.IGNORECASE)


def _structured(html: str, url: str | None) -> dict[str, list[dict[str, Any]]]:
    """extruct's uniform output (JSON-LD, microdata, RDFa, Open Graph); a broken block is skipped."""
    import extruct

    try:
        return extruct.extract(
            html,
            base_url=url,
            # RDFa parsing is most of extruct's cost (pyRdfa walks every node): only where a node has a type
            syntaxes=["json-ld", "microdata", "opengraph", *(["rdfa"] if _RDFA_TYPE.search(html) else [])],
            uniform=True,
            # a syntax that fails on this page (broken JSON-LD is common) is left out, the others kept;
            # "log" would log each at ERROR level, and a crawl with errors is reported as failed
            errors="ignore",
        )
    except Exception as exc:  # a page extruct cannot parse at all still has its visible layer
        logger.warning("structured data unreadable url=%s: %s", url, exc)
        return {}


def _types(node: Mapping[str, Any]) -> set[str]:
    t = node.get("@type")
    values = t if isinstance(t, list) else [t]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    """Every dict in a JSON-LD / microdata tree (@graph, nested offers, itemListElement ...)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


_PRODUCT_TYPES = {"Product", "ProductGroup", "IndividualProduct", "ProductModel", "SomeProducts", "Vehicle", "Book"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _offer_price(offers: Any) -> tuple[float | None, str | None]:
    """(price, currency) of the first offer that has one: price, lowPrice (a range's "from") or a
    priceSpecification's price."""
    for offer in _as_list(offers):
        if not isinstance(offer, dict):
            continue
        for spec in [offer, *_as_list(offer.get("priceSpecification"))]:
            if not isinstance(spec, dict):
                continue
            amount = parse_amount(spec.get("price"))
            if amount is None:
                amount = parse_amount(spec.get("lowPrice"))
            if amount is not None:
                currency = clean_text(spec.get("priceCurrency") or offer.get("priceCurrency"))
                return amount, currency.upper() if currency else None
        nested = offer.get("offers")
        if nested:
            amount, currency = _offer_price(nested)
            if amount is not None:
                return amount, currency
    return None, None


def _images(value: Any, base: str | None) -> list[str]:
    out: list[str] = []
    for v in _as_list(value):
        if isinstance(v, dict):
            v = v.get("url") or v.get("contentUrl") or v.get("@id")
        text = clean_text(html_unescape(v) if isinstance(v, str) else v)
        if text and not text.startswith("data:"):
            absolute = urljoin(base or "https:", text) if text.startswith("//") else urljoin(base or "", text)
            if absolute not in out:
                out.append(absolute)
    return out


# ---- the extractor -------------------------------------------------------------------------------
@dataclass
class _Page:
    html: str
    url: str | None
    root: Any
    lang: str | None
    host: str | None
    heading_names: list[str]


def _page(html: str, url: str | None) -> _Page:
    root = _parse(html)
    lang = clean_text(root.get("lang")) or clean_text(
        next(iter(root.xpath("//meta[@http-equiv='content-language']/@content")), None)
    )
    host = urlsplit(url).hostname if url else None
    headings = [t for t in (clean_text(_element_text(h)) for h in root.iter("h1")) if t]
    return _Page(html, url, root, lang, host, headings)


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, _fold(a), _fold(b)).ratio()


def _pick_product(nodes: list[tuple[str, dict[str, Any]]], hints: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The page's own product among several (variants, "customers also bought"): the one whose name
    is closest to the page's heading or title, then the first with a price, then the first."""
    if not nodes:
        return None

    def score(item: tuple[int, tuple[str, dict[str, Any]]]) -> tuple[float, int, int]:
        index, (_, node) = item
        name = clean_text(node.get("name")) or ""
        closeness = max((_similarity(name, h) for h in hints), default=0.0) if name else 0.0
        has_price = _offer_price(node.get("offers"))[0] is not None
        return (round(closeness, 1), int(has_price), -index)

    return max(enumerate(nodes), key=score)[1]


def _local(key: str) -> str:
    """`https://schema.org/price` -> `price` (RDFa gives full property IRIs)."""
    return key if key.startswith("@") else re.split(r"[/#:]", key)[-1]


def _rdfa_nodes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """extruct's RDFa output (expanded: full IRIs, `{"@value": ...}` lists, `@id` references) as plain
    nested dicts like JSON-LD's, references resolved (two levels: product -> offer -> seller)."""
    by_id = {item.get("@id"): item for item in items if isinstance(item, dict) and item.get("@id")}

    def plain(node: dict[str, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "@id":
                continue
            values = []
            for v in _as_list(value):
                if isinstance(v, dict) and "@value" in v:
                    values.append(v["@value"])
                elif isinstance(v, dict) and "@id" in v:
                    target = by_id.get(v["@id"])
                    values.append(plain(target, depth + 1) if target is not None and depth < 3 else v["@id"])
                else:
                    values.append(v)
            out[_local(key)] = values[0] if len(values) == 1 else values
        return out

    referenced = {
        v.get("@id")
        for item in by_id.values()
        for value in item.values()
        for v in _as_list(value)
        if isinstance(v, dict)
    }
    return [plain(item, 0) for item in items if isinstance(item, dict) and item.get("@id") not in referenced]


def _schema_org(product: Product, data: dict[str, list[dict[str, Any]]], page: _Page) -> None:
    nodes: list[tuple[str, dict[str, Any]]] = []
    offers_only: list[tuple[str, dict[str, Any]]] = []
    data = {**data, "rdfa": _rdfa_nodes(data.get("rdfa", []))}
    for syntax in ("json-ld", "microdata", "rdfa"):
        for top in data.get(syntax, []):
            for node in _walk(top):
                types = _types(node)
                if types & _PRODUCT_TYPES:
                    nodes.append((syntax, node))
                elif types & {"Offer", "AggregateOffer"} and top is node:
                    offers_only.append((syntax, node))
    hints = page.heading_names + [t for t in [_og(data, "og:title"), _title_tag(page)] if t]
    chosen = _pick_product(nodes, hints)
    if chosen is None:
        if offers_only:  # a page that marks up only its offer (price) and not the product
            syntax, offer = offers_only[0]
            amount, currency = _offer_price(offer)
            product.set("price", amount, syntax)
            product.set("currency", currency, syntax)
            if amount is not None:
                product.signals.add("schema.org")
        return
    syntax, node = chosen
    product.signals.add("schema.org")
    product.set("title", clean_text(node.get("name")), syntax)
    amount, currency = _offer_price(node.get("offers"))
    if amount is None and "ProductGroup" in _types(node):
        for variant in _as_list(node.get("hasVariant")):
            if isinstance(variant, dict):
                amount, currency = _offer_price(variant.get("offers"))
                if amount is not None:
                    break
    product.set("price", amount, syntax)
    product.set("currency", currency, syntax)
    product.set("description", clean_text(node.get("description")), syntax)
    product.set("category", clean_text(node.get("category")), syntax)
    product.set("images", _images(node.get("image"), page.url), syntax)
    product.set("listing_id", clean_text(node.get("sku") or node.get("productID")), syntax)
    brand = node.get("brand")
    for key, value in (
        ("brand", brand.get("name") if isinstance(brand, dict) else brand),
        ("sku", node.get("sku")),
        ("gtin", node.get("gtin13") or node.get("gtin") or node.get("gtin12") or node.get("gtin8")),
        ("mpn", node.get("mpn")),
        ("model", node.get("model") if not isinstance(node.get("model"), dict) else None),
        ("color", node.get("color")),
    ):
        text = clean_text(value)
        if text:
            product.attributes.setdefault(key, text)
    for prop in _as_list(node.get("additionalProperty")):
        if isinstance(prop, dict):
            k, v = clean_text(prop.get("name")), clean_text(prop.get("value"))
            if k and v:
                product.attributes.setdefault(k, v)
    for offer in _as_list(node.get("offers")):
        seller = offer.get("seller") if isinstance(offer, dict) else None
        if isinstance(seller, dict) and clean_text(seller.get("name")):
            product.shop.setdefault("name", clean_text(seller.get("name")))
            if clean_text(seller.get("url")):
                product.shop.setdefault("url", urljoin(page.url or "", clean_text(seller.get("url")) or ""))
            break


def _og(data: dict[str, list[dict[str, Any]]], key: str) -> str | None:
    for block in data.get("opengraph", []):
        if key in block:
            return clean_text(block[key])
    return None


def _opengraph(product: Product, data: dict[str, list[dict[str, Any]]], page: _Page) -> None:
    og_type = (_og(data, "og:type") or "").lower()
    amount = None
    for key in ("product:sale_price:amount", "product:price:amount", "og:price:amount", "og:price"):
        amount = parse_amount(_og(data, key))
        if amount is not None:
            break
    currency = None
    for key in ("product:sale_price:currency", "product:price:currency", "og:price:currency"):
        currency = _og(data, key)
        if currency:
            break
    if og_type.startswith("product") or og_type.endswith("product") or amount is not None:
        product.signals.add("opengraph")
    product.set("title", _strip_site(_og(data, "og:title"), page, _og(data, "og:site_name")), "opengraph")
    product.set("price", amount, "opengraph")
    product.set("currency", currency.upper() if currency else None, "opengraph")
    product.set("description", _og(data, "og:description"), "opengraph")
    images = _images([b.get("og:image") for b in data.get("opengraph", []) if b.get("og:image")], page.url)
    product.set("images", images, "opengraph")


def _title_tag(page: _Page) -> str | None:
    el = page.root.find(".//title")
    return clean_text(el.text_content()) if el is not None else None


_SEPARATORS = re.compile(r"\s+[|\-–—:]\s+|\s*[｜|]\s*|\s+::\s+")


def _strip_site(title: str | None, page: _Page, site_name: str | None = None) -> str | None:
    """A title without the shop's name around it ("Buy X | Shop", "Shop: X"), when a heading of the
    page confirms the shorter name."""
    if not title:
        return None
    folded_headings = [_fold(h) for h in page.heading_names]
    if _fold(title) in folded_headings:
        return title
    parts = [p for p in _SEPARATORS.split(title) if p.strip()]
    for part in parts:
        if _fold(part) in folded_headings:
            return part.strip()
    if site_name and len(parts) > 1:
        kept = [p for p in parts if _fold(site_name) not in _fold(p)]
        if kept and len(kept) < len(parts):
            return " - ".join(k.strip() for k in kept)
    return title


def _selectors(product: Product, page: _Page, selectors: Mapping[str, FieldSelector]) -> None:
    from parsel import Selector

    root = Selector(text=page.html, base_url=page.url or "")
    found_title = False
    for name, sel in selectors.items():
        values = sel.values(root)
        if not values:
            continue
        if sel.join is not None:
            values = [sel.join.join(values)]
        if name == "images":
            product.set("images", _images(values, page.url), "selector")
        elif name == "price":
            parsed = Price.fromstring(values[0])
            product.set("price", parsed.amount_float, "selector")
            if parsed.currency:
                product.set("currency", currency_code(parsed.currency, lang=page.lang, host=page.host), "selector")
        elif name in LISTING_FIELDS:
            product.set(name, values[0], "selector")
            found_title = found_title or (name == "title")
        elif name.startswith("attributes."):
            product.attributes.setdefault(name.split(".", 1)[1], values[0])
        elif name.startswith("shop."):
            key = name.split(".", 1)[1]
            if key == "url":
                product.shop.setdefault("url", urljoin(page.url or "", values[0]))
            elif key in SHOP_FIELDS:
                product.shop.setdefault(key, values[0])
    if found_title:
        product.signals.add("selector")


def _closeness(text: str, references: list[str]) -> float:
    """1 when one contains the other, else the similarity ratio, to the closest reference."""
    folded = _fold(text)
    best = 0.0
    for ref in references:
        r = _fold(ref)
        if folded and r and (folded in r or r in folded):
            return 1.0
        best = max(best, SequenceMatcher(None, folded, r).ratio())
    return best


def _title_core(heading: str, page: _Page) -> str:
    """A heading without the chrome around it ("Details about X", "X Код: 01245"): the part of the
    `<title>` that the heading contains, when it is most of the heading."""
    title = _title_tag(page)
    if not title:
        return heading
    folded = _fold(heading)
    for part in sorted((p.strip() for p in _SEPARATORS.split(title) if p.strip()), key=len, reverse=True):
        fp = _fold(part)
        if fp != folded and fp in folded and len(fp) >= 0.6 * len(folded):
            rest = folded.replace(fp, "", 1).strip()
            if rest[:1] not in "-–—|,:/(":  # "X - Black" is a name with its colour, not chrome
                return part
    return heading


def _visible_heading(page: _Page, known: str | None, og_title: str | None) -> tuple[str | None, Any]:
    """The product's visible name and its element. First the `<h1>` closest to what the page calls
    the product elsewhere (structured name, Open Graph title, `<title>`), without the chrome around
    it; else the longest title- or name-classed element that the `<title>` contains (shops that
    put the product's name in a `<span id="productTitle">`)."""
    references = [r for r in (known, og_title, _title_tag(page)) if r]
    if not references:
        return (page.heading_names[0], None) if page.heading_names else (None, None)
    scored = []
    for order, h in enumerate(page.root.iter("h1")):
        text = clean_text(_element_text(h))
        if text and len(text) <= 400:
            scored.append((_closeness(text, references), -order, text, h))
    if scored:
        score, _, text, el = max(scored)
        if score >= 0.5:
            return _title_core(text, page), el
    folded_refs = [_fold(r) for r in references]
    best: tuple[int, str, Any] | None = None
    for el in page.root.iter():
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        hint = f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}".lower()
        if el.tag != "h2" and not re.search(r"title|name|heading", hint):
            continue
        text = clean_text(_element_text(el))
        if not text or len(text) < 3 or len(text) > 400:
            continue
        folded = _fold(text)
        if any(folded in r for r in folded_refs) and (best is None or len(folded) > best[0]):
            best = (len(folded), text, el)
    if best and best[0] >= 0.3 * min(len(r) for r in folded_refs):
        return best[1], best[2]
    return None, None


def _visible_price(page: _Page, after: Any) -> tuple[float, str | None] | None:
    """The first price shown after the product's heading (or anywhere, lacking one) that is not
    struck out, labelled as an old price, or a shipping, instalment or voucher amount. Candidates are
    the innermost elements whose short text is a price or whose class says price."""
    seen: list[tuple[int, Any, str]] = []
    start = -1
    for order, el in enumerate(page.root.iter()):
        if el is after:
            start = order
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        text = _element_text(el)
        if not text or len(text) > 80 or not re.search(r"\d", text):
            continue
        hint = f"{el.get('class') or ''} {el.get('id') or ''} {el.get('itemprop') or ''}"
        if _PRICE_IN_TEXT.search(text) or _PRICE_CLASS.search(hint):
            seen.append((order, el, text))
    inner = {id(el) for _, el, _ in seen}
    candidates = []
    for order, el, text in seen:
        if any(id(d) in inner for d in el.iterdescendants() if d is not el):
            continue  # an ancestor of a candidate: judge the inner one
        candidates.append((order, el, text))
    for order, el, text in candidates:
        if order < start:
            continue
        label = _label_of(el, text)
        if _struck_or_old(el) or _OLD_LABEL.search(label) or _NOISE.search(_before_price(label)):
            continue
        found = _price_of_text(text)
        if found is None:
            amount = Price.fromstring(text).amount_float
            if amount is None or amount <= 0:
                continue
            found = (amount, None)
        if found[0] <= 0:
            continue
        return found
    return None


def _struck_or_old(el: Any) -> bool:
    node, depth = el, 0
    while node is not None and depth < 4:
        if node.tag in _STRUCK:
            return True
        hint = f"{node.get('class') or ''} {node.get('id') or ''}"
        if _OLD_CLASS.search(hint) and not re.search(r"(sale|now|current|final|special|deal)", hint, re.I):
            return True
        node, depth = node.getparent(), depth + 1
    return False


def _label_of(el: Any, text: str) -> str:
    """The words before a price: its own text, or the text of its parent ending with it."""
    parent = el.getparent()
    if parent is not None:
        ptext = _element_text(parent)
        if len(ptext) <= 80:
            return ptext
    return text


def _before_price(label: str) -> str:
    """The words of a label before its first amount ("消費滿額享" of "消費滿額享$590起"): what a
    price is, is said before it; what follows ("適用折價券") is about something else."""
    m = _PRICE_IN_TEXT.search(label) or re.search(r"\d", label)
    return label[: m.start()] if m else label


def _symbol_shown_with(page: _Page, amount: float) -> str | None:
    """The currency sign the page prints beside `amount` (structured data that gives a price
    without its currency)."""
    for el in page.root.iter():
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        text = el.text or ""
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _SKIP_TAGS:
                text += " " + "".join(child.itertext())
            text += " " + (child.tail or "")
        if len(text) > 200:
            continue
        for m in _PRICE_IN_TEXT.finditer(text):
            number = m.group("n1") or m.group("n2")
            value = Price.fromstring(number.replace("\u00a0", " ").replace("\u202f", " ")).amount_float
            if value is not None and abs(value - amount) < 0.005:
                return m.group("b") or m.group("a")
    return None


_HAN = re.compile(r"[\u4e00-\u9fff]")


def _shop_facts(product: Product, page: _Page) -> None:
    """Licence facts Chinese shops print on the page: 统一社会信用代码 and the company name."""
    text = " ".join(page.root.itertext()) if len(page.html) < 3_000_000 else ""
    m = re.search(r"(统一社会信用代码|統一社會信用代碼|营业执照注册号|營業執照)[:：\s]*([0-9A-HJ-NPQRTUWXY]{18})", text)
    if m:
        product.shop.setdefault("licence_no", m.group(2))
    m = re.search(r"(企业名称|公司名称|企業名稱|公司名稱)[:：\s]*([^\s,，;；|]{4,60})", text)
    if m:
        product.shop.setdefault("licence_company", m.group(2))


def extract_product(
    html: bytes | str,
    url: str | None = None,
    *,
    encoding: str | None = None,
    selectors: Mapping[str, FieldSelector] | None = None,
    prefer_selectors: bool = False,
) -> Product:
    """Everything a page tells about its product (see the module doc for the layers and their order).

    `encoding` is the HTTP charset when the caller knows it (bytes only); `selectors` are a site
    profile's, tried after the structured layers unless `prefer_selectors`."""
    text = decode_html(html, encoding=encoding)
    page = _page(text, url)
    product = Product(url=url)
    data = _structured(text, url)
    if selectors and prefer_selectors:
        _selectors(product, page, selectors)
    _schema_org(product, data, page)
    _opengraph(product, data, page)
    if selectors and not prefer_selectors:
        _selectors(product, page, selectors)
    # the visible layer: the heading that names the product, and the price beside it
    claimed = set(selectors or ()) if prefer_selectors else set()
    """Fields a profile places itself: its selectors answer for them, not the page's look."""
    heading, heading_el = _visible_heading(page, product.title, _og(data, "og:title"))
    if heading and product.sources.get("title") != "selector" and "title" not in claimed:
        named = product.title
        priced_heading = (
            named is not None
            and _fold(named) in _fold(heading)
            and _PRICE_IN_TEXT.search(_fold(heading).replace(_fold(named), "", 1))
        )  # "Washing machine 6kg - £50 (Salford)": a name does not carry its price
        if not priced_heading and (
            named is None or product.sources.get("title") == "opengraph" or _closeness(heading, [named]) >= 0.5
        ):
            # what the shopper reads in the heading, not the markup's variant of it
            product.title = None
            product.set("title", heading, "page")
    if "title" not in claimed:
        product.set("title", _strip_site(_title_tag(page), page), "page")
    if product.price is None and "price" not in claimed:
        found = _visible_price(page, heading_el)
        if found is not None:
            product.set("price", found[0], "page")
            if found[1]:
                product.set("currency", currency_code(found[1], lang=page.lang, host=page.host), "page")
            if heading and _BUY.search(" ".join(page.root.itertext())):
                product.signals.add("page")
    if product.price is not None and not product.currency:
        # a price without its currency: the sign the page prints beside that amount, else, for a
        # page in Chinese, the listing contract's default (CNY; Taiwan's and Hong Kong's pages say $)
        symbol = _symbol_shown_with(page, product.price)
        product.set("currency", currency_code(symbol, lang=page.lang, host=page.host), "page")
        if not product.currency and ((page.lang or "").lower().startswith("zh") or _HAN.search(product.title or "")):
            product.set("currency", currency_code("¥", lang=page.lang, host=page.host), "page")
    if "images" not in claimed:
        product.set("images", _page_images(page, product.title, heading_el), "page")
    if "description" not in claimed:
        product.set("description", clean_text(_meta(page, "description")), "page")
    _shop_facts(product, page)
    return product


_NOT_A_PHOTO = re.compile(
    r"(sprite|logo|icon|pixel|blank|spacer|transparent|loading|placeholder|badge|\.gif|\.svg)", re.I
)
_IMG_ATTRS = ("data-old-hires", "data-zoom-image", "data-large", "data-src", "src")


def _page_images(page: _Page, title: str | None, heading_el: Any) -> list[str]:
    """Product photos of a page without structured images: `twitter:image` or `link rel=image_src`,
    else the pictures whose alt text names the product, else the first picture after the heading."""
    for xpath in ("//meta[@name='twitter:image']/@content", "//meta[@property='twitter:image']/@content",
                  "//link[@rel='image_src']/@href"):  # fmt: skip
        found = _images(page.root.xpath(xpath)[:1], page.url)
        if found:
            return found
    named: list[str] = []
    main: list[str] = []
    after: list[str] = []
    seen_heading = heading_el is None
    for el in page.root.iter():
        if el is heading_el:
            seen_heading = True
        if el.tag != "img":
            continue
        src = next((el.get(a) for a in _IMG_ATTRS if el.get(a) and not el.get(a).startswith("data:")), None)
        alt = clean_text(el.get("alt")) or ""
        if not src or _NOT_A_PHOTO.search(src) or _NOT_A_PHOTO.search(alt) or _small(el):
            continue
        hint = f"{el.get('id') or ''} {el.get('class') or ''}"
        if title and alt and _closeness(alt, [title]) >= 0.6:
            named.append(src)
        elif _MAIN_PHOTO.search(hint):
            main.append(src)
        elif seen_heading and not after:
            after.append(src)
    return _images(named[:8] or main[:8] or after, page.url)


_MAIN_PHOTO = re.compile(r"(main|booth|hero|primary|zoom|landing|gallery|product|photo|picture|slide)", re.I)


def _small(img: Any) -> bool:
    """An icon or thumbnail by its declared size (width/height attributes under 100 pixels)."""
    for attr in ("width", "height"):
        value = (img.get(attr) or "").strip().removesuffix("px")
        if value.isdigit() and int(value) < 100:
            return True
    return False


def _meta(page: _Page, name: str) -> str | None:
    values = page.root.xpath(f"//meta[@name='{name}']/@content")
    return values[0] if values else None


# ---- listing ---------------------------------------------------------------------------------------
def listing_id_for(product: Product, url: str) -> str:
    """The shop's own id (sku, productID, a profile's selector) or, lacking one, a stable id of the
    page's address: the same page is the same listing on every crawl."""
    if product.listing_id:
        return product.listing_id
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
    return f"url-{digest}"


def platform_for(url: str) -> str:
    host = (urlsplit(url).hostname or "unknown").lower()
    return host.removeprefix("www.")


def listing_from_product(product: Product, *, url: str, crawled_at: str, platform: str | None = None) -> dict[str, Any]:
    """A listing document (`sweep/contracts/listing.schema.json`) of a product page."""
    item: dict[str, Any] = {
        "platform": platform or platform_for(url),
        "listing_id": listing_id_for(product, url),
        "url": url,
        "title": product.title,
        "description": product.description,
        "category": product.category,
        "price": product.price,
        "currency": product.currency,
        "unit": product.unit,
        "attributes": dict(product.attributes),
        "images": list(product.images),
        "crawled_at": crawled_at,
    }
    shop = {k: v for k, v in product.shop.items() if v}
    if shop:
        item["shop"] = {"shop_id": shop.get("shop_id") or shop.get("name"), **shop}
    return item


def dump(product: Product) -> str:
    """The product as JSON (debugging and `sweep profiles check`)."""
    return json.dumps(
        {k: getattr(product, k) for k in ("title", "price", "currency", "images", "attributes", "shop", "sources")},
        ensure_ascii=False,
        indent=2,
    )
