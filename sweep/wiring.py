"""Chooses the adapters behind the ports from settings: the one place that knows every backend.

Imports of optional backends happen inside the functions so that the embedded path needs neither
Kafka nor a search client at import time.
"""

from __future__ import annotations

from sweep.bus.base import Bus
from sweep.settings import Settings, get_settings
from sweep.store.base import LeadStore


def open_bus(settings: Settings | None = None) -> Bus:
    settings = settings or get_settings()
    if settings.kafka:
        from sweep.bus.kafka import KafkaBus

        return KafkaBus(settings)
    from sweep.bus.sqlite import SqliteBus

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteBus(settings.bus_db)


def open_lead_store(settings: Settings | None = None) -> LeadStore:
    settings = settings or get_settings()
    if settings.search_url:
        from search.backends import open_search_store

        return open_search_store(settings)
    from sweep.store.sqlite import SqliteLeadStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteLeadStore(settings.store_db)
