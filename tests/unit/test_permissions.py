"""`allowed(actor, action, resource)`: the whole table, by role and jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sweep.people import NATIONWIDE, Actor, Role
from sweep.permissions import (
    ACTIONS,
    AUDIT_VIEW,
    COMPLAINTS_ASSIGN,
    COMPLAINTS_EXPORT,
    COMPLAINTS_IMPORT,
    COMPLAINTS_VIEW,
    COMPLAINTS_VIEW_PERSONAL_DATA,
    LEADS_TRIAGE,
    LEADS_VIEW,
    allowed,
)


@dataclass
class Record:
    region: str | None
    handler: str | None = None


YINCHUAN = Record("宁夏回族自治区银川市兴庆区", handler="zhang")
HANGZHOU = Record("浙江省杭州市余杭区", handler="zhou")
NOWHERE = Record(None)

officer = Actor("zhang", Role.officer, ("宁夏回族自治区银川市",))
colleague = Actor("li", Role.officer, ("宁夏回族自治区银川市",))
supervisor = Actor("ma", Role.supervisor, ("宁夏回族自治区",))
analyst = Actor("wu", Role.analyst, ("宁夏回族自治区",))
operator = Actor("ops", Role.operator, ("宁夏回族自治区",))
admin = Actor("root", Role.admin)
national = Actor("guo", Role.supervisor, (NATIONWIDE,))


@pytest.mark.parametrize(
    ("actor", "action", "resource", "expected"),
    [
        (officer, COMPLAINTS_VIEW, YINCHUAN, True),
        (officer, COMPLAINTS_VIEW, HANGZHOU, False),
        (officer, COMPLAINTS_VIEW, NOWHERE, False),
        (officer, COMPLAINTS_VIEW_PERSONAL_DATA, YINCHUAN, True),
        (colleague, COMPLAINTS_VIEW_PERSONAL_DATA, YINCHUAN, False),
        (officer, COMPLAINTS_VIEW_PERSONAL_DATA, Record("浙江省", handler="zhang"), False),
        (supervisor, COMPLAINTS_VIEW_PERSONAL_DATA, YINCHUAN, True),
        (supervisor, COMPLAINTS_VIEW_PERSONAL_DATA, HANGZHOU, False),
        (national, COMPLAINTS_VIEW_PERSONAL_DATA, NOWHERE, True),
        (analyst, COMPLAINTS_VIEW, YINCHUAN, True),
        (analyst, COMPLAINTS_VIEW_PERSONAL_DATA, YINCHUAN, False),
        (analyst, COMPLAINTS_EXPORT, None, True),
        (analyst, LEADS_TRIAGE, YINCHUAN, False),
        (officer, LEADS_TRIAGE, YINCHUAN, True),
        (officer, LEADS_VIEW, HANGZHOU, False),
        (admin, COMPLAINTS_VIEW, HANGZHOU, True),
        (admin, COMPLAINTS_VIEW_PERSONAL_DATA, YINCHUAN, False),
        (admin, AUDIT_VIEW, None, True),
        (operator, COMPLAINTS_IMPORT, None, True),
        (operator, COMPLAINTS_VIEW, YINCHUAN, False),
        (officer, COMPLAINTS_IMPORT, None, False),
        (supervisor, COMPLAINTS_ASSIGN, YINCHUAN, True),
        (officer, COMPLAINTS_ASSIGN, YINCHUAN, False),
        (officer, "complaints.veiw", YINCHUAN, False),  # a typo fails closed
    ],
)
def test_allowed(actor, action, resource, expected):
    assert allowed(actor, action, resource) is expected


def test_every_action_is_granted_to_someone():
    roles = [Actor("x", role, (NATIONWIDE,)) for role in Role]
    assert all(any(allowed(a, action) for a in roles) for action in ACTIONS)


def test_jurisdiction_is_a_prefix_of_region_names():
    assert Actor("a", Role.officer, ("宁夏回族自治区银川市",)).covers("宁夏回族自治区银川市兴庆区")
    assert not Actor("a", Role.officer, ("宁夏回族自治区银川市",)).covers("宁夏回族自治区石嘴山市")
    assert not Actor("a", Role.officer, ()).covers("宁夏回族自治区")
