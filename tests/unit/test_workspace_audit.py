"""The audit trail: append-only, hash-chained, verified by `sweep audit verify`, exported as CSV and JSON
lines, and no change without its record — also when the process dies between the two writes."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adapters.people.sql import SqlPeopleStore
from adapters.store.sqlite import SqliteLeadStore
from app.web import create_app
from sweep.audit import GENESIS, AuditEvent, chain_hash, verify_chain
from sweep.people import Actor, Role
from sweep.settings import Settings
from tests.unit.test_workspace_support import Env, make_env

ROOT = Path(__file__).resolve().parents[2]
OFFICER = Actor("officer", Role.officer, ("540100",))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return make_env(tmp_path)


def sweep_cli(env: Env, *args: str) -> subprocess.CompletedProcess:
    environ = os.environ | {"SWEEP_DATA_DIR": str(env.settings.data_dir)}
    environ.pop("SWEEP_PEOPLE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_record_carries_the_hash_of_the_previous_one(env: Env) -> None:
    records = list(env.people.audit_records())
    assert len(records) == 6  # one user.add per account
    assert records[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(records):
        assert after.prev_hash == before.hash
        assert after.hash == chain_hash(before.hash, after.event)
    assert verify_chain(records) == (6, None)


def test_the_database_refuses_updates_and_deletes_of_the_audit(env: Env) -> None:
    db = sqlite3.connect(env.settings.data_dir / "people.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 1")


def test_sweep_audit_verify_passes_then_names_the_tampered_record(env: Env) -> None:
    ok = sweep_cli(env, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit chain OK: 6 records" in ok.stdout
    db = sqlite3.connect(env.settings.data_dir / "people.sqlite")
    db.execute("DROP TRIGGER audit_no_update")  # someone with file access goes around the database's guard
    db.execute('UPDATE audit SET after = \'{"role":"admin"}\' WHERE seq = 3')
    db.commit()
    db.close()
    broken = sweep_cli(env, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at record 3" in broken.stdout


def test_exports_carry_the_chain(env: Env) -> None:
    client, _ = env.client("auditor")
    lines = client.get("/audit/export.jsonl").text.strip().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[0]["prev_hash"] == GENESIS
    assert [r["action"] for r in rows[:6]] == ["user.add"] * 6
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    csv_text = client.get("/audit/export.csv", params={"actor": "auditor"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("序号,时间,操作人,角色,操作")
    assert "auth.login" in csv_text
    # the export is itself on record
    assert env.people.audit_search(action="export", limit=5)[0].event.actor == "auditor"


def test_audit_page_searches(env: Env) -> None:
    ws = env.app.state.workspace
    ws.change(OFFICER, env.ids["L1"], version=0, source="10.1.2.3", status="triaged")
    client, _ = env.client("auditor")
    page = client.get("/audit", params={"actor": "officer", "action": "lead."}).text
    assert env.ids["L1"] in page
    assert "10.1.2.3" in page
    assert "user.add" not in page


def test_no_change_when_the_audit_record_cannot_be_written(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = env.app.state.workspace
    lead_id = env.ids["L1"]
    count = env.people.audit_count()

    def broken(self: SqlPeopleStore, conn: object, events: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(SqlPeopleStore, "_append", broken)
    with pytest.raises(OSError, match="disk full"):
        ws.change(OFFICER, lead_id, version=0, source="t", status="confirmed", assignee="officer")
    monkeypatch.undo()
    assert env.people.audit_count() == count
    assert env.people.decisions([lead_id]) == {}
    lead = env.store.get(lead_id)
    assert (lead.status.value, lead.assignee) == ("new", None)


CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from adapters.people.sql import SqlPeopleStore
    from adapters.store.sqlite import SqliteLeadStore
    from sweep.people import Actor, Role
    from sweep.settings import Settings
    from workspace.service import Workspace

    data, lead_id, where = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    store = SqliteLeadStore(data / "leads.sqlite")
    people = SqlPeopleStore(f"sqlite:///{data / 'people.sqlite'}")
    if where == "before-lead-store":   # the decision and its record are committed; the lead store is not written
        store.set_status = lambda *a, **k: os._exit(9)
    else:                              # inside the people transaction, after the audit rows are inserted
        original = SqlPeopleStore._append
        def dying(self, conn, events):
            original(self, conn, events)
            os._exit(9)
        SqlPeopleStore._append = dying
    ws = Workspace(settings=Settings(data_dir=data), store=store, people=people)
    ws.change(Actor("officer", Role.officer, ("540100",)), lead_id, version=0, source="crash-test", status="confirmed")
    """
)


def crash(env: Env, where: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, str(env.settings.data_dir), env.ids["L1"], where],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode


def test_death_between_the_record_and_the_lead_store_is_finished_by_the_next_process(env: Env) -> None:
    lead_id = env.ids["L1"]
    assert crash(env, "before-lead-store") == 9
    # the process died: the record and the decision exist, the lead store is behind
    record = env.people.audit_search(resource_id=lead_id, limit=1)[0]
    assert (record.event.action, record.event.after, record.event.source) == (
        "lead.update",
        '{"status": "confirmed"}',
        "crash-test",
    )
    assert env.people.decisions([lead_id])[lead_id].pending
    assert env.store.get(lead_id).status.value == "new"
    # the next process to start catches up from the recorded decision
    create_app(
        Settings(data_dir=env.settings.data_dir),
        store=SqliteLeadStore(env.settings.data_dir / "leads.sqlite"),
        people=env.people,
    )
    assert env.store.get(lead_id).status.value == "confirmed"
    assert not env.people.decisions([lead_id])[lead_id].pending
    assert verify_chain(env.people.audit_records())[1] is None


def test_death_inside_the_transaction_leaves_neither_change_nor_record(env: Env) -> None:
    lead_id = env.ids["L1"]
    count = env.people.audit_count()
    assert crash(env, "inside-transaction") == 9
    people = SqlPeopleStore(f"sqlite:///{env.settings.data_dir / 'people.sqlite'}")
    assert people.audit_count() == count
    assert people.decisions([lead_id]) == {}
    assert env.store.get(lead_id).status.value == "new"
    assert verify_chain(people.audit_records()) == (count, None)


def test_refused_attempts_are_on_record_too(env: Env) -> None:
    env.people.record(
        AuditEvent(
            actor="x",
            role="officer",
            action="auth.login_failed",
            resource_type="user",
            resource_id="x",
            allowed=False,
            source="1.2.3.4",
        )
    )
    record = env.people.audit_search(limit=1)[0]
    assert (record.event.allowed, record.event.source) == (False, "1.2.3.4")


def test_regional_readers_of_the_audit_see_only_their_region(env: Env) -> None:
    ws = env.app.state.workspace
    qinghai = Actor("qh_officer", Role.officer, ("630000",))
    ws.change(qinghai, env.ids["Q1"], version=0, source="t", status="triaged", note="西宁的研判")
    ws.change(OFFICER, env.ids["L1"], version=0, source="t", status="triaged")
    supervisor, _ = env.client("supervisor")  # 540000
    page = supervisor.get("/audit").text
    assert env.ids["L1"] in page
    assert env.ids["Q1"] not in page
    assert "西宁" not in page
    assert "qh_officer" not in page  # its user.add record names an account of another region
    api = supervisor.get("/api/v1/audit", params={"limit": 1000}).json()
    assert env.ids["Q1"] not in {r["resource_id"] for r in api}
    export = supervisor.get("/audit/export.jsonl").text
    assert env.ids["Q1"] not in export
    auditor, _ = env.client("auditor")  # nationwide
    assert env.ids["Q1"] in auditor.get("/audit").text
