"""CSRF protection for every state-changing request (POST, PUT, PATCH, DELETE).

A browser sends the session cookie with any request, including one a hostile page makes it send, so
cookie-authenticated changes must also carry a secret the hostile page cannot read: the session's CSRF
token, in the `X-CSRF-Token` header (htmx and the page script send it) or the `csrf_token` form
field (plain forms). Before login there is no session, so the login form uses the double-submit
pattern: a random cookie and the same value in the form. Requests authenticated by an API token
(`Authorization: Bearer …`) carry no ambient credential and need no CSRF token.

Comparison is constant-time. A failure is a 403 with nothing changed.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"
LOGIN_COOKIE = "sweep_login_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def presented(request: Request) -> str | None:
    """The token a request carries: the header first, else the form field (the form is parsed once and
    cached by Starlette, so the endpoint still reads it)."""
    token = request.headers.get(HEADER)
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else None
    return None


async def check(request: Request, expected: str | None) -> None:
    if request.method in SAFE_METHODS:
        return
    if not same(await presented(request), expected):
        raise HTTPException(status_code=403, detail="CSRF 校验失败：请刷新页面后重试")
