"""`sweep rules ...`: analyst tools for the rulebook."""

import typer

app = typer.Typer(help="规则库工具 — lint, test, explain, backtest and diff the rulebook.", no_args_is_help=True)
