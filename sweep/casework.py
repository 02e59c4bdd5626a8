"""People's state: accounts, sessions, decisions on leads, dismissal memory, cases, jobs, the audit trail.

The lead store holds what detection found; this port holds what people decided, and why. It is a
relational store (SQLite embedded, PostgreSQL in production, `adapters.people`) because the
workspace's guarantees are transactional: a decision and its audit record commit together or not at
all, a version check and its update are one statement, a case number is issued once, and several
`sweep serve` processes share sessions and lock-outs. A search engine gives none of those.

Decisions go through a small outbox: `decide` commits the new state, a version bump and the audit
record in one transaction and marks the decision pending; the workspace then writes it into the lead
store (for search and facets) and marks it applied. A process that dies in between leaves a pending
decision that `pending_decisions` hands to the next process, so the lead store catches up and never
holds a change without its record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sweep.audit import AuditEvent, AuditLog, AuditRecord


class VersionConflict(Exception):
    """Someone else changed the record since the caller read it; nothing was written."""

    def __init__(self, resource_id: str, current: int, by: str | None, at: datetime | None) -> None:
        super().__init__(f"{resource_id} changed (now version {current}, by {by or '?'} at {at})")
        self.resource_id = resource_id
        self.current = current
        self.by = by
        self.at = at


@dataclass(slots=True)
class User:
    username: str
    password_hash: str
    role: str
    jurisdiction: str
    """GB/T 2260 code (540100), or `sweep.regions.NATIONAL`."""
    display_name: str = ""
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    token_hash: str | None = None
    created_at: datetime | None = None


@dataclass(slots=True)
class Session:
    token_hash: str
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    """Absolute end: a session never outlives it, however active."""
    idle_until: datetime
    """Pushed forward by each request; a session left alone ends here."""
    source: str = ""


@dataclass(slots=True)
class Decision:
    """People's state of one lead: what the lead store should show, and its version for optimistic
    concurrency (0 = never decided)."""

    lead_id: str
    status: str
    assignee: str | None = None
    note: str | None = None
    version: int = 0
    updated_by: str | None = None
    updated_at: datetime | None = None
    region: str | None = None
    pending: bool = False


class DismissalScope(StrEnum):
    listing = "listing"
    shop = "shop"
    shop_rule = "shop_rule"


DISMISSAL_SCOPE_LABELS_ZH = {"listing": "本商品", "shop": "本店铺", "shop_rule": "本店铺的此规则"}
DISMISSAL_REASONS_ZH = {
    "false_positive": "规则误报",
    "lawful_seller": "合法经营",
    "duplicate": "重复线索",
    "out_of_jurisdiction": "非本辖区",
}


@dataclass(slots=True)
class Dismissal:
    """A remembered "not this again": leads inside the scope that detection raises later are dismissed
    on arrival (and counted) until `until` passes."""

    scope: DismissalScope
    platform: str
    reason: str
    created_by: str
    created_at: datetime
    listing_id: str | None = None
    shop_id: str | None = None
    shop_name: str | None = None
    rule_id: str | None = None
    family: str | None = None
    until: datetime | None = None
    region: str | None = None
    source_lead: str | None = None
    note: str = ""
    id: int | None = None
    suppressed: int = 0
    """Leads raised again inside the scope and kept out of the queue."""

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def covers(self, platform: str, listing_id: str, shop_id: str | None, rule_id: str, family: str) -> bool:
        if platform != self.platform:
            return False
        if self.scope is DismissalScope.listing:
            return listing_id == self.listing_id
        if shop_id is None or shop_id != self.shop_id:
            return False
        return self.scope is DismissalScope.shop or rule_id == self.rule_id or family == self.family


class CaseStatus(StrEnum):
    filed = "filed"
    investigating = "investigating"
    penalty = "penalty"
    no_penalty = "no_penalty"
    closed = "closed"


CASE_STATUS_LABELS_ZH = {
    "filed": "立案",
    "investigating": "调查",
    "penalty": "处罚决定",
    "no_penalty": "不予处罚",
    "closed": "结案",
}
CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "filed": ("investigating",),
    "investigating": ("penalty", "no_penalty"),
    "penalty": ("closed",),
    "no_penalty": ("closed",),
    "closed": (),
}
"""立案 → 调查 → 处罚决定/不予处罚 → 结案: the only moves a case makes."""


@dataclass(slots=True)
class CaseNote:
    author: str
    at: datetime
    text: str


@dataclass(slots=True)
class Case:
    title: str
    owner: str
    region: str
    """The jurisdiction code the case belongs to (who may see it)."""
    created_by: str
    created_at: datetime
    status: CaseStatus = CaseStatus.filed
    due_date: datetime | None = None
    number: str = ""
    id: int | None = None
    version: int = 1
    lead_ids: list[str] = field(default_factory=list)
    notes: list[CaseNote] = field(default_factory=list)
    merged_into: int | None = None
    complaint_ids: list[str] = field(default_factory=list)
    """12315 complaints linked to the case (their records live in the complaints store, masked)."""


@dataclass(slots=True)
class Attachment:
    """A file put into a case (a scanned notice, a photo, a reply letter). The bytes live in
    `AttachmentFiles` under their SHA-256; this record says which case, what it was called, what it is
    and who added it."""

    case_id: int
    sha256: str
    filename: str
    content_type: str
    """What the bytes are (sniffed from them, not taken from the uploading browser)."""
    size: int
    uploaded_by: str
    uploaded_at: datetime
    id: int | None = None


class AttachmentFiles(ABC):
    """Content-addressed bytes of case attachments: a file is stored once under its SHA-256, however
    many cases hold it, and what is read back is checked against the name it was stored under."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store the bytes (once) and return their SHA-256 in hex."""

    @abstractmethod
    def get(self, sha256: str) -> bytes | None:
        """The bytes stored under this digest, or None when absent or no longer matching it."""


@dataclass(slots=True)
class Job:
    """A long action (a bulk change over thousands of leads) whose progress any process can report."""

    id: str
    kind: str
    owner: str
    total: int
    done: int = 0
    failed: int = 0
    state: str = "running"
    message: str = ""
    created_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class SavedSearch:
    owner: str
    name: str
    query: str
    """The queue's query string (URL-encoded parameters), replayed as is."""
    shared: bool = False
    id: int | None = None


class PeopleStore(AuditLog, ABC):
    """The port. Every method that changes something takes the audit events that describe the change
    and commits them in the same transaction. It is also *the* audit log (`AuditLog`): capabilities
    that only record events (complaints' personal-data views) write into the same hash chain."""

    # -- accounts and sessions -----------------------------------------------------------------
    @abstractmethod
    def add_user(self, user: User, audit: AuditEvent) -> None: ...
    @abstractmethod
    def update_user(self, username: str, changes: dict[str, Any], audit: AuditEvent | None) -> None: ...
    @abstractmethod
    def get_user(self, username: str) -> User | None: ...
    @abstractmethod
    def list_users(self) -> list[User]: ...
    @abstractmethod
    def user_by_token(self, token_hash: str) -> User | None: ...
    @abstractmethod
    def login_failed(self, username: str, now: datetime, max_failures: int, lockout_until: datetime) -> User | None:
        """Count one failure (atomically, across processes); lock the account at `max_failures`."""

    @abstractmethod
    def create_session(self, session: Session, audit: AuditEvent) -> None: ...
    @abstractmethod
    def get_session(self, token_hash: str) -> Session | None: ...
    @abstractmethod
    def touch_session(self, token_hash: str, idle_until: datetime) -> None: ...
    @abstractmethod
    def delete_session(self, token_hash: str, audit: AuditEvent | None) -> None: ...
    @abstractmethod
    def purge_sessions(self, now: datetime) -> int: ...

    # -- decisions on leads --------------------------------------------------------------------
    @abstractmethod
    def decisions(self, lead_ids: Sequence[str]) -> dict[str, Decision]: ...
    @abstractmethod
    def decide(
        self, decisions: Sequence[Decision], audit: Sequence[AuditEvent], *, check_versions: bool = True
    ) -> list[Decision]:
        """Write new states; each `Decision.version` is the version the caller read. With
        `check_versions`, a mismatch raises `VersionConflict` and writes nothing. Returns the states
        written (with their new versions), pending until `applied`."""

    @abstractmethod
    def applied(self, lead_ids: Sequence[str]) -> None: ...
    @abstractmethod
    def pending_decisions(self, limit: int = 1000) -> list[Decision]: ...
    @abstractmethod
    def assigned_to(self, username: str, *, offset: int = 0, limit: int = 50) -> tuple[int, list[str]]:
        """(total, lead ids) of leads assigned to someone, most recently decided first."""

    @abstractmethod
    def assignee_counts(self, lead_ids: Sequence[str] | None = None) -> dict[str, int]: ...

    # -- dismissal memory ----------------------------------------------------------------------
    @abstractmethod
    def add_dismissal(self, dismissal: Dismissal, audit: AuditEvent) -> Dismissal: ...
    @abstractmethod
    def dismissals(self, *, active_at: datetime | None = None) -> list[Dismissal]: ...
    @abstractmethod
    def count_suppressed(self, dismissal_id: int, lead_ids: Sequence[str]) -> None: ...
    @abstractmethod
    def get_marker(self, name: str) -> str | None: ...
    @abstractmethod
    def set_marker(self, name: str, value: str) -> None: ...

    # -- cases ---------------------------------------------------------------------------------
    @abstractmethod
    def create_case(self, case: Case, audit: Sequence[AuditEvent]) -> Case:
        """Stores the case with its leads and issues its number (`{year}-{sequence}`)."""

    @abstractmethod
    def get_case(self, case_id: int) -> Case | None: ...
    @abstractmethod
    def list_cases(self, *, regions: Sequence[str] | None = None, limit: int = 200) -> list[Case]: ...
    @abstractmethod
    def update_case(self, case_id: int, version: int, changes: dict[str, Any], audit: AuditEvent) -> Case: ...
    @abstractmethod
    def add_case_note(self, case_id: int, note: CaseNote, audit: AuditEvent) -> None: ...
    @abstractmethod
    def link_leads(
        self, case_id: int, lead_ids: Sequence[str], audit: AuditEvent | Sequence[AuditEvent], *, unlink: bool = False
    ) -> None:
        """Link (or unlink) leads; `audit` is one event, or several (a bulk link records one per lead)."""

    @abstractmethod
    def cases_of_lead(self, lead_id: str) -> list[Case]: ...
    @abstractmethod
    def merge_cases(self, target_id: int, source_id: int, audit: AuditEvent) -> Case: ...
    @abstractmethod
    def add_attachment(self, attachment: Attachment, audit: AuditEvent) -> Attachment: ...
    @abstractmethod
    def attachments(self, case_id: int) -> list[Attachment]: ...
    @abstractmethod
    def get_attachment(self, attachment_id: int) -> Attachment | None: ...
    @abstractmethod
    def link_complaints(
        self, case_id: int, complaint_ids: Sequence[str], audit: AuditEvent, *, unlink: bool = False
    ) -> None:
        """Link (or unlink) 12315 complaints to a case; loaded into `Case.complaint_ids`."""

    @abstractmethod
    def cases_of_complaint(self, complaint_id: str) -> list[Case]: ...

    # -- saved searches and jobs ---------------------------------------------------------------
    @abstractmethod
    def save_search(self, search: SavedSearch, audit: AuditEvent) -> SavedSearch: ...
    @abstractmethod
    def saved_searches(self, username: str) -> list[SavedSearch]: ...
    @abstractmethod
    def create_job(self, job: Job) -> None: ...
    @abstractmethod
    def update_job(self, job_id: str, **changes: Any) -> None: ...
    @abstractmethod
    def get_job(self, job_id: str) -> Job | None: ...

    # -- the audit trail -----------------------------------------------------------------------
    @abstractmethod
    def record(self, event: AuditEvent) -> None:
        """Append one record (hash-chained) on its own."""

    @abstractmethod
    def audit_search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_id: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first; `before_seq` pages back."""

    @abstractmethod
    def audit_records(self, *, after_seq: int = 0, batch: int = 5000) -> Iterator[AuditRecord]:
        """Every record in chain order (for verification and export)."""

    @abstractmethod
    def audit_count(self, *, action: str | None = None) -> int: ...

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> Sequence[AuditRecord]:
        """`AuditLog.query`: the narrower search of the audit port, newest first."""
        return self.audit_search(actor=actor, action=action, resource_id=resource_id, since=since, limit=limit)

    def close(self) -> None:
        """Release connections."""
