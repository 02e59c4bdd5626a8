"""PostgreSQL from Debian's package: the production store of people's state (accounts, sessions, decisions,
cases, the audit trail; see `adapters.people`).

Nothing is fetched from Maven: `apt-get install postgresql` brings the server (done here when it is
missing and we are root). We never touch the package's own cluster: `initdb` makes a cluster of our own
under `.services/postgresql/data`, owned by the unprivileged `postgres` user the package creates (the
server refuses to run as root), listening on 127.0.0.1 only, its Unix socket in our folder. The
superuser is `sweep` with trust authentication, which is acceptable only because the cluster listens on
loopback of a development or CI machine; a deployment sets SWEEP_PEOPLE_URL with a password from the
environment.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from services import settings
from services.errors import ServiceError, say
from services.process import port_open
from services.recipes.base import Recipe
from services.recipes.elasticsearch import drop_root_prefix

PORT = 29432 + settings.PORT_OFFSET
USER = "postgres"
"""The service user Debian's package creates."""
SUPERUSER = "sweep"
URL = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{PORT}/postgres"


def bindir() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/15/bin on Debian 12)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def ensure_installed() -> Path:
    bin_dir = bindir()
    if bin_dir is not None:
        return bin_dir
    if os.geteuid() != 0:
        raise ServiceError("postgresql: not installed; run `apt-get install postgresql` as root")
    say("postgresql: installing Debian's package (apt-get install postgresql)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    bin_dir = bindir()
    if bin_dir is None:
        raise ServiceError("postgresql: installed, but no /usr/lib/postgresql/*/bin/postgres")
    return bin_dir


def _let_others_traverse(path: Path) -> None:
    for p in path.parents:
        if p == Path("/"):
            break
        mode = p.stat().st_mode
        if mode & 0o001 == 0:
            p.chmod(mode | 0o001)


def _as_service_user() -> list[str]:
    """`runuser -u postgres --` when we are root, nothing when we already are an ordinary user."""
    if os.geteuid() != 0:
        return []
    tool = shutil.which("runuser") or shutil.which("setpriv")
    if not tool:
        raise ServiceError("postgresql: need runuser or setpriv to drop root")
    return drop_root_prefix(tool, pwd.getpwnam(USER))


def server_command(bin_dir: Path, data: Path, socket_dir: Path, port: int) -> list[str]:
    return [
        str(bin_dir / "postgres"),
        "-D", str(data),
        "-p", str(port),
        "-k", str(socket_dir),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "max_connections=200",
        "-c", "shared_buffers=128MB",
    ]  # fmt: skip


def prepare(svc_dir: Path) -> list[str]:
    """Install if needed, create our cluster on first use, hand it to the service user; returns the
    command line that starts the server."""
    bin_dir = ensure_installed()
    data, sockets = svc_dir / "data", svc_dir / "run"
    for p in (svc_dir, sockets):
        p.mkdir(parents=True, exist_ok=True)
    prefix = _as_service_user()
    if prefix:
        user = pwd.getpwnam(USER)
        _let_others_traverse(svc_dir)
        for p in (svc_dir, sockets):
            os.chown(p, user.pw_uid, user.pw_gid)
        if data.exists():
            os.chown(data, user.pw_uid, user.pw_gid)
    if not (data / "PG_VERSION").exists():
        initdb = [
            str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale",
        ]  # fmt: skip
        result = subprocess.run([*prefix, *initdb], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"postgresql: initdb failed: {result.stderr.strip()[-500:]}")
        say(f"postgresql: created a cluster in {data}")
    return [*prefix, *server_command(bin_dir, data, sockets, PORT)]


def healthy() -> bool:
    if not port_open(PORT):
        return False
    bin_dir = bindir()
    if bin_dir is None:
        return False
    ready = subprocess.run(
        [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(PORT), "-U", SUPERUSER, "-d", "postgres"],
        capture_output=True,
        check=False,
    )
    return ready.returncode == 0


def version() -> str:
    bin_dir = bindir()
    if bin_dir is None:
        return "postgresql (not installed)"
    out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "postgresql"


RECIPE = Recipe(
    name="postgresql",
    port=PORT,
    extra_ports=(),
    env_lines=(f"SWEEP_PEOPLE_URL={URL}",),
    describe="PostgreSQL (Debian's package, own cluster on 127.0.0.1)",
    prepare=prepare,
    healthy=healthy,
    version=version,
)
