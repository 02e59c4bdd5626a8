"""Query DSL builders shared by the OpenSearch and Elasticsearch backends (same DSL subset in both).

Pure functions from `LeadQuery` to request bodies and from responses back to `LeadSearchResult`, so
they are unit-tested without a server and the two backends cannot drift apart.

Choices, and why:
* Full text: the user's input is split on whitespace; every term must match as a *phrase* in one of
  the text fields. Over CJK bigrams (or unigrams in the fallback analysis) a phrase means "these
  characters, adjacent", which is what staff mean by typing 氰化钠. A leading `-` excludes a term.
* Highlighting uses `encoder: html`: crawled titles are attacker-controlled, so everything around the
  <em> marks is HTML-escaped by the engine and the UI can render fragments as HTML safely.
* Facets are terms aggregations computed with all filters applied (same semantics as the embedded
  SQLite store, so the triage UI behaves the same on both).
* Sorting always ends with `lead_id` as a unique tie-breaker, which is what makes `search_after`
  deep paging exact (no duplicates or gaps between pages).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sweep.models import SEVERITY_RANK, Lead
from sweep.store.base import LeadQuery, LeadSearchResult

TEXT_FIELDS: tuple[str, ...] = (
    "listing.title^3",
    "listing.shop_name^2",
    "listing.description",
    "evidence.text^2",
    "evidence.matched^2",
    "title_zh",
    "note",
)

FACETS: dict[str, str] = {
    "family": "family",
    "severity": "severity",
    "status": "status",
    "platform": "platform",
    "region": "listing.region",
    "shop": "listing.shop_name.keyword",
    "category": "listing.category",
}
"""Facet name (as in `LeadSearchResult.facets`) -> keyword field."""

FACET_SIZE = 50

HIGHLIGHT_FIELDS: dict[str, str] = {
    "listing.title": "title",
    "listing.description": "description",
    "listing.shop_name": "shop_name",
    "evidence.text": "evidence",
    "note": "note",
}
"""Highlighted field -> name in `LeadSearchResult.highlights` (the SQLite store uses title/description)."""

SORTS: dict[str, list[dict[str, Any]]] = {
    "recent": [{"last_seen": {"order": "desc"}}, {"lead_id": {"order": "asc"}}],
    "priority": [
        {"severity_rank": {"order": "desc"}},
        {"times_seen": {"order": "desc"}},
        {"last_seen": {"order": "desc"}},
        {"lead_id": {"order": "asc"}},
    ],
}


def lead_document(lead: Lead) -> dict[str, Any]:
    """The indexed form of a lead: the model as JSON plus the numeric severity rank for sorting."""
    doc = lead.model_dump(mode="json")
    doc["severity_rank"] = SEVERITY_RANK[lead.severity]
    return doc


def lead_from_source(source: dict[str, Any]) -> Lead:
    return Lead.model_validate(source)


def _iso(value: datetime) -> str:
    return value.isoformat()


def text_clauses(text: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(must, must_not) clauses for the user's free text."""
    must: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    for raw in (text or "").split():
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        clause = {"multi_match": {"query": term, "type": "phrase", "fields": list(TEXT_FIELDS)}}
        (must_not if negate else must).append(clause)
    return must, must_not


def filter_clauses(q: LeadQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    for field, values in (
        ("family", q.families),
        ("severity", q.severities),
        ("status", q.statuses),
        ("platform", q.platforms),
        ("listing.region", q.regions),
    ):
        if values:
            filters.append({"terms": {field: [str(v) for v in values]}})
    if q.shop:
        filters.append(
            {
                "bool": {
                    "should": [
                        {"term": {"listing.shop_id": q.shop}},
                        {"term": {"listing.shop_name.keyword": q.shop}},
                        {"match_phrase": {"listing.shop_name": q.shop}},
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    if q.seen_from or q.seen_to:
        rng: dict[str, str] = {}
        if q.seen_from:
            rng["gte"] = _iso(q.seen_from)
        if q.seen_to:
            rng["lte"] = _iso(q.seen_to)
        filters.append({"range": {"last_seen": rng}})
    return filters


def build_query(q: LeadQuery) -> dict[str, Any]:
    must, must_not = text_clauses(q.text)
    filters = filter_clauses(q)
    if not (must or must_not or filters):
        return {"match_all": {}}
    body: dict[str, Any] = {}
    if must:
        body["must"] = must
    if must_not:
        body["must_not"] = must_not
    if filters:
        body["filter"] = filters
    return {"bool": body}


def build_search(q: LeadQuery, *, facets: bool = True) -> dict[str, Any]:
    """The complete `_search` body for one page of leads."""
    body: dict[str, Any] = {
        "query": build_query(q),
        "size": max(0, q.size),
        "sort": SORTS[q.sort],
        "track_total_hits": True,
    }
    if q.search_after:
        body["search_after"] = list(q.search_after)
    if facets:
        body["aggs"] = {name: {"terms": {"field": field, "size": FACET_SIZE}} for name, field in FACETS.items()}
    if q.text and text_clauses(q.text)[0]:
        body["highlight"] = {
            "encoder": "html",
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fragment_size": 120,
            "number_of_fragments": 3,
            "no_match_size": 0,
            "fields": {field: {} for field in HIGHLIGHT_FIELDS},
        }
    return body


def _merge_adjacent(fragment: str) -> str:
    """Overlapping bigram hits come back as <em>氰化</em><em>钠</em>; show one mark per match."""
    return fragment.replace("</em><em>", "")


def parse_search(response: dict[str, Any], q: LeadQuery) -> LeadSearchResult:
    hits = response.get("hits", {})
    total_raw = hits.get("total", 0)
    total = total_raw.get("value", 0) if isinstance(total_raw, dict) else int(total_raw)
    leads: list[Lead] = []
    highlights: dict[str, dict[str, list[str]]] = {}
    last_sort: list | None = None
    items = hits.get("hits", [])
    for hit in items:
        lead = lead_from_source(hit["_source"])
        leads.append(lead)
        if marks := hit.get("highlight"):
            highlights[lead.lead_id] = {
                HIGHLIGHT_FIELDS.get(field, field): [_merge_adjacent(f) for f in frags]
                for field, frags in marks.items()
            }
        last_sort = hit.get("sort")
    facets: dict[str, dict[str, int]] = {}
    for name, agg in (response.get("aggregations") or {}).items():
        if name in FACETS:
            facets[name] = {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", [])}
    next_cursor = list(last_sort) if last_sort is not None and q.size > 0 and len(items) == q.size else None
    return LeadSearchResult(total=total, leads=leads, facets=facets, highlights=highlights, next_cursor=next_cursor)
