"""Which listings are due for a recrawl, as a recheck target (`sweep.recrawl` has the design).

Each listing's state carries `next_due` (its adaptive interval within the operator's bounds,
`ops_recrawl_min_hours` / `ops_recrawl_max_hours`); `LeadStore.due_listings` answers which are due.
This turns the answer into what the operations layer runs: a `Target` of listings to recheck, one per
platform, launched like any target (`operations.jobs.launch`) onto the shared frontier.

    due = due_listings(store, platform="demo-mall")           # states, most overdue first
    target = recheck_target(store, base, now=now)              # None when nothing is due
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sweep.models import utcnow
from sweep.recrawl import ListingState
from sweep.store.base import LeadStore
from sweep.store.operations import Target


def due_listings(
    store: LeadStore,
    *,
    now: datetime | None = None,
    platform: str | None = None,
    limit: int = 1000,
    include_removed: bool = False,
) -> list[ListingState]:
    """The listings whose recrawl is due at `now` (default: now), most overdue first, at most `limit`;
    removed ones only with `include_removed` (a takedown check asks for them on its own schedule)."""
    return store.due_listings(now or utcnow(), platform=platform, limit=limit, include_removed=include_removed)


def recheck_target(
    store: LeadStore,
    base: Target,
    *,
    platform: str,
    now: datetime | None = None,
    limit: int = 1000,
    include_removed: bool = False,
) -> Target | None:
    """A copy of `base` (its spider, site and settings) that rechecks exactly the listings of `platform`
    due at `now`, named `{base.name}-due`; None when none is due. Unsaved: the caller adds or launches it."""
    due = due_listings(store, now=now, platform=platform, limit=limit, include_removed=include_removed)
    if not due:
        return None
    return replace(
        base,
        name=f"{base.name}-due",
        start_urls=[],
        categories=[],
        keywords=[],
        shops=[],
        listings=[state.listing_id for state in due],
        created_at=None,
        id=None,
    )
