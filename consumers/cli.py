"""`sweep consume ...`: long-running consumer processes."""

import typer

app = typer.Typer(help="Run consumers of the bus (indexer, dead letters).", no_args_is_help=True)
