"""The compiled engine (rules/native.py): installed compiled, the same answers as its Python source, and
never run stale.

CI installs the package the way users do (`make install`), which compiles the engine; a build that
silently fell back to the source would pass every other test and only be slow, so this checks it.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rules.engine
import rules.matching
import rules.native as native
from rules import load_rulebook
from sweep.models import Listing

ROOT = Path(__file__).resolve().parents[2]
DEVSET = ROOT / "tests" / "data" / "devset.jsonl"
PURE = os.environ.get(native.PURE_ENV, "").strip() in ("1", "true", "yes")

TRICKY = [
    "ΑΣ. ΣΣ aΣ",  # final sigma: Python's lower() gives ας, a per-character lower ασ
    "İstanbul ǅ ß ﬃ Ⅻ ㎏ ①②",  # lower/NFKC that change the length
    "氰 化 钠 氰*化*钠 氰\u200b化钠 氰，化，钠 ＮａＣＮ 氰化鈉",
    "qing化钠 身fen证号 高猛酸钾 CAS 143 - 33 - 9 7782-50-5 2024-01-15",
    "\x00\x1b[31m 根治 第一 顶级复刻 Mg mg",
]

SCAN_ALL = """
import json, sys
from rules import load_rulebook, native
from rules.normalize import find_cas, normalize
from sweep.models import Listing
book = load_rulebook()
out = {"mode": native.mode(), "findings": [], "explain": [], "normalized": []}
for text in json.loads(sys.argv[2]):
    n = normalize(text)
    spans = [n.orig_span(i, j) for i in range(len(n.text) + 1) for j in range(i, min(i + 4, len(n.text) + 1))]
    out["normalized"].append([n.text, spans, find_cas(n.text)])
    listing = Listing(platform="p", listing_id="t", title=text, description=text)
    out["findings"].append([f.model_dump(mode="json") for f in book.scan(listing)])
for i, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    listing = Listing.model_validate({k: v for k, v in json.loads(line).items() if k != "families"})
    out["findings"].append([f.model_dump(mode="json") for f in book.scan(listing)])
    if i % 10 == 0:
        out["explain"].append(book.explain(listing))
print(json.dumps(out, ensure_ascii=False, default=str))
"""


def _scan_devset(pure: bool) -> dict:
    env = {**os.environ, native.PURE_ENV: "1" if pure else ""}
    done = subprocess.run(
        [sys.executable, "-c", SCAN_ALL, str(DEVSET), json.dumps(TRICKY)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_the_installed_engine_is_the_compiled_one() -> None:
    modules = [rules.engine, rules.matching]
    if PURE:
        assert native.mode() == "source"
        assert all(m.__file__ and m.__file__.endswith(".py") for m in modules)
        return
    assert native.mode() == "compiled", (
        "the rulebook engine is not compiled (or a source changed since): run `make install`"
    )
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert all(m.__file__ and m.__file__.endswith(suffixes) for m in modules)


@pytest.mark.skipif(PURE, reason="this process runs the source; the comparison needs the compiled engine")
def test_compiled_and_source_give_the_same_findings_and_explanations() -> None:
    compiled, source = _scan_devset(pure=False), _scan_devset(pure=True)
    assert (compiled["mode"], source["mode"]) == ("compiled", "source")
    assert len(compiled["findings"]) == len(TRICKY) + sum(1 for _ in DEVSET.open(encoding="utf-8")) > 1000
    assert sum(map(bool, compiled["findings"])) > 500  # a comparison of empty lists would prove nothing
    assert compiled["normalized"] == source["normalized"]
    assert compiled["normalized"][0][0] == "ας. σς aς"  # Python's final sigma; spaces kept outside CJK
    assert compiled["findings"] == source["findings"]
    assert compiled["explain"] == source["explain"]


def test_a_source_changed_since_compiling_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in native.COMPILED:
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
    monkeypatch.setattr(native, "HERE", tmp_path)
    monkeypatch.setattr(native, "STAMP", tmp_path / "_native.json")
    assert native.stale_sources() == [f"{m}.py" for m in native.COMPILED]  # no stamp: nothing is trusted
    native.write_stamp()
    assert native.stale_sources() == []
    (tmp_path / "matching.py").write_text("# matching, edited\n")
    assert native.stale_sources() == ["matching.py"]


def test_a_stale_build_runs_the_source_with_a_warning(tmp_path: Path) -> None:
    """In a copy of the package whose extensions are stand-ins and whose stamp is wrong, the import hook
    loads every engine module from its .py file and says why."""
    pkg = tmp_path / "rules"
    pkg.mkdir()
    (pkg / "native.py").write_text((ROOT / "rules" / "native.py").read_text(encoding="utf-8"), encoding="utf-8")
    (pkg / "__init__.py").write_text("from rules import native\nnative.activate()\n", encoding="utf-8")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for name in native.COMPILED:
        (pkg / f"{name}.py").write_text(f"WHERE = 'source of {name}'\n", encoding="utf-8")
        (pkg / f"{name}{suffix}").write_bytes(b"not a real extension: importing it would fail")
    (pkg / "_native.json").write_text(json.dumps({m: "0" * 64 for m in native.COMPILED}), encoding="utf-8")
    code = "import rules, rules.matching as m, rules.native as n; print(n.mode(), m.WHERE)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), native.PURE_ENV: ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["source", "source", "of", "matching"]
    assert "changed since the rulebook engine was compiled" in done.stderr
    assert "matching.py" in done.stderr


def test_the_copy_in_this_process_finds_a_known_substance() -> None:
    """A smoke check on a known listing in whichever copy this process runs."""
    book = load_rulebook()
    findings = book.scan(Listing(platform="p", listing_id="1", title="出售氰化钠 CAS 143-33-9 现货"))
    assert [f.family for f in findings] == ["chem.toxic"]
