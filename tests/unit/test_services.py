"""services/: the pure pieces (Maven coordinates, configuration files, command lines, env file) and the
process supervision on small local processes; the real servers are exercised by `services/up.sh`."""

from __future__ import annotations

import os
import pwd
import socket
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from services import manager, maven
from services.errors import ServiceError
from services.java import parse_java_version
from services.process import (
    alive,
    launch,
    listener,
    pid_file_text,
    port_open,
    read_pid_file,
    stop,
    wait_until,
)
from services.recipes import RECIPES, Recipe, elasticsearch, kafka, opensearch

# ------------------------------------------------------------------------------------------------ maven


def test_coordinates_name_the_cache_folder_after_the_main_artifact() -> None:
    artifacts = [maven.Artifact("org.apache.kafka", "kafka_2.13", "4.4.0"), maven.Artifact("g", "dep", "9.9")]
    assert maven.cache_dir(Path("/c"), "kafka", artifacts) == Path("/c/kafka-4.4.0")
    assert maven.lib_dir(Path("/c"), "kafka", artifacts) == Path("/c/kafka-4.4.0/lib")
    assert str(artifacts[0]) == "org.apache.kafka:kafka_2.13:4.4.0:jar"


def test_pom_depends_on_exactly_the_artifacts() -> None:
    artifacts = [
        maven.Artifact("org.elasticsearch.distribution.integ-test-zip", "elasticsearch", "8.19.21", "zip"),
        maven.Artifact("org.apache.logging.log4j", "log4j-slf4j-impl", "2.25.5"),
    ]
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.fromstring(maven.render_pom("x-deps", artifacts))
    assert root.findtext("m:artifactId", namespaces=ns) == "x-deps"
    assert root.findtext("m:packaging", namespaces=ns) == "pom"
    deps = [
        tuple(d.findtext(f"m:{k}", namespaces=ns) for k in ("groupId", "artifactId", "version", "type"))
        for d in root.iterfind("m:dependencies/m:dependency", ns)
    ]
    assert deps == [tuple(a) for a in artifacts]


def test_mvn_copies_the_runtime_tree_and_may_use_a_separate_local_repository() -> None:
    cmd = maven.mvn_command(Path("/c/k/pom.xml"), Path("/c/k/lib"))
    assert cmd[:4] == ["mvn", "-B", "-f", "/c/k/pom.xml"]
    assert "dependency:copy-dependencies" in cmd and "-DoutputDirectory=/c/k/lib" in cmd
    assert "-DincludeScope=runtime" in cmd
    assert not any(a.startswith("-Dmaven.repo.local") for a in cmd)
    assert maven.mvn_command(Path("p"), Path("l"), "/tmp/m2")[-1] == "-Dmaven.repo.local=/tmp/m2"


def test_a_completed_fetch_is_not_repeated(tmp_path: Path) -> None:
    artifacts = [maven.Artifact("g", "a", "1.0")]
    folder = tmp_path / "a-1.0"
    folder.mkdir()
    (folder / ".complete").write_text("[]")
    # no mvn is called: PATH is irrelevant once the marker is there
    assert maven.fetch(tmp_path, "a", artifacts) == folder / "lib"


# ------------------------------------------------------------------------------------------------ recipes


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {k: v for k, v in pairs}


def test_kafka_configuration_uses_the_given_ports_and_data_dir() -> None:
    props = _properties(kafka.server_properties(31092, 31093, Path("/s/kafka/data")))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:31092,CONTROLLER://127.0.0.1:31093"
    assert props["advertised.listeners"] == props["listeners"]
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:31093"
    assert props["log.dirs"] == "/s/kafka/data"
    assert props["offsets.topic.replication.factor"] == "1"


def test_kafka_command_lines() -> None:
    java, lib, log4j, conf = Path("/j/bin/java"), Path("/c/kafka-4.4.0/lib"), Path("/s/log4j2.properties"), Path("/s/p")
    server = kafka.server_command(java, lib, log4j, conf)
    assert server[0] == "/j/bin/java" and server[-2:] == ["kafka.Kafka", "/s/p"]
    assert server[server.index("-cp") + 1] == "/c/kafka-4.4.0/lib/*"
    assert "-Dlog4j2.configurationFile=/s/log4j2.properties" in server
    assert server.index("-Xmx1g") < server.index("-cp")  # JVM options before the class path
    fmt = kafka.format_command(java, lib, log4j, conf, "abc")
    tool = ["kafka.tools.StorageTool", "format", "--standalone", "-t", "abc", "-c", "/s/p"]
    assert fmt[fmt.index("kafka.tools.StorageTool") :] == tool
    cluster_id = kafka.new_cluster_id()
    assert len(cluster_id) == 22 and "=" not in cluster_id


def test_opensearch_command_passes_ports_to_the_launcher() -> None:
    cmd = opensearch.command(
        Path("/j/java"), Path("/c/os/lib"), Path("/c/os/L.java"), Path("/s/base"), 31200, 31300, "2g"
    )
    assert cmd[:3] == ["/j/java", "-Xms2g", "-Xmx2g"]
    assert cmd[-4:] == ["/c/os/L.java", "/s/base", "31200", "31300"]
    assert "setMaxHttpPort(httpPort)" in opensearch.OPENSEARCH_LAUNCHER


def test_elasticsearch_configuration_and_user_switch() -> None:
    conf = yaml.safe_load(elasticsearch.elasticsearch_yml(Path("/s/es"), 31210, 31310))
    assert conf["http.port"] == 31210 and conf["transport.port"] == 31310
    assert conf["path.data"] == "/s/es/data" and conf["path.logs"] == "/s/es/logs"
    assert conf["xpack.security.enabled"] is False and conf["discovery.type"] == "single-node"
    assert elasticsearch.jvm_options("512m") == "-Xms512m\n-Xmx512m\n"
    user = pwd.struct_passwd(("sweepes", "x", 998, 997, "", "/", "/usr/sbin/nologin"))
    assert elasticsearch.drop_root_prefix("/usr/sbin/runuser", user) == ["/usr/sbin/runuser", "-u", "sweepes", "--"]
    assert elasticsearch.drop_root_prefix("/usr/bin/setpriv", user) == [
        "/usr/bin/setpriv",
        "--reuid=998",
        "--regid=997",
        "--init-groups",
    ]
    assert elasticsearch.java_major("8.19.21") == 17 and elasticsearch.java_major("9.1.0") == 21


def test_recipes_in_order_with_the_fixed_ports() -> None:
    assert list(RECIPES) == ["kafka", "opensearch", "elasticsearch", "postgresql"]
    offset = int(os.environ.get("SWEEP_SERVICES_PORT_OFFSET", "0"))
    assert [r.ports for r in RECIPES.values()] == [
        (29092 + offset, 29093 + offset),
        (29200 + offset, 29300 + offset),
        (29210 + offset, 29310 + offset),
        (29432 + offset,),
    ]


def test_java_versions() -> None:
    assert parse_java_version("17.0.12") == 17
    assert parse_java_version("21") == 21
    assert parse_java_version("1.8.0_402") == 8


# ------------------------------------------------------------------------------------------------ env file


def _fake(name: str, port: int, line: str) -> Recipe:
    return Recipe(name, port, (), (line,), name, lambda _d: [], lambda: False, lambda: "v")


def test_env_file_lists_only_servers_that_answer() -> None:
    recipes = [_fake("a", 1, "A=1"), _fake("b", 2, "B=2"), _fake("c", 3, "C=3")]
    text = manager.render_env(recipes, lambda port: port != 2)
    assert text == "# written by services/manager.py: servers running on this machine\nA=1\nC=3\n"
    assert manager.render_env(recipes, lambda _port: False).count("\n") == 1


def test_unknown_names_and_usage() -> None:
    with pytest.raises(ServiceError, match="unknown service"):
        manager.down(["zookeeper"])
    assert manager.main([]) == 2


# ------------------------------------------------------------------------------------------------ processes

_FREE_PORT_SCRIPT = """
import socket, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
if len(sys.argv) > 1:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(600)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """manager with its state in a temporary folder and a single fake server (a Python process that
    listens on a free port and has a child, as Elasticsearch's CLI has its server JVM)."""
    port = _free_port()

    def prepare(svc_dir: Path) -> list[str]:
        svc_dir.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-c", _FREE_PORT_SCRIPT, str(port)]

    recipe = Recipe(
        name="fake",
        port=port,
        extra_ports=(),
        env_lines=(f"SWEEP_FAKE=127.0.0.1:{port}",),
        describe="a Python process",
        prepare=prepare,
        healthy=lambda: port_open(port),
        version=lambda: "fake 1",
    )
    monkeypatch.setattr(manager, "STATE", tmp_path)
    monkeypatch.setattr(manager, "SERVICES", {"fake": recipe})
    monkeypatch.setattr(manager, "ALL", ("fake",))
    yield tmp_path
    leftover = read_pid_file(tmp_path / "fake.pid")
    if leftover is not None:
        stop(leftover, 5)


def test_up_status_down_on_a_fake_server(state: Path) -> None:
    started = manager.up(["fake"], timeout_s=60)
    assert list(started) == ["fake"]
    proc = read_pid_file(state / "fake.pid")
    assert proc is not None and alive(proc)
    family = [proc, *proc.children(recursive=True)]
    assert len(family) == 2
    port = manager.SERVICES["fake"].port
    assert listener(port) is not None and listener(port).pid == proc.pid  # type: ignore[union-attr]
    assert (state / "env").read_text().splitlines()[1] == f"SWEEP_FAKE=127.0.0.1:{port}"
    [row] = manager.status()
    assert row["state"] == "healthy" and row["pid"] == str(proc.pid) and row["version"] == "fake 1"
    assert manager.up(["fake"]) == {"fake": 0.0}  # idempotent: left alone

    manager.down(["fake"], timeout_s=10)
    assert not any(alive(p) for p in family)  # the child went with its parent
    assert not (state / "fake.pid").exists()
    assert "SWEEP_FAKE" not in (state / "env").read_text()
    assert manager.status()[0]["state"] == "stopped"


def test_a_server_that_dies_while_starting_is_reported_with_its_log(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = [sys.executable, "-c", "print('bad config'); raise SystemExit(3)"]
    dying = Recipe("fake", _free_port(), (), (), "dies", lambda _d: command, lambda: False, lambda: "?")
    monkeypatch.setattr(manager, "SERVICES", {"fake": dying})
    (state / "fake").mkdir()
    with pytest.raises(ServiceError, match="exited during start") as err:
        manager.up(["fake"], timeout_s=60)
    assert "bad config" in str(err.value)
    assert not (state / "fake.pid").exists()


def test_pid_file_names_only_the_process_that_was_started(tmp_path: Path) -> None:
    me = psutil.Process()
    path = tmp_path / "x.pid"
    path.write_text(pid_file_text(me))
    assert read_pid_file(path) == me
    path.write_text(f"{me.pid} created={me.create_time() - 3600}\n")  # same PID, another process
    assert read_pid_file(path) is None
    ticks = round((me.create_time() - psutil.boot_time()) * os.sysconf("SC_CLK_TCK"))
    path.write_text(f"{me.pid} {ticks}\n")  # written by the older tool: clock ticks since boot
    assert read_pid_file(path) == me
    path.write_text(f"{me.pid} {ticks + 100 * os.sysconf('SC_CLK_TCK')}\n")
    assert read_pid_file(path) is None
    path.write_text("not a pid\n")
    assert read_pid_file(path) is None
    assert read_pid_file(tmp_path / "missing.pid") is None


def test_stop_ends_the_process_and_its_children(tmp_path: Path) -> None:
    proc = launch(
        [sys.executable, "-c", _FREE_PORT_SCRIPT],
        cwd=tmp_path,
        log_file=tmp_path / "logs" / "p.log",
        pid_file=tmp_path / "p.pid",
        env=os.environ,
    )
    assert wait_until(lambda: len(proc.children()) == 1, timeout_s=60)
    child = proc.children()[0]
    assert read_pid_file(tmp_path / "p.pid") == proc
    assert "starting:" in (tmp_path / "logs" / "p.log").read_text()
    stop(proc, timeout_s=10)
    assert not alive(proc) and not alive(child)


def test_wait_until() -> None:
    calls: list[int] = []

    def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    assert wait_until(third_time, timeout_s=60, interval_s=0) is True and len(calls) == 3
    assert wait_until(lambda: False, timeout_s=0, interval_s=0) is False

    def broken() -> bool:
        raise ServiceError("died")

    with pytest.raises(ServiceError, match="died"):
        wait_until(broken, timeout_s=60)
