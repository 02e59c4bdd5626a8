"""What a bundle is for, resolved through the ports: a lead (the lead store) or a case (the people's
store, `sweep.casework`), and which listings' captures that means.

`LEAD_ID|CASE_ID` on the command line: a lead id is 24 hex digits (`sweep.models.lead_id_for`); a case
is its number (`2026-0001`, as the workspace shows it) or its numeric id.
"""

from __future__ import annotations

import re
from typing import Any

from evidence.bundle import Subject
from sweep.casework import Case, PeopleStore
from sweep.store import LeadStore

LEAD_ID = re.compile(r"^[0-9a-f]{24}$")
CASE_NUMBER = re.compile(r"^\d{4}-\d+$")
ALL_CASES = 1_000_000


class UnknownSubjectError(LookupError):
    pass


def _lead_facts(lead: Any) -> dict[str, Any]:
    return {
        "lead_id": lead.lead_id,
        "rule_id": lead.rule_id,
        "family": lead.family,
        "severity": str(lead.severity),
        "title_zh": lead.title_zh,
        "region": lead.listing.region,
    }


def lead_subject(leads: LeadStore, lead_id: str) -> tuple[Subject, Any]:
    """The subject of one lead, and the lead (its `listing.region` decides who may export it)."""
    lead = leads.get(lead_id)
    if lead is None:
        raise UnknownSubjectError(f"no lead {lead_id}")
    subject = Subject("lead", lead.lead_id, lead.listing.title, [(lead.platform, lead.listing_id)], [_lead_facts(lead)])
    return subject, lead


def find_case(people: PeopleStore, ref: str) -> Case | None:
    if ref.isdigit():
        return people.get_case(int(ref))
    if CASE_NUMBER.match(ref):
        return next((c for c in people.list_cases(limit=ALL_CASES) if c.number == ref), None)
    return None


def case_subject(people: PeopleStore, leads: LeadStore, case: Case) -> Subject:
    """The subject of a case: the listings of all its leads (a lead no longer in the store is named in
    the bundle's `missing` through its id only)."""
    listings: list[tuple[str, str]] = []
    facts = []
    for lead_id in case.lead_ids:
        lead = leads.get(lead_id)
        if lead is None:
            facts.append({"lead_id": lead_id, "title_zh": "（线索已不在线索库）"})
            continue
        facts.append(_lead_facts(lead))
        if (lead.platform, lead.listing_id) not in listings:
            listings.append((lead.platform, lead.listing_id))
    return Subject("case", case.number or str(case.id), case.title, listings, facts)


def protected_lead_ids(people: PeopleStore) -> set[str]:
    """Ids of every lead in any case, open or closed (the casework port): retention never deletes the
    captures of their listings. Ids suffice: a capture's findings name the lead ids it supports."""
    return {lead_id for case in people.list_cases(limit=ALL_CASES) for lead_id in case.lead_ids}
