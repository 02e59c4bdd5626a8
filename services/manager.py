"""Real Kafka / OpenSearch / Elasticsearch servers on 127.0.0.1 without Docker: up, down, status, logs.

Why this exists: this machine (and CI) has Java and Maven but no container engine, and the integration
tests must talk to genuine servers, not fakes. The work is split by job:

* `services.maven`: fetch artifacts from Maven Central into ``~/.cache/sweep-services`` (never the repo);
* `services.recipes.*`: what each server needs (configuration, command line, health check);
* `services.process`: start as a background process, wait until healthy, stop (SIGTERM, then SIGKILL
  after a timeout), tell which process is ours (psutil, tenacity);
* this module: the commands over the recipes, with logs, PID files and data under ``.services/``
  (gitignored) and the ``.services/env`` file that tests and shells read.

Ports are fixed (see `services.settings`). `up` is idempotent: a server already answering on its port
is left alone.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import psutil

from services.errors import ServiceError, say
from services.process import alive, describe, launch, listener, port_open, read_pid_file, stop, tail, wait_until
from services.recipes import RECIPES, Recipe
from services.settings import REPO, START_TIMEOUT_S, STATE, STOP_TIMEOUT_S

__all__ = [
    "ALL",
    "REPO",
    "SERVICES",
    "START_TIMEOUT_S",
    "STATE",
    "STOP_TIMEOUT_S",
    "ServiceError",
    "down",
    "logs",
    "main",
    "print_status",
    "render_env",
    "say",
    "status",
    "up",
    "write_env",
]

SERVICES: dict[str, Recipe] = RECIPES
ALL = tuple(SERVICES)


def service_dir(name: str) -> Path:
    """Configuration and data of one server."""
    return STATE / name


def pid_file(name: str) -> Path:
    """'PID created=EPOCH' of the server this tool started (see `services.process.read_pid_file`)."""
    return STATE / f"{name}.pid"


def log_file(name: str) -> Path:
    """The server's stdout and stderr, appended across starts."""
    return STATE / "logs" / f"{name}.log"


def env_file() -> Path:
    """KEY=VALUE lines for the servers that answer (see `write_env`)."""
    return STATE / "env"


def _running(recipe: Recipe) -> psutil.Process | None:
    """The server process this tool started, if it still runs (see `services.process.read_pid_file`)."""
    return read_pid_file(pid_file(recipe.name))


def _select(names: Iterable[str] | None) -> list[Recipe]:
    chosen = list(names or ()) or list(ALL)
    unknown = [n for n in chosen if n not in SERVICES]
    if unknown:
        raise ServiceError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    return [SERVICES[n] for n in dict.fromkeys(chosen)]


# ---------------------------------------------------------------------------------------------- up/down


def _launch(recipe: Recipe) -> tuple[psutil.Process, float]:
    """Prepare (fetch, configure) and start; returns the process and the start instant (after fetching)."""
    svc_dir = service_dir(recipe.name)
    cmd = recipe.prepare(svc_dir)
    proc = launch(
        cmd,
        cwd=svc_dir,
        log_file=log_file(recipe.name),
        pid_file=pid_file(recipe.name),
        env={**os.environ, **recipe.run_env(svc_dir)},
    )
    return proc, time.monotonic()


def up(names: Iterable[str] | None = None, timeout_s: float = START_TIMEOUT_S) -> dict[str, float]:
    """Start the named servers (all by default) and wait until each is healthy; returns seconds per server.

    Fetching is sequential (one Maven at a time on the shared local repository); the JVMs then boot in
    parallel, which is where most of the time goes.
    """
    t0 = time.monotonic()
    STATE.mkdir(parents=True, exist_ok=True)
    started: dict[str, float] = {}
    pending: dict[str, tuple[Recipe, psutil.Process, float]] = {}
    for recipe in _select(names):
        proc = _running(recipe)
        if recipe.healthy():
            say(
                f"{recipe.name}: already running on 127.0.0.1:{recipe.port}"
                + (f" (pid {proc.pid})" if proc else " (not started by this tool)")
            )
            started[recipe.name] = 0.0
            continue
        if proc is not None:
            say(f"{recipe.name}: pid {proc.pid} exists but is not healthy yet; waiting for it")
            pending[recipe.name] = (recipe, proc, time.monotonic())
            continue
        busy = [p for p in recipe.ports if port_open(p)]
        if busy:
            holders = ", ".join(describe(listener(p)) for p in busy)
            raise ServiceError(
                f"{recipe.name}: port(s) {busy} are taken by another process ({holders}); free them first"
            )
        proc, t_svc = _launch(recipe)
        say(f"{recipe.name}: started pid {proc.pid}, log {log_file(recipe.name)}")
        pending[recipe.name] = (recipe, proc, t_svc)

    def all_healthy() -> bool:
        for name, (recipe, proc, t_svc) in list(pending.items()):
            if recipe.healthy():
                started[name] = time.monotonic() - t_svc
                say(f"{name}: healthy on 127.0.0.1:{recipe.port} ({recipe.version()}) after {started[name]:.1f}s")
                del pending[name]
            elif not alive(proc):
                pid_file(name).unlink(missing_ok=True)
                log = log_file(name)
                raise ServiceError(f"{name}: process {proc.pid} exited during start; log {log}:\n{tail(log, 30)}")
        return not pending

    if not wait_until(all_healthy, timeout_s):
        names_left = ", ".join(pending)
        # a half-started server would block the ports for the next attempt: stop what we started
        down(list(pending))
        raise ServiceError(f"{names_left}: not healthy after {timeout_s:.0f}s; see {STATE / 'logs'}")
    write_env()
    say(f"all up in {time.monotonic() - t0:.1f}s; env file {env_file()}")
    return started


def down(names: Iterable[str] | None = None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, wait, then SIGKILL after `timeout_s`; only processes whose PID file this tool wrote."""
    for recipe in _select(names):
        proc = _running(recipe)
        if proc is None:
            pid_file(recipe.name).unlink(missing_ok=True)
            note = ""
            if port_open(recipe.port):
                note = f" (but {describe(listener(recipe.port))} answers on its port; not ours, left alone)"
            say(f"{recipe.name}: not running{note}")
            continue
        t0 = time.monotonic()
        stop(
            proc,
            timeout_s,
            on_kill=lambda r=recipe: say(f"{r.name}: still alive after {timeout_s:.0f}s, sending SIGKILL"),
        )
        pid_file(recipe.name).unlink(missing_ok=True)
        say(f"{recipe.name}: stopped (pid {proc.pid}) in {time.monotonic() - t0:.1f}s")
    write_env()


# ------------------------------------------------------------------------------------------ env, status


def render_env(recipes: Iterable[Recipe], answers: Callable[[int], bool]) -> str:
    """KEY=VALUE lines for the servers whose main port `answers` now."""
    lines = ["# written by services/manager.py: servers running on this machine"]
    for recipe in recipes:
        if answers(recipe.port):
            lines += recipe.env_lines
    return "\n".join(lines) + "\n"


def write_env() -> None:
    """`.services/env`: what answers now (tests and shells read it; `set -a; . .services/env`)."""
    STATE.mkdir(parents=True, exist_ok=True)
    env_file().write_text(render_env(SERVICES.values(), port_open))


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def status() -> list[dict[str, str]]:
    """One row per server: state (healthy, healthy (external), starting/unhealthy, stopped), pid, ports."""
    rows = []
    for recipe in SERVICES.values():
        proc = _running(recipe)
        healthy = recipe.healthy()
        state = "healthy" if healthy else ("starting/unhealthy" if proc else "stopped")
        if healthy and proc is None:
            state = "healthy (external)"
        rows.append(
            {
                "service": recipe.name,
                "state": state,
                "pid": str(proc.pid if proc else "-"),
                "ports": ", ".join(str(p) for p in recipe.ports),
                "version": recipe.version() if healthy else recipe.describe,
                "log": _shown(log_file(recipe.name)),
            }
        )
    return rows


def print_status() -> bool:
    """The status table; True when every server is healthy."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title="sweep services (127.0.0.1)",
        caption=f"logs: {_shown(STATE / 'logs')}/<service>.log, env: {env_file().name}",
    )
    for col in ("service", "state", "pid", "ports", "version"):
        table.add_column(col, no_wrap=col != "version")
    rows = status()
    for r in rows:
        color = "green" if r["state"].startswith("healthy") else ("yellow" if r["pid"] != "-" else "red")
        table.add_row(
            *(f"[{color}]{r[k]}[/]" if k == "state" else r[k] for k in ("service", "state", "pid", "ports", "version"))
        )
    Console().print(table)
    return all(r["state"].startswith("healthy") for r in rows)


def logs(name: str, lines: int = 50, follow: bool = False) -> None:
    """Print the last lines of a server's log, or follow it (replaces this process with `tail -F`)."""
    log = log_file(_select([name])[0].name)
    if not log.exists():
        raise ServiceError(f"{name}: no log yet at {log}")
    if follow:
        os.execvp("tail", ["tail", "-n", str(lines), "-F", str(log)])
    print(tail(log, lines))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for services/*.sh: `python -m services.manager up|down|status|logs [names]`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("up", "down", "status", "logs"):
        print("usage: python -m services.manager up|down|status|logs [kafka|opensearch|elasticsearch]...")
        return 2
    cmd, names = args[0], args[1:]
    try:
        if cmd == "up":
            up(names)
        elif cmd == "down":
            down(names)
        elif cmd == "status":
            return 0 if print_status() else 1
        else:
            for n in names or ALL:
                print(f"----- {n}")
                logs(n)
    except ServiceError as exc:
        say(f"ERROR: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
