"""Item pipelines: validate -> recrawl -> detect -> publish -> listing item (for feed exports).

A spider yields plain dicts; `ValidatePipeline` turns each valid one into a `CrawledListing` (the
typed `Listing` plus the findings detection adds) and drops invalid ones with the URL and the
offending field in the log; an oversized one is cut to the model's limits (`sweep.models`), counted
in `sweep/listings_truncated` and logged, never dropped. No single bad page may stop a crawl; a bus
that cannot confirm delivery must, because a crawl that silently lost its results would be reported
as a success.

`RecrawlPipeline` makes crawls incremental (`sweep.recrawl` has the design, `spiders.recrawl` the
spider's signals): a listing whose content fingerprint is the kept one is marked unchanged, the
rulebook skips it and the bus gets a small `ListingSeen` instead of the listing; listings found gone
are published as `ListingGone`. Off with the Scrapy setting `SWEEP_RECRAWL = False` (every listing is
then judged and published in full, as a first crawl does).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from jsonschema import Draft202012Validator
from scrapy.exceptions import DropItem

from spiders import recrawl
from sweep.contracts import listing_schema
from sweep.models import Finding, Listing, parse_time, utcnow
from sweep.recrawl import (
    HEADER_JUDGED_BY,
    HEADER_SEVERITY,
    ListingGone,
    ListingSeen,
    ListingState,
    fingerprint,
    highest_severity,
)

logger = logging.getLogger(__name__)


@dataclass
class CrawledListing:
    """What flows between pipelines after validation."""

    listing: Listing
    findings: list[Finding] = field(default_factory=list)
    recrawl: Literal["new", "changed", "unchanged"] | None = None
    """What `RecrawlPipeline` decided (None: recrawl off or no state readable)."""
    fingerprint: str | None = None
    judged_by: str | None = None
    """Version of the rulebook that judged the listing in this crawler (None: not judged here)."""


class ValidatePipeline:
    def __init__(self, stats: Any) -> None:
        self.stats = stats
        self.validator = Draft202012Validator(listing_schema())

    @classmethod
    def from_crawler(cls, crawler: Any) -> ValidatePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> CrawledListing:
        if isinstance(item, CrawledListing):
            return item
        doc = dict(item)
        errors = sorted(self.validator.iter_errors(doc), key=lambda e: list(e.path))
        if not errors:
            try:
                listing = Listing.model_validate(doc)
            except Exception as exc:  # the schema and the model disagree: report, never crash
                errors_text = str(exc)
            else:
                if listing.truncated:
                    self.stats.inc_value("sweep/listings_truncated")
                    logger.warning("oversized listing truncated url=%s: %s", listing.url, ", ".join(listing.truncated))
                return CrawledListing(listing)
        else:
            errors_text = "; ".join(f"{'/'.join(map(str, e.path)) or '(item)'}: {e.message}" for e in errors)
        self.stats.inc_value("sweep/invalid")
        logger.warning("invalid listing dropped url=%s: %s", doc.get("url"), errors_text)
        # logged above with URL and field; Scrapy's own drop message (with the whole item) only at DEBUG
        raise DropItem(f"invalid listing {doc.get('url')}: {errors_text}", log_level="DEBUG")


class RecrawlPipeline:
    """Decides, per listing, new / changed / unchanged against the kept recrawl states, and turns the
    spider's `page_gone` and complete `category_listed` chains into `listing_removed` (module
    docstring; `sweep.recrawl` for the design).

    States are read through the lead store port (`adapters.open_lead_store`): once per category page
    for the listings it links to, then from a bounded cache; a listing reached another way is read on
    its own. A store that cannot be opened or read turns recrawl off for this crawl (logged): every
    listing is then judged and published as in a first crawl, which is slower but never wrong."""

    CACHE_SIZE = 20_000
    CACHE_TTL_S = 600.0
    """A state read longer ago than this is read again: a frontier worker lives across many jobs, and
    a stale fingerprint must not pass a listing for unchanged."""

    def __init__(self, crawler: Any, enabled: bool) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.enabled = enabled
        self.store: Any = None
        self._cache: OrderedDict[str, tuple[float, ListingState | None]] = OrderedDict()
        self.chains = recrawl.CategoryChains()

    @classmethod
    def from_crawler(cls, crawler: Any) -> RecrawlPipeline:
        pipe = cls(crawler, crawler.settings.getbool("SWEEP_RECRAWL", True))
        if pipe.enabled:
            crawler.signals.connect(pipe.category_listed, signal=recrawl.category_listed)
            crawler.signals.connect(pipe.page_gone, signal=recrawl.page_gone)
        return pipe

    def open_spider(self, spider: Any = None) -> None:
        if not self.enabled:
            return
        store = getattr(self.crawler, "sweep_store", None)
        if store is None:
            from adapters import open_lead_store

            try:
                store = open_lead_store()
            except Exception as exc:
                logger.warning("recrawl off for this crawl: the lead store cannot be opened (%s)", exc)
                self.enabled = False
                self.stats.set_value("sweep/recrawl", f"off: {exc}")
                return
            self._owned = True
        self.store = store
        self.stats.set_value("sweep/recrawl", "on")

    def close_spider(self, spider: Any = None) -> None:
        if self.store is not None and getattr(self, "_owned", False):
            try:
                self.store.close()
            except Exception:
                logger.exception("closing the lead store failed")
        self.store = None

    # -- states ---------------------------------------------------------------------------------------
    def _read(self, keys: list[str]) -> None:
        """Fill the cache for `keys` not in it (one store call)."""
        now = time.monotonic()
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache or now - self._cache[k][0] > self.CACHE_TTL_S]
        if not missing or self.store is None:
            return
        try:
            found = self.store.listing_states(missing)
        except Exception as exc:
            logger.warning("recrawl off for this crawl: listing states cannot be read (%s)", exc)
            self.enabled = False
            self.stats.set_value("sweep/recrawl", f"off: {exc}")
            return
        for key in missing:
            self._cache[key] = (now, found.get(key))
            self._cache.move_to_end(key)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)

    def _state(self, key: str) -> ListingState | None:
        self._read([key])
        hit = self._cache.get(key)
        return hit[1] if hit is not None else None

    # -- signals from the spider --------------------------------------------------------------------
    def category_listed(
        self, platform: str, category: str, chain: dict[str, Any], page: int, listing_ids: list[str], last: bool
    ) -> None:
        if not self.enabled:
            return
        self._read([f"{platform}:{lid}" for lid in listing_ids])
        done = self.chains.listed(platform, category, chain, page, listing_ids, last)
        if done is None or not self.enabled:
            return
        self.stats.inc_value("sweep/categories_complete")
        try:
            known = list(self.store.listings_in_category(platform, category))
        except Exception as exc:
            logger.warning("category %s not checked for removed listings: %s", category, exc)
            return
        for state in known:
            if state.listing_id not in done.listing_ids:
                self._removed(state, "missing_from_category", done.started)

    def page_gone(self, platform: str, listing_id: str, reason: str, url: str | None = None) -> None:
        if not self.enabled:
            return
        state = self._state(f"{platform}:{listing_id}")
        if state is None:
            self.stats.inc_value("sweep/gone_unknown")  # a page never crawled as a listing: nothing to mark
            return
        self._removed(state, reason, utcnow(), url)

    def _removed(self, state: ListingState, reason: str, at: datetime, url: str | None = None) -> None:
        if state.state == "removed":
            return
        gone = ListingGone(
            platform=state.platform, listing_id=state.listing_id, reason=reason, at=at, url=url or state.url
        )
        self.stats.inc_value("sweep/listings_removed")
        self.crawler.signals.send_catch_log(signal=recrawl.listing_removed, gone=gone)

    # -- listings -------------------------------------------------------------------------------------
    def process_item(self, item: CrawledListing) -> CrawledListing:
        if not self.enabled:
            return item
        listing = item.listing
        state = self._state(listing.key)
        if not self.enabled:  # the read failed just now
            return item
        item.fingerprint = fingerprint(listing)
        version = getattr(self.crawler, "sweep_rulebook_version", None)
        if state is None:
            item.recrawl = "new"
        elif state.is_unchanged(listing, rulebook_version=version):
            item.recrawl = "unchanged"
        else:
            item.recrawl = "changed"
        self.stats.inc_value(f"sweep/listings_{item.recrawl}")
        return item


class DetectPipeline:
    """Runs the rulebook (rules.load_rulebook) on each listing; detection errors are per listing.

    Off when the run says so (Scrapy setting `SWEEP_DETECT`, `--no-detect`) or when the deployment
    detects on the bus instead (setting `detect_in_crawler = false`: `sweep consume detector` judges
    the published listings); the stat `sweep/detection` then says which."""

    def __init__(self, stats: Any, enabled: bool, delegated: bool = False, crawler: Any = None) -> None:
        self.stats = stats
        self.enabled = enabled and not delegated
        self.delegated = delegated
        self.rulebook: Any = None
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> DetectPipeline:
        from sweep.settings import get_settings

        return cls(
            crawler.stats,
            crawler.settings.getbool("SWEEP_DETECT", True),
            delegated=not get_settings().detect_in_crawler,
            crawler=crawler,
        )

    def open_spider(self, spider: Any = None) -> None:
        if self.delegated:
            self.stats.set_value("sweep/detection", "consumer")
        if not self.enabled:
            return
        try:
            from rules import load_rulebook
        except ImportError as exc:
            logger.warning("rules.load_rulebook is not available (%s): detection skipped", exc)
            self.stats.set_value("sweep/detection", "skipped")
            return
        from sweep.settings import get_settings

        try:
            # the configured book (SWEEP_RULEBOOK), as the detector consumer and `sweep rules rescan` use
            self.rulebook = load_rulebook(get_settings().rulebook)
        except Exception as exc:
            # a broken rulebook must stop the crawl: silently missing detections look like clean listings
            logger.error("the rulebook could not be loaded, crawl aborted: %s", exc)
            self.stats.set_value("sweep/detection", f"failed: {exc}")
            raise
        self.stats.set_value("sweep/detection", "on")
        if self.crawler is not None:  # what `RecrawlPipeline` compares a listing's judged_by with
            self.crawler.sweep_rulebook_version = self.rulebook.version

    def process_item(self, item: CrawledListing) -> CrawledListing:
        if self.rulebook is None:
            return item
        if item.recrawl == "unchanged":  # same content, judged by this book before: nothing to find anew
            self.stats.inc_value("sweep/detection_skipped")
            return item
        try:
            item.findings = list(self.rulebook.scan(item.listing))
        except Exception:
            logger.exception("detection failed for %s", item.listing.url)
            self.stats.inc_value("sweep/detect_errors")
            return item
        item.judged_by = self.rulebook.version
        self.stats.inc_value("sweep/detections")
        self.stats.inc_value("sweep/findings", len(item.findings))
        return item


class PublishPipeline:
    """Listings and findings to the bus through `sweep.publishing.Publisher`; flushed at close."""

    def __init__(self, stats: Any, enabled: bool, crawler: Any = None) -> None:
        self.stats = stats
        self.enabled = enabled
        self.crawler = crawler
        self.publisher: Any = None
        self.bus: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> PublishPipeline:
        pipe = cls(crawler.stats, crawler.settings.getbool("SWEEP_PUBLISH", True), crawler)
        crawler.signals.connect(pipe.listing_removed, signal=recrawl.listing_removed)
        return pipe

    def open_spider(self, spider: Any = None) -> None:
        if not self.enabled:
            return
        from adapters import open_bus
        from sweep.publishing import Publisher

        # a frontier worker (spiders.frontier) hands its own bus: items and new requests are then
        # confirmed by one flush before the worker commits the requests that produced them
        self.bus = getattr(self.crawler, "sweep_bus", None) or open_bus()
        self.publisher = Publisher(self.bus)

    def process_item(self, item: CrawledListing) -> CrawledListing:
        """The listing and its findings; for a listing a recrawl found unchanged, a `ListingSeen` only."""
        if self.publisher is None:
            return item
        listing = item.listing
        try:
            if item.recrawl == "unchanged" and item.fingerprint:
                seen_at = parse_time(listing.crawled_at) or utcnow()
                seen = ListingSeen(
                    platform=listing.platform,
                    listing_id=listing.listing_id,
                    fingerprint=item.fingerprint,
                    seen_at=seen_at,
                    url=listing.url,
                )
                self.publisher.publish_observation(seen)
                self.stats.inc_value("sweep/published_seen")
                return item
            headers = None
            if item.judged_by:  # the verdict travels with the listing into its recrawl state
                severity = highest_severity(f.severity for f in item.findings) or ""
                headers = {HEADER_JUDGED_BY: item.judged_by, HEADER_SEVERITY: severity}
            self.publisher.publish_listing(listing, headers)
            if item.findings:
                self.publisher.publish_findings(listing, item.findings)
        except Exception as exc:
            self._failed(f"publish: {exc!r}")
            raise
        self.stats.inc_value("sweep/published_listings")
        return item

    def listing_removed(self, gone: ListingGone) -> None:
        """A removal `RecrawlPipeline` found (signal `spiders.recrawl.listing_removed`)."""
        if self.publisher is None:
            return
        try:
            self.publisher.publish_observation(gone)
        except Exception as exc:
            self._failed(f"publish: {exc!r}")
            raise
        self.stats.inc_value("sweep/published_removed")

    def close_spider(self, spider: Any = None) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.flush()
            self.stats.set_value("sweep/lead_events", self.publisher.lead_events)
        except Exception as exc:
            self._failed(f"flush: {exc!r}")
            raise
        finally:
            try:
                self.bus.close()
            except Exception:
                logger.exception("closing the bus failed")

    def _failed(self, why: str) -> None:
        logger.error("PUBLISH FAILED — results of this crawl are not confirmed on the bus: %s", why)
        self.stats.set_value("sweep/publish_failed", why)


class ListingItemPipeline:
    """Hands each listing on as a plain dict of the listing contract (`listing.schema.json`), the last
    step: Scrapy's feed exports (`-O listings.jsonl`, `FEEDS`) and `item_scraped` receivers then see
    exactly what the bus got, in the shape `sweep scan` reads."""

    def process_item(self, item: Any) -> dict[str, Any]:
        if isinstance(item, CrawledListing):
            return item.listing.model_dump(mode="json")
        return item
