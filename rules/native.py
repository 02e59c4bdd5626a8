"""The rulebook's hot path, compiled to C by mypyc when the package is installed, and the guard that
keeps a compiled copy from running stale.

Scanning is interpreter overhead, not string work: per listing a few dozen small objects and dict
lookups around C calls (the Aho-Corasick automaton, regexes, `str.translate`). mypyc compiles these
same typed modules, so there is one source and no second engine to keep in step; `setup.py` builds
them and writes a stamp with the SHA-256 of each source it compiled.

At import (`rules/__init__`), `activate()` decides which copy runs:
  * compiled, when every module below has its extension and the stamp matches the sources;
  * the Python source, when `SWEEP_PURE_PYTHON=1` (debuggers, coverage, a machine without a C
    compiler: install with the same variable set and nothing is compiled), or when a source changed
    since it was compiled (a warning names the file; `make install` compiles again).
It is all or nothing: compiled modules call each other directly, so a mix would run stale code.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

COMPILED = ("normalize", "pinyin", "catalog", "compiler", "matching", "checks", "evaluation", "engine")
"""Modules of `rules` that mypyc compiles: preparation, matching, evaluation and what they call per listing."""

HERE = Path(__file__).resolve().parent
STAMP = HERE / "_native.json"
PURE_ENV = "SWEEP_PURE_PYTHON"

_mode: str | None = None


def source_digest(module: str) -> str:
    return hashlib.sha256((HERE / f"{module}.py").read_bytes()).hexdigest()


def write_stamp() -> None:
    """Record the sources being compiled (called by setup.py)."""
    STAMP.write_text(json.dumps({m: source_digest(m) for m in COMPILED}, indent=1, sort_keys=True) + "\n")


def extensions() -> list[Path]:
    """Compiled extension files of the modules above, as they lie beside the sources."""
    return [p for m in COMPILED for s in importlib.machinery.EXTENSION_SUFFIXES if (p := HERE / f"{m}{s}").exists()]


def stale_sources() -> list[str]:
    """Sources that differ from what was compiled (all of them when the stamp is missing)."""
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return [f"{m}.py" for m in COMPILED]
    return [f"{m}.py" for m in COMPILED if stamp.get(m) != source_digest(m)]


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads the compiled modules' Python sources even where their extensions lie beside them."""

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        package, _, name = fullname.rpartition(".")
        if package != __package__ or name not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / f"{name}.py")


def activate() -> str:
    """Choose the copy that runs ('compiled' or 'source'); idempotent, before any module above is imported."""
    global _mode
    if _mode is not None:
        return _mode
    built = extensions()
    if os.environ.get(PURE_ENV, "").strip() in ("1", "true", "yes"):
        _mode = "source"
    elif len(built) != len(COMPILED):
        _mode = "source"  # not compiled (or only partly): the sources are what Python finds anyway
    else:
        stale = stale_sources()
        if stale:
            warnings.warn(
                f"rules: {', '.join(stale)} changed since the rulebook engine was compiled; running the Python "
                "source (slower). Run `make install` to compile again.",
                RuntimeWarning,
                stacklevel=2,
            )
            _mode = "source"
        else:
            _mode = "compiled"
    if _mode == "source" and built:
        sys.meta_path.insert(0, _SourceFirst())
    return _mode


def mode() -> str:
    """'compiled' or 'source': which copy of the engine this process runs."""
    return activate()
