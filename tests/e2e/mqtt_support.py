"""Helpers for the MQTT end-to-end tests: a server with every listener on a free port, IAM principals
made through boto3, presigned URLs, and a synchronous wrapper around paho-mqtt."""

from __future__ import annotations

import json
import queue
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from bastion.auth.sigv4 import presign_websocket_url
from bastion.config import Settings
from bastion.testing.server import ServerThread, running_server

REGION = "us-east-1"
ACCOUNT = "123456789012"
HOST = "127.0.0.1"
WAIT = 5.0


def mqtt_settings(data_dir: Path, **overrides: Any) -> Settings:
    base = Settings(
        api_port=0,
        mqtt_port=0,
        mqtt_tls_port=0,
        api_tls_port=0,
        data_dir=data_dir,
        region=REGION,
        account_id=ACCOUNT,
        mqtt_connect_interval=0,
    )
    return replace(base, **overrides)


@contextmanager
def mqtt_server(data_dir: Path, **overrides: Any) -> Iterator[ServerThread]:
    with running_server(mqtt_settings(data_dir, **overrides)) as thread:
        yield thread


def ports(server: ServerThread) -> tuple[int, int, int]:
    """(MQTT TCP, MQTT TLS, API) ports."""
    mqtt = server.server.mqtt
    assert mqtt is not None and mqtt.tcp_port is not None and mqtt.tls_port is not None
    return mqtt.tcp_port, mqtt.tls_port, server.server.port


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: str | list[str], resources: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def deny(actions: str | list[str], resources: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:{kind}/{name}"


@dataclass
class Keys:
    key: str
    secret: str
    token: str | None = None
    user: str = ""


def iam_user(iam: Any, document: str) -> Keys:
    name = "mqtt-" + uuid.uuid4().hex[:10]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="mqtt", PolicyDocument=document)
    created = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(created["AccessKeyId"], created["SecretAccessKey"], None, name)


def set_user_policy(iam: Any, keys: Keys, document: str) -> None:
    iam.put_user_policy(UserName=keys.user, PolicyName="mqtt", PolicyDocument=document)


def presign(
    server: ServerThread, keys: Keys, host: str, *, scheme: str = "wss", service: str = "iotdevicegateway"
) -> str:
    return presign_websocket_url(
        host, REGION, keys.key, keys.secret, keys.token, server.clock.now(), service=service, scheme=scheme
    )


@dataclass
class Received:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Any = None


class Client:
    """A paho client driven from the test thread: every call waits for the broker's answer."""

    def __init__(
        self,
        client_id: str,
        *,
        version: int = 5,
        transport: str = "tcp",
        clean: bool = True,
    ) -> None:
        protocol = paho.MQTTv5 if version == 5 else paho.MQTTv311
        kwargs: dict[str, Any] = {}
        if version != 5:
            kwargs["clean_session"] = clean
        self.paho = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=protocol,
            transport=transport,
            reconnect_on_failure=False,
            **kwargs,
        )
        self.version = version
        self.clean = clean
        self.messages: queue.Queue[Received] = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.connack: Any = None
        self.session_present: bool | None = None
        self.connack_properties: Any = None
        self.disconnect_reason: Any = None
        self._acks: dict[int, Any] = {}
        self._ack_event = threading.Condition()
        self.paho.on_connect = self._on_connect
        self.paho.on_disconnect = self._on_disconnect
        self.paho.on_message = self._on_message
        self.paho.on_subscribe = self._on_subscribe
        self.paho.on_publish = self._on_publish
        self.paho.on_unsubscribe = self._on_subscribe

    # callbacks (paho's thread)
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connack = reason
        self.session_present = bool(flags.session_present)
        self.connack_properties = properties
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.disconnect_reason = reason
        self.disconnected.set()
        self.connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        props = getattr(message, "properties", None)
        self.messages.put(Received(message.topic, message.payload, message.qos, bool(message.retain), props))

    def _record(self, mid: int, value: Any) -> None:
        with self._ack_event:
            self._acks[mid] = value
            self._ack_event.notify_all()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        self._record(mid, reasons)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._record(mid, reason)

    def wait_ack(self, mid: int, timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        with self._ack_event:
            while mid not in self._acks:
                left = deadline - time.monotonic()
                if left <= 0 or self.disconnected.is_set():
                    return None
                self._ack_event.wait(min(left, 0.05))
            return self._acks.pop(mid)

    # calls (test thread)
    def connect(
        self,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        ws_path: str | None = None,
        tls_ca: Path | None = None,
        session_expiry: int | None = None,
        keepalive: int = 60,
        will: tuple[str, bytes, int, bool] | None = None,
        host: str = HOST,
    ) -> Client:
        if username is not None:
            self.paho.username_pw_set(username, password)
        if ws_path is not None:
            self.paho.ws_set_options(path=ws_path)
        if tls_ca is not None:
            self.paho.tls_set(ca_certs=str(tls_ca), cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            self.paho.will_set(will[0], will[1], will[2], will[3])
        properties = None
        clean_start: Any = paho.MQTT_CLEAN_START_FIRST_ONLY
        if self.version == 5:
            properties = PahoProperties(PacketTypes.CONNECT)
            if session_expiry is not None:
                properties.SessionExpiryInterval = session_expiry
            clean_start = self.clean
        self.paho.connect(host, port, keepalive=keepalive, clean_start=clean_start, properties=properties)
        self.paho.loop_start()
        self.connected.wait(WAIT)
        return self

    @property
    def is_connected(self) -> bool:
        return self.connected.is_set() and not self.disconnected.is_set() and self.connack == 0

    def subscribe(self, *filters: str, qos: int = 1) -> list[int]:
        result, mid = self.paho.subscribe([(f, qos) for f in filters])
        assert result == paho.MQTT_ERR_SUCCESS
        reasons = self.wait_ack(mid)
        return [] if reasons is None else [int(r.value) for r in reasons]

    def unsubscribe(self, *filters: str) -> Any:
        _result, mid = self.paho.unsubscribe(list(filters))
        return self.wait_ack(mid)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, **props: Any) -> Any:
        properties = None
        if props:
            properties = PahoProperties(PacketTypes.PUBLISH)
            for name, value in props.items():
                setattr(properties, name, value)
        info = self.paho.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos == 0:
            return None
        reason = self.wait_ack(info.mid)
        return None if reason is None else int(reason.value)

    def expect(self, timeout: float = WAIT) -> Received:
        return self.messages.get(timeout=timeout)

    def expect_none(self, wait: float = 0.3) -> None:
        try:
            got = self.messages.get(timeout=wait)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected message {got}")

    def drain(self, count: int, timeout: float = WAIT) -> list[Received]:
        return [self.expect(timeout) for _ in range(count)]

    def wait_closed(self, timeout: float = WAIT) -> bool:
        return self.disconnected.wait(timeout)

    def close(self) -> None:
        if self.connected.is_set() and not self.disconnected.is_set():
            self.paho.disconnect()
            self.disconnected.wait(WAIT)
        self.paho.loop_stop()


@contextmanager
def clients() -> Iterator[Callable[..., Client]]:
    """A factory of clients that are all closed at the end."""
    made: list[Client] = []

    def make(client_id: str | None = None, **kwargs: Any) -> Client:
        client = Client(client_id or "c-" + uuid.uuid4().hex[:8], **kwargs)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            client.close()


def tcp_password(server: ServerThread, keys: Keys) -> str:
    """The presigned URL a WebSocket client would use, given as the MQTT password over TCP."""
    return presign(server, keys, f"{HOST}:{server.server.port}")


def connect_tcp(
    make: Callable[..., Client],
    server: ServerThread,
    keys: Keys,
    *,
    version: int = 5,
    client_id: str | None = None,
    **kwargs: Any,
) -> Client:
    connect_args = {k: kwargs.pop(k) for k in ("session_expiry", "keepalive", "will") if k in kwargs}
    client = make(client_id, version=version, **kwargs)
    return client.connect(
        ports(server)[0], username="sigv4", password=tcp_password(server, keys), **connect_args
    )


def admin_client(server: ServerThread, service: str) -> Any:
    import boto3

    key, secret = server.admin_keys
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=REGION,
    )


class RawClient:
    """A bare MQTT client on a socket, for what paho will not do (skip PUBACKs, send bad bytes)."""

    def __init__(self, port: int, version: int = 5, host: str = HOST) -> None:
        import socket

        from bastion.mqtt import Decoder, ProtocolVersion, Role

        self.version = ProtocolVersion(version)
        self.sock = socket.create_connection((host, port), timeout=WAIT)
        self.decoder = Decoder(role=Role.CLIENT, version=self.version, max_packet_size=1 << 24)

    def send(self, packet: Any) -> None:
        from bastion.mqtt import encode

        self.sock.sendall(encode(packet, self.version))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self, timeout: float = WAIT) -> Any:
        """The next packet; None when the server closed the connection."""

        self.sock.settimeout(timeout)
        while True:
            packet = self.decoder.next_packet()
            if packet is not None:
                return packet
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                return None
            if not data:
                return None
            self.decoder.feed(data)

    def closed_by_server(self, timeout: float = WAIT) -> bool:
        """True when the server closed the connection (packets received first are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.receive(deadline - time.monotonic()) is None:
                return time.monotonic() < deadline
        return False

    def close(self) -> None:
        self.sock.close()


def raw_connect(
    server: ServerThread, keys: Keys, client_id: str, *, version: int = 5, clean: bool = True, **connect: Any
) -> tuple[RawClient, Any]:
    from bastion.mqtt import Connect, ProtocolVersion

    raw = RawClient(ports(server)[0], version)
    raw.send(
        Connect(
            client_id=client_id,
            protocol_level=ProtocolVersion(version),
            clean_start=clean,
            keep_alive=60,
            username="sigv4",
            password=tcp_password(server, keys).encode(),
            **connect,
        )
    )
    return raw, raw.receive()
