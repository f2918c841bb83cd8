"""The AWS IoT Device SDK v2 for Python (awsiotsdk, on aws-crt) against Bastion, signing its WebSocket
upgrade with SigV4 exactly as it does for AWS IoT Core.

The SDK's builders always use TLS, so they talk to the HTTPS/WSS port with Bastion's generated CA. The
plain ``ws://`` case uses aws-crt's MQTT client directly with the same signing configuration.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import ACCOUNT, REGION, Keys, admin_client, allow, arn, mqtt_server, policy

awscrt = pytest.importorskip("awscrt")
awsiot = pytest.importorskip("awsiot")

from awscrt import auth, io, mqtt, mqtt5  # noqa: E402
from awsiot import mqtt5_client_builder, mqtt_connection_builder  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("mqtt-sdk")) as thread:
        yield thread


@pytest.fixture(scope="module")
def role_keys(server: ServerThread) -> Keys:
    """Temporary credentials (with a session token) for a role allowed sdk/* only."""
    iam = admin_client(server, "iam")
    role = "sdk-" + uuid.uuid4().hex[:6]
    trust = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(
        RoleName=role,
        PolicyName="sdk",
        PolicyDocument=policy(
            allow("iot:Connect", arn("client", "sdk-*")),
            allow(["iot:Publish", "iot:Receive"], arn("topic", "sdk/*")),
            allow("iot:Subscribe", arn("topicfilter", "sdk/*")),
        ),
    )
    creds = admin_client(server, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="device"
    )["Credentials"]
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def _provider(keys: Keys) -> Any:
    return auth.AwsCredentialsProvider.new_static(keys.key, keys.secret, keys.token)


def _wss_port(server: ServerThread) -> int:
    url = server.server.tls_endpoint_url
    assert url is not None
    return int(url.rsplit(":", 1)[1])


def _ca(server: ServerThread) -> str:
    tls = server.server.tls
    assert tls is not None and tls.ca_file is not None
    return str(tls.ca_file)


def test_mqtt311_connection_builder_over_wss(server: ServerThread, role_keys: Keys) -> None:
    connection = mqtt_connection_builder.websockets_with_default_aws_signing(
        endpoint="localhost",
        port=_wss_port(server),
        region=REGION,
        credentials_provider=_provider(role_keys),
        ca_filepath=_ca(server),
        client_id="sdk-" + uuid.uuid4().hex[:6],
        clean_session=True,
        keep_alive_secs=30,
    )
    assert connection.connect().result(10)["session_present"] is False
    received: Future[bytes] = Future()
    subscribed, _ = connection.subscribe(
        "sdk/three", mqtt.QoS.AT_LEAST_ONCE, lambda topic, payload, **kw: received.set_result(payload)
    )
    assert subscribed.result(5)["qos"] == mqtt.QoS.AT_LEAST_ONCE
    published, _ = connection.publish("sdk/three", b"from the device sdk", mqtt.QoS.AT_LEAST_ONCE)
    published.result(5)
    assert received.result(5) == b"from the device sdk"
    connection.disconnect().result(5)


def test_mqtt5_client_builder_over_wss(server: ServerThread, role_keys: Keys) -> None:
    connected: Future[Any] = Future()
    stopped = threading.Event()
    received: Future[Any] = Future()
    client = mqtt5_client_builder.websockets_with_default_aws_signing(
        endpoint="127.0.0.1",
        port=_wss_port(server),
        region=REGION,
        credentials_provider=_provider(role_keys),
        ca_filepath=_ca(server),
        client_id="sdk-" + uuid.uuid4().hex[:6],
        on_publish_received=lambda data: received.set_result(data.publish_packet),
        on_lifecycle_connection_success=lambda data: connected.set_result(data.connack_packet),
        on_lifecycle_stopped=lambda data: stopped.set(),
    )
    client.start()
    try:
        assert connected.result(10).reason_code == mqtt5.ConnectReasonCode.SUCCESS
        suback = client.subscribe(
            mqtt5.SubscribePacket(
                subscriptions=[
                    mqtt5.Subscription("sdk/five", mqtt5.QoS.AT_LEAST_ONCE),
                    mqtt5.Subscription("elsewhere/five", mqtt5.QoS.AT_LEAST_ONCE),
                ]
            )
        ).result(5)
        assert suback.reason_codes == [
            mqtt5.SubackReasonCode.GRANTED_QOS_1,
            mqtt5.SubackReasonCode.NOT_AUTHORIZED,
        ]
        denied = client.publish(
            mqtt5.PublishPacket(topic="elsewhere/five", payload=b"no", qos=mqtt5.QoS.AT_LEAST_ONCE)
        ).result(5)
        assert denied.puback.reason_code == mqtt5.PubackReasonCode.NOT_AUTHORIZED
        ok = client.publish(
            mqtt5.PublishPacket(
                topic="sdk/five",
                payload=b"mqtt5",
                qos=mqtt5.QoS.AT_LEAST_ONCE,
                user_properties=[mqtt5.UserProperty("k", "v")],
            )
        ).result(5)
        assert ok.puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
        packet = received.result(5)
        assert packet.payload == b"mqtt5"
        assert [(p.name, p.value) for p in packet.user_properties] == [("k", "v")]
    finally:
        client.stop()
        stopped.wait(5)


def test_plain_websocket_with_aws_crt(server: ServerThread, role_keys: Keys) -> None:
    provider = _provider(role_keys)

    def sign(transform_args: Any) -> None:  # aws-crt passes it by this keyword
        config = auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4,
            signature_type=auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS,
            credentials_provider=provider,
            region=REGION,
            service="iotdevicegateway",
            omit_session_token=True,  # what the SDK does for AWS IoT
        )
        signing = auth.aws_sign_request(transform_args.http_request, config)
        signing.add_done_callback(lambda done: transform_args.set_done(done.exception()))

    client = mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), None)
    connection = mqtt.Connection(
        client=client,
        host_name="127.0.0.1",
        port=server.server.port,
        client_id="sdk-" + uuid.uuid4().hex[:6],
        clean_session=True,
        keep_alive_secs=30,
        use_websockets=True,
        websocket_handshake_transform=sign,
    )
    assert connection.connect().result(10)["session_present"] is False
    received: Future[bytes] = Future()
    subscribed, _ = connection.subscribe(
        "sdk/plain", mqtt.QoS.AT_LEAST_ONCE, lambda topic, payload, **kw: received.set_result(payload)
    )
    subscribed.result(5)
    connection.publish("sdk/plain", b"ws", mqtt.QoS.AT_LEAST_ONCE)[0].result(5)
    assert received.result(5) == b"ws"
    connection.disconnect().result(5)
