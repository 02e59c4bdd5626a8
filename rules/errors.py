"""Errors raised while loading a rulebook.

Analysts edit YAML and CSV by hand; an error that does not say *where* costs them minutes per typo, so
every problem carries the file and the 1-based line it was found on.
"""

from __future__ import annotations

from pathlib import Path


class RulebookError(Exception):
    """A rulebook (or one of its catalogs) is invalid; nothing of it was loaded."""

    def __init__(self, file: str | Path, line: int | None, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.message = message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {message}")
