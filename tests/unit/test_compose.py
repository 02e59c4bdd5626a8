"""docker-compose.yml cannot run here (no container engine), so its contract with the code is checked
statically: service names, ports, the SWEEP_* variables the indexer gets (they must be Settings
fields, or pydantic would silently ignore them), no secret in the file, and an Elasticsearch major
equal to the installed Python client's (the 9.x client refuses to talk to an 8.x server by default).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import elasticsearch
import pytest
import yaml

from sweep.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_ONLY_SECRETS = {"SWEEP_PII_KEY", "SWEEP_METRICS_TOKEN", "SWEEP_CRAWL_PROXY"}
"""Secrets read from the environment where they are used, never through Settings (nor a config file)."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _image_version(service: dict[str, Any]) -> str:
    return service["image"].rsplit(":", 1)[1]


def test_services_present(compose: dict[str, Any]) -> None:
    assert {"kafka", "elasticsearch", "kibana", "indexer"} <= set(compose["services"])


def test_every_service_but_one_shots_has_a_healthcheck_and_restart_policy(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if svc.get("restart") == "no":
            continue
        assert "healthcheck" in svc, name
        assert svc.get("restart") == "unless-stopped", name


def test_indexer_env_matches_settings(compose: dict[str, Any]) -> None:
    indexer = compose["services"]["indexer"]
    env = _env(indexer)
    fields = set(Settings.model_fields)
    prefix = Settings.model_config["env_prefix"]
    sweep_vars = {k for k in env if k.startswith(prefix)}
    unknown = {k for k in sweep_vars if k.removeprefix(prefix).lower() not in fields}
    assert not unknown, f"not Settings fields (would be ignored): {unknown}"
    assert {"SWEEP_KAFKA", "SWEEP_SEARCH_URL", "SWEEP_SEARCH_USERNAME", "SWEEP_SEARCH_PASSWORD"} <= sweep_vars
    assert indexer["command"] == ["consume", "indexer"]
    assert indexer.get("build") == {"context": ".", "target": "runtime"} and DOCKERFILE.exists()
    for dep in ("kafka", "elasticsearch"):
        assert indexer["depends_on"][dep]["condition"] == "service_healthy"


def test_services_that_print_pdfs_run_the_image_with_chromium_and_cjk_fonts(compose: dict[str, Any]) -> None:
    """Case files and reports are printed by Chromium: the workspace and the scheduler (scheduled
    reports) must run the Dockerfile stage that installs it, every SWEEP_* variable of theirs must be a
    Settings field, and every stage a service names must exist."""
    stages = dict(re.findall(r"^FROM (\S+) AS (\w+)$", DOCKERFILE.read_text(), flags=re.M))
    workspace_stage = DOCKERFILE.read_text().split("AS workspace", 1)[1]
    assert "chromium" in workspace_stage and "fonts-noto-cjk" in workspace_stage
    fields = set(Settings.model_fields)
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if build is None:
            continue
        assert build["target"] in stages.values(), name
        if name in ("workspace", "scheduler"):
            assert build["target"] == "workspace", name
        for key in _env(svc):
            if key.startswith("SWEEP_") and key not in ENV_ONLY_SECRETS:
                assert key.removeprefix("SWEEP_").lower() in fields, (name, key)


def test_indexer_addresses_point_at_the_servers(compose: dict[str, Any]) -> None:
    env = _env(compose["services"]["indexer"])
    kafka_env = _env(compose["services"]["kafka"])
    host, port = env["SWEEP_KAFKA"].split(":")
    assert host == "kafka"
    assert f"://kafka:{port}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert f":{port}" in kafka_env["KAFKA_LISTENERS"]
    assert env["SWEEP_SEARCH_URL"] == "http://elasticsearch:9200"
    es_ports = compose["services"]["elasticsearch"]["ports"]
    assert any(p.endswith(":9200") for p in es_ports)


def test_kafka_is_kraft_single_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = _env(kafka)
    assert kafka["image"].startswith("apache/kafka:")
    assert int(_image_version(kafka).split(".")[0]) >= 4
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert any(v.endswith(":/var/lib/kafka/data") for v in kafka["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_elasticsearch_major_matches_python_client(compose: dict[str, Any]) -> None:
    client_major = elasticsearch.__version__[0]
    for name in ("elasticsearch", "kibana", "es-setup"):
        svc = compose["services"].get(name)
        if svc:
            assert int(_image_version(svc).split(".")[0]) == client_major, name
    versions = {_image_version(compose["services"][n]) for n in ("elasticsearch", "kibana")}
    assert len(versions) == 1, f"Kibana must match Elasticsearch exactly: {versions}"


def test_published_ports_are_loopback_only(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on all interfaces"


def test_no_secret_in_the_file(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for key, value in _env(svc).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|API_KEY", key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", value), f"{name}.{key} is not from the env"
                assert ":-" not in value, f"{name}.{key} has a default password"


def test_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0]
            if not source.startswith(("/", ".")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert {"kafka-data", "es-data"} <= declared
