"""`sweep scan FILE.jsonl`: listings in, findings out (one JSON object per line, taxonomy format).

A malformed line never stops the scan: it is reported on stderr with its line number and the field
that is wrong, the remaining lines are scanned, and the exit code (1) tells scripts that something
was skipped.

Findings on stdout are faithful JSON (orjson escapes C0 controls such as ESC; the C1 and bidi controls
JSON may carry raw are escaped too, see `sweep.text.terminal_safe_json`). The stderr report quotes the
input only through `sweep.text.safe_text`: a bad line's field names come from the file, which is
crawled text.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.cli.display import cell
from sweep.models import FAMILY_LABELS_ZH, Finding, Listing

if TYPE_CHECKING:
    from rules import Rulebook
    from sweep.publishing import Publisher
from sweep.text import MESSAGE_LIMIT, safe_text, terminal_safe_json_bytes

EXIT_SKIPPED = 1

err = Console(stderr=True)


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as a listing; `message` names file:line and the field."""

    message: str

    def __str__(self) -> str:
        return self.message


def describe_validation_error(exc: ValidationError) -> str:
    """`field price: Input should be a valid number; ...` for at most three errors. The location may
    hold keys from the input (`attributes.<any key>`), so each part is cleaned for the terminal."""
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(safe_text(p, limit=80) for p in e["loc"]) or "(record)"
        parts.append(f"field {where}: {safe_text(e['msg'], limit=200)}")
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
    """One finding as a JSON line: evidence quotes the listing, so terminal-acting characters are escaped."""
    return terminal_safe_json_bytes(orjson.dumps(finding.model_dump(mode="json", exclude_none=True))) + b"\n"


@dataclass(slots=True)
class Tally:
    """Listings read and lines skipped by `judge`."""

    listings: int = 0
    skipped: int = 0


def open_input(file: Path) -> tuple[BinaryIO, str]:
    """The stream and the name to quote in messages; `-` is standard input. A file that cannot be
    opened ends the command with exit code 2 and the reason, never a traceback."""
    if str(file) == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return file.open("rb"), str(file)
    except OSError as exc:
        err.print(Text.assemble(("无法读取 ", "bold red"), safe_text(exc, limit=MESSAGE_LIMIT)), highlight=False)
        raise typer.Exit(2) from None


def judge(
    stream: BinaryIO, source: str, book: Rulebook, publisher: Publisher | None, tally: Tally
) -> Iterator[Finding]:
    """Every finding of every readable listing, the listing and its findings published when a
    publisher is given (as a crawl does); a bad line is reported on stderr, counted and skipped."""
    for item in read_listings(stream, source):
        if isinstance(item, BadLine):
            tally.skipped += 1
            err.print(
                Text.assemble(("skipped ", "red"), safe_text(item, limit=MESSAGE_LIMIT)),
                highlight=False,
                soft_wrap=True,
            )
            continue
        tally.listings += 1
        findings = book.scan(item)
        if publisher is not None:
            publisher.publish_listing(item)
            publisher.publish_findings(item, findings)
        yield from findings


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
    tally = Tally()
    stream, source = open_input(file)
    try:
        for finding in judge(stream, source, book, publisher, tally):
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
        err.print(findings_table(counts, tally.listings, tally.skipped))
    if tally.skipped:
        raise typer.Exit(EXIT_SKIPPED)


def findings_table(counts: Counter[str], listings: int, skipped: int) -> Table:
    table = Table(title=f"扫描结果 — {listings} listings scanned, {skipped} skipped", title_justify="left")
    table.add_column("family")
    table.add_column("类别")
    table.add_column("findings", justify="right")
    for fam, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        table.add_row(cell(fam), cell(FAMILY_LABELS_ZH.get(fam, "")), cell(n))
    table.add_row(cell("total", "b"), "", cell(sum(counts.values()), "b"))
    return table
