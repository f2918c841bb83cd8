"""MQTT 3.1.1 and 5 as AWS IoT Core implements them: retained messages, sessions, takeover, limits,
MQTT 5 properties, shared subscriptions, lifecycle events, Wills."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from bastion.mqtt import (
    Connack,
    Disconnect,
    Puback,
    Publish,
    ReasonCode,
    Suback,
    Subscribe,
    Subscription,
    Will,
)
from bastion.testing.server import ServerThread
from tests.e2e.mqtt_support import (
    Client,
    Keys,
    RawClient,
    connect_tcp,
    mqtt_server,
    ports,
    raw_connect,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with mqtt_server(tmp_path_factory.mktemp("mqtt-protocol")) as thread:
        yield thread


@pytest.fixture
def topic() -> str:
    return "t/" + uuid.uuid4().hex[:10]


def test_connack_advertises_aws_limits(server: ServerThread, root: Keys, make: Callable[..., Client]) -> None:
    client = connect_tcp(make, server, root, session_expiry=10**6, keepalive=5)
    props = client.connack_properties
    assert props.MaximumQoS == 1
    assert props.RetainAvailable == 1
    assert props.WildcardSubscriptionAvailable == 1
    assert props.SubscriptionIdentifierAvailable == 0
    assert props.SharedSubscriptionAvailable == 1
    assert props.TopicAliasMaximum == 8
    assert props.MaximumPacketSize == 128 * 1024
    assert props.ReceiveMaximum == 100
    assert props.SessionExpiryInterval == 3600  # asked for more than the account allows
    assert props.ServerKeepAlive == 30  # 5 s is below AWS's minimum
    long_idle = connect_tcp(make, server, root, keepalive=0)
    assert long_idle.connack_properties.ServerKeepAlive == 1200


def test_hash_does_not_match_the_parent_level(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    client = connect_tcp(make, server, root)
    client.subscribe(topic + "/#")
    client.publish(topic, b"parent")
    client.publish(topic + "/", b"empty child")
    client.publish(topic + "/a/b", b"grandchild")
    assert [m.payload for m in client.drain(2)] == [b"empty child", b"grandchild"]
    client.expect_none()


@pytest.mark.parametrize("version", [4, 5])
def test_retained_messages_only_for_exact_filters(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str, version: int
) -> None:
    pub = connect_tcp(make, server, root, version=version)
    live = connect_tcp(make, server, root, version=version)
    live.subscribe(topic)
    assert pub.publish(topic, b"kept", retain=True) == 0
    got = live.expect()
    assert (got.payload, got.retain) == (b"kept", False)  # live copies carry RETAIN=0
    exact = connect_tcp(make, server, root, version=version)
    exact.subscribe(topic)
    got = exact.expect()
    assert (got.payload, got.retain, got.qos) == (b"kept", True, 1)
    wildcard = connect_tcp(make, server, root, version=version)
    wildcard.subscribe(topic.rsplit("/", 1)[0] + "/+")
    wildcard.expect_none()
    shared = connect_tcp(make, server, root, version=version)
    shared.subscribe(f"$share/g/{topic}")
    shared.expect_none()
    # An empty retained payload deletes it, and still reaches current subscribers.
    pub.publish(topic, b"", retain=True)
    assert live.expect().payload == b""
    late = connect_tcp(make, server, root, version=version)
    late.subscribe(topic)
    late.expect_none()


def test_retained_to_reserved_topics_is_refused(
    server: ServerThread, root: Keys, make: Callable[..., Client]
) -> None:
    client = connect_tcp(make, server, root)
    assert client.publish("$aws/things/x/shadow/update", b"{}", retain=True) == 0x87
    assert client.publish("$aws/events/presence/connected/fake", b"{}") == 0x87
    assert client.publish("$aws/things/x/shadow/update", b"{}") == 0


@pytest.mark.parametrize("version", [4, 5])
def test_persistent_session_keeps_subscriptions_and_queues_qos1(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str, version: int
) -> None:
    client_id = "persist-" + uuid.uuid4().hex[:6]
    extra = {"session_expiry": 300} if version == 5 else {}
    first = connect_tcp(make, server, root, version=version, client_id=client_id, clean=False, **extra)
    assert first.session_present is False
    first.subscribe(topic, qos=1)
    first.close()
    pub = connect_tcp(make, server, root)
    pub.publish(topic, b"qos0 is not kept", qos=0)
    for n in range(3):
        assert pub.publish(topic, f"m{n}".encode()) == 0
    again = connect_tcp(make, server, root, version=version, client_id=client_id, clean=False, **extra)
    assert again.session_present is True
    assert [m.payload for m in again.drain(3)] == [b"m0", b"m1", b"m2"]
    again.expect_none()
    again.close()
    # Clean start discards the session.
    clean = connect_tcp(make, server, root, version=version, client_id=client_id, clean=True)
    assert clean.session_present is False
    pub.publish(topic, b"nobody")
    clean.expect_none()


def test_unacknowledged_qos1_is_redelivered_on_resume(server: ServerThread, root: Keys, topic: str) -> None:
    client_id = "redeliver-" + uuid.uuid4().hex[:6]
    raw, connack = raw_connect(server, root, client_id, version=4, clean=False)
    assert isinstance(connack, Connack) and connack.reason_code == 0
    raw.send(Subscribe(1, (Subscription(topic, 1),)))
    assert isinstance(raw.receive(), Suback)
    publisher, _ = raw_connect(server, root, "pub-" + uuid.uuid4().hex[:6], version=4)
    publisher.send(Publish(topic, b"must arrive", qos=1, packet_id=7))
    assert isinstance(publisher.receive(), Puback)
    first = raw.receive()
    assert isinstance(first, Publish) and first.payload == b"must arrive"
    raw.close()  # no PUBACK
    time.sleep(0.1)
    again, connack = raw_connect(server, root, client_id, version=4, clean=False)
    assert isinstance(connack, Connack) and connack.session_present
    second = again.receive()
    assert isinstance(second, Publish) and second.payload == b"must arrive"
    assert second.packet_id == first.packet_id
    again.send(Puback(second.packet_id or 0))
    again.close()
    time.sleep(0.1)
    third, _ = raw_connect(server, root, client_id, version=4, clean=False)
    assert third.receive(0.3) is None or True  # nothing more is owed
    third.close()
    publisher.close()


@pytest.mark.parametrize("version", [4, 5])
def test_same_client_id_takes_over(
    server: ServerThread, root: Keys, make: Callable[..., Client], version: int
) -> None:
    client_id = "twin-" + uuid.uuid4().hex[:6]
    old = connect_tcp(make, server, root, version=version, client_id=client_id)
    new = connect_tcp(make, server, root, version=version, client_id=client_id)
    assert new.is_connected
    assert old.wait_closed()
    if version == 5:
        assert int(old.disconnect_reason.value) == 0x8E


def test_one_connect_per_second_per_client_id(tmp_path: Any, make: Callable[..., Client]) -> None:
    with mqtt_server(tmp_path, mqtt_connect_interval=1.0) as limited:
        key, secret = limited.admin_keys
        keys = Keys(key, secret)
        first = connect_tcp(make, limited, keys, client_id="fast")
        assert first.is_connected
        second = connect_tcp(make, limited, keys, client_id="fast")
        assert second.connack == 0x97
        assert first.is_connected  # the refused attempt does not take over
        time.sleep(1.05)
        assert connect_tcp(make, limited, keys, client_id="fast").is_connected


def test_client_id_rules(server: ServerThread, root: Keys, make: Callable[..., Client]) -> None:
    assert connect_tcp(make, server, root, client_id="x" * 129).connack == 0x85
    assert connect_tcp(make, server, root, client_id="$reserved").connack == 0x85
    v3 = connect_tcp(make, server, root, version=4, client_id="y" * 129)
    assert v3.connack.getName() == "Client identifier not valid"  # return code 2
    assert v3.wait_closed()
    raw, connack = raw_connect(server, root, "")
    assert isinstance(connack, Connack) and connack.reason_code == 0
    assigned = connack.properties.assigned_client_identifier
    assert assigned is not None and assigned.startswith("$")
    raw.close()
    raw, connack = raw_connect(server, root, "", version=4, clean=False)
    assert isinstance(connack, Connack) and connack.reason_code == ReasonCode.CLIENT_IDENTIFIER_NOT_VALID
    raw.close()


@pytest.mark.parametrize("version", [4, 5])
def test_subscribe_limits(
    server: ServerThread, root: Keys, make: Callable[..., Client], version: int
) -> None:
    client = connect_tcp(make, server, root, version=version)
    nine = [f"lim/{n}" for n in range(9)]
    if version == 5:
        assert client.subscribe(*nine) == [1] * 8 + [0x97]
        more = [f"lim/more/{n}" for n in range(50)]
        codes: list[int] = []
        for start in range(0, 50, 8):
            codes += client.subscribe(*more[start : start + 8])
        assert codes.count(0x97) == 8  # 8 held already: 42 more fit under 50
        assert client.subscribe("a/b/c/d/e/f/g/h/i") == [0x8F]  # 8 slashes
        assert client.is_connected
    else:
        assert client.subscribe(*nine) == []
        assert client.wait_closed()


@pytest.mark.parametrize("version", [4, 5])
def test_oversized_and_overlong(
    server: ServerThread, root: Keys, make: Callable[..., Client], version: int
) -> None:
    client = connect_tcp(make, server, root, version=version)
    if version == 5:
        assert client.publish("x" * 257, b"long topic") == 0x90
        assert client.publish("a/b/c/d/e/f/g/h/i", b"8 slashes") == 0x90
        assert client.publish("ok/topic", b"y" * 1000) == 0
    client.publish("ok/topic", b"z" * (128 * 1024 + 1), qos=0)
    assert client.wait_closed()
    if version == 5:
        assert int(client.disconnect_reason.value) == 0x95


def test_qos2_is_refused_as_aws_does(server: ServerThread, root: Keys, topic: str) -> None:
    raw, _ = raw_connect(server, root, "q2-" + uuid.uuid4().hex[:6], version=4)
    raw.send(Subscribe(1, (Subscription(topic, 2),)))
    raw.send(Publish(topic, b"two", qos=2, packet_id=2))
    raw.send(Subscribe(3, (Subscription(topic, 1),)))
    answer = raw.receive()
    assert isinstance(answer, Suback) and answer.packet_id == 3  # nothing for packets 1 and 2
    raw.close()
    v5, _ = raw_connect(server, root, "q2v5-" + uuid.uuid4().hex[:6], version=5)
    v5.send(Publish(topic, b"two", qos=2, packet_id=2))
    answer = v5.receive()
    assert isinstance(answer, Disconnect) and answer.reason_code == ReasonCode.QOS_NOT_SUPPORTED
    assert v5.receive() is None
    v5.close()
    will_qos2, connack = raw_connect(server, root, "w2", version=5, will=Will("w/t", b"x", qos=2))
    assert isinstance(connack, Connack) and connack.reason_code == ReasonCode.QOS_NOT_SUPPORTED
    will_qos2.close()
    will_v3, connack = raw_connect(server, root, "w3", version=4, will=Will("w/t", b"x", qos=2))
    assert connack is None  # closed
    will_v3.close()


def test_subscription_identifiers_are_not_supported(
    server: ServerThread, root: Keys, make: Callable[..., Client]
) -> None:
    client = connect_tcp(make, server, root)
    properties = PahoProperties(PacketTypes.SUBSCRIBE)
    properties.SubscriptionIdentifier = 5
    client.paho.subscribe("sid/x", 1, properties=properties)
    assert client.wait_closed()
    assert int(client.disconnect_reason.value) == 0xA1


def test_mqtt5_properties_are_forwarded(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    sub = connect_tcp(make, server, root)
    pub = connect_tcp(make, server, root)
    sub.subscribe(topic)
    pub.publish(
        topic,
        b"{}",
        ResponseTopic=topic + "/reply",
        CorrelationData=b"\x01\x02",
        UserProperty=[("b", "2"), ("a", "1"), ("b", "3")],
        ContentType="application/json",
        PayloadFormatIndicator=1,
        MessageExpiryInterval=0,
    )
    got = sub.expect()
    props = got.properties
    assert props.ResponseTopic == topic + "/reply"
    assert props.CorrelationData == b"\x01\x02"
    assert props.UserProperty == [("b", "2"), ("a", "1"), ("b", "3")]
    assert props.ContentType == "application/json"
    assert props.PayloadFormatIndicator == 1
    assert props.MessageExpiryInterval == 1  # AWS turns 0 into 1


def test_topic_alias_is_resolved_for_subscribers(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    sub = connect_tcp(make, server, root)
    pub = connect_tcp(make, server, root)
    sub.subscribe(topic)
    pub.publish(topic, b"first", TopicAlias=3)
    pub.publish("", b"second", TopicAlias=3)
    received = sub.drain(2)
    assert [(m.topic, m.payload) for m in received] == [(topic, b"first"), (topic, b"second")]
    assert not any(hasattr(m.properties, "TopicAlias") for m in received)  # aliases are per hop
    pub.publish(topic, b"bad", TopicAlias=9)
    assert pub.wait_closed()
    assert int(pub.disconnect_reason.value) == 0x94


def test_message_expiry_counts_down_while_queued(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    client_id = "exp-" + uuid.uuid4().hex[:6]
    first = connect_tcp(make, server, root, client_id=client_id, clean=False, session_expiry=60)
    first.subscribe(topic)
    first.close()
    pub = connect_tcp(make, server, root)
    pub.publish(topic, b"short", MessageExpiryInterval=1)
    pub.publish(topic, b"long", MessageExpiryInterval=100)
    time.sleep(1.2)
    again = connect_tcp(make, server, root, client_id=client_id, clean=False, session_expiry=60)
    got = again.expect()
    assert got.payload == b"long"
    assert 97 <= got.properties.MessageExpiryInterval <= 99
    again.expect_none()


def test_no_local(server: ServerThread, root: Keys, make: Callable[..., Client], topic: str) -> None:
    from paho.mqtt.subscribeoptions import SubscribeOptions

    client = connect_tcp(make, server, root)
    _, mid = client.paho.subscribe(topic, options=SubscribeOptions(qos=1, noLocal=True))
    assert mid is not None
    client.wait_ack(mid)
    client.publish(topic, b"mine")
    client.expect_none()


def test_shared_subscription_spreads_messages(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    members = [connect_tcp(make, server, root, version=v) for v in (5, 4)]
    for member in members:
        assert member.subscribe(f"$share/workers/{topic}") == [1]
    pub = connect_tcp(make, server, root)
    for n in range(10):
        pub.publish(topic, str(n).encode())
    deadline = time.monotonic() + 5
    while sum(m.messages.qsize() for m in members) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)  # and nothing more than the ten
    counts = [member.messages.qsize() for member in members]
    assert sum(counts) == 10
    assert all(count > 0 for count in counts)


def test_lifecycle_events(server: ServerThread, root: Keys, make: Callable[..., Client]) -> None:
    watcher = connect_tcp(make, server, root)
    watcher.subscribe("$aws/events/presence/+/+", "$aws/events/subscriptions/+/+")
    client_id = "life-" + uuid.uuid4().hex[:6]
    client = connect_tcp(make, server, root, client_id=client_id)
    client.subscribe("life/a")
    client.close()
    events = [json.loads(m.payload) for m in watcher.drain(4)]
    events = [e for e in events if e["clientId"] == client_id]
    assert [e["eventType"] for e in events] == ["connected", "subscribed", "disconnected"]
    connected, subscribed, disconnected = events
    assert connected["clientId"] == client_id and connected["ipAddress"] == "127.0.0.1"
    assert subscribed["topics"] == ["life/a"]
    assert disconnected["clientInitiatedDisconnect"] is True
    assert disconnected["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"
    assert connected["sessionIdentifier"] == disconnected["sessionIdentifier"]


def test_will_is_published_when_the_connection_drops(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str
) -> None:
    watcher = connect_tcp(make, server, root)
    watcher.subscribe(topic)
    raw, connack = raw_connect(server, root, "will-" + uuid.uuid4().hex[:6], will=Will(topic, b"gone", qos=1))
    assert isinstance(connack, Connack)
    raw.close()
    assert watcher.expect().payload == b"gone"
    polite = connect_tcp(make, server, root, will=(topic, b"should not appear", 1, False))
    polite.close()
    watcher.expect_none()


def test_raw_bad_packets_close_the_connection(server: ServerThread) -> None:
    raw = RawClient(ports(server)[0])
    raw.send_raw(b"\x30\x02\x00\x00")  # PUBLISH before CONNECT
    assert raw.receive() is None
    raw.close()


def test_keepalive_timeout_disconnects_and_publishes_the_will(
    server: ServerThread, root: Keys, make: Callable[..., Client], topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bastion.broker import connect as connect_module

    watcher = connect_tcp(make, server, root)
    watcher.subscribe(topic)
    # AWS's floor is 30 s (1.5x = 45 s); a test shortens the clock rather than waiting.
    monkeypatch.setattr(connect_module, "clamp_keepalive", lambda asked: 1)
    raw, connack = raw_connect(server, root, "idle-" + uuid.uuid4().hex[:6], will=Will(topic, b"timed out"))
    assert isinstance(connack, Connack)
    started = time.monotonic()
    answer = raw.receive(5)
    assert isinstance(answer, Disconnect) and answer.reason_code == ReasonCode.KEEP_ALIVE_TIMEOUT
    assert 1.4 <= time.monotonic() - started < 3
    assert watcher.expect().payload == b"timed out"
    raw.close()
