"""Loading a rulebook: YAML rule files plus CSV catalogs -> a `Rulebook`.

Every problem raises `RulebookError(file, line, message)` before anything is returned, so a broken edit
never half-loads: callers either get the whole new book or keep the old one. Line numbers come from
the YAML node marks, looked up along the path pydantic reports for a validation error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rules.catalog import Catalog, load_catalog
from rules.errors import RulebookError
from rules.schema import BookFile, RuleSpec

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_BOOK = PACKAGE_DIR / "book"
DEFAULT_CATALOGS = PACKAGE_DIR / "catalogs"


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader that refuses duplicate keys (a silent overwrite would hide a rule's second `match`)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise RulebookError("", key_node.start_mark.line + 1, f"重复的键 {key!r}")
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _node_at(node: yaml.Node, loc: tuple[Any, ...], key_last: bool = True) -> yaml.Node:
    """Deepest YAML node along a pydantic error location (keys and list indices)."""
    cur = node
    for i, part in enumerate(loc):
        if isinstance(cur, yaml.MappingNode):
            pair = next(((k, v) for k, v in cur.value if getattr(k, "value", None) == str(part)), None)
            if pair is None:
                break
            # the last step points at the key: that is the line an analyst has to edit
            cur = pair[0] if key_last and i == len(loc) - 1 else pair[1]
        elif isinstance(cur, yaml.SequenceNode) and isinstance(part, int) and part < len(cur.value):
            cur = cur.value[part]
        else:
            break
    return cur


def resolve_paths(path: Path | str | None) -> tuple[list[Path], Path]:
    """YAML files and catalog directory for a book path.

    None: the packaged book. A directory with `book/`: that book and its `catalogs/`. A directory of
    YAML files: those, with a sibling or child `catalogs/` if present, else the packaged catalogs. A
    single YAML file: that file with the packaged catalogs.
    """
    if path is None:
        return sorted(DEFAULT_BOOK.glob("*.yaml")), DEFAULT_CATALOGS
    p = Path(path)
    if p.is_file():
        for cats in (p.parent / "catalogs", p.parent.parent / "catalogs"):
            if cats.is_dir():
                return [p], cats
        return [p], DEFAULT_CATALOGS
    if not p.is_dir():
        raise RulebookError(p, None, "规则库路径不存在")
    if (p / "book").is_dir():
        return sorted((p / "book").glob("*.yaml")), (p / "catalogs" if (p / "catalogs").is_dir() else DEFAULT_CATALOGS)
    for cand in (p / "catalogs", p.parent / "catalogs"):
        if cand.is_dir():
            return sorted(p.glob("*.yaml")), cand
    return sorted(p.glob("*.yaml")), DEFAULT_CATALOGS


def load_catalogs(directory: Path) -> dict[str, Catalog]:
    return {c.stem: load_catalog(c) for c in sorted(directory.glob("*.csv"))}


def _check_examples(f: Path, spec: RuleSpec, node: yaml.Node | None) -> None:
    """Dict examples must be valid (partial) listings; report the example's own line if not."""
    from sweep.models import Listing

    for kind in ("match", "no_match"):
        for i, ex in enumerate(getattr(spec.examples, kind)):
            if isinstance(ex, str):
                continue
            data = {"platform": "example", "listing_id": "x", "title": "", **ex}
            data.pop("permits", None)
            try:
                Listing.model_validate(data)
            except ValidationError as exc:
                err = exc.errors()[0]
                target = _node_at(node, (kind, i, *err["loc"])) if node is not None else None
                line = target.start_mark.line + 1 if target is not None else None
                loc = ".".join(str(x) for x in err["loc"])
                raise RulebookError(f, line, f"{spec.id} 样例 {kind}[{i}] 不是有效的商品: {loc}: {err['msg']}") from exc


def load_specs(files: list[Path]) -> list[tuple[RuleSpec, str, int]]:
    """Parse and validate rule files; (spec, file, line) in book order. Raises RulebookError."""
    specs: list[tuple[RuleSpec, str, int]] = []
    seen_ids: dict[str, str] = {}
    if not files:
        raise RulebookError("", None, "规则库中没有 .yaml 规则文件")
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulebookError(f, None, f"无法读取: {exc}") from exc
        try:
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
        except RulebookError as exc:
            raise RulebookError(f, exc.line, exc.message) from exc
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or exc
            raise RulebookError(f, mark.line + 1 if mark else None, f"YAML 语法错误: {problem}") from exc
        if node is None or data is None:
            raise RulebookError(f, 1, "文件为空；应为 `rules: [...]`")
        try:
            book = BookFile.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            target = _node_at(node, tuple(err["loc"]))
            loc = ".".join(str(x) for x in err["loc"])
            raise RulebookError(f, target.start_mark.line + 1, f"{loc}: {err['msg']}") from exc
        rule_nodes = _node_at(node, ("rules",), key_last=False)
        for i, spec in enumerate(book.rules):
            line = rule_nodes.value[i].start_mark.line + 1 if isinstance(rule_nodes, yaml.SequenceNode) else 1
            where = f"{f}:{line}"
            if spec.id in seen_ids:
                raise RulebookError(f, line, f"规则 id {spec.id!r} 重复（已在 {seen_ids[spec.id]} 定义）")
            seen_ids[spec.id] = where
            _check_examples(
                f,
                spec,
                _node_at(rule_nodes.value[i], ("examples",), key_last=False)
                if isinstance(rule_nodes, yaml.SequenceNode)
                else None,
            )
            specs.append((spec, str(f), line))
    return specs
