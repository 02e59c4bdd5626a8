"""The demo mall's HTTP server: a minimal HTTP/1.1 server on raw asyncio, serving pre-rendered bytes.

Why not a web framework: the crawl benchmark must measure the spider, not the target. Every page is
rendered once at start-up into a complete response (status line, headers, body) so serving is a dict
lookup and one `transport.write`; on one core this does several thousand requests per second, well
above what Scrapy can consume on the other core. Only GET/HEAD, keep-alive and the few routes the
mall has are implemented; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from demomall import pages
from demomall.generator import CATEGORIES, Mall

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    404: "Not Found",
    405: "Method Not Allowed",
    400: "Bad Request",
    403: "Forbidden",
}


def _response(status: int, body: bytes, content_type: str, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nServer: demomall\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}"
    )
    return head.encode("latin-1") + b"\r\n" + body


HTML = "text/html; charset=utf-8"


class Site:
    """All responses of one mall, pre-rendered. Host-dependent documents (robots, sitemap) are cached
    per Host header."""

    def __init__(self, mall: Mall) -> None:
        self.mall = mall
        self.routes: dict[str, bytes] = {}
        self._per_host: dict[tuple[str, str], bytes] = {}
        self._search: dict[str, bytes] = {}
        self.category_page_counts: dict[str, int] = {}
        self._render()

    def replace(self, mall: Mall) -> None:
        """Serve `mall` from now on (an evolved mall, `Mall.evolve`): everything is rendered aside and
        swapped in at once, so a request sees either the old mall or the new one, never a mixture."""
        fresh = Site(mall)
        self.__dict__.update(fresh.__dict__)

    def _html(self, path: str, html: str) -> None:
        self.routes[path] = _response(200, html.encode(), HTML)

    def _render(self) -> None:
        mall = self.mall
        self._html("/", pages.home(mall))
        for key in CATEGORIES:
            cat_pages = pages.category_pages(mall, key)
            self.category_page_counts[key] = len(cat_pages)
            for n, html in enumerate(cat_pages, start=1):
                if n == 1:
                    self._html(f"/c/{key}", html)
                self._html(f"/c/{key}?page={n}", html)
        items_by_shop: dict[str, list] = {}
        for item in mall.items:
            lid = item.listing.listing_id
            html = pages.item_shell(item) if item.client_rendered else pages.item_page(item)
            self._html(f"/item/{lid}.html", html)
            self.routes[f"/api/item/{lid}.json"] = _response(200, pages.item_api(item), "application/json")
            items_by_shop.setdefault(item.listing.shop.shop_id if item.listing.shop else "", []).append(item)
        for lid, gone in mall.gone.items():
            if gone.how == "delisted":
                self._html(f"/item/{lid}.html", pages.delisted_page(gone.item))
            # "404": no route at all, like any unknown page
        for page in mall.malformed:
            self._html(f"/item/{page.page_id}.html", pages.malformed_page(page))
        for shop in mall.shops:
            self._html(f"/shop/{shop.shop_id}.html", pages.shop_page(shop, items_by_shop.get(shop.shop_id, [])))
        self.routes["/static/item.js"] = _response(200, pages.ITEM_JS.encode(), "application/javascript")
        self.routes["/favicon.ico"] = _response(200, pages.PLACEHOLDER_SVG, "image/svg+xml")
        self._img = _response(200, pages.PLACEHOLDER_SVG, "image/svg+xml", "Cache-Control: max-age=86400\r\n")
        self._not_found = _response(404, "<h1>404 页面不存在</h1>".encode(), HTML)
        self._forbidden = _response(403, "<h1>403 禁止访问</h1>".encode(), HTML)

    def respond(self, target: str, host: str) -> bytes:
        hit = self.routes.get(target)
        if hit is not None:
            return hit
        parts = urlsplit(target)
        path = unquote(parts.path)
        if path.startswith("/img/"):
            return self._img
        base = f"http://{host}"
        if path == "/robots.txt":
            return self._host_doc("robots", base, lambda: (pages.robots(base), "text/plain; charset=utf-8"))
        if path == "/sitemap.xml":
            return self._host_doc(
                "sitemap",
                base,
                lambda: (pages.sitemap(self.mall, base, self.category_page_counts), "application/xml"),
            )
        if path == "/search":
            q = parse_qs(parts.query).get("q", [""])[0][:100]
            if q not in self._search:
                if len(self._search) > 1000:
                    self._search.clear()
                self._search[q] = _response(200, pages.search_page(self.mall, q).encode(), HTML)
            return self._search[q]
        if path.startswith("/c/"):
            page = parse_qs(parts.query).get("page", ["1"])[0]
            hit = self.routes.get(f"{path}?page={page}")
            if hit is not None:
                return hit
        if path.startswith(("/cart", "/admin")):
            return self._forbidden
        hit = self.routes.get(path)
        return hit if hit is not None else self._not_found

    def _host_doc(self, name: str, base: str, make: Callable[[], tuple[str, str]]) -> bytes:
        key = (name, base)
        if key not in self._per_host:
            body, ctype = make()
            self._per_host[key] = _response(200, body.encode(), ctype)
        return self._per_host[key]


class _HttpProtocol(asyncio.Protocol):
    __slots__ = ("buf", "site", "transport")

    def __init__(self, site: Site) -> None:
        self.site = site
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        transport = self.transport
        assert transport is not None
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    transport.close()
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                transport.write(_response(400, b"bad request", "text/plain", "Connection: close\r\n"))
                transport.close()
                return
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            body_len = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + body_len:
                return
            self.buf = self.buf[end + 4 + body_len :]
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if method not in ("GET", "HEAD"):
                transport.write(_response(405, b"", "text/plain", "Allow: GET, HEAD\r\n"))
            else:
                resp = self.site.respond(target, headers.get("host", "127.0.0.1"))
                if method == "HEAD":
                    resp = resp[: resp.index(b"\r\n\r\n") + 4]
                transport.write(resp)
            if close:
                transport.close()
                return


async def start_server(mall: Mall, host: str = "127.0.0.1", port: int = 0) -> tuple[asyncio.Server, Site]:
    site = Site(mall)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _HttpProtocol(site), host, port, backlog=1024, reuse_address=True)
    return server, site


class MallServer:
    """A mall served from a daemon thread (`serve_in_thread`): `base_url`, `replace(mall)` to serve an
    evolved mall at the same address (what a recrawl or a takedown check sees later), `stop()`."""

    def __init__(self, base_url: str, site: Site, stop: Callable[[], None]) -> None:
        self.base_url = base_url
        self.site = site
        self._stop = stop

    @property
    def mall(self) -> Mall:
        return self.site.mall

    def replace(self, mall: Mall) -> None:
        self.site.replace(mall)

    def stop(self) -> None:
        self._stop()

    def __enter__(self) -> MallServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(mall: Mall, port: int = 0, host: str = "127.0.0.1") -> tuple[str, Callable[[], None]]:
    """Serve `mall` from a daemon thread; returns (base_url, stop). For tests and `sweep demo`.

    The crawler must run in another process (or at least not on this thread's GIL-bound hot path)
    for throughput measurements to mean anything. `serve_in_thread` also lets the mall be replaced.
    """
    server = serve_in_thread(mall, port, host)
    return server.base_url, server.stop


def serve_in_thread(mall: Mall, port: int = 0, host: str = "127.0.0.1") -> MallServer:
    """Serve `mall` from a daemon thread; the handle can swap in an evolved mall (`MallServer`)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, object] = {}

    def runner() -> None:
        asyncio.set_event_loop(loop)
        try:
            server, _site = loop.run_until_complete(start_server(mall, host, port))
        except BaseException as exc:  # report start-up failures to the caller
            state["error"] = exc
            ready.set()
            return
        state["server"] = server
        state["site"] = _site
        state["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        server.close()
        with contextlib.suppress(Exception):
            loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=runner, name="demomall-server", daemon=True)
    thread.start()
    ready.wait()
    if "error" in state:
        raise RuntimeError(f"demo mall could not start: {state['error']}") from state["error"]  # type: ignore[misc]

    def stop() -> None:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    return MallServer(f"http://{host}:{state['port']}", state["site"], stop)  # type: ignore[arg-type]


def serve_forever(
    mall: Mall, port: int = 8000, host: str = "127.0.0.1", on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve until interrupted (the `sweep demo-mall` command)."""

    async def main() -> None:
        server, _ = await start_server(mall, host, port)
        bound = server.sockets[0].getsockname()[1]
        if on_ready:
            on_ready(f"http://{host}:{bound}")
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    """`python -m demomall.server --listings N --seed S --port P [--change N --remove N --relist N]`
    (used by benchmarks to get a separate process for the server; the options as `Mall.evolve`'s)."""
    import argparse

    from demomall.generator import generate

    ap = argparse.ArgumentParser(description="Serve the demo mall.")
    ap.add_argument("--listings", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--change", type=int, default=0)
    ap.add_argument("--remove", type=int, default=0)
    ap.add_argument("--relist", type=int, default=0)
    ap.add_argument("--removal", choices=("404", "delisted", "mixed"), default="mixed")
    ap.add_argument("--evolve-seed", type=int, default=0)
    args = ap.parse_args(argv)
    mall = generate(args.listings, args.seed)
    if args.change or args.remove or args.relist:
        mall = mall.evolve(
            change=args.change, remove=args.remove, relist=args.relist, removal=args.removal, seed=args.evolve_seed
        )
    serve_forever(mall, args.port, on_ready=lambda url: print(f"demo mall at {url}", flush=True))


if __name__ == "__main__":
    main()
