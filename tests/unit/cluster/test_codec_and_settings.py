"""The bus message codec (round trip, hostile bytes), subject names, the node id file, and the
settings that turn cluster mode on."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bastion.broker.message import Message
from bastion.cli.main import main
from bastion.cluster import codec, node_id
from bastion.cluster.subjects import Subjects
from bastion.config import ConfigError, Settings, settings_from
from bastion.mqtt import Properties

ORIGIN = bytes(range(16))


def test_a_message_crosses_the_bus_unchanged() -> None:
    properties = Properties(
        payload_format_indicator=1,
        message_expiry_interval=60,
        content_type="application/json",
        response_topic="r/1",
        correlation_data=b"\x00\x01",
        user_properties=(("k", "v1"), ("k", "v2")),
    )
    sent = Message(
        "a/ü/c", b"\x00payload\xff", 1, True, properties, expires_at=2_000_000_000.5, message_id=42
    )
    got = codec.decode(codec.encode(ORIGIN, sent))
    assert got.origin == ORIGIN
    message = got.message
    assert (message.topic, message.payload, message.qos, message.retain) == (
        "a/ü/c",
        b"\x00payload\xff",
        1,
        True,
    )
    assert (message.expires_at, message.message_id) == (2_000_000_000.5, 42)
    assert message.properties.user_properties == (("k", "v1"), ("k", "v2"))
    assert message.properties.correlation_data == b"\x00\x01"
    assert message.properties.content_type == "application/json"


def test_a_plain_qos0_message() -> None:
    got = codec.decode(codec.encode(ORIGIN, Message("t", b"", 0, False))).message
    assert (got.topic, got.payload, got.qos, got.retain, got.expires_at, got.message_id) == (
        "t",
        b"",
        0,
        False,
        None,
        None,
    )


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01",
        b"\x09" + bytes(40),  # unknown version
        struct.pack(">BB16sQdH", 1, 0, ORIGIN, 0, 0.0, 50) + b"short",  # topic longer than the data
        struct.pack(">BB16sQdH", 1, 4, ORIGIN, 0, 0.0, 1) + b"t" + struct.pack(">I", 0),  # QoS 2
        struct.pack(">BB16sQdH", 1, 0, ORIGIN, 0, 0.0, 1) + b"\xff" + struct.pack(">I", 0),  # not UTF-8
        struct.pack(">BB16sQdH", 1, 0, ORIGIN, 0, 0.0, 1) + b"t" + struct.pack(">I", 9) + b"\x01",
        struct.pack(">BB16sQdH", 1, 0, ORIGIN, 0, 0.0, 1) + b"t" + struct.pack(">I", 2) + b"\x01\xff",
    ],
)
def test_bytes_that_are_not_a_message_are_refused(data: bytes) -> None:
    with pytest.raises(codec.BadBusMessage):
        codec.decode(data)


def test_every_client_id_is_one_subject_token() -> None:
    subjects = Subjects("c1")
    for client_id in ("a.b", "a b", "*", ">", "ü", "x/y"):
        token = subjects.client(client_id).removeprefix("c1.client.")
        assert token.isalnum() and bytes.fromhex(token).decode() == client_id


def test_node_id_is_made_once_and_kept(tmp_path: Path) -> None:
    first = node_id.load_or_create(tmp_path)
    assert len(first) == 16
    assert node_id.load_or_create(tmp_path) == first
    assert (tmp_path / node_id.FILE_NAME).stat().st_mode & 0o077 == 0
    (tmp_path / node_id.FILE_NAME).write_text("nonsense\n")
    with pytest.raises(ValueError, match="node id"):
        node_id.load_or_create(tmp_path)


def test_cluster_mode_needs_postgresql() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Settings(cluster_url="nats://127.0.0.1:4222")
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Settings(cluster_url="nats://127.0.0.1:4222", database_url="sqlite:///x.db")
    settings = settings_from(
        {},
        {
            "BASTION_CLUSTER_URL": "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
            "BASTION_DATABASE_URL": "postgresql://bastion@db/bastion",
            "BASTION_CLUSTER_NAME": "site-1",
        },
    )
    assert (settings.cluster_url, settings.cluster_name) == (
        "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
        "site-1",
    )


@pytest.mark.parametrize("bad", [{"cluster_url": "http://x"}, {"cluster_name": "a.b"}, {"cluster_name": ""}])
def test_bad_cluster_settings_are_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings(database_url="postgresql://db/x", **bad)


def test_serve_refuses_cluster_mode_on_sqlite(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--data-dir", str(tmp_path), "--cluster", "nats://127.0.0.1:4222"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err
