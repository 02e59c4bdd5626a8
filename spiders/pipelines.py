"""Item pipelines: validate -> detect -> publish -> listing item (for feed exports).

A spider yields plain dicts; `ValidatePipeline` turns each valid one into a `CrawledListing` (the
typed `Listing` plus the findings detection adds) and drops invalid ones with the URL and the
offending field in the log; an oversized one is cut to the model's limits (`sweep.models`), counted
in `sweep/listings_truncated` and logged, never dropped. No single bad page may stop a crawl; a bus
that cannot confirm delivery must, because a crawl that silently lost its results would be reported
as a success.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from scrapy.exceptions import DropItem

from sweep.contracts import listing_schema
from sweep.models import Finding, Listing

logger = logging.getLogger(__name__)


@dataclass
class CrawledListing:
    """What flows between pipelines after validation."""

    listing: Listing
    findings: list[Finding] = field(default_factory=list)


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


class DetectPipeline:
    """Runs the rulebook (rules.load_rulebook) on each listing; detection errors are per listing.

    Off when the run says so (Scrapy setting `SWEEP_DETECT`, `--no-detect`) or when the deployment
    detects on the bus instead (setting `detect_in_crawler = false`: `sweep consume detector` judges
    the published listings); the stat `sweep/detection` then says which."""

    def __init__(self, stats: Any, enabled: bool, delegated: bool = False) -> None:
        self.stats = stats
        self.enabled = enabled and not delegated
        self.delegated = delegated
        self.rulebook: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> DetectPipeline:
        from sweep.settings import get_settings

        return cls(
            crawler.stats,
            crawler.settings.getbool("SWEEP_DETECT", True),
            delegated=not get_settings().detect_in_crawler,
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

    def process_item(self, item: CrawledListing) -> CrawledListing:
        if self.rulebook is None:
            return item
        try:
            item.findings = list(self.rulebook.scan(item.listing))
        except Exception:
            logger.exception("detection failed for %s", item.listing.url)
            self.stats.inc_value("sweep/detect_errors")
            return item
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
        return cls(crawler.stats, crawler.settings.getbool("SWEEP_PUBLISH", True), crawler)

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
        if self.publisher is None:
            return item
        try:
            self.publisher.publish_listing(item.listing)
            if item.findings:
                self.publisher.publish_findings(item.listing, item.findings)
        except Exception as exc:
            self._failed(f"publish: {exc!r}")
            raise
        self.stats.inc_value("sweep/published_listings")
        return item

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
