"""Configuration: `SWEEP_*` environment variables, then `sweep.toml` (or the file `SWEEP_CONFIG` names).

Unset backends mean embedded: no Kafka URL -> SQLite bus, no search URL -> SQLite lead store. Secrets
(search credentials) are read from the environment only; a TOML file in a repository is no place for them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def _config_file() -> Path:
    return Path(os.environ.get("SWEEP_CONFIG", "sweep.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SWEEP_", extra="ignore")

    data_dir: Path = Field(default=Path(".sweep"), description="where embedded databases and crawl output live")
    kafka: str | None = Field(default=None, description="Kafka bootstrap servers, e.g. 127.0.0.1:9092")
    kafka_partitions: int = Field(default=6, description="partitions of topics sweep creates")
    kafka_replication: int = Field(default=1, description="replication factor of topics sweep creates")
    search_url: str | None = Field(default=None, description="Elasticsearch/OpenSearch URL, e.g. http://127.0.0.1:9200")
    search_username: str | None = None
    search_password: SecretStr | None = None
    search_verify_certs: bool = True
    index_prefix: str = Field(default="sweep", description="prefix of index and alias names")
    chromium: str | None = Field(default=None, description="browser executable for JavaScript pages")
    rulebook: Path | None = Field(default=None, description="rulebook folder; default: the packaged rules/book")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_config_file()))

    @property
    def bus_db(self) -> Path:
        return self.data_dir / "bus.sqlite"

    @property
    def store_db(self) -> Path:
        return self.data_dir / "leads.sqlite"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
