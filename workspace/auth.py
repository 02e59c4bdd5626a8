"""Accounts, passwords, sessions and API tokens.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile). Sessions
live server-side in the people's store, keyed by the SHA-256 of a random cookie value: several
`sweep serve` processes share them, a logout or a password change ends them everywhere, and a copy of
the database holds no usable cookie. A session ends after `session_idle_minutes` without a request and
after `session_max_hours` in any case. `login_max_failures` failures in a row lock an account for
`login_lockout_minutes`, counted in the shared store so that spreading guesses over processes does not
help. An API token (for scripts) is stored only as its hash and shown once.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sweep import regions as divisions
from sweep.audit import AuditEvent
from sweep.casework import PeopleStore, Session, User
from sweep.people import NATIONWIDE, Actor, Role
from sweep.settings import Settings

SESSION_COOKIE = "sweep_session"
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing equaliser: unknown users cost as much as known ones")


def now() -> datetime:
    return datetime.now(UTC)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def digest(token: str) -> str:
    """What the store keeps of a cookie or API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    """The permission subject of an account: its role and its jurisdiction code (000000: nationwide)."""
    scope = NATIONWIDE if user.jurisdiction == divisions.NATIONAL else user.jurisdiction
    return Actor(user.username, Role(user.role), (scope,))


def validate_new_user(username: str, password: str, role: str, jurisdiction: str) -> None:
    """Refuse accounts that could not work or would be easy to take over (raises ValueError)."""
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        raise ValueError("用户名只能由字母、数字和 . _ - 组成（最长 64 个字符）")
    if len(password) < 10:
        raise ValueError("密码至少 10 个字符")
    try:
        Role(role)
    except ValueError:
        raise ValueError(f"未知角色 {role!r}：可选 {', '.join(r.value for r in Role)}") from None
    if jurisdiction != divisions.NATIONAL and jurisdiction not in divisions.names():
        raise ValueError(f"未知的行政区划代码 {jurisdiction!r}（GB/T 2260，如 540000、540100、540102；全国为 000000）")


def add_user(
    people: PeopleStore,
    username: str,
    password: str,
    role: str,
    jurisdiction: str,
    *,
    display_name: str = "",
    by: str = "cli",
    source: str = "cli",
) -> User:
    validate_new_user(username, password, role, jurisdiction)
    if people.get_user(username) is not None:
        raise ValueError(f"用户 {username} 已存在")
    user = User(username, hash_password(password), role, jurisdiction, display_name=display_name)
    people.add_user(
        user,
        AuditEvent(
            actor=by,
            role="admin" if by == "cli" else by,
            action="user.add",
            resource_type="user",
            resource_id=username,
            after=f'{{"role":"{role}","jurisdiction":"{jurisdiction}"}}',
            source=source,
        ),
    )
    return user


def new_api_token(people: PeopleStore, username: str, *, by: str = "cli", source: str = "cli") -> str:
    """Issue (and replace) the account's API token; the plain token is returned once, never stored."""
    token = "swp_" + secrets.token_urlsafe(32)
    people.update_user(
        username,
        {"token_hash": digest(token)},
        AuditEvent(
            actor=by, role="admin", action="user.token", resource_type="user", resource_id=username, source=source
        ),
    )
    return token


@dataclass(slots=True)
class LoginResult:
    session_token: str | None
    error: str | None = None


def login(people: PeopleStore, settings: Settings, username: str, password: str, source: str) -> LoginResult:
    """Check a password and open a session. Failures are audited; the message never says whether the
    account exists."""
    t = now()
    user = people.get_user(username)
    generic = "用户名或密码错误"
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        people.record(
            AuditEvent(
                actor=username[:64] or "?",
                role="",
                action="auth.login_failed",
                resource_type="user",
                resource_id=username[:64],
                allowed=False,
                detail="unknown or inactive account",
                source=source,
            )
        )
        return LoginResult(None, generic)
    if user.locked_until is not None and user.locked_until > t:
        people.record(
            AuditEvent(
                actor=username,
                role=user.role,
                action="auth.login_refused",
                resource_type="user",
                resource_id=username,
                allowed=False,
                detail="account locked",
                source=source,
            )
        )
        minutes = max(1, int((user.locked_until - t).total_seconds() // 60) + 1)
        return LoginResult(None, f"登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        after = people.login_failed(
            username, t, settings.login_max_failures, t + timedelta(minutes=settings.login_lockout_minutes)
        )
        locked = after is not None and after.locked_until is not None and after.locked_until > t
        people.record(
            AuditEvent(
                actor=username,
                role=user.role,
                action="auth.login_failed",
                resource_type="user",
                resource_id=username,
                allowed=False,
                detail="locked" if locked else "wrong password",
                source=source,
            )
        )
        if locked:
            return LoginResult(None, f"登录失败次数过多，账户已锁定 {settings.login_lockout_minutes} 分钟")
        return LoginResult(None, generic)
    if _hasher.check_needs_rehash(user.password_hash):
        people.update_user(username, {"password_hash": hash_password(password)}, None)
    token = secrets.token_urlsafe(32)
    people.create_session(
        Session(
            token_hash=digest(token),
            username=username,
            csrf_token=secrets.token_urlsafe(32),
            created_at=t,
            expires_at=t + timedelta(hours=settings.session_max_hours),
            idle_until=t + timedelta(minutes=settings.session_idle_minutes),
            source=source[:128],
        ),
        AuditEvent(
            actor=username,
            role=user.role,
            action="auth.login",
            resource_type="user",
            resource_id=username,
            source=source,
        ),
    )
    return LoginResult(token)


def session_user(people: PeopleStore, settings: Settings, token: str | None) -> tuple[Session, User] | None:
    """The live session and its account for a cookie value, or None (unknown, expired, idle, locked)."""
    if not token:
        return None
    session = people.get_session(digest(token))
    if session is None:
        return None
    t = now()
    if session.expires_at <= t or session.idle_until <= t:
        people.delete_session(session.token_hash, None)
        return None
    user = people.get_user(session.username)
    if user is None or not user.active:
        return None
    # write the idle deadline only when it moved noticeably: one write a minute, not one per request
    idle = t + timedelta(minutes=settings.session_idle_minutes)
    if (idle - session.idle_until).total_seconds() > 60:
        people.touch_session(session.token_hash, idle)
    return session, user


def token_user(people: PeopleStore, token: str | None) -> User | None:
    if not token:
        return None
    user = people.user_by_token(digest(token))
    return user if user is not None and user.active else None
