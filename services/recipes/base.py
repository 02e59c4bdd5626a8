"""What the supervisor needs to know about one server, and nothing about how it is supervised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Recipe:
    """One server: its ports, what `.services/env` says about it, how to prepare and check it.

    `prepare(dir)` fetches, writes the configuration under `dir` and returns the command line;
    `run_env(dir)` adds environment variables for that command.
    """

    name: str
    port: int
    extra_ports: tuple[int, ...]
    env_lines: tuple[str, ...]
    describe: str
    prepare: Callable[[Path], list[str]]
    healthy: Callable[[], bool]
    version: Callable[[], str]
    run_env: Callable[[Path], dict[str, str]] = field(default=lambda _dir: {})

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.extra_ports)
