"""AWS's clamping rules, and a message's frame as it waits (Message Expiry Interval counts down)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bastion.broker.limits import BrokerLimits, clamp_keepalive, clamp_message_expiry
from bastion.broker.message import Message, new_message_id
from bastion.mqtt import Decoder, Properties, ProtocolVersion, Publish, Role
from bastion.storage.mqtt import StoredMessage


@pytest.mark.parametrize(
    ("asked", "granted"),
    [(0, 1200), (1, 30), (29, 30), (30, 30), (600, 600), (1200, 1200), (1201, 1200), (65535, 1200)],
)
def test_keepalive(asked: int, granted: int) -> None:
    assert clamp_keepalive(asked) == granted


@pytest.mark.parametrize(("asked", "granted"), [(0, 1), (1, 1), (604800, 604800), (10**9, 604800)])
def test_message_expiry(asked: int, granted: int) -> None:
    assert clamp_message_expiry(asked) == granted


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        BrokerLimits(session_expiry=0)
    with pytest.raises(ValueError):
        BrokerLimits(session_expiry=8 * 24 * 3600)


def _decode(data: bytes, version: ProtocolVersion) -> Publish:
    decoder = Decoder(role=Role.CLIENT, version=version)
    decoder.feed(data)
    packet = decoder.next_packet()
    assert isinstance(packet, Publish)
    return packet


def test_waiting_message_is_sent_with_the_time_it_has_left() -> None:
    message = Message("t", b"p", 1, False, Properties(message_expiry_interval=100), expires_at=1000.0)
    fresh = message.frame_at(900.0)
    assert fresh is message.frame  # nothing to change: forwarded as received
    later = message.frame_at(950.5)
    assert later is not None
    packet = _decode(later.stamp(ProtocolVersion.MQTT_5, 1, 5), ProtocolVersion.MQTT_5)
    assert packet.properties.message_expiry_interval == 50
    assert message.frame_at(1000.0) is None
    assert message.expired(1000.0)


def test_stored_form_round_trips() -> None:
    props = Properties(content_type="text/plain", user_properties=(("a", "1"),), message_expiry_interval=60)
    message = Message(
        "t/x", b"\x00\x01", 1, False, props, expires_at=2_000_000_000.0, message_id=new_message_id()
    )
    stored = message.to_stored()
    assert isinstance(stored, StoredMessage)
    back = Message.from_stored(stored)
    assert (back.topic, back.payload, back.qos, back.properties) == ("t/x", b"\x00\x01", 1, props)
    assert back.expires_at == pytest.approx(2_000_000_000.0)
    retained = Message.from_stored(message.to_retained(datetime.now(UTC).timestamp()))
    assert retained.retain and retained.message_id is None


def test_message_ids_increase() -> None:
    ids = [new_message_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
