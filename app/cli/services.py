"""`sweep services ...`: real Kafka / OpenSearch / Elasticsearch on 127.0.0.1 for development and tests.

A thin layer over `services.manager` (which `services/*.sh` call too), so the shell scripts used by CI
and the CLI used by people behave the same.
"""

from __future__ import annotations

from typing import Annotated

import typer

from services import manager

app = typer.Typer(help="Start, stop and inspect local Kafka and search servers (no Docker).", no_args_is_help=True)

Names = Annotated[
    list[str] | None,
    typer.Argument(help=f"any of: {', '.join(manager.ALL)} (default: all)", show_default=False),
]


def _run(fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    try:
        fn(*args, **kwargs)
    except manager.ServiceError as exc:
        manager.say(f"ERROR: {exc}")
        raise typer.Exit(1) from exc


@app.command()
def up(
    names: Names = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for health")] = manager.START_TIMEOUT_S,
) -> None:
    """Fetch (first run only), start and wait until healthy; already running servers are left as they are."""
    _run(manager.up, names, timeout_s=timeout)


@app.command()
def down(
    names: Names = None,
    timeout: Annotated[float, typer.Option(help="seconds between SIGTERM and SIGKILL")] = manager.STOP_TIMEOUT_S,
) -> None:
    """Stop servers this tool started (SIGTERM, then SIGKILL after the timeout)."""
    _run(manager.down, names, timeout_s=timeout)


@app.command()
def status() -> None:
    """Table of servers, health, PIDs, ports and versions; exit code 1 unless all are healthy."""
    if not manager.print_status():
        raise typer.Exit(1)


@app.command()
def logs(
    names: Names = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="how many lines")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep following (one server only)")] = False,
) -> None:
    """Last lines of the servers' logs (.services/logs/)."""
    chosen = names or list(manager.ALL)
    if follow and len(chosen) != 1:
        manager.say("ERROR: --follow needs exactly one server name")
        raise typer.Exit(2)
    for name in chosen:
        if not follow:
            typer.secho(f"----- {name}", bold=True)
        _run(manager.logs, name, lines=lines, follow=follow)
