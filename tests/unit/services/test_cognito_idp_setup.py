"""Settings for user pools: issuer base and SMTP from the environment, and the sender they select."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bastion.clock import SystemClock
from bastion.config import ConfigError, settings_from
from bastion.sealing import Sealer
from bastion.services.cognito_idp.delivery import OutboxSender, RoutedSender
from bastion.services.cognito_idp.setup import build_cognito_idp, code_sender
from bastion.storage.memory import MemoryStore


def test_smtp_and_issuer_settings_come_from_the_environment() -> None:
    settings = settings_from(
        {},
        {
            "BASTION_COGNITO_ISSUER_BASE": "https://auth.example.com",
            "BASTION_SMTP_HOST": "mail.example.com",
            "BASTION_SMTP_PORT": "465",
            "BASTION_SMTP_FROM": "no-reply@example.com",
            "BASTION_SMTP_SECURITY": "tls",
            "BASTION_SMTP_USERNAME": "mailer",
            "BASTION_SMTP_PASSWORD": "s3cret",
        },
    )
    assert settings.cognito_issuer_base == "https://auth.example.com"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "mail.example.com",
        465,
        "tls",
    )
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BASTION_COGNITO_ISSUER_BASE": "cognito-idp.example.com"}, "issuer base"),
        ({"BASTION_SMTP_HOST": "mail.example.com"}, "BASTION_SMTP_FROM"),
        ({"BASTION_SMTP_SECURITY": "ssl"}, "starttls, tls or none"),
        ({"BASTION_SMTP_PORT": "0"}, "SMTP port"),
    ],
)
def test_bad_settings_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from({}, env)


def test_the_sender_follows_the_settings(tmp_path: Path) -> None:
    store = MemoryStore()
    sealer, clock = Sealer(os.urandom(32)), SystemClock()
    outbox_only = settings_from({"data_dir": tmp_path}, {})
    assert isinstance(code_sender(outbox_only, store.cognito_idp, sealer, clock), OutboxSender)
    smtp = settings_from({"data_dir": tmp_path}, {"BASTION_SMTP_HOST": "mail", "BASTION_SMTP_FROM": "a@b.c"})
    assert isinstance(code_sender(smtp, store.cognito_idp, sealer, clock), RoutedSender)


def test_issuer_base_names_the_provider(tmp_path: Path) -> None:
    store = MemoryStore()
    key = os.urandom(32)
    settings = settings_from(
        {"data_dir": tmp_path}, {"BASTION_COGNITO_ISSUER_BASE": "https://auth.example.com/"}
    )
    svc = build_cognito_idp(
        store.cognito_idp, settings=settings, sealer=Sealer(key), master_key=key, clock=SystemClock()
    )
    assert svc.issuer("eu-west-1_Abc") == "https://auth.example.com/eu-west-1_Abc"
    assert svc.provider_name("eu-west-1_Abc") == "auth.example.com/eu-west-1_Abc"
    assert svc.pool_for_provider("auth.example.com/eu-west-1_Abc") == "eu-west-1_Abc"
    default = build_cognito_idp(
        store.cognito_idp,
        settings=settings_from({"data_dir": tmp_path}, {}),
        sealer=Sealer(key),
        master_key=key,
        clock=SystemClock(),
    )
    assert default.issuer("us-east-1_Abc") == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc"
