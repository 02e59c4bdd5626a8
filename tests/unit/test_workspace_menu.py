"""The workspace menu shows each role exactly the pages that let it in: every entry shown answers 200,
and every entry of the full menu that is not shown answers something else (403, or the queue's redirect
of an operator to the crawl jobs). The expected menus are written out per role."""

from __future__ import annotations

import re

import pytest

from tests.unit.test_workspace_complaints import seed_complaints
from tests.unit.test_workspace_support import PASSWORD, Env, add_user, make_env

FULL_MENU = (
    "/leads",
    "/leads?mine=1",
    "/cases",
    "/complaints",
    "/dashboard",
    "/dismissals",
    "/audit",
    "/users",
    "/ops/jobs",
    "/api/v1/docs",
)
READER = ("/leads", "/leads?mine=1", "/complaints", "/dashboard", "/dismissals")
EXPECTED = {
    "officer": (*READER[:2], "/cases", *READER[2:], "/api/v1/docs"),
    "supervisor": (*READER[:2], "/cases", *READER[2:], "/audit", "/users", "/api/v1/docs"),
    "analyst": (*READER, "/api/v1/docs"),
    "auditor": (*READER[:2], "/cases", *READER[2:], "/audit", "/api/v1/docs"),
    "admin": (*READER[:2], "/cases", *READER[2:], "/audit", "/users", "/ops/jobs", "/api/v1/docs"),
    "operator": ("/ops/jobs", "/api/v1/docs"),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    env = make_env(tmp_path_factory.mktemp("menu"))
    add_user(env.people, "operator", PASSWORD, "operator", "000000")
    seed_complaints(env)  # the complaints entry with a complaint store wired, as deployed
    return env


def menu_of(html: str) -> tuple[str, ...]:
    nav = html.split("<nav>", 1)[1].split("</nav>", 1)[0]
    return tuple(h.replace("&amp;", "&") for h in re.findall(r'<a href="([^"]+)"', nav))


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_the_menu_shows_exactly_the_pages_that_answer(env: Env, role: str) -> None:
    client, _ = env.client(role)
    landing = client.get("/leads")  # an operator is sent on to the crawl jobs, and sees the menu there
    assert landing.status_code == 200
    shown = menu_of(landing.text)
    assert shown == EXPECTED[role]
    for href in FULL_MENU:
        status = client.get(href, follow_redirects=False).status_code
        assert (status == 200) == (href in shown), f"{role} {href}: {status}"
