"""`python -m app …` is the `sweep` command, for checkouts where the console script is not installed."""

from app.cli.main import app

app()
