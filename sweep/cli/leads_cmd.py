"""`sweep leads ...`."""

import typer

app = typer.Typer(help="Search and triage leads.", no_args_is_help=True)
