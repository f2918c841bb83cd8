"""Broker settings from flags and BASTION_* variables, and the assembled broker's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.broker.server import anonymous_policies
from bastion.config import PORT_OFF, ConfigError, Settings, parse_port, settings_from
from bastion.services.errors import ServiceError


def test_defaults_stay_off_mosquittos_ports() -> None:
    settings = Settings()
    assert (settings.mqtt_port, settings.mqtt_tls_port, settings.api_tls_port) == (1884, 8884, 4581)
    assert settings.mqtt_session_expiry == 3600
    assert settings.mqtt_anonymous_policy is None


def test_environment_and_flags() -> None:
    env = {
        "BASTION_MQTT_PORT": "off",
        "BASTION_MQTT_TLS_PORT": "9999",
        "BASTION_MQTT_SESSION_EXPIRY": "7200",
        "BASTION_MQTT_CONNECT_INTERVAL": "0.5",
        "BASTION_TLS_CERT": "/c.pem",
        "BASTION_TLS_KEY": "/k.pem",
    }
    settings = settings_from({"api_tls_port": PORT_OFF}, env)
    assert settings.mqtt_port == PORT_OFF
    assert settings.mqtt_tls_port == 9999
    assert settings.api_tls_port == PORT_OFF
    assert settings.mqtt_session_expiry == 7200
    assert settings.mqtt_connect_interval == 0.5
    assert settings.tls_cert == Path("/c.pem")


@pytest.mark.parametrize(
    "env",
    [
        {"BASTION_MQTT_PORT": "lots"},
        {"BASTION_MQTT_PORT": "70000"},
        {"BASTION_MQTT_SESSION_EXPIRY": "0"},
        {"BASTION_MQTT_SESSION_EXPIRY": str(8 * 24 * 3600)},
        {"BASTION_TLS_CERT": "/c.pem"},
        {"BASTION_MQTT_MAX_QUEUED_MESSAGES": "0"},
        {"BASTION_MQTT_CONNECT_INTERVAL": "-1"},
    ],
)
def test_bad_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        settings_from({}, env)


def test_port_words() -> None:
    assert parse_port("off") == parse_port("none") == parse_port("-1") == PORT_OFF
    assert parse_port("0") == 0


def test_anonymous_policy_forms(tmp_path: Path) -> None:
    document = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}'
    )
    assert anonymous_policies(document) == (document,)
    file = tmp_path / "anon.json"
    file.write_text(document)
    assert anonymous_policies(f"@{file}") == (document,)
    assert anonymous_policies("arn:aws:iam::123456789012:policy/p") == ("arn:aws:iam::123456789012:policy/p",)
    assert anonymous_policies("my-iot-policy") == ("my-iot-policy",)
    with pytest.raises(ServiceError):
        anonymous_policies('{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}')
