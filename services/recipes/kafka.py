"""Apache Kafka 4.x in KRaft mode, one process as broker and controller, from the kafka_2.13 jar."""

from __future__ import annotations

import base64
import subprocess
import textwrap
import uuid
from pathlib import Path

from services import maven, settings
from services.errors import ServiceError, say
from services.java import java_home
from services.process import port_open
from services.recipes.base import Recipe

ARTIFACTS = (
    maven.Artifact("org.apache.kafka", "kafka_2.13", settings.KAFKA_VERSION),
    # the POM leaves the logging backend out; Kafka logs through slf4j 1.7 -> log4j2
    maven.Artifact("org.apache.logging.log4j", "log4j-slf4j-impl", settings.KAFKA_LOG4J_VERSION),
)

LOG4J2_PROPERTIES = textwrap.dedent("""\
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


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """KRaft combined-mode configuration: single node, replication factor 1, topics created on use."""
    return textwrap.dedent(f"""\
        # written by services/recipes/kafka.py; edits are overwritten on the next `up`
        process.roles=broker,controller
        node.id=1
        controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
        listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
        advertised.listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
        controller.listener.names=CONTROLLER
        inter.broker.listener.name=PLAINTEXT
        listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
        log.dirs={data_dir}
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


def _java_base(java: Path, lib: Path, log4j: Path) -> list[str]:
    return [str(java), "-Dsweep.service=kafka", f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{lib}/*"]


def format_command(java: Path, lib: Path, log4j: Path, conf: Path, cluster_id: str) -> list[str]:
    """StorageTool call that formats an empty data directory for a standalone controller."""
    base = _java_base(java, lib, log4j)
    return [
        *base,
        "-Dsweep.loglevel=WARN",
        "kafka.tools.StorageTool",
        "format",
        "--standalone",
        "-t",
        cluster_id,
        "-c",
        str(conf),
    ]


def server_command(java: Path, lib: Path, log4j: Path, conf: Path) -> list[str]:
    """The broker's command line (JVM options first, then the classpath and main class)."""
    base = _java_base(java, lib, log4j)
    return [
        base[0],
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        *base[1:],
        "kafka.Kafka",
        str(conf),
    ]


def new_cluster_id() -> str:
    """A random KRaft cluster id (base64url of a UUID without padding, as kafka-storage random-uuid)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def prepare(svc_dir: Path) -> list[str]:
    """Fetch, write the configuration, format storage once; returns the broker's command line."""
    lib = maven.fetch(settings.CACHE, "kafka", ARTIFACTS, settings.M2_REPO)
    data = svc_dir / "data"
    conf = svc_dir / "server.properties"
    svc_dir.mkdir(parents=True, exist_ok=True)
    conf.write_text(server_properties(settings.KAFKA_PORT, settings.KAFKA_CONTROLLER_PORT, data))
    log4j = svc_dir / "log4j2.properties"
    log4j.write_text(LOG4J2_PROPERTIES)
    java = java_home(17) / "bin" / "java"
    if not (data / "meta.properties").exists():
        # StorageTool runs in its own process: formatting is a one-off, and its JVM must be gone
        # before the broker takes the directory lock.
        cluster_id = new_cluster_id()
        fmt = subprocess.run(
            format_command(java, lib, log4j, conf, cluster_id), capture_output=True, text=True, check=False
        )
        if fmt.returncode != 0:
            raise ServiceError(f"kafka: storage format failed:\n{fmt.stdout[-2000:]}{fmt.stderr[-2000:]}")
        say(f"kafka: formatted {data} (cluster id {cluster_id})")
    return server_command(java, lib, log4j, conf)


def healthy() -> bool:
    """The broker answers a cluster description (the port alone opens before the controller is ready)."""
    if not port_open(settings.KAFKA_PORT):
        return False
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{settings.KAFKA_PORT}",
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


RECIPE = Recipe(
    name="kafka",
    port=settings.KAFKA_PORT,
    extra_ports=(settings.KAFKA_CONTROLLER_PORT,),
    env_lines=(f"SWEEP_KAFKA=127.0.0.1:{settings.KAFKA_PORT}",),
    describe=f"Apache Kafka {settings.KAFKA_VERSION} (KRaft, broker+controller)",
    prepare=prepare,
    healthy=healthy,
    version=lambda: f"apache kafka {settings.KAFKA_VERSION}",
)
