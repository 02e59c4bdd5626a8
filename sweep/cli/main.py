"""The `sweep` command. Each area contributes its own sub-app; this module only wires them."""

from __future__ import annotations

import typer

from consumers.cli import app as consume_app
from rules.cli import app as rules_app
from search.cli import app as search_app
from services.cli import app as services_app
from sweep.cli import demo_cmd, leads_cmd, scan_cmd

app = typer.Typer(
    name="sweep",
    help=(
        "sweep — 网络交易监测. Crawl marketplaces, detect suspected violations (hazardous chemicals, "
        "misleading food claims, counterfeits, personal-data sales, shop licences), stream them and "
        "search the leads.\n\nStart with `sweep demo`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

app.command("demo", help="Run the whole pipeline on a demo marketplace and print a summary.")(demo_cmd.demo)
app.command("demo-mall", help="Serve the demo marketplace (a believable Chinese B2C site) on 127.0.0.1.")(
    demo_cmd.demo_mall
)
app.command("crawl", help="Crawl a platform with its spider; publish listings and findings to the bus.")(demo_cmd.crawl)
app.command("scan", help="Scan listings (JSON lines) with the rulebook; print findings as JSON lines.")(scan_cmd.scan)
app.add_typer(leads_cmd.app, name="leads")
app.add_typer(rules_app, name="rules")
app.add_typer(consume_app, name="consume")
app.add_typer(search_app, name="search")
app.add_typer(services_app, name="services")

if __name__ == "__main__":
    app()
