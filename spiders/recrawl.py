"""The crawler's side of incremental recrawl (`sweep.recrawl` has the design and the state it reads).

Spiders report what only they can see through Scrapy signals, so no fake items travel through the
pipelines or the feed exports:

* `page_gone` — a listing's page answered 404/410 or is a 下架 page
  (`platform`, `listing_id`, `reason`, `url`);
* `category_listed` — a category page and the listing ids it links to
  (`platform`, `category`, `chain`, `page`, `listing_ids`, `last`); `chain` identifies one walk through
  the category's pages from its first page (`chain_meta` makes and carries it in the requests' meta,
  which stays JSON, so it also travels through the shared frontier).

`spiders.pipelines.RecrawlPipeline` listens to both, reads the kept states (one batched read per category
page), decides new/changed/unchanged for each listing, and sends `listing_removed` with a
`sweep.recrawl.ListingGone` for each listing it finds gone: a known, not yet removed listing whose page
is gone, or, when this process saw every page of a category chain from the first to the last, each
known listing of that category none of its pages linked to. `PublishPipeline` publishes those.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

page_gone = object()
category_listed = object()
listing_removed = object()

META_CHAIN = "sweep_category_chain"
"""Request meta of a category page after the first: {"id", "started", "page"} of its chain."""


def chain_meta(previous: dict[str, Any] | None, page: int) -> dict[str, Any]:
    """The chain of a category page: a new one on the first page (no chain in its request), else the
    request's. `page` is the page's number."""
    if previous and previous.get("id"):
        return {"id": str(previous["id"]), "started": str(previous["started"]), "page": page}
    started = datetime.now(UTC).isoformat(timespec="microseconds")
    return {"id": uuid.uuid4().hex, "started": started, "page": page}


@dataclass
class Chain:
    platform: str
    category: str
    started: datetime
    pages: set[int] = field(default_factory=set)
    listing_ids: set[str] = field(default_factory=set)
    last: int | None = None

    @property
    def complete(self) -> bool:
        return self.last is not None and self.pages == set(range(1, self.last + 1))


class CategoryChains:
    """The category chains this process is walking, at most `limit` (the oldest forgotten first: a
    forgotten chain just never counts as complete, so nothing is marked removed from it)."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._chains: OrderedDict[str, Chain] = OrderedDict()

    def listed(
        self,
        platform: str,
        category: str,
        chain: dict[str, Any],
        page: int,
        listing_ids: list[str],
        last: bool,
    ) -> Chain | None:
        """Record one page; returns the chain when this page completed it (and forgets it)."""
        chain_id = str(chain.get("id") or "")
        if not chain_id:
            return None
        current = self._chains.get(chain_id)
        if current is None:
            started = _parse(chain.get("started")) or datetime.now(UTC)
            current = self._chains[chain_id] = Chain(platform, category, started)
            while len(self._chains) > self.limit:
                self._chains.popitem(last=False)
        self._chains.move_to_end(chain_id)
        current.pages.add(page)
        current.listing_ids.update(listing_ids)
        if last:
            current.last = page
        if current.complete:
            del self._chains[chain_id]
            return current
        return None


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
