"""`sweep targets add|list|show|remove`: what a crawl covers (a spider, a site and parts of it).

Also the shared plumbing of the operations commands (stores, bus, launching a job), since `schedule`,
`jobs`, `scheduler` and `crawl-worker` all need the same wiring of the operations store and the bus.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters import open_bus
from adapters.people.operations_sql import SqlOperationsStore, open_operations_store
from app.cli.display import cell, json_line, message
from operations.jobs import AlertPolicy
from sweep.settings import Settings, get_settings
from sweep.store.operations import Target, TargetExistsError

app = typer.Typer(help="Crawl targets: a spider plus what to crawl (categories, keywords, listings...).")
console = Console()
err = Console(stderr=True)


def ops_store(settings: Settings | None = None) -> SqlOperationsStore:
    return open_operations_store(settings or get_settings())


def alert_policy(settings: Settings | None = None) -> AlertPolicy:
    s = settings or get_settings()
    return AlertPolicy(webhook_url=s.ops_alert_webhook, empty_min_previous=s.ops_empty_alert_min_previous)


def frontier_bus(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    return open_bus(settings or get_settings())


def target_or_exit(store: SqlOperationsStore, name: str) -> Target:
    target = store.get_target(name)
    if target is None:
        err.print(message("no such target:", name))
        raise typer.Exit(1)
    return target


def _parse_settings(values: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for kv in values:
        key, sep, raw = kv.partition("=")
        if not sep:
            raise typer.BadParameter(f"{kv!r}: expected NAME=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _spider_args(spider: str, profile: str | None, args: list[str]) -> tuple[str, dict[str, str]]:
    """The spider and its arguments of a target: `--profile` (a packaged profile's name or a YAML file,
    whose absolute path is kept: workers read it there) runs the `profile` spider unless another
    spider is named (product_pages takes a profile as selector fallback)."""
    out: dict[str, str] = {}
    for kv in args:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{kv!r}: expected KEY=VALUE")
        out[key] = value
    if profile:
        from pathlib import Path

        from spiders.profiles import ProfileError, load_profile

        try:
            load_profile(profile)
        except ProfileError as exc:
            raise typer.BadParameter(str(exc)) from None
        path = Path(profile)
        out["profile"] = str(path.resolve()) if path.exists() else profile
        if spider == "demo_mall":  # the default spider: a profile means the profile spider
            spider = "profile"
    return spider, out


def _recrawl_due(spider: str, platform: str | None, max_per_run: int | None, *, narrowed: bool) -> dict[str, object]:
    """The settings of a recrawl-due target, or exit 2 saying what is wrong with it."""
    import inspect

    from operations.recrawl import rechecks_by_url, recrawl_due_settings
    from spiders.frontier import spider_class

    problem = None
    cls = spider_class(spider)
    if not platform:
        problem = "--recrawl-due needs --platform (the platform whose due listings each run rechecks)"
    elif narrowed:
        problem = "a --recrawl-due target crawls the listings due at each run: no start URLs, categories, ..."
    elif rechecks_by_url(cls) and "start_urls" not in inspect.signature(cls.__init__).parameters:
        problem = f"spider {spider!r} cannot recheck listings (by id or page address)"
    if problem is None:
        try:
            return recrawl_due_settings(str(platform), max_per_run)
        except ValueError as exc:
            problem = str(exc)
    err.print(message("error:", problem))
    raise typer.Exit(2)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A name operators will recognise, e.g. 'chem-daily'.")],
    base_url: Annotated[str, typer.Option("--base-url", help="The site, e.g. http://127.0.0.1:8000")],
    spider: Annotated[
        str, typer.Option(help="Spider that crawls the site: demo_mall, product_pages, profile, a profile's name.")
    ] = "demo_mall",
    profile: Annotated[
        str | None, typer.Option(help="Site profile (packaged name or YAML file): the profile spider runs it.")
    ] = None,
    arg: Annotated[
        list[str] | None, typer.Option("--arg", "-a", help="Spider argument KEY=VALUE, as scrapy crawl -a.")
    ] = None,
    sitemap: Annotated[
        list[str] | None, typer.Option(help="Sitemap URL to start from (product_pages; repeatable).")
    ] = None,
    recrawl_due: Annotated[
        bool,
        typer.Option(
            "--recrawl-due", help="Each run rechecks the listings of --platform due for a recrawl at its time."
        ),
    ] = False,
    platform: Annotated[str | None, typer.Option(help="Platform of a --recrawl-due target, e.g. demo-mall.")] = None,
    max_per_run: Annotated[
        int | None, typer.Option(help="Most listings one --recrawl-due run rechecks (default ops_recrawl_max_per_run).")
    ] = None,
    start_url: Annotated[list[str] | None, typer.Option(help="Page to start from (repeatable).")] = None,
    category: Annotated[list[str] | None, typer.Option(help="Category key (repeatable).")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="Keyword search (repeatable).")] = None,
    shop: Annotated[list[str] | None, typer.Option(help="Shop id (repeatable).")] = None,
    listing: Annotated[list[str] | None, typer.Option(help="Listing id to recheck (repeatable).")] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE, e.g. frontier_shards=4 (repeatable).")
    ] = None,
) -> None:
    """Add a target. With nothing narrower named, the whole site is crawled from its home page (the
    demo mall), from robots.txt's sitemaps (product_pages) or from the profile's start pages."""
    from operations.jobs import SPIDER_ARGS
    from spiders.frontier import SITEMAPS, seed_requests, spider_class

    try:
        spider, spider_args = _spider_args(spider, profile, arg or [])
        spider_class(spider)
    except (KeyError, typer.BadParameter) as exc:
        err.print(message("error:", exc.args[0]))
        raise typer.Exit(2) from None
    if not base_url.startswith(("http://", "https://")):
        err.print(message("error:", f"--base-url must be http(s): {base_url}"))
        raise typer.Exit(2)
    extra = _parse_settings(setting or [])
    if spider_args:
        extra[SPIDER_ARGS] = spider_args
    if sitemap:
        extra[SITEMAPS] = list(sitemap)
    if recrawl_due:
        narrowed = bool(start_url or category or keyword or shop or listing or sitemap)
        extra |= _recrawl_due(spider, platform, max_per_run, narrowed=narrowed)
    elif platform or max_per_run is not None:
        err.print(message("error:", "--platform and --max-per-run go with --recrawl-due"))
        raise typer.Exit(2)
    target = Target(
        name=name,
        spider=spider,
        base_url=base_url,
        start_urls=start_url or [],
        categories=category or [],
        keywords=keyword or [],
        shops=shop or [],
        listings=listing or [],
        settings=extra,
    )
    try:  # the seeds a run would start from: a target that cannot start is refused now, not at 8 am
        if not recrawl_due:  # (a recrawl-due target's seeds are the listings due at each run)
            seed_requests(
                "check",
                spider,
                base_url,
                start_urls=target.start_urls,
                categories=target.categories,
                keywords=target.keywords,
                shops=target.shops,
                listings=target.listings,
                spider_args=spider_args,
                sitemaps=target.settings.get(SITEMAPS) or (),
            )
    except (ValueError, TypeError) as exc:
        err.print(message("error:", exc))
        raise typer.Exit(2) from None
    store = ops_store()
    try:
        store.add_target(target)
    except TargetExistsError as exc:
        err.print(message("error:", exc))
        raise typer.Exit(1) from None
    finally:
        store.close()
    console.print(cell(f"target {target.id} {target.name} added"))


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every target."""
    store = ops_store()
    targets = store.list_targets()
    store.close()
    if as_json:
        for t in targets:
            json_line(_target_doc(t))
        return
    table = Table("id", "name", "spider", "site", "scope")
    for t in targets:
        args = t.settings.get("spider_args") or {}
        spider = t.spider + "".join(f" {k}={v}" for k, v in sorted(dict(args).items()))
        table.add_row(str(t.id), cell(t.name), cell(spider), cell(t.base_url), cell(_scope(t)))
    console.print(table)


def _scope(t: Target) -> str:
    from operations.recrawl import recrawl_due_spec

    due = recrawl_due_spec(t)
    if due is not None:
        most = f", at most {due['max_per_run']}" if due.get("max_per_run") else ""
        return f"listings due on {due['platform']}{most}"
    parts = [
        f"{label} {len(values)}"
        for label, values in (
            ("start URLs", t.start_urls),
            ("categories", t.categories),
            ("keywords", t.keywords),
            ("shops", t.shops),
            ("listings", t.listings),
        )
        if values
    ]
    return ", ".join(parts) or "whole site"


def _target_doc(t: Target) -> dict[str, object]:
    return {
        "id": t.id,
        "name": t.name,
        "spider": t.spider,
        "base_url": t.base_url,
        "start_urls": t.start_urls,
        "categories": t.categories,
        "keywords": t.keywords,
        "shops": t.shops,
        "listings": t.listings,
        "settings": t.settings,
        "created_at": t.created_at.isoformat() if t.created_at else None,
    }


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Target name or id.")]) -> None:
    """A target as JSON, with its schedules."""
    store = ops_store()
    target = target_or_exit(store, name)
    doc = _target_doc(target)
    doc["schedules"] = [
        {"id": s.id, "cron": s.cron, "timezone": s.timezone, "paused": s.paused}
        for s in store.list_schedules()
        if s.target_id == target.id
    ]
    store.close()
    json_line(doc, indent=True)


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Target name or id.")]) -> None:
    """Remove a target and its schedules (its jobs stay in the history)."""
    store = ops_store()
    target = target_or_exit(store, name)
    assert target.id is not None
    store.remove_target(target.id)
    store.close()
    console.print(cell(f"target {target.name} removed"))


@app.command("suggestions")
def suggestions_(limit: int = 50, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Crawl targets suggested by complaints: unmatched complaints naming a shop address or shop id."""
    from adapters import open_complaint_store
    from operations.suggestions import suggestions

    complaints = open_complaint_store()
    try:
        found = suggestions(complaints, limit=limit)
    finally:
        complaints.close()
    if as_json:
        for s in found:
            json_line(
                {
                    "complaint_id": s.complaint_id,
                    "received_at": s.received_at.isoformat(),
                    "platform": s.platform,
                    "shop_name": s.shop_name,
                    "shop_id": s.shop_id,
                    "url": s.url,
                }
            )
        return
    table = Table("complaint", "platform", "shop", "shop id", "address")
    for s in found:
        table.add_row(
            cell(s.complaint_id),
            cell(s.platform or "-"),
            cell(s.shop_name or "-"),
            cell(s.shop_id or "-"),
            cell(s.url or "-"),
        )
    console.print(table)


@app.command("accept-suggestion")
def accept_suggestion(
    complaint_id: Annotated[str, typer.Argument(help="The complaint (登记编号) whose shop to crawl.")],
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The site, when the complaint gives no web address.")
    ] = None,
    spider: Annotated[str, typer.Option(help="Spider that crawls the site.")] = "demo_mall",
    run: Annotated[bool, typer.Option("--run", help="Start its first run now (trigger: complaint).")] = False,
) -> None:
    """Accept a complaint's suggestion: its shop becomes a target named complaint-<id>."""
    import getpass
    import os

    from adapters import open_complaint_store
    from operations.suggestions import SuggestionError, accept, launch_first_run
    from spiders.frontier import spider_class

    try:
        spider_class(spider)
    except KeyError as exc:
        err.print(message("error:", exc.args[0]))
        raise typer.Exit(2) from None
    store, complaints = ops_store(), open_complaint_store()
    try:
        target = accept(store, complaints, complaint_id, spider=spider, base_url=base_url)
    except (SuggestionError, TargetExistsError) as exc:
        err.print(message("error:", exc))
        raise typer.Exit(1) from None
    finally:
        complaints.close()
    console.print(cell(f"target {target.id} {target.name} added (from complaint {complaint_id})"))
    if run:
        bus = frontier_bus()
        try:
            job = launch_first_run(
                store,
                bus,
                get_settings().topics.crawl_requests,
                target,
                requested_by=os.environ.get("SWEEP_USER") or getpass.getuser(),
            )
        finally:
            bus.close()
            store.close()
        console.print(cell(f"job {job.id} queued for {target.name}"))
    else:
        store.close()
