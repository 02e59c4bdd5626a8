"""Minimal Elasticsearch: the integ-test-zip distribution (core + transport, no analysis-common, no
painless), run as a system user because Elasticsearch refuses to run as root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

from services import maven, settings
from services.errors import ServiceError, say
from services.java import java_home
from services.recipes.base import Recipe
from services.recipes.search import search_healthy, search_version

ARTIFACTS = (
    maven.Artifact("org.elasticsearch.distribution.integ-test-zip", "elasticsearch", settings.ES_VERSION, "zip"),
)


def elasticsearch_yml(svc_dir: Path, port: int, transport_port: int) -> str:
    """Single-node configuration with data and logs under `svc_dir` and security switched off."""
    return textwrap.dedent(f"""\
        # written by services/recipes/elasticsearch.py; edits are overwritten on the next `up`
        cluster.name: sweep-minimal
        node.name: sweep-minimal-1
        path.data: {svc_dir / "data"}
        path.logs: {svc_dir / "logs"}
        network.host: 127.0.0.1
        http.port: {port}
        transport.port: {transport_port}
        discovery.type: single-node
        cluster.routing.allocation.disk.threshold_enabled: false
        action.auto_create_index: true
        # integ-test-zip 8.x ships x-pack-core + x-pack-security (and apm): without this it
        # auto-configures TLS on HTTP and answers plain http with nothing
        xpack.security.enabled: false
        xpack.security.autoconfiguration.enabled: false
        """)


def jvm_options(heap: str) -> str:
    """`config/jvm.options.d/sweep.options`: a fixed heap."""
    return f"-Xms{heap}\n-Xmx{heap}\n"


def drop_root_prefix(tool: str, user: pwd.struct_passwd) -> list[str]:
    """Command prefix that runs the rest as `user`: `runuser -u` where it exists, else `setpriv`."""
    if tool.endswith("runuser"):
        return [tool, "-u", user.pw_name, "--"]
    return [tool, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]


def java_major(es_version: str) -> int:
    """Elasticsearch 9 needs Java 21; 8.x runs on 17."""
    return 21 if int(es_version.split(".")[0]) >= 9 else 17


def run_env(svc_dir: Path) -> dict[str, str]:
    """Environment of the `bin/elasticsearch` script: JDK, configuration and temporary folders."""
    return {
        "ES_JAVA_HOME": str(java_home(java_major(settings.ES_VERSION))),
        "ES_PATH_CONF": str(svc_dir / "config"),
        "ES_TMPDIR": str(svc_dir / "tmp"),
        "ES_JAVA_OPTS": "-Dsweep.service=elasticsearch",
        "HOME": str(svc_dir),
    }


def _ensure_user() -> pwd.struct_passwd:
    """The system user the node runs as, created once (idempotent)."""
    try:
        return pwd.getpwnam(settings.ES_USER)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise ServiceError(f"elasticsearch: user {settings.ES_USER!r} is missing and only root can create it")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", settings.ES_USER],
        check=True,
        capture_output=True,
    )
    say(f"elasticsearch: created system user {settings.ES_USER}")
    return pwd.getpwnam(settings.ES_USER)


def _home() -> Path:
    """The unpacked distribution in the cache (unpacked once, beside the fetched zip)."""
    lib = maven.fetch(settings.CACHE, "elasticsearch", ARTIFACTS, settings.M2_REPO)
    home = lib.parent / f"elasticsearch-{settings.ES_VERSION}"
    if not (home / "bin" / "elasticsearch").exists():
        zips = list(lib.glob("*.zip"))
        if not zips:
            raise ServiceError(f"elasticsearch: no zip in {lib}")
        tmp = lib.parent / "unpack.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(zips[0]) as zf:
            zf.extractall(tmp)
        inner = next(p for p in tmp.iterdir() if p.is_dir())
        for f in inner.rglob("*"):  # zipfile drops the executable bits
            if f.is_file() and (f.parent.name == "bin" or f.suffix == ".sh"):
                f.chmod(0o755)
        inner.rename(home)
        shutil.rmtree(tmp, ignore_errors=True)
    return home


def _let_others_traverse(path: Path) -> None:
    """o+x (traverse only, never read) on the parents of `path`, so the service user can reach it
    (e.g. through /root)."""
    for p in path.parents:
        if p == Path("/"):
            break
        mode = p.stat().st_mode
        if mode & 0o001 == 0:
            p.chmod(mode | 0o001)


def prepare(svc_dir: Path) -> list[str]:
    """Fetch and unpack, write the configuration, hand the folder to the service user; returns the
    command line that starts the node as that user."""
    user = _ensure_user()
    home = _home()
    _let_others_traverse(home)
    conf = svc_dir / "config"
    svc_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(home / "config", conf)
    (conf / "elasticsearch.yml").write_text(elasticsearch_yml(svc_dir, settings.ES_PORT, settings.ES_TRANSPORT_PORT))
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "jvm.options.d" / "sweep.options").write_text(jvm_options(settings.ES_HEAP))
    for d in ("data", "logs", "tmp"):
        (svc_dir / d).mkdir(exist_ok=True)
    for p in [svc_dir, *svc_dir.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid)
    _let_others_traverse(svc_dir)
    tool = shutil.which("runuser") or shutil.which("setpriv")
    if not tool:
        raise ServiceError("elasticsearch: need runuser or setpriv to drop root")
    return [*drop_root_prefix(tool, user), str(home / "bin" / "elasticsearch")]


RECIPE = Recipe(
    name="elasticsearch",
    port=settings.ES_PORT,
    extra_ports=(settings.ES_TRANSPORT_PORT,),
    env_lines=(f"SWEEP_TEST_ES_MINIMAL_URL=http://127.0.0.1:{settings.ES_PORT}",),
    describe="Elasticsearch integ-test-zip (minimal: no x-pack, no analysis-common)",
    prepare=prepare,
    healthy=search_healthy(settings.ES_PORT),
    version=search_version(settings.ES_PORT, f"elasticsearch {settings.ES_VERSION}"),
    run_env=run_env,
)
