"""A complaint's page lists the cases it is linked to (case number, title, status, a link to the case),
only those the viewer may open: a case of another jurisdiction is left out, and a role that reads no
cases gets no case section at all. The JSON detail carries the same list."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.casework import Case
from sweep.people import Actor, Role
from tests.unit.test_workspace_complaints import seed_complaints
from tests.unit.test_workspace_support import Env, make_env

LHASA_OFFICER = Actor("officer", Role.officer, ("540100",))
QINGHAI_OFFICER = Actor("qh_officer", Role.officer, ("630000",))
NATIONAL = Actor("national", Role.supervisor, ("全国",))


@pytest.fixture
def env(tmp_path: Path) -> tuple[Env, Case, Case]:
    """C-LS-1 (a Lhasa complaint) linked to a Lhasa case and, by a national account, to a Qinghai case."""
    env = make_env(tmp_path)
    seed_complaints(env)
    ws = env.app.state.workspace
    lhasa = ws.create_case(LHASA_OFFICER, [env.ids["L1"]], source="t", title="拉萨化工 <b>无证</b> 销售氰化钠")
    ws.link_complaints(LHASA_OFFICER, lhasa.id, ["C-LS-1"], source="t")
    qinghai = ws.create_case(QINGHAI_OFFICER, [env.ids["Q1"]], source="t", title="西宁化工 跨区销售")
    env.people.link_complaints(
        qinghai.id, ["C-LS-1"], ws._event(NATIONAL, "case.complaint_link", "case", str(qinghai.id), "t")
    )
    return env, lhasa, qinghai


def cases_table(html: str) -> str:
    return html.split('id="complaint-cases"')[1].split("</table>")[0]


def test_the_officer_sees_the_case_of_their_jurisdiction_with_number_title_status_and_link(
    env: tuple[Env, Case, Case],
) -> None:
    e, lhasa, qinghai = env
    client, _ = e.client("officer")
    page = client.get("/complaints/C-LS-1")
    assert page.status_code == 200
    table = cases_table(page.text)
    assert f'<a href="/cases/{lhasa.id}">{lhasa.number}</a>' in table
    assert "拉萨化工 &lt;b&gt;无证&lt;/b&gt; 销售氰化钠" in table  # a title is text, never markup
    assert "<td>立案</td>" in table
    assert qinghai.number not in page.text and "西宁化工 跨区销售" not in page.text
    assert table.count('class="case"') == 1


def test_a_nationwide_reader_sees_both_cases_and_a_new_status(env: tuple[Env, Case, Case]) -> None:
    e, lhasa, qinghai = env
    version = e.people.get_case(lhasa.id).version  # linking the complaint moved it on
    e.app.state.workspace.update_case(LHASA_OFFICER, lhasa.id, version=version, source="t", status="investigating")
    client, _ = e.client("auditor")
    table = cases_table(client.get("/complaints/C-LS-1").text)
    assert table.count('class="case"') == 2
    assert f'<a href="/cases/{qinghai.id}">{qinghai.number}</a>' in table
    assert "西宁化工 跨区销售" in table
    assert "<td>调查</td>" in table and "<td>立案</td>" in table


def test_a_complaint_in_no_case_says_so(env: tuple[Env, Case, Case]) -> None:
    e, _lhasa, _qinghai = env
    client, _ = e.client("officer")
    table = cases_table(client.get("/complaints/C-LS-2").text)
    assert "尚未关联案件" in table and 'class="case"' not in table


def test_a_role_that_reads_no_cases_gets_no_case_section(env: tuple[Env, Case, Case]) -> None:
    e, lhasa, _qinghai = env
    client, _ = e.client("analyst")
    page = client.get("/complaints/C-LS-1")
    assert page.status_code == 200
    assert 'id="complaint-cases"' not in page.text and lhasa.number not in page.text
    assert client.get("/api/v1/complaints/C-LS-1").json()["cases"] == []


def test_the_json_detail_lists_the_same_cases(env: tuple[Env, Case, Case]) -> None:
    e, lhasa, _qinghai = env
    client, _ = e.client("officer")
    body = client.get("/api/v1/complaints/C-LS-1").json()
    assert body["cases"] == [
        {"id": lhasa.id, "number": lhasa.number, "title": "拉萨化工 <b>无证</b> 销售氰化钠", "status": "filed"}
    ]
