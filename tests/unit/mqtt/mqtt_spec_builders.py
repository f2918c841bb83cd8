"""Packets built by hand from the MQTT specifications, independently of bastion.mqtt's encoder.

Every function spells out the wire layout of its section with plain byte arithmetic, so a test that
compares these bytes with the encoder (or feeds them to the decoder) checks the codec against the text
of the specification rather than against itself.
"""

from __future__ import annotations


def vbi(n: int) -> bytes:
    """Variable Byte Integer, the algorithm of section 1.5.5 written out."""
    out = []
    while True:
        digit = n % 128
        n //= 128
        if n > 0:
            digit |= 128
        out.append(digit)
        if n == 0:
            return bytes(out)


def s(text: str) -> bytes:
    """UTF-8 Encoded String: two-byte big-endian length, then the bytes."""
    raw = text.encode()
    return bytes([len(raw) >> 8, len(raw) & 0xFF]) + raw


def b(data: bytes) -> bytes:
    """Binary Data: two-byte big-endian length, then the bytes."""
    return bytes([len(data) >> 8, len(data) & 0xFF]) + data


def u16(n: int) -> bytes:
    return bytes([n >> 8, n & 0xFF])


def u32(n: int) -> bytes:
    return bytes([(n >> 24) & 0xFF, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])


def packet(first_byte: int, *body: bytes) -> bytes:
    payload = b"".join(body)
    return bytes([first_byte]) + vbi(len(payload)) + payload


def props(*items: bytes) -> bytes:
    """A property block: Variable Byte Integer length, then the properties."""
    body = b"".join(items)
    return vbi(len(body)) + body


# Property encoders: identifier byte, then the value in the property's type.
def p_byte(ident: int, value: int) -> bytes:
    return bytes([ident, value])


def p_u16(ident: int, value: int) -> bytes:
    return bytes([ident]) + u16(value)


def p_u32(ident: int, value: int) -> bytes:
    return bytes([ident]) + u32(value)


def p_vbi(ident: int, value: int) -> bytes:
    return bytes([ident]) + vbi(value)


def p_str(ident: int, value: str) -> bytes:
    return bytes([ident]) + s(value)


def p_bin(ident: int, value: bytes) -> bytes:
    return bytes([ident]) + b(value)


def p_pair(key: str, value: str) -> bytes:
    return bytes([0x26]) + s(key) + s(value)


def connect_v311(
    client_id: str,
    *,
    clean: bool = True,
    keep_alive: int = 60,
    will: tuple[str, bytes, int, bool] | None = None,
    username: str | None = None,
    password: bytes | None = None,
    protocol_name: str = "MQTT",
    level: int = 4,
) -> bytes:
    """Section 3.1 of MQTT 3.1.1 (and 3.1 with protocol_name='MQIsdp', level=3)."""
    flags = 0
    if clean:
        flags |= 0x02
    tail = s(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        tail += s(topic) + b(message)
    if username is not None:
        flags |= 0x80
        tail += s(username)
    if password is not None:
        flags |= 0x40
        tail += b(password)
    return packet(0x10, s(protocol_name), bytes([level, flags]), u16(keep_alive), tail)


def connect_v5(
    client_id: str,
    *,
    clean: bool = True,
    keep_alive: int = 60,
    properties: bytes = b"\x00",
    will: tuple[bytes, str, bytes, int, bool] | None = None,
    username: str | None = None,
    password: bytes | None = None,
) -> bytes:
    """Section 3.1 of MQTT 5; ``properties`` and the Will's first item are whole property blocks."""
    flags = 0x02 if clean else 0
    tail = s(client_id)
    if will is not None:
        will_props, topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        tail += will_props + s(topic) + b(message)
    if username is not None:
        flags |= 0x80
        tail += s(username)
    if password is not None:
        flags |= 0x40
        tail += b(password)
    return packet(0x10, s("MQTT"), bytes([5, flags]), u16(keep_alive), properties, tail)


def publish(
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    packet_id: int | None = None,
    retain: bool = False,
    dup: bool = False,
    properties: bytes | None = None,
) -> bytes:
    """Section 3.3; ``properties=None`` means MQTT 3.1.1 (no property block at all)."""
    first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = s(topic)
    if packet_id is not None:
        body += u16(packet_id)
    if properties is not None:
        body += properties
    return packet(first, body, payload)
