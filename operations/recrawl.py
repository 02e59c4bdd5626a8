"""Which listings are due for a recrawl, as a recheck target (`sweep.recrawl` has the design).

Each listing's state carries `next_due` (its adaptive interval within the operator's bounds,
`ops_recrawl_min_hours` / `ops_recrawl_max_hours`); `LeadStore.due_listings` answers which are due.
This turns the answer into what the operations layer runs: a `Target` of listings to recheck, one per
platform, launched like any target (`operations.jobs.launch`) onto the shared frontier.

    due = due_listings(store, platform="demo-mall")           # states, most overdue first
    target = recheck_target(store, base, now=now)              # None when nothing is due

A *recrawl-due target* (`sweep targets add NAME --recrawl-due --platform P`) makes this schedulable:
its setting `recrawl_due` names the platform (and optionally `max_per_run`), and every launch of it
(`operations.jobs.launch`: the scheduler, run-now, the workspace) crawls the listings due at its fire
time, at most `max_per_run` (setting `ops_recrawl_max_per_run`), most overdue first. The rest stay due
and come first next time. The demo mall's spider rechecks listings by id; a spider without
`frontier_seeds` (product_pages) by their stored page addresses, without following links.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import datetime
from typing import Any

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


RECRAWL_DUE = "recrawl_due"
"""The target setting that makes a target a recrawl-due one: {"platform": P, "max_per_run": N}."""


def recrawl_due_spec(target: Target) -> dict[str, Any] | None:
    """The recrawl-due setting of a target, or None for an ordinary target."""
    spec = target.settings.get(RECRAWL_DUE)
    return dict(spec) if isinstance(spec, dict) and spec.get("platform") else None


def recrawl_due_settings(platform: str, max_per_run: int | None = None) -> dict[str, Any]:
    """The target settings of a recrawl-due target (`sweep targets add --recrawl-due`)."""
    spec: dict[str, Any] = {"platform": platform}
    if max_per_run is not None:
        if max_per_run < 1:
            raise ValueError("max_per_run must be at least 1")
        spec["max_per_run"] = max_per_run
    return {RECRAWL_DUE: spec}


def rechecks_by_url(spider_cls: type) -> bool:
    """Whether a spider rechecks listings from their page addresses (no `frontier_seeds` by id)."""
    return getattr(spider_cls, "frontier_seeds", None) is None


def due_run(store: LeadStore, target: Target, *, now: datetime, default_max: int) -> Target | None:
    """What one launch of a recrawl-due `target` crawls: its spider, site and id over the listings of
    its platform due at `now` (at most its `max_per_run`, else `default_max`); None when none is due.
    By id for the demo mall's spider; by page address (links not followed) for the others."""
    from spiders.frontier import spider_class

    spec = recrawl_due_spec(target)
    if spec is None:
        raise ValueError(f"target {target.name!r} is no recrawl-due target")
    limit = int(spec.get("max_per_run") or default_max)
    due = due_listings(store, now=now, platform=str(spec["platform"]), limit=limit)
    if not due:
        return None
    settings = {k: v for k, v in target.settings.items() if k != RECRAWL_DUE}
    cls = spider_class(target.spider)
    if not rechecks_by_url(cls):
        listings, start_urls = [s.listing_id for s in due], []
    else:
        listings, start_urls = [], [s.url for s in due if s.url]
        if "follow" in inspect.signature(cls.__init__).parameters:
            settings["spider_args"] = {**(settings.get("spider_args") or {}), "follow": "false"}
    return replace(
        target, start_urls=start_urls, categories=[], keywords=[], shops=[], listings=listings, settings=settings
    )
