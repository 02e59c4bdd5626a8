"""`explain`: every rule of the book on one listing, with what matched, what excluded it and why.

Analysts tune rules with this; it evaluates every rule fully (no early exit, no candidate filter), so it
is slower than `scan` and never used on the hot path.
"""

from __future__ import annotations

from typing import Any

from rules.compiler import CompiledBook
from rules.evaluation import evaluate, resolve
from rules.matching import Prepared, Trigger
from sweep.models import Listing


def explain(book: CompiledBook, listing: Listing) -> dict[str, Any]:
    """Per rule: status (reported, suppressed, superseded, blocked, excluded, no_match, out_of_scope),
    the reason in the analyst's language, the triggers, exclusions and evidence; plus the findings."""
    prep = book.matcher.prepare(listing)
    results = [evaluate(book, prep, r, full=True) for r in book.rules]
    findings, suppressed = resolve(listing, results)
    reported = {(f.family, f.rule_id) for f in findings}
    rows = []
    for res in results:
        spec = res.rule.spec
        if not res.in_scope:
            status, why = "out_of_scope", f"类目 {listing.category!r} 不在适用范围"
        elif res.fired and (spec.family, spec.id) in reported:
            status, why = "reported", res.note or "命中"
        elif res.fired and spec.family in suppressed:
            status, why = "suppressed", f"同一商品已命中更具体的类别 {suppressed[spec.family]}"
        elif res.fired:
            status, why = "superseded", "同类别已由其他规则报告"
        elif res.blocked:
            status, why = "blocked", res.blocked
        elif res.excluded:
            status, why = "excluded", "；".join(w for _, w in res.excluded[:3])
        else:
            status, why = "no_match", "未命中"
        rows.append(
            {
                "rule_id": spec.id,
                "family": spec.family,
                "severity": spec.severity,
                "title": spec.title,
                "status": status,
                "why": why,
                "matched": [trigger_dict(prep, t) for t in res.triggers],
                "excluded": [{**trigger_dict(prep, t), "reason": w} for t, w in res.excluded],
                "evidence": [e.model_dump() for e in res.get_evidence()],
            }
        )
    return {
        "platform": listing.platform,
        "listing_id": listing.listing_id,
        "normalized": {s.name: prep.norm.text[s.norm_start : s.norm_end] for s in prep.fields},
        "rules": rows,
        "findings": [f.model_dump() for f in findings],
    }


def trigger_dict(prep: Prepared, t: Trigger) -> dict[str, Any]:
    ev = prep.evidence(t.hit.start, t.hit.end)
    return {
        "field": ev.field,
        "text": ev.text,
        "start": ev.start,
        "end": ev.end,
        "term": t.hit.term,
        "entry": t.entry.name if t.entry else None,
        "catalog": t.entry.catalog if t.entry else None,
        "pruned_by": t.hit.pruned_by,
    }
