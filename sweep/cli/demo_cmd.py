"""`sweep demo`, `sweep demo-mall`, `sweep crawl` (filled in by the foundation work)."""

from __future__ import annotations


def demo() -> None:
    raise NotImplementedError


def demo_mall() -> None:
    raise NotImplementedError


def crawl() -> None:
    raise NotImplementedError
