"""Repeated measurement for every benchmark: min, median and max of several runs, plus the machine.

A single run on a shared 2-core machine says little; README quotes the median with its range, the
date and the load average measured here, so a reader can tell a quiet run from a busy one.

    from repeat import Series, machine
    rates = Series("pages/s")
    for _ in range(args.runs):
        rates.add(run_once())
    print(rates.summary())            # "412 (min 398, max 431; 3 runs)"
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MIN_RUNS = 3
"""Fewer runs than this give no range worth quoting."""


@dataclass
class Series:
    unit: str
    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> float:
        self.values.append(value)
        return value

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def stats(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "runs": len(self.values),
            "min": min(self.values),
            "median": self.median,
            "max": max(self.values),
            "values": self.values,
        }

    def summary(self, fmt: str = "{:,.0f}") -> str:
        return (
            f"{fmt.format(self.median)} {self.unit} (min {fmt.format(min(self.values))}, "
            f"max {fmt.format(max(self.values))}; {len(self.values)} runs)"
        )


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine() -> dict[str, Any]:
    """What README writes beside each figure: when, on what, and how busy the machine was."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "system": platform.platform(terse=True),
        "load_average": [round(x, 2) for x in load_average()],
    }


def machine_line() -> str:
    m = machine()
    load = " / ".join(f"{x:.2f}" for x in m["load_average"])
    return (
        f"{m['date']} · {m['cpus']} cpus · {m['memory_gib']} GiB · Python {m['python']} · "
        f"load average (1/5/15 min) {load}"
    )
