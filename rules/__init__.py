"""The rulebook: precise detection that analysts can read, test, backtest and tune.

    from rules import load_rulebook
    book = load_rulebook()            # packaged rules/book/*.yaml + rules/catalogs/*.csv
    findings = book.scan(listing)     # pure: listing -> [Finding], at most one per family
    book.explain(listing)             # every rule considered, matched, excluded and why

Nothing here knows about Kafka, Scrapy or storage; the engine is a pure function so analysts can run
it anywhere (spider pipelines, `sweep scan`, notebooks, backtests).
"""

from __future__ import annotations

from rules import native

native.activate()  # before the engine's modules are imported: compiled, or the source (rules/native.py)

from rules.book import Rulebook, load_rulebook  # noqa: E402
from rules.errors import RulebookError  # noqa: E402

__all__ = ["Rulebook", "RulebookError", "load_rulebook"]
