"""What the server must remember between InitiateAuth and RespondToAuthChallenge.

Cognito sends the client an opaque SECRET_BLOCK and gets it back as PASSWORD_CLAIM_SECRET_BLOCK; no
Session is involved. Bastion keeps no server-side state for the handshake: the caller seals
``ChallengeState.to_bytes()`` with its own AEAD key and sends the sealed bytes as SECRET_BLOCK. The
state holds the secret exponent ``b``, so it must be encrypted, not only authenticated.

Format (version 1), big-endian, every length a 2-byte prefix, integers minimal with no leading zero::

    0x01 | issued_at (8 bytes, signed Unix seconds) | b | B | A | utf8(user_id_for_srp)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bastion.auth.srp_errors import MalformedChallengeState
from bastion.auth.srp_group import N_BYTES, N

_VERSION = 1
_HEADER = struct.Struct(">Bq")
_LENGTH = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class ChallengeState:
    """One issued PASSWORD_VERIFIER challenge: ``b`` is secret, the rest was sent or received in clear."""

    user_id_for_srp: str
    b: int
    big_b: int
    big_a: int
    issued_at: int  # Unix seconds, from the caller's clock

    def __repr__(self) -> str:
        # Keeps ``b`` out of logs and tracebacks.
        return f"ChallengeState(user_id_for_srp={self.user_id_for_srp!r}, issued_at={self.issued_at})"

    def to_bytes(self) -> bytes:
        parts = [_HEADER.pack(_VERSION, self.issued_at)]
        for value in (self.b, self.big_b, self.big_a):
            parts.append(_field(value.to_bytes((value.bit_length() + 7) // 8, "big")))
        parts.append(_field(self.user_id_for_srp.encode()))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> ChallengeState:
        """Parse and check ``to_bytes`` output; anything else raises MalformedChallengeState."""
        if len(data) < _HEADER.size:
            raise MalformedChallengeState("challenge state is truncated")
        version, issued_at = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise MalformedChallengeState(f"unknown challenge state version {version}")
        offset = _HEADER.size
        numbers: list[int] = []
        for _ in range(3):
            raw, offset = _read_field(data, offset)
            if not raw or raw[0] == 0 or len(raw) > N_BYTES:
                raise MalformedChallengeState("challenge state holds a non-canonical number")
            numbers.append(int.from_bytes(raw, "big"))
        raw_user, offset = _read_field(data, offset)
        if offset != len(data):
            raise MalformedChallengeState("challenge state has trailing bytes")
        b, big_b, big_a = numbers
        if not (big_b < N and big_a < N):
            raise MalformedChallengeState("challenge state holds a value outside the group")
        try:
            user = raw_user.decode()
        except UnicodeDecodeError as exc:
            raise MalformedChallengeState("challenge state user id is not UTF-8") from exc
        return cls(user_id_for_srp=user, b=b, big_b=big_b, big_a=big_a, issued_at=issued_at)


def _field(raw: bytes) -> bytes:
    if len(raw) > 0xFFFF:
        raise ValueError("challenge state field is too long")
    return _LENGTH.pack(len(raw)) + raw


def _read_field(data: bytes, offset: int) -> tuple[bytes, int]:
    if offset + _LENGTH.size > len(data):
        raise MalformedChallengeState("challenge state is truncated")
    (length,) = _LENGTH.unpack_from(data, offset)
    start = offset + _LENGTH.size
    if start + length > len(data):
        raise MalformedChallengeState("challenge state is truncated")
    return data[start : start + length], start + length
