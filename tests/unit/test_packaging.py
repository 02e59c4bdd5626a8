"""Every top-level package of the house ships: in the wheel (pyproject) and in the image (Dockerfile).

A package moved or added without both would pass every test here and break only in production."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BESIDE = {"tests", "benchmarks"}


def _packages() -> set[str]:
    return {
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in BESIDE and not p.parent.name.startswith(".")
    }


def test_the_house_has_the_expected_packages() -> None:
    assert _packages() == {
        "app",
        "adapters",
        "sweep",
        "spiders",
        "rules",
        "consumers",
        "complaints",
        "workspace",
        "operations",
        "evidence",
        "reports",
        "demomall",
        "services",
    }


def test_every_package_is_in_the_wheel() -> None:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert {pattern.rstrip("*") for pattern in include["include"]} == _packages()


def test_every_package_is_copied_into_the_image() -> None:
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), flags=re.M))
    assert copied == _packages()
