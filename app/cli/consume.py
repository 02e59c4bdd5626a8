"""`sweep consume ...`: long-running consumer processes.

Log records are cleaned for the terminal (`TerminalSafeFormatter`): a dead letter's error quotes the
crawled message it rejected. The consumer group name, typed by an operator, is shown as text, not markup.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.cli.display import TerminalSafeFormatter, cell

UntilIdleOpt = typer.Option(False, "--until-idle", help="exit once nothing arrived for --idle seconds")
IdleOpt = typer.Option(2.0, "--idle", help="idle seconds before --until-idle exits")
EveryOpt = typer.Option(5.0, "--every", help="seconds between progress lines")
QuietOpt = typer.Option(False, "--quiet", "-q", help="only the final summary")
StuckAfterOpt = typer.Option(
    120.0, "--stuck-after", help="seconds one batch may keep failing before the health says stuck"
)
"""Options every consumer command takes, defined once so that they read the same in every --help."""
TopicsOpt = typer.Option(
    [], "--topic", help="topics to consume (repeatable; default: {SWEEP_TOPIC_PREFIX}.leads and .listings)"
)

app = typer.Typer(help="Run consumers of the bus (indexer, detector, complaints).", no_args_is_help=True)


@app.callback()
def _main() -> None:
    """Consumers of the bus."""


_COLUMNS = (
    "messages",
    "lead_events",
    "listings",
    "created",
    "updated",
    "unchanged",
    "deadlettered",
    "retries",
    "rate",
    "elapsed_s",
)


def _stats_table(stats: dict, group: str) -> Table:
    table = Table(title=cell(f"indexer [{group}]"), show_header=True)
    for name in _COLUMNS:
        table.add_column(name, justify="right")
    table.add_row(*(cell(stats[name]) for name in _COLUMNS))
    return table


@app.command("indexer")
def indexer(
    group: str = typer.Option(
        "sweep-indexer", "--group", help="consumer group; processes in one group share partitions"
    ),
    until_idle: bool = UntilIdleOpt,
    idle: float = IdleOpt,
    batch: int = typer.Option(1000, "--batch", help="max messages per poll / store call"),
    every: float = EveryOpt,
    quiet: bool = QuietOpt,
    topic: list[str] = TopicsOpt,
    deadletter_topic: str | None = typer.Option(
        None, "--deadletter-topic", help="where poison goes (default: {SWEEP_TOPIC_PREFIX}.deadletter)"
    ),
    stuck_after: float = StuckAfterOpt,
) -> None:
    """Index lead events and listings from the bus into the lead store (at-least-once, idempotent).

    Stops cleanly on SIGTERM/SIGINT: the batch in hand finishes (or is left uncommitted), offsets of
    finished batches are committed, connections closed.
    """
    from adapters import open_bus, open_lead_store
    from consumers.indexer import Indexer, tune_gc
    from sweep.settings import get_settings

    console = _consumer_console()
    stop = _stop_on_signals(console)
    on_batch = _progress(
        console,
        None if quiet else every,
        ("messages", "lead_events", "listings", "created", "updated", "unchanged", "deadlettered", "retries"),
    )
    on_retry = _health_line(console)

    names = get_settings().topics
    bus = open_bus()
    store = open_lead_store()
    tune_gc()
    try:
        worker = Indexer(
            bus,
            store,
            group=group,
            batch=batch,
            topics=topic or [names.leads, names.listings],
            deadletter_topic=deadletter_topic or names.deadletter,
            stuck_after_s=stuck_after,
        )
        stats = worker.run(stop_when_idle=until_idle, idle_s=idle, stop=stop, on_batch=on_batch, on_retry=on_retry)
    finally:
        store.close()
        bus.close()
    console.print(_stats_table(stats.as_dict(), group))


RulebookOpt = typer.Option(
    None, "--rulebook", help="rulebook folder (default: SWEEP_RULEBOOK, else the packaged rules/book)"
)
_DETECTOR_COLUMNS = ("messages", "listings", "lead_events", "deadlettered", "retries", "rate", "elapsed_s")


@app.command("detector")
def detector(
    group: str = typer.Option(
        "sweep-detector", "--group", help="consumer group; processes in one group share the listings partitions"
    ),
    rulebook: Path | None = RulebookOpt,
    until_idle: bool = UntilIdleOpt,
    idle: float = IdleOpt,
    batch: int = typer.Option(500, "--batch", help="max listings per poll / flush"),
    every: float = EveryOpt,
    quiet: bool = QuietOpt,
    stuck_after: float = StuckAfterOpt,
) -> None:
    """Judge {SWEEP_TOPIC_PREFIX}.listings with the rulebook and publish lead events to .leads.

    Detection scaled out with partitions, apart from crawling: run one per partition and set
    SWEEP_DETECT_IN_CRAWLER=false so crawlers only publish listings. Offsets are committed after the
    lead events are flushed; what cannot be read goes to .deadletter. Stops cleanly on SIGTERM/SIGINT.
    """
    from adapters import open_bus
    from consumers.detector import Detector
    from consumers.indexer import tune_gc
    from rules import RulebookError, load_rulebook, native
    from sweep.settings import get_settings

    console = _consumer_console()
    settings = get_settings()
    try:
        book = load_rulebook(rulebook or settings.rulebook)
    except RulebookError as exc:
        console.print(Text.assemble(("rulebook failed to load: ", "red"), cell(str(exc))))
        raise typer.Exit(2) from exc
    names = settings.topics
    if not quiet:
        engine = "compiled" if native.mode() == "compiled" else "Python source (not compiled: slower)"
        console.print(
            cell(f"detector [{group}] {names.listings} -> {names.leads}, rulebook {book.version}, engine {engine}")
        )
    stop = _stop_on_signals(console)
    on_batch = _progress(
        console, None if quiet else every, ("messages", "listings", "lead_events", "deadlettered", "retries")
    )
    on_retry = _health_line(console)

    bus = open_bus()
    tune_gc()  # after loading the book: its automata are frozen out of the collector's way
    try:
        worker = Detector(bus, book, topics=names, group=group, batch=batch, stuck_after_s=stuck_after)
        stats = worker.run(stop_when_idle=until_idle, idle_s=idle, stop=stop, on_batch=on_batch, on_retry=on_retry)
    finally:
        bus.close()
    d = stats.as_dict()
    table = Table(title=cell(f"detector [{group}] rulebook {book.version}"), show_header=True)
    for name in _DETECTOR_COLUMNS:
        table.add_column(name, justify="right")
    table.add_row(*(cell(d[name]) for name in _DETECTOR_COLUMNS))
    console.print(table)


_COMPLAINT_COLUMNS = (
    "messages",
    "complaints",
    "created",
    "updated",
    "unchanged",
    "matched",
    "sellers_changed",
    "rematched",
    "deadlettered",
    "retries",
    "rate",
    "elapsed_s",
)


@app.command("complaints")
def complaints(
    group: str = typer.Option(
        "sweep-complaints", "--group", help="consumer group; processes in one group share partitions"
    ),
    until_idle: bool = UntilIdleOpt,
    idle: float = IdleOpt,
    batch: int = typer.Option(1000, "--batch", help="max messages per poll / store call"),
    every: float = EveryOpt,
    quiet: bool = QuietOpt,
    rematch: bool = typer.Option(
        True, "--rematch/--no-rematch", help="also read .leads and .listings: new sellers re-match complaints"
    ),
    stuck_after: float = StuckAfterOpt,
) -> None:
    """Store {SWEEP_TOPIC_PREFIX}.complaints in the complaint store (the complaints index with
    SWEEP_SEARCH_URL) and match them to sellers; re-match when leads bring new sellers.

    At-least-once and idempotent by complaint id; what cannot be read goes to .deadletter (masked).
    Stops cleanly on SIGTERM/SIGINT.
    """
    from adapters import open_bus, open_complaint_store, open_seller_directory
    from complaints.service import ComplaintWriter
    from consumers.complaints import ComplaintConsumer
    from sweep.settings import get_settings

    console = _consumer_console()
    stop = _stop_on_signals(console)
    on_batch = _progress(
        console,
        None if quiet else every,
        ("messages", "complaints", "created", "updated", "matched", "rematched", "deadlettered", "retries"),
    )
    on_retry = _health_line(console)

    bus = open_bus()
    store = open_complaint_store()
    directory = open_seller_directory()
    try:
        worker = ComplaintConsumer(
            bus,
            ComplaintWriter(store, directory),
            topics=get_settings().topics,
            group=group,
            batch=batch,
            rematch=rematch,
            stuck_after_s=stuck_after,
        )
        stats = worker.run(stop_when_idle=until_idle, idle_s=idle, stop=stop, on_batch=on_batch, on_retry=on_retry)
    finally:
        directory.close()
        store.close()
        bus.close()
    d = stats.as_dict()
    table = Table(title=cell(f"complaints [{group}]"), show_header=True)
    for name in _COMPLAINT_COLUMNS:
        table.add_column(name, justify="right")
    table.add_row(*(cell(d[name]) for name in _COMPLAINT_COLUMNS))
    console.print(table)


def _consumer_console() -> Console:
    """Log warnings with crawled text made safe, and a console for progress on stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(TerminalSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=160)  # logs: keep tables readable


def _stop_on_signals(console: Console) -> threading.Event:
    """SIGTERM/SIGINT finish the batch in hand (or leave it uncommitted), then the loop returns."""
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        console.print(Text(f"signal {signum}: stopping after the current batch", style="yellow"))
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    return stop


def _progress(console: Console, every: float | None, fields: tuple[str, ...]) -> Callable[[Any], None]:
    """A progress line of `fields` (short names) and the rate at most every `every` seconds; None: silent."""
    short = {"messages": "msgs", "lead_events": "events", "deadlettered": "dead"}
    last = [0.0]

    def on_batch(stats: Any) -> None:
        now = time.monotonic()
        if every is not None and now - last[0] >= every:
            last[0] = now
            d = stats.as_dict()
            counts = " ".join(f"{short.get(f, f)}={d[f]}" for f in fields)
            console.print(Text.assemble((time.strftime("%H:%M:%S"), "dim"), f" {counts} rate={d['rate']}/s"))

    return on_batch


def _health_line(console: Console) -> Callable[[dict], None]:
    """Printed even with --quiet: a consumer that backs off or is stuck is what an operator must see."""

    def on_retry(health: dict) -> None:
        console.print(
            Text(
                f"{time.strftime('%H:%M:%S')} health={health['state']} failing_for={health['failing_for_s']}s "
                f"attempts={health['attempts']}",
                style="red" if health["state"] == "stuck" else "yellow",
            )
        )

    return on_retry
