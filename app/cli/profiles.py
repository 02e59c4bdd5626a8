"""`sweep profiles`: list the packaged site profiles, and check one against a live page.

    sweep profiles list
    sweep profiles check spiders/profiles/demo_mall.yaml --url http://127.0.0.1:8000/item/DM000001.html
    sweep profiles check my-shop.yaml --url https://shop.example.com/p/1 [--ignore-robots]
    sweep profiles check my-shop.yaml --url https://shop.example.com/p/1 --html saved-page.html

`check` fetches the page once (the crawler's user agent and proxy, robots.txt obeyed unless told
otherwise) and shows what each selector of the profile extracts from it, then the listing the
profile spider would make of it, with the layer each field came from. Everything the page says is
printed cleaned of control characters (app/cli/display.py): a crawled page is hostile text.
A profile with mistakes is reported with the file and the field, exit code 2; a page that cannot be
fetched, exit code 1.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from app.cli.display import cell, message

app = typer.Typer(help="站点配置 — site profiles: YAML files that turn into spiders; check one against a page.")
console = Console()

MAX_PAGE = 20 * 1024 * 1024
"""Largest page `check` reads (bytes)."""


def _user_agent() -> str:
    from spiders.blocking import user_agent
    from sweep.settings import get_settings

    cfg = get_settings()
    # the same bytes as the crawler sends (UTF-8); urllib writes header text as Latin-1
    return user_agent(cfg.crawl_bureau, cfg.crawl_contact).encode("utf-8").decode("latin-1")


def _opener() -> urllib.request.OpenerDirector:
    proxy = os.environ.get("SWEEP_CRAWL_PROXY", "").strip()
    handlers: list[Any] = [urllib.request.ProxyHandler({"http": proxy, "https": proxy})] if proxy else []
    return urllib.request.build_opener(*handlers)


def _allowed_by_robots(url: str, agent: str, timeout: float) -> bool:
    """robots.txt's answer for `url` (a missing robots.txt allows everything)."""
    from protego import Protego

    parts = urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    request = urllib.request.Request(robots_url, headers={"User-Agent": agent})
    try:
        with _opener().open(request, timeout=timeout) as resp:
            text = resp.read(512 * 1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code not in (401, 403)  # Scrapy's rule: a refused robots.txt disallows nothing else either
    except OSError:
        return True
    return Protego.parse(text).can_fetch(url, agent)


def fetch(url: str, *, timeout: float, obey_robots: bool) -> tuple[bytes, str | None, str]:
    """(body, charset, final URL) of one page, fetched as the crawler would."""
    agent = _user_agent()
    if obey_robots and not _allowed_by_robots(url, agent, timeout):
        raise PermissionError(f"robots.txt of {urlsplit(url).netloc} disallows {url} (--ignore-robots to check anyway)")
    request = urllib.request.Request(url, headers={"User-Agent": agent, "Accept": "text/html,*/*;q=0.8"})
    with _opener().open(request, timeout=timeout) as resp:
        body = resp.read(MAX_PAGE + 1)
        if len(body) > MAX_PAGE:
            raise ValueError(f"{url} is larger than {MAX_PAGE // (1024 * 1024)} MiB")
        return body, resp.headers.get_content_charset(), resp.geturl()


def _selector_text(spec: Any) -> str:
    expr = f"css {spec.css}" if spec.css else f"xpath {spec.xpath}"
    extra = [f"@{spec.attr}"] if spec.attr else []
    extra += ["all"] if spec.all else []
    extra += [f"join {spec.join!r}"] if spec.join is not None else []
    extra += [f"regex {spec.regex}"] if spec.regex else []
    return " ".join([expr, *extra])


def _found(values: list[str]) -> Any:
    if not values:
        return cell("— 未找到 not found", "bold red")
    shown = values[0] if len(values) == 1 else f"{values[0]}  (+{len(values) - 1} more)"
    return cell(shown, "green")


def check_table(profile: Any, body: bytes, url: str, charset: str | None) -> tuple[Table, Table, int]:
    """(selector table, listing table, selectors that found nothing) for one page."""
    from parsel import Selector

    from spiders.extraction import decode_html, extract_product
    from spiders.spiders.profile import rows

    text = decode_html(body, encoding=charset)
    sel = Selector(text=text, base_url=url)
    selectors = Table(title=f"选择器 selectors — {profile.name}", title_justify="left")
    for column in ("字段 field", "选择器 selector", "提取结果 extracted"):
        selectors.add_column(column, overflow="fold")
    missing = 0
    for name, spec in profile.selectors.items():
        values = spec.field_selector(raw=False).values(sel)
        missing += not values
        selectors.add_row(name, cell(_selector_text(spec)), _found(values))
    if profile.attributes:
        found = rows(sel, profile.attributes, raw=False)
        missing += not found
        shown = [f"{k}: {v}" for k, v in found[:3]] + ([f"… {len(found)} rows"] if len(found) > 3 else [])
        selectors.add_row(
            "attributes", cell(f"rows {profile.attributes.rows}"), _found(["; ".join(shown)] if found else [])
        )
    if profile.shop:
        for name in ("link", "shop_id", "name"):
            spec = getattr(profile.shop, name)
            if spec is not None:
                values = spec.field_selector().values(sel)
                missing += not values
                selectors.add_row(f"shop.{name}", cell(_selector_text(spec)), _found(values))
    product = extract_product(
        body, url, encoding=charset, selectors=profile.field_selectors(), prefer_selectors=profile.prefer_selectors
    )
    listing = Table(title="商品 listing (as the profile spider makes it)", title_justify="left")
    for column in ("字段 field", "值 value", "来源 source"):
        listing.add_column(column, overflow="fold")
    for name in ("title", "price", "currency", "listing_id", "category", "unit", "description", "images"):
        value = getattr(product, name)
        if name == "images":
            value = f"{value[0]}  (+{len(value) - 1} more)" if len(value) > 1 else (value[0] if value else None)
        if name == "currency" and value is None and profile.currency:
            value, source = profile.currency, "profile"
        else:
            source = product.sources.get(name, "")
        listing.add_row(name, cell(value if value is not None else "—"), cell(source))
    listing.add_row(
        "is a product page", cell("yes" if product.is_product else "no"), cell(", ".join(sorted(product.signals)))
    )
    return selectors, listing, missing


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The profile (YAML), or a packaged profile's name.")],
    url: Annotated[str, typer.Option("--url", help="A detail page of the site.")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Check a saved copy of the page instead of fetching it.")
    ] = None,
    ignore_robots: Annotated[
        bool, typer.Option("--ignore-robots", help="Fetch even where robots.txt disallows.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the page.")] = 30.0,
) -> None:
    """Show what each selector of a profile extracts from a live page."""
    from spiders.profiles import ProfileError, load_profile

    try:
        profile = load_profile(file)
    except ProfileError as exc:
        console.print(message("站点配置有误 profile invalid:", exc))
        raise typer.Exit(2) from None
    if not url.startswith(("http://", "https://")):
        console.print(message("URL 无效 invalid URL:", url))
        raise typer.Exit(2)
    try:
        if html is not None:
            body, charset, final = html.read_bytes(), None, url
        else:
            body, charset, final = fetch(url, timeout=timeout, obey_robots=not ignore_robots)
    except urllib.error.HTTPError as exc:
        console.print(message("页面获取失败 fetch failed:", f"{url}: HTTP {exc.code} {exc.reason}"))
        raise typer.Exit(1) from None
    except (OSError, ValueError, PermissionError) as exc:
        console.print(message("页面获取失败 fetch failed:", exc))
        raise typer.Exit(1) from None
    selectors, listing, missing = check_table(profile, body, final, charset)
    console.print(selectors)
    console.print(listing)
    if missing:
        console.print(
            message("未找到 not found:", f"{missing} selector(s) extracted nothing from this page", "bold yellow")
        )


@app.command("list")
def list_profiles() -> None:
    """The site profiles that ship with sweep (each is a spider of its name)."""
    from spiders.profiles import ProfileError, packaged_profiles

    try:
        found = packaged_profiles()
    except ProfileError as exc:
        console.print(message("站点配置有误 profile invalid:", exc))
        raise typer.Exit(2) from None
    table = Table(title="站点配置 site profiles", title_justify="left")
    for column in ("spider", "platform", "start", "file"):
        table.add_column(column, overflow="fold")
    for path, profile in found:
        table.add_row(cell(profile.name), cell(profile.platform), cell(profile.start_urls[0]), cell(path.name))
    console.print(table)
