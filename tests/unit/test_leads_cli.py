"""`sweep leads`: what enforcement staff see in the terminal."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from adapters import open_lead_store
from app.cli.main import app
from sweep.settings import get_settings
from tests.conftest import make_event


def _seed(*events) -> None:
    with open_lead_store(get_settings()) as store:
        store.apply_events(events)


def test_search_prints_a_table_and_crawled_markup_stays_text():
    hostile = "[bold red]出售氰化钠[/bold red][link=x]点[/link]"
    _seed(make_event("A", title=hostile), make_event("B", title="纯棉T恤", family="ip.counterfeit"))
    result = CliRunner().invoke(app, ["leads", "search", "氰化钠"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "线索检索: 1 条" in result.stdout
    assert "[bold red]" in result.stdout and "[link=x]点[/link]" in result.stdout
    assert make_event("A").lead_id in result.stdout  # the full id, usable with `show` and `triage`
    assert "纯棉T恤" not in result.stdout


def test_json_output_and_filters():
    _seed(make_event("A"), make_event("B", family="ip.counterfeit", title="高仿 名牌包"))
    result = CliRunner().invoke(app, ["leads", "search", "--family", "ip.counterfeit", "--json"])
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [(r["listing_id"], r["family"]) for r in rows] == [("B", "ip.counterfeit")]


def test_triage_then_show_and_unknown_ids():
    _seed(make_event("A"))
    lead_id = make_event("A").lead_id
    runner = CliRunner()
    done = runner.invoke(app, ["leads", "triage", lead_id, "--status", "confirmed", "--note", "已核实"])
    assert done.exit_code == 0 and "已核实" in done.stdout
    shown = runner.invoke(app, ["leads", "show", lead_id], env={"COLUMNS": "200"})
    assert "已核实" in shown.stdout and "出售高纯氰化钠" in shown.stdout
    assert runner.invoke(app, ["leads", "show", "nope"]).exit_code == 1
    assert runner.invoke(app, ["leads", "triage", "nope", "--status", "dismissed"]).exit_code == 1
    assert runner.invoke(app, ["leads", "triage", lead_id, "--status", "bogus"]).exit_code == 2


def test_query_language_exclusion_and_category_option():
    """The words staff type mean the same here as in the workspace: `-检测` excludes."""
    listing_a = make_event("A", title="出售氰化钠 现货")
    listing_b = make_event("B", title="氰化钠 检测 试剂盒")
    _seed(listing_a, listing_b)
    runner = CliRunner()
    excluded = runner.invoke(app, ["leads", "search", "氰化钠 -检测", "--json"])
    assert [orjson.loads(line)["listing_id"] for line in excluded.stdout.splitlines()] == ["A"]
    either = runner.invoke(app, ["leads", "search", "现货 OR 试剂盒", "--json"])
    assert sorted(orjson.loads(line)["listing_id"] for line in either.stdout.splitlines()) == ["A", "B"]
    none = runner.invoke(app, ["leads", "search", "--category", "no-such-category", "--json"])
    assert none.exit_code == 0 and none.stdout == ""
