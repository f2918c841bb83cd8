"""paho-mqtt as an independent oracle, with no network.

Client -> server: paho builds packets into a fake socket; our server-side Decoder must recover them.
Server -> client: our encoder writes packets into a fake socket; paho's reader must report the same values.
"""

from __future__ import annotations

from typing import Any

import pytest

mqtt = pytest.importorskip("paho.mqtt.client")

from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties as PahoProperties  # noqa: E402
from paho.mqtt.reasoncodes import ReasonCode as PahoReasonCode  # noqa: E402
from paho.mqtt.subscribeoptions import SubscribeOptions  # noqa: E402

from bastion.mqtt import (  # noqa: E402
    NO_PROPERTIES,
    Connack,
    Connect,
    Decoder,
    Disconnect,
    Packet,
    Pingreq,
    Properties,
    ProtocolVersion,
    Puback,
    Pubcomp,
    Publish,
    Pubrec,
    Pubrel,
    ReasonCode,
    RetainHandling,
    Suback,
    Subscribe,
    Subscription,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
)

V31 = ProtocolVersion.MQTT_3_1
V4 = ProtocolVersion.MQTT_3_1_1
V5 = ProtocolVersion.MQTT_5
PAHO_LEVEL = {V31: mqtt.MQTTv31, V4: mqtt.MQTTv311, V5: mqtt.MQTTv5}


class FakeSocket:
    """Just enough of a non-blocking socket for paho's write and read paths."""

    def __init__(self, inbound: bytes = b"") -> None:
        self.sent = bytearray()
        self.inbound = bytearray(inbound)

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def recv(self, size: int) -> bytes:
        if not self.inbound:
            raise BlockingIOError
        chunk = bytes(self.inbound[:size])
        del self.inbound[:size]
        return chunk

    def pending(self) -> int:
        return 0

    def setblocking(self, flag: bool) -> None:
        pass

    def close(self) -> None:
        pass


def paho_client(
    version: ProtocolVersion, client_id: str = "paho-1", inbound: bytes = b""
) -> tuple[Any, FakeSocket]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=PAHO_LEVEL[version])
    sock = FakeSocket(inbound)
    client._sock = sock
    return client, sock


def paho_properties(packet_type: int) -> Any:
    return PahoProperties(packet_type)  # type: ignore[no-untyped-call]


def decode_stream(data: bytes) -> list[Packet]:
    decoder = Decoder()
    decoder.feed(data)
    packets = list(decoder)
    assert decoder.pending == 0
    return packets


@pytest.mark.parametrize("version", [V31, V4, V5])
def test_paho_client_session(version: ProtocolVersion) -> None:
    client, sock = paho_client(version)
    client.username_pw_set("alice", "pw")
    client.will_set("dev/will", b"offline", qos=1, retain=True)
    client._send_connect(45)
    client._send_publish(1, b"a/b", b"hello", 0, False, False, mqtt.MQTTMessageInfo(1))
    client._send_publish(7, b"a/c", b"\x00\xff", 1, True, False)
    client._send_publish(8, b"a/d", b"", 2, False, True)
    client._send_puback(3)
    client._send_pubrec(4)
    client._send_pubrel(5)
    client._send_pubcomp(6)
    client._send_pingreq()
    packets = decode_stream(bytes(sock.sent))
    assert packets == [
        Connect("paho-1", version, True, 45, "alice", b"pw", Will("dev/will", b"offline", 1, True)),
        Publish("a/b", b"hello"),
        Publish("a/c", b"\x00\xff", 1, True, False, 7),
        Publish("a/d", b"", 2, False, True, 8),
        Puback(3),
        Pubrec(4),
        Pubrel(5),
        Pubcomp(6),
        Pingreq(),
    ]


@pytest.mark.parametrize("version", [V4, V5])
def test_paho_subscribe_unsubscribe_disconnect(version: ProtocolVersion) -> None:
    client, sock = paho_client(version)
    client._send_connect(60)
    if version == V5:
        options = SubscribeOptions(qos=1, noLocal=True, retainAsPublished=True, retainHandling=2)
        client.subscribe([("a/#", options), ("$share/g/b/+", SubscribeOptions(qos=0))])
    else:
        client.subscribe([("a/#", 1), ("$share/g/b/+", 0)])
    client.unsubscribe(["a/#", "x"])
    client.disconnect()
    connect, subscribe, unsubscribe, disconnect = decode_stream(bytes(sock.sent))
    assert isinstance(connect, Connect)
    assert isinstance(subscribe, Subscribe)
    assert isinstance(unsubscribe, Unsubscribe)
    if version == V5:
        assert subscribe.subscriptions == (
            Subscription("a/#", 1, True, True, RetainHandling.DO_NOT_SEND),
            Subscription("$share/g/b/+", 0),
        )
    else:
        assert subscribe.subscriptions == (Subscription("a/#", 1), Subscription("$share/g/b/+", 0))
    assert unsubscribe.topic_filters == ("a/#", "x")
    assert unsubscribe.packet_id != subscribe.packet_id
    assert disconnect == Disconnect()


def test_paho_v5_properties() -> None:
    client, sock = paho_client(V5)
    connect_props = paho_properties(PacketTypes.CONNECT)
    connect_props.SessionExpiryInterval = 3600
    connect_props.ReceiveMaximum = 10
    connect_props.MaximumPacketSize = 65536
    connect_props.TopicAliasMaximum = 4
    connect_props.RequestProblemInformation = 1
    connect_props.UserProperty = [("who", "me"), ("who", "you")]
    will_props = paho_properties(PacketTypes.WILLMESSAGE)
    will_props.WillDelayInterval = 30
    will_props.ContentType = "text/plain"
    client.will_set("w", b"bye", 0, False, will_props)
    client._connect_properties = connect_props
    client._clean_start = False
    client._send_connect(20)
    publish_props = paho_properties(PacketTypes.PUBLISH)
    publish_props.PayloadFormatIndicator = 1
    publish_props.MessageExpiryInterval = 120
    publish_props.ResponseTopic = "reply/to"
    publish_props.CorrelationData = b"\x01\x02"
    publish_props.TopicAlias = 3
    publish_props.UserProperty = [("a", "1")]
    client._send_publish(9, b"t/x", b"{}", 1, False, False, None, publish_props)
    disconnect_props = paho_properties(PacketTypes.DISCONNECT)
    disconnect_props.ReasonString = "bye"
    client._send_disconnect(
        PahoReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message"), disconnect_props
    )
    connect, publish, disconnect = decode_stream(bytes(sock.sent))
    assert connect == Connect(
        "paho-1",
        V5,
        False,
        20,
        will=Will("w", b"bye", 0, False, Properties(will_delay_interval=30, content_type="text/plain")),
        properties=Properties(
            session_expiry_interval=3600,
            receive_maximum=10,
            maximum_packet_size=65536,
            topic_alias_maximum=4,
            request_problem_information=1,
            user_properties=(("who", "me"), ("who", "you")),
        ),
    )
    assert publish == Publish(
        "t/x",
        b"{}",
        1,
        packet_id=9,
        properties=Properties(
            payload_format_indicator=1,
            message_expiry_interval=120,
            response_topic="reply/to",
            correlation_data=b"\x01\x02",
            topic_alias=3,
            user_properties=(("a", "1"),),
        ),
    )
    assert disconnect == Disconnect(ReasonCode.DISCONNECT_WITH_WILL_MESSAGE, Properties(reason_string="bye"))


def run_paho_reader(version: ProtocolVersion, stream: bytes) -> tuple[list[tuple[Any, ...]], bytes]:
    """Feed server bytes to a paho client; return what its callbacks saw and what it answered."""
    client, sock = paho_client(version, inbound=stream)
    events: list[tuple[Any, ...]] = []

    def record(*event: Any) -> None:
        events.append(event)

    client.on_connect = lambda c, u, flags, rc, props: record(
        "connack", flags.session_present, rc.value, str(props)
    )
    client.on_message = lambda c, u, m: record(
        "publish", m.topic, m.payload, m.qos, m.retain, m.mid, str(getattr(m, "properties", ""))
    )
    client.on_subscribe = lambda c, u, mid, codes, props: record(
        "suback", mid, [code.value for code in codes]
    )
    client.on_unsubscribe = lambda c, u, mid, codes, props: record(
        "unsuback", mid, [code.value for code in codes]
    )
    client.on_disconnect = lambda c, u, flags, rc, props: record("disconnect", rc.value)
    for _ in range(20):
        client.loop_read()
        if not sock.inbound:
            break
    assert not sock.inbound
    return events, bytes(sock.sent)


def test_paho_reads_our_v5_server_packets() -> None:
    sent: list[Packet] = [
        Connack(
            True, ReasonCode.SUCCESS, Properties(maximum_qos=1, topic_alias_maximum=8, retain_available=1)
        ),
        Publish("a/b", b"hi", 1, True, False, 3, Properties(message_expiry_interval=5, content_type="t")),
        Suback(4, (ReasonCode.GRANTED_QOS_1, ReasonCode.NOT_AUTHORIZED)),
        Unsuback(5, (ReasonCode.SUCCESS, ReasonCode.NO_SUBSCRIPTION_EXISTED)),
        Disconnect(ReasonCode.SESSION_TAKEN_OVER),
    ]
    events, answer = run_paho_reader(V5, b"".join(encode(p, V5) for p in sent))
    assert events == [
        ("connack", True, 0, "[TopicAliasMaximum : 8, MaximumQoS : 1, RetainAvailable : 1]"),
        ("publish", "a/b", b"hi", 1, True, 3, "[MessageExpiryInterval : 5, ContentType : t]"),
        ("suback", 4, [1, 0x87]),
        ("unsuback", 5, [0, 0x11]),
        ("disconnect", 0x8E),
    ]
    # paho acknowledged the QoS 1 message; our decoder reads its PUBACK.
    ack = Decoder(version=V5)
    ack.feed(answer)
    assert list(ack) == [Puback(3)]


def test_paho_reads_our_v311_server_packets() -> None:
    sent: list[Packet] = [
        Connack(False, ReasonCode.SUCCESS, NO_PROPERTIES),
        Publish("a/b", b"hi", 2, False, False, 11),
        Suback(4, (ReasonCode.GRANTED_QOS_0, ReasonCode.NOT_AUTHORIZED)),
        Unsuback(5),
    ]
    events, answer = run_paho_reader(V4, b"".join(encode(p, V4) for p in sent))
    assert events[0][:3] == ("connack", False, 0)
    assert events[1:] == [("suback", 4, [0, 0x80]), ("unsuback", 5, [])]
    # QoS 2: paho answers PUBREC and delivers only after PUBREL.
    ack = Decoder(version=V4)
    ack.feed(answer)
    assert list(ack) == [Pubrec(11)]


def test_paho_reads_refused_v311_connack() -> None:
    wire = encode(Connack(False, ReasonCode.NOT_AUTHORIZED), V4)
    assert wire == bytes.fromhex("20020005")
    events, _ = run_paho_reader(V4, wire)
    # paho reports 3.1.1 return code 5 to its callbacks as the MQTT 5 code 0x87, as we do.
    assert events[0][:3] == ("connack", False, 0x87)
