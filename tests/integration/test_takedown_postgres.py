"""Takedown verification with people's state on PostgreSQL (SWEEP_PEOPLE_URL): the same demo-mall
scenario as the embedded test — 3 removed, 1 relisted, 1 still online — with the checks, the case note
and the job in the production store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.people.operations_sql import SqlOperationsStore
from adapters.people.sql import SqlPeopleStore
from adapters.store.sqlite import SqliteLeadStore
from demomall.generator import generate
from demomall.server import serve_in_thread
from tests.integration.test_workspace_postgres import server_url, url
from tests.unit.test_operations_takedown import test_recheck_reports_removed_relisted_and_online as scenario

pytestmark = pytest.mark.integration
__all__ = ["server_url", "url"]  # fixtures, imported for pytest


@pytest.fixture
def world(url: str, tmp_path: Path) -> Iterator[tuple]:
    mall = generate(300, 7)
    server = serve_in_thread(mall)
    leads = SqliteLeadStore(tmp_path / "leads.sqlite")
    people = SqlPeopleStore(url)
    ops = SqlOperationsStore(url)
    assert not ops.is_sqlite
    yield mall, server, leads, people, ops
    server.stop()
    ops.close()
    people.close()


def test_takedown_recheck_on_postgresql(world: tuple) -> None:
    scenario(world)
    _mall, _server, _leads, _people, ops = world
    (job,) = ops.list_jobs()
    assert job.message == "online=1, removed=3, relisted=1, unreachable=0"
