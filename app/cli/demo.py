"""`sweep demo`, `sweep demo-mall` and `sweep crawl`.

`sweep demo` is the production pipeline on one machine, not a toy beside it: the demo marketplace
runs as its own process, the Scrapy spider crawls it (browser for JavaScript pages), the item
pipelines validate, detect and publish to the bus, and the indexer consumer moves leads from the bus
into the lead store — the same classes that run against Kafka and Elasticsearch, with the embedded
SQLite adapters behind the ports.

The mall's output goes to `demo-mall.log` in the data directory, never to a pipe: a pipe nobody reads
fills up (64 kB on Linux) and then blocks the mall mid-crawl. When the mall fails, the log's tail is
printed (cleaned, like everything else the summary shows).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.cli.display import block, cell, clean_log_messages
from sweep.models import FAMILIES, FAMILY_LABELS_ZH
from sweep.settings import get_settings
from sweep.text import safe_text

console = Console()


def demo_mall(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one and prints it).")] = 8000,
    listings: Annotated[int, typer.Option(help="How many listings the mall offers.", min=1)] = 300,
    seed: Annotated[int, typer.Option(help="Same seed, same mall.")] = 7,
    truth: Annotated[
        Path | None, typer.Option(help="Write the ground truth (listing -> families) as JSON lines here.")
    ] = None,
    expected: Annotated[
        Path | None, typer.Option(help="Write what a correct crawl must produce (absolute URLs unless --port 0).")
    ] = None,
    change: Annotated[
        int, typer.Option(help="Serve the mall later: this many listings with a new price and title/text/images.")
    ] = 0,
    remove: Annotated[int, typer.Option(help="… this many listings removed (a 404 or a 下架 page).")] = 0,
    relist: Annotated[
        int, typer.Option(help="… this many listings removed and offered again under a new id in the same shop.")
    ] = 0,
    removal: Annotated[
        str, typer.Option(help="How removed pages answer: 404, delisted (下架 page) or mixed.")
    ] = "mixed",
    evolve_seed: Annotated[int, typer.Option(help="Which listings change (same seeds, same changes).")] = 0,
    changes: Annotated[
        Path | None, typer.Option(help="Write what changed, was removed or relisted (JSON) here.")
    ] = None,
) -> None:
    """Serve the demo marketplace; with --change/--remove/--relist, the same mall some time later
    (`demomall.generator.Mall.evolve`: deterministic from --seed and --evolve-seed)."""
    from demomall.generator import generate
    from demomall.server import serve_forever

    if removal not in ("404", "delisted", "mixed"):
        raise typer.BadParameter("--removal must be 404, delisted or mixed")
    mall = generate(listings, seed)
    if change or remove or relist:
        mall = mall.evolve(change=change, remove=remove, relist=relist, removal=removal, seed=evolve_seed)  # type: ignore[arg-type]
    if changes:
        changes.parent.mkdir(parents=True, exist_ok=True)
        changes.write_bytes(orjson.dumps(mall.changes.as_dict(), option=orjson.OPT_INDENT_2))
    if truth:
        mall.write_truth(truth)
    if expected:  # absolute URLs, as a crawl writes them, whenever the port is known up front
        mall.write_listings(expected, base_url=f"http://127.0.0.1:{port}" if port else None)
    serve_forever(mall, port)


def crawl(
    spider: Annotated[str, typer.Argument(help="Spider name, e.g. demo_mall, product_pages, profile.")],
    base_url: Annotated[
        str | None, typer.Option(help="Where the platform is, e.g. http://127.0.0.1:8000 (a profile knows its own).")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Also write listings as JSON lines.")] = None,
    publish: Annotated[bool, typer.Option(help="Publish listings and findings to the bus.")] = True,
    arg: Annotated[
        list[str] | None,
        typer.Option("-a", "--arg", help="Spider argument NAME=VALUE, as scrapy crawl -a (e.g. -a profile=FILE)."),
    ] = None,
    js: Annotated[bool, typer.Option("--js/--no-js", help="Render client-side pages with Chromium.")] = True,
) -> None:
    """Crawl with one spider in this process, e.g. `sweep crawl profile -a profile=shop.yaml`."""
    from spiders.run import crawl as run_crawl
    from spiders.run import parse_spider_args

    try:
        spider_args = parse_spider_args(arg or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    clean_log_messages()  # the spider logs crawled URLs and errors quoting crawled text
    stats = run_crawl(
        spider,
        base_url=base_url or "",
        output=output,
        publish=publish,
        progress=True,
        spider_args=spider_args,
        render_js=js,
    )
    console.print(crawl_table(stats))
    if stats.errors or stats.invalid:
        raise typer.Exit(1)


def crawl_table(stats: object) -> Table:
    table = Table(title="抓取统计 crawl", title_justify="left", show_header=False)
    names = ("pages", "static_pages", "browser_pages", "listings", "findings", "invalid", "errors", "seconds")
    recrawl = ("detections", "listings_new", "listings_changed", "listings_unchanged", "listings_removed")
    for name in names + recrawl:
        value = getattr(stats, name, None)
        if value is not None:
            table.add_row(name, cell(f"{value:.1f}" if isinstance(value, float) else value))
    return table


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_logged(argv: list[str], log_path: Path) -> subprocess.Popen:
    """Start a helper process whose stdout and stderr go to `log_path` (truncated first).

    Why a file and not `PIPE`: nobody reads the pipe while the crawl runs, and a child that writes more
    than the pipe buffer (a warning per request, a long traceback) would block forever on its next write.
    The file also outlives the child, so a failure can be explained after the fact."""
    with log_path.open("wb") as log:  # the child holds its own descriptor; ours can close now
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
        )


def log_tail(log_path: Path, lines: int = 15) -> str:
    """The last `lines` lines of a helper's log, cleaned for the terminal ("" when there is none)."""
    try:
        with log_path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 64_000, 0))
            tail = fh.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return ""
    return safe_text("\n".join(tail), limit=4000, multiline=True)


def _wait_http(url: str, timeout_s: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the demo marketplace exited with code {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the demo marketplace did not answer at {url} within {timeout_s:.0f}s")


def demo(
    listings: Annotated[int, typer.Option(help="Size of the demo marketplace.", min=10)] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the demo marketplace.")] = 7,
) -> None:
    settings = get_settings()
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    truth_path, crawl_out = data / "demo-truth.jsonl", data / "demo-listings.jsonl"
    mall_log = data / "demo-mall.log"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    console.rule(Text("sweep demo — 网络交易监测演示", style="b"))
    console.print(cell(f"1/3 启动演示商城 demo marketplace: {listings} listings, seed {seed} → {base_url}", limit=None))
    mall = start_logged(
        [
            sys.executable,
            "-m",
            "app.cli.main",
            "demo-mall",
            "--port",
            str(port),
            "--listings",
            str(listings),
            "--seed",
            str(seed),
            "--truth",
            str(truth_path),
        ],
        mall_log,
    )
    try:
        try:
            _wait_http(base_url + "/robots.txt", 60, mall)
        except RuntimeError as exc:
            console.print(mall_failure(exc, mall_log))
            raise typer.Exit(1) from None
        console.print("2/3 抓取、检测、发布 crawl → rules → bus")
        from spiders.run import crawl as run_crawl

        clean_log_messages()  # the spider logs crawled URLs and errors quoting crawled text
        stats = run_crawl("demo_mall", base_url=base_url, output=crawl_out, publish=True, progress=True)
        died = mall.poll()  # a mall that died mid-crawl explains the crawl's errors: say so, with its log
        if died is not None:
            console.print(mall_failure(RuntimeError(f"exited with code {died} during the crawl"), mall_log))
    finally:
        mall.terminate()
        try:
            mall.wait(10)
        except subprocess.TimeoutExpired:
            mall.kill()
            mall.wait()
    console.print("3/3 索引线索 bus → indexer → lead store")
    from adapters import open_bus, open_lead_store
    from consumers.indexer import Indexer

    with open_bus(settings) as bus, open_lead_store(settings) as store:
        indexed = Indexer(bus, store, group="sweep-indexer").run(stop_when_idle=True, idle_s=1.0)
        from sweep.store import LeadQuery

        facets = store.search(LeadQuery(size=1)).facets
        total_leads = store.count()
    elapsed = time.monotonic() - started
    console.print(crawl_table(stats))
    console.print(summary_table(facets.get("family", {}), truth_path))
    console.print(
        Text.assemble(
            ("完成 done", "b"),
            cell(
                f" in {elapsed:.1f}s: {stats.pages} pages crawled ({stats.browser_pages} in the browser), "
                f"{stats.listings} listings, {stats.findings} findings → {indexed.created} new and "
                f"{indexed.updated} updated leads, {indexed.deadlettered} dead letters; "
                f"{total_leads} leads in {settings.store_db}",
                limit=None,
            ),
        )
    )
    console.print(
        "检索线索 search the leads:\n"
        "  sweep leads search 氰化钾 --family chem.toxic\n"
        "  sweep leads search 枸杞 --family origin.gi_mismatch --sort priority\n"
        "  sweep leads search --status new --severity high"
    )


def mall_failure(exc: Exception, log_path: Path) -> Text:
    """Why the demo stopped: the error, where the mall's log is, and its last lines."""
    text = Text.assemble(("演示商城启动失败 the demo marketplace failed: ", "bold red"), safe_text(exc))
    text.append(f"\n日志 log: {safe_text(log_path, limit=None)}")
    tail = log_tail(log_path)
    if tail:
        text.append("\n")
        text.append_text(block(tail, "dim", limit=None))
    return text


def summary_table(store_counts: dict[str, int], truth_path: Path) -> Table:
    """Leads per family next to the marketplace's ground truth, so a newcomer sees what was found and
    what was missed."""
    truth: Counter[str] = Counter()
    if truth_path.exists():
        for line in truth_path.read_bytes().splitlines():
            if line.strip():
                truth.update(orjson.loads(line)["families"])
    table = Table(title="线索统计 leads per family (store vs. the mall's ground truth)", title_justify="left")
    table.add_column("family")
    table.add_column("类别")
    table.add_column("leads", justify="right")
    table.add_column("truth", justify="right")
    for family in FAMILIES:  # only the taxonomy's families: other keys in the counts are never printed
        table.add_row(family, FAMILY_LABELS_ZH[family], cell(store_counts.get(family, 0)), cell(truth.get(family, 0)))
    return table
