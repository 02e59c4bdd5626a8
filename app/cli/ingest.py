"""`sweep ingest FILE.jsonl`: listings from a file (a platform's data feed, another crawler's output)
through the same pipeline as a crawl: validate -> rules -> bus -> the indexer.

Reading and validation are `sweep scan`'s own (`app.cli.scan.read_listings`), so a malformed line is
reported the same way — file:line and the field, cleaned for the terminal — and skipped, the rest go
on, and exit code 1 says something was skipped. Listings and findings are published with the same
`Publisher` a crawl uses; delivery is confirmed (flushed) before the summary is printed. The indexer
(`sweep consume indexer`, or the running service) then puts them in the lead store, and the complaints
capability's seller directory learns the shops from the same topics.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from app.cli.scan import EXIT_SKIPPED, Tally, findings_table, judge, open_input

err = Console(stderr=True)


def ingest(
    file: Annotated[Path, typer.Argument(help="Listings as JSON lines (`-` for standard input).", show_default=False)],
    rulebook: Annotated[Path | None, typer.Option(help="Rulebook folder (default: the packaged rules/book).")] = None,
) -> None:
    """Validate, scan and publish every listing of FILE; print a summary on stderr."""
    from adapters import open_bus
    from rules import load_rulebook
    from sweep.publishing import Publisher

    book = load_rulebook(rulebook)
    stream, source = open_input(file)
    publisher = Publisher(open_bus())
    counts: Counter[str] = Counter()
    tally = Tally()
    try:
        counts.update(f.family for f in judge(stream, source, book, publisher, tally))
        publisher.flush()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
        publisher.bus.close()
    err.print(findings_table(counts, tally.listings, tally.skipped))
    err.print(
        Text(f"已发布 {publisher.listings} 条商品、{publisher.lead_events} 条线索事件到消息总线；"
             "索引由 `sweep consume indexer` 完成"),
        highlight=False,
    )  # fmt: skip
    if tally.skipped:
        raise typer.Exit(EXIT_SKIPPED)
