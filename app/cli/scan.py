"""`sweep scan FILE.jsonl`: listings in, findings out (one JSON object per line, taxonomy format).

A malformed line never stops the scan: it is reported on stderr with its line number and the field
that is wrong, the remaining lines are scanned, and the exit code (1) tells scripts that something
was skipped.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, BinaryIO

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sweep.models import FAMILY_LABELS_ZH, Finding, Listing

EXIT_SKIPPED = 1

err = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a listing; `message` names file:line and the field."""

    message: str

    def __str__(self) -> str:
        return self.message


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "(record)"
        parts.append(f"field {where}: {e['msg']}")
    return "; ".join(parts)


def read_listings(stream: BinaryIO, source: str) -> Iterator[Listing | BadLine]:
    """Listings from JSON lines; a bad line yields a `BadLine` naming file, line and field."""
    for lineno, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield BadLine(f"{source}:{lineno}: not valid JSON ({exc})")
            continue
        if not isinstance(doc, dict):
            yield BadLine(f"{source}:{lineno}: expected a JSON object, got {type(doc).__name__}")
            continue
        try:
            yield Listing.model_validate(doc)
        except ValidationError as exc:
            yield BadLine(f"{source}:{lineno}: {describe_validation_error(exc)}")


def finding_line(finding: Finding) -> bytes:
    return orjson.dumps(finding.model_dump(mode="json", exclude_none=True)) + b"\n"


def scan(
    file: Annotated[Path, typer.Argument(help="Listings as JSON lines (`-` for standard input).", show_default=False)],
    rulebook: Annotated[Path | None, typer.Option(help="Rulebook folder (default: the packaged rules/book).")] = None,
    family: Annotated[list[str] | None, typer.Option("--family", "-f", help="Only print these families.")] = None,
    publish: Annotated[
        bool, typer.Option(help="Also publish listings and findings to the bus (SWEEP_KAFKA or embedded).")
    ] = False,
    summary: Annotated[bool, typer.Option(help="Print a table of findings per family on stderr.")] = True,
) -> None:
    from rules import load_rulebook

    book = load_rulebook(rulebook)
    wanted = set(family or ())
    out = sys.stdout.buffer
    publisher = None
    if publish:
        from adapters import open_bus
        from sweep.publishing import Publisher

        publisher = Publisher(open_bus())
    counts: Counter[str] = Counter()
    listings = skipped = 0
    stream = sys.stdin.buffer if str(file) == "-" else file.open("rb")
    try:
        for item in read_listings(stream, "<stdin>" if str(file) == "-" else str(file)):
            if isinstance(item, BadLine):
                skipped += 1
                err.print(Text.assemble(("skipped ", "red"), str(item)), highlight=False, soft_wrap=True)
                continue
            listings += 1
            findings = book.scan(item)
            if publisher:
                publisher.publish_listing(item)
                publisher.publish_findings(item, findings)
            for finding in findings:
                if wanted and finding.family not in wanted:
                    continue
                counts[finding.family] += 1
                out.write(finding_line(finding))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
        out.flush()
        if publisher:
            publisher.flush()
            publisher.bus.close()
    if summary:
        err.print(findings_table(counts, listings, skipped))
    if skipped:
        raise typer.Exit(EXIT_SKIPPED)


def findings_table(counts: Counter[str], listings: int, skipped: int) -> Table:
    table = Table(title=f"扫描结果 — {listings} listings scanned, {skipped} skipped", title_justify="left")
    table.add_column("family")
    table.add_column("类别")
    table.add_column("findings", justify="right")
    for fam, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(fam, FAMILY_LABELS_ZH.get(fam, ""), str(n))
    table.add_row("[b]total[/b]", "", f"[b]{sum(counts.values())}[/b]")
    return table
