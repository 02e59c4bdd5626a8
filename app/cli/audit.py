"""`sweep audit`: check the audit trail's hash chain, and export it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The audit trail of the workspace: verify its hash chain, export it.")


@app.command("verify")
def verify() -> None:
    """Recompute every record's hash from its content and the previous record's hash. Exit 1 at the
    first record that does not match (changed, removed or reordered), naming it."""
    from adapters.people import open_people_store
    from sweep.audit import verify_chain

    people = open_people_store()
    try:
        checked, broken = verify_chain(people.audit_records())
        last = next(iter(people.audit_search(limit=1)), None)
    finally:
        people.close()
    if broken is not None:
        typer.echo(f"audit chain BROKEN at record {broken} ({checked} records before it verified)")
        raise typer.Exit(1)
    head = last.hash if last else "(empty)"
    typer.echo(f"audit chain OK: {checked} records, head {head}")


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="file (default: standard output)")] = None,
) -> None:
    """Every record in chain order, with its hashes (a JSON lines export can be verified on its own)."""
    from adapters.people import open_people_store
    from workspace.exports import audit_csv, audit_jsonl

    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("jsonl or csv", param_hint="--format")
    people = open_people_store()
    try:
        chunks = (audit_jsonl if fmt == "jsonl" else audit_csv)(people.audit_records())
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            if output:
                out.close()
    finally:
        people.close()
