"""Settings: secrets only from the environment, topic names from one prefix, Kafka security options."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError

from adapters.bus.kafka import kafka_client_config
from sweep.bus.base import Topics
from sweep.settings import SecretInConfigFileError, Settings


@pytest.fixture
def toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write sweep.toml and point SWEEP_CONFIG at it."""

    def write(text: str) -> Path:
        path = tmp_path / "sweep.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("SWEEP_CONFIG", str(path))
        return path

    return write


@pytest.mark.parametrize("key", ["search_password", "kafka_sasl_password", "kafka_ssl_password"])
def test_password_in_toml_is_refused_naming_file_and_key(toml, key: str) -> None:
    path = toml(f'search_url = "http://search:9200"\n{key} = "hunter2"\n')
    with pytest.raises(SecretInConfigFileError) as caught:
        Settings()
    message = str(caught.value)
    assert str(path) in message
    assert f"'{key}'" in message
    assert f"SWEEP_{key.upper()}" in message
    assert "hunter2" not in message


def test_password_in_a_nested_table_is_refused_too(toml) -> None:
    toml('[kafka_extra]\nsasl_password = "hunter2"\n')
    with pytest.raises(SecretInConfigFileError, match=r"'kafka_extra\.sasl_password'"):
        Settings()


def test_a_url_carrying_a_password_is_refused_but_a_plain_url_is_read(toml) -> None:
    toml('people_url = "postgresql+psycopg://sweep:hunter2@db:5432/sweep"\n')
    with pytest.raises(SecretInConfigFileError, match=r"'people_url'") as caught:
        Settings()
    assert "hunter2" not in str(caught.value)
    toml('people_url = "postgresql+psycopg://sweep@db:5432/sweep"\nsearch_url = "http://search:9200"\n')
    assert Settings().people_url == "postgresql+psycopg://sweep@db:5432/sweep"


def test_toml_without_secrets_is_read_and_passwords_come_from_the_environment(toml, monkeypatch) -> None:
    toml('search_url = "http://search:9200"\nsearch_username = "indexer"\ntopic_prefix = "prod"\n')
    monkeypatch.setenv("SWEEP_SEARCH_PASSWORD", "from-env")
    settings = Settings()
    assert settings.search_url == "http://search:9200"
    assert settings.search_username == "indexer"
    assert settings.search_password is not None
    assert settings.search_password.get_secret_value() == "from-env"
    assert "from-env" not in repr(settings)


def test_default_topic_names_are_todays() -> None:
    assert Settings().topics.all() == ("sweep.listings", "sweep.leads", "sweep.deadletter", "sweep.complaints")


def test_topic_prefix_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_TOPIC_PREFIX", "it42")
    topics = Settings().topics
    assert (topics.listings, topics.leads, topics.deadletter, topics.complaints) == (
        "it42.listings",
        "it42.leads",
        "it42.deadletter",
        "it42.complaints",
    )


@pytest.mark.parametrize("prefix", ["", "has space", "中文", "a/b"])
def test_illegal_topic_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError, match="topic_prefix"):
        Settings(topic_prefix=prefix)


def test_topic_roles_whatever_the_prefix() -> None:
    assert Topics.role_of("sweep.leads") == "leads"
    assert Topics.role_of("it1.abc.listings") == "listings"
    assert Topics.role_of("leads") is None
    assert Topics.role_of("other.thing") is None


def test_kafka_plaintext_config_is_just_the_bootstrap_list() -> None:
    config = kafka_client_config(Settings(kafka="k1:9092,k2:9092"))
    assert config == {"bootstrap_servers": ["k1:9092", "k2:9092"], "security_protocol": "PLAINTEXT"}


def test_kafka_sasl_ssl_config_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("SWEEP_KAFKA_SSL_PASSWORD", "keypass")
    settings = Settings(
        kafka="broker:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="sweep-indexer",
        kafka_ssl_cafile=Path("/etc/sweep/ca.pem"),
        kafka_ssl_certfile=Path("/etc/sweep/client.pem"),
        kafka_ssl_keyfile=Path("/etc/sweep/client.key"),
    )
    assert kafka_client_config(settings) == {
        "bootstrap_servers": ["broker:9093"],
        "security_protocol": "SASL_SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": "/etc/sweep/ca.pem",
        "ssl_certfile": "/etc/sweep/client.pem",
        "ssl_keyfile": "/etc/sweep/client.key",
        "ssl_password": "keypass",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "sweep-indexer",
        "sasl_plain_password": "s3cret",
    }


def test_kafka_ssl_without_sasl_sends_no_credentials() -> None:
    settings = Settings(kafka="broker:9093", kafka_security_protocol="SSL", kafka_ssl_cafile=Path("/ca.pem"))
    config = kafka_client_config(settings)
    assert config == {
        "bootstrap_servers": ["broker:9093"],
        "security_protocol": "SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": "/ca.pem",
    }


def test_sasl_without_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="SWEEP_KAFKA_SASL_PASSWORD"):
        Settings(kafka="broker:9093", kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u")
    monkeypatch.setenv("SWEEP_KAFKA_SASL_PASSWORD", "")  # an empty variable, as compose passes an unset one
    with pytest.raises(ValidationError, match="SWEEP_KAFKA_SASL_PASSWORD"):
        Settings(kafka="broker:9093", kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u")


def test_kafka_bus_hands_the_security_options_to_its_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Producer, consumer and admin client all get the same options (the clients are recorded, not run)."""
    import adapters.bus.kafka as kafka_adapter

    seen: dict[str, dict] = {}

    def recorder(name: str):
        class Client:
            DEFAULT_CONFIG: ClassVar[dict] = {}

            def __init__(self, *topics: str, **config: object) -> None:
                seen[name] = config

            def list_topics(self) -> list[str]:
                return ["t"]

            def close(self, *args: object, **kwargs: object) -> None:
                pass

        return Client

    for name in ("KafkaProducer", "KafkaConsumer", "KafkaAdminClient"):
        monkeypatch.setattr(kafka_adapter, name, recorder(name))
    monkeypatch.setenv("SWEEP_KAFKA_SASL_PASSWORD", "s3cret")
    settings = Settings(
        kafka="broker:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="sweep-indexer",
        kafka_ssl_cafile=Path("/ca.pem"),
    )
    bus = kafka_adapter.KafkaBus(settings)
    bus.consumer(["t"], "g")
    expected = kafka_client_config(settings)
    for name in ("KafkaProducer", "KafkaConsumer", "KafkaAdminClient"):
        assert {k: seen[name][k] for k in expected} == expected, name
