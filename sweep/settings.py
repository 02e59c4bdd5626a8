"""Configuration: `SWEEP_*` environment variables, then `sweep.toml` (or the file `SWEEP_CONFIG` names).

Unset backends mean embedded: no Kafka URL -> SQLite bus, no search URL -> SQLite lead store.

Secrets (the search password, Kafka SASL and TLS key passwords) are read from the environment only. A
TOML file is meant to be committed or copied between machines, so a password found in it is refused
with an error naming the file and the key, instead of being used (and so silently blessed).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from sweep.bus.base import DEFAULT_TOPIC_PREFIX, Topics

SECRET_FIELDS: tuple[str, ...] = ("search_password", "kafka_sasl_password", "kafka_ssl_password", "pii_key")
"""Settings that may only come from the environment (`SWEEP_SEARCH_PASSWORD`, ...)."""

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class SecretInConfigFileError(ValueError):
    """A password was found in the TOML configuration file; it belongs in the environment."""


def _config_file() -> Path:
    return Path(os.environ.get("SWEEP_CONFIG", "sweep.toml"))


_URL_WITH_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]+@")
"""`scheme://user:password@host…`: a database or search URL that carries its own password."""


def _secret_keys(table: dict[str, Any], path: str = "") -> list[str]:
    """Keys of `table` (nested tables included) that hold a secret: a known secret field, any key
    whose name says password (so a misspelt or future secret is caught as well), or a URL with a
    password in it (`people_url = "postgresql://sweep:…@db/sweep"`)."""
    found = []
    for key, value in table.items():
        dotted = f"{path}{key}"
        is_url_with_password = isinstance(value, str) and _URL_WITH_PASSWORD.match(value) is not None
        if key in SECRET_FIELDS or "password" in key.lower() or is_url_with_password:
            found.append(dotted)
        if isinstance(value, dict):
            found += _secret_keys(value, f"{dotted}.")
    return found


class _NoSecretsToml(TomlConfigSettingsSource):
    """The TOML source, refusing files that contain passwords."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        super().__init__(settings_cls, toml_file=toml_file)
        secrets = _secret_keys(self.toml_data)
        if secrets:
            env = ", ".join(f"SWEEP_{k.split('.')[-1].upper()}" for k in secrets)
            raise SecretInConfigFileError(
                f"{toml_file}: {', '.join(repr(k) for k in secrets)} must not be set in a configuration file; "
                f"remove it and set it in the environment instead ({env})"
            )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWEEP_", extra="ignore")

    data_dir: Path = Field(default=Path(".sweep"), description="where embedded databases and crawl output live")
    kafka: str | None = Field(default=None, description="Kafka bootstrap servers, e.g. 127.0.0.1:9092")
    kafka_partitions: int = Field(default=6, description="partitions of topics sweep creates")
    kafka_replication: int = Field(default=1, description="replication factor of topics sweep creates")
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        default="SCRAM-SHA-512", description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with a SASL_* protocol)"
    )
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = Field(default=None, description="environment only")
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle that signed the brokers' certificates")
    kafka_ssl_certfile: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="client private key (mutual TLS)")
    kafka_ssl_password: SecretStr | None = Field(default=None, description="password of the client key; env only")
    kafka_ssl_check_hostname: bool = True
    topic_prefix: str = Field(
        default=DEFAULT_TOPIC_PREFIX, description="topics are {prefix}.listings, .leads, .deadletter, .complaints"
    )
    search_url: str | None = Field(default=None, description="Elasticsearch/OpenSearch URL, e.g. http://127.0.0.1:9200")
    search_username: str | None = None
    search_password: SecretStr | None = Field(default=None, description="environment only")
    search_verify_certs: bool = True
    index_prefix: str = Field(default="sweep", description="prefix of index and alias names")
    chromium: str | None = Field(default=None, description="browser executable for JavaScript pages")
    rulebook: Path | None = Field(default=None, description="rulebook folder; default: the packaged rules/book")
    people_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of accounts, sessions, cases and the audit; default {data_dir}/people.sqlite",
    )
    session_idle_minutes: int = Field(default=60, description="a workspace session left alone this long ends")
    session_max_hours: int = Field(default=12, description="a workspace session never lasts longer than this")
    login_max_failures: int = Field(default=5, description="failed logins in a row that lock an account")
    login_lockout_minutes: int = Field(default=15, description="how long a locked account stays locked")
    attachments_dir: Path | None = Field(
        default=None, description="content-addressed folder of case attachments; default {data_dir}/attachments"
    )
    attachment_max_mb: int = Field(default=20, description="largest file that may be attached to a case (MiB)")
    # -- crawl operations (operations/, sweep scheduler, sweep crawl-worker) --
    ops_alert_webhook: str | None = Field(
        default=None, description="URL that receives a JSON POST for each crawl alert (a failed or empty job)"
    )
    ops_empty_alert_min_previous: int = Field(
        default=100, description="0 listings alert as 'empty' when the target's previous run had at least this many"
    )
    ops_timezone: str = Field(default="Asia/Shanghai", description="time zone of new schedules' cron expressions")
    ops_takedown_recheck_after_hours: float = Field(
        default=24.0,
        description="a confirmed lead (or a lead of a case at 处罚决定) is rechecked this long after the decision",
    )
    # -- incremental recrawl (sweep/recrawl.py): per-listing recrawl intervals adapt within these bounds --
    ops_recrawl_min_hours: float = Field(
        default=6.0, gt=0, description="shortest recrawl interval of a listing (one that changes or carries high leads)"
    )
    ops_recrawl_max_hours: float = Field(
        default=14 * 24.0, gt=0, description="longest recrawl interval of a listing (one that never changes)"
    )
    ops_recrawl_initial_hours: float = Field(
        default=24.0, gt=0, description="recrawl interval of a listing seen for the first time"
    )
    ops_recrawl_max_per_run: int = Field(
        default=500, ge=1, description="most listings one run of a recrawl-due target rechecks (most overdue first)"
    )
    # -- evidence capture (evidence/, spiders/capture.py, sweep evidence) --
    evidence_dir: Path | None = Field(
        default=None, description="content-addressed WARC store of captured pages; default {data_dir}/evidence"
    )
    evidence_capture: Literal["off", "findings", "all"] = Field(
        default="findings", description="capture the pages that produced a finding, every page, or none"
    )
    evidence_static_screenshots: bool = Field(
        default=False, description="also screenshot static pages at capture time (Chromium); browser pages always"
    )
    evidence_retention_days: int = Field(
        default=365, description="captures older than this may be pruned, never those of a lead in a case"
    )

    # -- crawl etiquette (spiders/blocking.py); the proxy is SWEEP_CRAWL_PROXY, environment only --
    crawl_bureau: str = Field(
        default="market regulation bureau", description="who crawls: named in the crawler's user agent"
    )
    crawl_contact: str | None = Field(
        default=None, description="how a site reaches the bureau (URL or e-mail), named in the user agent"
    )

    @property
    def evidence_path(self) -> Path:
        return self.evidence_dir or self.data_dir / "evidence"

    @property
    def attachments_path(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _NoSecretsToml(settings_cls, toml_file=_config_file()))

    @field_validator("topic_prefix")
    @classmethod
    def _legal_topic_prefix(cls, value: str) -> str:
        if not _TOPIC_PREFIX.match(value):
            raise ValueError(f"topic_prefix {value!r}: Kafka topic names allow only letters, digits, '.', '_', '-'")
        return value

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        if self.kafka_security_protocol.startswith("SASL_") and not (self.kafka_sasl_username and password):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs SWEEP_KAFKA_SASL_USERNAME "
                "and SWEEP_KAFKA_SASL_PASSWORD (the password from the environment only)"
            )
        return self

    @property
    def topics(self) -> Topics:
        """The topic names of this deployment (the one place they are derived from settings)."""
        return Topics(self.topic_prefix)

    @property
    def bus_db(self) -> Path:
        return self.data_dir / "bus.sqlite"

    @property
    def store_db(self) -> Path:
        return self.data_dir / "leads.sqlite"

    # -- where detection runs (spiders/pipelines.py, consumers/detector.py) --
    detect_in_crawler: bool = Field(
        default=True,
        description="crawlers run the rulebook and publish lead events themselves; set false when "
        "`sweep consume detector` processes judge {prefix}.listings instead (detection scaled by partitions)",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
