"""The rule compiler: validated rule specs + catalogs -> compiled rules and one term automaton.

All terms of all rules and catalogs go into one Aho-Corasick automaton; each term remembers which
lexicons (catalogs, inline term lists) it belongs to, so a listing is scanned once whatever the size of
the book. Rules are indexed by the lexicons that can trigger them, so only rules whose terms were hit
are evaluated (plus the few regex/check rules that must always run).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rules.catalog import Catalog
from rules.matching import Automaton, Ref, TermMatcher, category_norm
from rules.normalize import norm_term
from rules.pinyin import MODES, SoundIndex
from rules.schema import Matcher, RuleSpec

ALWAYS_CHECKS = ("uscc_invalid", "licence_missing", "food_sanwu")
"""Checks that need no term hit: their rules are evaluated on every listing in scope."""

EVASIONS_CATALOG = "evasions"
"""Curated spellings of listed names seen on listings (丙同, 氰化纳); each row names the term it stands for
and matches wherever that term does."""

CONTEXT_CATALOG = "sale_context"
"""Sale and chemical-grade words (现货, 出售, 工业级, 分析纯): the context in which names written in pinyin or
with same-sounding characters count (`rules.pinyin`)."""


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
class CompiledBook:
    """Everything the evaluation needs, built once at load time and never changed afterwards."""

    rules: list[Rule]
    catalogs: dict[str, Catalog]
    lexicon_names: list[str]
    matcher: TermMatcher
    lexicon_rules: dict[int, list[Rule]]  # lexicon -> rules one of whose matchers uses it
    always_rules: list[Rule]  # rules to evaluate whatever was hit
    catalog_lexicon: dict[str, int]
    catx_lexicon: dict[str, int]  # catalog -> lexicon of its per-entry exclusion words


def in_scope(rule: Rule, category: str | None) -> bool:
    """Whether a rule applies to a listing of this (normalised) category."""
    if category is None:
        return rule.unknown_category
    if any(category.startswith(c) for c in rule.exclude_categories):
        return False
    if rule.categories is None:
        return True
    return any(category.startswith(c) for c in rule.categories)


class _Lexicons:
    """Term -> refs table under construction (one per book)."""

    def __init__(self, catalogs: dict[str, Catalog]) -> None:
        self.catalogs = catalogs
        self.names: list[str] = []
        self.ids: dict[str, int] = {}
        self.term_refs: dict[str, list[Ref]] = {}
        self.cas_index: dict[str, list[Ref]] = {}
        self.case_forms: dict[str, str | None] = {}
        self.catalog_lexicon: dict[str, int] = {}
        self.catx_lexicon: dict[str, int] = {}
        # curated spellings sellers use for a listed name (丙同 for 丙酮): name -> spellings
        self.evasions: dict[str, list[str]] = {}
        for e in catalogs[EVASIONS_CATALOG].entries if EVASIONS_CATALOG in catalogs else ():
            if e.stands_for:
                self.evasions.setdefault(e.stands_for, []).extend(e.terms)

    def lexicon(self, name: str) -> tuple[int, bool]:
        if name in self.ids:
            return self.ids[name], False
        self.ids[name] = len(self.names)
        self.names.append(name)
        return self.ids[name], True

    def add_term(self, term: str, ref: Ref, formula: bool = False) -> None:
        t = norm_term(term).strip()
        if not t:
            return
        form = unicodedata.normalize("NFKC", term).replace(" ", "") if formula else None
        if t in self.case_forms and self.case_forms[t] != form:
            form = None
        self.case_forms[t] = form
        refs = self.term_refs.setdefault(t, [])
        if not any(r.lexicon == ref.lexicon and r.entry is ref.entry for r in refs):
            refs.append(ref)

    def catalog(self, name: str) -> int:
        lid, new = self.lexicon(f"catalog:{name}")
        if new:
            cat = self.catalogs[name]
            self.catalog_lexicon[name] = lid
            xid, _ = self.lexicon(f"catalog-exclude:{name}")
            self.catx_lexicon[name] = xid
            evasions = self.evasions if name != EVASIONS_CATALOG else {}
            for e in cat.entries:
                ref = Ref(lid, e)
                for t in e.terms:
                    self.add_term(t, ref, formula=t in e.formulas)
                    for spelling in evasions.get(t, ()):
                        self.add_term(spelling, ref)
                if e.cas:
                    self.cas_index.setdefault(e.cas, []).append(ref)
                for x in e.exclude:
                    self.add_term(x, Ref(xid, e))
        return lid


def compile_rules(specs: list[tuple[RuleSpec, str, int]], catalogs: dict[str, Catalog]) -> CompiledBook:
    """Build the automaton and compiled rules. Raises ValueError(rule index, message) for bad refs."""
    lx = _Lexicons(catalogs)
    # shadows and ordinary-usage lists only take part in longest-match pruning
    for name in ("shadows", "absolute_ordinary"):
        if name in catalogs:
            lx.catalog(name)
    # sale and chemical-grade context words gate names found by their sound (rules.pinyin)
    context = lx.catalog(CONTEXT_CATALOG) if CONTEXT_CATALOG in catalogs else None

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
            lid = lx.catalog(m.catalog)
        elif m.terms is not None:
            lid, _ = lx.lexicon(f"{where}")
            for t in m.terms:
                lx.add_term(t, Ref(lid))
        else:
            rx = re.compile(m.regex or "")
        needs = None
        if m.needs:
            needs, _ = lx.lexicon(f"{where}:needs")
            for t in m.needs:
                lx.add_term(t, Ref(needs))
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
                # the word, then any earlier items of the same list (成分：乙酸乙酯、乙酸丁酯、硝化纤维素)
                pattern = re.compile(
                    "(?:"
                    + "|".join(re.escape(w) for w in words)
                    + r")[:：]?\s*(?:[^\s，。；;：:、,]{1,12}\s*[、/]\s*){0,5}$"
                )
                exclusions.append(CompiledExclusion(None, None, False, False, x.reason or "前置语境", before=pattern))
                continue
            if x.catalog is not None:
                if x.catalog not in catalogs:
                    raise ValueError(f"{spec.id}:exclude[{i}]: 未知目录 {x.catalog!r}")
                lid = lx.catalog(x.catalog)
            else:
                lid, _ = lx.lexicon(f"{spec.id}:exclude[{i}]")
                for t in x.terms or []:
                    lx.add_term(t, Ref(lid))
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
        xcats: tuple[str, ...]
        if scope == "any":
            cats, xcats, unknown = None, (), True
        else:
            cats = None if scope.categories == "any" else tuple(category_norm(c) for c in scope.categories)
            xcats = tuple(category_norm(c) for c in scope.exclude_categories)
            unknown = scope.unknown_category
        rule = Rule(spec, order, file, line, matchers, also, exclusions, cats, xcats, unknown)
        if not spec.enabled:
            continue
        rules.append(rule)
        if spec.check in ALWAYS_CHECKS or any(m.regex is not None and m.needs is None for m in matchers):
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
    if context is not None:
        lex_groups[context] = {"context"}  # context words neither prune nor are pruned
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
    values: dict[str, tuple] = {}
    for t, refs in lx.term_refs.items():
        edges = (1 if t[0].isascii() and t[0].isalnum() else 0) | (2 if t[-1].isascii() and t[-1].isalnum() else 0)
        lex_ids = tuple(dict.fromkeys(r.lexicon for r in refs))
        values[t] = (t, refs, lex_ids, edges, lx.case_forms.get(t), term_group(refs))
    if values:
        # ahocorasick_rs: a Rust automaton reporting (pattern index, start, end) in str offsets, ~8x faster per
        # listing than walking pyahocorasick's fail chains over ~12,000 terms
        automaton = Automaton(list(values.values()))
    sound = None
    if context is not None:
        gated = [
            (t, mode, values[t])
            for name, mode in MODES.items()
            if name in lx.catalog_lexicon
            for e in catalogs[name].entries
            for t in dict.fromkeys(norm_term(x).strip() for x in e.terms)
            if t in values
        ]
        sound = SoundIndex(gated) if gated else None
    return CompiledBook(
        rules=rules,
        catalogs=catalogs,
        lexicon_names=lx.names,
        matcher=TermMatcher(automaton, lx.cas_index, wanted, sound, context),
        lexicon_rules=lexicon_rules,
        always_rules=always,
        catalog_lexicon=lx.catalog_lexicon,
        catx_lexicon=lx.catx_lexicon,
    )
