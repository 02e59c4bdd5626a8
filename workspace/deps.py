"""Request dependencies: the workspace, the current person, and CSRF on every change.

`current` authenticates a request by API token (`Authorization: Bearer …`) or by session cookie and,
for cookie sessions, checks the CSRF token of every state-changing method (`workspace.csrf`). Every
route that reads or changes anything depends on it, so no such route can forget either check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from sweep.casework import Session, User
from sweep.people import Actor
from workspace import auth, csrf
from workspace.service import Workspace


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


@dataclass(slots=True)
class Current:
    user: User
    actor: Actor
    session: Session | None
    """None when authenticated by API token."""
    source: str

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


def get_workspace(request: Request) -> Workspace:
    return request.app.state.workspace


def client_source(request: Request) -> str:
    """From where, for the audit: the peer address (a proxy's own address when behind one)."""
    return request.client.host if request.client else "?"


async def current(request: Request, ws: Annotated[Workspace, Depends(get_workspace)]) -> Current:
    source = client_source(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = auth.token_user(ws.people, header[7:].strip())
        if user is None:
            raise HTTPException(status_code=401, detail="API 令牌无效", headers={"WWW-Authenticate": "Bearer"})
        return Current(user, auth.actor_of(user), None, source)
    found = auth.session_user(ws.people, ws.settings, request.cookies.get(auth.SESSION_COOKIE))
    if found is None:
        if request.method not in csrf.SAFE_METHODS:
            # an unauthenticated change is refused outright; no redirect that a form could follow
            raise HTTPException(status_code=403, detail="未登录或会话已过期")
        raise LoginRequired()
    session, user = found
    await csrf.check(request, session.csrf_token)
    return Current(user, auth.actor_of(user), session, source)


CurrentDep = Annotated[Current, Depends(current)]
WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
