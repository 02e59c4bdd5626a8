"""Index administration behind `sweep search init | status | reindex | drop-old`.

Zero-downtime mapping changes: readers and writers use only aliases, so a new mapping is
`{prefix}-{kind}-v{N+1}` created from the current template, filled from vN, then the alias is moved in
ONE `_aliases` call (remove vN + add vN+1 is atomic: no request ever sees no index or two). vN stays
until `drop-old`, so a bad reindex is undone by swapping back.

Writes that land in vN while the copy runs are not in vN+1; pause the indexers during a reindex
(their offsets hold the backlog, nothing is lost) or re-run the reindex, which is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from adapters.store.searchengine.base import SearchEngineStore
from adapters.store.searchengine.errors import SearchError, SearchUnavailable
from adapters.store.searchengine.queries import lead_document, lead_from_source
from adapters.store.searchengine.templates import KINDS, alias_name, index_body, index_name, index_version

log = logging.getLogger("sweep.search.admin")


def _versions(store: SearchEngineStore, kind: str) -> dict[str, int]:
    found = store.get_indices(f"{store.prefix}-{kind}-v*")
    return {name: v for name in found if (v := index_version(store.prefix, kind, name)) is not None}


def _alias_targets(store: SearchEngineStore, kind: str) -> list[str]:
    alias = alias_name(store.prefix, kind)
    indices = store.get_indices(f"{store.prefix}-{kind}-v*")
    return sorted(name for name, meta in indices.items() if alias in (meta.get("aliases") or {}))


def status(store: SearchEngineStore) -> dict[str, Any]:
    """Server, analysis mode and, per kind, the alias target and every version with its doc count."""
    info = store.info()
    version = info.get("version") or {}
    out: dict[str, Any] = {
        "server": {
            "flavor": store.flavor,
            "number": version.get("number"),
            "distribution": version.get("distribution") or version.get("build_flavor"),
        },
        "analysis": store.analysis_mode(),
        "prefix": store.prefix,
        "kinds": {},
    }
    for kind in KINDS:
        alias = alias_name(store.prefix, kind)
        indices = store.get_indices(f"{store.prefix}-{kind}-v*")
        rows = []
        for name in sorted(indices, key=lambda n: index_version(store.prefix, kind, n) or 0):
            meta = (indices[name].get("mappings") or {}).get("_meta") or {}
            rows.append(
                {
                    "index": name,
                    "aliased": alias in (indices[name].get("aliases") or {}),
                    "docs": store.count_index(name),
                    "mapping_version": meta.get("sweep_mapping_version"),
                    "analysis": meta.get("sweep_analysis"),
                }
            )
        out["kinds"][kind] = {"alias": alias, "indices": rows}
    return out


def reindex(store: SearchEngineStore, kind: str) -> dict[str, Any]:
    """Copy the aliased index into a fresh vN+1 with the current mapping and swap the alias atomically."""
    if kind not in KINDS:
        raise SearchError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    alias = alias_name(store.prefix, kind)
    targets = _alias_targets(store, kind)
    if len(targets) != 1:
        raise SearchError(f"alias {alias} points to {targets or 'nothing'}; expected exactly one index")
    source = targets[0]
    next_version = max(_versions(store, kind).values(), default=0) + 1
    dest = index_name(store.prefix, kind, next_version)
    store.create_index(dest, index_body(kind, store.analysis_mode()))
    rebuild = REBUILT.get(kind)
    if rebuild is not None:
        method = "rebuilt"
        copied = _copy_client_side(store, source, dest, rebuild)
    else:
        method = "server"
        try:
            copied = store.reindex_server(source, dest)
        except SearchUnavailable:
            raise
        except SearchError as exc:
            # e.g. the minimal Elasticsearch has no reindex module: copy through the client instead
            log.info("server-side _reindex unavailable (%s); copying client-side", exc)
            method = "client"
            copied = _copy_client_side(store, source, dest)
    store.refresh_index(dest)
    src_docs, dest_docs = store.count_index(source), store.count_index(dest)
    if dest_docs < src_docs:
        raise SearchError(f"{dest} has {dest_docs} docs, {source} {src_docs}: alias NOT swapped")
    store.update_aliases([{"remove": {"index": source, "alias": alias}}, {"add": {"index": dest, "alias": alias}}])
    return {
        "kind": kind,
        "alias": alias,
        "from": source,
        "to": dest,
        "copied": copied,
        "docs": dest_docs,
        "method": method,
    }


def _rebuilt_lead(source: dict[str, Any]) -> dict[str, Any]:
    return lead_document(lead_from_source(source))


REBUILT: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"leads": _rebuilt_lead}
"""Kinds whose documents carry fields derived in Python (the normalised `search.text` of a lead): a
reindex rebuilds each document with today's code instead of copying it as stored, so a mapping change
that adds or changes a derived field reaches every old document."""


def _copy_client_side(
    store: SearchEngineStore,
    source: str,
    dest: str,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    chunk: int = 1000,
) -> int:
    ops: list[dict[str, Any]] = []
    copied = 0
    for hit in store.scan(source):
        doc = transform(hit["_source"]) if transform else hit["_source"]
        ops += [{"index": {"_index": dest, "_id": hit["_id"]}}, doc]
        if len(ops) >= 2 * chunk:
            copied += _flush(store, ops)
            ops = []
    if ops:
        copied += _flush(store, ops)
    return copied


def _flush(store: SearchEngineStore, ops: list[dict[str, Any]]) -> int:
    response = store.bulk(ops)
    if response.get("errors"):
        bad = [i for i in response["items"] if next(iter(i.values())).get("status", 500) >= 300]
        raise SearchError(f"client-side reindex: {len(bad)} documents rejected, e.g. {bad[0]}")
    return len(response["items"])


def drop_old(store: SearchEngineStore, kind: str | None = None) -> list[str]:
    """Delete our versioned indices that no alias points to any more (after a successful reindex)."""
    dropped = []
    for k in [kind] if kind else list(KINDS):
        alias = alias_name(store.prefix, k)
        for name, meta in store.get_indices(f"{store.prefix}-{k}-v*").items():
            if index_version(store.prefix, k, name) is not None and alias not in (meta.get("aliases") or {}):
                store.delete_index(name)
                dropped.append(name)
    return dropped


def delete_all(store: SearchEngineStore) -> None:
    """Remove every index and template of this prefix (tests and benchmarks clean up with this)."""
    from adapters.store.searchengine.templates import template_name

    for kind in KINDS:
        for name in store.get_indices(f"{store.prefix}-{kind}-v*"):
            store.delete_index(name)
        with contextlib.suppress(SearchError):
            store.delete_template(template_name(store.prefix, kind))
