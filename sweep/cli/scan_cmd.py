"""`sweep scan`."""

from __future__ import annotations


def scan() -> None:
    raise NotImplementedError
