"""The group constants and the padHex / hexHash conventions, checked against independent definitions."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.auth import srp
from bastion.auth.srp_group import N_BYTES, compute_u, compute_x, pool_name_from_pool_id


def _arctan_inverse(x: int, one: int) -> int:
    """arctan(1/x) in fixed point (``one`` = 1.0), by its Taylor series."""
    total = term = one // x
    n, sign = 3, -1
    while term:
        term //= x * x
        total += sign * (term // n)
        n, sign = n + 2, -sign
    return total


def test_n_is_the_rfc3526_3072_bit_prime() -> None:
    """RFC 3526 section 4: p = 2^3072 - 2^3008 - 1 + 2^64 * (floor(2^2942 * pi) + 1690314)."""
    guard = 64
    one = 1 << (2942 + guard)
    pi_scaled = 4 * (4 * _arctan_inverse(5, one) - _arctan_inverse(239, one))  # Machin's formula
    p = (1 << 3072) - (1 << 3008) - 1 + (1 << 64) * ((pi_scaled >> guard) + 1690314)
    assert p == srp.N
    assert srp.N.bit_length() == 3072 == N_BYTES * 8
    assert srp.g == 2


def test_k_is_the_hash_of_padded_n_and_g() -> None:
    expected = hashlib.sha256(bytes.fromhex("00" + srp.N_HEX + "02")).hexdigest()
    assert srp.k == int(expected, 16)


@pytest.mark.parametrize(
    ("value", "padded"),
    [
        (0, "00"),
        (1, "01"),
        (0x7F, "7f"),
        (0x80, "0080"),
        (0xFF, "00ff"),
        (0x123, "0123"),
        (0x8ABC, "008abc"),
        (0x0FFF, "0fff"),
        (0x1_0000, "010000"),
    ],
)
def test_pad_hex_table(value: int, padded: str) -> None:
    assert srp.pad_hex(value) == padded


def test_pad_hex_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        srp.pad_hex(-1)


@given(st.integers(min_value=0, max_value=1 << 4000))
def test_pad_hex_is_java_to_byte_array(value: int) -> None:
    """Same bytes as Java BigInteger.toByteArray: minimal two's complement, big-endian."""
    java = value.to_bytes(value.bit_length() // 8 + 1, "big")
    assert bytes.fromhex(srp.pad_hex(value)) == java


def test_hex_hash_hashes_the_bytes_not_the_text() -> None:
    assert srp.hex_hash("00ff") == hashlib.sha256(b"\x00\xff").hexdigest()
    assert srp.hex_hash("00FF") == srp.hex_hash("00ff")
    assert len(srp.hex_hash("")) == 64


def test_x_and_u_follow_the_formulas() -> None:
    inner = hashlib.sha256("PoolAbcuser-1:pässword".encode()).digest()
    expected_x = hashlib.sha256(bytes.fromhex("00c1") + inner).digest()
    assert compute_x("00c1", "PoolAbc", "user-1", "pässword") == int.from_bytes(expected_x, "big")
    expected_u = hashlib.sha256(bytes.fromhex("0080" + "7f")).digest()
    assert compute_u(0x80, 0x7F) == int.from_bytes(expected_u, "big")


def test_pool_name_from_pool_id() -> None:
    assert pool_name_from_pool_id("us-east-1_AbCdEf123") == "AbCdEf123"
    for bad in ("AbCdEf123", "us-east-1_", "_AbC", "us-east-1_Ab_C"):
        with pytest.raises(ValueError, match="pool id"):
            pool_name_from_pool_id(bad)
