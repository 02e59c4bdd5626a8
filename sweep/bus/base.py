"""The Bus port.

Values are bytes at this level on purpose: a consumer must be able to receive a message it cannot
parse (and dead-letter it with the original bytes), so decoding happens above the port, in
`sweep.bus.envelope`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

DEFAULT_TOPIC_PREFIX = "sweep"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one deployment: `{prefix}.listings`, `.leads`, `.deadletter`, `.complaints`.

    Like index names, topic names take a prefix (setting `topic_prefix`, env `SWEEP_TOPIC_PREFIX`) so
    that tests, benchmarks and several deployments can share one Kafka without reading each other's
    messages. Every producer and consumer gets its names from here (via `Settings.topics`); nothing
    else builds a topic name.
    """

    prefix: str = DEFAULT_TOPIC_PREFIX

    ROLES: ClassVar[tuple[str, ...]] = ("listings", "leads", "deadletter", "complaints")

    @property
    def listings(self) -> str:
        return f"{self.prefix}.listings"

    @property
    def leads(self) -> str:
        return f"{self.prefix}.leads"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def complaints(self) -> str:
        return f"{self.prefix}.complaints"

    @property
    def crawl_requests(self) -> str:
        """The shared crawl frontier (`sweep crawl-worker`), keyed by host; not one of the pipeline's ROLES."""
        return f"{self.prefix}.crawl.requests"

    def all(self) -> tuple[str, ...]:
        return tuple(f"{self.prefix}.{role}" for role in self.ROLES)

    @classmethod
    def role_of(cls, topic: str) -> str | None:
        """Which role a topic name plays ("leads", ...) whatever its prefix; None for a foreign topic."""
        role = topic.rsplit(".", 1)[-1]
        return role if "." in topic and role in cls.ROLES else None


_DEFAULT = Topics()
TOPIC_LISTINGS = _DEFAULT.listings
TOPIC_LEADS = _DEFAULT.leads
TOPIC_DEADLETTER = _DEFAULT.deadletter
TOPIC_COMPLAINTS = _DEFAULT.complaints
"""The names with the default prefix, for documentation and tests; running code resolves its names
through `Settings.topics`, which honours `SWEEP_TOPIC_PREFIX`."""


class MessageRejectedError(Exception):
    """The bus refused one message for good (e.g. larger than the broker accepts): sending the same
    bytes again can never succeed, so a caller must change the message, not retry it."""


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


@dataclass(frozen=True, slots=True)
class GroupLag:
    """How far one consumer group is through one topic."""

    group: str
    topic: str
    committed: int
    """Messages of the topic the group has committed (grows by the group's throughput)."""
    lag: int
    """Messages of the topic the group has not committed yet."""


@dataclass(slots=True)
class BusStatus:
    """What an operator checks first: messages held per topic (dead letters among them) and each group's lag."""

    messages: dict[str, int] = field(default_factory=dict)
    """Topic -> messages held (retained; a missing topic counts 0)."""
    lags: list[GroupLag] = field(default_factory=list)


class Bus(ABC):
    @abstractmethod
    def publish(self, topic: str, key: str | None, value: bytes, headers: dict[str, str] | None = None) -> None:
        """Queue one message; delivery is only confirmed by `flush`. Raises `MessageRejectedError` when the
        message can never be delivered (too large for the bus)."""

    @abstractmethod
    def flush(self, timeout_s: float = 60.0) -> None:
        """Block until every published message is durably stored (raises if any was not).

        Raises `MessageRejectedError` when every message that failed was refused permanently, any other
        error when at least one may succeed if published again."""

    @abstractmethod
    def consumer(self, topics: Sequence[str], group: str) -> BusConsumer: ...

    def status(self, topics: Sequence[str]) -> BusStatus:
        """Messages held in `topics` and the lag of every consumer group reading them (operators' view)."""
        raise NotImplementedError(f"{type(self).__name__} reports no status")

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
