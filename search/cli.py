"""`sweep search ...`: index administration."""

import typer

app = typer.Typer(help="Search index administration (templates, reindex).", no_args_is_help=True)
