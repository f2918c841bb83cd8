"""The pieces of the benchmark harness that decide what a number means: packet counting, reports."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
from bench.link import Endpoint, Link
from bench.worker import CountingLink, Qos1Publisher

from bench import micro, report, wire


def _publishes(qos: int, count: int) -> bytes:
    return b"".join(
        wire.publish_packet("bench/t", bytes([n % 256]) * 64, qos, n + 1 if qos else None)
        for n in range(count)
    )


def test_walker_splits_a_stream_cut_anywhere() -> None:
    stream = wire.connect_packet("c") + _publishes(1, 5) + wire.publish_packet("x" * 200, bytes(300))
    for cut in range(1, len(stream)):
        walker = wire.Walker()
        seen = [(first, bytes(body)) for first, body in walker.feed(stream[:cut])]
        seen += [(first, bytes(body)) for first, body in walker.feed(stream[cut:])]
        assert [first for first, _ in seen] == [0x10] + [0x32] * 5 + [0x30]
        assert len(seen[-1][1]) == 2 + 200 + 300


def test_publish_parts_reads_topic_packet_id_and_payload() -> None:
    packet = wire.publish_packet("a/b", b"hello", 1, 513)
    first, body = next(wire.Walker().feed(packet))
    topic, packet_id, payload = wire.publish_parts(first, body)
    assert (bytes(topic), packet_id, bytes(payload)) == (b"a/b", b"\x02\x01", b"hello")


def test_stamped_payload_round_trips() -> None:
    payload = wire.stamped_payload(64, 123_456_789_012)
    assert len(payload) == 64
    assert wire.read_stamp(memoryview(payload)) == 123_456_789_012


class _Sink:
    """A transport stand-in that records writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False


async def _counting(stride: bool) -> tuple[CountingLink, _Sink]:
    link = CountingLink(Endpoint("127.0.0.1", 1))
    sink = _Sink()
    link.connection_made(sink)  # type: ignore[arg-type]
    if stride:
        link.expect_stride(wire.publish_packet("bench/t", bytes(64), 1, 1))
    return link, sink


@pytest.mark.parametrize("chunk", [1, 7, 89, 90, 1000, 100_000])
async def test_strided_and_general_paths_count_and_ack_the_same(chunk: int) -> None:
    stream = _publishes(1, 300)
    results = []
    for stride in (False, True):
        link, sink = await _counting(stride)
        for at in range(0, len(stream), chunk):
            link.data_received(stream[at : at + chunk])
        results.append((link.count, b"".join(sink.written)))
    assert results[0] == results[1]
    count, acks = results[1]
    assert count == 300
    assert acks == b"".join(wire.puback((n + 1).to_bytes(2, "big")) for n in range(300))


async def test_strided_path_falls_back_on_a_foreign_packet() -> None:
    link, sink = await _counting(stride=True)
    stream = _publishes(1, 3) + wire.publish_packet("other/longer/topic", b"x", 0) + _publishes(1, 2)
    link.data_received(stream)
    assert link.count == 6
    assert len(b"".join(sink.written)) == 4 * 5  # five QoS 1 deliveries acknowledged, not the QoS 0 one


async def test_qos1_publisher_keeps_its_window_and_counts_acks() -> None:
    cycle = wire.qos1_cycle("bench/t", bytes(8))
    link = Qos1Publisher(Endpoint("127.0.0.1", 1), cycle, window=10)
    sink = _Sink()
    link.connection_made(sink)  # type: ignore[arg-type]
    link.expect_stride(wire.puback(b"\x00\x01"))
    link.running = True
    link.pump()
    assert link.inflight == 10 and b"".join(sink.written) == b"".join(cycle[:10])
    link.data_received(b"".join(wire.puback(n.to_bytes(2, "big")) for n in range(1, 5)))
    assert (link.acked, link.inflight, link.sent) == (4, 10, 14)
    assert sink.written[-1] == b"".join(cycle[10:14])


async def test_websocket_frames_are_unwrapped_and_masked_writes_are_plain() -> None:
    link = Link(Endpoint("127.0.0.1", 1, "/mqtt"))
    sink = _Sink()
    link.connection_made(sink)  # type: ignore[arg-type]
    key = sink.written[0].split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0]
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())  # noqa: S324
    connack = b"\x20\x02\x00\x00"
    response = b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    link.data_received(response + b"\x82\x04" + connack[:2])
    link.data_received(connack[2:])
    assert link.ready.done()
    assert await asyncio.wait_for(link.connack, 1) == 0
    link.send(b"\xc0\x00")
    assert sink.written[-1] == b"\x82\x82\x00\x00\x00\x00\xc0\x00"


def test_codec_output_is_parsed_into_rates() -> None:
    text = (
        "Python 3.11.7 (cpython) on x86_64\n"
        "decode_packet   PUBLISH QoS1        v3.1.1            480,468 /s      2.08 us\n"
        "SubscriptionTrie.match (10k exact + 1k #, 1 +)        514,362 /s      1.94 us\n"
    )
    assert micro.parse_codec_output(text) == {
        "decode_packet PUBLISH QoS1 v3.1.1": 480468.0,
        "SubscriptionTrie.match (10k exact + 1k #, 1 +)": 514362.0,
    }


def test_targets_compare_against_the_right_broker() -> None:
    results = {
        "qos0_1to1": {"bastion": {"value": 60.0}, "mosquitto": {"value": 100.0}, "amqtt": {"value": 7.0}},
        "idle_memory": {"bastion": {"value": 17.0}},
    }
    verdicts = {(v["scenario"], v["target"]): v["met"] for v in report.target_verdicts(results)}
    assert verdicts[("qos0_1to1", ">= 0.5x Mosquitto")] is True
    assert verdicts[("qos0_1to1", ">= 10x amqtt")] is False
    assert verdicts[("idle_memory", "<= 16 KB")] is False
    assert verdicts[("fanout_1to100", ">= 0.5x Mosquitto")] is None
    assert "0.60x" in report.table(results, ["bastion", "mosquitto", "amqtt"])


def test_profile_summary_ranks_self_and_inclusive_time() -> None:
    from bench.profile import summarize

    collapsed = (
        "process 1:python;run (asyncio/base_events.py:600);read (bastion/broker/transport.py:10) 6\n"
        "process 1:python;run (asyncio/base_events.py:600);decide (bastion/services/authz.py:5) 3\n"
        "process 1:python;run (asyncio/base_events.py:601) 1\n"
    )
    summary = summarize(collapsed)
    assert summary["samples"] == 10
    assert summary["self"][0] == {"function": "read (bastion/broker/transport.py)", "share": 0.6}
    assert summary["inclusive"][0] == {"function": "run (asyncio/base_events.py)", "share": 1.0}
