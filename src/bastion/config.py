"""Typed settings for one Bastion process.

Precedence: command-line flags > environment variables (``BASTION_*``) > defaults. Default ports avoid
the MQTT ports other brokers use on a developer machine (1883/8883), so Bastion runs beside Mosquitto.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_API_PORT = 4580
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "000000000000"
DEFAULT_DATA_DIR = Path("./bastion-data")
# Largest HTTP request body accepted (IAM policy documents are at most 131,072 characters; IoT data-plane
# publishes at most 128 KB); anything larger is refused before it is read.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ConfigError(ValueError):
    """A setting has a value Bastion cannot run with."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    api_port: int = DEFAULT_API_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    log_level: str = "INFO"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    admin_access_key_id: str | None = None
    admin_secret_access_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not _ACCOUNT_RE.match(self.account_id):
            raise ConfigError(f"account id must be 12 digits, got {self.account_id!r}")
        if not _REGION_RE.match(self.region):
            raise ConfigError(f"region must look like us-east-1, got {self.region!r}")
        if not 0 <= self.api_port <= 65535:
            raise ConfigError(f"port out of range: {self.api_port}")
        if (self.admin_access_key_id is None) != (self.admin_secret_access_key is None):
            raise ConfigError(
                "set both BASTION_ADMIN_ACCESS_KEY_ID and BASTION_ADMIN_SECRET_ACCESS_KEY, or neither"
            )

    @property
    def effective_database_url(self) -> str:
        """The store URL: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').resolve()}"


ENV_PREFIX = "BASTION_"
_ENV_FIELDS: dict[str, str] = {
    "HOST": "host",
    "API_PORT": "api_port",
    "DATA_DIR": "data_dir",
    "DATABASE_URL": "database_url",
    "REGION": "region",
    "ACCOUNT_ID": "account_id",
    "LOG_LEVEL": "log_level",
    "MAX_BODY_BYTES": "max_body_bytes",
    "ADMIN_ACCESS_KEY_ID": "admin_access_key_id",
    "ADMIN_SECRET_ACCESS_KEY": "admin_secret_access_key",
}
_INT_FIELDS = {"api_port", "max_body_bytes"}


def settings_from(overrides: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from flag overrides (None means "not given") on top of the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for suffix, name in _ENV_FIELDS.items():
        raw = env.get(ENV_PREFIX + suffix)
        if raw is None or raw == "":
            continue
        if name in _INT_FIELDS:
            try:
                values[name] = int(raw)
            except ValueError as exc:
                raise ConfigError(f"{ENV_PREFIX}{suffix} must be an integer, got {raw!r}") from exc
        elif name == "data_dir":
            values[name] = Path(raw)
        else:
            values[name] = raw
    for name, value in overrides.items():
        if value is not None:
            values[name] = Path(str(value)) if name == "data_dir" else value
    return Settings(**values)  # type: ignore[arg-type]
