"""ChallengeState serialisation: exact round trip, and every malformed input refused with one error type."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.auth.srp import ChallengeState, MalformedChallengeState, N, SrpError

STATE = ChallengeState(
    user_id_for_srp="3f2c7a9e-1b4d-4e8a-9c61-0d5b7e2f4a10",
    b=0x1234_5678_9ABC_DEF0 << 190,
    big_b=N - 2,
    big_a=0x80,
    issued_at=1_700_000_000,
)

states = st.builds(
    ChallengeState,
    user_id_for_srp=st.text(max_size=64),
    b=st.integers(min_value=1, max_value=(1 << 256) - 1),
    big_b=st.integers(min_value=1, max_value=N - 1),
    big_a=st.integers(min_value=1, max_value=N - 1),
    issued_at=st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
)


@given(states)
def test_round_trip(state: ChallengeState) -> None:
    data = state.to_bytes()
    assert ChallengeState.from_bytes(data) == state
    assert ChallengeState.from_bytes(data).to_bytes() == data


def test_layout() -> None:
    data = STATE.to_bytes()
    assert data[:9] == b"\x01" + struct.pack(">q", 1_700_000_000)
    assert data.endswith(b"\x00\x24" + STATE.user_id_for_srp.encode())
    assert len(data) == 9 + (2 + 32) + (2 + 384) + (2 + 1) + (2 + 36)


def test_every_truncation_is_refused() -> None:
    data = STATE.to_bytes()
    for cut in range(len(data)):
        with pytest.raises(MalformedChallengeState):
            ChallengeState.from_bytes(data[:cut])


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(MalformedChallengeState, match="trailing"):
        ChallengeState.from_bytes(STATE.to_bytes() + b"\x00")


def test_unknown_version_is_refused() -> None:
    with pytest.raises(MalformedChallengeState, match="version"):
        ChallengeState.from_bytes(b"\x02" + STATE.to_bytes()[1:])


def _with_numbers(b: bytes, big_b: bytes, big_a: bytes, user: bytes = b"u") -> bytes:
    fields = [b, big_b, big_a, user]
    return b"\x01" + struct.pack(">q", 0) + b"".join(struct.pack(">H", len(f)) + f for f in fields)


@pytest.mark.parametrize(
    "data",
    [
        _with_numbers(b"", b"\x05", b"\x07"),  # b == 0
        _with_numbers(b"\x00\x01", b"\x05", b"\x07"),  # leading zero: not canonical
        _with_numbers(b"\x01", N.to_bytes(384, "big"), b"\x07"),  # B == N
        _with_numbers(b"\x01", b"\x05", (N + 1).to_bytes(385, "big")),  # A above N, too long
        _with_numbers(b"\x01", b"\x05", b"\x07", user=b"\xff\xfe"),  # user id not UTF-8
    ],
    ids=["b-zero", "leading-zero", "B-is-N", "A-too-long", "bad-utf8"],
)
def test_malformed_fields_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedChallengeState):
        ChallengeState.from_bytes(data)


def test_well_formed_fields_helper_is_accepted() -> None:
    state = ChallengeState.from_bytes(_with_numbers(b"\x01", b"\x05", b"\x07"))
    assert (state.b, state.big_b, state.big_a, state.user_id_for_srp) == (1, 5, 7, "u")


def test_errors_are_value_errors_with_a_code() -> None:
    assert issubclass(MalformedChallengeState, SrpError)
    assert issubclass(SrpError, ValueError)
    assert MalformedChallengeState.code == "malformed_challenge_state"


def test_repr_hides_the_secret_exponent() -> None:
    text = repr(STATE)
    assert STATE.user_id_for_srp in text
    assert format(STATE.b, "x") not in text and str(STATE.b) not in text
