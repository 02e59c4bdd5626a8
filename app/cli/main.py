"""The `sweep` command: one Typer app assembled from one module per area."""

from __future__ import annotations

import typer

from app.cli import (
    audit,
    complaints,
    consume,
    demo,
    evidence,
    ingest,
    jobs,
    leads,
    profiles,
    report,
    rules,
    scan,
    schedule,
    scheduler,
    search,
    serve,
    services,
    status,
    takedown,
    targets,
    users,
    worker,
)

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

app.command("demo", help="Run the whole pipeline on a demo marketplace and print a summary.")(demo.demo)
app.command("demo-mall", help="Serve the demo marketplace (a believable Chinese B2C site) on 127.0.0.1.")(
    demo.demo_mall
)
app.command("crawl", help="Crawl a platform with its spider; publish listings and findings to the bus.")(demo.crawl)
app.command("scan", help="Scan listings (JSON lines) with the rulebook; print findings as JSON lines.")(scan.scan)
app.command("ingest", help="Send listings (JSON lines) through rules and bus, as a crawl does.")(ingest.ingest)
app.add_typer(leads.app, name="leads")
app.add_typer(rules.app, name="rules")
app.add_typer(consume.app, name="consume")
app.add_typer(search.app, name="search")
app.add_typer(services.app, name="services")
app.command("serve", help="Serve the enforcement workspace (执法工作台) in a browser, with its JSON API.")(serve.serve)
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(complaints.app, name="complaints")
app.add_typer(targets.app, name="targets")
app.add_typer(schedule.app, name="schedule")
app.add_typer(jobs.app, name="jobs")
app.add_typer(takedown.app, name="takedown")
app.add_typer(evidence.app, name="evidence")
app.add_typer(report.app, name="report")
app.add_typer(profiles.app, name="profiles")
app.command("status", help="Pipeline health: topics, dead letters, consumer lag, search cluster, scheduler.")(
    status.status
)
app.command("scheduler", help="Fire due crawl schedules (several may run; each run fires once).")(scheduler.scheduler)
app.command("crawl-worker", help="Crawl requests from the shared frontier (a consumer group of workers).")(
    worker.crawl_worker
)

if __name__ == "__main__":
    app()
