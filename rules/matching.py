"""Preparation and matching: one listing -> a normalised text and the dictionary hits in it.

Per listing: join the fields the rules look at into one string (separated by NUL), normalise it once,
run one Aho-Corasick automaton over it (all terms of all rules and catalogs; ahocorasick_rs), find CAS numbers with one
regex, and drop matches that lie inside a longer match (so 硝酸 inside 硝酸铵钙 or 第一 inside 第一次 do
not count). Everything that can be prepared is prepared at load time (`rules.compiler`); this module
only runs it. What the hits mean for a rule is `rules.evaluation`'s business.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

import ahocorasick_rs

from rules.catalog import Entry
from rules.normalize import Normalized, find_cas, norm_term, normalize
from rules.pinyin import SoundIndex
from sweep.models import Evidence, Listing

SEP = "\x00"
"""Field separator in the joined text; normalisation keeps it one-to-one, so fields stay apart."""


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
    via: str | None = None  # 拼音 / 谐音: found by its sound (rules.pinyin), not as written


@dataclass(slots=True)
class Trigger:
    """A hit as one matcher of one rule sees it (with the catalog entry of that matcher's lexicon)."""

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
        """Evidence for a normalised span, pointing at the text the seller wrote."""
        seg = self.field_of(hit_start)
        o_start, o_end = self.norm.orig_span(hit_start, hit_end)
        s, e = o_start - seg.orig_start, o_end - seg.orig_start
        # validated construction: pydantic-core checks these few scalars faster than `model_construct`'s
        # Python loop over the fields fills them in (0.9 µs against 1.8 µs per span, measured)
        return Evidence(field=seg.name, text=seg.text[s:e], start=s, end=e, matched=matched)


_ATTR_FIELDS: dict[str, str] = {}
"""Field names of attribute keys ("attributes.产地"): few distinct keys, looked up for every attribute of
every listing. A plain dict, because an `lru_cache` call costs more than building the string; emptied
when full, as its keys come from crawled pages."""


def _attr_field(key: str) -> str:
    name = _ATTR_FIELDS.get(key)
    if name is None:
        if len(_ATTR_FIELDS) >= 8192:
            _ATTR_FIELDS.clear()
        name = _ATTR_FIELDS[key] = f"attributes.{key}"
    return name


_CATEGORY_NORMS: dict[str, str] = {}


def category_norm(value: str) -> str:
    """A category (crawled or from a rule's scope) as scope comparisons see it; remembered per string in a
    plain dict (emptied when full: categories come from crawled pages)."""
    norm = _CATEGORY_NORMS.get(value)
    if norm is None:
        if len(_CATEGORY_NORMS) >= 4096:
            _CATEGORY_NORMS.clear()
        norm = _CATEGORY_NORMS[value] = norm_term(value).strip()
    return norm


AutomatonValue = tuple[str, list[Ref], tuple[int, ...], int, str | None, frozenset[str] | None]
"""What the automaton stores per term: (term, refs, lexicon ids, ASCII-edge flags, case-sensitive form
for formulas, pruning group)."""


class Automaton:
    """All dictionary terms in one Aho-Corasick automaton; `values[i]` is what pattern i stands for:
    (term, refs, lexicon ids, ASCII-edge flags, case-sensitive form, pruning group)."""

    def __init__(self, values: list[AutomatonValue]) -> None:
        self.values = values
        self._ac = ahocorasick_rs.AhoCorasick([v[0] for v in values])

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """Every occurrence, overlapping ones included, as (pattern index, start, end)."""
        return self._ac.find_matches_as_indexes(text, overlapping=True)

    def __len__(self) -> int:
        return len(self.values)


class TermMatcher:
    """Finds every dictionary term and catalog CAS number in a listing's watched fields."""

    def __init__(
        self,
        automaton: Automaton | None,
        cas_index: dict[str, list[Ref]],
        wanted_fields: set[str],
        sound: SoundIndex | None = None,
        context_lexicon: int | None = None,
    ) -> None:
        self.automaton = automaton
        self.sound = sound
        self.context_lexicon = context_lexicon
        self.cas_index = cas_index
        self.wanted_fields = wanted_fields
        self.want_attributes = any(f.startswith("attributes") for f in wanted_fields)
        # one flag per optional field, decided once: `_segments` runs for every listing
        self.want_description = "description" in wanted_fields
        self.want_category = "category" in wanted_fields
        self.want_unit = "unit" in wanted_fields
        self.want_shop_name = "shop.name" in wanted_fields
        self.want_shop_company = "shop.licence_company" in wanted_fields
        self.other_fields = bool(wanted_fields & {"category", "unit", "shop.name", "shop.licence_company"})
        self.cas_group: frozenset[str] | None = frozenset({"chem"})

    def _segments(self, listing: Listing) -> tuple[list[FieldSeg], str]:
        segs: list[FieldSeg] = []
        parts: list[str] = []
        pos = 0
        title: str = listing.title
        if title:
            if SEP in title:
                title = title.replace(SEP, " ")
            segs.append(FieldSeg("title", title, 0))
            parts.append(title)
            pos = len(title) + 1
        extra: list[tuple[str, str | None]] = []
        if self.want_description:
            extra.append(("description", listing.description))
        if self.want_attributes:
            attributes: dict[str, str] | None = listing.attributes
            if attributes:
                for k, v in attributes.items():
                    extra.append((_attr_field(k), v))
        if self.other_fields:
            if self.want_category:
                extra.append(("category", listing.category))
            if self.want_unit:
                extra.append(("unit", listing.unit))
            shop = listing.shop
            if shop is not None:
                if self.want_shop_name:
                    extra.append(("shop.name", shop.name))
                if self.want_shop_company:
                    extra.append(("shop.licence_company", shop.licence_company))
        for name, text in extra:
            if not text:
                continue
            if SEP in text:
                text = text.replace(SEP, " ")
            segs.append(FieldSeg(name, text, pos))
            parts.append(text)
            pos += len(text) + 1
        return segs, SEP.join(parts)

    def prepare(self, listing: Listing) -> Prepared:
        segs, blob = self._segments(listing)
        norm = normalize(blob)
        text = norm.text
        # segment boundaries in normalised text: separators survive normalisation one-to-one
        starts: list[int] = []
        p = 0
        for seg, part in zip(segs, text.split(SEP), strict=False):  # no fields: no segments, one empty part
            starts.append(p)
            seg.norm_start = p
            p += len(part)
            seg.norm_end = p
            p += 1
        if not segs:
            segs.append(FieldSeg("title", "", 0))
            starts.append(0)

        hits = self.find_hits(norm)
        by_lex: dict[int, list[Hit]] = {}
        any_lex: dict[int, list[Hit]] = {}
        # hits come sorted by start: walk the segments alongside instead of a bisection per hit
        i, last = 0, len(segs) - 1
        for h in hits:
            while i < last and starts[i + 1] <= h.start:
                i += 1
            h.field = segs[i].name
            live = h.pruned_by is None
            for lex in h.lex_ids:
                found = any_lex.get(lex)
                if found is None:
                    any_lex[lex] = [h]
                else:
                    found.append(h)
                if live:
                    found = by_lex.get(lex)
                    if found is None:
                        by_lex[lex] = [h]
                    else:
                        found.append(h)
        raw_category: str | None = listing.category
        category = category_norm(raw_category) if raw_category else None
        return Prepared(listing, norm, segs, starts, hits, by_lex, any_lex, category)

    def find_hits(self, norm: Normalized) -> list[Hit]:
        """Dictionary and CAS hits in a normalised text, sorted, with contained hits marked pruned."""
        text = norm.text
        hits: list[Hit] = []
        if self.automaton is not None and text:
            values = self.automaton.values
            for idx, start, end in self.automaton.find(text):
                term, refs, lex_ids, ascii_edges, case_form, group = values[idx]
                if ascii_edges:
                    if ascii_edges & 1 and start > 0 and text[start - 1].isascii() and text[start - 1].isalnum():
                        continue
                    if ascii_edges & 2 and end < len(text) and text[end].isascii() and text[end].isalnum():
                        continue
                if case_form is not None:
                    # chemical formulas are case-sensitive: Mg is magnesium, mg is milligrams
                    o_s, o_e = norm.orig_span(start, end)
                    if unicodedata.normalize("NFKC", norm.original[o_s:o_e]).replace(" ", "") != case_form:
                        continue
                hits.append(Hit(start, end, term, refs, lex_ids, group=group))
        ctx = self.context_lexicon
        sound = self.sound
        if sound is not None and ctx is not None and any(ctx in h.lex_ids for h in hits):
            # names written by sound only count in a sale or chemical-grade context (rules.pinyin)
            covered = [(h.start, h.end) for h in hits]
            for sh in sound.find(text, covered):
                if sh.via == "谐音":
                    # a same-sounding character only counts in a word written as one: 醋酸 工业级 is not 醋酸汞
                    o_s, o_e = norm.orig_span(sh.start, sh.end)
                    if o_e - o_s != sh.end - sh.start:
                        continue
                term, refs, lex_ids, _edges, _case, group = sh.value
                hits.append(Hit(sh.start, sh.end, text[sh.start : sh.end], refs, lex_ids, group=group, via=sh.via))
        if self.cas_index:
            for s, e, cas in find_cas(text):
                cas_refs = self.cas_index.get(cas)
                if cas_refs:
                    hits.append(Hit(s, e, cas, cas_refs, tuple({r.lexicon for r in cas_refs}), group=self.cas_group))
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
        return hits
