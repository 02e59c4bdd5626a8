"""Build hook: compile the rulebook's hot path with mypyc (see rules/native.py for why and how).

Everything else about the package is declared in pyproject.toml. `SWEEP_PURE_PYTHON=1 pip install .`
builds nothing and removes extensions an earlier build left in the source tree.
"""

import importlib.util
import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("_sweep_rules_native", HERE / "rules" / "native.py")
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)


def ext_modules() -> list:
    if os.environ.get(native.PURE_ENV, "").strip() in ("1", "true", "yes"):
        for path in native.extensions():
            path.unlink()
        native.STAMP.unlink(missing_ok=True)
        return []
    from mypyc.build import mypycify

    native.write_stamp()
    return mypycify([f"rules/{m}.py" for m in native.COMPILED], opt_level="3")


setup(ext_modules=ext_modules())
