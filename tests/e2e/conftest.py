"""A started Bastion server and boto3 clients pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.config import Config

from bastion.config import Settings
from bastion.testing.server import ServerThread, running_server
from tests.e2e.mqtt_support import Client, Keys, admin_client, clients

REGION = "us-east-1"
ACCOUNT = "123456789012"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    data_dir: Path = tmp_path_factory.mktemp("bastion-data")
    # Every listener on a free port: tests never take the fixed default ports.
    settings = Settings(
        api_port=0,
        mqtt_port=0,
        mqtt_tls_port=0,
        api_tls_port=0,
        data_dir=data_dir,
        region=REGION,
        account_id=ACCOUNT,
    )
    with running_server(settings) as thread:
        yield thread


ClientFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def client_for(server: ServerThread) -> ClientFactory:
    """client_for(service, access_key, secret, token=None) -> a boto3 client signed with those keys."""

    def make(service: str, key: str, secret: str, token: str | None = None, **kwargs: Any) -> Any:
        session = boto3.session.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token, region_name=REGION
        )
        return session.client(
            service, endpoint_url=server.endpoint_url, config=kwargs.pop("config", NO_RETRY), **kwargs
        )

    return make


@pytest.fixture(scope="module")
def admin(server: ServerThread, client_for: ClientFactory) -> Callable[[str], Any]:
    key, secret = server.admin_keys
    return lambda service: client_for(service, key, secret)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


def shift_client_clock(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Make botocore sign as if its clock were ``delta`` away from the real one."""
    real = botocore.auth.get_current_datetime

    def shifted(remove_tzinfo: bool = True) -> Any:
        return real(remove_tzinfo) + delta

    monkeypatch.setattr(botocore.auth, "get_current_datetime", shifted)


# ---- MQTT modules (each defines its own ``server``: these use whichever the requesting module has) ----


@pytest.fixture
def make() -> Iterator[Callable[..., Client]]:
    """make(client_id=None, **options) -> a paho client driven from the test; all closed afterwards."""
    with clients() as factory:
        yield factory


@pytest.fixture(scope="module")
def root(server: ServerThread) -> Keys:
    """The server's admin (account root) keys."""
    key, secret = server.admin_keys
    return Keys(key, secret)


@pytest.fixture(scope="module")
def iam(server: ServerThread) -> Any:
    """An IAM client signed with the admin keys."""
    return admin_client(server, "iam")
