"""Evaluation and resolution: what the hits of a prepared listing mean for each rule.

A rule fires when one of its matchers has a live trigger (not cancelled by an exclusion: negation,
test/protection context, the substance named as an ingredient, a per-entry exclusion word, a
concentration at or below the listed threshold), its `also` conditions hold, the shop lacks the permit
it names and its check (if any) agrees. Resolution then keeps at most one finding per family.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rules.catalog import Entry
from rules.checks import CHECK_FUNCS
from rules.compiler import CompiledBook, CompiledMatcher, Rule, in_scope
from rules.matching import Hit, Prepared, Trigger
from rules.normalize import norm_term
from sweep.models import FAMILIES, SEVERITY_RANK, Evidence, Finding, Listing

NEGATION_RE = re.compile(
    r"(?:不含|不含有|未含|无|非|不是|并非|拒绝|没有|不添加|未添加|零添加|不使用|杜绝|绝不|不能|不可|不得|严禁|禁止|"
    r"谨防|警惕|打击|举报|不卖|不售|不出售|不做|不接|无法|不会|不宜|防止|不用|未经|不经|未用|未使用)"
    r"(?:任何|有|添加|用于|用来|作为|以)?$"
)
GIFT_RE = re.compile(r"(?:送|赠|附赠|赠送|附送|加送)[^\s，。,；;]{0,4}$")
PCT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*%")
BEFORE_WINDOW = 40
"""Characters before a trigger searched for a `before` word, room for an ingredient list (含甲醇、乙二醇)."""
PCT_WINDOW = 16
"""Characters either side of a substance searched for its concentration (过氧化氢 3% / 含量 30%)."""


@dataclass
class RuleResult:
    """How one rule fared on one listing: the raw material of `explain`."""

    rule: Rule
    in_scope: bool = True
    triggers: list[Trigger] = field(default_factory=list)
    excluded: list[tuple[Trigger, str]] = field(default_factory=list)
    blocked: str | None = None  # why a rule with live triggers still did not fire
    fired: bool = False
    evidence: list[Evidence] = field(default_factory=list)
    note: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    matched: dict[tuple[int, int], str] = field(default_factory=dict)
    prep: Prepared | None = None

    def get_evidence(self) -> list[Evidence]:
        """Evidence, built lazily: only the rule that represents a family needs it."""
        if not self.evidence and self.spans and self.prep is not None:
            self.evidence = [self.prep.evidence(s, e, self.matched.get((s, e))) for s, e in self.spans]
        return self.evidence


def entry_label(entry: Entry) -> str:
    """How a catalog entry is named in evidence: its name, and its CAS number when it has one."""
    return f"{entry.name} CAS {entry.cas}" if entry.cas else entry.name


@lru_cache(maxsize=8192)
def field_ok(seg_name: str, fields: tuple[str, ...]) -> bool:
    """Whether a field selector list covers a field (cached: few distinct names and selector lists)."""
    return any(f == seg_name or (f == "attributes" and seg_name.startswith("attributes.")) for f in fields)


def matcher_hits(prep: Prepared, m: CompiledMatcher) -> list[Trigger]:
    out: list[Trigger] = []
    if m.lexicon is not None:
        for h in prep.by_lexicon.get(m.lexicon, ()):
            if not field_ok(h.field, m.fields):
                continue
            entry = next((r.entry for r in h.refs if r.lexicon == m.lexicon), None)
            out.append(Trigger(h, entry, 0))
    elif m.regex is not None:
        if m.needs is not None and m.needs not in prep.any_by_lexicon:
            return out
        for seg in prep.fields:
            if not field_ok(seg.name, m.fields):
                continue
            for mt in m.regex.finditer(prep.norm.text, seg.norm_start, seg.norm_end):
                if mt.end() > mt.start():
                    out.append(Trigger(Hit(mt.start(), mt.end(), mt.group(0), [], (), seg.name), None, 0))
    return out


def exclusion_reason(book: CompiledBook, prep: Prepared, rule: Rule, trig: Trigger) -> str | None:
    """Why this trigger does not count for this rule, or None when it does."""
    h = trig.hit
    text = prep.norm.text
    seg = prep.field_of(h.start)
    entry = trig.entry
    if entry is not None:
        if entry.exclude:
            lex = book.catx_lexicon.get(entry.catalog)
            for x in prep.any_by_lexicon.get(lex, ()) if lex is not None else ():
                same = x.field == h.field or x.field == "title"  # the title says what the product is
                if same and any(r.lexicon == lex and r.entry is entry for r in x.refs):
                    return f"目录 {entry.catalog} 第{entry.line}行排除词「{x.term}」"
        if entry.min_pct is not None:
            lo, hi = max(seg.norm_start, h.start - PCT_WINDOW), min(seg.norm_end, h.end + PCT_WINDOW)
            pcts = [float(m.group(1)) for m in PCT_RE.finditer(text, lo, hi)]
            if pcts and max(pcts) <= entry.min_pct:
                return f"浓度 {max(pcts):g}% 不超过名录阈值 {entry.min_pct:g}%"
    for ex in rule.exclusions:
        if ex.negation:
            if NEGATION_RE.search(text, max(seg.norm_start, h.start - 6), h.start):
                return f"否定用语：「{text[max(seg.norm_start, h.start - 6) : h.start]}」"
            continue
        if ex.before is not None:
            m = ex.before.search(text, max(seg.norm_start, h.start - BEFORE_WINDOW), h.start)
            if m:
                return f"{ex.label}「{m.group(0)}」"
            continue
        for x in prep.any_by_lexicon.get(ex.lexicon, ()):  # type: ignore[arg-type]
            if x is h or GIFT_RE.search(text, max(0, x.start - 6), x.start):
                continue  # "送手套", "附赠试纸": a free gift does not change what the product is
            if ex.anywhere or (ex.in_fields is not None and field_ok(x.field, ex.in_fields)):
                return f"{ex.label}「{x.term}」（{x.field}）"
            if ex.in_fields is not None:
                continue
            if x.field != h.field:
                continue
            if ex.within is None:
                return f"{ex.label}「{x.term}」"
            gap = max(x.start - h.end, h.start - x.end, 0)
            if gap <= ex.within:
                return f"{ex.label}「{x.term}」（距离{gap}字内）"
    return None


def evaluate(book: CompiledBook, prep: Prepared, rule: Rule, full: bool = False) -> RuleResult:
    """Evaluate one rule. With `full`, keep going after the first decisive step (for explain)."""
    res = RuleResult(rule)
    if not in_scope(rule, prep.category):
        res.in_scope = False
        return res
    spec = rule.spec
    live: list[Trigger] = []
    for i, m in enumerate(rule.matchers):
        for t in matcher_hits(prep, m):
            t.matcher = i
            res.triggers.append(t)
            why = exclusion_reason(book, prep, rule, t)
            if why is None:
                live.append(t)
            else:
                res.excluded.append((t, why))
        if live and not full:
            break
    if rule.matchers and not live:
        return res
    if not rule.matchers:
        for ex in rule.exclusions:
            for x in prep.any_by_lexicon.get(ex.lexicon, ()) if ex.lexicon is not None else ():
                if ex.anywhere or ex.in_fields is None or field_ok(x.field, ex.in_fields):
                    res.blocked = f"{ex.label}「{x.term}」（{x.field}）"
                    return res
    for j, m in enumerate(rule.also):
        if not matcher_hits(prep, m):
            res.blocked = f"缺少上下文条件 also[{j}]"
            return res
    listing = prep.listing
    if spec.shop is not None and spec.shop.lacks_permit:
        wants = spec.shop.lacks_permit
        wants = [wants] if isinstance(wants, str) else wants
        shop = listing.shop
        if shop is not None:
            held = [p.type for p in shop.permits if p.type and any(w in norm_term(p.type) for w in wants)]
            if held:
                res.blocked = f"店铺已公示{held[0]}"
                return res
    if spec.check:
        ok, ev, note = CHECK_FUNCS[spec.check](prep, live)
        res.note = note
        if not ok:
            res.blocked = note or f"检查 {spec.check} 未命中"
            return res
        res.evidence = ev
    else:
        spans = res.spans
        for t in live:
            key = (t.hit.start, t.hit.end)
            if key not in spans:
                spans.append(key)
                if t.entry is not None:
                    label = entry_label(t.entry)
                    res.matched[key] = f"{label}（{t.hit.via}）" if t.hit.via else label
                if len(spans) >= 5:
                    break
        res.prep = prep
    res.fired = True
    return res


def resolve(listing: Listing, results: list[RuleResult]) -> tuple[list[Finding], dict[str, str]]:
    """At most one finding per family: the most severe fired rule, first in book order on ties;
    then families suppressed by a more specific one are dropped. Returns (findings, family -> the
    family that suppressed it)."""
    best: dict[str, RuleResult] = {}
    for res in results:
        if not res.fired:
            continue
        fam = res.rule.spec.family
        cur = best.get(fam)
        if cur is None or SEVERITY_RANK[res.rule.spec.severity] > SEVERITY_RANK[cur.rule.spec.severity]:
            best[fam] = res
    suppressed: dict[str, str] = {}
    for fam, res in list(best.items()):
        for other in res.rule.spec.suppressed_by:
            if other in best:
                suppressed[fam] = other
                break
    findings = []
    for fam in FAMILIES:
        got = best.get(fam)
        if got is None or fam in suppressed:
            continue
        spec = got.rule.spec
        findings.append(
            # validated construction is the fast path: pydantic-core takes the already-built Evidence as they
            # are and runs ~3x faster than `model_construct`'s Python loop (1.3 µs against 3.6 µs, measured)
            Finding(
                platform=listing.platform,
                listing_id=listing.listing_id,
                family=fam,
                rule_id=spec.id,
                severity=spec.severity,
                evidence=got.get_evidence(),
                legal_basis=spec.legal_basis,
                title_zh=spec.title,
            )
        )
    return findings, suppressed
