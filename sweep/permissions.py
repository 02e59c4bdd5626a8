"""One place that decides who may do what: `allowed(actor, action, resource)`.

Every caller — CLI commands today, the web workspace next — asks this function and nothing else, so a
rule changes in one place and a test can check the whole table. Actions are plain strings named
`area.verb`. A resource, when given, is anything with a `region` attribute (a complaint, a lead's
listing, a shop); for complaints the officer handling it is its `handler` attribute.

The rules, in words:
* admins manage the system and may see every masked record; they never see personal data by role;
* supervisors see and triage records in their regions, assign complaints, read the audit log, and see
  personal data of complaints in their regions;
* officers see and triage records in their regions; they see personal data only of the complaints
  they handle (所办理的投诉), within their regions;
* analysts see masked records in their regions and may export them;
* operators run imports and pipelines, and manage crawl targets, schedules and jobs (and accept the
  crawl targets complaints suggest); they see no records;
* auditors (审计) read records in their regions and read and export the audit log; they change nothing;
* the workspace adds: bulk changes over a whole search (supervisors), exports of searches (officers,
  supervisors, analysts), cases (officers and supervisors edit; auditors and admins read), user
  management (admins). Jurisdiction may be written as a GB/T 2260 code (see `sweep.people`).
"""

from __future__ import annotations

from typing import Any

from sweep import regions as divisions
from sweep.people import NATIONWIDE, Actor, Role

LEADS_VIEW = "leads.view"
LEADS_TRIAGE = "leads.triage"
COMPLAINTS_VIEW = "complaints.view"
COMPLAINTS_VIEW_PERSONAL_DATA = "complaints.view_personal_data"
COMPLAINTS_IMPORT = "complaints.import"
COMPLAINTS_EXPORT = "complaints.export"
COMPLAINTS_ASSIGN = "complaints.assign"
AUDIT_VIEW = "audit.view"
SYSTEM_OPERATE = "system.operate"
LEADS_BULK = "leads.bulk"
LEADS_EXPORT = "leads.export"
CASES_VIEW = "cases.view"
CASES_EDIT = "cases.edit"
AUDIT_EXPORT = "audit.export"
USERS_MANAGE = "users.manage"
OPERATIONS_VIEW = "operations.view"
OPERATIONS_MANAGE = "operations.manage"

ACTIONS: tuple[str, ...] = (
    LEADS_VIEW,
    LEADS_TRIAGE,
    COMPLAINTS_VIEW,
    COMPLAINTS_VIEW_PERSONAL_DATA,
    COMPLAINTS_IMPORT,
    COMPLAINTS_EXPORT,
    COMPLAINTS_ASSIGN,
    AUDIT_VIEW,
    SYSTEM_OPERATE,
    LEADS_BULK,
    LEADS_EXPORT,
    CASES_VIEW,
    CASES_EDIT,
    AUDIT_EXPORT,
    USERS_MANAGE,
    OPERATIONS_VIEW,
    OPERATIONS_MANAGE,
)

_BY_ROLE: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(
        {LEADS_VIEW, COMPLAINTS_VIEW, COMPLAINTS_IMPORT, COMPLAINTS_EXPORT, AUDIT_VIEW, SYSTEM_OPERATE}
        | {CASES_VIEW, AUDIT_EXPORT, USERS_MANAGE, OPERATIONS_VIEW}
    ),
    Role.supervisor: frozenset(
        {
            LEADS_VIEW,
            LEADS_TRIAGE,
            COMPLAINTS_VIEW,
            COMPLAINTS_VIEW_PERSONAL_DATA,
            COMPLAINTS_IMPORT,
            COMPLAINTS_EXPORT,
            COMPLAINTS_ASSIGN,
            AUDIT_VIEW,
        }
        | {LEADS_BULK, LEADS_EXPORT, CASES_VIEW, CASES_EDIT, AUDIT_EXPORT}
    ),
    Role.officer: frozenset({LEADS_VIEW, LEADS_TRIAGE, COMPLAINTS_VIEW, COMPLAINTS_VIEW_PERSONAL_DATA})
    | {LEADS_EXPORT, CASES_VIEW, CASES_EDIT},
    Role.analyst: frozenset({LEADS_VIEW, COMPLAINTS_VIEW, COMPLAINTS_EXPORT}) | {LEADS_EXPORT},
    Role.auditor: frozenset({LEADS_VIEW, COMPLAINTS_VIEW, CASES_VIEW, AUDIT_VIEW, AUDIT_EXPORT}),
    Role.operator: frozenset({COMPLAINTS_IMPORT, SYSTEM_OPERATE, OPERATIONS_VIEW, OPERATIONS_MANAGE}),
}

_UNSCOPED = frozenset({COMPLAINTS_IMPORT, SYSTEM_OPERATE, USERS_MANAGE, OPERATIONS_VIEW, OPERATIONS_MANAGE})
"""Actions not about one record: no jurisdiction check (an import brings records of many regions)."""


def allowed(actor: Actor, action: str, resource: Any = None) -> bool:
    """Whether `actor` may perform `action` (on `resource`, when the action concerns one record).

    Unknown actions are refused, so a typo fails closed. With no resource, the answer is whether the
    role may do this at all (to show a button or a menu); with one, jurisdiction decides too. Admins'
    reading is nationwide; everyone else's is bounded by `actor.regions`.
    """
    if action not in ACTIONS or action not in _BY_ROLE.get(actor.role, frozenset()):
        return False
    if resource is None or action in _UNSCOPED:
        return True
    region = getattr(resource, "region", None)
    if action == COMPLAINTS_VIEW_PERSONAL_DATA:
        if not actor.covers(region):
            return False
        if actor.role is Role.supervisor:
            return True
        handler = getattr(resource, "handler", None)
        return bool(handler) and handler == actor.username
    if actor.role is Role.admin:
        return True
    return actor.covers(region)


NO_REGION = "\x00no-region"
"""A region prefix no record has: the store filter of an actor whose jurisdiction covers nothing."""


def region_prefixes(actor: Actor) -> tuple[str, ...]:
    """The region-name prefixes a store may filter by so that a search returns what `allowed` lets this
    actor read (empty: no restriction). A jurisdiction written as a GB/T 2260 code becomes the official
    name of its region (540100 -> 西藏自治区拉萨市, which every name below it starts with), as the lead
    queue filters; a region spelt otherwise is judged by `allowed` on read."""
    if actor.role is Role.admin or NATIONWIDE in actor.regions or divisions.NATIONAL in actor.regions:
        return ()
    prefixes = []
    for entry in actor.regions:
        if entry.isdigit():
            if entry in divisions.names():
                prefixes.append(divisions.full_name(entry))
        elif entry:
            prefixes.append(entry)
    return tuple(dict.fromkeys(prefixes)) or (NO_REGION,)
