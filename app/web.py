"""The web application factory: opens the stores named by settings and hands them to the workspace.

`create_app(settings)` is what `sweep serve` runs under uvicorn; tests call it with stores of their
own. Every process built this way shares its state through the stores (sessions, lock-outs, versions,
jobs and the audit live in the people's store), so several can run behind a load balancer.
"""

from __future__ import annotations

from fastapi import FastAPI

from adapters import open_lead_store
from adapters.people import open_people_store
from sweep.casework import PeopleStore
from sweep.settings import Settings, get_settings
from sweep.store.base import LeadStore
from workspace.service import Workspace
from workspace.web import build_app


def create_app(
    settings: Settings | None = None, *, store: LeadStore | None = None, people: PeopleStore | None = None
) -> FastAPI:
    settings = settings or get_settings()
    workspace = Workspace(
        settings=settings,
        store=store or open_lead_store(settings),
        people=people or open_people_store(settings),
    )
    workspace.replay_pending()
    return build_app(workspace)
