"""Nothing a client got a PUBACK for is lost: persistent sessions and retained messages survive a clean
restart and a ``kill -9`` of ``bastion serve`` (the broker acknowledges only after the store commits)."""

from __future__ import annotations

import configparser
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bastion.auth.sigv4 import presign_websocket_url
from bastion.mqtt import Connack, Puback, Publish, Suback, Subscribe, Subscription
from tests.e2e.mqtt_support import (
    HOST,
    REGION,
    Client,
    Keys,
    RawClient,
    clients,
    connect_tcp,
    mqtt_server,
)
from tests.e2e.serve_process import serving


def _root(data_dir: Path) -> Keys:
    parser = configparser.ConfigParser()
    parser.read(data_dir / "admin-credentials")
    section = parser["default"]
    return Keys(section["aws_access_key_id"], section["aws_secret_access_key"])


def test_restart_keeps_sessions_queues_and_retained(tmp_path: Path) -> None:
    topic = "durable/" + uuid.uuid4().hex[:6]
    with clients() as make:
        with mqtt_server(tmp_path) as first:
            root = _root(tmp_path)
            sub = connect_tcp(make, first, root, client_id="keeper", clean=False, session_expiry=3600)
            assert sub.subscribe(topic, qos=1) == [1]
            v3 = connect_tcp(make, first, root, version=4, client_id="keeper3", clean=False)
            assert v3.subscribe(topic, qos=1) == [1]
            sub.close()
            v3.close()
            pub = connect_tcp(make, first, root)
            for n in range(20):
                assert pub.publish(topic, f"m{n}".encode()) == 0
            assert pub.publish(topic + "/config", b"retained", retain=True) == 0
            pub.close()
        with mqtt_server(tmp_path) as second:
            again = connect_tcp(make, second, root, client_id="keeper", clean=False, session_expiry=3600)
            assert again.session_present is True
            assert [m.payload for m in again.drain(20)] == [f"m{n}".encode() for n in range(20)]
            again3 = connect_tcp(make, second, root, version=4, client_id="keeper3", clean=False)
            assert again3.session_present is True
            assert len(again3.drain(20)) == 20
            fresh = connect_tcp(make, second, root)
            fresh.subscribe(topic + "/config")
            got = fresh.expect()
            assert (got.payload, got.retain) == (b"retained", True)
            # The subscription itself survived: new messages still reach the session.
            fresh.publish(topic, b"after restart")
            assert again.expect().payload == b"after restart"


@contextmanager
def _serve(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """``bastion serve`` with MQTT over TCP only: the process, its MQTT port and its API port."""
    extra = ("--mqtt-tls-port", "off", "--api-tls-port", "off", "--mqtt-connect-interval", "0")
    with serving(data_dir, *extra, "--log-level", "WARNING", wait_for=("endpoint", "mqtt")) as served:
        yield served.process, served.port("mqtt"), served.port("endpoint")


def _password(keys: Keys, api_port: int) -> str:
    """A presigned URL for the subprocess's API port, signed now."""
    return presign_websocket_url(
        f"{HOST}:{api_port}", REGION, keys.key, keys.secret, keys.token, datetime.now(UTC)
    )


def _connect(port: int, api_port: int, keys: Keys, client_id: str) -> Client:
    client = Client(client_id, version=5, clean=False)
    return client.connect(port, username="sigv4", password=_password(keys, api_port), session_expiry=3600)


def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    topic = "crash/" + uuid.uuid4().hex[:6]
    with _serve(tmp_path) as (process, port, api):
        root = _root(tmp_path)
        sub = _connect(port, api, root, "survivor")
        assert sub.subscribe(topic, qos=1) == [1]
        sub.close()
        # A subscriber that receives but never acknowledges: its messages must come back after the crash.
        silent = RawClient(port, 4)
        from bastion.mqtt import Connect, ProtocolVersion

        silent.send(
            Connect(
                client_id="silent",
                protocol_level=ProtocolVersion.MQTT_3_1_1,
                clean_start=False,
                keep_alive=60,
                username="sigv4",
                password=_password(root, api).encode(),
            )
        )
        assert isinstance(silent.receive(), Connack)
        silent.send(Subscribe(1, (Subscription(topic, 1),)))
        assert isinstance(silent.receive(), Suback)

        publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="crash-pub", protocol=paho.MQTTv5)
        publisher.username_pw_set("sigv4", _password(root, api))
        publisher.max_inflight_messages_set(50)
        publisher.connect(HOST, port)
        publisher.loop_start()
        retained = publisher.publish(topic + "/retained", b"kept", qos=1, retain=True)
        retained.wait_for_publish(5)
        sent: list[tuple[paho.MQTTMessageInfo, bytes]] = []
        stop = time.monotonic() + 1.0
        n = 0
        while time.monotonic() < stop:
            payload = f"m{n}".encode()
            sent.append((publisher.publish(topic, payload, qos=1), payload))
            n += 1
            if n % 50 == 0:
                time.sleep(0.01)
        process.send_signal(signal.SIGKILL)  # mid-stream: some publishes are acknowledged, some not
        process.wait()
        publisher.loop_stop()
        silent.close()
        # is_published() turns true only when the PUBACK arrived.
        acknowledged = [payload for info, payload in sent if info.is_published()]
    assert len(acknowledged) > 50, "the publisher should have been acknowledged many messages"

    with _serve(tmp_path) as (_, port, api):
        again = _connect(port, api, root, "survivor")
        assert again.session_present is True
        received: set[bytes] = set()
        deadline = time.monotonic() + 10
        while not set(acknowledged) <= received and time.monotonic() < deadline:
            try:
                received.add(again.expect(1).payload)
            except Exception:
                break
        missing = set(acknowledged) - received
        assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
        again.close()
        raw, connack = _raw_resume(port, api, root)
        assert isinstance(connack, Connack) and connack.session_present
        redelivered: set[bytes] = set()
        while not set(acknowledged) <= redelivered:
            packet = raw.receive(2)
            if packet is None:
                break
            assert isinstance(packet, Publish)
            redelivered.add(packet.payload)
            raw.send(Puback(packet.packet_id or 0))
        raw.close()
        assert set(acknowledged) <= redelivered
        probe = _connect(port, api, root, "probe")
        probe.subscribe(topic + "/retained")
        assert probe.expect().payload == b"kept"
        probe.close()


def _raw_resume(port: int, api: int, root: Keys) -> tuple[RawClient, object]:
    from bastion.mqtt import Connect, ProtocolVersion

    raw = RawClient(port, 4)
    raw.send(
        Connect(
            client_id="silent",
            protocol_level=ProtocolVersion.MQTT_3_1_1,
            clean_start=False,
            keep_alive=60,
            username="sigv4",
            password=_password(root, api).encode(),
        )
    )
    return raw, raw.receive()
