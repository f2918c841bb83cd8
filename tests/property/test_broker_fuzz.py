"""Random and mutated MQTT traffic through real sockets: the broker never raises, never hangs, and keeps
serving a healthy client beside the hostile ones."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.mqtt import (
    Connect,
    Disconnect,
    Pingreq,
    Pingresp,
    ProtocolVersion,
    Puback,
    Publish,
    Subscribe,
    Subscription,
    Unsubscribe,
    encode,
)
from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import Keys, RawClient, mqtt_server, ports, tcp_password


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("mqtt-fuzz")) as thread:
        yield thread


@pytest.fixture(scope="module")
def errors() -> Iterator[_Errors]:
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture(scope="module")
def healthy(server: ServerThread) -> Iterator[RawClient]:
    key, secret = server.admin_keys
    raw = RawClient(ports(server)[0], 5)
    raw.send(
        Connect(
            client_id="healthy", username="sigv4", password=tcp_password(server, Keys(key, secret)).encode()
        )
    )
    raw.receive()
    yield raw
    raw.close()


def _connect_bytes(server: ServerThread, version: ProtocolVersion) -> bytes:
    key, secret = server.admin_keys
    password = tcp_password(server, Keys(key, secret)).encode()
    return encode(
        Connect(client_id="fuzz", protocol_level=version, keep_alive=30, username="sigv4", password=password),
        version,
    )


topics = st.text(st.sampled_from("ab/+#$"), min_size=0, max_size=12)
packets = st.one_of(
    st.builds(
        lambda t, p, q: Publish(t or "x", p, qos=q, packet_id=7 if q else None),
        topics.filter(lambda t: "+" not in t and "#" not in t),
        st.binary(max_size=64),
        st.integers(0, 1),
    ),
    st.builds(lambda f, q: Subscribe(3, (Subscription(f or "x", q),)), topics, st.integers(0, 1)),
    st.builds(lambda f: Unsubscribe(4, (f or "x",)), topics),
    st.just(Puback(9)),
    st.just(Pingreq()),
    st.just(Disconnect()),
)


def _exchange(port: int, data: bytes) -> None:
    """Send ``data``, half-close, and read until the broker closes: it must, promptly."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass


def _still_healthy(healthy: RawClient) -> None:
    healthy.send(Pingreq())
    assert isinstance(healthy.receive(2), Pingresp), "the broker stopped answering a healthy client"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes(server: ServerThread, errors: _Errors, healthy: RawClient, data: bytes) -> None:
    _exchange(ports(server)[0], data)
    _still_healthy(healthy)
    assert not errors.records, errors.records[0].getMessage()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    version=st.sampled_from([ProtocolVersion.MQTT_3_1_1, ProtocolVersion.MQTT_5]),
    sequence=st.lists(packets, max_size=6),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
    cut=st.integers(0, 10_000),
)
def test_mutated_sessions(
    server: ServerThread,
    errors: _Errors,
    healthy: RawClient,
    version: ProtocolVersion,
    sequence: list[object],
    flips: list[tuple[int, int]],
    cut: int,
) -> None:
    connect = _connect_bytes(server, version)
    body = bytearray(b"".join(encode(p, version) for p in sequence))  # type: ignore[arg-type]
    for position, value in flips:
        if body:
            body[position % len(body)] = value
    if body:
        body = body[: cut % (len(body) + 1)]
    _exchange(ports(server)[0], connect + bytes(body))
    _still_healthy(healthy)
    assert not errors.records, errors.records[0].getMessage()
