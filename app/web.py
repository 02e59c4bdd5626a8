"""The web application factory: opens the stores named by settings and hands them to the workspace.

`create_app(settings)` is what `sweep serve` runs under uvicorn; tests call it with stores of their
own. Every process built this way shares its state through the stores (sessions, lock-outs, versions,
jobs and the audit live in the people's store), so several can run behind a load balancer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI

from adapters import open_complaint_store, open_lead_store, open_seller_directory
from adapters.people import open_attachment_files, open_people_store
from sweep.casework import PeopleStore
from sweep.models import Lead
from sweep.settings import Settings, get_settings
from sweep.store.base import LeadStore
from sweep.store.complaints import ComplaintStore, SellerDirectory
from workspace.routers.operations import OperationsWiring
from workspace.service import Workspace
from workspace.web import build_app

log = logging.getLogger("sweep.web")


def complaint_stores(settings: Settings) -> tuple[ComplaintStore | None, SellerDirectory | None]:
    """The complaint records and the seller directory, when there are complaints to show: the complaints
    index of the search engine in use, or an embedded store that an import has created here. (None, None)
    — the pages are empty and the priority's complaint term counts 0 — otherwise, or when the store does
    not open (its personal-data key is not set)."""
    if not settings.search_url and not (settings.data_dir / "complaints.sqlite").exists():
        return None, None
    try:
        return open_complaint_store(settings), open_seller_directory(settings)
    except (RuntimeError, ValueError, OSError) as exc:
        log.warning("workspace without complaints: %s", exc)
        return None, None


def complaint_counter(
    complaints: ComplaintStore | None, sellers: SellerDirectory | None
) -> Callable[[Lead], int] | None:
    """Complaints (12315) about a lead's seller, for the priority: the seller as the complaints
    capability knows it (platform + shop id), and the complaints stored under that seller's keys."""
    if complaints is None or sellers is None:
        return None
    from complaints.matching import seller_keys

    def count(lead: Lead) -> int:
        listing = lead.listing
        shop_id = listing.shop_id or (f"name:{listing.shop_name}" if listing.shop_name else None)
        seller = sellers.get(lead.platform, shop_id) if shop_id else None
        return len(complaints.ids_by_keys(seller_keys(seller), limit=1000)) if seller else 0

    return count


def operations_wiring(settings: Settings, people_url: str | None = None) -> OperationsWiring:
    """The operators' pages' stores: crawl targets, schedules and jobs beside people's state (in the
    database of the people's store in use, when its URL is known), and the frontier's bus (opened per
    launch: a page that only reads never opens it)."""
    from adapters import open_bus
    from adapters.people.operations_sql import SqlOperationsStore, open_operations_store

    return OperationsWiring(
        store=SqlOperationsStore(people_url) if people_url else open_operations_store(settings),
        open_bus=lambda: open_bus(settings),
        topic=settings.topics.crawl_requests,
    )


def create_app(
    settings: Settings | None = None,
    *,
    store: LeadStore | None = None,
    people: PeopleStore | None = None,
    complaints: ComplaintStore | None = None,
    sellers: SellerDirectory | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    if complaints is None:
        complaints, sellers = complaint_stores(settings)
    workspace = Workspace(
        settings=settings,
        store=store or open_lead_store(settings),
        people=people or open_people_store(settings),
        complaint_count=complaint_counter(complaints, sellers),
        complaints=complaints,
        sellers=sellers,
        attachments=open_attachment_files(settings),
    )
    workspace.replay_pending()
    app = build_app(workspace)
    app.state.operations = operations_wiring(settings, getattr(workspace.people, "url", None))
    return app
