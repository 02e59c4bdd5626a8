"""Regression guard: the shipped rulebook meets the precision/recall targets on the dev set.

Targets per family on the dev set: precision and recall >= 0.97 (issue 9, "Rulebook, second edition"). The
demo mall (built by `demomall.generator`) is backtested too: precision >= 0.97, recall >= 0.95.
"""

from __future__ import annotations

from pathlib import Path

from demomall.generator import generate
from rules import load_rulebook
from rules.backtest import backtest, labelled_rows
from sweep.models import FAMILIES, Listing

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.jsonl"
BOOK = load_rulebook()


def test_devset_is_big_and_covers_every_family() -> None:
    rows = list(labelled_rows(DEVSET))
    assert len(rows) >= 400
    seen = {f for _, fams in rows for f in fams}
    assert seen == set(FAMILIES)
    assert sum(1 for _, fams in rows if not fams) >= 100  # plenty of negatives


def test_devset_meets_targets() -> None:
    report = backtest(BOOK, labelled_rows(DEVSET))
    failures = {
        fam: (round(s.precision, 3), round(s.recall, 3))
        for fam, s in report.scores.items()
        if s.precision < 0.97 or s.recall < 0.97
    }
    assert not failures, failures
    for s in report.scores.values():
        assert s.support > 0


def test_demo_mall_backtest() -> None:
    mall = generate(1000, 7)
    rows: list[tuple[Listing, set[str]]] = [(it.listing, set(it.families)) for it in mall.items]
    report = backtest(BOOK, rows)
    for fam, s in report.scores.items():
        assert s.recall >= 0.95, (fam, s.recall)
        assert s.precision >= 0.97, (fam, s.precision)
