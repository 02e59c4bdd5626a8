"""How urgent a lead is: one number staff can sort and compare by.

    priority = severity × sightings × complaints × recency

    severity   = 3 (high), 2 (medium), 1 (low)
    sightings  = 1 + log2(times_seen)        a listing seen 8 times weighs 4, not 8: repeats matter,
                                             but a daily crawl of one old listing must not bury new ones
    complaints = 1 + complaints about the seller (12315 records matched to the shop)
    recency    = 0.5 ** (days since last seen / 14)   halves every two weeks without a sighting

A high-severity listing seen today once scores 3.0; seen 8 times, 12.0; with two complaints, 36.0; the
same untouched for four weeks, 9.0.

The stores sort `LeadQuery(sort="priority")` by this score, in the form
`sweep.store.base.priority_sort_key`:

    key = log2(severity) + log2(1 + log2(times_seen)) + log2(1 + complaints) + (last_seen in days since 1970) / 14

    log2(priority) = key - (now in days since 1970) / 14

The complaints in the key are the lead's `seller_complaints`, which the workspace writes
(`Workspace.recount_complaints`: every lead of every seller with complaints, started when complaints or
sellers were added); the score shown beside a lead counts them live, so the two agree once a recount has
run.

The last term is the same for every lead, so ordering by `key` (descending, then lead id) is ordering
by the score at any moment; the key does not change while time passes, so it is stored with the lead
(SQLite column `neg_priority`, search-engine field `priority_key`), indexed, and pages by cursor.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sweep.models import SEVERITY_RANK, Lead
from sweep.store.base import PRIORITY_HALF_LIFE_DAYS

HALF_LIFE_DAYS = PRIORITY_HALF_LIFE_DAYS


def priority(lead: Lead, *, complaints: int = 0, now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    age_days = max(0.0, (now - lead.last_seen).total_seconds() / 86400)
    score = (
        SEVERITY_RANK[lead.severity]
        * (1 + math.log2(max(1, lead.times_seen)))
        * (1 + max(0, complaints))
        * 0.5 ** (age_days / HALF_LIFE_DAYS)
    )
    return round(score, 2)
