"""The rulebook: precise detection that analysts can read, test, backtest and tune.

    from rules import load_rulebook
    book = load_rulebook()            # packaged rules/book/*.yaml + rules/catalogs/*.csv
    findings = book.scan(listing)     # pure: listing -> [Finding], at most one per family
    book.explain(listing)             # every rule considered, matched, excluded and why

Nothing here knows about Kafka, Scrapy or storage; the engine is a pure function so analysts can run
it anywhere (spider pipelines, `sweep scan`, notebooks, backtests).
"""

from __future__ import annotations

from rules.book import Rulebook, load_rulebook
from rules.errors import RulebookError

__all__ = ["Rulebook", "RulebookError", "load_rulebook"]
