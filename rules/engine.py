"""The rulebook engine: listing -> findings, as a pure function.

The work is split by job: `rules.compiler` builds the rules and the term automaton at load time,
`rules.matching` normalises a listing and finds every term in it, `rules.evaluation` decides which
rules fire and keeps one finding per family, `rules.checks` holds the non-keyword checks and
`rules.explain` reports on every rule. This module ties them together for the hot path: evaluate only
the rules whose terms were hit, plus the few regex/check rules, and cache what depends on crawled
values that repeat (a category's always-on rules, a licence string's shop checks) in bounded caches.
"""

from __future__ import annotations

from typing import Any, TypeVar

from rules.catalog import Catalog
from rules.compiler import CompiledBook, Rule, compile_rules, in_scope
from rules.evaluation import RuleResult, evaluate, evaluate_in_scope, resolve
from rules.explain import explain
from rules.matching import Prepared
from rules.schema import RuleSpec
from sweep.models import Finding, Listing

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


SHOP_CHECKS = ("uscc_invalid", "licence_missing")


class Scope:
    """The rules that apply to listings of one category: the candidates `Engine.candidates` picks from.
    Shared by every category with the same applicable rules (most categories share a handful)."""

    def __init__(self, rules: list[Rule], lexicon_rules: dict[int, list[Rule]], always: list[Rule]) -> None:
        self.rules = rules  # in book order
        self.lexicon_rules = lexicon_rules  # lexicon -> applicable rules one of whose matchers uses it
        self.always = always  # applicable rules to evaluate whatever was hit (shop checks excepted)


class Engine:
    """A compiled book plus the per-engine caches; built by `rules.loader`, immutable afterwards
    (apart from the caches, which never change an answer)."""

    def __init__(self, book: CompiledBook) -> None:
        self.book = book
        self.rules = book.rules
        self.catalogs: dict[str, Catalog] = book.catalogs
        self.matcher = book.matcher
        # unscoped licence checks without exclusions: cached per licence string in scan()
        self.shop_rules = [
            r for r in book.rules if r.spec.check in SHOP_CHECKS and r.spec.scope == "any" and not r.exclusions
        ]
        shop_ids = {r.order for r in self.shop_rules}
        self.always_rules = [r for r in book.always_rules if r.order not in shop_ids]
        self._scope_cache: dict[str | None, Scope] = {}  # category -> its Scope
        self._scopes: dict[tuple[int, ...], Scope] = {}  # applicable rule orders -> Scope
        self._shop_cache: dict[tuple[bool, str | None], list[RuleResult]] = {}

    def prepare(self, listing: Listing) -> Prepared:
        return self.matcher.prepare(listing)

    def evaluate(self, prep: Prepared, rule: Rule, full: bool = False) -> RuleResult:
        return evaluate(self.book, prep, rule, full)

    def scope(self, category: str | None) -> Scope:
        """The rules that apply to a (normalised) category, cached per category."""
        scope = self._scope_cache.get(category)
        if scope is not None:
            return scope
        rules = [r for r in self.rules if in_scope(r, category)]
        key = tuple(r.order for r in rules)
        scope = self._scopes.get(key)
        if scope is None:
            applicable = set(key)
            lexicon_rules: dict[int, list[Rule]] = {}
            for lex, lex_rules in self.book.lexicon_rules.items():
                kept = [r for r in lex_rules if r.order in applicable]
                if kept:
                    lexicon_rules[lex] = kept
            always = [r for r in self.always_rules if r.order in applicable]
            scope = _remember(self._scopes, key, Scope(rules, lexicon_rules, always))
        return _remember(self._scope_cache, category, scope)

    def candidates(self, prep: Prepared) -> list[Rule]:
        """Rules worth evaluating: those whose terms were hit plus regex/check rules, in scope, in book
        order."""
        scope = self.scope(prep.category)
        lexicon_rules = scope.lexicon_rules
        picked: set[int] = set()
        for lex in prep.by_lexicon:
            lex_rules = lexicon_rules.get(lex)
            if lex_rules is not None:
                for r in lex_rules:
                    picked.add(r.order)
        for r in scope.always:
            picked.add(r.order)
        if not picked:
            return []
        return [r for r in scope.rules if r.order in picked]

    def scan(self, listing: Listing, version: str | None = None) -> list[Finding]:
        """Findings for one listing; `version` (a book's `rulebook_version`) is stamped on each."""
        prep = self.matcher.prepare(listing)
        book = self.book
        results = [evaluate_in_scope(book, prep, r) for r in self.candidates(prep)]
        if self.shop_rules:
            # shop checks depend on the shop's licence only: evaluate once per licence string
            shop = listing.shop
            key = (shop is None, shop.licence_no if shop is not None else None)
            cached = self._shop_cache.get(key)
            if cached is None:
                cached = _remember(
                    self._shop_cache,
                    key,
                    [r for r in (evaluate(book, prep, rule) for rule in self.shop_rules) if r.fired],
                )
            results.extend(cached)
        return resolve(listing, results, version)[0]

    def explain(self, listing: Listing) -> dict[str, Any]:
        return explain(self.book, listing)


def compile_engine(specs: list[tuple[RuleSpec, str, int]], catalogs: dict[str, Catalog]) -> Engine:
    """Compile a book into an engine. Raises ValueError(rule index, message) for bad refs."""
    return Engine(compile_rules(specs, catalogs))
