"""HTML of the demo mall, rendered once per mall (not per request).

Every piece of text goes through `html.escape`: listing text is attacker-controlled on real platforms
and the demo pages must not teach the spider to rely on unescaped markup. Links are site-relative so
the same bytes serve any host and port; only robots.txt and sitemap.xml carry absolute URLs and are
rendered per Host header by the server.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from demomall.generator import CATEGORIES, CATEGORY_GROUPS, SITE_NAME, MalformedPage, Mall, MallItem, MallShop

PAGE_SIZE = 20

CSS = (
    "body{font-family:'PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#333;background:#f5f5f5}"
    "header{background:#e4393c;color:#fff;padding:8px 24px}header a{color:#fff;margin-right:12px}"
    "main{background:#fff;margin:16px auto;max-width:1000px;padding:16px}"
    ".price{color:#e4393c;font-size:24px}table.spec th{text-align:left;background:#fafafa;width:140px}"
    "table{border-collapse:collapse}td,th{border:1px solid #eee;padding:4px 8px}"
    ".items li{list-style:none;display:inline-block;width:220px;margin:6px;vertical-align:top}"
    ".gallery img{width:160px;height:160px;margin:0 8px 8px 0;border:1px solid #eee}"
)


def _head(title: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f'<header><a href="/" class="logo">{escape(SITE_NAME)}</a>'
        f'<form action="/search" method="get" style="display:inline"><input name="q" placeholder="搜索商品">'
        f'<button>搜索</button></form> <a href="/cart">购物车</a></header>'
    )


_FOOT = "<footer><p>© 惠民优选商城 演示站点 · 本站所有商品与店铺均为虚构，仅供测试。</p></footer></body></html>"


def home(mall: Mall) -> str:
    groups = []
    for group, keys in CATEGORY_GROUPS.items():
        links = "".join(f'<a href="/c/{k}">{escape(CATEGORIES[k])}</a> ' for k in keys)
        groups.append(f"<li><strong>{escape(group)}</strong>：{links}</li>")
    return (
        _head(f"{SITE_NAME} - 首页")
        + f'<main class="home"><h1>{escape(SITE_NAME)}</h1><nav class="categories"><h2>商品分类</h2><ul>'
        + "".join(groups)
        + f"</ul></nav><p>共 {len(mall.items)} 件商品，{len(mall.shops)} 家店铺入驻。</p></main>"
        + _FOOT
    )


def _card(listing_id: str, title: str, price: float | None, shop_id: str) -> str:
    price_text = f"¥{price:.2f}" if price is not None else "面议"
    return (
        f'<li class="item-card" data-id="{escape(listing_id)}">'
        f'<a class="item-link" href="/item/{escape(listing_id)}.html">'
        f'<img src="/img/{escape(listing_id)}-1.svg" alt="" width="200" height="200">'
        f'<span class="card-title">{escape(title)}</span></a><span class="card-price">{price_text}</span>'
        f'<a class="card-shop" href="/shop/{escape(shop_id)}.html">进店</a></li>'
    )


def category_pages(mall: Mall, key: str) -> list[str]:
    """All pages of one category; page N links to N+1 with rel=next."""
    cards = [
        _card(it.listing.listing_id, it.listing.title, it.listing.price, it.listing.shop.shop_id or "")
        for it in mall.items
        if it.listing.category == key and it.listing.shop
    ]
    cards += [_card(m.page_id, "【商品信息缺失】", None, m.shop_id) for m in mall.malformed if m.category == key]
    n_pages = max(1, -(-len(cards) // PAGE_SIZE))
    name = CATEGORIES[key]
    pages = []
    for page in range(1, n_pages + 1):
        chunk = cards[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        nav = []
        if page > 1:
            nav.append(f'<a rel="prev" href="/c/{key}?page={page - 1}">上一页</a>')
        nav.append(f'<span class="current">第 {page} / {n_pages} 页</span>')
        if page < n_pages:
            nav.append(f'<a rel="next" class="next" href="/c/{key}?page={page + 1}">下一页</a>')
        pages.append(
            _head(f"{name} - 第{page}页 - {SITE_NAME}")
            + f'<main class="category" data-category="{escape(key)}"><nav class="crumbs"><a href="/">首页</a> &gt; '
            f'{escape(name)}</nav><h1>{escape(name)}</h1><ul class="items">{"".join(chunk)}</ul>'
            f'<div class="pagination">{"".join(nav)}</div></main>' + _FOOT
        )
    return pages


def _spec_rows(attrs: dict[str, str]) -> str:
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in attrs.items())


def item_page(item: MallItem) -> str:
    lst = item.listing
    shop = lst.shop
    assert shop is not None
    cat = lst.category or ""
    imgs = "".join(f'<img src="{escape(u)}" alt="{escape(lst.title)}" width="400" height="400">' for u in lst.images)
    text = item.served_description if item.served_description is not None else lst.description
    desc = "".join(f"<p>{escape(line)}</p>" for line in (text or "").split("\n"))
    price = f"{lst.price:.2f}" if lst.price is not None else ""
    return (
        _head(f"{lst.title} - {SITE_NAME}")
        + f'<main class="item" data-listing-id="{escape(lst.listing_id)}" data-category="{escape(cat)}">'
        f'<nav class="crumbs"><a href="/">首页</a> &gt; '
        f'<a href="/c/{escape(cat)}">{escape(CATEGORIES.get(cat, cat))}</a></nav>'
        f'<div class="gallery">{imgs}</div>'
        f'<h1 class="item-title">{escape(lst.title)}</h1>'
        f'<div class="price">¥<span class="price-value">{price}</span> / '
        f'<span class="unit">{escape(lst.unit or "")}</span></div>'
        f'<div class="shop-link">店铺：<a class="shop" href="{escape(shop.url or "")}" '
        f'data-shop-id="{escape(shop.shop_id or "")}">'
        f"{escape(shop.name or '')}</a></div>"
        f'<button class="buy">加入购物车</button>'
        f'<table class="spec"><caption>规格参数</caption><tbody>{_spec_rows(lst.attributes)}</tbody></table>'
        f'<section class="desc"><h2>商品详情</h2>{desc}</section></main>' + _FOOT
    )


def item_shell(item: MallItem) -> str:
    """The client-rendered variant: no title, no table; /static/item.js builds them from the API."""
    lst = item.listing
    return (
        _head(SITE_NAME)
        + f'<main id="app" class="item" data-render="client" data-listing-id="{escape(lst.listing_id)}">'
        '<p class="loading">商品信息加载中…</p></main><script src="/static/item.js"></script>' + _FOOT
    )


def item_api(item: MallItem) -> bytes:
    lst = item.listing
    shop = lst.shop
    assert shop is not None
    doc = {
        "listing_id": lst.listing_id,
        "title": lst.title,
        "category": lst.category,
        "category_name": CATEGORIES.get(lst.category or "", lst.category),
        "price": f"{lst.price:.2f}" if lst.price is not None else "",
        "unit": lst.unit or "",
        "shop": {"shop_id": shop.shop_id, "name": shop.name, "url": shop.url},
        "attributes": list(lst.attributes.items()),
        "description": (lst.description or "").split("\n"),
        "images": lst.images,
    }
    return json.dumps(doc, ensure_ascii=False).encode()


ITEM_JS = """\
(function () {
  var app = document.getElementById('app');
  var id = app.getAttribute('data-listing-id');
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  fetch('/api/item/' + encodeURIComponent(id) + '.json').then(function (r) { return r.json(); }).then(function (d) {
    app.innerHTML = '';
    app.setAttribute('data-category', d.category);
    document.title = d.title + ' - 惠民优选商城';
    var crumbs = el('nav', {'class': 'crumbs'});
    crumbs.appendChild(el('a', {href: '/'}, '首页'));
    crumbs.appendChild(document.createTextNode(' > '));
    crumbs.appendChild(el('a', {href: '/c/' + d.category}, d.category_name));
    app.appendChild(crumbs);
    var gallery = el('div', {'class': 'gallery'});
    d.images.forEach(function (u) { gallery.appendChild(el('img', {src: u, alt: d.title, width: 400, height: 400})); });
    app.appendChild(gallery);
    var price = el('div', {'class': 'price'}, '¥');
    price.appendChild(el('span', {'class': 'price-value'}, d.price));
    price.appendChild(document.createTextNode(' / '));
    price.appendChild(el('span', {'class': 'unit'}, d.unit));
    var shop = el('div', {'class': 'shop-link'}, '店铺：');
    shop.appendChild(el('a', {'class': 'shop', href: d.shop.url, 'data-shop-id': d.shop.shop_id}, d.shop.name));
    var table = el('table', {'class': 'spec'});
    table.appendChild(el('caption', {}, '规格参数'));
    var body = el('tbody');
    d.attributes.forEach(function (kv) {
      var tr = el('tr'); tr.appendChild(el('th', {}, kv[0])); tr.appendChild(el('td', {}, kv[1])); body.appendChild(tr);
    });
    table.appendChild(body);
    var desc = el('section', {'class': 'desc'});
    desc.appendChild(el('h2', {}, '商品详情'));
    d.description.forEach(function (line) { desc.appendChild(el('p', {}, line)); });
    app.appendChild(price); app.appendChild(shop); app.appendChild(table); app.appendChild(desc);
    app.insertBefore(el('h1', {'class': 'item-title'}, d.title), price);
    app.setAttribute('data-rendered', '1');
  });
})();
"""


DELISTED_NOTICE = "该商品已下架"


def delisted_page(item: MallItem) -> str:
    """A 下架 page (HTTP 200): the title is still shown, with the notice, and nothing to buy: no price,
    no spec table, no description. `data-state="offline"` marks it for machines, the notice for people."""
    lst = item.listing
    cat = lst.category or ""
    return (
        _head(f"{lst.title} - {SITE_NAME}")
        + f'<main class="item item-offline" data-listing-id="{escape(lst.listing_id)}" '
        f'data-category="{escape(cat)}" data-state="offline">'
        f'<nav class="crumbs"><a href="/">首页</a> &gt; '
        f'<a href="/c/{escape(cat)}">{escape(CATEGORIES.get(cat, cat))}</a></nav>'
        f'<h1 class="item-title">{escape(lst.title)}</h1>'
        f'<div class="offline-notice">{DELISTED_NOTICE}</div>'
        f"<p>很抱歉，您查看的商品已下架或不存在，去看看其他商品吧。</p></main>" + _FOOT
    )


def malformed_page(page: MalformedPage) -> str:
    """A detail page a careless seller template produces: no title element, maybe a broken table."""
    table = (
        '<table class="spec"><tr><th>产地<th>规格</th><tr><td>缺少表头</td></tr><tr><th>保质期</th></table>'
        if page.broken_table
        else '<table class="spec"><tbody><tr><th>规格</th><td>1件</td></tr></tbody></table>'
    )
    return (
        _head(SITE_NAME)
        + f'<main class="item" data-listing-id="{escape(page.page_id)}" data-category="{escape(page.category)}">'
        f'<div class="price">¥<span class="price-value">abc</span></div>'
        f'<div class="shop-link"><a class="shop" href="/shop/{escape(page.shop_id)}.html" '
        f'data-shop-id="{escape(page.shop_id)}">店铺</a></div>{table}</main>' + _FOOT
    )


def shop_page(mall_shop: MallShop, items: list[MallItem]) -> str:
    s = mall_shop.shop
    if s.licence_no:
        licence = (
            f'<dt>统一社会信用代码</dt><dd class="uscc">{escape(s.licence_no)}</dd>'
            f'<dt>企业名称</dt><dd class="company">{escape(s.licence_company or "")}</dd>'
        )
    else:
        licence = '<dt>营业执照</dt><dd class="no-licence">未公示</dd>'
    permits = "".join(
        f'<tr class="permit"><td class="permit-type">{escape(p.type)}</td>'
        f'<td class="permit-no">{escape(p.number or "")}</td></tr>'
        for p in s.permits
    )
    permits_html = (
        '<table class="permits"><thead><tr><th>许可证类型</th><th>许可证编号</th></tr></thead>'
        f"<tbody>{permits}</tbody></table>"
        if s.permits
        else '<p class="no-permits">暂无其他许可证信息</p>'
    )
    cards = "".join(
        _card(it.listing.listing_id, it.listing.title, it.listing.price, s.shop_id or "") for it in items[:PAGE_SIZE]
    )
    return (
        _head(f"{s.name} - {SITE_NAME}") + f'<main class="shop" data-shop-id="{escape(s.shop_id or "")}">'
        f'<h1 class="shop-name">{escape(s.name or "")}</h1>'
        f'<section class="qualification"><h2>店铺资质</h2><dl class="licence">{licence}'
        f'<dt>所在地</dt><dd class="region">{escape(s.region or "")}</dd></dl>{permits_html}</section>'
        f'<section class="shop-items"><h2>店铺商品（{len(items)}）</h2><ul class="items">{cards}</ul></section></main>'
        + _FOOT
    )


def search_page(mall: Mall, query: str) -> str:
    q = query.strip()
    hits = [it for it in mall.items if q and q in it.listing.title][:50]
    cards = "".join(
        _card(it.listing.listing_id, it.listing.title, it.listing.price, it.listing.shop.shop_id or "")
        for it in hits
        if it.listing.shop
    )
    return (
        _head(f"搜索“{q}” - {SITE_NAME}")
        + f'<main class="search"><h1>搜索“{escape(q)}”</h1><p>找到 {len(hits)} 件商品</p>'
        f'<ul class="items">{cards}</ul></main>' + _FOOT
    )


def robots(host_base: str) -> str:
    return f"User-agent: *\nDisallow: /cart\nDisallow: /admin\nDisallow: /api/admin\nSitemap: {host_base}/sitemap.xml\n"


def sitemap(mall: Mall, host_base: str, category_page_counts: dict[str, int]) -> str:
    urls = [f"{host_base}/"]
    for key, n in category_page_counts.items():
        urls.append(f"{host_base}/c/{key}")
        urls += [f"{host_base}/c/{key}?page={p}" for p in range(2, n + 1)]
    urls += [f"{host_base}/item/{quote(it.listing.listing_id)}.html" for it in mall.items]
    urls += [f"{host_base}/shop/{quote(s.shop_id)}.html" for s in mall.shops]
    body = "".join(f"<url><loc>{escape(u)}</loc></url>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'


PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#eee"/>'
    b'<text x="100" y="105" font-size="20" text-anchor="middle" fill="#999">'
    b"\xe5\x95\x86\xe5\x93\x81\xe5\x9b\xbe</text></svg>"
)
