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
# MQTT listeners: 1884/8884 rather than 1883/8883, which Mosquitto and other brokers take by default.
DEFAULT_MQTT_PORT = 1884
DEFAULT_MQTT_TLS_PORT = 8884
# HTTPS (and WSS for MQTT over WebSocket) on the API, with the same certificate as the MQTT TLS port.
DEFAULT_API_TLS_PORT = 4581
# A listener port of -1 ("off" on the command line or in the environment) turns that listener off.
PORT_OFF = -1

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ISSUER_RE = re.compile(r"^https?://[^/\s]+(/\S*)?$")
_CLUSTER_URL_RE = re.compile(r"^(nats|tls)://\S+$")
_CLUSTER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConfigError(ValueError):
    """A setting has a value Bastion cannot run with."""


class StartupError(RuntimeError):
    """The server cannot start: something it was configured to use is unavailable (a NATS server, an
    optional dependency). Reported as one line, without a traceback."""


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
    # MQTT broker (docs/broker.md).
    mqtt_port: int = DEFAULT_MQTT_PORT
    mqtt_tls_port: int = DEFAULT_MQTT_TLS_PORT
    api_tls_port: int = DEFAULT_API_TLS_PORT
    # Certificate chain and key for the TLS listeners; by default a CA and certificate made in data_dir/tls.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Seconds a persistent session outlives its connection (AWS default 1 hour, at most 7 days).
    mqtt_session_expiry: int = 3600
    # Lets TCP/TLS clients without credentials in as the "anonymous" principal, bound to this policy: an
    # IAM managed policy ARN, an AWS IoT policy name, or a policy document (JSON). None: refused.
    mqtt_anonymous_policy: str | None = None
    mqtt_max_connections: int = 100_000
    mqtt_max_queued_messages: int = 1000
    # AWS allows one CONNECT per second per client id; 0 turns the check off.
    mqtt_connect_interval: float = 1.0
    # Cognito user pools (docs/cognito-user-pools.md). Tokens carry ``iss = <base>/<poolId>``; None means
    # AWS's https://cognito-idp.<region>.amazonaws.com, the provider name identity pools and Amplify expect.
    cognito_issuer_base: str | None = None
    # Codes and temporary passwords go by e-mail through this SMTP server when it is set, otherwise to the
    # development outbox (`bastion codes`).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_security: str = "starttls"  # starttls, tls (implicit, usually port 465) or none
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    # Scale-out (docs/scaling.md): the NATS server nodes share (comma-separated URLs), and the name of
    # the cluster, which prefixes its subjects and names its JetStream stream. None: a single node.
    cluster_url: str | None = None
    cluster_name: str = "bastion"

    def __post_init__(self) -> None:
        if not _ACCOUNT_RE.match(self.account_id):
            raise ConfigError(f"account id must be 12 digits, got {self.account_id!r}")
        if not _REGION_RE.match(self.region):
            raise ConfigError(f"region must look like us-east-1, got {self.region!r}")
        if not 0 <= self.api_port <= 65535:
            raise ConfigError(f"port out of range: {self.api_port}")
        for name in ("mqtt_port", "mqtt_tls_port", "api_tls_port"):
            port = getattr(self, name)
            if not (port == PORT_OFF or 0 <= port <= 65535):
                raise ConfigError(f"{name.replace('_', ' ')} out of range: {port}")
        if not 1 <= self.mqtt_session_expiry <= 7 * 24 * 3600:
            raise ConfigError("MQTT session expiry must be 1..604800 seconds")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("set both the TLS certificate and its key, or neither")
        if min(self.mqtt_max_connections, self.mqtt_max_queued_messages) < 1:
            raise ConfigError("MQTT limits must be positive")
        if self.mqtt_connect_interval < 0:
            raise ConfigError("MQTT limits must be positive")
        issuer = self.cognito_issuer_base
        if issuer is not None and not _ISSUER_RE.match(issuer):
            raise ConfigError(f"the Cognito issuer base must be an http(s) URL, got {issuer!r}")
        if self.smtp_host is not None and not self.smtp_from:
            raise ConfigError("set BASTION_SMTP_FROM (the sender address) along with BASTION_SMTP_HOST")
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise ConfigError(f"SMTP security must be starttls, tls or none, got {self.smtp_security!r}")
        if not 0 < self.smtp_port <= 65535:
            raise ConfigError(f"SMTP port out of range: {self.smtp_port}")
        if self.cluster_url is not None:
            if not all(_CLUSTER_URL_RE.match(url.strip()) for url in self.cluster_url.split(",")):
                raise ConfigError(f"the cluster URL must be nats://host:port, got {self.cluster_url!r}")
            if not (self.database_url or "").startswith(
                ("postgresql://", "postgres://", "postgresql+asyncpg://")
            ):
                raise ConfigError(
                    "cluster mode needs a PostgreSQL database shared by every node "
                    "(--database postgresql://...); SQLite cannot be shared"
                )
        if not _CLUSTER_NAME_RE.match(self.cluster_name):
            raise ConfigError(
                f"the cluster name must be 1-64 letters, digits, '-' or '_', got {self.cluster_name!r}"
            )
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
    "MQTT_PORT": "mqtt_port",
    "MQTT_TLS_PORT": "mqtt_tls_port",
    "API_TLS_PORT": "api_tls_port",
    "TLS_CERT": "tls_cert",
    "TLS_KEY": "tls_key",
    "MQTT_SESSION_EXPIRY": "mqtt_session_expiry",
    "MQTT_ANONYMOUS_POLICY": "mqtt_anonymous_policy",
    "MQTT_MAX_CONNECTIONS": "mqtt_max_connections",
    "MQTT_MAX_QUEUED_MESSAGES": "mqtt_max_queued_messages",
    "MQTT_CONNECT_INTERVAL": "mqtt_connect_interval",
    "COGNITO_ISSUER_BASE": "cognito_issuer_base",
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_FROM": "smtp_from",
    "SMTP_SECURITY": "smtp_security",
    "SMTP_USERNAME": "smtp_username",
    "SMTP_PASSWORD": "smtp_password",
    "CLUSTER_URL": "cluster_url",
    "CLUSTER_NAME": "cluster_name",
}
_INT_FIELDS = {
    "api_port",
    "max_body_bytes",
    "mqtt_session_expiry",
    "mqtt_max_connections",
    "mqtt_max_queued_messages",
    "smtp_port",
}
_PORT_FIELDS = {"mqtt_port", "mqtt_tls_port", "api_tls_port"}
_FLOAT_FIELDS = {"mqtt_connect_interval"}
_PATH_FIELDS = {"data_dir", "tls_cert", "tls_key"}


def parse_port(text: str) -> int:
    """A listener port: a number, or "off" (also "none", "-1") to turn the listener off."""
    if text.strip().lower() in ("off", "none", "-1"):
        return PORT_OFF
    return int(text)


def settings_from(overrides: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from flag overrides (None means "not given") on top of the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for suffix, name in _ENV_FIELDS.items():
        raw = env.get(ENV_PREFIX + suffix)
        if raw is None or raw == "":
            continue
        if name in _INT_FIELDS or name in _PORT_FIELDS or name in _FLOAT_FIELDS:
            parse = parse_port if name in _PORT_FIELDS else float if name in _FLOAT_FIELDS else int
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{ENV_PREFIX}{suffix} must be a number, got {raw!r}") from exc
        elif name in _PATH_FIELDS:
            values[name] = Path(raw)
        else:
            values[name] = raw
    for name, value in overrides.items():
        if value is not None:
            values[name] = Path(str(value)) if name in _PATH_FIELDS else value
    return Settings(**values)  # type: ignore[arg-type]
