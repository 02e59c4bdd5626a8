"""The audit trail: who saw or changed what, when.

Every unmasked view of personal data is recorded here before the data is handed out (a view that
cannot be recorded is refused), as 个人信息保护法 requires of handlers of sensitive personal
information. The log is append-only through this port: there is no update or delete.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    actor: str
    role: str
    action: str
    resource_type: str
    resource_id: str
    at: datetime = field(default_factory=_now)
    allowed: bool = True
    """False for a refused attempt: refusals are evidence too."""
    detail: str = ""
    """Why (the stated purpose) or what (the fields shown); never the personal data itself."""
    before: str = ""
    """The changed fields before the change (compact JSON), empty for views and creations."""
    after: str = ""
    """The changed fields after the change (compact JSON)."""
    source: str = ""
    """From where: the client address of a web request, `cli` or `system`."""


class AuditLog(ABC):
    @abstractmethod
    def record(self, event: AuditEvent) -> None:
        """Store durably before returning; raise if that is not possible (the caller then refuses)."""

    @abstractmethod
    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> Sequence[AuditRecord]:
        """Newest first."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


GENESIS = "0" * 64
"""The `prev_hash` of the first record of a chain."""


def canonical(event: AuditEvent) -> bytes:
    """The bytes a record's hash covers: every field, in a fixed order, time in UTC microseconds."""
    at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = (
        at,
        event.actor,
        event.role,
        event.action,
        event.resource_type,
        event.resource_id,
        "1" if event.allowed else "0",
        event.detail,
        event.before,
        event.after,
        event.source,
    )
    return "\x1f".join(fields).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    """SHA-256 over the previous record's hash and this record: changing, removing or reordering any
    record changes every hash after it, so a chain checked against its last hash shows tampering."""
    return hashlib.sha256(prev_hash.encode() + b"\x1e" + canonical(event)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored event with its place in the chain."""

    seq: int
    event: AuditEvent
    prev_hash: str
    hash: str


def verify_chain(records: Iterable[AuditRecord], prev_hash: str = GENESIS) -> tuple[int, int | None]:
    """(records checked, seq of the first broken record or None). A record is broken when it does not
    name the previous record's hash or its own hash does not match its content."""
    checked = 0
    for record in records:
        if record.prev_hash != prev_hash or chain_hash(prev_hash, record.event) != record.hash:
            return checked, record.seq
        prev_hash = record.hash
        checked += 1
    return checked, None
