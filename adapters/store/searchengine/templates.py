"""Index templates, mappings and names for the search engine, shared by both backends.

Every index lives behind an alias (`{prefix}-leads` -> `{prefix}-leads-v1`): readers and writers only
ever use the alias, so a mapping change is "create vN+1, reindex, swap the alias atomically" instead
of an outage (see `search.admin.reindex`).

Chinese text has no spaces, so a whitespace/standard analyzer alone is useless for recall *and*
precision. With the analysis-common module (OpenSearch, full Elasticsearch) text is analysed with
standard tokenizer + cjk_width (full-width ASCII, half-width katakana) + lowercase + cjk_bigram:
出售氰化钠 -> 出售 售氰 氰化 化钠. Queries are phrase queries over the same bigrams, so 氰化钠
(氰化 化钠 adjacent) finds 出售氰化钠 but not 氰化物检测仪 (氰化 化物 ...). A server without
analysis-common (the minimal Elasticsearch distribution) gets the `fallback` analysis: Lucene's
StandardAnalyzer, which splits Han text into single characters; phrase queries over those unigrams
keep the same precision at a larger index and slower queries. The choice is made by asking the server
(`_analyze` probe), never from its name.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

AnalysisMode = Literal["cjk", "fallback"]
KINDS: tuple[str, ...] = ("leads", "listings", "complaints")
MAPPING_VERSION = 5
"""Bump when a mapping below changes; `sweep search status` shows which version each index has.
2: leads gain `search.text` / `search.shop` (normalised search text, see `queries.search_fields`);
documents written by version 1 lack it, so a v1 index must be refilled through `lead_document`.
3: leads gain `rulebook_version`, `retired_at`, `retired_by_rulebook` (`sweep rules rescan`); documents
keep them in _source under version 2 too, `sweep search reindex` makes them searchable.
4: leads gain `priority_key` (`priority_sort_key`, the "priority" sort); documents written before lack it
and sort last by priority until `sweep search reindex` rebuilds them through `lead_document`.
5: listings gain `recrawl` (the listing's recrawl state, `sweep.recrawl`: fingerprint, state, next_due …)
and leads the listing's facts (`listing_state`, `listing_changed_at`, `removed_at`, `removed_reason`);
under version 4 they stay in _source and only `due_listings`/`listings_in_category` cannot find them
until `sweep search reindex`."""

TEXT_ANALYZER = "sweep_text"

ANALYSIS: dict[AnalysisMode, dict[str, Any]] = {
    "cjk": {
        "analyzer": {
            TEXT_ANALYZER: {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "cjk_bigram"],
            }
        }
    },
    "fallback": {"analyzer": {TEXT_ANALYZER: {"type": "standard", "max_token_length": 255}}},
}

CJK_PROBE: dict[str, Any] = {
    "tokenizer": "standard",
    "filter": ["cjk_width", "lowercase", "cjk_bigram"],
    "text": "出售氰化钠",
}
"""`_analyze` request that succeeds only where analysis-common is installed."""


def _text(keyword: bool = False) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": TEXT_ANALYZER}
    if keyword:
        field["fields"] = {"keyword": {"type": "keyword", "ignore_above": 256}}
    return field


_KW = {"type": "keyword"}
_DATE = {"type": "date"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

LEADS_MAPPING: dict[str, Any] = {
    "dynamic": False,  # unknown fields stay in _source; a new model field never breaks indexing
    "properties": {
        "lead_id": _KW,
        "platform": _KW,
        "listing_id": _KW,
        "family": _KW,
        "rule_id": _KW,
        "severity": _KW,
        "severity_rank": {"type": "byte"},
        "priority_key": {"type": "double"},
        "evidence": {
            "properties": {
                "field": _KW,
                "text": _text(),
                "matched": _text(),
                "start": {"type": "integer", "index": False},
                "end": {"type": "integer", "index": False},
            }
        },
        "legal_basis": _text(),
        "title_zh": _text(),
        "listing": {
            "properties": {
                "title": _text(keyword=True),
                "url": _STORED_ONLY,
                "category": _KW,
                "price": {"type": "float"},
                "unit": _KW,
                "description": _text(),
                "shop_id": _KW,
                "shop_name": _text(keyword=True),
                "shop_licence_no": _KW,
                "region": _KW,
            }
        },
        "first_seen": _DATE,
        "last_seen": _DATE,
        "times_seen": {"type": "integer"},
        "status": _KW,
        "assignee": _KW,
        "note": _text(),
        "status_updated_at": _DATE,
        "rulebook_version": _KW,
        "retired_at": _DATE,
        "retired_by_rulebook": _KW,
        "listing_state": _KW,
        "listing_changed_at": _DATE,
        "removed_at": _DATE,
        "removed_reason": _KW,
        "listing_history": {"type": "object", "enabled": False},
        # what the search language searches, normalised in Python (queries.search_fields): one array
        # value per source field; the default position_increment_gap keeps phrases inside one value
        "search": {"properties": {"text": _text(), "shop": _text()}},
    },
}

LISTINGS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "platform": _KW,
        "listing_id": _KW,
        "title": _text(keyword=True),
        "url": _STORED_ONLY,
        "description": _text(),
        "category": _KW,
        "price": {"type": "float"},
        "currency": _KW,
        "unit": _KW,
        "shop": {
            "properties": {
                "shop_id": _KW,
                "name": _text(keyword=True),
                "url": _STORED_ONLY,
                "licence_no": _KW,
                "licence_company": _text(keyword=True),
                "region": _KW,
                "permits": {"properties": {"type": _KW, "number": _KW}},
            }
        },
        "attributes": {"type": "object", "enabled": False},
        "images": {"type": "object", "enabled": False},
        # crawled_at comes from spiders as free text; a malformed value must not reject the listing
        "crawled_at": {"type": "date", "ignore_malformed": True},
        # the recrawl state kept beside the listing (sweep.recrawl.ListingState)
        "recrawl": {
            "properties": {
                "fingerprint": _KW,
                "state": _KW,
                "category": _KW,
                "shop_id": _KW,
                "first_seen": _DATE,
                "last_seen": _DATE,
                "changed_at": _DATE,
                "removed_at": _DATE,
                "removed_reason": _KW,
                "severity": _KW,
                "times_seen": {"type": "integer"},
                "times_changed": {"type": "integer"},
                "next_due": _DATE,
                "interval_s": {"type": "double"},
                "parts": {"type": "object", "enabled": False},
                "history": {"type": "object", "enabled": False},
                "recent_sightings": {"type": "object", "enabled": False},
            }
        },
    },
}

COMPLAINTS_MAPPING: dict[str, Any] = {
    # the masked records of `adapters.store.searchengine.complaints`; personal data is sealed elsewhere
    "dynamic": False,
    "properties": {
        "complaint_id": _KW,
        "received_at": _DATE,
        "received_month": _KW,
        "platform": _KW,
        "shop_name": _text(keyword=True),
        "seller_name": _text(keyword=True),
        "shop_uscc": _KW,
        "shop_id": _KW,
        "url": _STORED_ONLY,
        "product": _text(keyword=True),
        "text": _text(),
        "demand": _text(),
        "result": _text(),
        "category_code": _KW,
        "category": _text(keyword=True),
        "kind": _KW,
        "status": _KW,
        "closed_at": _DATE,
        "recovered_loss": {"type": "float"},
        "region": _KW,
        "handler": _KW,
        # personal data arrives masked and is never searchable
        "complainant_name": _STORED_ONLY,
        "complainant_phone": _STORED_ONLY,
        "complainant_id_number": _STORED_ONLY,
        "complainant_address": _STORED_ONLY,
        "pii_kinds": _KW,
        "match_keys": _KW,
        "matched": {"type": "boolean"},
        "matches": {"type": "object", "enabled": False},
        "digest": _STORED_ONLY,
        # text, shop, seller, product, demand, category folded (full-width, traditional) as the leads'
        "search": _text(),
    },
}

MAPPINGS: dict[str, dict[str, Any]] = {
    "leads": LEADS_MAPPING,
    "listings": LISTINGS_MAPPING,
    "complaints": COMPLAINTS_MAPPING,
}


def alias_name(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}"


def index_name(prefix: str, kind: str, version: int) -> str:
    return f"{prefix}-{kind}-v{version}"


def index_version(prefix: str, kind: str, index: str) -> int | None:
    """The N of `{prefix}-{kind}-vN`, or None for an index that is not ours."""
    head = f"{prefix}-{kind}-v"
    if index.startswith(head) and index[len(head) :].isdigit():
        return int(index[len(head) :])
    return None


def index_body(kind: str, mode: AnalysisMode, *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings + mappings of one index. One shard per index: a regulator's lead volume (millions) fits
    one shard comfortably, and one shard keeps facet counts exact and search_after cheap."""
    mappings = copy.deepcopy(MAPPINGS[kind])
    mappings["_meta"] = {"sweep_kind": kind, "sweep_mapping_version": MAPPING_VERSION, "sweep_analysis": mode}
    return {
        "settings": {
            "index": {"number_of_shards": shards, "number_of_replicas": replicas},
            "analysis": copy.deepcopy(ANALYSIS[mode]),
        },
        "mappings": mappings,
    }


def template_name(prefix: str, kind: str) -> str:
    return f"{prefix}-{kind}"


def template_body(prefix: str, kind: str, mode: AnalysisMode, **kw: int) -> dict[str, Any]:
    """Composable index template (`_index_template`, same shape in OpenSearch 2 and Elasticsearch 8/9):
    any `{prefix}-{kind}-vN` created later (reindex, by hand) gets the same settings and mappings."""
    return {
        "index_patterns": [f"{prefix}-{kind}-v*"],
        "priority": 200,
        "template": index_body(kind, mode, **kw),
        "_meta": {"managed_by": "sweep", "sweep_mapping_version": MAPPING_VERSION},
    }
