"""Micro-benchmark of the MQTT codec's hot path: PUBLISH with a 64-byte payload.

Run: python bench/bench_mqtt_codec.py [--quick]
Prints operations per second (best of five repeats, process CPU time) for decoding and encoding in
MQTT 3.1.1 and 5, plus the fan-out re-stamping path and a subscription lookup.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import timeit
from collections.abc import Callable
from functools import partial

from bastion.mqtt import (
    Decoder,
    Properties,
    ProtocolVersion,
    Publish,
    PublishFrame,
    Role,
    SubscriptionTrie,
    decode_packet,
    encode_publish,
)

PAYLOAD = bytes(range(64))
TOPIC = "devices/thing-0042/telemetry"
BATCH = 100


def measure(action: Callable[[], object], per_call: int, seconds: float) -> float:
    """Best operations per second over five repeats of roughly ``seconds`` / 5 each.

    CPU time of this process, not wall time, so other work on a shared machine skews the numbers less.
    """
    timer = timeit.Timer(action, timer=time.process_time)
    calls, elapsed = timer.autorange()
    number = max(1, int(calls * (seconds / 5) / max(elapsed, 1e-9)))
    best = min(timer.repeat(repeat=5, number=number))
    return number * per_call / best


def cases() -> list[tuple[str, Callable[[], object], int]]:
    out: list[tuple[str, Callable[[], object], int]] = []
    for version in (ProtocolVersion.MQTT_3_1_1, ProtocolVersion.MQTT_5):
        tag = "3.1.1" if version == ProtocolVersion.MQTT_3_1_1 else "5"
        qos0 = Publish(TOPIC, PAYLOAD)
        qos1 = Publish(TOPIC, PAYLOAD, 1, packet_id=4242)
        with_props = Publish(
            TOPIC,
            PAYLOAD,
            1,
            packet_id=7,
            properties=Properties(message_expiry_interval=60, user_properties=(("k", "v"),)),
        )
        wire0 = encode_publish(qos0, version)
        wire1 = encode_publish(qos1, version)
        batch = wire1 * BATCH

        def decode_one(wire: bytes = wire1, v: ProtocolVersion = version) -> object:
            return decode_packet(wire, v)

        decoder = Decoder(role=Role.CLIENT, version=version, max_packet_size=1 << 20)

        def feed_one(wire: bytes = wire1, d: Decoder = decoder) -> object:
            d.feed(wire)
            return d.next_packet()

        def feed_batch(wire: bytes = batch, d: Decoder = decoder) -> object:
            d.feed(wire)
            return list(d)

        frame = PublishFrame.from_packet(qos1)
        out += [
            (f"decode_packet   PUBLISH QoS1        v{tag}", decode_one, 1),
            (f"Decoder 1/feed  PUBLISH QoS1        v{tag}", feed_one, 1),
            (f"Decoder {BATCH}/feed PUBLISH QoS1      v{tag}", feed_batch, BATCH),
            (f"encode_publish  PUBLISH QoS0        v{tag}", partial(encode_publish, qos0, version), 1),
            (f"encode_publish  PUBLISH QoS1        v{tag}", partial(encode_publish, qos1, version), 1),
            (f"encode_publish  QoS1 + 2 properties v{tag}", partial(encode_publish, with_props, version), 1),
            (f"PublishFrame.stamp QoS1 new id      v{tag}", partial(frame.stamp, version, 1, 99), 1),
        ]
        assert decode_packet(wire0, version) is not None
    trie: SubscriptionTrie[int] = SubscriptionTrie()
    for n in range(10_000):
        trie.add(f"devices/thing-{n:04d}/telemetry", n)
        if n % 10 == 0:
            trie.add(f"devices/thing-{n:04d}/#", n)
    trie.add("devices/+/telemetry", -1)
    out.append(("SubscriptionTrie.match (10k exact + 1k #, 1 +)", partial(trie.match, TOPIC), 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier numbers)")
    args = parser.parse_args()
    seconds = 0.5 if args.quick else 2.0
    print(f"Python {platform.python_version()} ({sys.implementation.name}) on {platform.machine()}")
    print(f"PUBLISH topic {len(TOPIC)} bytes, payload {len(PAYLOAD)} bytes")
    for name, action, per_call in cases():
        rate = measure(action, per_call, seconds)
        print(f"{name:48s} {rate:>12,.0f} /s   {1e6 / rate:7.2f} us")


if __name__ == "__main__":
    main()
