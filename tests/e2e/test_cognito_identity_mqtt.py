"""Identity pool credentials on the MQTT broker: policies scoped with ${cognito-identity.amazonaws.com:sub}
give each identity its own client id and topics, guests by their role alone, signed-in users (real user
pool sign-ins) by their role and the AWS IoT policy attached to their identity (aws-notes §1.3)."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    HOST,
    REGION,
    Client,
    Keys,
    admin_client,
    allow,
    arn,
    connect_tcp,
    mqtt_server,
    policy,
    presign,
)

NOT_AUTHORIZED = 0x87
SUB = "${cognito-identity.amazonaws.com:sub}"
OWN = policy(
    allow("iot:Connect", arn("client", SUB)),
    allow(["iot:Publish", "iot:Receive"], arn("topic", f"{SUB}/*")),
    allow("iot:Subscribe", arn("topicfilter", f"{SUB}/*")),
)


def _trust(pool_id: str, amr: str) -> str:
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
            },
        }
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("cognito-mqtt")) as thread:
        yield thread


@pytest.fixture(scope="module")
def user_pool(server: ServerThread) -> dict[str, str]:
    idp = admin_client(server, "cognito-idp")
    pool = idp.create_user_pool(PoolName="devices")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return {"id": pool, "client": client, "provider": f"cognito-idp.{REGION}.amazonaws.com/{pool}"}


def _sign_in(server: ServerThread, user_pool: dict[str, str]) -> dict[str, str]:
    """A new user of the user pool, signed in: the Logins map of its ID token."""
    idp = admin_client(server, "cognito-idp")
    name = f"device-owner-{uuid.uuid4().hex[:6]}"
    idp.admin_create_user(UserPoolId=user_pool["id"], Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=user_pool["id"], Username=name, Password="Sup3r-secret!", Permanent=True
    )
    result = idp.admin_initiate_auth(
        UserPoolId=user_pool["id"],
        ClientId=user_pool["client"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": "Sup3r-secret!"},
    )["AuthenticationResult"]
    return {user_pool["provider"]: result["IdToken"]}


@pytest.fixture(scope="module")
def pool_id(server: ServerThread, user_pool: dict[str, str]) -> str:
    ci, iam = admin_client(server, "cognito-identity"), admin_client(server, "iam")
    created = ci.create_identity_pool(
        IdentityPoolName="mqtt",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{"ProviderName": user_pool["provider"], "ClientId": user_pool["client"]}],
    )["IdentityPoolId"]
    roles = {}
    for kind in ("authenticated", "unauthenticated"):
        role = f"mqtt-{kind}"
        roles[kind] = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(created, kind))["Role"][
            "Arn"
        ]
        iam.put_role_policy(RoleName=role, PolicyName="own", PolicyDocument=OWN)
    ci.set_identity_pool_roles(IdentityPoolId=created, Roles=roles)
    return str(created)


@pytest.fixture(scope="module")
def public(server: ServerThread) -> Any:
    return boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )


def _identity(public: Any, pool_id: str, logins: dict[str, str] | None = None) -> tuple[str, Keys]:
    extra = {"Logins": logins} if logins else {}
    identity_id = public.get_id(IdentityPoolId=pool_id, **extra)["IdentityId"]
    creds = public.get_credentials_for_identity(IdentityId=identity_id, **extra)["Credentials"]
    return identity_id, Keys(creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])


def test_guests_reach_only_their_own_client_id_and_topics(
    server: ServerThread, public: Any, pool_id: str, make: Callable[..., Client]
) -> None:
    mine, keys = _identity(public, pool_id)
    theirs, _ = _identity(public, pool_id)
    # Over WebSocket, as browsers connect.
    api = server.server.port
    url = presign(server, keys, f"{HOST}:{api}", scheme="ws")
    client = make(mine, transport="websockets").connect(api, ws_path=url.split(f":{api}", 1)[1])
    assert client.is_connected
    assert client.subscribe(f"{mine}/#", f"{theirs}/#") == [1, NOT_AUTHORIZED]
    assert client.publish(f"{mine}/status", b"online") == 0
    assert client.expect().payload == b"online"
    assert client.publish(f"{theirs}/status", b"intrusion") == NOT_AUTHORIZED
    # Another identity's client id is refused at CONNECT.
    assert connect_tcp(make, server, keys, client_id=theirs).connack == NOT_AUTHORIZED


def test_signed_in_users_need_their_role_and_an_iot_policy_on_their_identity(
    server: ServerThread, public: Any, pool_id: str, user_pool: dict[str, str], make: Callable[..., Client]
) -> None:
    alice, alice_keys = _identity(public, pool_id, _sign_in(server, user_pool))
    bob, bob_keys = _identity(public, pool_id, _sign_in(server, user_pool))
    iot = admin_client(server, "iot")
    name = f"devices-{uuid.uuid4().hex[:6]}"
    iot.create_policy(policyName=name, policyDocument=policy(allow("iot:*")))
    iot.attach_policy(policyName=name, target=alice)

    client = connect_tcp(make, server, alice_keys, client_id=alice)
    assert client.is_connected
    assert client.publish(f"{alice}/telemetry", b"21.5") == 0
    # The IoT policy allows everything; the role's ${cognito-identity.amazonaws.com:sub} scoping still holds.
    assert client.publish(f"{bob}/telemetry", b"spoof") == NOT_AUTHORIZED
    assert connect_tcp(make, server, alice_keys, client_id=bob).connack == NOT_AUTHORIZED
    # Bob's role allows his own client id, but no AWS IoT policy is attached to his identity.
    assert connect_tcp(make, server, bob_keys, client_id=bob).connack == NOT_AUTHORIZED


def test_detaching_an_iot_policy_cuts_an_open_subscription_within_a_second(
    server: ServerThread, public: Any, pool_id: str, user_pool: dict[str, str], make: Callable[..., Client]
) -> None:
    """A signed-in identity subscribed over WebSocket: detaching the IoT policy that grants Subscribe stops
    its deliveries within a second (the connection stays); detaching the last one closes it (0x87)."""
    alice, keys = _identity(public, pool_id, _sign_in(server, user_pool))
    iot = admin_client(server, "iot")
    base, subscribe = f"base-{uuid.uuid4().hex[:6]}", f"sub-{uuid.uuid4().hex[:6]}"
    iot.create_policy(
        policyName=base, policyDocument=policy(allow(["iot:Connect", "iot:Publish", "iot:Receive"]))
    )
    iot.create_policy(policyName=subscribe, policyDocument=policy(allow("iot:Subscribe")))
    iot.attach_policy(policyName=base, target=alice)
    iot.attach_policy(policyName=subscribe, target=alice)

    api = server.server.port
    url = presign(server, keys, f"{HOST}:{api}", scheme="ws")
    listener = make(alice, transport="websockets").connect(api, ws_path=url.split(f":{api}", 1)[1])
    assert listener.subscribe(f"{alice}/inbox") == [1]
    assert listener.publish(f"{alice}/inbox", b"before") == 0
    assert listener.expect().payload == b"before"

    iot.detach_policy(policyName=subscribe, target=alice)
    deadline, cut = time.monotonic() + 1.0, False
    while not cut and time.monotonic() < deadline:
        listener.publish(f"{alice}/inbox", b"probe", qos=0)
        try:
            listener.expect(0.1)
        except queue.Empty:
            cut = True
    assert cut, "still delivering a second after the detach"
    time.sleep(0.2)  # a probe published just before the cut may still be on its way: let it land
    while not listener.messages.empty():
        listener.messages.get_nowait()
    listener.publish(f"{alice}/inbox", b"after the cut", qos=0)
    listener.expect_none(0.3)
    assert listener.is_connected

    iot.detach_policy(policyName=base, target=alice)
    assert listener.wait_closed(1.5)
    assert int(listener.disconnect_reason.value) == NOT_AUTHORIZED
