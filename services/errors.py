"""The one error type of the services package and its one way of talking to the person at the terminal."""

from __future__ import annotations


class ServiceError(RuntimeError):
    """A server could not be fetched, started or stopped; the message says which and where the log is."""


def say(msg: str) -> None:
    """Progress for people and CI logs, flushed at once so a slow start is visible while it happens."""
    print(f"[services] {msg}", flush=True)
