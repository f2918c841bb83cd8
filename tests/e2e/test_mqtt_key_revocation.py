"""A deactivated or deleted access key stops opening MQTT connections within a second, although the
broker keeps resolved keys in memory between CONNECTs (the same window in which policy changes reach
open connections). Over WebSocket (presigned upgrade) and over TCP (user name ``sigv4``)."""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bastion.mqtt import Connack, ReasonCode
from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    HOST,
    Client,
    Keys,
    allow,
    arn,
    iam_user,
    mqtt_server,
    policy,
    presign,
    raw_connect,
)

WINDOW = 1.0  # seconds: the policy-change window (the generation is polled every 250 ms)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("key-revocation")) as thread:
        yield thread


@pytest.fixture
def keys(iam: Any) -> Keys:
    return iam_user(iam, policy(allow("iot:Connect", arn("client", "revocation-*"))))


def _client_id() -> str:
    return "revocation-" + uuid.uuid4().hex[:8]


def _ws_path(server: ServerThread, keys: Keys) -> str:
    api = server.server.port
    return presign(server, keys, f"{HOST}:{api}", scheme="ws").split(f":{api}", 1)[1]


def websocket_connects(server: ServerThread, keys: Keys) -> bool:
    """The SigV4 check of a WebSocket client is its upgrade request: 101, or 403 as AWS IoT answers."""
    connection = http.client.HTTPConnection(HOST, server.server.port, timeout=5)
    try:
        headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Protocol": "mqtt",
        }
        connection.request("GET", _ws_path(server, keys), headers=headers)
        status = connection.getresponse().status
    finally:
        connection.close()
    assert status in (101, 403)
    return status == 101


def tcp_connects(server: ServerThread, keys: Keys) -> bool:
    raw, connack = raw_connect(server, keys, _client_id())
    raw.close()
    assert isinstance(connack, Connack)
    if connack.reason_code != ReasonCode.SUCCESS:
        assert connack.reason_code == ReasonCode.BAD_USER_NAME_OR_PASSWORD
        return False
    return True


def refused_within(window: float, connects: Callable[[], bool]) -> bool:
    """Keep connecting until a CONNECT is refused; True when that happened within ``window`` seconds."""
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        if not connects():
            return True
        time.sleep(0.05)
    return False


def both(server: ServerThread, keys: Keys) -> tuple[bool, bool]:
    return websocket_connects(server, keys), tcp_connects(server, keys)


def test_a_deactivated_key_is_refused_within_a_second(
    server: ServerThread, iam: Any, make: Callable[..., Client], keys: Keys
) -> None:
    # A whole MQTT session over WebSocket, then more CONNECTs: the key is read once, then from memory.
    api = server.server.port
    client = make(_client_id(), transport="websockets").connect(api, ws_path=_ws_path(server, keys))
    assert client.is_connected
    client.close()
    for _ in range(3):
        assert both(server, keys) == (True, True)

    iam.update_access_key(UserName=keys.user, AccessKeyId=keys.key, Status="Inactive")
    assert refused_within(WINDOW, lambda: websocket_connects(server, keys))
    assert refused_within(WINDOW, lambda: tcp_connects(server, keys))
    assert both(server, keys) == (False, False)

    # A refusal is never remembered: the reactivated key works at once.
    iam.update_access_key(UserName=keys.user, AccessKeyId=keys.key, Status="Active")
    assert both(server, keys) == (True, True)


def test_a_deleted_key_is_refused_within_a_second(server: ServerThread, iam: Any, keys: Keys) -> None:
    assert both(server, keys) == (True, True)
    assert both(server, keys) == (True, True)
    iam.delete_access_key(UserName=keys.user, AccessKeyId=keys.key)
    assert refused_within(WINDOW, lambda: tcp_connects(server, keys))
    assert both(server, keys) == (False, False)


def test_a_new_key_of_the_same_user_is_accepted_at_once(server: ServerThread, iam: Any, keys: Keys) -> None:
    assert both(server, keys) == (True, True)
    created = iam.create_access_key(UserName=keys.user)["AccessKey"]
    second = Keys(created["AccessKeyId"], created["SecretAccessKey"], None, keys.user)
    assert both(server, second) == (True, True)
    assert both(server, keys) == (True, True)
