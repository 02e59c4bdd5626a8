"""Process supervision for the servers: start, wait until healthy, stop, and who is who (psutil).

A server runs as a session leader with its output in a log file and a PID file beside its state. The
PID file holds the PID and the process creation time: after a reboot or a crash the PID may belong to
an unrelated process, which `stop` must never signal.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

POLL_S = 0.5
_CREATED_TOLERANCE_S = 0.05
# PID files written before creation times were stored as epoch seconds hold clock ticks since boot
# (field 22 of /proc/PID/stat); they are still read so servers started by an older checkout stay ours.
_LEGACY_TOLERANCE_S = 1.0


# ------------------------------------------------------------------------------------------ network


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port (what a client would see)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def listener(port: int) -> psutil.Process | None:
    """The process listening on TCP `port`, or None when nobody does or it cannot be seen (another
    user's socket without root): used to name who holds a port, never to decide health."""
    with contextlib.suppress(psutil.AccessDenied, PermissionError):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                with contextlib.suppress(psutil.NoSuchProcess):
                    return psutil.Process(conn.pid)
    return None


def describe(proc: psutil.Process | None) -> str:
    """'pid 123 (java)' for messages; 'an unknown process' when it cannot be seen."""
    if proc is None:
        return "an unknown process"
    try:
        return f"pid {proc.pid} ({proc.name()})"
    except psutil.Error:
        return f"pid {proc.pid}"


def http_json(url: str, timeout: float = 3.0) -> Any:
    """GET a JSON document (health and version endpoints of the search servers)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


# ---------------------------------------------------------------------------------------- processes


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie; a zombie child of ours is reaped on the way."""
    try:
        if proc.status() != psutil.STATUS_ZOMBIE:
            return proc.is_running()
    except psutil.NoSuchProcess:
        return False
    with contextlib.suppress(psutil.Error, ChildProcessError):
        proc.wait(timeout=0)
    return False


def pid_file_text(proc: psutil.Process) -> str:
    """'PID created=EPOCH' with the creation time as psutil reports it."""
    return f"{proc.pid} created={proc.create_time()!r}\n"


def read_pid_file(path: Path) -> psutil.Process | None:
    """The process a PID file names, if it still runs and is the one that was started (same creation
    time); None otherwise."""
    try:
        fields = path.read_text().split()
        pid, stamp = int(fields[0]), (fields[1] if len(fields) > 1 else None)
        proc = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.Error):
        return None
    if not alive(proc):
        return None
    if stamp is not None and not _same_start(proc, stamp):
        return None
    return proc


def _same_start(proc: psutil.Process, stamp: str) -> bool:
    try:
        created = proc.create_time()
        if stamp.startswith("created="):
            return abs(created - float(stamp.removeprefix("created="))) <= _CREATED_TOLERANCE_S
        legacy = psutil.boot_time() + int(stamp) / os.sysconf("SC_CLK_TCK")
    except (ValueError, psutil.Error):
        return False
    return abs(created - legacy) <= _LEGACY_TOLERANCE_S


def launch(cmd: Sequence[str], *, cwd: Path, log_file: Path, pid_file: Path, env: Mapping[str, str]) -> psutil.Popen:
    """Start `cmd` as a session leader (so it outlives this command and never gets our terminal's
    signals), appending its output to `log_file`, and record it in `pid_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = psutil.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    pid_file.write_text(pid_file_text(proc))
    return proc


def wait_until(done: Callable[[], bool], timeout_s: float, interval_s: float = POLL_S) -> bool:
    """Call `done` every `interval_s` until it returns True (-> True) or `timeout_s` passes (-> False).

    An exception from `done` is not retried: it ends the wait and propagates (a server that died while
    starting must be reported at once, not after the timeout).
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(interval_s),
        retry=retry_if_result(lambda finished: not finished),
        retry_error_callback=lambda _state: False,
    )
    return bool(retrying(done))


def stop(proc: psutil.Process, timeout_s: float, on_kill: Callable[[], None] | None = None) -> None:
    """SIGTERM the process and all its descendants (Elasticsearch is a runuser, a CLI JVM and the
    server JVM: all must go), then SIGKILL whatever is left after `timeout_s`."""
    try:
        family = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, left = psutil.wait_procs(family, timeout=timeout_s)
    if left:
        if on_kill:
            on_kill()
        for p in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(left, timeout=10)


def tail(path: Path, n: int) -> str:
    """The last `n` lines of a log, for error messages and `logs`."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"
