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
