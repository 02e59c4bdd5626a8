"""Adapters: the implementations of the core's ports, embedded and production side by side.

    bus/     the Bus port: SQLite log (embedded) and Apache Kafka
    store/   the LeadStore port: SQLite + FTS5 (embedded) and Elasticsearch/OpenSearch (searchengine/);
             the ComplaintStore port: SQLite (complaints_sqlite) and the complaints index
             (searchengine/complaints); the SellerDirectory port: SQLite (complaints_sqlite) and the
             sellers index (searchengine/sellers)
    people/  people's state (SQLAlchemy: SQLite or PostgreSQL), which is also the one hash-chained audit log

`open_bus` and `open_lead_store` choose one from settings: the one place that knows every backend. The
composition root calls them and hands the result to capabilities, which see only the ports. Imports of
optional backends happen inside the functions so that the embedded path needs neither Kafka nor a
search client at import time.
"""

from __future__ import annotations

from sweep.audit import AuditLog
from sweep.bus.base import Bus
from sweep.settings import Settings, get_settings
from sweep.store.base import LeadStore
from sweep.store.complaints import ComplaintStore, SellerDirectory


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


# -- complaints: the SQLite store embedded, the complaints index with a search engine ---------------------
PII_KEY_ENV = "SWEEP_PII_KEY"
PII_KEY_FILE = "pii.key"


def pii_key(settings: Settings | None = None) -> bytes:
    """The key that encrypts complaints' personal data at rest (Fernet, urlsafe base64 of 32 bytes).

    From `SWEEP_PII_KEY` (generate one with `python -c "from cryptography.fernet import Fernet;
    print(Fernet.generate_key().decode())"` and keep it in the deployment's secret store). Without it,
    and only for an all-embedded setup (no Kafka, no search engine), a key file is created in the data
    dir with mode 0600: a development convenience, since the key then sits beside the data it protects.
    With servers configured the variable is required.
    """
    import logging
    import os

    from cryptography.fernet import Fernet

    settings = settings or get_settings()
    if value := os.environ.get(PII_KEY_ENV, "").strip():
        Fernet(value.encode())  # raises ValueError for a malformed key: better now than at the first row
        return value.encode()
    if settings.kafka or settings.search_url:
        raise RuntimeError(f"{PII_KEY_ENV} is not set: a deployment with servers keeps its personal-data key there")
    path = settings.data_dir / PII_KEY_FILE
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others; chmod 600 it") from None
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    logging.getLogger("sweep.adapters").warning(
        "created a development key for personal data at %s; set %s in production", path, PII_KEY_ENV
    )
    return path.read_bytes().strip()


def open_complaint_store(settings: Settings | None = None, *, refresh: bool | str = False) -> ComplaintStore:
    """The complaints index of `SWEEP_SEARCH_URL` when one is set (its personal data sealed in an index
    of its own), else `complaints.sqlite` in the data dir. `refresh` ("wait_for": writes are searchable
    when the call returns) matters only for the search engine; tests use it."""
    settings = settings or get_settings()
    if settings.search_url:
        from adapters.store.searchengine import open_search_store
        from adapters.store.searchengine.complaints import SearchComplaintStore

        key = pii_key(settings)
        return SearchComplaintStore(open_search_store(settings), key, refresh=refresh)
    from adapters.store.complaints_sqlite import SqliteComplaintStore

    return SqliteComplaintStore(settings.data_dir / "complaints.sqlite", pii_key(settings))


def open_seller_directory(settings: Settings | None = None, *, refresh: bool | str = False) -> SellerDirectory:
    """The sellers index of `SWEEP_SEARCH_URL` when one is set (so that every workspace and consumer, on
    any machine, sees the same sellers), else the `sellers` table of `complaints.sqlite` in the data dir.
    `refresh` ("wait_for") matters only for the search engine; tests use it."""
    settings = settings or get_settings()
    if settings.search_url:
        from adapters.store.searchengine import open_search_store
        from adapters.store.searchengine.sellers import SearchSellerDirectory

        return SearchSellerDirectory(open_search_store(settings), refresh=refresh)
    from adapters.store.complaints_sqlite import SqliteSellerDirectory

    return SqliteSellerDirectory(settings.data_dir / "complaints.sqlite")


def open_audit_log(settings: Settings | None = None) -> AuditLog:
    """The one audit log: the people's store's hash chain (accounts, decisions, cases and every view
    of personal data, wherever it happens)."""
    from adapters.people import open_people_store

    return open_people_store(settings or get_settings())
