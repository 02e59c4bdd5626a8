"""The house's floors, checked from the code's own imports (at module level and inside functions).

composition root   app/             imports anything; nothing imports it
capabilities       spiders/ rules/ consumers/ complaints/ workspace/ operations/ evidence/
                   reports/
                                    import the core, adapters and each other (no cycles)
adapters           adapters/        import the core only
core               sweep/           imports nothing of the above
beside the house   services/ demomall/  only the composition root (and tests, benchmarks) use them
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "app",
    "spiders",
    "rules",
    "consumers",
    "complaints",
    "workspace",
    "operations",
    "evidence",
    "reports",
    "adapters",
    "sweep",
    "services",
    "demomall",
)
ALLOWED: dict[str, set[str]] = {
    "sweep": {"sweep"},
    "adapters": {"sweep", "adapters"},
    "rules": {"sweep", "rules"},
    "consumers": {"sweep", "adapters", "rules", "complaints", "consumers"},
    "spiders": {"sweep", "adapters", "rules", "evidence", "spiders"},
    "complaints": {"sweep", "adapters", "complaints"},
    "workspace": {"sweep", "spiders", "complaints", "operations", "evidence", "reports", "workspace"},
    "operations": {"sweep", "adapters", "spiders", "operations"},
    "evidence": {"sweep", "adapters", "evidence"},
    "reports": {"sweep", "reports"},
    "services": {"services"},
    "demomall": {"sweep", "demomall"},
    "app": set(PACKAGES),
}


def imported_packages(package: str) -> dict[str, set[str]]:
    """First-party top-level packages each module of `package` imports, anywhere in its body."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names & set(PACKAGES)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down(package: str) -> None:
    wrong = {
        module: sorted(names - ALLOWED[package])
        for module, names in imported_packages(package).items()
        if names - ALLOWED[package]
    }
    assert not wrong, f"imports that point up or sideways out of {package}/: {wrong}"


def test_no_cycles_between_top_level_packages() -> None:
    graph = {package: set().union(*imported_packages(package).values()) - {package} for package in PACKAGES}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle between packages: {exc.args[1]}")


def test_loading_the_core_loads_nothing_outside_it() -> None:
    """In a fresh interpreter, as a user of the models or ports would load them."""
    code = (
        "import sys, sweep.models, sweep.store.base, sweep.bus.base, sweep.settings\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(PACKAGES)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['sweep']"
