"""The AWS IoT data plane over HTTP (boto3 ``iot-data``, raw SigV4 requests) against a running server:
HTTP publishes reach MQTT subscribers, retained messages, authorization (iot:Publish, iot:RetainPublish,
the Cognito dual check), AWS's errors, and connection management of live MQTT clients."""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    REGION,
    Client,
    Keys,
    admin_client,
    allow,
    arn,
    connect_tcp,
    iam_user,
    mqtt_server,
    policy,
)
from tests.e2e.test_mqtt_durability import _connect, _root, _serve

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})
SUB = "${cognito-identity.amazonaws.com:sub}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("iot-data")) as thread:
        yield thread


def data_client(endpoint: str, keys: Keys) -> Any:
    return boto3.session.Session(
        aws_access_key_id=keys.key,
        aws_secret_access_key=keys.secret,
        aws_session_token=keys.token,
        region_name=REGION,
    ).client("iot-data", endpoint_url=endpoint, config=NO_RETRY)


@pytest.fixture(scope="module")
def data(server: ServerThread, root: Keys) -> Any:
    return data_client(server.endpoint_url, root)


@pytest.fixture
def topic() -> str:
    return "http/" + uuid.uuid4().hex[:10]


def _error(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def signed(method: str, url: str, keys: Keys, body: bytes = b"", **headers: str) -> requests.Response:
    """A raw HTTP request signed with botocore's SigV4 as curl users sign theirs (service
    ``iotdevicegateway``), the path sent exactly as written."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(keys.key, keys.secret, keys.token), "iotdevicegateway", REGION).add_auth(request)
    return requests.request(method, url, data=body, headers=dict(request.headers.items()), timeout=10)


# ---- publishing ------------------------------------------------------------------------------------------


def test_publish_reaches_mqtt_subscribers_at_qos_0_and_1(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client], topic: str
) -> None:
    v5 = connect_tcp(make, server, root)
    v3 = connect_tcp(make, server, root, version=4)
    assert v5.subscribe(topic, qos=1) == [1]
    assert v3.subscribe(topic, qos=1) == [1]
    answer = data.publish(topic=topic, payload=b"\x00binary\xff")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    data.publish(topic=topic, qos=1, payload=b"at least once")
    for client in (v5, v3):
        first, second = client.drain(2)
        assert (first.payload, first.qos, first.retain) == (b"\x00binary\xff", 0, False)
        assert (second.payload, second.qos) == (b"at least once", 1)
    # An empty body is an empty payload.
    data.publish(topic=topic)
    assert v5.expect().payload == b""


def test_publish_answers_what_aws_answers(server: ServerThread, root: Keys, topic: str) -> None:
    response = signed("POST", f"{server.endpoint_url}/topics/{topic}?qos=1", root, b"hi")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "OK" and uuid.UUID(body["traceId"])
    assert response.headers["Content-Type"] == "application/json"


def test_a_body_arriving_in_pieces_is_read_whole(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    subscriber = connect_tcp(make, server, root)
    subscriber.subscribe(topic)
    payload = bytes(range(256)) * 400
    url = f"{server.endpoint_url}/topics/{topic}"
    request = AWSRequest(method="POST", url=url, data=payload)
    SigV4Auth(Credentials(root.key, root.secret), "iotdata", REGION).add_auth(request)

    def pieces() -> Iterator[bytes]:
        yield payload[:40_000]
        time.sleep(0.05)  # the server sees the first piece before the rest exists
        yield payload[40_000:]

    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    response = requests.post(url, data=pieces(), headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert subscriber.expect().payload == payload


def test_mqtt5_properties_reach_a_v5_subscriber(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client], topic: str
) -> None:
    subscriber = connect_tcp(make, server, root)
    subscriber.subscribe(topic)
    data.publish(
        topic=topic,
        qos=1,
        payload=b'{"on":true}',
        # As the model documents it: a JSON string holding an array of one-member objects.
        userProperties='[{"deviceName": "alpha"}, {"deviceCnt": "45"}, {"deviceName": "beta"}]',
        payloadFormatIndicator="UTF8_DATA",
        contentType="application/json",
        responseTopic=topic + "/reply",
        correlationData=base64.b64encode(b"\x01\x02request-7").decode(),
        messageExpiry=120,
    )
    got = subscriber.expect()
    props = got.properties
    assert got.payload == b'{"on":true}'
    assert props.UserProperty == [("deviceName", "alpha"), ("deviceCnt", "45"), ("deviceName", "beta")]
    assert props.PayloadFormatIndicator == 1
    assert props.ContentType == "application/json"
    assert props.ResponseTopic == topic + "/reply"
    assert props.CorrelationData == b"\x01\x02request-7"
    assert 118 <= props.MessageExpiryInterval <= 120


def test_user_properties_header_as_raw_callers_send_it(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    """curl users base64 the JSON array itself (no JSON string around it)."""
    subscriber = connect_tcp(make, server, root)
    subscriber.subscribe(topic)
    header = base64.b64encode(b'[{"a": "1"}, {"b": "2"}]').decode()
    response = signed(
        "POST",
        f"{server.endpoint_url}/topics/{topic}",
        root,
        b"x",
        **{"x-amz-mqtt5-user-properties": header},
    )
    assert response.status_code == 200
    assert subscriber.expect().properties.UserProperty == [("a", "1"), ("b", "2")]


def test_unencoded_topic_path_and_encoded_special_characters(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client]
) -> None:
    base = "raw/" + uuid.uuid4().hex[:8]
    thing = "lamp-" + uuid.uuid4().hex[:6]
    shadow = f"$aws/things/{thing}/shadow/update"
    subscriber = connect_tcp(make, server, root)
    assert subscriber.subscribe(f"{base}/a/b", shadow) == [1, 1]
    # As curl posts it: the topic's slashes unencoded in the path.
    response = signed("POST", f"{server.endpoint_url}/topics/{base}/a/b?qos=1", root, b"unencoded")
    assert response.status_code == 200, response.text
    # Encoded %24: a shadow topic, which clients may publish to.
    response = signed(
        "POST", f"{server.endpoint_url}/topics/%24aws/things/{thing}/shadow/update", root, b"{}"
    )
    assert response.status_code == 200, response.text
    got = sorted((m.topic, m.payload) for m in subscriber.drain(2))
    assert got == [(shadow, b"{}"), (f"{base}/a/b", b"unencoded")]
    # botocore's own form (%2F) reaches the same topic.
    data.publish(topic=f"{base}/a/b", payload=b"encoded")
    assert subscriber.expect().payload == b"encoded"
    # '#' and '+' are filter wildcards, never part of a topic name.
    for encoded in ("%23", "%2B", "a%2F%23"):
        response = signed("POST", f"{server.endpoint_url}/topics/{base}/{encoded}", root, b"x")
        assert response.status_code == 400
        assert response.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    subscriber.expect_none()


def test_bad_requests_get_aws_errors(data: Any, topic: str, server: ServerThread, root: Keys) -> None:
    cases: list[tuple[dict[str, Any], tuple[str, int]]] = [
        ({"topic": topic, "qos": 2}, ("InvalidRequestException", 400)),
        ({"topic": topic, "payload": b"x" * (128 * 1024 + 1)}, ("RequestEntityTooLargeException", 413)),
        ({"topic": "t/" + "x" * 300}, ("InvalidRequestException", 400)),
        ({"topic": "a/b/c/d/e/f/g/h/i"}, ("InvalidRequestException", 400)),
        ({"topic": "a/+/c"}, ("InvalidRequestException", 400)),
        ({"topic": "$SYS/broker"}, ("ForbiddenException", 403)),
        (
            {"topic": "$aws/things/t/shadow/update", "retain": True, "payload": b"{}"},
            ("ForbiddenException", 403),
        ),
        ({"topic": topic, "responseTopic": "replies/#"}, ("InvalidRequestException", 400)),
        ({"topic": topic, "correlationData": "not base64!"}, ("InvalidRequestException", 400)),
        ({"topic": topic, "userProperties": '{"not": "an array"}'}, ("InvalidRequestException", 400)),
        ({"topic": topic, "userProperties": '[{"n": 1}]'}, ("InvalidRequestException", 400)),
        ({"topic": topic, "messageExpiry": -1}, ("InvalidRequestException", 400)),
    ]
    for params, expected in cases:
        with pytest.raises(ClientError) as raised:
            data.publish(**params)
        assert _error(raised) == expected, params
    # The largest payload AWS takes is accepted.
    data.publish(topic=topic, payload=b"x" * (128 * 1024))
    # A header that is not base64 JSON at all.
    response = signed(
        "POST", f"{server.endpoint_url}/topics/{topic}", root, b"x", **{"x-amz-mqtt5-user-properties": "%%%"}
    )
    assert response.status_code == 400
    # Operations of the model Bastion does not serve.
    with pytest.raises(ClientError) as raised:
        data.get_thing_shadow(thingName="lamp")
    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"


# ---- retained messages -----------------------------------------------------------------------------------


def test_retained_get_list_and_delete(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client], topic: str
) -> None:
    before = int(time.time() * 1000)
    data.publish(topic=f"{topic}/0", qos=1, retain=True, payload=b"zero", userProperties='[{"k": "v"}]')
    for n in range(1, 5):
        data.publish(topic=f"{topic}/{n}", retain=True, payload=f"p{n}".encode() * n)
    got = data.get_retained_message(topic=f"{topic}/0")
    assert (got["topic"], got["payload"], got["qos"]) == (f"{topic}/0", b"zero", 1)
    assert before - 1000 <= got["lastModifiedTime"] <= int(time.time() * 1000) + 1000
    assert json.loads(got["userProperties"]) == [{"k": "v"}]
    assert "userProperties" not in data.get_retained_message(topic=f"{topic}/1")

    # Paging: stable topic order, two at a time.
    listed: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = data.list_retained_messages(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["retainedTopics"]) <= 2
        listed.extend(page["retainedTopics"])
        token = page.get("nextToken")
        if token is None:
            break
    mine = [item for item in listed if item["topic"].startswith(topic + "/")]
    assert [item["topic"] for item in mine] == [f"{topic}/{n}" for n in range(5)]
    assert [item["payloadSize"] for item in mine] == [4, 2, 4, 6, 8]
    assert all(isinstance(item["lastModifiedTime"], int) for item in mine)
    # boto3's paginator follows the same tokens.
    paged = data.get_paginator("list_retained_messages").paginate(PaginationConfig={"PageSize": 3})
    assert [i["topic"] for p in paged for i in p["retainedTopics"]] == [i["topic"] for i in listed]

    # A retained copy reaches a new subscriber with RETAIN set, as an MQTT retained publish does.
    subscriber = connect_tcp(make, server, root)
    subscriber.subscribe(f"{topic}/3")
    got_mqtt = subscriber.expect()
    assert (got_mqtt.payload, got_mqtt.retain) == (b"p3p3p3", True)

    # retain=true with an empty payload deletes the topic's retained message.
    data.publish(topic=f"{topic}/3", retain=True)
    with pytest.raises(ClientError) as raised:
        data.get_retained_message(topic=f"{topic}/3")
    assert _error(raised) == ("ResourceNotFoundException", 404)
    assert subscriber.expect().payload == b""  # still delivered to current subscribers

    for bad in ("garbage", base64.urlsafe_b64encode(b'["iot-data-subscriptions","x"]').decode()):
        with pytest.raises(ClientError) as raised:
            data.list_retained_messages(nextToken=bad)
        assert _error(raised) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as raised:
        data.list_retained_messages(maxResults=201)
    assert _error(raised) == ("InvalidRequestException", 400)


def test_unencoded_retained_message_path(server: ServerThread, root: Keys, data: Any, topic: str) -> None:
    data.publish(topic=f"{topic}/deep/level", retain=True, payload=b"kept")
    response = signed("GET", f"{server.endpoint_url}/retainedMessage/{topic}/deep/level", root)
    assert response.status_code == 200
    assert base64.b64decode(response.json()["payload"]) == b"kept"


# ---- authorization ---------------------------------------------------------------------------------------


def test_publish_and_retain_publish_are_both_checked(server: ServerThread, topic: str) -> None:
    iam = admin_client(server, "iam")
    publisher = iam_user(iam, policy(allow("iot:Publish", arn("topic", f"{topic}/*"))))
    retainer = iam_user(iam, policy(allow(["iot:Publish", "iot:RetainPublish"], arn("topic", f"{topic}/*"))))
    client = data_client(server.endpoint_url, publisher)
    client.publish(topic=f"{topic}/ok", payload=b"fine")
    with pytest.raises(ClientError) as raised:
        client.publish(topic="elsewhere/x", payload=b"no")
    assert _error(raised) == ("ForbiddenException", 403)
    assert "iot:Publish" in raised.value.response["Error"]["Message"]
    # Allowed to publish, not to retain.
    with pytest.raises(ClientError) as raised:
        client.publish(topic=f"{topic}/ok", retain=True, payload=b"kept")
    assert _error(raised) == ("ForbiddenException", 403)
    assert "iot:RetainPublish" in raised.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as raised:
        client.get_retained_message(topic=f"{topic}/ok")
    assert _error(raised) == ("ForbiddenException", 403)
    with pytest.raises(ClientError) as raised:
        client.list_retained_messages()
    assert _error(raised) == ("ForbiddenException", 403)
    data_client(server.endpoint_url, retainer).publish(topic=f"{topic}/ok", retain=True, payload=b"kept")


def _trust(pool_id: str) -> str:
    return policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }
    )


def _signed_in_identity(server: ServerThread) -> tuple[str, Keys]:
    """A user-pool user signed in to an identity pool whose authenticated role may publish to the
    identity's own topics (``${cognito-identity.amazonaws.com:sub}/*``)."""
    idp, ci, iam = (admin_client(server, s) for s in ("cognito-idp", "cognito-identity", "iam"))
    user_pool = idp.create_user_pool(PoolName="http-publishers")["UserPool"]["Id"]
    app = idp.create_user_pool_client(
        UserPoolId=user_pool, ClientName="app", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    provider = f"cognito-idp.{REGION}.amazonaws.com/{user_pool}"
    pool = ci.create_identity_pool(
        IdentityPoolName="http",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": app}],
    )["IdentityPoolId"]
    role = "http-publisher-" + uuid.uuid4().hex[:6]
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(pool))["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role, PolicyName="own", PolicyDocument=policy(allow("iot:Publish", arn("topic", f"{SUB}/*")))
    )
    ci.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": role_arn})
    idp.admin_create_user(UserPoolId=user_pool, Username="owner", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=user_pool, Username="owner", Password="Sup3r-secret!", Permanent=True
    )
    token = idp.admin_initiate_auth(
        UserPoolId=user_pool,
        ClientId=app,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "owner", "PASSWORD": "Sup3r-secret!"},
    )["AuthenticationResult"]["IdToken"]
    public = boto3.session.Session(region_name=REGION).client(
        "cognito-identity", endpoint_url=server.endpoint_url, config=Config(signature_version=UNSIGNED)
    )
    logins = {provider: token}
    identity = public.get_id(IdentityPoolId=pool, Logins=logins)["IdentityId"]
    creds = public.get_credentials_for_identity(IdentityId=identity, Logins=logins)["Credentials"]
    return identity, Keys(creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"])


def test_signed_in_cognito_identity_needs_an_attached_iot_policy(server: ServerThread) -> None:
    identity, keys = _signed_in_identity(server)
    client = data_client(server.endpoint_url, keys)
    # The role allows it, but no AWS IoT policy is attached to the identity yet.
    with pytest.raises(ClientError) as raised:
        client.publish(topic=f"{identity}/status", payload=b"online")
    assert _error(raised) == ("ForbiddenException", 403)
    iot = admin_client(server, "iot")
    name = "http-" + uuid.uuid4().hex[:6]
    iot.create_policy(policyName=name, policyDocument=policy(allow("iot:*")))
    iot.attach_policy(policyName=name, target=identity)
    client.publish(topic=f"{identity}/status", payload=b"online")
    # The IoT policy allows everything; the role's ${cognito-identity.amazonaws.com:sub} scoping still holds.
    with pytest.raises(ClientError) as raised:
        client.publish(topic="someone-else/status", payload=b"spoof")
    assert _error(raised) == ("ForbiddenException", 403)


# ---- connections -----------------------------------------------------------------------------------------


def test_get_connection_list_subscriptions_and_delete_connection(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client], topic: str
) -> None:
    client_id = "device-" + uuid.uuid4().hex[:8]
    watcher = connect_tcp(make, server, root)
    watcher.subscribe(f"{topic}/will", f"$aws/events/presence/disconnected/{client_id}")
    device = connect_tcp(
        make,
        server,
        root,
        client_id=client_id,
        clean=False,
        session_expiry=600,
        keepalive=90,
        will=(f"{topic}/will", b"device lost", 1, False),
    )
    assert device.subscribe(f"{topic}/a", f"{topic}/b/#", qos=1) == [1, 1]
    assert device.subscribe(f"{topic}/c", qos=0) == [0]

    info = data.get_connection(clientId=client_id)
    assert info["connected"] is True and info["clientId"] == client_id
    assert (info["cleanSession"], info["sessionExpiry"], info["keepAliveDuration"]) == (False, 600, 90)
    assert abs(info["connectedSince"] - time.time() * 1000) < 60_000
    assert "sourceIp" not in info
    assert data.get_connection(clientId=client_id, includeSocketInformation=True)["sourceIp"] == "127.0.0.1"

    first = data.list_subscriptions(clientId=client_id, maxResults=2)
    assert first["subscriptions"] == [
        {"topicFilter": f"{topic}/a", "qos": 1},
        {"topicFilter": f"{topic}/b/#", "qos": 1},
    ]
    rest = data.list_subscriptions(clientId=client_id, nextToken=first["nextToken"])
    assert rest["subscriptions"] == [{"topicFilter": f"{topic}/c", "qos": 0}] and "nextToken" not in rest

    data.delete_connection(clientId=client_id, preventWillMessage=True)
    assert device.wait_closed()
    assert int(device.disconnect_reason.value) == 0x98  # MQTT 5: administrative action
    event = json.loads(watcher.expect().payload)
    assert (event["clientId"], event["disconnectReason"]) == (client_id, "API_INITIATED_DISCONNECT")
    assert event["clientInitiatedDisconnect"] is False
    watcher.expect_none()  # no Will

    # The persistent session stays, offline, until cleanSession=true ends it.
    offline = data.get_connection(clientId=client_id)
    assert (offline["connected"], offline["disconnectReason"]) == (False, "API_INITIATED_DISCONNECT")
    assert "connectedSince" not in offline and offline["disconnectedSince"] >= info["connectedSince"]
    assert len(data.list_subscriptions(clientId=client_id)["subscriptions"]) == 3
    data.delete_connection(clientId=client_id, cleanSession=True)
    for call in (data.get_connection, data.list_subscriptions, data.delete_connection):
        with pytest.raises(ClientError) as raised:
            call(clientId=client_id)
        assert _error(raised) == ("ResourceNotFoundException", 404)


def test_delete_connection_sends_the_will_unless_told_not_to(
    server: ServerThread, root: Keys, data: Any, make: Callable[..., Client], topic: str
) -> None:
    watcher = connect_tcp(make, server, root)
    watcher.subscribe(topic)
    client_id = "v3-" + uuid.uuid4().hex[:8]
    device = connect_tcp(make, server, root, version=4, client_id=client_id, will=(topic, b"bye", 1, False))
    assert data.get_connection(clientId=client_id)["cleanSession"] is True
    data.delete_connection(clientId=client_id)
    assert device.wait_closed()
    assert watcher.expect().payload == b"bye"
    with pytest.raises(ClientError) as raised:
        data.get_connection(clientId=client_id)  # a clean session ends with its connection
    assert _error(raised) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as raised:
        data.get_connection(clientId="$reserved")
    assert _error(raised) == ("InvalidRequestException", 400)


def test_connection_operations_are_authorized_on_the_client_arn(
    server: ServerThread, root: Keys, make: Callable[..., Client]
) -> None:
    mine, theirs = "mine-" + uuid.uuid4().hex[:6], "theirs-" + uuid.uuid4().hex[:6]
    for client_id in (mine, theirs):
        connect_tcp(make, server, root, client_id=client_id)
    keys = iam_user(
        admin_client(server, "iam"),
        policy(
            allow(["iot:GetConnection", "iot:ListSubscriptions", "iot:DeleteConnection"], arn("client", mine))
        ),
    )
    client = data_client(server.endpoint_url, keys)
    assert client.get_connection(clientId=mine)["connected"] is True
    assert client.list_subscriptions(clientId=mine)["subscriptions"] == []
    for call in (client.get_connection, client.list_subscriptions, client.delete_connection):
        with pytest.raises(ClientError) as raised:
            call(clientId=theirs)
        assert _error(raised) == ("ForbiddenException", 403)
    client.delete_connection(clientId=mine)


# ---- durability ------------------------------------------------------------------------------------------


def test_acknowledged_http_publishes_survive_kill_9(tmp_path: Path) -> None:
    topic = "crash/" + uuid.uuid4().hex[:6]
    with _serve(tmp_path) as (process, port, api):
        root = _root(tmp_path)
        session = _connect(port, api, root, "away")
        assert session.subscribe(topic, qos=1) == [1]
        session.close()
        client = data_client(f"http://127.0.0.1:{api}", root)
        client.publish(topic=topic + "/config", retain=True, payload=b"kept", qos=1)
        client.publish(topic=topic, qos=1, payload=b"queued")
        process.send_signal(signal.SIGKILL)  # the instant after the answers
        process.wait()
    with _serve(tmp_path) as (_, port, api):
        client = data_client(f"http://127.0.0.1:{api}", root)
        assert client.get_retained_message(topic=topic + "/config")["payload"] == b"kept"
        again = _connect(port, api, root, "away")
        assert again.session_present is True
        assert again.expect().payload == b"queued"
        again.close()
