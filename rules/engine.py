"""The rulebook engine: listing -> findings, as a pure function.

Per listing the hot path is: join the fields the rules look at into one string (separated by NUL),
normalise it once, run one Aho-Corasick automaton over it (all terms of all rules and catalogs), find
CAS numbers with one regex, drop matches that lie inside a longer match (so 硝酸 inside 硝酸铵钙 or 第一
inside 第一次 do not count), and then evaluate only the rules whose terms were hit (plus the few
regex/check rules). Everything that can be prepared is prepared at load time.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

import ahocorasick

from rules.catalog import Catalog, Entry
from rules.checks import PROVINCES, SC_RE, blank, uscc_problem
from rules.normalize import Normalized, find_cas, norm_term, normalize
from rules.schema import Matcher, RuleSpec
from sweep.models import FAMILIES, SEVERITY_RANK, Evidence, Finding, Listing, Shop

SEP = "\x00"
NEGATION_RE = re.compile(
    r"(?:不含|不含有|未含|无|非|不是|并非|拒绝|没有|不添加|未添加|零添加|不使用|杜绝|绝不|不能|不可|不得|严禁|禁止|"
    r"谨防|警惕|打击|举报|不卖|不售|不出售|不做|不接|无法|不会|不宜|防止|不用|未经|不经|未用|未使用)"
    r"(?:任何|有|添加|用于|用来|作为|以)?$"
)
GIFT_RE = re.compile(r"(?:送|赠|附赠|赠送|附送|加送)[^\s，。,；;]{0,4}$")
PCT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*%")
PCT_WINDOW = 16
ORIGIN_KEYS = ("产地", "原产地", "产区", "生产地", "种植地", "养殖地", "出产地", "省份", "生产地区")
_SC_STRIP = re.compile(r"[\s\-]")
NOT_PRODUCER_KEYS = ("发货", "店铺", "门店", "退货", "收货", "售后", "仓库", "公司地址")
ADDRESS_KEYS = (
    "厂址",
    "生产地址",
    "厂家地址",
    "生产企业地址",
    "企业地址",
    "生产商地址",
    "制造商地址",
    "工厂地址",
    "生产厂址",
    "地址",
)
IMPORT_KEYS = ("原产国", "进口商", "进口代理商", "国内代理商", "境内代理商", "报关单")
MAKER_KEYS = ("厂名", "生产厂家", "生产商", "生产企业", "制造商", "厂家名称", "生产者", "厂家", "生产单位", "委托方")
SC_KEYS = ("生产许可证", "许可证编号", "SC", "sc编号", "食品生产许可")
MAKER_TEXT_RE = re.compile(r"(?:厂名|生产厂家|生产商|生产企业|制造商)\s*[:：]\s*[^\s，。；;]{2,}")
ADDRESS_TEXT_RE = re.compile(r"(?:厂址|生产地址|厂家地址)\s*[:：]\s*[^\s，。；;]{2,}")


_new = object.__new__
_set = object.__setattr__


def _construct(cls: Any, values: dict[str, Any]) -> Any:
    """Build a pydantic model from already-valid values without validation (what `model_construct`
    does, minus its per-call field introspection: ~5x faster, and findings are built per listing).
    `values` must name every field of `cls`."""
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


@dataclass(slots=True)
class Ref:
    """What a dictionary term stands for: a lexicon (catalog or inline term list) and, for catalog
    terms, the catalog entry."""

    lexicon: int
    entry: Entry | None = None


@dataclass(slots=True)
class Hit:
    start: int  # normalised blob offsets
    end: int
    term: str
    refs: list[Ref]
    lex_ids: tuple[int, ...] = ()
    field: str = ""
    pruned_by: str | None = None
    group: frozenset[str] | None = None  # families whose rules use this term; None: neutral


@dataclass(slots=True)
class Trigger:
    hit: Hit
    entry: Entry | None
    matcher: int


@dataclass(slots=True)
class FieldSeg:
    name: str
    text: str
    orig_start: int  # in the original blob
    norm_start: int = 0
    norm_end: int = 0


@dataclass(slots=True)
class Prepared:
    """One listing, normalised and matched; shared by every rule evaluated on it."""

    listing: Listing
    norm: Normalized
    fields: list[FieldSeg]
    starts: list[int]
    hits: list[Hit]  # all hits, including pruned ones
    by_lexicon: dict[int, list[Hit]]  # unpruned hits per lexicon
    any_by_lexicon: dict[int, list[Hit]]  # all hits per lexicon (for exclusions)
    category: str | None

    def field_of(self, norm_pos: int) -> FieldSeg:
        return self.fields[bisect_right(self.starts, norm_pos) - 1]

    def evidence(self, hit_start: int, hit_end: int, matched: str | None = None) -> Evidence:
        seg = self.field_of(hit_start)
        o_start, o_end = self.norm.orig_span(hit_start, hit_end)
        s, e = o_start - seg.orig_start, o_end - seg.orig_start
        return _construct(
            Evidence, {"field": seg.name, "text": seg.text[s:e], "start": s, "end": e, "matched": matched}
        )


@dataclass
class CompiledMatcher:
    spec: Matcher
    lexicon: int | None
    regex: re.Pattern[str] | None
    fields: tuple[str, ...]
    needs: int | None = None  # lexicon that must be hit before the regex is tried


@dataclass
class CompiledExclusion:
    lexicon: int | None
    within: int | None
    anywhere: bool
    negation: bool
    label: str
    in_fields: tuple[str, ...] | None = None
    before: re.Pattern[str] | None = None


@dataclass
class Rule:
    spec: RuleSpec
    order: int
    file: str
    line: int
    matchers: list[CompiledMatcher]
    also: list[CompiledMatcher]
    exclusions: list[CompiledExclusion]
    categories: tuple[str, ...] | None
    exclude_categories: tuple[str, ...]
    unknown_category: bool

    @property
    def id(self) -> str:
        return self.spec.id


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
def _attr_field(key: str) -> str:
    return f"attributes.{key}"


@lru_cache(maxsize=8192)
def _field_ok(seg_name: str, fields: tuple[str, ...]) -> bool:
    """Whether a field selector list covers a field (cached: few distinct names and selector lists)."""
    return any(f == seg_name or (f == "attributes" and seg_name.startswith("attributes.")) for f in fields)


@lru_cache(maxsize=4096)
def _cat_norm(value: str) -> str:
    return norm_term(value).strip()


T = TypeVar("T")

CACHE_LIMIT = 100_000
"""Entries of each per-engine cache keyed by crawled values (categories, licence strings)."""


def _remember(cache: dict[Any, Any], key: Any, value: T) -> T:
    """Store `value` under `key`, emptying the cache first when it is full: its keys come from crawled
    text, so an unbounded cache would grow with every distinct value a hostile site invents. Clearing
    is cruder than LRU but costs nothing on the hot path, and refilling is cheap."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


class Engine:
    """Compiled rules plus the automaton; built by `rules.loader`, immutable afterwards."""

    def __init__(
        self,
        rules: list[Rule],
        catalogs: dict[str, Catalog],
        lexicon_names: list[str],
        automaton: ahocorasick.Automaton | None,
        cas_index: dict[str, list[Ref]],
        lexicon_rules: dict[int, list[Rule]],
        always_rules: list[Rule],
        wanted_fields: set[str],
        catalog_lexicon: dict[str, int],
        catx_lexicon: dict[str, int],
    ) -> None:
        self.rules = rules
        self.catalogs = catalogs
        self.lexicon_names = lexicon_names
        self.automaton = automaton
        self.cas_index = cas_index
        self.lexicon_rules = lexicon_rules
        self.always_rules = always_rules
        self.wanted_fields = wanted_fields
        self.catalog_lexicon = catalog_lexicon
        self.catx_lexicon = catx_lexicon
        self.want_attributes = any(f.startswith("attributes") for f in wanted_fields)
        self.other_fields = bool(wanted_fields & {"category", "unit", "shop.name", "shop.licence_company"})
        self._always_cache: dict[str | None, list[Rule]] = {}
        self.cas_group: frozenset[str] | None = frozenset({"chem"})
        # unscoped licence checks without exclusions: cached per licence string in scan()
        self.shop_rules = [
            r
            for r in rules
            if r.spec.check in ("uscc_invalid", "licence_missing") and r.spec.scope == "any" and not r.exclusions
        ]
        shop_ids = {r.order for r in self.shop_rules}
        self.always_rules = [r for r in always_rules if r.order not in shop_ids]
        self._shop_cache: dict[tuple[bool, str | None], list[RuleResult]] = {}

    # ---------------------------------------------------------------- preparation
    def prepare(self, listing: Listing) -> Prepared:
        wanted = self.wanted_fields
        segs: list[FieldSeg] = []
        parts: list[str] = []
        pos = 0
        title = listing.title
        if title:
            if SEP in title:
                title = title.replace(SEP, " ")
            segs.append(FieldSeg("title", title, 0))
            parts.append(title)
            pos = len(title) + 1
        extra: list[tuple[str, str | None]] = []
        if "description" in wanted:
            extra.append(("description", listing.description))
        if self.want_attributes and listing.attributes:
            extra.extend((_attr_field(k), v) for k, v in listing.attributes.items())
        if self.other_fields:
            if "category" in wanted:
                extra.append(("category", listing.category))
            if "unit" in wanted:
                extra.append(("unit", listing.unit))
            shop = listing.shop
            if shop is not None:
                if "shop.name" in wanted:
                    extra.append(("shop.name", shop.name))
                if "shop.licence_company" in wanted:
                    extra.append(("shop.licence_company", shop.licence_company))
        for name, text in extra:
            if not text:
                continue
            if SEP in text:
                text = text.replace(SEP, " ")
            segs.append(FieldSeg(name, text, pos))
            parts.append(text)
            pos += len(text) + 1
        blob = SEP.join(parts)
        norm = normalize(blob)
        text = norm.text
        # segment boundaries in normalised text: separators survive normalisation one-to-one
        starts: list[int] = []
        p = 0
        for seg in segs:
            starts.append(p)
            seg.norm_start = p
            q = text.find(SEP, p)
            if q < 0:
                q = len(text)
            seg.norm_end = q
            p = q + 1
        if not segs:
            segs.append(FieldSeg("title", "", 0))
            starts.append(0)

        hits: list[Hit] = []
        if self.automaton is not None and text:
            for end, (term, refs, lex_ids, ascii_edges, case_form, group) in self.automaton.iter(text):
                start = end - len(term) + 1
                if ascii_edges:
                    if ascii_edges & 1 and start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
                        continue
                    if ascii_edges & 2 and end + 1 < len(text) and text[end + 1].isascii() and text[end + 1].isalnum():
                        continue
                if case_form is not None:
                    # chemical formulas are case-sensitive: Mg is magnesium, mg is milligrams
                    o_s, o_e = norm.orig_span(start, end + 1)
                    if unicodedata.normalize("NFKC", norm.original[o_s:o_e]).replace(" ", "") != case_form:
                        continue
                hits.append(Hit(start, end + 1, term, refs, lex_ids, group=group))
        if self.cas_index:
            for s, e, cas in find_cas(text):
                refs = self.cas_index.get(cas)
                if refs:
                    hits.append(Hit(s, e, cas, refs, tuple({r.lexicon for r in refs}), group=self.cas_group))
        if len(hits) > 1:
            hits.sort(key=lambda h: (h.start, -h.end))
            # longest match wins: a hit inside a longer one is dropped (硝酸 in 硝酸铵钙, 第一 in 第一次), except
            # across unrelated families (顶级 in 顶级复刻 is still an absolute claim)
            best: Hit | None = None
            for h in hits:
                if best is not None and h.end <= best.end:
                    if best.group is None or h.group is None or best.group & h.group:
                        h.pruned_by = best.term
                else:
                    best = h
        by_lex: dict[int, list[Hit]] = {}
        any_lex: dict[int, list[Hit]] = {}
        one_seg = len(segs) == 1
        for h in hits:
            h.field = segs[0].name if one_seg else segs[bisect_right(starts, h.start) - 1].name
            live = h.pruned_by is None
            for lex in h.lex_ids:
                any_lex.setdefault(lex, []).append(h)
                if live:
                    by_lex.setdefault(lex, []).append(h)
        category = _cat_norm(listing.category) if listing.category else None
        return Prepared(listing, norm, segs, starts, hits, by_lex, any_lex, category)

    # ---------------------------------------------------------------- evaluation
    def in_scope(self, rule: Rule, category: str | None) -> bool:
        if category is None:
            return rule.unknown_category
        if any(category.startswith(c) for c in rule.exclude_categories):
            return False
        if rule.categories is None:
            return True
        return any(category.startswith(c) for c in rule.categories)

    def _matcher_hits(self, prep: Prepared, m: CompiledMatcher) -> list[Trigger]:
        out: list[Trigger] = []
        idx = 0
        if m.lexicon is not None:
            for h in prep.by_lexicon.get(m.lexicon, ()):
                if not _field_ok(h.field, m.fields):
                    continue
                entry = next((r.entry for r in h.refs if r.lexicon == m.lexicon), None)
                out.append(Trigger(h, entry, idx))
        elif m.regex is not None:
            if m.needs is not None and m.needs not in prep.any_by_lexicon:
                return out
            for seg in prep.fields:
                if not _field_ok(seg.name, m.fields):
                    continue
                for mt in m.regex.finditer(prep.norm.text, seg.norm_start, seg.norm_end):
                    if mt.end() > mt.start():
                        out.append(Trigger(Hit(mt.start(), mt.end(), mt.group(0), [], (), seg.name), None, idx))
        return out

    def _exclusion_reason(self, prep: Prepared, rule: Rule, trig: Trigger) -> str | None:
        h = trig.hit
        text = prep.norm.text
        seg = prep.field_of(h.start)
        entry = trig.entry
        if entry is not None:
            if entry.exclude:
                lex = self.catx_lexicon.get(entry.catalog)
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
                m = ex.before.search(text, max(seg.norm_start, h.start - 8), h.start)
                if m:
                    return f"{ex.label}「{m.group(0)}」"
                continue
            for x in prep.any_by_lexicon.get(ex.lexicon, ()):  # type: ignore[arg-type]
                if x is h or GIFT_RE.search(text, max(0, x.start - 6), x.start):
                    continue  # "送手套", "附赠试纸": a free gift does not change what the product is
                if ex.anywhere or (ex.in_fields is not None and _field_ok(x.field, ex.in_fields)):
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

    def evaluate(self, prep: Prepared, rule: Rule, full: bool = False) -> RuleResult:
        """Evaluate one rule. With `full`, keep going after the first decisive step (for explain)."""
        res = RuleResult(rule)
        if not self.in_scope(rule, prep.category):
            res.in_scope = False
            return res
        spec = rule.spec
        live: list[Trigger] = []
        for i, m in enumerate(rule.matchers):
            for t in self._matcher_hits(prep, m):
                t.matcher = i
                res.triggers.append(t)
                why = self._exclusion_reason(prep, rule, t)
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
                    if ex.anywhere or ex.in_fields is None or _field_ok(x.field, ex.in_fields):
                        res.blocked = f"{ex.label}「{x.term}」（{x.field}）"
                        return res
        for j, m in enumerate(rule.also):
            if not self._matcher_hits(prep, m):
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
            ok, ev, note = CHECK_FUNCS[spec.check](self, prep, live)
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
                        res.matched[key] = entry_label(t.entry)
                    if len(spans) >= 5:
                        break
            res.prep = prep
        res.fired = True
        return res

    def candidates(self, prep: Prepared) -> list[Rule]:
        """Rules worth evaluating: those whose terms were hit plus regex/check rules, in scope."""
        seen: set[int] = set()
        out: list[Rule] = []
        cat = prep.category
        lexicon_rules = self.lexicon_rules
        for lex in prep.by_lexicon:
            for r in lexicon_rules.get(lex, ()):
                if r.order not in seen:
                    seen.add(r.order)
                    out.append(r)
        out = [r for r in out if self.in_scope(r, cat)]
        always = self._always_cache.get(cat)
        if always is None:
            always = _remember(self._always_cache, cat, [r for r in self.always_rules if self.in_scope(r, cat)])
        for r in always:
            if r.order not in seen:
                out.append(r)
        out.sort(key=lambda r: r.order)
        return out

    def resolve(self, listing: Listing, results: list[RuleResult]) -> tuple[list[Finding], dict[str, str]]:
        """At most one finding per family: the most severe fired rule, first in book order on ties;
        then families suppressed by a more specific one are dropped."""
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
            res = best.get(fam)
            if res is None or fam in suppressed:
                continue
            spec = res.rule.spec
            findings.append(
                _construct(
                    Finding,
                    {
                        "platform": listing.platform,
                        "listing_id": listing.listing_id,
                        "family": fam,
                        "rule_id": spec.id,
                        "severity": spec.severity,
                        "evidence": list(res.get_evidence()),
                        "legal_basis": spec.legal_basis,
                        "title_zh": spec.title,
                    },
                )
            )
        return findings, suppressed

    def scan(self, listing: Listing) -> list[Finding]:
        prep = self.prepare(listing)
        results = [self.evaluate(prep, r) for r in self.candidates(prep)]
        if self.shop_rules:
            # shop checks depend on the shop's licence only: evaluate once per licence string
            shop = listing.shop
            key = (shop is None, shop.licence_no if shop is not None else None)
            cached = self._shop_cache.get(key)
            if cached is None:
                cached = _remember(
                    self._shop_cache,
                    key,
                    [r for r in (self.evaluate(prep, rule) for rule in self.shop_rules) if r.fired],
                )
            results.extend(cached)
        return self.resolve(listing, results)[0]

    def explain(self, listing: Listing) -> dict[str, Any]:
        prep = self.prepare(listing)
        results = [self.evaluate(prep, r, full=True) for r in self.rules]
        findings, suppressed = self.resolve(listing, results)
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
                    "matched": [self._trigger_dict(prep, t) for t in res.triggers],
                    "excluded": [{**self._trigger_dict(prep, t), "reason": w} for t, w in res.excluded],
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

    def _trigger_dict(self, prep: Prepared, t: Trigger) -> dict[str, Any]:
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


# -------------------------------------------------------------------- checks referenced by rules
@lru_cache(maxsize=4096)
def _key_has(k: str, keys: tuple[str, ...]) -> bool:
    low = k.lower()
    return any(key.lower() in low for key in keys)


def _attr_items(listing: Listing, keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """Attributes whose key contains one of `keys` (cached per key: sellers reuse a few dozen keys);
    shipping/shop/return addresses are never producer facts."""
    return [(k, v) for k, v in listing.attributes.items() if _key_has(k, keys) and not _key_has(k, NOT_PRODUCER_KEYS)]


def _check_uscc_invalid(engine: Engine, prep: Prepared, live: list[Trigger]):
    shop = prep.listing.shop
    if shop is None or blank(shop.licence_no):
        return False, [], "未公示执照号（由 licence_missing 处理）"
    code = shop.licence_no or ""
    problem = uscc_problem(code)
    if problem is None:
        return False, [], "统一社会信用代码校验通过"
    return True, [Evidence.model_construct(field="shop.licence_no", text=code, start=0, end=len(code))], problem


def _check_licence_missing(engine: Engine, prep: Prepared, live: list[Trigger]):
    shop: Shop | None = prep.listing.shop
    if shop is None:
        return False, [], "无店铺信息，无法判断"
    if not blank(shop.licence_no):
        return False, [], "已公示执照号"
    return (
        True,
        [Evidence.model_construct(field="shop.licence_no", text=shop.licence_no or "", start=0, end=0)],
        "店铺未公示营业执照号",
    )


def _check_food_sanwu(engine: Engine, prep: Prepared, live: list[Trigger]):
    listing = prep.listing
    attrs = listing.attributes
    desc = listing.description or ""
    imported = [(k, v) for k, v in _attr_items(listing, IMPORT_KEYS) if not blank(v)]
    if imported:
        # imported food carries 原产国 and the importer instead of an SC number (食品安全法 第九十七条)
        return False, [], f"进口食品（{imported[0][0]}：{imported[0][1]}），不适用SC编号要求"
    missing = []
    sc_ok = any(SC_RE.search(_SC_STRIP.sub("", v)) for v in attrs.values()) or bool(SC_RE.search(desc))
    if not sc_ok:
        missing.append("SC食品生产许可证编号")
    makers = [v for k, v in _attr_items(listing, MAKER_KEYS) if "地址" not in k]
    if not any(not blank(v) for v in makers) and not MAKER_TEXT_RE.search(desc):
        missing.append("厂名")
    if not any(not blank(v) for _, v in _attr_items(listing, ADDRESS_KEYS)) and not ADDRESS_TEXT_RE.search(desc):
        missing.append("厂址")
    if not missing:
        return False, [], "SC编号、厂名、厂址齐全"
    note = "缺少" + "、".join(missing)
    return True, [Evidence.model_construct(field="attributes", text=note, start=0, end=0)], note


_ADMIN_WORDS = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "回族",
    "藏族",
    "蒙古族",
    "维吾尔",
    "壮族",
    "中华人民共和国",
    "中国大陆",
    "中国",
    "大陆",
    "国产",
    "境内",
    "详见包装",
    "见包装",
    "产地直发",
    "原产地",
)
_ADMIN_CHARS = frozenset("省市县区州盟旗镇乡村")


def _residual_place(value: str, parents: list[str]) -> bool:
    """Whether `value` still names a place once the claim's parent regions and administrative words
    are removed ("西藏自治区拉萨市" says nothing against 尼木藏香; "宁夏银川市" does against 中宁枸杞)."""
    v = _norm_cached(value)
    for p in parents:
        v = v.replace(p, "")
    for w in _ADMIN_WORDS:
        v = v.replace(w, "")
    if any(p in v for p in PROVINCES):
        return True
    # an origin attribute is a place by definition: two or more remaining name characters (银川, 沙坡头)
    return sum(1 for c in v if "\u4e00" <= c <= "\u9fff" and c not in _ADMIN_CHARS) >= 2


def _check_gi_mismatch(engine: Engine, prep: Prepared, live: list[Trigger]):
    listing = prep.listing
    claims = [t for t in live if t.entry is not None and t.entry.regions and not t.hit.field.startswith("attributes.")]
    if not claims:
        return False, [], "无产地宣称"
    origin_attrs = [(k, v) for k, v in _attr_items(listing, ORIGIN_KEYS) if not blank(v)]
    addr_attrs = [(k, v) for k, v in _attr_items(listing, ADDRESS_KEYS) if not blank(v) and (k, v) not in origin_attrs]
    t = claims[0]
    entry = t.entry
    assert entry is not None
    regions = _norm_regions(entry)
    parents = [_norm_cached(p) for p in entry.parents]
    # the product's own origin decides; a producer address is only used when no origin is given
    for group in (origin_attrs, addr_attrs):
        if not group:
            continue
        agree = [(k, v) for k, v in group if any(r in _norm_cached(v) for r in regions)]
        if agree:
            return False, [], f"{agree[0][0]}「{agree[0][1]}」与宣称产地一致"
        against = [(k, v) for k, v in group if _residual_place(v, parents)]
        if not against and any(p in _norm_cached(v) for _, v in group for p in parents):
            return False, [], "只标到上级产区，与宣称不矛盾"
        if against:
            k, v = against[0]
            ev = [
                prep.evidence(t.hit.start, t.hit.end),
                Evidence.model_construct(field=f"attributes.{k}", text=v, start=0, end=len(v)),
            ]
            return True, ev, f"宣称「{entry.name}」（{'/'.join(entry.regions[:3])}），但{k}为「{v}」"
    return False, [], "未标明可比对的产地/厂址"


@lru_cache(maxsize=8192)
def _norm_cached(value: str) -> str:
    return norm_term(value)


def _norm_regions(entry: Entry) -> list[str]:
    return [_norm_cached(r) for r in entry.regions]


CHECK_FUNCS = {
    "uscc_invalid": _check_uscc_invalid,
    "licence_missing": _check_licence_missing,
    "food_sanwu": _check_food_sanwu,
    "gi_mismatch": _check_gi_mismatch,
}


def compile_engine(specs: list[tuple[RuleSpec, str, int]], catalogs: dict[str, Catalog]) -> Engine:
    """Build the automaton and compiled rules. Raises ValueError(rule index, message) for bad refs."""
    lexicon_names: list[str] = []
    lex_ids: dict[str, int] = {}
    term_refs: dict[str, list[Ref]] = {}
    cas_index: dict[str, list[Ref]] = {}

    def lexicon(name: str) -> tuple[int, bool]:
        if name in lex_ids:
            return lex_ids[name], False
        lex_ids[name] = len(lexicon_names)
        lexicon_names.append(name)
        return lex_ids[name], True

    case_forms: dict[str, str | None] = {}

    def add_term(term: str, ref: Ref, formula: bool = False) -> None:
        t = norm_term(term).strip()
        if not t:
            return
        form = unicodedata.normalize("NFKC", term).replace(" ", "") if formula else None
        if t in case_forms and case_forms[t] != form:
            form = None
        case_forms[t] = form
        refs = term_refs.setdefault(t, [])
        if not any(r.lexicon == ref.lexicon and r.entry is ref.entry for r in refs):
            refs.append(ref)

    catalog_lexicon: dict[str, int] = {}
    catx_lexicon: dict[str, int] = {}

    def catalog_lex(name: str) -> int:
        lid, new = lexicon(f"catalog:{name}")
        if new:
            cat = catalogs[name]
            catalog_lexicon[name] = lid
            xid, _ = lexicon(f"catalog-exclude:{name}")
            catx_lexicon[name] = xid
            for e in cat.entries:
                ref = Ref(lid, e)
                for t in e.terms:
                    add_term(t, ref, formula=t in e.formulas)
                if e.cas:
                    cas_index.setdefault(e.cas, []).append(ref)
                for x in e.exclude:
                    add_term(x, Ref(xid, e))
        return lid

    # shadows and ordinary-usage lists only take part in longest-match pruning
    for name in ("shadows", "absolute_ordinary"):
        if name in catalogs:
            catalog_lex(name)

    rules: list[Rule] = []
    lexicon_rules: dict[int, list[Rule]] = {}
    always: list[Rule] = []
    wanted: set[str] = {"title"}

    def compile_matcher(m: Matcher, where: str) -> CompiledMatcher:
        lid = None
        rx = None
        if m.catalog is not None:
            if m.catalog not in catalogs:
                raise ValueError(f"{where}: 未知目录 {m.catalog!r}；可用: {', '.join(sorted(catalogs))}")
            lid = catalog_lex(m.catalog)
        elif m.terms is not None:
            lid, _ = lexicon(f"{where}")
            for t in m.terms:
                add_term(t, Ref(lid))
        else:
            rx = re.compile(m.regex or "")
        needs = None
        if m.needs:
            needs, _ = lexicon(f"{where}:needs")
            for t in m.needs:
                add_term(t, Ref(needs))
        wanted.update("attributes" if f.startswith("attributes") else f for f in m.fields)
        return CompiledMatcher(m, lid, rx, tuple(m.fields), needs)

    for order, (spec, file, line) in enumerate(specs):
        matchers = [compile_matcher(m, f"{spec.id}:match[{i}]") for i, m in enumerate(spec.match)]
        also = [compile_matcher(m, f"{spec.id}:also[{i}]") for i, m in enumerate(spec.also)]
        exclusions = []
        for i, x in enumerate(spec.exclude):
            if x.negation:
                exclusions.append(CompiledExclusion(None, None, False, True, "否定"))
                continue
            if x.before is not None:
                words = sorted((norm_term(w) for w in x.before if norm_term(w)), key=len, reverse=True)
                pattern = re.compile("(?:" + "|".join(re.escape(w) for w in words) + r")[:：]?\s*$")
                exclusions.append(CompiledExclusion(None, None, False, False, x.reason or "前置语境", before=pattern))
                continue
            if x.catalog is not None:
                if x.catalog not in catalogs:
                    raise ValueError(f"{spec.id}:exclude[{i}]: 未知目录 {x.catalog!r}")
                lid = catalog_lex(x.catalog)
            else:
                lid, _ = lexicon(f"{spec.id}:exclude[{i}]")
                for t in x.terms or []:
                    add_term(t, Ref(lid))
            exclusions.append(
                CompiledExclusion(
                    lid,
                    x.within,
                    x.anywhere,
                    False,
                    x.reason or "排除语境",
                    tuple(x.in_fields) if x.in_fields is not None else None,
                )
            )
        scope = spec.scope
        if scope == "any":
            cats, xcats, unknown = None, (), True
        else:
            cats = None if scope.categories == "any" else tuple(_cat_norm(c) for c in scope.categories)
            xcats = tuple(_cat_norm(c) for c in scope.exclude_categories)
            unknown = scope.unknown_category
        rule = Rule(spec, order, file, line, matchers, also, exclusions, cats, xcats, unknown)
        if not spec.enabled:
            continue
        rules.append(rule)
        if spec.check in ("uscc_invalid", "licence_missing", "food_sanwu") or any(
            m.regex is not None and m.needs is None for m in matchers
        ):
            always.append(rule)
        for m in matchers:
            if m.lexicon is not None:
                lexicon_rules.setdefault(m.lexicon, []).append(rule)
            if m.needs is not None:
                lexicon_rules.setdefault(m.needs, []).append(rule)
        if spec.check == "food_sanwu":
            wanted.update({"attributes", "description"})

    # pruning groups: which families' rules trigger on each lexicon (all chem.* count as one)
    lex_groups: dict[int, set[str]] = {}
    for rule in rules:
        fam = rule.spec.family
        grp = "chem" if fam.startswith("chem.") else fam
        for m in rule.matchers:
            if m.lexicon is not None:
                lex_groups.setdefault(m.lexicon, set()).add(grp)

    def term_group(refs: list[Ref]) -> frozenset[str] | None:
        groups: set[str] = set()
        for r in refs:
            g = lex_groups.get(r.lexicon)
            if g is None:
                return None
            groups |= g
        return frozenset(groups)

    automaton = None
    if term_refs:
        automaton = ahocorasick.Automaton()
        for t, refs in term_refs.items():
            edges = (1 if t[0].isascii() and t[0].isalnum() else 0) | (2 if t[-1].isascii() and t[-1].isalnum() else 0)
            lex_ids = tuple(dict.fromkeys(r.lexicon for r in refs))
            automaton.add_word(t, (t, refs, lex_ids, edges, case_forms.get(t), term_group(refs)))
        automaton.make_automaton()
    engine = Engine(
        rules,
        catalogs,
        lexicon_names,
        automaton,
        cas_index,
        lexicon_rules,
        always,
        wanted,
        catalog_lexicon,
        catx_lexicon,
    )
    engine.cas_group = frozenset({"chem"})
    return engine
