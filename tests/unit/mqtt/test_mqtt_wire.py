"""Wire primitives of section 1.5."""

from __future__ import annotations

import pytest

from bastion.mqtt import EncodeError, MalformedPacket, _wire

from .mqtt_spec_builders import vbi

# Section 1.5.5, table 1-1: the edges of each encoded size.
VARINT_EDGES = [
    (0, "00"),
    (127, "7f"),
    (128, "8001"),
    (16383, "ff7f"),
    (16384, "808001"),
    (2097151, "ffff7f"),
    (2097152, "80808001"),
    (268435455, "ffffff7f"),
]


@pytest.mark.parametrize(("value", "wire"), VARINT_EDGES)
def test_varint_table(value: int, wire: str) -> None:
    data = bytes.fromhex(wire)
    assert vbi(value) == data
    assert _wire.varint(value) == data
    assert _wire.read_varint(data + b"\xaa", 0, len(data) + 1) == (value, len(data))


@pytest.mark.parametrize("value", [-1, 268435456])
def test_varint_out_of_range(value: int) -> None:
    with pytest.raises(EncodeError):
        _wire.varint(value)


@pytest.mark.parametrize("wire", ["80", "ffffff", "ffffffff7f", "8000", "ff8000"])
def test_varint_malformed(wire: str) -> None:
    data = bytes.fromhex(wire)
    with pytest.raises(MalformedPacket):
        _wire.read_varint(data, 0, len(data))


def test_readers_respect_end() -> None:
    data = bytes.fromhex("0102030405")
    assert _wire.read_u16(data, 0, 2) == (0x0102, 2)
    assert _wire.read_u32(data, 1, 5) == (0x02030405, 5)
    for reader in (_wire.read_u8, _wire.read_u16, _wire.read_u32, _wire.read_binary, _wire.read_utf8):
        with pytest.raises(MalformedPacket):
            reader(data, 5, 5)
    with pytest.raises(MalformedPacket):
        _wire.read_u32(data, 0, 3)
    with pytest.raises(MalformedPacket):
        _wire.read_binary(bytes.fromhex("0003aabb"), 0, 4)


def test_utf8_rules() -> None:
    assert _wire.read_utf8(bytes.fromhex("0003") + "é/".encode(), 0, 5) == ("é/", 5)
    # U+FEFF at the start is kept, not stripped (MQTT-1.5.4-3).
    assert _wire.check_utf8("\ufeffa".encode()) == "\ufeffa"
    for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"a\x00"):
        with pytest.raises(MalformedPacket):
            _wire.check_utf8(bad)


@pytest.mark.parametrize("text", ["a\x00", "\udc80"])
def test_utf8_writer_refuses_what_readers_refuse(text: str) -> None:
    with pytest.raises(EncodeError):
        _wire.utf8(text)


def test_writers_refuse_overflow() -> None:
    with pytest.raises(EncodeError):
        _wire.u8(256)
    with pytest.raises(EncodeError):
        _wire.u16(65536)
    with pytest.raises(EncodeError):
        _wire.u32(-1)
    with pytest.raises(EncodeError):
        _wire.binary(b"x" * 65536)
    assert _wire.binary(b"x" * 65535)[:2] == b"\xff\xff"
