"""`sweep services ...`: real Kafka / OpenSearch / Elasticsearch on 127.0.0.1 for development and tests."""

import typer

app = typer.Typer(help="Start, stop and inspect local Kafka and search servers (no Docker).", no_args_is_help=True)
