"""Backtests and rulebook diffs: the numbers analysts tune against.

A backtest scans labelled listings and compares predicted families with the labels per family
(precision, recall, F1), lists the mistaken listings, and builds a confusion table (for each true
family, which families were predicted on the same listings). A diff scans one corpus with two books and
reports findings added and removed by the change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from rules.book import Rulebook
from sweep.models import FAMILIES, Listing


@dataclass
class FamilyScore:
    family: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    support: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Mistake:
    platform: str
    listing_id: str
    family: str
    kind: str  # "fp" | "fn"
    title: str
    rule_id: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BacktestReport:
    n_listings: int
    scores: dict[str, FamilyScore]
    mistakes: list[Mistake]
    confusion: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "listings": self.n_listings,
            "families": {
                f: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "tp": s.tp,
                    "fp": s.fp,
                    "fn": s.fn,
                    "support": s.support,
                }
                for f, s in self.scores.items()
            },
            "micro": self.micro(),
            "confusion": self.confusion,
            "mistakes": [m.__dict__ for m in self.mistakes],
        }

    def micro(self) -> dict[str, float]:
        tp = sum(s.tp for s in self.scores.values())
        fp = sum(s.fp for s in self.scores.values())
        fn = sum(s.fn for s in self.scores.values())
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


class BadJsonLine(ValueError):
    """A line of a JSON-lines file that is not a JSON object; the message names file:line."""


def iter_jsonl(path: Path | str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON-lines file; a line that is not one raises `BadJsonLine` naming its
    file and line (the message quotes no input, which may be hostile crawled text)."""
    with Path(path).open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BadJsonLine(f"{path}:{lineno}: not valid JSON ({exc})") from None
            if not isinstance(doc, dict):
                raise BadJsonLine(f"{path}:{lineno}: expected a JSON object, got {type(doc).__name__}")
            yield doc


def labelled_rows(path: Path | str, truth: Path | str | None = None) -> Iterator[tuple[Listing, set[str]]]:
    """(listing, true families) from a labelled JSONL (listing + "families"), or from a listings file
    plus a truth file of {platform, listing_id, families}."""
    labels: dict[tuple[str, str], set[str]] | None = None
    if truth is not None:
        labels = {(r["platform"], r["listing_id"]): set(r.get("families") or []) for r in iter_jsonl(truth)}
    for row in iter_jsonl(path):
        fams = row.pop("families", None)
        listing = Listing.model_validate(row)
        if labels is not None:
            fams = labels.get((listing.platform, listing.listing_id), set())
        yield listing, set(fams or [])


def backtest(book: Rulebook, rows: Iterable[tuple[Listing, set[str]]]) -> BacktestReport:
    scores = {f: FamilyScore(f) for f in FAMILIES}
    mistakes: list[Mistake] = []
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    n = 0
    for listing, truth in rows:
        n += 1
        findings = {f.family: f for f in book.scan(listing)}
        pred = set(findings)
        for fam in truth:
            if fam in scores:
                scores[fam].support += 1
        for fam in FAMILIES:
            if fam in pred and fam in truth:
                scores[fam].tp += 1
            elif fam in pred:
                scores[fam].fp += 1
                f = findings[fam]
                mistakes.append(
                    Mistake(
                        listing.platform,
                        listing.listing_id,
                        fam,
                        "fp",
                        listing.title,
                        f.rule_id,
                        [e.model_dump() for e in f.evidence],
                    )
                )
            elif fam in truth:
                scores[fam].fn += 1
                mistakes.append(Mistake(listing.platform, listing.listing_id, fam, "fn", listing.title))
        for t in truth or {"(none)"}:
            for p in pred or {"(none)"}:
                confusion[t][p] += 1
    return BacktestReport(n, scores, mistakes, {k: dict(v) for k, v in confusion.items()})


@dataclass
class DiffReport:
    n_listings: int
    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    changed_rule: list[dict[str, Any]]

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for kind, items in (("added", self.added), ("removed", self.removed), ("changed_rule", self.changed_rule)):
            for it in items:
                out.setdefault(it["family"], {"added": 0, "removed": 0, "changed_rule": 0})[kind] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "listings": self.n_listings,
            "summary": self.summary(),
            "added": self.added,
            "removed": self.removed,
            "changed_rule": self.changed_rule,
        }


def diff(old: Rulebook, new: Rulebook, listings: Iterable[Listing]) -> DiffReport:
    added, removed, changed = [], [], []
    n = 0
    for listing in listings:
        n += 1
        a = {f.family: f for f in old.scan(listing)}
        b = {f.family: f for f in new.scan(listing)}
        base = {"platform": listing.platform, "listing_id": listing.listing_id, "title": listing.title}
        for fam in b.keys() - a.keys():
            added.append(
                {
                    **base,
                    "family": fam,
                    "rule_id": b[fam].rule_id,
                    "evidence": [e.model_dump() for e in b[fam].evidence],
                }
            )
        for fam in a.keys() - b.keys():
            removed.append(
                {
                    **base,
                    "family": fam,
                    "rule_id": a[fam].rule_id,
                    "evidence": [e.model_dump() for e in a[fam].evidence],
                }
            )
        for fam in a.keys() & b.keys():
            if a[fam].rule_id != b[fam].rule_id:
                changed.append({**base, "family": fam, "old_rule_id": a[fam].rule_id, "rule_id": b[fam].rule_id})
    return DiffReport(n, added, removed, changed)
