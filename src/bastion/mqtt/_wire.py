"""Wire primitives (section 1.5 of both specifications).

Readers take ``(data, pos, end)`` and return ``(value, new_pos)``; they never read past ``end`` and raise
:class:`MalformedPacket` when the value does not fit. Writers return ``bytes``.
"""

from __future__ import annotations

from typing import Final

from bastion.mqtt.errors import EncodeError, MalformedPacket

MAX_VARINT: Final = 268_435_455
MAX_U16: Final = 0xFFFF
MAX_U32: Final = 0xFFFF_FFFF

_ONE_BYTE: Final = tuple(bytes((i,)) for i in range(256))


def read_u8(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise MalformedPacket("packet ends inside a byte field")
    return data[pos], pos + 1


def read_u16(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 2 > end:
        raise MalformedPacket("packet ends inside a two-byte integer")
    return (data[pos] << 8) | data[pos + 1], pos + 2


def read_u32(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos + 4 > end:
        raise MalformedPacket("packet ends inside a four-byte integer")
    return int.from_bytes(data[pos : pos + 4], "big"), pos + 4


def read_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Variable Byte Integer: at most four bytes, minimal encoding (MQTT-1.5.5-1)."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= end:
            raise MalformedPacket("packet ends inside a variable byte integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if byte == 0 and shift:
                raise MalformedPacket("variable byte integer is not minimally encoded")
            return value, pos
    raise MalformedPacket("variable byte integer longer than four bytes")


def read_binary(data: bytes, pos: int, end: int) -> tuple[bytes, int]:
    size, pos = read_u16(data, pos, end)
    stop = pos + size
    if stop > end:
        raise MalformedPacket("packet ends inside a length-prefixed field")
    return data[pos:stop], stop


def read_utf8(data: bytes, pos: int, end: int) -> tuple[str, int]:
    raw, pos = read_binary(data, pos, end)
    return check_utf8(raw), pos


def check_utf8(raw: bytes) -> str:
    """Decode an MQTT UTF-8 string: well-formed UTF-8 without U+0000 (MQTT-1.5.4-1, -2)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPacket("string is not well-formed UTF-8") from exc
    if "\x00" in text:
        raise MalformedPacket("string contains U+0000")
    return text


def varint(value: int) -> bytes:
    if value < 0x80:
        if value < 0:
            raise EncodeError(f"negative variable byte integer {value}")
        return _ONE_BYTE[value]
    if value > MAX_VARINT:
        raise EncodeError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while value:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | 0x80 if value else byte)
    return bytes(out)


def u8(value: int) -> bytes:
    if not 0 <= value <= 0xFF:
        raise EncodeError(f"{value} does not fit a byte")
    return _ONE_BYTE[value]


def u16(value: int) -> bytes:
    if not 0 <= value <= MAX_U16:
        raise EncodeError(f"{value} does not fit a two-byte integer")
    return value.to_bytes(2, "big")


def u32(value: int) -> bytes:
    if not 0 <= value <= MAX_U32:
        raise EncodeError(f"{value} does not fit a four-byte integer")
    return value.to_bytes(4, "big")


def binary(value: bytes) -> bytes:
    size = len(value)
    if size > MAX_U16:
        raise EncodeError(f"binary field of {size} bytes exceeds 65535")
    return size.to_bytes(2, "big") + value


def utf8(value: str) -> bytes:
    try:
        raw = value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodeError("string contains a lone surrogate") from exc
    if b"\x00" in raw:
        raise EncodeError("MQTT strings must not contain U+0000")
    return binary(raw)


def fixed_header(first_byte: int, remaining_length: int) -> bytes:
    return _ONE_BYTE[first_byte] + varint(remaining_length)
