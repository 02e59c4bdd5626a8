"""`Rulebook`: the public face of the engine (load, scan, explain, run inline examples)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.catalog import Catalog
from rules.engine import Engine, Rule, compile_engine
from rules.errors import RulebookError
from rules.loader import load_catalogs, load_specs, resolve_paths
from rules.pinyin import READINGS
from sweep.models import Finding, Listing, Permit, Shop

EXAMPLE_LICENCE = "91110108063781246F"
"""A valid unified social credit code used for the shop of string examples."""


@dataclass
class ExampleResult:
    rule_id: str
    file: str
    line: int
    expect: str  # "match" | "no_match"
    index: int
    text: str
    ok: bool
    why: str


class Rulebook:
    """A loaded, compiled rulebook. Immutable and safe to share between threads."""

    def __init__(self, engine: Engine, files: list[Path], catalog_dir: Path, version: str | None = None) -> None:
        self.engine = engine
        self.files = files
        self.catalog_dir = catalog_dir
        self.version = version or rulebook_version(files, catalog_dir)
        """Content hash of what this book was loaded from (`rulebook_version`); every finding carries it."""

    @property
    def rules(self) -> list[Rule]:
        return self.engine.rules

    @property
    def catalogs(self) -> dict[str, Catalog]:
        return self.engine.catalogs

    def scan(self, listing: Listing) -> list[Finding]:
        """Findings for one listing: at most one per family, in taxonomy order, each stamped with this
        book's `version` (so a lead can tell which rules judged its latest sighting)."""
        return self.engine.scan(listing, self.version)

    def explain(self, listing: Listing) -> dict[str, Any]:
        """Every rule considered for `listing`: status (reported, suppressed, excluded, blocked,
        no_match, out_of_scope), what matched, what excluded it and why, plus the findings."""
        return self.engine.explain(listing)

    # ---------------------------------------------------------------- inline examples
    def example_listing(self, rule: Rule, example: str | dict[str, Any], name: str) -> Listing:
        """A listing for an inline example. A string becomes the title of a listing in the rule's first
        category, sold by a shop with a valid licence and no permits; a dict is a (partial) listing."""
        scope_cats = rule.spec.scope.categories if rule.spec.scope != "any" else "any"  # type: ignore[union-attr]
        category = scope_cats[0] if isinstance(scope_cats, list) and scope_cats else None
        if isinstance(example, str):
            return Listing(
                platform="example",
                listing_id=name,
                title=example,
                category=category,
                shop=Shop(shop_id="example", name="示例店铺", licence_no=EXAMPLE_LICENCE),
            )
        data = dict(example)
        data.setdefault("platform", "example")
        data.setdefault("listing_id", name)
        data.setdefault("title", "")
        if "category" not in data:
            data["category"] = category
        if "shop" not in data:
            data["shop"] = Shop(
                shop_id="example",
                name="示例店铺",
                licence_no=EXAMPLE_LICENCE,
                permits=[Permit(type=p) for p in data.pop("permits", [])],
            )
        return Listing.model_validate(data)

    def fires(self, rule: Rule, listing: Listing) -> tuple[bool, str]:
        prep = self.engine.prepare(listing)
        res = self.engine.evaluate(prep, rule, full=True)
        if res.fired:
            return True, "命中: " + "、".join(f"{e.field}「{e.text}」" for e in res.get_evidence()[:3])
        if not res.in_scope:
            return False, "类目不在适用范围"
        if res.blocked:
            return False, res.blocked
        if res.excluded:
            return False, "被排除: " + "；".join(w for _, w in res.excluded[:3])
        return False, "没有任何词条/正则命中"

    def run_examples(self) -> list[ExampleResult]:
        out: list[ExampleResult] = []
        for rule in self.rules:
            for expect, items in (("match", rule.spec.examples.match), ("no_match", rule.spec.examples.no_match)):
                for i, ex in enumerate(items):
                    listing = self.example_listing(rule, ex, f"{rule.id}#{expect}{i}")
                    fired, why = self.fires(rule, listing)
                    ok = fired if expect == "match" else not fired
                    text = ex if isinstance(ex, str) else listing.title
                    out.append(ExampleResult(rule.id, rule.file, rule.line, expect, i, text, ok, why))
        return out


VERSION_LENGTH = 16
"""Hex digits of the SHA-256 kept: short enough to read in a table, far from colliding between edits."""


def rulebook_version(files: list[Path], catalog_dir: Path) -> str:
    """Content hash of a rulebook: its YAML files, the CSV catalogs the loader reads and the pinyin
    readings the engine matches with, each under its file name and in a fixed order.

    Names, not paths, go into the hash, so the same book copied elsewhere (a temp copy an analyst
    edits, a container image) has the same version, and any edit to a rule or a catalog row changes
    it. Computed once at load; a listing judged by two books with the same version got the same
    findings."""
    digest = hashlib.sha256()
    parts = [(f"book/{f.name}", f) for f in files]
    parts += [(f"catalogs/{c.name}", c) for c in sorted(catalog_dir.glob("*.csv"))]
    parts.append((f"pinyin/{READINGS.name}", READINGS))
    for name, path in sorted(parts, key=lambda part: part[0]):
        data = path.read_bytes() if path.is_file() else b""
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:VERSION_LENGTH]


def load_rulebook(path: Path | str | None = None) -> Rulebook:
    """Load and compile a rulebook; raises RulebookError (file, line, problem) and loads nothing on any
    error. Default: the packaged `rules/book` with `rules/catalogs`."""
    files, catalog_dir = resolve_paths(path)
    catalogs = load_catalogs(catalog_dir)
    specs = load_specs(files)
    try:
        engine = compile_engine(specs, catalogs)
    except ValueError as exc:
        msg = str(exc)
        rule_id = msg.split(":", 1)[0]
        where = next(((f, line) for s, f, line in specs if s.id == rule_id), (str(files[0]), None))
        raise RulebookError(where[0], where[1], msg) from exc
    return Rulebook(engine, files, catalog_dir)
