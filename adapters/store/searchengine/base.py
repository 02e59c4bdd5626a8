"""The LeadStore port on a search engine: everything both backends share.

Subclasses (`opensearch`, `elasticsearch`) only translate a dozen primitive operations to their
client library and map its exceptions to `search.errors`; the lead semantics live here once.

Why merges happen in Python and not in a scripted upsert: `Lead.sighted` is the single definition of
what a sighting does (replays are no-ops, triage is never touched), the minimal Elasticsearch has no
painless, and a script would be a second implementation to keep in sync. Correctness under
concurrent writers (several indexers, a person triaging) comes from optimistic concurrency instead:
read (realtime mget) -> merge -> write with `if_seq_no`/`if_primary_term` (or `create` for a new
lead); a write that lost the race gets 409 and that lead is re-read and merged again. So a triage
update that lands between our read and our write is never overwritten, and two indexers applying the
same sighting both end with it counted once.

While most leads a batch brings are new (a fresh stream), a lead that is not in the write cache is
not read at all: it is written with `create` straight away, exactly what the read would have led to
had it found nothing. When the lead exists after all, `create` fails with 409 and the lead takes the
read -> merge -> guarded write path of a lost race, so nothing existing is ever overwritten. Whether
to skip the read follows what the previous batch found (see `_blind_creates`).

Listings keep their recrawl state (`sweep.recrawl.ListingState`) in the same document, under `recrawl`,
written the same way: realtime read -> merge in Python -> write guarded by seq_no (or `create`), a lost
race re-read and merged again. A listing copy older than the kept one never replaces it (the merge
compares crawl times). When an observation moves a listing's leads, the leads are written FIRST and
the listing document after: a crash in between replays the observation, which finds the leads already
sighted (`Lead.seen_again` remembers sighting times) and writes the listing; the other order could
lose the leads' sighting for good.
"""

from __future__ import annotations

import logging
import operator
import random
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import orjson

from adapters.store.searchengine import queries
from adapters.store.searchengine.errors import Conflict, NotFound, SearchError, SearchUnavailable
from adapters.store.searchengine.templates import (
    CJK_PROBE,
    KINDS,
    AnalysisMode,
    alias_name,
    index_body,
    index_name,
    template_body,
    template_name,
)
from sweep.models import Lead, LeadEvent, Listing, TriageStatus, parse_time, utcnow
from sweep.recrawl import (
    ListingGone,
    ListingSeen,
    ListingState,
    Observation,
    ObservationStats,
    RecrawlPolicy,
    candidate_lead_ids,
    leads_after,
)
from sweep.store.base import (
    Judged,
    LeadAggregates,
    LeadQuery,
    LeadSearchResult,
    LeadStore,
    StatusChange,
    StatusResult,
    UpsertStats,
)

log = logging.getLogger("sweep.search")

MAX_ROUNDS = 8
"""Re-read/merge/write rounds for leads that lost an optimistic-concurrency race, per call."""

BLIND_CREATE_MAX_EXISTING = 0.5
"""Skip the read for uncached leads while at most this share of the previous batch's uncached leads
existed already: each one that does costs a failed `create` plus the read it would have needed anyway."""

BULK_FILTER_PATH = "took,errors,items.*._id,items.*.status,items.*._seq_no,items.*._primary_term,items.*.error"
"""The parts of a bulk response the write path reads: a full response is ~4x larger, and parsing it was a
measurable share of the indexer's CPU."""


def ndjson(operations: list[dict[str, Any] | bytes]) -> bytes:
    """Bulk body serialized with orjson: several times faster than the clients' stdlib json, and the
    indexer's throughput is bound by Python CPU on a small machine. A line given as bytes is JSON
    serialized already (a document built ahead, see `PreparedEvents`)."""
    return b"\n".join(op if isinstance(op, bytes) else orjson.dumps(op) for op in operations) + b"\n"


class PreparedEvents(list[LeadEvent]):
    """Lead events plus, per lead, the document it gets if it is new: `SearchEngineStore.prepare_events`
    builds them off the write path (the indexer does it while the previous batch is being written), and
    `apply_events` uses one only for a lead it creates from exactly the same events."""

    new_docs: dict[str, tuple[list[LeadEvent], Lead, UpsertStats, bytes]]

    def __init__(self, events: Iterable[LeadEvent]) -> None:
        super().__init__(events)
        self.new_docs = {}


class SearchEngineStore(LeadStore, ABC):
    """LeadStore over Elasticsearch or OpenSearch; see the module docstring."""

    flavor: str = "?"

    def __init__(self, *, prefix: str = "sweep", ensure: bool = False, refresh: bool | str = False) -> None:
        """`ensure` installs templates and indices now (`sweep search init`). Otherwise opening creates
        nothing, so an account with read rights only can search; the first write creates what is missing
        (see `_ensure_writable`)."""
        self.prefix = prefix
        self.refresh_writes = refresh
        """Passed as `refresh` on writes; tests use "wait_for", the indexer leaves it False (throughput)."""
        self.leads_alias = alias_name(prefix, "leads")
        self.listings_alias = alias_name(prefix, "listings")
        self.complaints_alias = alias_name(prefix, "complaints")
        self._analysis: AnalysisMode | None = None
        self.cache_size = 20_000
        """Recently written leads kept with their seq_no (see `_current`); 0 disables."""
        self._recent: OrderedDict[str, tuple[Lead, tuple[int, int]]] = OrderedDict()
        self.blind_create = True
        """Allow `create` without a read for leads not in the cache (see the module docstring)."""
        self._existing_share = 0.0
        """Share of the last batch's uncached leads that existed (found by mget, or a 409 on `create`)."""
        self._writable: set[str] = set()
        """Kinds whose alias is known to exist, so writes need not ask again."""
        self.recrawl_policy = RecrawlPolicy.from_settings()
        """Bounds of the per-listing recrawl intervals (`sweep.recrawl`), from the settings."""
        if ensure:
            self.ensure_indices()

    # -- primitives each backend implements (raising search.errors) -------------------------------
    @abstractmethod
    def info(self) -> dict[str, Any]: ...

    def cluster_health(self) -> dict[str, Any]:
        """GET _cluster/health: status (green/yellow/red), nodes, shards (for `sweep status` and /metrics)."""
        raise NotImplementedError

    @abstractmethod
    def analyze(self, body: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def put_template(self, name: str, body: dict[str, Any]) -> None: ...

    @abstractmethod
    def delete_template(self, name: str) -> None: ...

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether an index or alias of that name exists."""

    @abstractmethod
    def get_indices(self, pattern: str) -> dict[str, Any]:
        """GET /{pattern}: index name -> {aliases, mappings, settings}; {} when nothing matches."""

    @abstractmethod
    def create_index(self, name: str, body: dict[str, Any]) -> None:
        """Raises Conflict when it already exists."""

    @abstractmethod
    def delete_index(self, name: str) -> None: ...

    @abstractmethod
    def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

    @abstractmethod
    def refresh_index(self, name: str) -> None: ...

    @abstractmethod
    def update_index_settings(self, name: str, settings: dict[str, Any]) -> None:
        """Dynamic settings (refresh_interval during bulk loads)."""

    @abstractmethod
    def mget(self, index: str, ids: list[str]) -> list[dict[str, Any]]:
        """Realtime multi-get; each doc has _id, found, and when found _source, _seq_no, _primary_term."""

    @abstractmethod
    def bulk(self, operations: list[dict[str, Any]], refresh: bool | str = False) -> dict[str, Any]:
        """Action/source lines as dicts (a source line may be bytes, serialized ahead); the response's
        `errors` and per item `_id`, `status`, `_seq_no`, `_primary_term`, `error` (BULK_FILTER_PATH)."""

    @abstractmethod
    def search_raw(self, index: str, body: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def count_index(self, index: str) -> int: ...

    @abstractmethod
    def get_doc(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """Realtime get with _seq_no/_primary_term, None when absent."""

    @abstractmethod
    def update_doc(self, index: str, doc_id: str, doc: dict[str, Any], *, if_seq_no: int, if_primary_term: int) -> None:
        """Partial update with concurrency control; raises Conflict on a lost race, NotFound if gone."""

    @abstractmethod
    def reindex_server(self, source: str, dest: str) -> int:
        """Server-side `_reindex`; returns documents copied. Raises SearchError if unsupported."""

    @abstractmethod
    def scan(self, index: str) -> Iterator[dict[str, Any]]:
        """Every hit of an index (scroll), for the client-side reindex fallback."""

    # -- setup ------------------------------------------------------------------------------------
    def analysis_mode(self) -> AnalysisMode:
        """Ask the server whether analysis-common (cjk_bigram) is there; cached."""
        if self._analysis is None:
            try:
                self.analyze(CJK_PROBE)
                self._analysis = "cjk"
            except SearchUnavailable:
                raise
            except SearchError as exc:
                log.info("cjk_bigram unavailable (%s): using the fallback analysis", exc)
                self._analysis = "fallback"
        return self._analysis

    def ensure_indices(self) -> None:
        """Idempotently install templates and create `{prefix}-{kind}-v1` behind its alias if the alias is
        missing. Safe to race with other processes doing the same."""
        mode = self.analysis_mode()
        for kind in KINDS:
            self.put_template(template_name(self.prefix, kind), template_body(self.prefix, kind, mode))
            alias = alias_name(self.prefix, kind)
            if self.exists(alias):
                continue
            first = index_name(self.prefix, kind, 1)
            body = index_body(kind, mode)
            body["aliases"] = {alias: {}}
            try:
                self.create_index(first, body)
            except Conflict:
                if not self.exists(alias):
                    self.update_aliases([{"add": {"index": first, "alias": alias}}])
        self._writable.update(KINDS)

    def _ensure_writable(self, kind: str) -> None:
        """Before the first write of a kind: create templates and indices if its alias is missing.

        Writing to a missing alias would make the engine auto-create an index of that name with a
        guessed mapping, so the writer (the indexer, `sweep demo`) creates the real ones first; it
        holds write rights anyway. Readers never get here. One HEAD request per kind and process."""
        if kind in self._writable:
            return
        if self.exists(alias_name(self.prefix, kind)):
            self._writable.add(kind)
        else:
            log.info("alias %s is missing: creating templates and indices", alias_name(self.prefix, kind))
            self.ensure_indices()

    def refresh(self) -> None:
        """Make recent writes searchable (tests, benchmarks, CLI)."""
        for kind in KINDS:
            self.refresh_index(alias_name(self.prefix, kind))

    # -- LeadStore --------------------------------------------------------------------------------
    def apply_events(self, events: Iterable[LeadEvent]) -> UpsertStats:
        stats = UpsertStats()
        by_id: dict[str, list[LeadEvent]] = {}
        for event in events:
            by_id.setdefault(event.lead_id, []).append(event)
        if not by_id:
            return stats
        self._ensure_writable("leads")
        new_docs = events.new_docs if isinstance(events, PreparedEvents) else {}
        pending = list(by_id)
        delay = 0.05
        blind: set[str] = set()
        """Uncached leads of the first round written with `create` without a read."""
        for round_ in range(MAX_ROUNDS):
            if not pending:
                return stats
            ops: list[Any] = []  # action dicts, document dicts or documents serialized ahead (bytes)
            op_ids: list[str] = []
            op_leads: list[Lead] = []
            op_stats: list[UpsertStats] = []
            # only the first round may skip reads: a lead that conflicted is always read again
            first = round_ == 0
            for lead_id, current, seq in self._current(
                pending, blind if first and self._blind_creates() else None, first
            ):
                evs = by_id[lead_id]
                merged = UpsertStats()
                if current is not None and seq is not None:
                    lead = current
                    for e in evs:
                        new = lead.sighted(e)
                        if new is lead:
                            merged.unchanged += 1
                        else:
                            lead, merged.updated = new, merged.updated + 1
                    if lead is current:
                        stats += merged
                        continue
                    meta = {"_index": self.leads_alias, "_id": lead_id, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                    action = {"index": meta}
                    doc: dict[str, Any] | bytes = queries.lead_document(lead)
                else:
                    built = new_docs.get(lead_id)
                    if built is not None and len(built[0]) == len(evs) and all(map(operator.is_, built[0], evs)):
                        _evs, lead, made, doc = built
                        merged += made
                    else:
                        lead, merged = _new_lead(evs)
                        doc = queries.lead_document(lead)
                    action = {"create": {"_index": self.leads_alias, "_id": lead_id}}
                ops += [action, doc]
                op_ids.append(lead_id)
                op_leads.append(lead)
                op_stats.append(merged)
            if not ops:
                return stats
            response = self.bulk(ops, refresh=self.refresh_writes)
            retry: list[str] = []
            transient: list[str] = []
            existed = 0
            for lead_id, lead, merged, item in zip(op_ids, op_leads, op_stats, response["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300:
                    stats += merged
                    self._remember(lead_id, lead, result.get("_seq_no"), result.get("_primary_term"))
                elif status == 409:
                    self._recent.pop(lead_id, None)
                    existed += lead_id in blind
                    retry.append(lead_id)  # lost a race, or a blind create of a lead that exists: read and merge
                elif status == 429 or status >= 500:
                    transient.append(lead_id)
                else:
                    raise SearchError(f"lead {lead_id} rejected ({status}): {result.get('error')}")
            if round_ == 0 and blind:
                self._existing_share = existed / len(blind)
            pending = retry + transient
            if transient:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if pending:
            raise SearchUnavailable(f"{len(pending)} leads still conflicting/rejected after {MAX_ROUNDS} rounds")
        return stats

    def prepare_events(self, events: Iterable[LeadEvent]) -> PreparedEvents:
        """The events, with the document of every lead they would create if it is new, serialized: pure
        work on the events alone, so a caller can do it while the store is busy with something else
        (the indexer, while the previous batch is written); `apply_events` then only assembles and
        sends. Only when skipping reads (`_blind_creates`): otherwise most leads exist and their
        documents depend on what the read returns."""
        prepared = PreparedEvents(events)
        if not self._blind_creates():
            return prepared
        by_id: dict[str, list[LeadEvent]] = {}
        for event in prepared:
            by_id.setdefault(event.lead_id, []).append(event)
        recent = self._recent
        for lead_id, evs in by_id.items():
            if lead_id not in recent:
                lead, made = _new_lead(evs)
                prepared.new_docs[lead_id] = (evs, lead, made, orjson.dumps(queries.lead_document(lead)))
        return prepared

    def _blind_creates(self) -> bool:
        """Whether this batch writes uncached leads with `create` and no read: while few of them turned
        out to exist in the previous batch. A stream of new leads saves every read; a replay of known
        leads into an empty cache (a restart, a rebalance) pays one batch of 409s, then reads first
        again until the leads it reads are mostly new."""
        return self.blind_create and self._existing_share <= BLIND_CREATE_MAX_EXISTING

    def _current(
        self, lead_ids: list[str], blind: set[str] | None = None, measure: bool = False
    ) -> Iterator[tuple[str, Lead | None, tuple[int, int] | None]]:
        """(lead_id, current lead, (seq_no, primary_term)) from the write cache, else a realtime mget;
        with `blind` (a set to fill), leads not in the cache are reported absent without a read and
        added to it (their `create` fails with 409 if they exist). `measure` records the share of the
        read ones that exist (for `_blind_creates`; not on re-reads after a 409, which all exist).

        The cache matters for throughput, not correctness: a realtime get of a document written since
        the last refresh forces a refresh of the shard, and redeliveries/repeat sightings hit exactly
        those. A stale entry (someone else wrote meanwhile) costs one 409 and a re-read.
        """
        missing = []
        for lead_id in lead_ids:
            hit = self._recent.get(lead_id)
            if hit is None:
                missing.append(lead_id)
            else:
                self._recent.move_to_end(lead_id)
                yield lead_id, hit[0], hit[1]
        if missing and blind is not None:
            blind.update(missing)
            for lead_id in missing:
                yield lead_id, None, None
        elif missing:
            found = 0
            for doc in self.mget(self.leads_alias, missing):
                if doc.get("found"):
                    found += 1
                    lead = queries.lead_from_source(doc["_source"])
                    seq = (int(doc["_seq_no"]), int(doc["_primary_term"]))
                    self._remember(doc["_id"], lead, *seq)
                    yield doc["_id"], lead, seq
                else:
                    yield doc["_id"], None, None
            if measure:
                self._existing_share = found / len(missing)

    def _remember(self, lead_id: str, lead: Lead, seq_no: int | None, primary_term: int | None) -> None:
        if seq_no is None or primary_term is None or self.cache_size <= 0:
            return
        self._recent[lead_id] = (lead, (int(seq_no), int(primary_term)))
        self._recent.move_to_end(lead_id)
        while len(self._recent) > self.cache_size:
            self._recent.popitem(last=False)

    def index_listings(self, listings: Iterable[Listing], *, judged: Mapping[str, Judged] | None = None) -> int:
        """Latest copy per listing, with its recrawl state (module docstring): read, merge, guarded write;
        an older copy than the kept one only counts as a sighting in the state, an identical replay
        writes nothing. A listing whose content changed gives its leads its state first. Returns how
        many listings got a newer kept copy."""
        by_key: dict[str, list[Listing]] = {}
        for item in listings:
            by_key.setdefault(item.key, []).append(item)
        if not by_key:
            return 0
        self._ensure_writable("listings")
        judged = judged or {}
        policy = self.recrawl_policy
        written = 0
        pending = list(by_key)
        delay = 0.05
        for _round in range(MAX_ROUNDS):
            if not pending:
                return written
            current = self._read_listing_docs(pending)
            ops: list[dict[str, Any]] = []
            op_keys: list[str] = []
            replaced: set[str] = set()
            lead_updates: dict[str, tuple[ListingState, datetime | None]] = {}
            for key in pending:
                source, seq = current.get(key, (None, None))
                before = _state_of(source)
                state = before
                newest: Listing | None = None
                newest_at = parse_time(source.get("crawled_at")) if source else None
                for item in by_key[key]:
                    at = parse_time(item.crawled_at) or utcnow()
                    verdict = judged.get(key)
                    kw = {
                        "judged_by": verdict.rulebook_version if verdict else None,
                        "severity": verdict.severity if verdict else None,
                    }
                    if state is None:
                        state = ListingState.first(item, at, policy, **kw)
                    else:
                        state = state.observed(item, at, policy, judged=verdict is not None, **kw)
                    if newest_at is None or at > newest_at:
                        newest, newest_at = item, at
                assert state is not None
                if newest is None and state is before:
                    continue  # a replay, or an older copy already counted
                if before is not None and (state.content_since != before.content_since or state.state != before.state):
                    lead_updates[key] = (state, None)
                body = newest.model_dump(mode="json") if newest is not None else dict(source or {})
                body["recrawl"] = state.model_dump(mode="json")
                if seq is None:
                    ops += [{"create": {"_index": self.listings_alias, "_id": key}}, body]
                else:
                    meta = {"_index": self.listings_alias, "_id": key, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                    ops += [{"index": meta}, body]
                op_keys.append(key)
                if newest is not None:
                    replaced.add(key)
            if lead_updates:
                self._update_listing_leads(lead_updates)
            if not ops:
                return written
            response = self.bulk(ops, refresh=self.refresh_writes)
            pending, overloaded = [], False
            for key, item in zip(op_keys, response["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300:
                    written += key in replaced
                elif status == 409 or status == 429 or status >= 500:
                    pending.append(key)  # lost a race (read again and merge) or overloaded
                    overloaded = overloaded or status != 409
                else:
                    raise SearchError(f"listing {key} rejected ({status}): {result.get('error')}")
            if overloaded:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if pending:
            raise SearchUnavailable(f"{len(pending)} listings still conflicting/rejected after {MAX_ROUNDS} rounds")
        return written

    # -- incremental recrawl ----------------------------------------------------------------------
    def _read_listing_docs(
        self, keys: Iterable[str], chunk: int = 1000
    ) -> dict[str, tuple[dict[str, Any], tuple[int, int]]]:
        """key -> (_source, (seq_no, primary_term)) by realtime mget."""
        ids = list(dict.fromkeys(keys))
        out: dict[str, tuple[dict[str, Any], tuple[int, int]]] = {}
        try:
            for start in range(0, len(ids), chunk):
                for doc in self.mget(self.listings_alias, ids[start : start + chunk]):
                    if doc.get("found"):
                        out[doc["_id"]] = (doc["_source"], (int(doc["_seq_no"]), int(doc["_primary_term"])))
        except NotFound:  # no listings index yet
            return {}
        return out

    def listing_states(self, keys: Iterable[str]) -> dict[str, ListingState]:
        out: dict[str, ListingState] = {}
        for key, (source, _seq) in self._read_listing_docs(keys).items():
            state = _state_of(source)
            if state is not None:
                out[key] = state
        return out

    def _update_listing_leads(
        self, updates: Mapping[str, tuple[ListingState, datetime | None]]
    ) -> tuple[int, dict[str, str | None]]:
        """Give each listing's leads its state and, with a time, sight its current leads (`leads_after`):
        read (realtime) -> change -> write guarded by seq_no; a lead written meanwhile is read and changed
        again. Returns (leads sighted, key -> highest severity of its current leads)."""
        owner: dict[str, str] = {}
        for key, (state, _at) in updates.items():
            for lead_id in candidate_lead_ids(state.platform, state.listing_id):
                owner[lead_id] = key
        sighted = 0
        severities: dict[str, str | None] = {}
        pending = list(owner)
        delay = 0.05
        for round_ in range(MAX_ROUNDS):
            if not pending:
                return sighted, severities
            read = self._read_leads(pending)
            per_listing: dict[str, dict[str, Lead]] = {}
            for lead_id, (lead, _seq) in read.items():
                per_listing.setdefault(owner[lead_id], {})[lead_id] = lead
            ops: list[dict[str, Any]] = []
            op_leads: list[Lead] = []
            counted: dict[str, int] = {}
            for key in {owner[lead_id] for lead_id in pending}:
                state, at = updates[key]
                changed, n, severity = leads_after(state, per_listing.get(key, {}), at)
                if round_ == 0:
                    severities[key] = severity
                counted[key] = n
                for lead_id, lead in changed.items():
                    seq = read[lead_id][1]
                    meta = {"_index": self.leads_alias, "_id": lead_id, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                    ops += [{"index": meta}, queries.lead_document(lead)]
                    op_leads.append(lead)
            if not ops:
                return sighted + sum(counted.values()), severities
            response = self.bulk(ops, refresh=self.refresh_writes)
            pending, overloaded = [], False
            failed: set[str] = set()
            for lead, item in zip(op_leads, response["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300:
                    self._remember(lead.lead_id, lead, result.get("_seq_no"), result.get("_primary_term"))
                elif status == 409 or status == 429 or status >= 500:
                    self._recent.pop(lead.lead_id, None)
                    pending.append(lead.lead_id)
                    failed.add(owner[lead.lead_id])
                    overloaded = overloaded or status != 409
                else:
                    raise SearchError(f"lead {lead.lead_id} rejected ({status}): {result.get('error')}")
            # a listing whose leads all went through has its sightings counted; the others count on retry
            sighted += sum(n for key, n in counted.items() if key not in failed)
            if overloaded:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if pending:
            raise SearchUnavailable(f"{len(pending)} leads still conflicting/rejected after {MAX_ROUNDS} rounds")
        return sighted, severities

    def record_observations(self, observations: Iterable[Observation]) -> ObservationStats:
        """Per round: read the listings (realtime), merge the observations in order, write the leads they
        move, then the listings guarded by seq_no; listings that lost a race are read and merged again
        (module docstring: why leads first)."""
        by_key: dict[str, list[Observation]] = {}
        for obs in observations:
            by_key.setdefault(obs.key, []).append(obs)
        stats = ObservationStats()
        if not by_key:
            return stats
        self._ensure_writable("listings")
        policy = self.recrawl_policy
        pending = list(by_key)
        delay = 0.05
        for _round in range(MAX_ROUNDS):
            if not pending:
                return stats
            current = self._read_listing_docs(pending)
            key_stats: dict[str, ObservationStats] = {}
            states: dict[str, tuple[ListingState, dict[str, Any], tuple[int, int]]] = {}
            lead_updates: dict[str, tuple[ListingState, datetime | None]] = {}
            for key in pending:
                source, seq = current.get(key, (None, None))
                state = _state_of(source)
                if state is None or source is None or seq is None:
                    stats.unknown += len(by_key[key])
                    continue
                one = key_stats[key] = ObservationStats()
                before, sight = state, None
                for obs in by_key[key]:
                    if isinstance(obs, ListingSeen):
                        after = state.seen(obs, policy)
                        if after is not state and obs.fingerprint == after.fingerprint:
                            sight = obs.seen_at
                        one.seen += after is not state
                    else:
                        assert isinstance(obs, ListingGone)
                        after = state.gone(obs, policy)
                        one.removed += after is not state
                    one.unchanged += after is state
                    state = after
                if state is not before:
                    states[key] = (state, source, seq)
                    lead_updates[key] = (state, sight)
            if lead_updates:
                sighted, severities = self._update_listing_leads(lead_updates)
                stats.leads_sighted += sighted  # a retried listing's leads are replays next round
                for key, (_state, at) in lead_updates.items():
                    if at is not None:
                        state, source, seq = states[key]
                        states[key] = (state.with_severity(severities.get(key), policy), source, seq)
            ops: list[dict[str, Any]] = []
            op_keys: list[str] = []
            for key, (state, source, seq) in states.items():
                meta = {"_index": self.listings_alias, "_id": key, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                ops += [{"index": meta}, {**source, "recrawl": state.model_dump(mode="json")}]
                op_keys.append(key)
            retry: list[str] = []
            overloaded = False
            if ops:
                response = self.bulk(ops, refresh=self.refresh_writes)
                for key, item in zip(op_keys, response["items"], strict=True):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 500))
                    if status == 409 or status == 429 or status >= 500:
                        retry.append(key)  # lost a race (merged again from a fresh read) or overloaded
                        overloaded = overloaded or status != 409
                    elif status >= 300:
                        raise SearchError(f"listing {key} rejected ({status}): {result.get('error')}")
            for key, one in key_stats.items():
                if key not in retry:
                    one.leads_sighted = 0
                    stats += one
            pending = retry
            if overloaded:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if not pending:
            return stats
        raise SearchUnavailable(f"{len(pending)} listings still conflicting/rejected after {MAX_ROUNDS} rounds")

    def listings_in_category(self, platform: str, category: str) -> Iterator[ListingState]:
        """A search (about a second behind writes) over the listings with a recrawl state in that
        category and not removed, paged with search_after on the listing id."""
        if not self.exists(self.listings_alias):
            return
        query = {
            "bool": {
                "filter": [
                    {"term": {"platform": platform}},
                    {"term": {"category": category}},
                    {"exists": {"field": "recrawl.fingerprint"}},
                ],
                "must_not": [{"term": {"recrawl.state": "removed"}}],
            }
        }
        yield from self._states_where(query, [{"listing_id": "asc"}])

    def due_listings(
        self, now: datetime, *, platform: str | None = None, limit: int = 1000, include_removed: bool = False
    ) -> list[ListingState]:
        if not self.exists(self.listings_alias):
            return []
        filters: list[dict[str, Any]] = [{"range": {"recrawl.next_due": {"lte": now.isoformat()}}}]
        if platform is not None:
            filters.append({"term": {"platform": platform}})
        query: dict[str, Any] = {"bool": {"filter": filters}}
        if not include_removed:
            query["bool"]["must_not"] = [{"term": {"recrawl.state": "removed"}}]
        sort = [{"recrawl.next_due": "asc"}, {"platform": "asc"}, {"listing_id": "asc"}]
        out: list[ListingState] = []
        for state in self._states_where(query, sort, page=min(max(limit, 1), 1000)):
            out.append(state)
            if len(out) >= limit:
                break
        return out

    def _states_where(
        self, query: dict[str, Any], sort: list[dict[str, Any]], page: int = 1000
    ) -> Iterator[ListingState]:
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": query,
                "size": page,
                "sort": sort,
                "track_total_hits": False,
                "_source": ["recrawl"],
            }
            if after is not None:
                body["search_after"] = after
            hits = self.search_raw(self.listings_alias, body)["hits"]["hits"]
            for hit in hits:
                state = _state_of(hit["_source"])
                if state is not None:
                    yield state
            if len(hits) < page:
                return
            after = hits[-1]["sort"]

    def get(self, lead_id: str) -> Lead | None:
        doc = self.get_doc(self.leads_alias, lead_id)
        return queries.lead_from_source(doc["_source"]) if doc else None

    def get_many(self, lead_ids: Iterable[str]) -> dict[str, Lead]:
        return {lead_id: lead for lead_id, (lead, _seq) in self._read_leads(lead_ids).items()}

    def _read_leads(self, lead_ids: Iterable[str], chunk: int = 1000) -> dict[str, tuple[Lead, tuple[int, int]]]:
        """lead_id -> (lead, (seq_no, primary_term)) by realtime mget, never from the write cache: the
        caller is usually another process than the indexer (a rescan), and people may have triaged."""
        ids = list(dict.fromkeys(lead_ids))
        out: dict[str, tuple[Lead, tuple[int, int]]] = {}
        try:
            for start in range(0, len(ids), chunk):
                for doc in self.mget(self.leads_alias, ids[start : start + chunk]):
                    if doc.get("found"):
                        seq = (int(doc["_seq_no"]), int(doc["_primary_term"]))
                        out[doc["_id"]] = (queries.lead_from_source(doc["_source"]), seq)
        except NotFound:  # no leads index yet: no leads
            return {}
        return out

    def retire(self, judged: Mapping[str, datetime], *, rulebook_version: str, at: datetime) -> int:
        """Read, `Lead.retired`, write guarded by seq_no (as sightings are): a triage update or sighting
        that lands in between makes the write fail with 409, and that lead is read and judged again."""
        return self._rewrite_guarded(
            list(judged), lambda lead: lead.retired(rulebook_version, at, judged[lead.lead_id]), refresh=None
        )

    def set_seller_complaints(self, counts: Mapping[str, int], *, chunk: int = 500) -> int:
        """As `retire`: read, change `seller_complaints` (and so `priority_key`), write guarded by seq_no; a
        sighting or triage that lands in between makes that write fail with 409 and the lead is read and
        counted again. One refresh at the end, so the queue sorts by the new keys."""
        wanted = {lead_id: max(0, int(n)) for lead_id, n in counts.items()}

        def count(lead: Lead) -> Lead:
            n = wanted[lead.lead_id]
            return lead if lead.seller_complaints == n else lead.model_copy(update={"seller_complaints": n})

        ids = list(wanted)
        changed = sum(
            self._rewrite_guarded(ids[start : start + chunk], count, refresh=False)
            for start in range(0, len(ids), chunk)
        )
        if changed:
            self.refresh_index(self.leads_alias)
        return changed

    def _rewrite_guarded(self, lead_ids: list[str], change: Callable[[Lead], Lead], *, refresh: bool | None) -> int:
        """Read each lead, apply `change` (returning the lead itself means nothing to write), write it
        guarded by seq_no; a lead whose write conflicts (409) or is refused as overloaded (429, 5xx) is
        read and changed again, up to MAX_ROUNDS rounds with back-off. Returns how many were written.
        `refresh` None: as the store's writes are configured."""
        written = 0
        pending = lead_ids
        delay = 0.05
        for _round in range(MAX_ROUNDS):
            if not pending:
                return written
            ops: list[dict[str, Any]] = []
            op_leads: list[Lead] = []
            for lead_id, (lead, seq) in self._read_leads(pending).items():
                updated = change(lead)
                if updated is lead:
                    continue
                meta = {"_index": self.leads_alias, "_id": lead_id, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                ops += [{"index": meta}, queries.lead_document(updated)]
                op_leads.append(updated)
            pending = []
            if not ops:
                return written
            response = self.bulk(ops, refresh=self.refresh_writes if refresh is None else refresh)
            overloaded = False
            for lead, item in zip(op_leads, response["items"], strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 500))
                if status < 300:
                    written += 1
                    self._remember(lead.lead_id, lead, result.get("_seq_no"), result.get("_primary_term"))
                elif status == 409 or status == 429 or status >= 500:
                    self._recent.pop(lead.lead_id, None)
                    pending.append(lead.lead_id)
                    overloaded = overloaded or status != 409
                else:
                    raise SearchError(f"lead {lead.lead_id} rejected ({status}): {result.get('error')}")
            if overloaded:
                time.sleep(delay)
                delay = min(delay * 4, 2.0)
        if pending:
            raise SearchUnavailable(f"{len(pending)} leads still conflicting/rejected after {MAX_ROUNDS} rounds")
        return written

    def pages_of(
        self, index: str, sort: list[dict[str, str]], *, query: dict[str, Any] | None = None, size: int = 1000
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching document's `_source`, a page at a time, paged with search_after over `sort`
        (which must end in a unique field): no scroll context is kept open, and a page sees what was
        refreshed (about a second behind writes)."""
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "query": query or {"match_all": {}},
                "size": size,
                "sort": sort,
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            hits = self.search_raw(index, body)["hits"]["hits"]
            if hits:
                yield [hit["_source"] for hit in hits]
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    def iter_listings(self, since: datetime | None = None, *, batch: int = 500) -> Iterator[Listing]:
        """A range query on `crawled_at` (a date field; malformed values are not indexed, so they only
        come with `since=None`), in (platform, listing_id) order."""
        if not self.exists(self.listings_alias):
            return
        query = {"range": {"crawled_at": {"gte": since.isoformat()}}} if since is not None else None
        sort = [{"platform": "asc"}, {"listing_id": "asc"}]
        for page in self.pages_of(self.listings_alias, sort, query=query, size=batch):
            yield from (Listing.model_validate(source) for source in page)

    def set_status(
        self, lead_id: str, status: TriageStatus, *, assignee: str | None = None, note: str | None = None
    ) -> Lead:
        """Partial update of the triage fields only, guarded by seq_no so a concurrent detection write
        is never lost either (we re-read and retry). Retries back off with jitter: a person's decision
        must not fail because indexers are busy sighting the same lead."""
        delay = 0.02
        for attempt in range(MAX_ROUNDS):
            if attempt:
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)
            doc = self.get_doc(self.leads_alias, lead_id)
            if doc is None:
                raise KeyError(lead_id)
            lead = queries.lead_from_source(doc["_source"])
            lead = lead.triaged(status, assignee=assignee, note=note)
            partial = {k: v for k, v in queries.lead_document(lead).items() if k in Lead.TRIAGE_FIELDS}
            self._recent.pop(lead_id, None)
            try:
                self.update_doc(
                    self.leads_alias,
                    lead_id,
                    partial,
                    if_seq_no=doc["_seq_no"],
                    if_primary_term=doc["_primary_term"],
                )
                return lead
            except Conflict:
                continue
            except NotFound as exc:
                raise KeyError(lead_id) from exc
        raise SearchUnavailable(f"lead {lead_id}: too many concurrent updates")

    def set_status_many(self, changes: Iterable[StatusChange], *, chunk: int = 500) -> dict[str, StatusResult]:
        """Per `chunk` leads: one realtime mget, then ONE bulk request of partial `update`s of the triage
        fields, each guarded by the seq_no just read; one refresh at the end (instead of a wait for a
        refresh per lead, as `set_status` does). A lead written by anyone between the read and the write
        gets 409 and is reported as "conflict" (not retried: the caller decides); overloaded shards
        (429/5xx) are retried with the same guard."""
        by_id: dict[str, list[StatusChange]] = {}
        for c in changes:
            by_id.setdefault(c.lead_id, []).append(c)
        out: dict[str, StatusResult] = dict.fromkeys(by_id)  # type: ignore[arg-type]  # filled below, in order
        ids = list(by_id)
        written = False
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            current = self._read_leads(part)
            ops: list[dict[str, Any]] = []
            op_leads: list[Lead] = []
            for lead_id in part:
                if lead_id not in current:
                    out[lead_id] = StatusResult(lead_id, error="missing")
                    continue
                lead, seq = current[lead_id]
                for c in by_id[lead_id]:
                    lead = lead.triaged(c.status, assignee=c.assignee, note=c.note)
                partial = {k: v for k, v in queries.lead_document(lead).items() if k in Lead.TRIAGE_FIELDS}
                meta = {"_index": self.leads_alias, "_id": lead_id, "if_seq_no": seq[0], "if_primary_term": seq[1]}
                ops += [{"update": meta}, {"doc": partial}]
                op_leads.append(lead)
                self._recent.pop(lead_id, None)
            delay = 0.05
            for _attempt in range(MAX_ROUNDS):
                if not ops:
                    break
                response = self.bulk(ops, refresh=False)
                again: list[dict[str, Any]] = []
                again_leads: list[Lead] = []
                for i, (lead, item) in enumerate(zip(op_leads, response["items"], strict=True)):
                    result = next(iter(item.values()))
                    status = int(result.get("status", 500))
                    if status < 300:
                        out[lead.lead_id] = StatusResult(lead.lead_id, lead)
                        written = True
                    elif status == 409:
                        out[lead.lead_id] = StatusResult(lead.lead_id, error="conflict")
                    elif status == 404:
                        out[lead.lead_id] = StatusResult(lead.lead_id, error="missing")
                    elif status == 429 or status >= 500:
                        again += ops[2 * i : 2 * i + 2]
                        again_leads.append(lead)
                    else:
                        raise SearchError(f"lead {lead.lead_id} rejected ({status}): {result.get('error')}")
                ops, op_leads = again, again_leads
                if ops:
                    time.sleep(delay)
                    delay = min(delay * 4, 2.0)
            if ops:
                raise SearchUnavailable(f"{len(op_leads)} leads rejected as overloaded after {MAX_ROUNDS} attempts")
        if written:
            self.refresh_index(self.leads_alias)  # the person sees the queue as they left it
        return out

    def search(self, query: LeadQuery) -> LeadSearchResult:
        return queries.parse_search(self.search_raw(self.leads_alias, queries.build_search(query)), query)

    def aggregate(
        self,
        query: LeadQuery,
        *,
        first_from: datetime | None = None,
        first_to: datetime | None = None,
        now: datetime,
        top: int = 10,
    ) -> LeadAggregates:
        """One `_search` with aggregations only (no documents travel)."""
        body = queries.build_aggregate(query, first_from=first_from, first_to=first_to, now=now, top=top)
        return queries.parse_aggregate(self.search_raw(self.leads_alias, body))

    def count(self) -> int:
        return self.count_index(self.leads_alias)

    def count_listings(self) -> int:
        return self.count_index(self.listings_alias)


def _new_lead(events: list[LeadEvent]) -> tuple[Lead, UpsertStats]:
    """A lead made by its first event and merged with the rest (what `create` writes)."""
    lead = Lead.from_event(events[0])
    made = UpsertStats(created=1)
    for e in events[1:]:
        new = lead.sighted(e)
        if new is lead:
            made.unchanged += 1
        lead = new
    return lead, made


def _state_of(source: dict[str, Any] | None) -> ListingState | None:
    """The recrawl state kept in a listing document (None for a document written before states)."""
    raw = (source or {}).get("recrawl")
    return ListingState.model_validate(raw) if raw else None
