"""`sweep scan`: findings in the taxonomy's format; bad lines reported with their number, not fatal."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from app.cli.main import app

GOOD = {
    "platform": "demo-mall",
    "listing_id": "A1",
    "title": "出售高纯氰化钠 98% 现货",
    "category": "chemicals",
    "shop": {"name": "某化工商行", "licence_no": None, "permits": []},
}
CLEAN = {"platform": "demo-mall", "listing_id": "A2", "title": "不锈钢保温杯 500ml", "category": "daily"}
CAS_ONLY = {**GOOD, "listing_id": "A3", "title": "CAS 143-33-9 99% 现货 量大从优"}


def _write(tmp_path, lines):
    path = tmp_path / "listings.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_findings_follow_the_taxonomy_output_contract(tmp_path):
    path = _write(tmp_path, [orjson.dumps(GOOD), orjson.dumps(CLEAN)])
    result = CliRunner().invoke(app, ["scan", str(path), "--no-summary"])
    assert result.exit_code == 0, result.output
    findings = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    toxic = [f for f in findings if f["family"] == "chem.toxic"]
    assert len(toxic) == 1
    finding = toxic[0]
    assert {"platform", "listing_id", "family", "rule_id", "severity", "evidence", "legal_basis"} <= set(finding)
    assert finding["severity"] in {"high", "medium", "low"} and finding["legal_basis"]
    ev = finding["evidence"][0]
    assert GOOD[ev["field"]][ev["start"] : ev["end"]] == ev["text"]
    assert {f["listing_id"] for f in findings} == {"A1"}  # shop families: A1's shop shows no licence
    assert "shop.licence_missing" in {f["family"] for f in findings}


def test_malformed_lines_are_reported_with_line_and_field_and_the_rest_is_scanned(tmp_path):
    lines = [
        b'{"platform": "demo-mall", "listing_id": "B1"',  # truncated JSON
        orjson.dumps({"platform": "demo-mall", "listing_id": "B2"}),  # no title
        orjson.dumps({**GOOD, "price": "cheap"}),  # wrong type
        b"[1, 2]",
        orjson.dumps(GOOD),
    ]
    result = CliRunner().invoke(app, ["scan", str(_write(tmp_path, lines)), "--no-summary"])
    assert result.exit_code == 1
    err = result.stderr
    assert "listings.jsonl:1: not valid JSON" in err
    assert "listings.jsonl:2: field title" in err
    assert "listings.jsonl:3: field price" in err
    assert "listings.jsonl:4: expected a JSON object" in err
    assert any(orjson.loads(line)["listing_id"] == "A1" for line in result.stdout.splitlines() if line.startswith("{"))


def test_family_filter(tmp_path):
    path = _write(tmp_path, [orjson.dumps(GOOD)])
    result = CliRunner().invoke(app, ["scan", str(path), "--family", "chem.toxic", "--no-summary"])
    assert {orjson.loads(line)["family"] for line in result.stdout.splitlines() if line.strip()} == {"chem.toxic"}


def test_scan_publish_then_indexer_fills_the_embedded_store(tmp_path):
    """The embedded production path without a browser: scan -> SQLite bus -> indexer -> SQLite store."""
    from adapters import open_lead_store
    from sweep.settings import get_settings
    from sweep.store import LeadQuery

    path = _write(tmp_path, [orjson.dumps(GOOD), orjson.dumps(CLEAN), orjson.dumps(CAS_ONLY), b"not json"])
    runner = CliRunner()
    assert runner.invoke(app, ["scan", str(path), "--publish", "--no-summary"]).exit_code == 1
    result = runner.invoke(app, ["consume", "indexer", "--until-idle", "--idle", "0.2", "-q"])
    assert result.exit_code == 0, result.output
    with open_lead_store(get_settings()) as store:
        found = store.search(LeadQuery(text="氰化钠"))
        assert {(lead.listing_id, lead.family) for lead in found.leads} == {
            ("A1", "chem.toxic"),
            ("A1", "shop.licence_missing"),
            ("A3", "chem.toxic"),  # named only by its CAS number: found through evidence.matched
        }
        assert store.count_listings() == 3
    # a second indexer run of the same group finds nothing new: offsets were committed
    again = runner.invoke(app, ["consume", "indexer", "--until-idle", "--idle", "0.2", "-q"])
    assert again.exit_code == 0
    with open_lead_store(get_settings()) as store:
        assert all(store.get(lead.lead_id).times_seen == 1 for lead in found.leads)
