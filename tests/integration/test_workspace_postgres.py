"""People's state on the real production store: PostgreSQL from Debian's package, started by
`services/up.sh postgresql` (SWEEP_PEOPLE_URL). Each test gets a database of its own.

What PostgreSQL must guarantee here, under real concurrency (threads with their own connections, and
a process that dies mid-transaction): one hash chain however many writers append at once, the audit
refusing UPDATE, DELETE and TRUNCATE, case numbers issued once, optimistic concurrency deciding
exactly one winner, and no change without its record.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.people.sql import SqlPeopleStore
from adapters.store.sqlite import SqliteLeadStore
from app.web import create_app
from sweep.audit import AuditEvent, verify_chain
from sweep.casework import Case, Decision, User, VersionConflict
from sweep.settings import Settings
from tests.integration.conftest import _address, _missing
from tests.unit.test_workspace_support import PASSWORD, seed_events
from workspace.auth import add_user

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server_url() -> str:
    url = _address("SWEEP_PEOPLE_URL")
    if not url or not url.startswith("postgresql"):
        _missing("SWEEP_PEOPLE_URL is not set and .services/env has no PostgreSQL")
    assert url
    import psycopg

    try:
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5):
            pass
    except psycopg.OperationalError:
        _missing(f"PostgreSQL at {url} is unreachable")
    return url


@pytest.fixture
def url(server_url: str, run_prefix: str, request: pytest.FixtureRequest) -> Iterator[str]:
    import psycopg

    name = f"{run_prefix}_{request.node.name}".lower()[:60].replace("-", "_").replace("[", "_").replace("]", "")
    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def event(i: int, actor: str = "t") -> AuditEvent:
    return AuditEvent(actor=actor, role="officer", action="lead.update", resource_type="lead", resource_id=f"L{i}")


def test_many_writers_one_chain(url: str) -> None:
    stores = [SqlPeopleStore(url) for _ in range(4)]  # four pools, as four `sweep serve` processes would have

    def write(store: SqlPeopleStore, k: int) -> None:
        for i in range(25):
            store.record(event(i, actor=f"writer{k}"))

    threads = [threading.Thread(target=write, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked, broken = verify_chain(stores[0].audit_records())
    assert (checked, broken) == (100, None)
    for s in stores:
        s.close()


def test_the_audit_table_refuses_update_delete_and_truncate(url: str) -> None:
    import psycopg

    store = SqlPeopleStore(url)
    store.record(event(1))
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with psycopg.connect(plain) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)
    assert store.audit_count() == 1
    store.close()


def test_optimistic_concurrency_has_exactly_one_winner(url: str) -> None:
    stores = [SqlPeopleStore(url) for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(stores))

    def decide(store: SqlPeopleStore, k: int) -> None:
        barrier.wait()
        try:
            store.decide([Decision("L1", "triaged", assignee=f"u{k}", version=0, updated_by=f"u{k}")], [event(k)])
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=decide, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    decision = stores[0].decisions(["L1"])["L1"]
    assert decision.version == 1
    assert stores[0].audit_count() == 1  # the losers wrote nothing
    for s in stores:
        s.close()


def test_case_numbers_are_issued_once(url: str) -> None:
    stores = [SqlPeopleStore(url) for _ in range(4)]
    numbers: list[str] = []

    def create(store: SqlPeopleStore) -> None:
        for _ in range(5):
            case = Case(title="t", owner="o", region="540100", created_by="o", created_at=datetime.now(UTC))
            numbers.append(store.create_case(case, [event(0)]).number)

    threads = [threading.Thread(target=create, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    year = datetime.now(UTC).year
    assert sorted(numbers) == [f"{year}-{i:05d}" for i in range(1, 21)]
    for s in stores:
        s.close()


def test_lock_out_is_shared_by_every_process(url: str) -> None:
    a, b = SqlPeopleStore(url), SqlPeopleStore(url)
    a.add_user(User("u", "h", "officer", "540100"), event(0))
    now = datetime.now(UTC)
    for store in (a, b, a, b):
        store.login_failed("u", now, 5, now)
    assert b.get_user("u").failed_logins == 4
    a.close()
    b.close()


CRASH = textwrap.dedent(
    """
    import os, sys
    from adapters.people.sql import SqlPeopleStore
    from sweep.audit import AuditEvent
    from sweep.casework import Decision
    original = SqlPeopleStore._append
    def dying(self, conn, events):
        original(self, conn, events)
        os._exit(9)
    SqlPeopleStore._append = dying
    store = SqlPeopleStore(sys.argv[1])
    store.decide([Decision("L1", "confirmed", version=0, updated_by="x")],
                 [AuditEvent(actor="x", role="officer", action="lead.update", resource_type="lead", resource_id="L1")])
    """
)


def test_a_process_dying_inside_the_transaction_leaves_neither_change_nor_record(url: str) -> None:
    store = SqlPeopleStore(url)
    store.record(event(0))
    proc = subprocess.run(
        [sys.executable, "-c", CRASH, url], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 9, proc.stderr
    assert store.decisions(["L1"]) == {}
    assert store.audit_count() == 1
    assert verify_chain(store.audit_records()) == (1, None)
    store.close()


def test_the_workspace_runs_on_postgresql(url: str, tmp_path: Path) -> None:
    import re

    from fastapi.testclient import TestClient

    people = SqlPeopleStore(url)
    store = SqliteLeadStore(tmp_path / "leads.sqlite")
    events = seed_events()
    store.apply_events(events)
    add_user(people, "officer", PASSWORD, "officer", "540100")
    app = create_app(Settings(data_dir=tmp_path), store=store, people=people)
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert (
        client.post("/login", data={"username": "officer", "password": PASSWORD, "csrf_token": token}).status_code
        == 200
    )
    csrf = re.search(r'<meta name="csrf-token" content="([^"]*)"', client.get("/leads").text).group(1)
    lead_id = events[0].lead_id
    response = client.post(
        f"/leads/{lead_id}/dismiss",
        data={"csrf_token": csrf, "version": "0", "reason": "lawful_seller", "scope": "shop"},
    )
    assert response.status_code == 200
    assert store.get(events[1].lead_id).status.value == "dismissed"  # same shop, remembered
    case = client.post("/cases", data={"csrf_token": csrf, "lead_ids": [events[0].lead_id, events[1].lead_id]})
    assert case.status_code == 200
    actions = [r.event.action for r in people.audit_records()]
    assert {"user.add", "auth.login", "lead.dismiss", "dismissal.add", "lead.suppressed", "case.create"} <= set(actions)
    assert verify_chain(people.audit_records())[1] is None
    client.close()
    people.close()
