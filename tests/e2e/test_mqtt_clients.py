"""Real MQTT clients over real sockets: paho-mqtt (3.1.1 and 5; TCP, TLS, WebSocket) and mosquitto_pub /
mosquitto_sub, each authenticating with a SigV4-presigned URL signed by keys Bastion issued."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    HOST,
    REGION,
    Client,
    Keys,
    allow,
    iam_user,
    mqtt_server,
    policy,
    ports,
    presign,
    tcp_password,
)

EVERYTHING = policy(allow("iot:*"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("mqtt-clients")) as thread:
        yield thread


@pytest.fixture(scope="module")
def iam(server: ServerThread) -> Any:
    key, secret = server.admin_keys
    return boto3.client(
        "iam",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def keys(iam: Any) -> Keys:
    return iam_user(iam, EVERYTHING)


def ws_path(server: ServerThread, keys: Keys, port: int) -> str:
    url = presign(server, keys, f"{HOST}:{port}", scheme="ws")
    return url.split(f"{HOST}:{port}", 1)[1]


@pytest.mark.parametrize("version", [4, 5])
def test_tcp_sigv4_password_publish_and_receive(
    server: ServerThread, keys: Keys, make: Callable[..., Client], version: int
) -> None:
    tcp, _, _ = ports(server)
    topic = f"clients/{uuid.uuid4().hex}"
    sub = make(version=version).connect(tcp, username="sigv4", password=tcp_password(server, keys))
    pub = make(version=version).connect(tcp, username="sigv4", password=tcp_password(server, keys))
    assert sub.is_connected and pub.is_connected
    assert sub.subscribe(topic, qos=1) == [1]
    assert pub.publish(topic, b"hello", qos=1) == 0
    got = sub.expect()
    assert (got.topic, got.payload, got.qos, got.retain) == (topic, b"hello", 1, False)
    pub.publish(topic, b"zero", qos=0)
    assert sub.expect().payload == b"zero"


@pytest.mark.parametrize("version", [4, 5])
def test_websocket_with_presigned_url(
    server: ServerThread, keys: Keys, make: Callable[..., Client], version: int
) -> None:
    api = server.server.port
    topic = f"ws/{uuid.uuid4().hex}"
    sub = make(version=version, transport="websockets").connect(api, ws_path=ws_path(server, keys, api))
    pub = make(version=version, transport="websockets").connect(api, ws_path=ws_path(server, keys, api))
    assert sub.is_connected and pub.is_connected
    assert sub.subscribe(topic) == [1]
    assert pub.publish(topic, b"over websocket") == 0
    assert sub.expect().payload == b"over websocket"


@pytest.mark.parametrize("version", [4, 5])
def test_tls_with_the_generated_ca(
    server: ServerThread, keys: Keys, make: Callable[..., Client], version: int
) -> None:
    _, tls_port, _ = ports(server)
    assert server.server.tls is not None and server.server.tls.ca_file is not None
    ca = server.server.tls.ca_file
    topic = f"tls/{uuid.uuid4().hex}"
    password = tcp_password(server, keys)
    sub = make(version=version).connect(tls_port, username="sigv4", password=password, tls_ca=ca)
    pub = make(version=version).connect(tls_port, username="sigv4", password=password, tls_ca=ca)
    assert sub.is_connected and pub.is_connected
    assert sub.subscribe(topic) == [1]
    assert pub.publish(topic, b"encrypted") == 0
    assert sub.expect().payload == b"encrypted"


def test_wss_on_the_https_port(server: ServerThread, keys: Keys, make: Callable[..., Client]) -> None:
    tls_url = server.server.tls_endpoint_url
    assert tls_url is not None and server.server.tls is not None
    port = int(tls_url.rsplit(":", 1)[1])
    ca = server.server.tls.ca_file
    topic = f"wss/{uuid.uuid4().hex}"
    path = ws_path(server, keys, port)
    sub = make(transport="websockets").connect(port, ws_path=path, tls_ca=ca)
    assert sub.is_connected
    assert sub.subscribe(topic) == [1]
    pub = make().connect(ports(server)[0], username="sigv4", password=tcp_password(server, keys))
    pub.publish(topic, b"to wss")
    assert sub.expect().payload == b"to wss"


def test_cross_version_delivery(server: ServerThread, keys: Keys, make: Callable[..., Client]) -> None:
    tcp, _, _ = ports(server)
    topic = f"cross/{uuid.uuid4().hex}"
    v3 = make(version=4).connect(tcp, username="sigv4", password=tcp_password(server, keys))
    v5 = make(version=5).connect(tcp, username="sigv4", password=tcp_password(server, keys))
    v3.subscribe(topic)
    v5.subscribe(topic)
    v5.publish(topic, b"from 5", UserProperty=[("k", "v")], ContentType="text/plain")
    assert v3.expect().payload == b"from 5"
    got = v5.expect()
    assert got.payload == b"from 5"
    assert got.properties.UserProperty == [("k", "v")]
    assert got.properties.ContentType == "text/plain"
    v3.publish(topic, b"from 3")
    assert v5.expect().payload == b"from 3"
    assert v3.expect().payload == b"from 3"


@pytest.mark.skipif(shutil.which("mosquitto_sub") is None, reason="mosquitto clients are not installed")
def test_mosquitto_pub_and_sub(server: ServerThread, keys: Keys) -> None:
    tcp, _, _ = ports(server)
    topic = f"mosquitto/{uuid.uuid4().hex}"
    common = ["-h", HOST, "-p", str(tcp), "-u", "sigv4", "-q", "1"]
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            *common,
            "-P",
            tcp_password(server, keys),
            "-t",
            topic,
            "-C",
            "2",
            "-W",
            "10",
            "-V",
            "mqttv5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.5)  # let mosquitto_sub connect and subscribe
        for message in ("first", "second"):
            subprocess.run(
                ["mosquitto_pub", *common, "-P", tcp_password(server, keys), "-t", topic, "-m", message],
                check=True,
                timeout=10,
                capture_output=True,
            )
        out, err = sub.communicate(timeout=15)
    finally:
        if sub.poll() is None:
            sub.kill()
    assert sub.returncode == 0, err
    assert out.split() == ["first", "second"]


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto clients are not installed")
def test_mosquitto_without_credentials_is_refused(server: ServerThread) -> None:
    tcp, _, _ = ports(server)
    done = subprocess.run(
        ["mosquitto_pub", "-h", HOST, "-p", str(tcp), "-t", "a", "-m", "x", "-V", "mqttv5"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode != 0
    assert "not authorized" in (done.stderr + done.stdout).lower()
