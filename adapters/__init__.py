"""Adapters: the implementations of the core's ports, embedded and production side by side.

    bus/     the Bus port: SQLite log (embedded) and Apache Kafka
    store/   the LeadStore port: SQLite + FTS5 (embedded) and Elasticsearch/OpenSearch (searchengine/)

`open_bus` and `open_lead_store` choose one from settings: the one place that knows every backend. The
composition root calls them and hands the result to capabilities, which see only the ports. Imports of
optional backends happen inside the functions so that the embedded path needs neither Kafka nor a
search client at import time.
"""

from __future__ import annotations

from sweep.bus.base import Bus
from sweep.settings import Settings, get_settings
from sweep.store.base import LeadStore


def open_bus(settings: Settings | None = None) -> Bus:
    settings = settings or get_settings()
    if settings.kafka:
        from adapters.bus.kafka import KafkaBus

        return KafkaBus(settings)
    from adapters.bus.sqlite import SqliteBus

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteBus(settings.bus_db)


def open_lead_store(settings: Settings | None = None) -> LeadStore:
    settings = settings or get_settings()
    if settings.search_url:
        from adapters.store.searchengine import open_search_store

        return open_search_store(settings)
    from adapters.store.sqlite import SqliteLeadStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteLeadStore(settings.store_db)
