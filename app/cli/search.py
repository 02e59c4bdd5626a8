"""`sweep search ...`: index administration (templates, aliases, reindex).

What the search server answers (index names, versions, analysis) is printed as text, never as Rich
markup, and cleaned like crawled text: it is data from outside the program.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.cli.display import cell
from sweep.text import terminal_safe_json

app = typer.Typer(help="Search index administration (templates, reindex).", no_args_is_help=True)
console = Console()


def _store(prefix: str | None, *, ensure: bool = True):
    from adapters.store.searchengine import open_search_store
    from sweep.settings import get_settings

    settings = get_settings()
    if not settings.search_url:
        console.print(Text("SWEEP_SEARCH_URL is not set: the embedded SQLite store needs no index admin.", style="red"))
        raise typer.Exit(2)
    return open_search_store(settings, prefix=prefix, ensure=ensure)


KindsOpt = typer.Option(["leads"], "--kind", help="leads, listings or complaints (repeatable)")
PrefixOpt = typer.Option(None, "--prefix", help="index prefix (default: settings.index_prefix)")


@app.command("init")
def init(prefix: str | None = PrefixOpt) -> None:
    """Install index templates and create `{prefix}-{kind}-v1` behind its alias where missing (idempotent)."""
    from adapters.store.searchengine import admin

    with _store(prefix) as store:
        _print_status(admin.status(store))


@app.command("status")
def status(
    prefix: str | None = PrefixOpt,
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Server flavour, analysis (cjk or fallback), aliases, index versions and document counts."""
    from adapters.store.searchengine import admin

    with _store(prefix, ensure=False) as store:  # looking must not create anything
        data = admin.status(store)
    if as_json:
        print(terminal_safe_json(json.dumps(data, ensure_ascii=False, indent=2)))
    else:
        _print_status(data)


@app.command("reindex")
def reindex(
    kind: list[str] = KindsOpt,
    prefix: str | None = PrefixOpt,
) -> None:
    """Create vN+1 with the current mapping, copy vN into it, swap the alias atomically. vN is kept
    (swap back by hand or delete it with `sweep search drop-old`). Pause indexers while it runs."""
    from adapters.store.searchengine import admin

    with _store(prefix) as store:
        for k in kind:
            result = admin.reindex(store, k)
            console.print(
                Text.assemble(
                    cell(result["alias"], "green"),
                    cell(
                        f": {result['from']} -> {result['to']} "
                        f"({result['docs']} docs, {result['method']}-side copy); {result['from']} kept"
                    ),
                )
            )


@app.command("drop-old")
def drop_old(
    kind: str | None = typer.Option(None, "--kind", help="only this kind"),
    prefix: str | None = PrefixOpt,
    yes: bool = typer.Option(False, "--yes", help="do not ask"),
) -> None:
    """Delete versioned indices that no alias points to (the old side of a finished reindex)."""
    from adapters.store.searchengine import admin

    if not yes:
        typer.confirm("Delete un-aliased sweep indices?", abort=True)
    with _store(prefix) as store:
        dropped = admin.drop_old(store, kind)
    console.print(cell(f"dropped: {', '.join(dropped) or 'nothing'}", limit=None))


def _print_status(data: dict) -> None:
    server = data["server"]
    console.print(
        Text.assemble(
            cell(server["flavor"], "bold"),
            cell(f" {server['number']} · analysis: "),
            cell(data["analysis"], "cyan"),
            cell(f" · prefix: {data['prefix']}"),
        )
    )
    table = Table("alias", "index", "aliased", "docs", "mapping", "analysis")
    for kind in data["kinds"].values():
        for row in kind["indices"] or [{"index": "-", "aliased": False, "docs": 0}]:
            table.add_row(
                cell(kind["alias"]),
                cell(row["index"]),
                cell("yes" if row["aliased"] else ""),
                cell(row["docs"]),
                cell(row.get("mapping_version") or ""),
                cell(row.get("analysis") or ""),
            )
    console.print(table)
