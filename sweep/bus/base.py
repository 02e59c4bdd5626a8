"""The Bus port.

Values are bytes at this level on purpose: a consumer must be able to receive a message it cannot
parse (and dead-letter it with the original bytes), so decoding happens above the port, in
`sweep.bus.envelope`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

TOPIC_LISTINGS = "sweep.listings"
TOPIC_LEADS = "sweep.leads"
TOPIC_DEADLETTER = "sweep.deadletter"
TOPIC_COMPLAINTS = "sweep.complaints"


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: dict[str, str] = field(default_factory=dict)


class BusConsumer(ABC):
    """A member of a consumer group. Offsets move only when `commit` is called (at-least-once)."""

    @abstractmethod
    def poll(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        """Next messages after the group's position; an empty list when nothing arrived in time."""

    @abstractmethod
    def commit(self, messages: Sequence[Message]) -> None:
        """Record that these messages (and all before them in their partitions) are done."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> BusConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus(ABC):
    @abstractmethod
    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        """Queue one message; delivery is only confirmed by `flush`."""

    @abstractmethod
    def flush(self, timeout_s: float = 60.0) -> None:
        """Block until every published message is durably stored (raises if any was not)."""

    @abstractmethod
    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
