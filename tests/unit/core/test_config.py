from __future__ import annotations

from pathlib import Path

import pytest

from bastion.config import DEFAULT_API_PORT, ConfigError, settings_from


def test_defaults_avoid_mosquitto_ports() -> None:
    settings = settings_from({}, environ={})
    assert settings.api_port == DEFAULT_API_PORT
    assert settings.api_port not in {1883, 8883}
    assert settings.host == "127.0.0.1"
    assert settings.effective_database_url.startswith("sqlite:///")


def test_flags_override_environment() -> None:
    env = {"BASTION_API_PORT": "5000", "BASTION_REGION": "eu-west-1", "BASTION_DATA_DIR": "/tmp/x"}
    settings = settings_from({"api_port": 6000}, environ=env)
    assert settings.api_port == 6000
    assert settings.region == "eu-west-1"
    assert settings.data_dir == Path("/tmp/x")


@pytest.mark.parametrize(
    "env",
    [
        {"BASTION_ACCOUNT_ID": "123"},
        {"BASTION_REGION": "nowhere"},
        {"BASTION_API_PORT": "eighty"},
        {"BASTION_ADMIN_ACCESS_KEY_ID": "AKIAONLYTHEKEY"},
    ],
)
def test_bad_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        settings_from({}, environ=env)
