"""How the `sweep` commands put data on a terminal: crawled text as cleaned `Text`, never as markup.

A listing title is hostile input twice over: control and escape sequences act on the terminal (cleaned
by `sweep.text.safe_text`), and `[bold]`/`[link=...]`/`[/]` would be read by Rich as markup (styling,
clickable links, or a crash on an unbalanced tag). Every value that did not come from sweep's own
source code therefore reaches Rich through `cell`/`block` (a `rich.text.Text`, which Rich never parses),
and JSON for scripts through `json_line`.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import typer
from rich.text import Text

from sweep.text import BLOCK_LIMIT, CELL_LIMIT, MESSAGE_LIMIT, safe_lines, safe_text, terminal_safe_json

LOG_LIMIT = 8000
"""Characters of one log record (a traceback fits)."""


def cell(value: object, style: str = "", *, limit: int | None = CELL_LIMIT) -> Text:
    """One-line untrusted value (table cell, inline field) as plain text, optionally styled as a whole."""
    return Text(safe_text(value, limit=limit), style=style)


def block(value: object, style: str = "", *, limit: int | None = BLOCK_LIMIT) -> Text:
    """Multi-line untrusted value (description, note, several evidence lines) with its line breaks."""
    return Text(safe_text(value, limit=limit, multiline=True), style=style)


def message(label: str, detail: object, style: str = "bold red") -> Text:
    """`label detail`: a fixed label in `style`, then an error detail that may quote input (cleaned,
    bounded, never markup)."""
    return Text.assemble((label, style), " ", safe_text(detail, limit=MESSAGE_LIMIT))


def json_line(doc: Any, *, indent: bool = False) -> None:
    """Print `doc` as JSON for scripts: faithful data, with the characters a terminal would act on
    escaped (`sweep.text.terminal_safe_json`)."""
    raw = orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0).decode()
    typer.echo(terminal_safe_json(raw))


class TerminalSafeFormatter(logging.Formatter):
    """Log lines cleaned like any other output: a dead letter's error quotes the message it rejected
    (crawled text, possibly with escape sequences), and logs go to a terminal as often as to a file.
    Line breaks are kept (tracebacks); each record is bounded."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_lines(super().format(record), limit=LOG_LIMIT)


class _CleanLogRecord(logging.LogRecord):
    """A log record whose message is cleaned when it is formatted, whichever handler formats it."""

    def getMessage(self) -> str:
        return safe_lines(super().getMessage(), limit=LOG_LIMIT)


def clean_log_messages() -> None:
    """Clean every log message of this process for the terminal, including those of handlers sweep
    does not configure (Scrapy's): the spider logs crawled URLs and validation errors that quote
    crawled text. Left alone when another record factory is installed (it is someone else's choice)."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(_CleanLogRecord)
