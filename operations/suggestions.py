"""Crawl targets suggested by complaints: a 12315 complaint that names a shop sweep does not know yet.

The complaints capability links each complaint to the sellers sweep has seen; a complaint it could not
link (`ComplaintQuery(matched=False)`) but that names a shop address or a platform shop id is a place
sweep has never crawled. Accepting the suggestion turns it into a crawl target in one step, so the
next crawl covers the shop and later complaints about it can be matched. The target remembers where it
came from (`settings["trigger"] == "complaint"`, `settings["complaint_id"]`), and its runs started from
here carry the job trigger `complaint`.

Only shop facts leave the complaint (platform, shop name, shop id, the address the complainant gave):
an operator sees no complaint text and no personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from operations.jobs import launch
from sweep.bus.base import Bus
from sweep.store.complaints import ComplaintQuery, ComplaintStore
from sweep.store.operations import CrawlJob, OperationsStore, Target, TargetExistsError, Trigger

DEFAULT_SPIDER = "demo_mall"


class SuggestionError(ValueError):
    """The complaint cannot become a target (unknown, already matched, no address, bad base URL)."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    complaint_id: str
    received_at: datetime
    platform: str | None
    shop_name: str | None
    shop_id: str | None
    url: str | None

    @property
    def target_name(self) -> str:
        """A stable name, so accepting the same suggestion twice is refused rather than duplicated."""
        return "complaint-" + re.sub(r"[^0-9A-Za-z_.-]+", "-", self.complaint_id).strip("-")[:100]

    @property
    def base_url(self) -> str | None:
        """The site of the address the complainant gave (scheme and host), when it is a web address."""
        if not self.url:
            return None
        parts = urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        return f"{parts.scheme}://{parts.netloc}"


def _suggestion(c: object) -> Suggestion | None:
    shop_id = getattr(c, "shop_id", None)
    url = getattr(c, "url", None)
    if not shop_id and not url:
        return None  # a name alone gives a crawler nowhere to start
    return Suggestion(
        complaint_id=c.complaint_id,  # type: ignore[attr-defined]
        received_at=c.received_at,  # type: ignore[attr-defined]
        platform=getattr(c, "platform", None),
        shop_name=getattr(c, "shop_name", None) or getattr(c, "seller_name", None),
        shop_id=shop_id,
        url=url,
    )


def suggestions(complaints: ComplaintStore, *, limit: int = 100) -> list[Suggestion]:
    """Unmatched complaints that name a shop address or shop id, newest first."""
    result = complaints.search(ComplaintQuery(matched=False, size=max(1, min(limit, 500))))
    return [s for s in (_suggestion(c) for c in result.complaints) if s is not None]


def suggestion(complaints: ComplaintStore, complaint_id: str) -> Suggestion:
    """The suggestion of one complaint (SuggestionError when it is none)."""
    found = complaints.get(complaint_id) if len(complaint_id) <= 256 else None
    if found is None:
        raise SuggestionError(f"no such complaint: {complaint_id}")
    if complaints.matches([complaint_id]).get(complaint_id):
        raise SuggestionError(f"complaint {complaint_id} is already linked to a known shop")
    s = _suggestion(found)
    if s is None:
        raise SuggestionError(f"complaint {complaint_id} names no shop address or shop id")
    return s


def target_of(s: Suggestion, *, spider: str = DEFAULT_SPIDER, base_url: str | None = None) -> Target:
    """The target that crawls the complained-about shop: its address as a start URL (a shop page is
    read like a category page: every listing on it), else its shop id on the given site."""
    site = (base_url or s.base_url or "").rstrip("/")
    if not site.startswith(("http://", "https://")):
        raise SuggestionError("the complaint gives no web address: name the site (base URL) to crawl")
    return Target(
        name=s.target_name,
        spider=spider,
        base_url=site,
        start_urls=[s.url.strip()] if s.url and s.base_url else [],
        shops=[s.shop_id] if s.shop_id and not (s.url and s.base_url) else [],
        settings={
            "trigger": str(Trigger.COMPLAINT),
            "complaint_id": s.complaint_id,
            "platform": s.platform or "",
            "shop_name": s.shop_name or "",
        },
    )


def accept(
    store: OperationsStore,
    complaints: ComplaintStore,
    complaint_id: str,
    *,
    spider: str = DEFAULT_SPIDER,
    base_url: str | None = None,
) -> Target:
    """Create the target of a complaint's suggestion (SuggestionError / TargetExistsError otherwise)."""
    target = target_of(suggestion(complaints, complaint_id), spider=spider, base_url=base_url)
    if store.get_target(target.name) is not None:
        raise TargetExistsError(f"complaint {complaint_id} was already accepted as target {target.name}")
    return store.add_target(target)


def launch_first_run(store: OperationsStore, bus: Bus, topic: str, target: Target, *, requested_by: str) -> CrawlJob:
    """Run an accepted target at once, with the job trigger `complaint`."""
    return launch(store, bus, topic, target, trigger=Trigger.COMPLAINT, requested_by=requested_by)
