"""The SellerDirectory port on Elasticsearch or OpenSearch: the production seller directory.

The embedded directory is a table in `complaints.sqlite` in the local data dir; on the servers every
workspace, consumer and `sweep complaints sync-sellers` must see the same sellers, so they live in the
search engine beside the complaints index:

* `{prefix}-sellers` (alias of `{prefix}-sellers-v1`, mapping `SELLERS_MAPPING`): one document per shop
  (platform + shop id), its id a digest of that key (a shop id made of a long name would not fit the
  engines' 512-byte id limit), `key` kept as a keyword so pages come in the same order as the embedded
  directory's, `uscc` a keyword for "the same company on other platforms".

Writes are idempotent and safe to race: `observe` reads the stored documents in real time (`mget`),
merges with `merge_seller` (the port's rule, the embedded adapter's too), writes only what changed,
and writes it with `if_seq_no`/`if_primary_term` (or `create` for a new shop). A write that lost a race
to another process (409) is read, merged and written again, so no observation is lost. The directory
is rebuilt from the bus or the leads (`sweep complaints sync-sellers --from-leads`), so it has no
template and no `sweep search reindex` kind: a new mapping is a new `-vN` index filled that way.

Reads by key (`get`, and `observe`'s own reads) are real time. Searches (`iter_all`, `with_uscc`) see
what the engine has refreshed (about a second): a handle that wrote refreshes before its next search, so
a process reads its own writes (an import that observed sellers then matches against them), and
`iter_all`, the matcher's one full read per process, refreshes first anyway, so it sees what another
process observed a moment ago. `with_uscc` on a lead page may lag another process's write by the
refresh interval.

Only the primitives of `SearchEngineStore` are used (index/create/mget/search, no scripts), so the
minimal Elasticsearch distribution serves it too.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterable, Iterator
from typing import Any

from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.errors import Conflict, SearchError, SearchUnavailable
from adapters.store.searchengine.templates import alias_name, index_name
from sweep.store.complaints import Seller, SellerDirectory, merge_seller

KIND = "sellers"
VERSION = 1
"""The N of `{prefix}-sellers-vN`: bump with `SELLERS_MAPPING` (and refill with sync-sellers)."""
CHUNK = 500
MAX_ROUNDS = 8
"""Rounds of read-merge-write for the shops whose write lost a race (or met a busy engine)."""

_KW = {"type": "keyword"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

SELLERS_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "key": _KW,
        "platform": _KW,
        "shop_id": _KW,
        "name": {"type": "keyword", "ignore_above": 256},
        "company": {"type": "keyword", "ignore_above": 256},
        "uscc": _KW,
        "region": _KW,
        "urls": _STORED_ONLY,
        "lead_ids": _KW,
    },
}


def sellers_index_body(*, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Settings + mappings of `{prefix}-sellers-vN` (keywords only: no analysis needed)."""
    return {
        "settings": {"index": {"number_of_shards": shards, "number_of_replicas": replicas}},
        "mappings": {**SELLERS_MAPPING, "_meta": {"sweep_kind": KIND, "sweep_mapping_version": VERSION}},
    }


def seller_doc_id(key: str) -> str:
    """The document id of a seller key (`Seller.key`): stable, short, the same in every process."""
    return hashlib.sha1(key.encode()).hexdigest()


def seller_document(seller: Seller) -> dict[str, Any]:
    return {
        "key": seller.key,
        "platform": seller.platform,
        "shop_id": seller.shop_id,
        "name": seller.name,
        "company": seller.company,
        "uscc": seller.uscc,
        "region": seller.region,
        "urls": list(seller.urls),
        "lead_ids": list(seller.lead_ids),
    }


def _seller(source: dict[str, Any]) -> Seller:
    return Seller(
        platform=source["platform"],
        shop_id=source["shop_id"],
        name=source.get("name"),
        company=source.get("company"),
        uscc=source.get("uscc"),
        region=source.get("region"),
        urls=list(source.get("urls") or ()),
        lead_ids=list(source.get("lead_ids") or ()),
    )


class SearchSellerDirectory(SellerDirectory):
    """See the module docstring. `engine` is an open `SearchEngineStore` (closed with this directory);
    `refresh` is passed on writes ("wait_for" in tests: `with_uscc` and `iter_all` see them at once)."""

    def __init__(self, engine: SearchEngineStore, *, refresh: bool | str = False) -> None:
        self.engine = engine
        self.alias = alias_name(engine.prefix, KIND)
        self.refresh_writes = refresh
        self._present = False
        """The alias was seen to exist: readers ask once and never create (read rights suffice)."""
        self._dirty = False
        """Written since the last refresh (without `refresh`): refresh before the next search."""

    def _has(self) -> bool:
        if not self._present:
            self._present = self.engine.exists(self.alias)
        return self._present

    def ensure(self) -> None:
        """Create `{prefix}-sellers-v1` behind its alias if the alias is missing; safe to race."""
        if self._has():
            return
        first = index_name(self.engine.prefix, KIND, VERSION)
        body = sellers_index_body()
        body["aliases"] = {self.alias: {}}
        try:
            self.engine.create_index(first, body)
        except Conflict:
            if not self.engine.exists(self.alias):
                with contextlib.suppress(Conflict):
                    self.engine.update_aliases([{"add": {"index": first, "alias": self.alias}}])
        self._present = True

    def refresh(self) -> None:
        """Make recent writes searchable (tests, CLI)."""
        if self._has():
            self.engine.refresh_index(self.alias)
        self._dirty = False

    def _searchable(self, *, always: bool = False) -> None:
        """Refresh before a search when this handle wrote since (or `always`). An account without the
        right to refresh searches what the engine refreshed by itself: a second's lag, not an error."""
        if not (always or self._dirty):
            return
        try:
            self.refresh()
        except SearchUnavailable:
            raise
        except SearchError:
            self._dirty = False

    # -- writes -----------------------------------------------------------------------------------
    def _stored(self, keys: list[str]) -> dict[str, tuple[Seller, int, int]]:
        """Real-time read of these keys: seller with its `_seq_no` and `_primary_term`."""
        out: dict[str, tuple[Seller, int, int]] = {}
        by_id = {seller_doc_id(k): k for k in keys}
        for d in self.engine.mget(self.alias, list(by_id)):
            if d.get("found"):
                out[by_id[d["_id"]]] = (_seller(d["_source"]), int(d["_seq_no"]), int(d["_primary_term"]))
        return out

    def observe(self, sellers: Iterable[Seller]) -> list[Seller]:
        merged: dict[str, Seller] = {}
        for s in sellers:
            seen = merged.get(s.key)
            merged[s.key] = s if seen is None else merge_seller(seen, s)
        if not merged:
            return []
        self.ensure()
        changed: dict[str, Seller] = {}
        pending = list(merged)
        delay = 0.05
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            retry: list[str] = []
            busy = False
            for start in range(0, len(pending), CHUNK):
                chunk = pending[start : start + CHUNK]
                stored = self._stored(chunk)
                ops: list[dict[str, Any]] = []
                written: list[tuple[str, Seller]] = []
                for key in chunk:
                    obs = merged[key]
                    old = stored.get(key)
                    if old is None:
                        new = obs
                        action = {"create": {"_index": self.alias, "_id": seller_doc_id(key)}}
                    else:
                        new = merge_seller(old[0], obs)
                        if new == old[0]:
                            continue  # nothing new: no write (a replay changes nothing)
                        meta = {"_index": self.alias, "_id": seller_doc_id(key), "if_seq_no": old[1]}
                        action = {"index": {**meta, "if_primary_term": old[2]}}
                    ops += [action, seller_document(new)]
                    written.append((key, new))
                if not ops:
                    continue
                response = self.engine.bulk(ops, refresh=self.refresh_writes)
                for (key, new), item in zip(written, response["items"], strict=True):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 500))
                    if status < 300:
                        changed[key] = new
                        self._dirty = self._dirty or not self.refresh_writes
                    elif status == 409:
                        retry.append(key)  # another writer got there first: read, merge, write again
                    elif status == 429 or status >= 500:
                        retry.append(key)
                        busy = True
                    else:
                        raise SearchError(f"seller {key!r} rejected ({status}): {result.get('error')}")
            pending = retry
            if busy:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if pending:
            raise SearchUnavailable(f"{len(pending)} sellers still conflicting after {MAX_ROUNDS} rounds")
        return list(changed.values())

    # -- reads ------------------------------------------------------------------------------------
    def get(self, platform: str, shop_id: str) -> Seller | None:
        if not self._has():
            return None
        found = self._stored([Seller(platform=platform, shop_id=shop_id).key])
        return next(iter(found.values()))[0] if found else None

    def iter_all(self, page_size: int = 5000) -> Iterator[list[Seller]]:
        """In key order (as the embedded directory), paged with `search_after` (no scroll to keep)."""
        if not self._has():
            return
        self._searchable(always=True)
        for page in self.engine.pages_of(self.alias, [{"key": "asc"}], size=page_size):
            yield [_seller(source) for source in page]

    def count(self) -> int:
        return self.engine.count_index(self.alias) if self._has() else 0

    def with_uscc(self, uscc: str, limit: int = 200) -> list[Seller]:
        """From the `uscc` keyword: one term query, in key order."""
        if not uscc or not self._has():
            return []
        self._searchable()
        body = {"query": {"term": {"uscc": uscc}}, "size": limit, "sort": [{"key": "asc"}]}
        return [_seller(h["_source"]) for h in self.engine.search_raw(self.alias, body)["hits"]["hits"]]

    def close(self) -> None:
        self.engine.close()


__all__ = ["SELLERS_MAPPING", "SearchSellerDirectory", "seller_doc_id", "seller_document", "sellers_index_body"]
