"""`sweep rules lint`: problems a loader cannot see because the book is still loadable.

Load errors (schema, duplicate ids, unknown catalogs, bad CAS) are reported as errors. On a loadable
book we also look for exclusions that can never take effect:
  * an exclusion term that normalises to nothing or to one of the rule's own trigger terms (it would
    cancel every match, so the rule could never fire on that term);
  * an `in_fields` exclusion on fields the listing never has;
  * exclusions that no inline example exercises (a warning: untested context is how false negatives
    creep in unnoticed);
  * catalog entries that can never match (no usable name, no CAS number) unless their note says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rules.book import Rulebook, load_rulebook
from rules.catalog import Catalog
from rules.errors import RulebookError
from rules.normalize import norm_term


@dataclass
class Problem:
    level: str  # "error" | "warning"
    where: str
    rule_id: str | None
    message: str


def lint(path: Path | str | None = None) -> list[Problem]:
    try:
        book = load_rulebook(path)
    except RulebookError as exc:
        return [Problem("error", f"{exc.file}:{exc.line or ''}", None, exc.message)]
    return lint_book(book)


def lint_book(book: Rulebook) -> list[Problem]:
    problems: list[Problem] = []
    engine = book.engine
    for rule in book.rules:
        where = f"{Path(rule.file).name}:{rule.line}"
        spec = rule.spec
        trigger_terms: set[str] = set()
        for m in spec.match:
            if m.terms:
                trigger_terms.update(norm_term(t) for t in m.terms)
            if m.catalog:
                for e in engine.catalogs[m.catalog].entries:
                    trigger_terms.update(norm_term(t) for t in e.terms)
        for i, x in enumerate(spec.exclude):
            for t in x.terms or []:
                n = norm_term(t).strip()
                if not n:
                    problems.append(Problem("error", where, spec.id, f"exclude[{i}] 词条 {t!r} 归一化后为空"))
                elif n in trigger_terms:
                    problems.append(
                        Problem("error", where, spec.id, f"exclude[{i}] 词条 {t!r} 与命中词相同，规则对它永远不会命中")
                    )
        if spec.check is None and not spec.match:
            problems.append(Problem("error", where, spec.id, "规则既无 match 也无 check，永远不会命中"))
        if not spec.examples.match:
            problems.append(Problem("warning", where, spec.id, "没有应命中的样例"))
        if spec.exclude and not spec.examples.no_match:
            problems.append(Problem("warning", where, spec.id, "有排除条件但没有不应命中的样例"))
        # which exclusions do the examples exercise?
        used: set[int] = set()
        for ex_i, ex in enumerate(spec.examples.no_match):
            listing = book.example_listing(rule, ex, f"lint#{ex_i}")
            prep = engine.prepare(listing)
            res = engine.evaluate(prep, rule, full=True)
            pruners = {h.pruned_by for h in prep.hits if h.pruned_by}
            for k, cx in enumerate(rule.exclusions):
                # an exclusion term containing the trigger (治疗期间 ⊃ 治疗) works by longest match
                if cx.lexicon is not None and any(x.term in pruners for x in prep.any_by_lexicon.get(cx.lexicon, ())):
                    used.add(k)
            reasons = [why for _, why in res.excluded] + ([res.blocked] if res.blocked else [])
            for why in reasons:
                for k, cx in enumerate(rule.exclusions):
                    if (cx.negation and why.startswith("否定")) or (not cx.negation and why.startswith(cx.label)):
                        used.add(k)
        for k, _cx in enumerate(rule.exclusions):
            if k not in used:
                problems.append(
                    Problem("warning", where, spec.id, f"exclude[{k}] 未被任何不应命中的样例触发（未经测试的排除条件）")
                )
    for name, cat in book.catalogs.items():
        if not cat.entries:
            problems.append(Problem("warning", str(cat.path.name), None, f"目录 {name} 为空"))
        problems.extend(unmatchable_entries(cat))
    problems.extend(orphan_evasions(book.catalogs))
    return problems


def orphan_evasions(catalogs: dict[str, Catalog]) -> list[Problem]:
    """Curated evasive spellings whose `stands_for` is no term of any catalog: they would never match."""
    ev = catalogs.get("evasions")
    if ev is None:
        return []
    terms = {t for name, c in catalogs.items() if name != "evasions" for e in c.entries for t in e.terms}
    return [
        Problem(
            "warning",
            f"{ev.path.name}:{e.line}",
            None,
            f"写法「{e.name}」对应的「{e.stands_for}」不在任何目录中，永远不会命中",
        )
        for e in ev.entries
        if e.stands_for not in terms
    ]


UNMATCHED_NOTE = "不匹配："
"""A catalog note starting with this says why an entry deliberately has no match terms (汽油, 冰片)."""


def unmatchable_entries(cat: Catalog) -> list[Problem]:
    """Entries that can never match: no term survives normalisation and there is no CAS number. A bigger
    catalog is generated, so an entry can silently lose its only name (a one-character element name, a
    bracket qualifier, a name another entry already owns); deliberate cases say so in their note."""
    out = []
    for e in cat.entries:
        if e.cas or any(norm_term(t).strip() for t in e.terms):
            continue
        if e.note and e.note.startswith(UNMATCHED_NOTE):
            continue
        out.append(
            Problem(
                "warning",
                f"{cat.path.name}:{e.line}",
                None,
                f"目录条目「{e.name}」没有可匹配的名称或CAS号，永远不会命中",
            )
        )
    return out
