"""A tiny shop site for crawl tests: robots.txt naming a sitemap, three product pages with JSON-LD
Product data, a page that is no product, a product page robots.txt disallows, and a hit log (which
paths were asked for, with which user agent) so tests can tell what a crawler fetched.

    site = TinyShop.start()          # http://127.0.0.1:PORT
    site.hits                        # [(path, user agent), ...]
    site.stop()
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRODUCTS = {
    "/p/1.html": ("SKU-1", "不锈钢保温杯 500ml", "59.00"),
    "/p/2.html": ("SKU-2", "儿童学步车 多功能", "129.00"),
    "/p/3.html": ("SKU-3", "家用电热水壶 1.7L", "88.50"),
}
SECRET = "/private/9.html"
"""A product page robots.txt disallows (the sitemap lists it anyway): a polite crawler never asks."""


def _product_page(path: str) -> str:
    sku, name, price = PRODUCTS.get(path) or ("SKU-9", "不应抓取的商品", "1.00")
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "sku": sku,
        "name": name,
        "offers": {"@type": "Offer", "price": price, "priceCurrency": "CNY"},
    }
    links = "".join(f'<a href="{p}">{n}</a> ' for p, (_, n, _) in PRODUCTS.items())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name}</title>"
        f"<script type='application/ld+json'>{json.dumps(data, ensure_ascii=False)}</script></head>"
        f"<body><h1>{name}</h1><p class='price'>¥{price}</p><nav>{links}<a href='/about.html'>关于</a></nav>"
        "</body></html>"
    )


@dataclass
class TinyShop:
    url: str
    server: ThreadingHTTPServer
    hits: list[tuple[str, str]] = field(default_factory=list)
    with_sitemap: bool = True

    @classmethod
    def start(cls, *, with_sitemap: bool = True, host: str = "127.0.0.1") -> TinyShop:
        """Serve on a free port of `host` (another loopback address is another host to a crawler's
        per-host politeness)."""
        hits: list[tuple[str, str]] = []
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    hits.append((self.path, self.headers.get("User-Agent", "")))
                base = f"http://{self.headers.get('Host')}"
                if self.path == "/robots.txt":
                    lines = ["User-agent: *", "Disallow: /private/"]
                    if with_sitemap:
                        lines.append(f"Sitemap: {base}/sitemap.xml")
                    self._send("\n".join(lines) + "\n", "text/plain")
                elif self.path == "/sitemap.xml" and with_sitemap:
                    urls = [*PRODUCTS, "/about.html", SECRET, "/p/1.html"]
                    body = "".join(f"<url><loc>{base}{p}</loc></url>" for p in urls)
                    xml = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'
                    self._send(xml, "application/xml")
                elif self.path in PRODUCTS or self.path == SECRET:
                    self._send(_product_page(self.path), "text/html; charset=utf-8")
                elif self.path in ("/", "/about.html"):
                    links = "".join(f'<a href="{p}">{n}</a> ' for p, (_, n, _) in PRODUCTS.items())
                    self._send(f"<html><body><h1>小店</h1>{links}</body></html>", "text/html; charset=utf-8")
                else:
                    self.send_error(404)

            def _send(self, text: str, ctype: str) -> None:
                body = text.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return cls(f"http://{host}:{server.server_address[1]}", server, hits, with_sitemap)

    def fetched(self, path: str) -> int:
        return sum(1 for p, _ in self.hits if p == path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
