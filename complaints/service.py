"""The complaints capability over the ports: import, matching, personal-data access, listing, export.

An import seals each row's personal data into the store straight away (`ComplaintStore.put_personal`):
that part never travels. The masked record then goes one of two ways, to the same code:

* streaming (a `bus` is given): published on `{prefix}.complaints`, keyed by complaint id; the
  complaints consumer (`consumers.complaints`, `sweep consume complaints`) hands it to
  `ComplaintWriter.apply`, commits its offset only after that succeeded, and re-matches complaints when
  lead events and listings bring new sellers;
* direct (no bus; tests and tools): `ComplaintWriter.apply` at once.

`ComplaintWriter.apply` lays the record over the stored one (an update file with only 编号 and 办理状态
updates what it has), upserts it idempotently by complaint id and matches it to the sellers.

Every entry point takes the `Actor` asking and checks `sweep.permissions.allowed` first. Personal data
is handed out only after the view is recorded in the audit log (a view that cannot be recorded is not
given); refused attempts are recorded too. Everything this module logs, publishes or exports is built
from the masked record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from complaints import export as exporting
from complaints.matching import SellerIndex, complaint_keys, seller_keys
from complaints.readers import Table
from complaints.records import RowError, build_record
from sweep.audit import AuditEvent, AuditLog
from sweep.bus import envelope
from sweep.bus.base import Bus
from sweep.models import Complaint, ComplaintMatch, PersonalData
from sweep.people import Actor
from sweep.permissions import (
    COMPLAINTS_EXPORT,
    COMPLAINTS_IMPORT,
    COMPLAINTS_VIEW,
    COMPLAINTS_VIEW_PERSONAL_DATA,
    allowed,
    region_prefixes,
)
from sweep.store.complaints import (
    ComplaintQuery,
    ComplaintRecord,
    ComplaintSearchResult,
    ComplaintStore,
    Seller,
    SellerDirectory,
)

log = logging.getLogger("sweep.complaints")

KIND_COMPLAINT = "complaint"
KIND_REJECTED_ROW = "rejected_complaint_row"
BATCH = 1000


class Refused(PermissionError):
    """The actor may not do this; the attempt is on record."""


@dataclass(slots=True)
class ApplyStats:
    """What `ComplaintWriter.apply` did with a batch of masked complaints."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    matched: int = 0
    """Complaints of the batch linked to at least one seller."""

    def __iadd__(self, other: ApplyStats) -> ApplyStats:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.matched += other.matched
        return self


def merge_complaint(old: Complaint | None, new: Complaint) -> Complaint:
    """`new` laid over `old`: the fields `new` has win, the others are kept (an empty text is a column the
    update file did not have); the personal-data kinds add up. Applying the same sequence of records
    again ends in the same record (replays change nothing)."""
    if old is None:
        return new
    given = {k: v for k, v in new.model_dump(exclude_none=True, exclude={"pii_kinds"}).items() if v != ""}
    return Complaint.model_validate(
        {**old.model_dump(), **given} | {"pii_kinds": sorted({*old.pii_kinds, *new.pii_kinds})}
    )


def merge_personal(old: PersonalData | None, new: PersonalData) -> PersonalData:
    """`new` laid over `old`; the values found in free text accumulate per kind."""
    if old is None:
        return new
    found = {k: list(v) for k, v in old.found.items()}
    for kind, values in new.found.items():
        found[kind] = list(dict.fromkeys([*found.get(kind, []), *values]))
    return PersonalData.model_validate({**old.model_dump(), **new.model_dump(exclude_none=True)} | {"found": found})


class ComplaintWriter:
    """Stores masked complaints and keeps their matches current: what the complaints consumer runs for
    every batch, and a direct import too. Holds the matcher's in-memory index of the seller directory."""

    def __init__(self, store: ComplaintStore, directory: SellerDirectory) -> None:
        self.store = store
        self.directory = directory
        self._index: SellerIndex | None = None

    @property
    def index(self) -> SellerIndex:
        """The matcher's in-memory index of the directory, read page by page on first use."""
        if self._index is None:
            index = SellerIndex()
            for page in self.directory.iter_all():
                index.add(page)
            self._index = index
        return self._index

    def apply(self, complaints: list[Complaint]) -> ApplyStats:
        """Lay each complaint over the stored one, upsert and match. Copies of an id in one batch are
        laid over each other in order, as one batch after another would (an update after the record)."""
        stored = self.store.get_many(list(dict.fromkeys(c.complaint_id for c in complaints)))
        by_id: dict[str, Complaint] = {}
        for c in complaints:
            by_id[c.complaint_id] = merge_complaint(by_id.get(c.complaint_id) or stored.get(c.complaint_id), c)
        merged = list(by_id.values())
        index = self.index
        matches = {c.complaint_id: index.match(c) for c in merged}
        upserted = self.store.upsert(ComplaintRecord(c, None, complaint_keys(c)) for c in merged)
        self.store.set_many_matches(matches)
        return ApplyStats(upserted.created, upserted.updated, upserted.unchanged, sum(1 for m in matches.values() if m))

    def observe_sellers(self, sellers: list[Seller]) -> tuple[int, int]:
        """(sellers new or changed, complaints re-matched): sellers seen in lead events and listings go
        into the directory, and the complaints whose keys the changed ones carry are matched again."""
        changed = self.directory.observe(sellers)
        return len(changed), self.rematch_sellers(changed) if changed else 0

    def rematch_sellers(self, sellers: list[Seller]) -> int:
        """Match again the complaints whose keys these (new or changed) sellers carry; returns how many."""
        self.index.add(sellers)
        keys = [k for s in sellers for k in seller_keys(s)]
        ids = self.store.ids_by_keys(keys)
        for start in range(0, len(ids), BATCH):
            chunk = self.store.get_many(ids[start : start + BATCH])
            self.store.set_many_matches({cid: self.index.match(c) for cid, c in chunk.items()})
        return len(ids)

    def rematch_all(self) -> tuple[int, int]:
        """(complaints, matched): every complaint matched again against the whole directory."""
        total = matched = 0
        for page in self.store.iter_all(BATCH):
            found = {c.complaint_id: self.index.match(c) for c in page}
            self.store.set_many_matches(found)
            total += len(page)
            matched += sum(1 for m in found.values() if m)
        return total, matched


@dataclass(slots=True)
class ImportReport:
    source: str
    rows: int = 0
    published: int = 0
    """Complaints sent on the bus (streaming import; the consumer counts created/updated/unchanged)."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    """Rows repeating a complaint id met earlier in the same file (the later row wins)."""
    matched: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    encoding: str | None = None

    MAX_ERRORS_KEPT = 1000
    """Row errors kept for the report (all are counted, logged and, when publishing, dead-lettered)."""

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(slots=True)
class Topics:
    complaints: str
    deadletter: str


class ComplaintService:
    def __init__(
        self,
        store: ComplaintStore,
        directory: SellerDirectory,
        audit: AuditLog,
        bus: Bus | None = None,
        topics: Topics | None = None,
    ) -> None:
        """With a `bus` and `topics` the import streams: imported complaints (masked) are published on
        the complaints topic for the consumer to store, and rejected rows (their reason, never their
        content) on the dead-letter topic. Without, it stores them directly."""
        self.store = store
        self.directory = directory
        self.audit = audit
        self.bus = bus if topics is not None else None
        self.topics = topics
        self.writer = ComplaintWriter(store, directory)

    # -- sellers and matching -------------------------------------------------------------------
    @property
    def index(self) -> SellerIndex:
        return self.writer.index

    def rematch_sellers(self, sellers: list[Seller]) -> int:
        return self.writer.rematch_sellers(sellers)

    def rematch_all(self) -> tuple[int, int]:
        return self.writer.rematch_all()

    # -- import ---------------------------------------------------------------------------------
    def import_table(
        self, table: Table, actor: Actor, on_error: Callable[[RowError], None] | None = None
    ) -> ImportReport:
        """Import every row of `table`: bad rows reported and skipped, the rest stored idempotently,
        matched, and (with a bus) published masked."""
        self._require(actor, COMPLAINTS_IMPORT, "file", table.source)
        report = ImportReport(source=table.source)
        first_row: dict[str, int] = {}
        batch: list[ComplaintRecord] = []
        for row in table.rows:
            report.rows += 1
            built = build_record(row.number, row.values)
            if isinstance(built, RowError):
                self._reject(report, built, on_error)
                continue
            cid = built.complaint.complaint_id
            if cid in first_row:
                report.duplicates += 1
                log.info(
                    "%s: row %d repeats complaint %s of row %d; the later row wins",
                    table.source,
                    row.number,
                    cid,
                    first_row[cid],
                )
            else:
                first_row[cid] = row.number
            batch.append(built)
            if len(batch) >= BATCH:
                self._store(batch, report)
                batch = []
        if batch:
            self._store(batch, report)
        if self.bus is not None:
            self.bus.flush()
        report.fields, report.ignored, report.encoding = table.fields, table.ignored, table.encoding
        self.audit.record(
            AuditEvent(
                actor=actor.username,
                role=actor.role.value,
                action=COMPLAINTS_IMPORT,
                resource_type="file",
                resource_id=table.source,
                detail=(
                    f"rows={report.rows} published={report.published} created={report.created} "
                    f"updated={report.updated} unchanged={report.unchanged} rejected={report.error_count} "
                    f"duplicates={report.duplicates}"
                ),
                source="cli",
            )
        )
        log.info(
            "imported %s: %d rows, %d created, %d updated, %d unchanged, %d rejected, %d matched",
            table.source,
            report.rows,
            report.created,
            report.updated,
            report.unchanged,
            report.error_count,
            report.matched,
        )
        return report

    def _reject(self, report: ImportReport, error: RowError, on_error: Callable[[RowError], None] | None) -> None:
        report.error_count += 1
        if len(report.errors) < report.MAX_ERRORS_KEPT:
            report.errors.append(error)
        log.warning("%s: %s", report.source, error)
        if on_error:
            on_error(error)
        if self.bus is not None and self.topics is not None:
            body = {"source": report.source, "row": error.row, "reason": error.reason}
            self.bus.publish(
                self.topics.deadletter,
                f"{report.source}:{error.row}",
                envelope.encode(KIND_REJECTED_ROW, body),
                {"error": error.reason[:500], "kind": KIND_REJECTED_ROW},
            )

    def _store(self, batch: list[ComplaintRecord], report: ImportReport) -> None:
        """Seal the batch's personal data (laid over what is stored: a later export that leaves a
        column out keeps it), then publish the masked records or apply them directly. Within one batch
        the last row of an id wins."""
        latest = {r.complaint.complaint_id: r for r in batch}
        previous = self.store.personal_data_many(list(latest))
        self.store.put_personal(
            merge_personal(previous.get(cid), r.personal) for cid, r in latest.items() if r.personal is not None
        )
        complaints = [r.complaint for r in latest.values()]
        if self.bus is not None and self.topics is not None:
            for c in complaints:
                self.bus.publish(self.topics.complaints, c.complaint_id, encode_complaint(c))
            report.published += len(complaints)
            return
        stats = self.writer.apply(complaints)
        report.created += stats.created
        report.updated += stats.updated
        report.unchanged += stats.unchanged
        report.matched += stats.matched

    # -- reading --------------------------------------------------------------------------------
    def _require(self, actor: Actor, action: str, resource_type: str, resource_id: str, resource: Any = None) -> None:
        if not allowed(actor, action, resource):
            self.audit.record(
                AuditEvent(
                    actor=actor.username,
                    role=actor.role.value,
                    action=action,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    allowed=False,
                    source="cli",
                )
            )
            raise Refused(f"{actor.username} ({actor.role.value}) may not {action} {resource_type} {resource_id}")

    def show(self, actor: Actor, complaint_id: str) -> tuple[Complaint, list[ComplaintMatch]] | None:
        complaint = self.store.get(complaint_id)
        if complaint is None:
            return None
        self._require(actor, COMPLAINTS_VIEW, "complaint", complaint_id, complaint)
        return complaint, self.store.matches([complaint_id]).get(complaint_id, [])

    def personal_data(self, actor: Actor, complaint_id: str, purpose: str) -> PersonalData | None:
        """The unmasked values, for the officer handling the complaint or a supervisor of its region;
        the view is recorded (with its stated purpose) before anything is returned."""
        complaint = self.store.get(complaint_id)
        if complaint is None:
            return None
        self._require(actor, COMPLAINTS_VIEW_PERSONAL_DATA, "complaint", complaint_id, complaint)
        self.audit.record(
            AuditEvent(
                actor=actor.username,
                role=actor.role.value,
                action=COMPLAINTS_VIEW_PERSONAL_DATA,
                resource_type="complaint",
                resource_id=complaint_id,
                detail=f"purpose: {purpose}"[:500],
                source="cli",
            )
        )
        return self.store.personal_data(complaint_id)

    def jurisdiction(self, actor: Actor) -> tuple[str, ...]:
        """Region prefixes an actor's reading is limited to (empty: every region): the same rule as the
        leads', a jurisdiction code standing for its region's name (`sweep.permissions.region_prefixes`)."""
        return region_prefixes(actor)

    def search(self, actor: Actor, query: ComplaintQuery) -> ComplaintSearchResult:
        self._require(actor, COMPLAINTS_VIEW, "complaints", "search")
        query.region_prefixes = self._narrow(query.region_prefixes, self.jurisdiction(actor))
        result = self.store.search(query)
        # defence in depth: the filter above is the rule, this is its check
        result.complaints = [c for c in result.complaints if allowed(actor, COMPLAINTS_VIEW, c)]
        return result

    @staticmethod
    def _narrow(asked: tuple[str, ...] | list[str] | Any, allowed_prefixes: tuple[str, ...]) -> tuple[str, ...]:
        asked = tuple(asked or ())
        if not allowed_prefixes:
            return asked
        if not asked:
            return allowed_prefixes
        inside = tuple(a for a in asked if any(a.startswith(p) for p in allowed_prefixes))
        return inside or ("\x00no-region",)

    def export_records(self, actor: Actor) -> Iterator[dict[str, Any]]:
        """Masked records with their matches, within the actor's jurisdiction, in bounded pages."""
        self._require(actor, COMPLAINTS_EXPORT, "complaints", "export")
        for page in self.store.iter_all(BATCH):
            page = [c for c in page if allowed(actor, COMPLAINTS_VIEW, c)]
            found = self.store.matches([c.complaint_id for c in page])
            for c in page:
                yield exporting.export_record(c, found.get(c.complaint_id, []))

    def export(self, actor: Actor, fmt: str, out: BinaryIO | Any) -> int:
        count = exporting.write(self.export_records(actor), fmt, out)
        self.audit.record(
            AuditEvent(
                actor=actor.username,
                role=actor.role.value,
                action=COMPLAINTS_EXPORT,
                resource_type="complaints",
                resource_id="export",
                detail=f"format={fmt} records={count} (masked)",
                source="cli",
            )
        )
        return count


def encode_complaint(complaint: Complaint) -> bytes:
    """The bus value of a complaint: the masked record in the house envelope."""
    return envelope.encode(KIND_COMPLAINT, complaint)


__all__ = [
    "ApplyStats",
    "ComplaintService",
    "ComplaintWriter",
    "ImportReport",
    "Refused",
    "Topics",
    "encode_complaint",
    "merge_complaint",
    "merge_personal",
]
