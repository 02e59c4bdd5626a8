"""`sweep users`: workspace accounts (add, list, token, unlock, deactivate, password)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sweep import regions as divisions
from sweep.people import ROLE_LABELS_ZH, Role

if TYPE_CHECKING:
    from sweep.casework import PeopleStore

app = typer.Typer(help="Workspace accounts: roles officer/analyst/supervisor/admin/auditor, jurisdiction codes.")
console = Console()


def _people() -> PeopleStore:
    """Opened lazily so that `sweep --help` does not load SQLAlchemy."""
    from adapters.people import open_people_store

    return open_people_store()


def _password(confirm: bool = True) -> str:
    """From standard input when it is not a terminal (scripts: `echo "$PW" | sweep users add …`), else a
    hidden prompt typed twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("密码", hide_input=True, confirmation_prompt=confirm)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="user name (letters, digits, . _ -)")],
    role: Annotated[Role, typer.Option("--role", help="officer, analyst, supervisor, admin, auditor")],
    region: Annotated[
        str, typer.Option("--region", help="jurisdiction, a GB/T 2260 code: 540000, 540100, 540102; 000000 nationwide")
    ] = divisions.NATIONAL,
    display_name: Annotated[str, typer.Option("--display-name", help="name shown in the workspace")] = "",
) -> None:
    """Create an account; the password comes from standard input or a prompt."""
    from workspace.auth import add_user

    people = _people()
    try:
        add_user(people, name, _password(), role.value, region, display_name=display_name)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]", markup=True, highlight=False)
        raise typer.Exit(2) from None
    finally:
        people.close()
    console.print(
        f"created {name} ({ROLE_LABELS_ZH.get(role.value, role.value)}, {divisions.label(region)})", markup=False
    )


@app.command("list")
def list_users() -> None:
    """Accounts with role, jurisdiction and lock state."""
    people = _people()
    table = Table("user", "role", "jurisdiction", "active", "locked until", "API token")
    for u in people.list_users():
        table.add_row(
            u.username,
            u.role,
            divisions.label(u.jurisdiction),
            "yes" if u.active else "no",
            u.locked_until.isoformat() if u.locked_until else "",
            "set" if u.token_hash else "",
        )
    people.close()
    console.print(table)


@app.command("token")
def token(name: Annotated[str, typer.Argument()]) -> None:
    """Issue a new API token (replacing the old one) and print it once."""
    from workspace.auth import new_api_token

    people = _people()
    try:
        typer.echo(new_api_token(people, name))
    except KeyError:
        console.print(f"no user {name}", markup=False)
        raise typer.Exit(2) from None
    finally:
        people.close()


@app.command("unlock")
def unlock(name: Annotated[str, typer.Argument()]) -> None:
    """Lift a lock-out after failed logins."""
    _change(name, {"locked_until": None, "failed_logins": 0}, "user.unlock")


@app.command("deactivate")
def deactivate(name: Annotated[str, typer.Argument()]) -> None:
    """Disable an account and end its sessions."""
    _change(name, {"active": False}, "user.deactivate")


@app.command("password")
def password(name: Annotated[str, typer.Argument()]) -> None:
    """Set a new password (from standard input or a prompt); ends the account's sessions."""
    from workspace.auth import hash_password

    value = _password()
    if len(value) < 10:
        console.print("密码至少 10 个字符", markup=False)
        raise typer.Exit(2)
    _change(name, {"password_hash": hash_password(value)}, "user.password")


def _change(name: str, changes: dict, action: str) -> None:
    from sweep.audit import AuditEvent

    people = _people()
    try:
        people.update_user(
            name,
            changes,
            AuditEvent(actor="cli", role="admin", action=action, resource_type="user", resource_id=name, source="cli"),
        )
    except KeyError:
        console.print(f"no user {name}", markup=False)
        raise typer.Exit(2) from None
    finally:
        people.close()
    console.print(f"{action}: {name}", markup=False)
