"""Every MQTT action goes through the decision point, and each denial gets AWS IoT's reaction on the wire:
MQTT 3.1.1 closes the connection, MQTT 5 answers 0x87 where AWS does (aws-notes §7.3)."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    ACCOUNT,
    HOST,
    Client,
    Keys,
    admin_client,
    allow,
    arn,
    connect_tcp,
    deny,
    iam_user,
    mqtt_server,
    policy,
    ports,
    presign,
    set_user_policy,
)

NOT_AUTHORIZED = 0x87


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("mqtt-authz")) as thread:
        yield thread


def scoped(prefix: str, client_prefix: str = "dev-") -> str:
    """Connect as dev-*, publish/receive under prefix/*, subscribe to prefix/* filters."""
    return policy(
        allow("iot:Connect", arn("client", client_prefix + "*")),
        allow(["iot:Publish", "iot:Receive"], arn("topic", prefix + "/*")),
        allow("iot:Subscribe", arn("topicfilter", prefix + "/*")),
    )


def test_connect_denied_mqtt5_gets_connack_0x87(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(iam, scoped("a"))
    client = connect_tcp(make, server, keys, version=5, client_id="other-id")
    assert client.connack == NOT_AUTHORIZED
    assert client.wait_closed()


def test_connect_denied_mqtt311_is_closed_without_connack(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(iam, scoped("a"))
    client = connect_tcp(make, server, keys, version=4, client_id="other-id")
    assert client.wait_closed()
    assert client.session_present is None  # on_connect never ran: no CONNACK came


def test_a_change_made_through_this_node_applies_to_the_next_connect(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    """Read-your-writes: once the API has answered a policy change, a CONNECT is decided with it (no
    waiting for the generation watch's next tick)."""
    keys = iam_user(iam, scoped("a"))
    for attempt in range(5):
        client_id = f"ryw-{attempt}"
        refused = connect_tcp(make, server, keys, version=5, client_id=client_id)
        assert refused.connack == NOT_AUTHORIZED
        set_user_policy(iam, keys, policy(allow("iot:Connect", arn("client", client_id))))
        accepted = connect_tcp(make, server, keys, version=5, client_id=client_id)
        assert accepted.connack == 0, f"attempt {attempt}"
        accepted.close()
        set_user_policy(iam, keys, scoped("a"))


def test_bad_signature_and_missing_credentials(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(iam, scoped("a"))
    wrong = Keys(keys.key, "x" * 40)
    assert connect_tcp(make, server, wrong, version=5, client_id="dev-1").connack == 0x86
    anonymous = make(version=5).connect(ports(server)[0])
    assert anonymous.connack == NOT_AUTHORIZED
    v3 = connect_tcp(make, server, wrong, version=4, client_id="dev-2")
    assert v3.wait_closed() and v3.session_present is None


def _upgrade_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        headers = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Protocol": "mqtt",
        }
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_websocket_upgrade_refused_with_403(iam: Any, server: ServerThread) -> None:
    keys = iam_user(iam, scoped("a"))
    api = server.server.port
    path = presign(server, keys, f"{HOST}:{api}", scheme="ws").split(f":{api}", 1)[1]
    assert _upgrade_status(api, path) == 101
    assert _upgrade_status(api, path.replace("X-Amz-Signature=", "X-Amz-Signature=0")) == 403
    assert _upgrade_status(api, "/mqtt") == 403


@pytest.mark.parametrize("version", [4, 5])
def test_publish_denied(iam: Any, server: ServerThread, make: Callable[..., Client], version: int) -> None:
    keys = iam_user(iam, scoped("pub"))
    client = connect_tcp(make, server, keys, version=version, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    assert client.is_connected
    assert client.publish("pub/ok", b"fine") == 0
    if version == 5:
        assert client.publish("elsewhere/x", b"no") == NOT_AUTHORIZED
        client.publish("elsewhere/x", b"no", qos=0)  # dropped, no reaction
        assert client.publish("pub/ok", b"still connected") == 0
        assert client.is_connected
    else:
        client.publish("elsewhere/x", b"no", qos=0)
        assert client.wait_closed()


@pytest.mark.parametrize("version", [4, 5])
def test_subscribe_denied(iam: Any, server: ServerThread, make: Callable[..., Client], version: int) -> None:
    keys = iam_user(iam, scoped("sub"))
    client = connect_tcp(make, server, keys, version=version, client_id=f"dev-{uuid.uuid4().hex[:6]}")
    if version == 5:
        assert client.subscribe("sub/a", "forbidden/a", "sub/#") == [1, NOT_AUTHORIZED, 1]
        assert client.is_connected
    else:
        assert client.subscribe("sub/a") == [1]
        assert client.subscribe("forbidden/a") == []
        assert client.wait_closed()


def test_topic_filter_wildcards_are_literal_in_policies(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(
        iam,
        policy(
            allow("iot:Connect"),
            allow("iot:Subscribe", arn("topicfilter", "lit/+/x")),
            allow("iot:Receive"),
        ),
    )
    client = connect_tcp(make, server, keys)
    assert client.subscribe("lit/+/x", "lit/a/x") == [1, NOT_AUTHORIZED]


def test_retain_publish_needs_its_own_permission(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(
        iam,
        policy(allow("iot:Connect"), allow("iot:Publish", arn("topic", "ret/*")), deny("iot:RetainPublish")),
    )
    client = connect_tcp(make, server, keys)
    assert client.publish("ret/a", b"live") == 0
    assert client.publish("ret/a", b"kept", retain=True) == NOT_AUTHORIZED


def test_receive_is_checked_on_every_delivery(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    reader = iam_user(
        iam,
        policy(
            allow(["iot:Connect", "iot:Subscribe", "iot:Receive"]),
            deny("iot:Receive", arn("topic", "rcv/secret")),
        ),
    )
    writer = iam_user(iam, policy(allow("iot:*")))
    sub = connect_tcp(make, server, reader)
    pub = connect_tcp(make, server, writer)
    assert sub.subscribe("rcv/#") == [1]
    pub.publish("rcv/secret", b"hidden")
    pub.publish("rcv/open", b"visible")
    assert sub.expect().payload == b"visible"
    sub.expect_none()
    # Retained copies are deliveries too.
    pub.publish("rcv/secret", b"retained secret", retain=True)
    assert sub.subscribe("rcv/secret") == [1]
    sub.expect_none()


def test_will_needs_publish_on_its_topic(iam: Any, server: ServerThread, make: Callable[..., Client]) -> None:
    keys = iam_user(iam, scoped("will", client_prefix=""))
    ok = connect_tcp(make, server, keys, will=("will/me", b"bye", 1, False))
    assert ok.connack == 0
    refused = connect_tcp(make, server, keys, will=("elsewhere/me", b"bye", 1, False))
    assert refused.connack == NOT_AUTHORIZED
    retained = connect_tcp(make, server, keys, will=("will/me", b"bye", 1, True))
    assert retained.connack == NOT_AUTHORIZED  # no iot:RetainPublish


def test_will_attribute_condition(iam: Any, server: ServerThread, make: Callable[..., Client]) -> None:
    no_will = {"ForAllValues:StringNotEquals": {"iot:ConnectAttributes": ["LastWill"]}}
    keys = iam_user(
        iam,
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": no_will},
                    {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"},
                ],
            }
        ),
    )
    assert connect_tcp(make, server, keys).connack == 0
    assert connect_tcp(make, server, keys, will=("w/t", b"x", 0, False)).connack == NOT_AUTHORIZED


def wait_until(check: Callable[[], bool], timeout: float = 1.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_policy_change_reaches_open_connections_within_a_second(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(iam, policy(allow("iot:*")))
    writer = iam_user(iam, policy(allow("iot:*")))
    sub = connect_tcp(make, server, keys, client_id="live-sub")
    pub = connect_tcp(make, server, writer)
    assert sub.subscribe("live/a/#", "live/b") == [1, 1]
    pub.publish("live/a/1", b"before")
    assert sub.expect().payload == b"before"

    set_user_policy(iam, keys, policy(allow("iot:*"), deny("iot:Subscribe", arn("topicfilter", "live/a/*"))))
    started = time.monotonic()

    def stopped() -> bool:
        pub.publish("live/a/1", b"probe", qos=0)
        try:
            sub.expect(0.05)
        except Exception:
            return True
        return False

    assert wait_until(stopped)
    assert time.monotonic() - started < 1.5
    pub.publish("live/b", b"still subscribed")
    assert sub.expect().payload == b"still subscribed"
    sub.expect_none(0.2)

    set_user_policy(iam, keys, policy(deny("iot:Connect"), allow("iot:*")))
    assert sub.wait_closed(1.5)
    assert int(sub.disconnect_reason.value) == NOT_AUTHORIZED


def test_detaching_the_policy_disconnects_mqtt311_too(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    keys = iam_user(iam, policy(allow("iot:*")))
    client = connect_tcp(make, server, keys, version=4)
    assert client.is_connected
    iam.delete_user_policy(UserName=keys.user, PolicyName="mqtt")
    assert client.wait_closed(1.5)


def test_policy_change_reaches_open_connections_when_an_api_call_sees_it_first(
    iam: Any, server: ServerThread, make: Callable[..., Client]
) -> None:
    """A signed API call decided right after a policy change reads the new generation before the
    broker's watch does; the open connections must be re-checked all the same."""
    import boto3
    from botocore.exceptions import ClientError

    keys = iam_user(iam, policy(allow("iot:*")))
    caller = iam_user(iam, policy(allow("iot:*")))
    as_caller = boto3.client(
        "iam",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=caller.key,
        aws_secret_access_key=caller.secret,
        region_name="us-east-1",
    )
    client = connect_tcp(make, server, keys, version=4)
    assert client.is_connected
    iam.delete_user_policy(UserName=keys.user, PolicyName="mqtt")
    with pytest.raises(ClientError):  # not allowed, but decided: it reads the store's new generation
        as_caller.get_user(UserName=keys.user)
    assert client.wait_closed(1.5)


def test_role_session_credentials(iam: Any, server: ServerThread, make: Callable[..., Client]) -> None:
    role = "mqtt-role-" + uuid.uuid4().hex[:6]
    trust = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="mqtt", PolicyDocument=scoped("role", client_prefix="r-"))
    sts = admin_client(server, "sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="mqtt-session")[
        "Credentials"
    ]
    keys = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    client = connect_tcp(make, server, keys, client_id="r-1")
    assert client.is_connected
    assert client.subscribe("role/x", "other/x") == [1, NOT_AUTHORIZED]
    assert client.publish("role/x", b"from a role") == 0
    assert client.expect().payload == b"from a role"
    # The same credentials over WebSocket, token appended after signing.
    api = server.server.port
    url = presign(server, keys, f"{HOST}:{api}", scheme="ws")
    assert "X-Amz-Security-Token=" in url
    ws = make("r-2", transport="websockets").connect(api, ws_path=url.split(f":{api}", 1)[1])
    assert ws.is_connected
    assert connect_tcp(make, server, keys, client_id="x-1").connack == NOT_AUTHORIZED


def test_admin_root_keys_may_do_everything(server: ServerThread, make: Callable[..., Client]) -> None:
    key, secret = server.admin_keys
    client = connect_tcp(make, server, Keys(key, secret), client_id="anything")
    assert client.subscribe("#") == [1]
    assert client.publish("root/x", b"r") == 0
    assert client.expect().payload == b"r"


def test_anonymous_principal_is_bound_to_its_policy(tmp_path: Any, make: Callable[..., Client]) -> None:
    document = policy(
        allow("iot:Connect", arn("client", "anon-*")),
        allow(["iot:Publish", "iot:Receive"], arn("topic", "open/*")),
        allow("iot:Subscribe", arn("topicfilter", "open/*")),
    )
    with mqtt_server(tmp_path, mqtt_anonymous_policy=document) as anon_server:
        tcp = ports(anon_server)[0]
        client = make("anon-1", version=5).connect(tcp)
        assert client.is_connected
        assert client.subscribe("open/a", "closed/a") == [1, NOT_AUTHORIZED]
        assert client.publish("open/a", b"hi") == 0
        assert client.expect().payload == b"hi"
        assert client.publish("closed/a", b"no") == NOT_AUTHORIZED
        assert make("someone-else", version=5).connect(tcp).connack == NOT_AUTHORIZED
