"""The ComplaintStore port on Elasticsearch or OpenSearch: the production complaints index.

It drives the primitives of a `SearchEngineStore` (either backend, the minimal Elasticsearch included:
no scripts, only index/update/mget/search), so the complaint semantics live here once:

* `{prefix}-complaints` (alias of `{prefix}-complaints-vN`, mapping `templates.COMPLAINTS_MAPPING`): the
  masked record with its match keys, the sellers it is matched to (`matches`, `matched`), a digest
  of record + keys (an upsert of an equal record is counted unchanged and writes nothing), a
  `received_month` for the date facet, and `search`: the free-text fields folded as the embedded store
  folds them (full-width, traditional characters), analysed with the leads' CJK analysis (cjk_bigram,
  or unigrams where analysis-common is missing) and searched as phrases;
* `{prefix}-complaints-personal`: each complaint's `PersonalData`, sealed with Fernet (the same key as
  the embedded store, `SWEEP_PII_KEY`) in a field that is neither indexed nor searchable, so the engine,
  its snapshots and anyone with read rights on the indices see ciphertext only.

Writes create what is missing on first use (as the lead store does). An index created with the old
placeholder mapping (no `status` field) is replaced while it is empty; otherwise `sweep search reindex`
is the way to the current mapping.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from cryptography.fernet import Fernet

from adapters.store.cjk import fold
from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.errors import Conflict, NotFound, SearchError, SearchUnavailable
from adapters.store.searchengine.templates import alias_name
from sweep.models import Complaint, ComplaintMatch, PersonalData
from sweep.store.base import REPORT_UTC_OFFSET_HOURS, UpsertStats
from sweep.store.complaints import (
    DONE_STATUSES,
    ComplaintAggregates,
    ComplaintQuery,
    ComplaintRecord,
    ComplaintSearchResult,
    ComplaintStore,
)

FACET_FIELDS = ("platform", "status", "category_code", "region")
MONTHS_SHOWN = 24
SEARCHED = ("text", "shop_name", "seller_name", "product", "demand", "category")
"""The fields `ComplaintQuery.text` searches (the embedded store's full-text body, plus the seller)."""
_EXTRA = ("received_month", "match_keys", "matched", "matches", "digest", "search")
"""Fields of the document that are not the complaint's own."""
CHUNK = 500
MAX_WINDOW = 10_000
"""Hits one search may return (the engines' default `index.max_result_window`)."""


def personal_index(prefix: str) -> str:
    return f"{prefix}-complaints-personal"


PERSONAL_BODY: dict[str, Any] = {
    "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}},
    "mappings": {"dynamic": False, "properties": {"sealed": {"type": "keyword", "index": False, "doc_values": False}}},
}


def complaint_document(complaint: Complaint, keys: Sequence[str]) -> dict[str, Any]:
    """The indexed form of a masked complaint (without its matches) and the digest of what it says."""
    doc = complaint.model_dump(mode="json", exclude_none=True)
    doc["received_month"] = doc["received_at"][:7]  # the complaint's own clock, as the embedded facet
    doc["match_keys"] = sorted(set(keys))
    doc["search"] = [fold(v) for name in SEARCHED if (v := getattr(complaint, name))]
    doc["digest"] = hashlib.blake2b(
        complaint.model_dump_json(exclude_none=True).encode() + b"\x00" + "\x1e".join(doc["match_keys"]).encode(),
        digest_size=16,
    ).hexdigest()
    return doc


def _complaint(source: dict[str, Any]) -> Complaint:
    return Complaint.model_validate({k: v for k, v in source.items() if k not in _EXTRA})


def _matches(source: dict[str, Any]) -> list[ComplaintMatch]:
    return [ComplaintMatch.model_validate(m) for m in source.get("matches") or ()]


def _check(response: dict[str, Any], *, missing_ok: bool = False) -> None:
    """Raise for the items a bulk request failed: 429/5xx as unavailable (retry), others as errors."""
    if not response.get("errors"):
        return
    for item in response.get("items", []):
        result = next(iter(item.values()))
        status = int(result.get("status", 500))
        if status < 300 or (missing_ok and status == 404):
            continue
        if status == 429 or status >= 500:
            raise SearchUnavailable(f"complaint {result.get('_id')}: HTTP {status}")
        raise SearchError(f"complaint {result.get('_id')} rejected ({status}): {result.get('error')}")


class SearchComplaintStore(ComplaintStore):
    """See the module docstring. `engine` is an open `SearchEngineStore` (it is closed with this store);
    `refresh` is passed on writes ("wait_for" in tests, False in production: the next refresh shows them)."""

    def __init__(self, engine: SearchEngineStore, key: bytes, *, refresh: bool | str = False) -> None:
        self.engine = engine
        self.alias = alias_name(engine.prefix, "complaints")
        self.personal_index = personal_index(engine.prefix)
        self.refresh_writes = refresh
        self._fernet = Fernet(key)
        self._ready = False
        self._present: set[str] = set()
        """Indices seen to exist: readers ask once, never create (read rights suffice to search)."""

    def _has(self, name: str) -> bool:
        if name not in self._present and self.engine.exists(name):
            self._present.add(name)
        return name in self._present

    # -- setup ------------------------------------------------------------------------------------
    def ensure(self) -> None:
        """Create the complaints index and the personal-data index if missing (once per process)."""
        if self._ready:
            return
        engine = self.engine
        if not engine.exists(self.alias):
            engine.ensure_indices()
        else:
            for name, index in engine.get_indices(self.alias).items():
                if "status" in (index.get("mappings") or {}).get("properties", {}):
                    continue
                if engine.count_index(name):
                    raise SearchError(f"{name} has the old complaints mapping: run `sweep search reindex complaints`")
                engine.delete_index(name)  # the empty placeholder: recreated from the current template
                engine.ensure_indices()
        if not engine.exists(self.personal_index):
            with contextlib.suppress(Conflict):  # another process created it meanwhile
                engine.create_index(self.personal_index, PERSONAL_BODY)
        self._ready = True
        self._present.update((self.alias, self.personal_index))

    def refresh(self) -> None:
        """Make recent writes searchable (tests, CLI)."""
        self.engine.refresh_index(self.alias)
        if self._has(self.personal_index):
            self.engine.refresh_index(self.personal_index)

    # -- writes -----------------------------------------------------------------------------------
    def upsert(self, records: Iterable[ComplaintRecord]) -> UpsertStats:
        stats = UpsertStats()
        latest = {r.complaint.complaint_id: r for r in records}  # the last copy of an id wins
        if not latest:
            return stats
        self.ensure()
        self.put_personal(r.personal for r in latest.values() if r.personal is not None)
        ids = list(latest)
        ops: list[dict[str, Any]] = []
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            stored = {d["_id"]: d["_source"] for d in self.engine.mget(self.alias, chunk) if d.get("found")}
            for cid in chunk:
                record = latest[cid]
                doc = complaint_document(record.complaint, record.match_keys)
                old = stored.get(cid)
                if old is not None and old.get("digest") == doc["digest"]:
                    stats.unchanged += 1
                    continue
                if old is None:
                    stats.created += 1
                    doc["matches"], doc["matched"] = [], False
                else:
                    stats.updated += 1
                    doc["matches"], doc["matched"] = old.get("matches") or [], bool(old.get("matched"))
                ops += [{"index": {"_index": self.alias, "_id": cid}}, doc]
        for start in range(0, len(ops), 2 * CHUNK):
            _check(self.engine.bulk(ops[start : start + 2 * CHUNK], refresh=self.refresh_writes))
        return stats

    def put_personal(self, personal: Iterable[PersonalData]) -> None:
        ops: list[dict[str, Any]] = []
        for p in personal:
            sealed = self._fernet.encrypt(p.model_dump_json(exclude_none=True).encode()).decode()
            ops += [{"index": {"_index": self.personal_index, "_id": p.complaint_id}}, {"sealed": sealed}]
        if not ops:
            return
        self.ensure()
        for start in range(0, len(ops), 2 * CHUNK):
            _check(self.engine.bulk(ops[start : start + 2 * CHUNK], refresh=self.refresh_writes))

    def set_many_matches(self, by_id: dict[str, Sequence[ComplaintMatch]]) -> None:
        if not by_id:
            return
        self.ensure()
        ops: list[dict[str, Any]] = []
        for cid, found in by_id.items():
            matches = [m.model_dump(mode="json", exclude_none=True) for m in found]
            ops += [
                {"update": {"_index": self.alias, "_id": cid}},
                {"doc": {"matches": matches, "matched": bool(found)}},
            ]
        for start in range(0, len(ops), 2 * CHUNK):
            # a complaint not stored (yet) has nothing to link: its matches are computed when it arrives
            _check(self.engine.bulk(ops[start : start + 2 * CHUNK], refresh=self.refresh_writes), missing_ok=True)

    # -- reads ------------------------------------------------------------------------------------
    def _sources(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(ids))
        if not ids or not self._has(self.alias):
            return out
        for start in range(0, len(ids), CHUNK):
            for d in self.engine.mget(self.alias, ids[start : start + CHUNK]):
                if d.get("found"):
                    out[d["_id"]] = d["_source"]
        return out

    def get(self, complaint_id: str) -> Complaint | None:
        source = self._sources([complaint_id]).get(complaint_id)
        return _complaint(source) if source is not None else None

    def get_many(self, complaint_ids: Sequence[str]) -> dict[str, Complaint]:
        return {cid: _complaint(s) for cid, s in self._sources(complaint_ids).items()}

    def matches(self, complaint_ids: Sequence[str]) -> dict[str, list[ComplaintMatch]]:
        return {cid: found for cid, s in self._sources(complaint_ids).items() if (found := _matches(s))}

    def personal_data(self, complaint_id: str) -> PersonalData | None:
        try:
            doc = self.engine.get_doc(self.personal_index, complaint_id)
        except NotFound:
            return None
        return self._unseal(doc["_source"]) if doc and doc.get("found", True) and "_source" in doc else None

    def personal_data_many(self, complaint_ids: Sequence[str]) -> dict[str, PersonalData]:
        ids = list(dict.fromkeys(complaint_ids))
        if not ids or not self._has(self.personal_index):
            return {}
        out: dict[str, PersonalData] = {}
        for start in range(0, len(ids), CHUNK):
            for d in self.engine.mget(self.personal_index, ids[start : start + CHUNK]):
                if d.get("found"):
                    out[d["_id"]] = self._unseal(d["_source"])
        return out

    def _unseal(self, source: dict[str, Any]) -> PersonalData:
        return PersonalData.model_validate_json(self._fernet.decrypt(source["sealed"].encode()))

    def ids_by_keys(self, keys: Iterable[str], limit: int = 10_000) -> list[str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, None] = {}
        if not wanted or not self._has(self.alias):
            return []
        for start in range(0, len(wanted), CHUNK):
            body = {
                "query": {"terms": {"match_keys": wanted[start : start + CHUNK]}},
                "size": min(limit, MAX_WINDOW),
                "_source": False,
                "sort": [{"complaint_id": "asc"}],
            }
            for hit in self.engine.search_raw(self.alias, body)["hits"]["hits"]:
                found[hit["_id"]] = None
                if len(found) >= limit:
                    return list(found)
        return list(found)

    @staticmethod
    def _filters(q: ComplaintQuery) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        for name, values in (("platform", q.platforms), ("status", q.statuses), ("category_code", q.category_codes)):
            if values:
                filters.append({"terms": {name: list(values)}})
        if q.region_prefixes:
            should = [{"prefix": {"region": p}} for p in q.region_prefixes]
            filters.append({"bool": {"should": should, "minimum_should_match": 1}})
        if q.received_from or q.received_to:
            bounds = {}
            if q.received_from:
                bounds["gte"] = q.received_from.isoformat()
            if q.received_to:
                bounds["lte"] = q.received_to.isoformat()
            filters.append({"range": {"received_at": bounds}})
        if q.matched is not None:
            filters.append({"term": {"matched": q.matched}})
        for word in (q.text or "").split():
            if folded := fold(word).strip():
                filters.append({"match_phrase": {"search": folded}})
        return filters

    def search(self, query: ComplaintQuery) -> ComplaintSearchResult:
        if not self._has(self.alias):
            return ComplaintSearchResult(total=0, complaints=[])
        aggs: dict[str, Any] = {name: {"terms": {"field": name, "size": 50}} for name in FACET_FIELDS}
        aggs["month"] = {"terms": {"field": "received_month", "size": MONTHS_SHOWN, "order": {"_key": "desc"}}}
        body: dict[str, Any] = {
            "query": {"bool": {"filter": self._filters(query)}},
            "size": query.size,
            "sort": [{"received_at": "desc"}, {"complaint_id": "asc"}],
            "track_total_hits": True,
            "aggs": aggs,
        }
        if query.cursor:
            ts, _, cid = query.cursor.partition("|")
            body["search_after"] = [round(float(ts) * 1000), cid]
        response = self.engine.search_raw(self.alias, body)
        hits = response["hits"]["hits"]
        total = response["hits"]["total"]
        facets = {
            name: {str(b["key"]): int(b["doc_count"]) for b in agg["buckets"]}
            for name, agg in response.get("aggregations", {}).items()
        }
        cursor = None
        if hits and len(hits) == query.size:
            millis, cid = hits[-1]["sort"]
            cursor = f"{millis / 1000!r}|{cid}"
        return ComplaintSearchResult(
            total=int(total["value"] if isinstance(total, dict) else total),
            complaints=[_complaint(h["_source"]) for h in hits],
            matches={h["_id"]: found for h in hits if (found := _matches(h["_source"]))},
            facets=facets,
            next_cursor=cursor,
        )

    def aggregate(self, query: ComplaintQuery, *, top: int = 10) -> ComplaintAggregates:
        """One aggregation request (no records travel): days cut at UTC+8 midnight; 办结 is a 办结日期 or
        one of `DONE_STATUSES` exactly as stored."""
        if not self._has(self.alias):
            return ComplaintAggregates()
        order = [{"_count": "desc"}, {"_key": "asc"}]
        done = {"bool": {"should": [{"exists": {"field": "closed_at"}}, {"terms": {"status": sorted(DONE_STATUSES)}}]}}
        body: dict[str, Any] = {
            "query": {"bool": {"filter": self._filters(query)}},
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "per_day": {
                    "date_histogram": {
                        "field": "received_at",
                        "calendar_interval": "day",
                        "time_zone": f"+{REPORT_UTC_OFFSET_HOURS:02d}:00",
                        "format": "yyyy-MM-dd",
                        "min_doc_count": 1,
                    }
                },
                "done": {"filter": done},
                "by_status": {"terms": {"field": "status", "size": 100, "order": order}},
                "by_region": {"terms": {"field": "region", "size": 1000, "order": order}},
                "top_shops": {"terms": {"field": "shop_name.keyword", "size": max(1, top), "order": order}},
                "top_companies": {"terms": {"field": "seller_name.keyword", "size": max(1, top), "order": order}},
            },
        }
        response = self.engine.search_raw(self.alias, body)
        aggs = response.get("aggregations", {})

        def terms(name: str) -> dict[str, int]:
            return {str(b["key"]): int(b["doc_count"]) for b in aggs.get(name, {}).get("buckets", []) if b["doc_count"]}

        total = response["hits"]["total"]
        return ComplaintAggregates(
            total=int(total["value"] if isinstance(total, dict) else total),
            done=int(aggs.get("done", {}).get("doc_count", 0)),
            per_day={b["key_as_string"]: int(b["doc_count"]) for b in aggs["per_day"]["buckets"] if b["doc_count"]},
            by_status=terms("by_status"),
            by_region=terms("by_region"),
            top_shops=terms("top_shops"),
            top_companies=terms("top_companies"),
        )

    def iter_all(self, page_size: int = 1000) -> Iterator[list[Complaint]]:
        if not self._has(self.alias):
            return
        for page in self.engine.pages_of(self.alias, [{"complaint_id": "asc"}], size=page_size):
            yield [_complaint(source) for source in page]

    def count(self) -> int:
        return self.engine.count_index(self.alias) if self._has(self.alias) else 0

    def close(self) -> None:
        self.engine.close()


__all__ = ["SearchComplaintStore", "complaint_document", "personal_index"]
