"""Query DSL builders shared by the OpenSearch and Elasticsearch backends (same DSL subset in both).

Pure functions from `LeadQuery` to request bodies and from responses back to `LeadSearchResult`, so
they are unit-tested without a server and the two backends cannot drift apart.

Choices, and why:
* Full text follows the search language of `sweep.query`, which both lead stores implement. Each word
  or quoted phrase is a `match_phrase` on `search.text`: over CJK bigrams (or unigrams in the fallback
  analysis) a phrase means "these characters, adjacent", which is what staff mean by typing 氰化钠.
  OR groups are `bool.should`, exclusions `must_not`, field filters `terms` filters.
* `search.text` / `search.shop` hold the searched text *normalised in Python* (`cjk.normalize`:
  full-width to half-width, traditional to simplified, lower case, dodge separators between Chinese
  characters removed), and queries are normalised the same way. The engines have no traditional to
  simplified conversion (and the minimal Elasticsearch not even cjk_width), so doing it here is what
  makes 氰化鈉 find 氰化钠 on every engine exactly as in the embedded store. The triage note is searched
  in its own field (a triage update rewrites only the triage fields).
* Highlighting uses `encoder: html`: crawled titles are attacker-controlled, so everything around the
  <em> marks is HTML-escaped by the engine and the UI can render fragments as HTML safely. It runs a
  `highlight_query` over the original fields, with the words as typed and normalised.
* Facets are terms aggregations computed with all filters applied, most frequent first and ties by
  value (same semantics as the embedded SQLite store, so the triage UI behaves the same on both).
* Sorting always ends with `lead_id` as a unique tie-breaker, which is what makes `search_after`
  deep paging exact (no duplicates or gaps between pages).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from adapters.store import cjk
from sweep.models import SEVERITY_RANK, Lead
from sweep.query import SearchQuery, Text, parse
from sweep.store.base import (
    AGE_BUCKETS,
    FACET_SIZE,
    REPORT_UTC_OFFSET_HOURS,
    LeadAggregates,
    LeadQuery,
    LeadSearchResult,
    lead_priority_key,
)
from sweep.store.base import FACETS as FACET_NAMES

SEARCH_FIELD = "search.text"
"""Normalised listing title, description, shop name, evidence (and its catalog entry), rule title."""
SHOP_FIELD = "search.shop"
"""Normalised shop name, for `shop:` / `LeadQuery.shop`."""
NOTE_FIELD = "note"

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
assert tuple(FACETS) == FACET_NAMES

FILTER_FIELDS: dict[str, str] = {
    "family": "family",
    "severity": "severity",
    "status": "status",
    "platform": "platform",
    "region": "listing.region",
    "category": "listing.category",
}
"""Exact-value filters of the search language and of `LeadQuery` -> keyword field."""

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
        # `priority_sort_key`, stored per lead (see `lead_document`); a document written before mapping
        # version 4 lacks it and comes last until `sweep search reindex`
        {"priority_key": {"order": "desc", "missing": "_last", "unmapped_type": "double"}},
        {"lead_id": {"order": "asc"}},
    ],
}


def search_fields(lead: Lead) -> dict[str, Any]:
    """The normalised text a lead is found by (see the module docstring); one array value per source
    field, so a phrase never runs from one field into the next (position_increment_gap)."""
    listing = lead.listing
    parts = [listing.title, listing.description, listing.shop_name]
    for e in lead.evidence:
        parts += (e.text, e.matched)
    parts.append(lead.title_zh)
    present = [p for p in parts if p]
    text = cjk.normalize_all(present)
    shop = None
    if listing.shop_name:  # the shop name is among the texts (after a non-empty title or not)
        shop = text[bool(listing.title) + bool(listing.description)]
    return {"text": text, "shop": shop}


def lead_document(lead: Lead) -> dict[str, Any]:
    """The indexed form of a lead: the model as JSON plus the numeric severity rank for sorting and
    the normalised search text (ignored when read back: `Lead` drops unknown fields)."""
    doc = lead.model_dump(mode="json")
    doc["severity_rank"] = SEVERITY_RANK[lead.severity]
    doc["priority_key"] = lead_priority_key(lead)
    doc["search"] = search_fields(lead)
    return doc


def lead_from_source(source: dict[str, Any]) -> Lead:
    return Lead.model_validate(source)


def _iso(value: datetime) -> str:
    return value.isoformat()


def text_clause(text: Text) -> dict[str, Any] | None:
    """One word or phrase: a phrase over the normalised search text or the note; None when it has
    nothing searchable (the embedded store drops the same words)."""
    if not cjk.tokens(text.value):
        return None
    normalized = cjk.normalize(text.value)
    return {
        "bool": {
            "should": [
                {"match_phrase": {SEARCH_FIELD: {"query": normalized}}},
                {"match_phrase": {NOTE_FIELD: {"query": normalized}}},
            ],
            "minimum_should_match": 1,
        }
    }


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"bool": {"should": clauses, "minimum_should_match": 1}}


def text_clauses(query: SearchQuery) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(must, must_not) clauses of the text part of a parsed search."""
    must: list[dict[str, Any]] = []
    for group in query.all_of:
        alternatives = [c for t in group if (c := text_clause(t))]
        if alternatives:
            must.append(_any(alternatives))
    must_not = [c for t in query.none_of if (c := text_clause(t))]
    return must, must_not


def shop_clause(value: str) -> dict[str, Any]:
    """A shop id exactly, or a phrase of the (normalised) shop name."""
    should: list[dict[str, Any]] = [{"term": {"listing.shop_id": value}}]
    if cjk.tokens(value):
        should.append({"match_phrase": {SHOP_FIELD: {"query": cjk.normalize(value)}}})
    return _any(should)


Clauses = list[dict[str, Any]]


def filter_clauses(q: LeadQuery, parsed: SearchQuery | None = None) -> tuple[Clauses, Clauses]:
    """(filter, must_not) clauses of the options of `q` and the field filters of its search text."""
    parsed = parsed if parsed is not None else parse(q.text)
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    options = {
        "family": q.families,
        "severity": q.severities,
        "status": q.statuses,
        "platform": q.platforms,
        "region": q.regions,
        "category": q.categories,
    }
    for name, field in FILTER_FIELDS.items():
        for values in (options[name], parsed.values(name)):
            if values:
                filters.append({"terms": {field: [str(v) for v in values]}})
        if excluded := parsed.excluded_values(name):
            must_not.append({"terms": {field: excluded}})
    if q.shop:
        filters.append(shop_clause(q.shop))
    if shops := parsed.values("shop"):
        filters.append(_any([shop_clause(v) for v in shops]))
    must_not += [shop_clause(v) for v in parsed.excluded_values("shop")]
    if q.seen_from or q.seen_to:
        rng: dict[str, str] = {}
        if q.seen_from:
            rng["gte"] = _iso(q.seen_from)
        if q.seen_to:
            rng["lte"] = _iso(q.seen_to)
        filters.append({"range": {"last_seen": rng}})
    return filters, must_not


def build_query(q: LeadQuery) -> dict[str, Any]:
    parsed = parse(q.text)
    must, must_not = text_clauses(parsed)
    filters, excluded = filter_clauses(q, parsed)
    must_not += excluded
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


def highlight_query(parsed: SearchQuery) -> dict[str, Any] | None:
    """What to mark in the original (not normalised) fields: each positive word as typed and as
    normalised, as a phrase in any highlighted field."""
    should = []
    for text in parsed.positive_texts:
        if not cjk.tokens(text.value):
            continue
        for form in dict.fromkeys((text.value, cjk.normalize(text.value))):
            should += [{"match_phrase": {field: {"query": form}}} for field in HIGHLIGHT_FIELDS]
    return {"bool": {"should": should, "minimum_should_match": 1}} if should else None


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
        order = [{"_count": "desc"}, {"_key": "asc"}]
        body["aggs"] = {
            name: {"terms": {"field": field, "size": FACET_SIZE, "order": order}} for name, field in FACETS.items()
        }
    if marks := highlight_query(parse(q.text)):
        body["highlight"] = {
            "highlight_query": marks,
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


AGG_REGIONS = 1000
"""Most regions a report counts (a province has a few hundred counties)."""


def build_aggregate(
    q: LeadQuery, *, first_from: datetime | None, first_to: datetime | None, now: datetime, top: int
) -> dict[str, Any]:
    """The `_search` body of `LeadStore.aggregate`: no hits, one aggregation per report figure. Days are
    cut at UTC+8 midnight; an age bucket's bounds are shifted by a millisecond so that "age below N
    days" (first_seen later than now - N days) holds exactly as in the embedded store."""
    filters: list[dict[str, Any]] = [build_query(q)]
    if first_from or first_to:
        rng: dict[str, str] = {}
        if first_from:
            rng["gte"] = _iso(first_from)
        if first_to:
            rng["lt"] = _iso(first_to)
        filters.append({"range": {"first_seen": rng}})
    ms = timedelta(milliseconds=1)
    ranges: list[dict[str, Any]] = []
    previous: float = 0.0
    for key, bound in AGE_BUCKETS:
        r: dict[str, Any] = {"key": key}
        if bound is not None:
            r["from"] = _iso(now - timedelta(days=bound) + ms)
        if previous:
            r["to"] = _iso(now - timedelta(days=previous) + ms)
        ranges.append(r)
        previous = bound or 0.0
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": filters}},
        "aggs": {
            "per_day": {
                "date_histogram": {
                    "field": "first_seen",
                    "calendar_interval": "day",
                    "time_zone": f"+{REPORT_UTC_OFFSET_HOURS:02d}:00",
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                },
                "aggs": {"family": {"terms": {"field": "family", "size": 100}}},
            },
            "by_family": {"terms": {"field": "family", "size": 100}},
            "by_status": {
                "terms": {"field": "status", "size": 20},
                "aggs": {"age": {"range": {"field": "first_seen", "ranges": ranges}}},
            },
            "by_region": {"terms": {"field": FACETS["region"], "size": AGG_REGIONS, "order": order}},
            "top_shops": {"terms": {"field": FACETS["shop"], "size": max(1, top), "order": order}},
        },
    }


def parse_aggregate(body: dict[str, Any]) -> LeadAggregates:
    """`LeadAggregates` of the answer to `build_aggregate` (zero counts left out)."""
    aggs = body.get("aggregations", {})

    def terms(agg: dict[str, Any]) -> dict[str, int]:
        return {str(b["key"]): int(b["doc_count"]) for b in agg.get("buckets", []) if b["doc_count"]}

    total = body.get("hits", {}).get("total", 0)
    out = LeadAggregates(total=int(total["value"] if isinstance(total, dict) else total))
    for b in aggs.get("per_day", {}).get("buckets", []):
        if b["doc_count"]:
            out.per_day[b["key_as_string"]] = terms(b["family"])
    out.by_family = terms(aggs.get("by_family", {}))
    out.by_status = terms(aggs.get("by_status", {}))
    for b in aggs.get("by_status", {}).get("buckets", []):
        ages = terms(b["age"])
        if ages:
            out.status_age[str(b["key"])] = ages
    out.by_region = terms(aggs.get("by_region", {}))
    out.top_shops = terms(aggs.get("top_shops", {}))
    return out
