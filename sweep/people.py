"""Who is asking: the people of a bureau as sweep sees them.

Kept to what permission checks need. A role says what kind of work someone does; regions say where
they have jurisdiction (辖区), written as region-name prefixes the way shop and complaint records spell
places ("宁夏回族自治区银川市" covers "宁夏回族自治区银川市兴庆区"), or as GB/T 2260 codes (540100 covers
"西藏自治区拉萨市城关区", see `sweep.regions`; 000000 is nationwide). Accounts, passwords and sessions belong
to the web workspace that builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sweep import regions as divisions

NATIONWIDE = "全国"
"""A region entry that covers every region (national-level staff, and records whose region is unknown)."""


class Role(StrEnum):
    officer = "officer"
    analyst = "analyst"
    operator = "operator"
    supervisor = "supervisor"
    admin = "admin"
    auditor = "auditor"


ROLE_LABELS_ZH: dict[str, str] = {
    "officer": "执法人员",
    "analyst": "分析员",
    "operator": "运维",
    "supervisor": "主管",
    "admin": "管理员",
    "auditor": "审计",
}


@dataclass(frozen=True, slots=True)
class Actor:
    """A person (or a scheduled job acting for one) making a request."""

    username: str
    role: Role
    regions: tuple[str, ...] = field(default_factory=tuple)

    def covers(self, region: str | None) -> bool:
        """Whether `region` lies in this actor's jurisdiction. A record without a region is covered only
        by nationwide jurisdiction: guessing a place would hand it to the wrong bureau."""
        if NATIONWIDE in self.regions:
            return True
        if not region:
            return False
        return any(prefix and region.startswith(prefix) for prefix in self.regions) or any(
            entry.isdigit() and divisions.within(divisions.code_for(region), entry) for entry in self.regions
        )


SYSTEM = Actor("system", Role.operator, (NATIONWIDE,))
"""The actor of unattended pipeline work (imports run by a scheduler, matching, exports of masked data)."""
