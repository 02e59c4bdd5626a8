"""`sweep rules ...`: the shipped book passes its own examples; the analyst tools run end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
from typer.testing import CliRunner

from app.cli.rules import app
from rules.loader import DEFAULT_BOOK, DEFAULT_CATALOGS

DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.jsonl"
runner = CliRunner()


def test_rules_test_passes_on_shipped_book() -> None:
    result = runner.invoke(app, ["test"])
    assert result.exit_code == 0, result.output
    assert "0 失败" in result.output


def test_rules_test_fails_with_text_and_reason(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    f = root / "book" / "ip.yaml"
    f.write_text(
        f.read_text(encoding="utf-8").replace("        - 仿古风 刺绣帆布包 手工", "        - 超高仿 刺绣帆布包"),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["test", "--book", str(root)], terminal_width=200)
    assert result.exit_code == 1
    assert "超高仿" in result.output and "失败" in result.output


def test_lint_has_no_errors() -> None:
    from rules.lint import lint

    assert [p for p in lint() if p.level == "error"] == []


def test_lint_reports_load_error(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    f = root / "book" / "ip.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("severity: high", "severity: huge"), encoding="utf-8")
    result = runner.invoke(app, ["lint", "--book", str(root)], terminal_width=200)
    assert result.exit_code == 1
    assert "ip.yaml" in result.output


def test_lint_flags_exclusion_equal_to_trigger(tmp_path: Path) -> None:
    from rules.lint import lint

    root = tmp_path / "b"
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    f = root / "book" / "ip.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("[翡翠, ", "[高仿, 翡翠, "), encoding="utf-8")
    errors = [p for p in lint(root) if p.level == "error"]
    assert errors and "高仿" in errors[0].message


def test_explain(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_bytes(
        orjson.dumps(
            {
                "platform": "p",
                "listing_id": "1",
                "title": "手工冷制皂",
                "description": "氢氧化钠皂化",
                "category": "daily",
            }
        )
    )
    result = runner.invoke(app, ["explain", str(path)], terminal_width=240)
    assert result.exit_code == 0, result.output
    assert "chem.unlicensed/catalog" in result.output and "excluded" in result.output
    result = runner.invoke(app, ["explain", str(path), "--json"])
    data = orjson.loads(result.stdout)
    assert {r["rule_id"] for r in data["rules"]} >= {"chem.unlicensed/catalog", "ip.counterfeit/terms"}


def test_backtest_json_and_truth_file(tmp_path: Path) -> None:
    rows = [orjson.loads(line) for line in DEVSET.read_bytes().splitlines()[:60]]
    listings = tmp_path / "l.jsonl"
    truth = tmp_path / "t.jsonl"
    listings.write_bytes(b"\n".join(orjson.dumps({k: v for k, v in r.items() if k != "families"}) for r in rows))
    truth.write_bytes(
        b"\n".join(
            orjson.dumps({"platform": r["platform"], "listing_id": r["listing_id"], "families": r["families"]})
            for r in rows
        )
    )
    a = runner.invoke(app, ["backtest", str(listings), "--truth", str(truth), "--json"])
    assert a.exit_code == 0, a.output
    labelled = tmp_path / "lab.jsonl"
    labelled.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    b = runner.invoke(app, ["backtest", str(labelled), "--json"])
    assert orjson.loads(a.stdout)["families"] == orjson.loads(b.stdout)["families"]
    table = runner.invoke(app, ["backtest", str(labelled)], terminal_width=200)
    assert table.exit_code == 0 and "chem.toxic" in table.output


def test_diff_reports_removed_findings(tmp_path: Path) -> None:
    root = tmp_path / "b"
    shutil.copytree(DEFAULT_BOOK, root / "book")
    shutil.copytree(DEFAULT_CATALOGS, root / "catalogs")
    (root / "book" / "ip.yaml").unlink()
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(DEVSET.read_bytes())
    result = runner.invoke(app, ["diff", str(DEFAULT_BOOK.parent), str(root), str(corpus), "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert data["removed"] and all(r["family"] == "ip.counterfeit" for r in data["removed"])
    assert not data["added"]
